/**
 * apply() against the real kernel, in child processes: TSYNC puts the filter on every thread,
 * each input form and flag is accepted, and each way the kernel can refuse becomes the right
 * ApplyError with nothing installed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { stmt } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_LD, BPF_W } from '../../src/bpf/opcodes.js';
import { encodeAction, SECCOMP_RET_ALLOW } from '../../src/bpf/seccomp.js';
import { encode } from '../../src/bpf/codec.js';
import { needTool } from '../_util/tools.js';
import { actionsAvailable } from '../../src/apply/index.js';
import { hostAbi } from '../../src/apply/host.js';
import { kernelHasAction } from '../../src/apply/kernel.js';
import { ACTIONS } from '../../src/bpf/seccomp.js';
import { ALLOW_ALL, line, NR, onSyscalls, RET_K, runChild, wire, X86_64_LINUX, type Line } from './_child.js';

const it = X86_64_LINUX ? test : test.skip;
if (!X86_64_LINUX) process.stdout.write(`  SKIP: apply kernel tests need Linux on x86_64 (this is ${process.platform}/${process.arch})\n`);

const CAP_SYS_ADMIN = 21;
/** Whether this (test) process has CAP_SYS_ADMIN; its children inherit that. */
function haveSysAdmin(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n;
}

type Thread = { tid: number; seccomp: number; filters: number; nnp: number };
const threads = (l: Line) => l.threads as Thread[];
const ALLOW = wire(ALLOW_ALL);

// Counts are relative to the child's start: in a container the test may already run under a filter.
it('TSYNC (default): every thread shows Seccomp: 2, with one more filter per apply()', () => {
  const r = runChild([{ op: 'threads' }, { op: 'apply', filter: ALLOW }, { op: 'threads' }, { op: 'apply', filter: ALLOW }, { op: 'threads' }]);
  assert.is(r.status, 0, r.stderr);
  const [t0, t1, t2] = [0, 1, 2].map((n) => threads(line(r, 'threads', n)));
  const base = t0[0].filters;
  assert.ok(t1.length >= 5, `Node runs several threads (saw ${t1.length})`);
  assert.ok(t0.every((t) => t.filters === base));
  assert.equal(t1.map((t) => [t.seccomp, t.filters, t.nnp]), t1.map(() => [2, base + 1, 1]));
  assert.equal(t2.map((t) => [t.seccomp, t.filters, t.nnp]), t2.map(() => [2, base + 2, 1]));
});

it('ESRCH instead of a thread id when TSYNC_ESRCH is asked for (raw flags)', () => {
  const r = runChild([{ op: 'status' }, { op: 'workerApply', filter: ALLOW }, { op: 'raw', filter: ALLOW, flags: 1 | 16, nnp: true }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const e = line(r, 'raw').error;
  assert.equal([e?.code, e?.errno], ['ESRCH', 3]);
  assert.match(e?.message ?? '', /could not be synchronized/);
  assert.is(line(r, 'status', 1).filters, line(r, 'status').filters);
});

// SECCOMP_GET_ACTION_AVAIL only answers a question, so this one runs in the test process.
it('actionsAvailable() (from /proc) agrees with asking seccomp(SECCOMP_GET_ACTION_AVAIL) per action', () => {
  const host = hostAbi()!;
  const asked = ACTIONS.filter((a) => kernelHasAction(host, a.value)).map((a) => a.name);
  assert.equal([...actionsAvailable()].sort(), asked.sort());
  assert.ok(asked.includes('errno') && asked.includes('allow'));
  assert.is(kernelHasAction(host, 0x7ffe0000), false, 'a value that is no action');
});

it('tsync: false confines the calling thread only', () => {
  const r = runChild([{ op: 'status' }, { op: 'apply', filter: ALLOW, opts: { tsync: false } }, { op: 'status' }, { op: 'threads' }]);
  assert.is(r.status, 0, r.stderr);
  const base = line(r, 'status').filters as number;
  const main = line(r, 'status', 1).tid;
  const ts = threads(line(r, 'threads'));
  assert.equal(ts.filter((t) => t.filters === base + 1).map((t) => t.tid), [main]);
  assert.ok(ts.length > 1);
});

it('TSYNC failure: a thread with its own filter -> ApplyError TSYNC naming it, nothing installed', () => {
  const r = runChild([{ op: 'status' }, { op: 'workerApply', filter: ALLOW }, { op: 'apply', filter: ALLOW }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const w = line(r, 'workerApply');
  assert.is(w.ok, true, JSON.stringify(w));
  const a = line(r, 'apply');
  assert.is(a.ok, false);
  assert.is(a.error?.name, 'ApplyError');
  assert.is(a.error?.code, 'TSYNC');
  assert.is(a.error?.thread, w.tid);
  assert.match(a.error?.message ?? '', new RegExp(`thread ${w.tid}\\b.*no_new_privs .* stays set`));
  const [s0, s1] = [line(r, 'status'), line(r, 'status', 1)];
  assert.equal([s1.seccomp, s1.filters, s1.nnp], [s0.seccomp, s0.filters, 1]);
});

it('every input form loads: instructions, bytes, a compiled filter for this arch', () => {
  const p = onSyscalls([NR.getppid], encodeAction('errno', 1));
  const r = runChild([
    { op: 'status' },
    { op: 'apply', filter: wire(p) },
    { op: 'apply', filter: { hex: Buffer.from(encode(p, 'little')).toString('hex') } },
    { op: 'apply', filter: { compiled: wire(p), arches: ['x86_64', 'x86', 'x32'], endian: 'little' } },
    { op: 'status' },
    { op: 'syscall', nr: NR.getppid },
  ]);
  assert.is(r.status, 0, r.stderr);
  for (let n = 0; n < 3; n++) assert.is(line(r, 'apply', n).ok, true, JSON.stringify(line(r, 'apply', n)));
  assert.is(line(r, 'status', 1).filters, (line(r, 'status').filters as number) + 3);
  assert.is(line(r, 'syscall').errno, 1);
});

it('a Filter compiled by the policy layer: applied when it lists this machine, refused (nothing installed) when not', () => {
  const policy = { defaultAction: 'allow', rules: [{ syscalls: ['mkdir', 'mkdirat'], action: 'errno(ENETDOWN)' }] };
  const r = runChild([
    { op: 'status' },
    { op: 'applyPolicy', policy, arches: ['aarch64'] },
    { op: 'applyPolicy', policy, arches: ['x32'] },
    { op: 'status' },
    { op: 'applyPolicy', policy, arches: ['x86_64', 'i386', 'x32'] },
    { op: 'applyPolicy', policy },
    { op: 'status' },
    { op: 'mkdir', path: '/nonexistent-parent/x' },
  ]);
  assert.is(r.status, 0, r.stderr);
  const [s0, s1, s2] = [0, 1, 2].map((n) => line(r, 'status', n));
  assert.equal([line(r, 'applyPolicy', 0).error?.code, line(r, 'applyPolicy', 1).error?.code], ['ARCH_MISMATCH', 'ARCH_MISMATCH']);
  assert.equal([s1.filters, s1.nnp], [s0.filters, s0.nnp], 'a refused filter leaves no trace, not even no_new_privs');
  assert.equal([line(r, 'applyPolicy', 2).ok, line(r, 'applyPolicy', 3).ok], [true, true]);
  assert.is(s2.filters, (s0.filters as number) + 2);
  assert.is(line(r, 'mkdir').error?.code, 'ENETDOWN');
});

it('flags log and specAllow are accepted by this kernel', () => {
  const r = runChild([{ op: 'apply', filter: ALLOW, opts: { log: true, specAllow: true } }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  assert.is(line(r, 'apply').ok, true, JSON.stringify(line(r, 'apply')));
  assert.is(line(r, 'status').seccomp, 2);
});

it('EINVAL: a program the kernel rejects (our verifier bypassed) -> ApplyError EINVAL, nothing installed', () => {
  const bad = wire([stmt(RET_K, SECCOMP_RET_ALLOW), stmt(BPF_LD | BPF_W | BPF_ABS, 0)]); // does not end in a return
  const r = runChild([{ op: 'status' }, { op: 'raw', filter: bad, flags: 1, nnp: true }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const e = line(r, 'raw').error;
  assert.equal([e?.name, e?.code, e?.errno], ['ApplyError', 'EINVAL', 22]);
  assert.match(e?.message ?? '', /^seccomp\(SECCOMP_SET_MODE_FILTER\) failed with EINVAL \(invalid argument\): the kernel rejected the filter program or a flag/);
  assert.is(line(r, 'status', 1).filters, line(r, 'status').filters);
});

it('EINVAL: an unknown flag bit', () => {
  const r = runChild([{ op: 'status' }, { op: 'raw', filter: ALLOW, flags: 1 | (1 << 20), nnp: true }, { op: 'status' }]);
  assert.is(line(r, 'raw').error?.code, 'EINVAL');
  assert.is(line(r, 'status', 1).filters, line(r, 'status').filters);
});

it('ENOMEM: more than 32768 instructions in total (each filter counts its length + 4)', () => {
  // 7 filters of 4096 count 7 * 4100 = 28700; an 8th would make 32800 > 32768. (A filter the
  // test may already run under only makes the limit come sooner: at most 7 succeed.)
  const steps = Array.from({ length: 8 }, () => ({ op: 'apply' as const, filter: { fill: 4096 } }));
  const r = runChild([{ op: 'status' }, ...steps, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const ok = r.lines.filter((l) => l.op === 'apply' && l.ok).length;
  const base = line(r, 'status').filters as number;
  if (base === 0) assert.is(ok, 7);
  assert.ok(ok <= 7);
  const e = line(r, 'apply', ok).error;
  assert.equal([e?.code, e?.errno], ['ENOMEM', 12]);
  assert.match(e?.message ?? '', /32768 instructions per path/);
  assert.is(line(r, 'status', 1).filters, base + ok);
});

it('noNewPrivs: false works with CAP_SYS_ADMIN and leaves no_new_privs unset', () => {
  const r = runChild([{ op: 'status' }, { op: 'apply', filter: ALLOW, opts: { noNewPrivs: false } }, { op: 'status' }]);
  assert.is(r.status, 0, r.stderr);
  const [s0, s1] = [line(r, 'status'), line(r, 'status', 1)];
  if (s0.nnp === 1) {
    process.stdout.write('  NOTE: the test runs with no_new_privs already set; noNewPrivs: false cannot be shown to need CAP_SYS_ADMIN\n');
    assert.is(line(r, 'apply').ok, true);
  } else if (haveSysAdmin()) {
    assert.is(line(r, 'apply').ok, true, JSON.stringify(line(r, 'apply')));
    assert.equal([s1.seccomp, s1.filters, s1.nnp], [2, (s0.filters as number) + 1, 0]);
  } else {
    assert.is(line(r, 'apply').error?.code, 'EACCES');
    assert.equal([s1.filters, s1.nnp], [s0.filters, 0]);
  }
});

const SETPRIV = needTool('setpriv', 'util-linux');
// Root without CAP_SYS_ADMIN: drop it from the bounding and inheritable sets before exec.
const NO_SYS_ADMIN = ['setpriv', '--bounding-set', '-sys_admin', '--inh-caps', '-sys_admin', '--'];
(SETPRIV ? it : test.skip)('without CAP_SYS_ADMIN: noNewPrivs: false -> EACCES; the default (no_new_privs) works', () => {
  const r = runChild([
    { op: 'status' },
    { op: 'apply', filter: ALLOW, opts: { noNewPrivs: false } },
    { op: 'status' },
    { op: 'apply', filter: ALLOW },
    { op: 'status' },
  ], NO_SYS_ADMIN);
  assert.is(r.status, 0, r.stderr);
  const [s0, s1, s2] = [0, 1, 2].map((n) => line(r, 'status', n));
  if (s0.nnp === 1) {
    process.stdout.write('  NOTE: the test runs with no_new_privs already set; the EACCES case cannot happen here\n');
  } else {
    const e = line(r, 'apply').error;
    assert.equal([e?.code, e?.errno], ['EACCES', 13]);
    assert.match(e?.message ?? '', /no_new_privs is not set and the process lacks CAP_SYS_ADMIN/);
    assert.equal([s1.filters, s1.nnp], [s0.filters, 0]);
  }
  assert.is(line(r, 'apply', 1).ok, true);
  assert.equal([s2.seccomp, s2.filters, s2.nnp], [2, (s1.filters as number) + 1, 1]);
});

it('noNewPrivs() sets no_new_privs on the calling thread only; a TSYNC apply() then copies it to all', () => {
  const r = runChild([{ op: 'status' }, { op: 'noNewPrivs' }, { op: 'threads' }, { op: 'apply', filter: ALLOW, opts: { noNewPrivs: false } }, { op: 'threads' }]);
  assert.is(r.status, 0, r.stderr);
  if (line(r, 'status').nnp === 1) return void process.stdout.write('  NOTE: the test runs with no_new_privs already set; noNewPrivs() shows nothing here\n');
  const main = line(r, 'status').tid;
  const before = threads(line(r, 'threads'));
  assert.equal(before.filter((t) => t.nnp === 1).map((t) => t.tid), [main]);
  assert.ok(threads(line(r, 'threads', 1)).every((t) => t.nnp === 1));
});

it('a filter is inherited by processes the child spawns', () => {
  const r = runChild([
    { op: 'apply', filter: wire(onSyscalls([NR.mkdir, NR.mkdirat], encodeAction('errno', 100))) },
    { op: 'spawn', file: process.execPath, args: ['-e', 'try { require("fs").mkdirSync("/nonexistent-parent/x") } catch (e) { console.log(e.code) }'] },
  ]);
  assert.is(r.status, 0, r.stderr);
  assert.is(String(line(r, 'spawn').stdout).trim(), 'ENETDOWN');
});

test.run();
