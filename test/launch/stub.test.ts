/**
 * The launcher stub in real processes (x86_64 Linux): every case runs the generated ELF as a
 * child process, so the filters it loads never touch the test runner.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stmt } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_K, BPF_LD, BPF_RET, BPF_W } from '../../src/bpf/opcodes.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO } from '../../src/bpf/seccomp.js';
import { buildLauncher, buildLauncherDetailed, type LauncherOptions } from '../../src/launch/stub.js';
import type { Instruction } from '../../src/bpf/insn.js';
import { needTool } from '../_util/tools.js';
import { ALLOW_ALL, MYOS_C, allowlist, denylist, gcc, tempDir, writeExecutable } from './_helpers.js';

const onX64 = process.platform === 'linux' && process.arch === 'x64';
if (!onX64) process.stdout.write('  SKIP: the launcher stub tests need Linux x86_64\n');
const haveGcc = onX64 && needTool('gcc');
const haveStrace = onX64 && needTool('strace');
const EPERM = (SECCOMP_RET_ERRNO | 1) >>> 0;

const dir = onX64 ? tempDir('stub') : '';
let stubCount = 0;
function stub(program: Instruction[], opts: LauncherOptions = {}): string {
  return writeExecutable(join(dir, `stub${stubCount++}`), buildLauncher(program, opts));
}
function run(file: string, args: string[], env: Record<string, string> = { PATH: '/usr/bin:/bin' }) {
  // stdin from /dev/null: bash sources ~/.bashrc when its stdin is a socket (Node's default pipes are).
  return spawnSync(file, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
}

let myos = '';
let myosStatic = '';
const bins = () => {
  if (!myos) {
    myos = gcc(dir, 'myos', MYOS_C);
    myosStatic = gcc(dir, 'myos-static', MYOS_C, ['-static']);
  }
  return { myos, myosStatic };
};

// Measured on Debian 12 (glibc 2.36, x86_64) with stdout not a terminal (socket, pipe or file; a
// terminal adds ioctl TCGETS), by removing one syscall at a
// time from an strace of the program until nothing more could go. The blog's 13 (glibc of 2020,
// with fstat now newfstatat)
// plus what glibc 2.36 does at start-up: rseq, set_robust_list, set_tid_address, prlimit64
// (stack limit), getrandom (malloc's tcache key), pread64 (reading the loader's notes).
const MYOS_DYNAMIC_MIN = ['access', 'arch_prctl', 'brk', 'close', 'exit_group', 'getrandom', 'mmap', 'mprotect', 'munmap', 'newfstatat', 'openat',
  'pread64', 'prlimit64', 'read', 'rseq', 'set_robust_list', 'set_tid_address', 'uname', 'write'];
// A static binary has no loader: no access/openat/read/close/mmap/munmap/pread64, but its libc
// start-up resolves its own path (readlink of /proc/self/exe).
const MYOS_STATIC_MIN = ['arch_prctl', 'brk', 'exit_group', 'getrandom', 'mprotect', 'newfstatat', 'prlimit64', 'readlink', 'rseq',
  'set_robust_list', 'set_tid_address', 'uname', 'write'];

for (const [kind, min] of [['dynamic', MYOS_DYNAMIC_MIN], ['static', MYOS_STATIC_MIN]] as const) {
  (haveGcc ? test : test.skip)(`${kind} myos runs under the stub with its ${min.length}-syscall allowlist; any one fewer is SIGSYS`, () => {
    const b = bins();
    const target = kind === 'dynamic' ? b.myos : b.myosStatic;
    const ok = run(stub(allowlist(min)), [target, 'myos'], {});
    assert.is(ok.stdout, 'My OS is Linux!\n');
    assert.is(ok.status, 0, ok.stderr);
    for (const drop of min) {
      const r = run(stub(allowlist(min.filter((s) => s !== drop))), [target, 'myos'], {});
      assert.is(r.signal, 'SIGSYS', `without ${drop}: status ${r.status} signal ${r.signal} stdout ${JSON.stringify(r.stdout)}`);
    }
  });
}

(onX64 ? test : test.skip)('argv and environment pass through; exit codes and signals are the target\'s own', () => {
  const s = stub(ALLOW_ALL);
  const a = run(s, ['/bin/sh', 'my-argv0', '-c', 'printf "%s|%s|%s|" "$0" "$1" "$FOO"; tr "\\0" "," < /proc/$$/cmdline', 'zero', 'first arg'], { FOO: 'bar baz', PATH: '/usr/bin:/bin' });
  assert.is(a.stdout, 'zero|first arg|bar baz|my-argv0,-c,printf "%s|%s|%s|" "$0" "$1" "$FOO"; tr "\\0" "," < /proc/$$/cmdline,zero,first arg,');
  assert.is(run(s, ['/bin/sh', 'sh', '-c', 'exit 7']).status, 7);
  const k = run(s, ['/bin/sh', 'sh', '-c', 'kill -TERM $$']);
  assert.is(k.signal, 'SIGTERM');
  const noEnv = run(s, ['/usr/bin/env', 'env'], {});
  assert.is(noEnv.stdout, '');
});

(onX64 ? test : test.skip)('a policy that denies execve: bash runs, its exec is killed (SIGSYS) though the policy says EPERM', () => {
  const s = stub(denylist(['execve'], EPERM));
  const r = run(s, ['/bin/bash', 'bash', '-c', 'echo I will try to execve something...; exec /usr/bin/echo Doing arbitrary code execution!!!']);
  assert.is(r.stdout, 'I will try to execve something...\n');
  assert.is(r.signal, 'SIGSYS');
  // With otherExec 'policy' the policy's own action applies: bash sees EPERM and reports it.
  const p = run(stub(denylist(['execve'], EPERM), { otherExec: 'policy' }), ['/bin/bash', 'bash', '-c', 'echo before; exec /usr/bin/echo after']);
  assert.is(p.stdout, 'before\n');
  assert.match(p.stderr, /Operation not permitted/);
  assert.is(p.status, 126);
  // Denying execveat alone is enough: a policy that denies one way to exec gets every other
  // exec killed, so the gate cannot be probed through the allowed one.
  const q = run(stub(denylist(['execveat'], EPERM)), ['/usr/bin/env', 'env', 'true']);
  assert.is(q.signal, 'SIGSYS');
});

(onX64 ? test : test.skip)('the kernel reports the address AFTER the syscall instruction: patching the other one fails closed', () => {
  const r = run(stub(denylist(['execve'], EPERM), { ipPoint: 'at' }), ['/bin/true', 'true']);
  assert.is(r.signal, 'SIGSYS');
  // And with a policy that allows execve, a wrong ip only means "the policy decides": still runs.
  assert.is(run(stub(ALLOW_ALL, { ipPoint: 'at' }), ['/bin/true', 'true']).status, 0);
});

(onX64 ? test : test.skip)('a missing or non-executable target: one line on stderr, 127 / 126, nothing confined', () => {
  const s = stub(ALLOW_ALL);
  const missing = run(s, ['/nonexistent/prog', 'prog']);
  assert.is(missing.status, 127);
  assert.is(missing.stderr, 'seccomp-ts: cannot execute /nonexistent/prog: errno 2 (ENOENT)\n');
  const plain = join(dir, 'not-executable');
  writeFileSync(plain, 'data');
  const noexec = run(s, [plain, 'x']);
  assert.is(noexec.status, 126);
  assert.is(noexec.stderr, `seccomp-ts: cannot execute ${plain}: errno 13 (EACCES)\n`);
  const usage = run(s, ['/bin/true']);
  assert.is(usage.status, 126);
  assert.is(usage.stderr.split('\n').length, 2);
  assert.match(usage.stderr, /^seccomp-ts: launcher stub usage/);
});

(onX64 ? test : test.skip)('execve failing after the filter is loaded: one line when the policy allows it, SIGSYS when not', () => {
  const garbage = writeExecutable(join(dir, 'garbage'), new Uint8Array([1, 2, 3, 4]));
  const r = run(stub(ALLOW_ALL), [garbage, 'g']);
  assert.is(r.status, 126);
  assert.is(r.stderr, `seccomp-ts: cannot execute ${garbage}: errno 8 (ENOEXEC)\n`);
  const k = run(stub(allowlist(['read'])), [garbage, 'g']);
  assert.is(k.signal, 'SIGSYS', 'write is denied: the report itself is killed, the target never ran');
});

(onX64 ? test : test.skip)('a filter the kernel rejects: one line, exit 126, the target never runs', () => {
  const marker = join(dir, 'ran');
  const bad = [stmt(BPF_LD | BPF_W | BPF_ABS, 3), stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)]; // misaligned seccomp_data load
  const r = run(stub(bad), ['/bin/sh', 'sh', '-c', `touch ${marker}`]);
  assert.is(r.status, 126);
  assert.is(r.stderr, 'seccomp-ts: cannot install the seccomp filter: errno 22 (EINVAL)\n');
  assert.not.ok(existsSync(marker));
});

(haveStrace ? test : test.skip)('strace: the stub makes no system call between loading the filter and the target\'s execve; its address is randomized', () => {
  const s = stub(denylist(['execve'], EPERM));
  const addresses = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const log = join(dir, `strace${i}.txt`);
    const r = spawnSync('strace', ['-f', '-o', log, s, '/bin/true', 'true'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const calls = readFileSync(log, 'utf8').split('\n').filter((l) => /^\d+ +[a-z_0-9]+\(/.test(l)).map((l) => l.replace(/^\d+ +/, ''));
    const names = calls.map((l) => l.slice(0, l.indexOf('(')));
    assert.equal(names.slice(0, 5), ['execve', 'access', 'prctl', 'seccomp', 'execve']);
    assert.match(calls[3], /^seccomp\(SECCOMP_SET_MODE_FILTER, 0, \{len=\d+, filter=0x[0-9a-f]+\}\) = 0/);
    assert.match(calls[4], /^execve\("\/bin\/true", \["true"\], .*\) = 0$/);
    addresses.add(/filter=(0x[0-9a-f]+)/.exec(calls[3])![1]);
  }
  assert.is(addresses.size, 2, 'two runs loaded the stub at different addresses');
});

(onX64 ? test : test.skip)('the stub image: ET_DYN, no interpreter, R+X code and a separate RW page for the filter', () => {
  const l = buildLauncherDetailed(ALLOW_ALL);
  const v = new DataView(l.elf.buffer, l.elf.byteOffset);
  assert.is(v.getUint16(16, true), 3, 'ET_DYN');
  const phnum = v.getUint16(56, true);
  const types = Array.from({ length: phnum }, (_, i) => [v.getUint32(64 + 56 * i, true), v.getUint32(68 + 56 * i, true)]);
  assert.equal(types, [[1, 5], [1, 6], [0x6474e551, 6]]);
  // The execve syscall sits where the stub says (0f 05).
  assert.equal([...l.elf.subarray(l.execSyscallOffset, l.execSyscallOffset + 2)], [0x0f, 0x05]);
  // Two builds differ only by the secret (random by default).
  assert.not.equal(buildLauncher(ALLOW_ALL), buildLauncher(ALLOW_ALL));
  const fixed: LauncherOptions = { secret: [1n, 2n] };
  assert.equal(buildLauncher(ALLOW_ALL, fixed), buildLauncher(ALLOW_ALL, fixed));
});

test.run();
