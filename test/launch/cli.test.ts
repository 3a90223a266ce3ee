/**
 * `seccomp-ts exec` and `seccomp-ts preload` through the built CLI (dist/cli.js), with the blog's
 * examples: the same commands, the same outcomes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, needTool } from '../_util/tools.js';
import { MYOS_C, gcc, tempDir } from './_helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const onX64 = process.platform === 'linux' && process.arch === 'x64';
if (!onX64) process.stdout.write('  SKIP: exec/preload need Linux x86_64\n');
const haveGcc = onX64 && needTool('gcc');
const dir = tempDir('cli-launch');
const BASE_ENV = { PATH: '/usr/bin:/bin' };
writeFileSync(join(dir, 'data.txt'), 'not a program\n', { mode: 0o644 });

function cli(args: string[], env: Record<string, string> = {}) {
  // stdin from /dev/null: bash sources ~/.bashrc when its stdin is a socket (Node's default pipes are).
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...BASE_ENV, ...env }, cwd: dir, timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
}

let myos = '';
let myosStatic = '';
function bins() {
  if (!myos) {
    myos = gcc(dir, 'myos', MYOS_C);
    myosStatic = gcc(dir, 'myos-static', MYOS_C, ['-static']);
  }
  return { myos, myosStatic };
}

const BASH_EXEC = 'echo I will try to execve something...; exec /usr/bin/echo Doing arbitrary code execution!!!';

test('dist/cli.js exists (run npx tsup)', () => {
  assert.ok(existsSync(CLI), CLI);
});

(onX64 ? test : test.skip)('exec: SECCOMP_SYSCALL_DENY=execve -- bash runs, its exec is killed; the blog\'s line is printed unless -q', () => {
  const r = cli(['exec', '/bin/bash', '-c', BASH_EXEC], { SECCOMP_SYSCALL_DENY: 'execve' });
  assert.is(r.stdout, 'I will try to execve something...\n');
  assert.is(r.stderr, 'adding execve to the process seccomp filter\n');
  assert.is(r.signal, 'SIGSYS');
  for (const [args, env] of [[['-q'], {}], [[], { SECCOMP_QUIET: '1' }]] as const) {
    const q = cli(['exec', ...args, '/bin/bash', '-c', BASH_EXEC], { SECCOMP_SYSCALL_DENY: 'execve', ...env });
    assert.is(q.stderr, '', `quiet with ${JSON.stringify([args, env])}`);
    assert.is(q.signal, 'SIGSYS');
  }
  const free = cli(['exec', '-q', '--deny', 'mount', '/bin/bash', '-c', BASH_EXEC]); // (not uname: bash calls it at start-up)
  assert.is(free.stdout, 'I will try to execve something...\nDoing arbitrary code execution!!!\n');
  assert.is(free.status, 0);
});

(haveGcc ? test : test.skip)('exec: the blog\'s myos, static and dynamic, allowlist and denylist', () => {
  const b = bins();
  // The allowlists measured in stub.test.ts, given the blog's way (':'-separated).
  const dyn = 'access:arch_prctl:brk:close:exit_group:getrandom:mmap:mprotect:munmap:newfstatat:openat:pread64:prlimit64:read:rseq:set_robust_list:set_tid_address:uname:write';
  const r = cli(['exec', b.myos], { SECCOMP_SYSCALL_ALLOW: dyn });
  assert.is(r.stdout, 'My OS is Linux!\n');
  assert.is(r.status, 0, r.stderr);
  // "SECCOMP_SYSCALL_DENY=uname sandboxify ./myos" on the static binary: killed, nothing printed.
  const s = cli(['exec', b.myosStatic], { SECCOMP_SYSCALL_DENY: 'uname' });
  assert.is(s.stdout, '');
  assert.is(s.signal, 'SIGSYS');
  // The preload-sized list is not enough when the loader's start-up is confined too.
  const small = cli(['exec', '--allow', 'brk,exit_group,getrandom,newfstatat,uname,write', b.myos]);
  assert.is(small.signal, 'SIGSYS');
});

(haveGcc ? test : test.skip)('preload: -o writes the object; LD_PRELOAD with the 6-syscall list runs myos, a denied uname kills it', () => {
  const b = bins();
  const so = join(dir, 'libsandbox.so');
  const w = cli(['preload', '--allow', 'brk:exit_group:getrandom:newfstatat:uname:write', '-o', so]);
  assert.is(w.status, 0, w.stderr);
  const ok = spawnSync(b.myos, [], { encoding: 'utf8', env: { LD_PRELOAD: so } });
  assert.is(ok.stdout, 'My OS is Linux!\n');
  assert.is(ok.status, 0);
  const so2 = join(dir, 'libsandbox-deny.so');
  assert.is(cli(['preload', '-o', so2], { SECCOMP_SYSCALL_DENY: 'uname' }).status, 0);
  const killed = spawnSync(b.myos, [], { encoding: 'utf8', env: { LD_PRELOAD: so2 } });
  assert.is(killed.signal, 'SIGSYS');
});

const ERRORS: [name: string, args: string[], env: Record<string, string>, status: number, stderr: RegExp][] = [
  ['command not found', ['exec', '--deny', 'uname', 'no-such-command-xyz'], {}, 127, /^seccomp-ts: no-such-command-xyz: command not found\n$/],
  ['not executable', ['exec', '--deny', 'uname', './data.txt'], {}, 126, /^seccomp-ts: \.\/data\.txt: not an executable file/],
  ['no command', ['exec', '--deny', 'uname'], {}, 2, /^seccomp-ts: exec: no command given/],
  ['no policy', ['exec', '/bin/true'], {}, 2, /^seccomp-ts: exec: no policy/],
  ['unknown syscall', ['exec', '--allow', 'unmae', '/bin/true'], {}, 2, /^seccomp-ts: .*unmae/],
  ['bad --other-exec', ['exec', '--deny', 'uname', '--other-exec', 'maybe', '/bin/true'], {}, 2, /--other-exec must be kill or policy/],
  ['policy and lists', ['preload', '--policy', 'x.yaml', '--allow', 'read', '-o', 'x.so'], {}, 2, /not both/],
  ['preload without -o', ['preload', '--allow', 'read'], {}, 2, /give -o FILE/],
  ['empty env list', ['preload', '-o', 'x.so'], { SECCOMP_SYSCALL_ALLOW: '' }, 2, /SECCOMP_SYSCALL_ALLOW is set but empty/],
];
for (const [name, args, env, status, stderr] of ERRORS) {
  (onX64 ? test : test.skip)(`errors are one line: ${name}`, () => {
    const r = cli(args, env);
    assert.is(r.status, status, r.stderr);
    assert.match(r.stderr, stderr);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  });
}

test.run();
