/**
 * Foreign ABIs on x86_64: a filter that admits only the x86_64 ABI must catch an i386 call
 * (int $0x80, seccomp_data.arch = AUDIT_ARCH_I386) and an x32 call (the syscall instruction
 * with bit 0x40000000 in the number, arch still AUDIT_ARCH_X86_64). A Node child installs the
 * filter and then runs a tiny C helper (test/fixtures/apply/abi.c, built here with gcc); the
 * filter is inherited across fork and exec. Distinct errnos tell the two checks apart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { Assembler } from '../../src/bpf/builder.js';
import { stmt } from '../../src/bpf/insn.js';
import { BPF_JGE, BPF_JMP, BPF_K } from '../../src/bpf/opcodes.js';
import { encodeAction, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_ALLOW } from '../../src/bpf/seccomp.js';
import { needTool } from '../_util/tools.js';
import { AUDIT_ARCH_X86_64, buildCFixture, JEQ_K, LD_W_ABS, line, RET_K, runChild, wire, X86_64_LINUX } from './_child.js';

const EXDEV = 18; // what a foreign-arch call gets
const EMLINK = 31; // what an x32 call gets
const ENOSYS = 38;
const X32_BIT = 0x40000000;

/** x86_64 ABI allowed; x32 numbers -> `x32`; any other arch -> `foreign`. */
function x86_64Only(foreign: number, x32: number) {
  const a = new Assembler();
  a.emit(stmt(LD_W_ABS, SECCOMP_DATA_ARCH));
  a.jump(JEQ_K, AUDIT_ARCH_X86_64, null, 'foreign');
  a.emit(stmt(LD_W_ABS, SECCOMP_DATA_NR));
  a.jump(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 'x32', null);
  a.emit(stmt(RET_K, SECCOMP_RET_ALLOW));
  a.label('x32').emit(stmt(RET_K, x32));
  a.label('foreign').emit(stmt(RET_K, foreign));
  return a.assemble();
}

const HAVE_GCC = needTool('gcc');
if (!X86_64_LINUX) process.stdout.write(`  SKIP: the ABI tests need Linux on x86_64 (this is ${process.platform}/${process.arch})\n`);
const it = X86_64_LINUX && HAVE_GCC ? test : test.skip;

let dir = '';
let helper = '';
/** Results without any filter: whether this kernel runs i386 and x32 calls at all. */
let baseline: Record<'native' | 'i386' | 'x32', { ret?: number; pid?: number; signal: string | null }>;

function runHelper(mode: string) {
  const r = spawnSync(helper, [mode], { encoding: 'utf8', cwd: dir });
  const [ret, pid] = (r.stdout ?? '').trim().split(' ').map(Number);
  return { ret, pid, signal: r.signal };
}

test.before(() => {
  if (!(X86_64_LINUX && HAVE_GCC)) return;
  helper = buildCFixture('abi');
  dir = dirname(helper); // the helper runs there, so a core file (SIGSYS) would land there too
  baseline = { native: runHelper('native'), i386: runHelper('i386'), x32: runHelper('x32') };
  if (baseline.i386.ret !== baseline.i386.pid) process.stdout.write('  NOTE: this kernel does not run i386 calls (no IA-32 emulation); the i386 cases are skipped\n');
  if (baseline.x32.ret === -ENOSYS) process.stdout.write('  NOTE: x32 ABI is off in this kernel (ENOSYS without a filter); a filter still sees the number first, so the x32 case runs\n');
});

it('without a filter the helper works natively (the baseline the cases compare with)', () => {
  assert.is(baseline.native.ret, baseline.native.pid);
  assert.ok(baseline.native.ret! > 0);
  // x32 either works (same as getpid) or is compiled out (ENOSYS); nothing else is expected.
  assert.ok(baseline.x32.ret === baseline.x32.pid || baseline.x32.ret === -ENOSYS, JSON.stringify(baseline.x32));
});

it('x86_64-only filter: native allowed, x32 -> EMLINK, i386 -> EXDEV', () => {
  const modes = ['native', 'x32', 'i386'];
  const r = runChild([
    { op: 'apply', filter: wire(x86_64Only(encodeAction('errno', EXDEV), encodeAction('errno', EMLINK))) },
    ...modes.map((m) => ({ op: 'spawn' as const, file: helper, args: [m], cwd: dir })),
  ]);
  assert.is(r.status, 0, r.stderr);
  assert.is(line(r, 'apply').ok, true);
  const got = modes.map((_, n) => String(line(r, 'spawn', n).stdout).trim().split(' ').map(Number));
  const [native, x32, i386] = got;
  assert.is(native[0], native[1], 'native getpid returns the pid');
  assert.is(x32[0], -EMLINK, 'x32 getpid is caught by the x32 check');
  if (baseline.i386.ret === baseline.i386.pid) assert.is(i386[0], -EXDEV, 'i386 getpid is caught by the arch check');
});

it('foreign arch -> kill_process: the i386 call kills the helper with SIGSYS, the rest live', () => {
  if (baseline.i386.ret !== baseline.i386.pid) return; // no IA-32 emulation: announced in before()
  const r = runChild([
    { op: 'apply', filter: wire(x86_64Only(encodeAction('kill_process'), encodeAction('errno', EMLINK))) },
    { op: 'spawn', file: helper, args: ['i386'], cwd: dir },
    { op: 'spawn', file: helper, args: ['native'], cwd: dir },
    { op: 'status' },
  ]);
  assert.is(r.status, 0, r.stderr);
  assert.is(line(r, 'spawn', 0).signal, 'SIGSYS');
  assert.is(line(r, 'spawn', 0).stdout, '');
  const [ret, pid] = String(line(r, 'spawn', 1).stdout).trim().split(' ').map(Number);
  assert.is(ret, pid);
  assert.is(line(r, 'status').seccomp, 2, 'the Node child itself (x86_64) is unaffected');
});

test.run();
