/**
 * execPreloaded (`exec --preload`) in real processes, through the library and the built CLI: the
 * preload object from a memfd named by LD_PRELOAD, with the blog's examples; and checkPreloadable's refusals of every target that
 * would not load the object and so would run unconfined (static, other ELF class or machine,
 * another loader, set-user/group-ID, file capabilities, #! scripts ending in one of those).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Instruction } from '../../src/bpf/insn.js';
import { SECCOMP_RET_KILL_PROCESS } from '../../src/bpf/seccomp.js';
import { LaunchError } from '../../src/launch/errors.js';
import { checkPreloadable, withPreload } from '../../src/launch/exec-preload.js';
import { ROOT, needTool } from '../_util/tools.js';
import { ALLOW_ALL, MYOS_C, allowlist, denylist, execChild, gcc, tempDir, writeExecutable } from './_helpers.js';

const onX64 = process.platform === 'linux' && process.arch === 'x64';
if (!onX64) process.stdout.write('  SKIP: exec --preload needs Linux x86_64\n');
const haveGcc = onX64 && needTool('gcc');
const dir = tempDir('exec-preload');

// Measured with pipes for stdout (a terminal adds ioctl): see preload.test.ts.
const MYOS_PRELOAD_MIN = ['brk', 'exit_group', 'getrandom', 'newfstatat', 'uname', 'write'];
const BASH_EXEC = 'echo I will try to execve something...; exec /usr/bin/echo Doing arbitrary code execution!!!';

let built: { myos: string; myosStatic: string } | undefined;
function bins() {
  built ??= { myos: gcc(dir, 'myos', MYOS_C), myosStatic: gcc(dir, 'myos-static', MYOS_C, ['-static']) };
  return built;
}

/** Run the child fixture, which execPreloaded's itself into argv. */
function launch(program: Instruction[], argv: string[], env: Record<string, string> = {}, argv0?: string) {
  // `env` is the target's (given to execPreloaded): an LD_PRELOAD in Node's own would load into Node too.
  const opts = { env: { PATH: '/usr/bin:/bin', ...env }, ...(argv0 !== undefined ? { argv0 } : {}) };
  // stdin from /dev/null: bash sources ~/.bashrc when its stdin is a socket (Node's default pipes are).
  return execChild({ program, argv, opts, preload: true }, { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
}

/**
 * A minimal ELF file header plus program headers (PT_INTERP naming `interp` when given, and one
 * PT_LOAD): enough for the kernel and the check to classify it, never meant to run here.
 */
function craftElf(cls: 1 | 2, machine: number, interp?: string): Uint8Array {
  const is64 = cls === 2;
  const [eh, ph] = is64 ? [64, 56] : [52, 32];
  const str = Buffer.from(interp === undefined ? '' : `${interp}\0`, 'latin1');
  const phnum = interp === undefined ? 1 : 2;
  const strOff = eh + phnum * ph;
  const b = Buffer.alloc(strOff + str.length);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = cls;
  b[5] = 1; // little-endian
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(1, 20);
  const u = (off: number, v: number): void => void (is64 ? b.writeBigUInt64LE(BigInt(v), off) : b.writeUInt32LE(v, off));
  const w = is64 ? 8 : 4;
  u(24, 0x400000); // e_entry
  u(24 + w, eh); // e_phoff
  b.writeUInt16LE(eh, 24 + 3 * w + 4); // e_ehsize
  b.writeUInt16LE(ph, 24 + 3 * w + 6); // e_phentsize
  b.writeUInt16LE(phnum, 24 + 3 * w + 8); // e_phnum
  const phdr = (i: number, type: number, off: number, size: number): void => {
    const o = eh + i * ph;
    b.writeUInt32LE(type, o);
    if (is64) {
      b.writeUInt32LE(4, o + 4);
      [off, 0x400000 + off, 0x400000 + off, size, size, 1].forEach((v, k) => u(o + 8 + 8 * k, v));
    } else {
      [off, 0x400000 + off, 0x400000 + off, size, size, 4, 1].forEach((v, k) => b.writeUInt32LE(v, o + 4 + 4 * k));
    }
  };
  phdr(0, 1, 0, b.length); // PT_LOAD
  if (interp !== undefined) phdr(1, 3, strOff, str.length); // PT_INTERP
  str.copy(b, strOff);
  return b;
}

const script = (name: string, text: string): string => writeExecutable(join(dir, name), Buffer.from(text));

test('withPreload: the object goes last in LD_PRELOAD (initialized first), or alone', () => {
  assert.equal(withPreload(['A=1'], '/proc/self/fd/9'), ['A=1', 'LD_PRELOAD=/proc/self/fd/9']);
  assert.equal(withPreload(['LD_PRELOAD=/x.so', 'B=2'], '/proc/self/fd/9'), ['LD_PRELOAD=/x.so:/proc/self/fd/9', 'B=2']);
  assert.equal(withPreload(['LD_PRELOAD=', 'B=2'], '/proc/self/fd/9'), ['LD_PRELOAD=/proc/self/fd/9', 'B=2']);
  assert.equal(withPreload(['LD_PRELOAD= :'], '/proc/self/fd/9'), ['LD_PRELOAD=/proc/self/fd/9']);
});

/** [name, setup returning the command path, expected: chain length | [code, message pattern]] */
type Case = [name: string, setup: () => string, expect: number | [code: string, message: RegExp]];
const REFUSE = /cannot use --preload: .*so LD_PRELOAD would not take effect and it would run unconfined; run it without --preload$/;
const CASES: Case[] = [
  ['a dynamic program', () => bins().myos, 1],
  ['a #! script run by a dynamic shell', () => script('ok.sh', '#!/bin/sh\necho hi\n'), 2],
  ['4 levels of #! interpreters', () => {
    let prev = '/bin/sh';
    for (let i = 4; i >= 1; i--) prev = script(`level${i}.sh`, `#!${prev} -e\n`);
    return prev;
  }, 5],
  ['a static program', () => bins().myosStatic, ['NOT_PRELOADABLE', /myos-static: cannot use --preload: it has no program interpreter \(statically linked\)/]],
  ['a 32-bit i386 program', () => writeExecutable(join(dir, 'i386'), craftElf(1, 3, '/lib/ld-linux.so.2')), ['NOT_PRELOADABLE', /it is a 32-bit i386 program, and its loader would skip the x86_64 object/]],
  ['an x32 program', () => writeExecutable(join(dir, 'x32'), craftElf(1, 62, '/libx32/ld-linux-x32.so.2')), ['NOT_PRELOADABLE', /it is an x32 program/]],
  ['an aarch64 program', () => writeExecutable(join(dir, 'a64'), craftElf(2, 183, '/lib/ld-linux-aarch64.so.1')), ['NOT_PRELOADABLE', /it is an aarch64 program/]],
  ['another loader', () => writeExecutable(join(dir, 'musl'), craftElf(2, 62, '/lib/ld-musl-x86_64.so.1')), ['NOT_PRELOADABLE', /is loaded by \/lib\/ld-musl-x86_64\.so\.1, not glibc's ld-linux-x86-64\.so\.2/]],
  ['a set-user-ID program', () => {
    const p = join(dir, 'myos-suid');
    copyFileSync(bins().myos, p);
    chmodSync(p, 0o4755);
    return p;
  }, ['NOT_PRELOADABLE', /it is set-user-ID \(secure-execution mode\)/]],
  ['a set-group-ID program', () => {
    const p = join(dir, 'myos-sgid');
    copyFileSync(bins().myos, p);
    chmodSync(p, 0o2755);
    return p;
  }, ['NOT_PRELOADABLE', /it is set-group-ID/]],
  ['a #! script whose interpreter is static', () => script('static.sh', `#!${bins().myosStatic}\n`), ['NOT_PRELOADABLE', /static\.sh: cannot use --preload: its #! interpreter .*myos-static has no program interpreter/]],
  ['a #! script run by a script run by a static program', () => script('outer.sh', `#!${script('inner.sh', `#!${bins().myosStatic} arg\n`)}\n`), ['NOT_PRELOADABLE', /outer\.sh: .*its #! interpreter .*myos-static has no/]],
  ['5 levels of #! interpreters', () => {
    let prev = '/bin/sh';
    for (let i = 5; i >= 1; i--) prev = script(`deep${i}.sh`, `#!${prev}\n`);
    return prev;
  }, ['NOT_PRELOADABLE', /starts a chain of more than 4 #! interpreters/]],
  ['neither ELF nor #!', () => script('text', 'echo not a script\n'), ['NOT_PRELOADABLE', /it is neither an ELF program nor a #! script/]],
  ['a #! line without interpreter', () => script('empty.sh', '#!   \n'), ['NOT_EXECUTABLE', /empty\.sh: the #! line names no usable interpreter/]],
  ['a missing interpreter', () => script('missing.sh', `#!${join(dir, 'no-such-interp')}\n`), ['NOT_EXECUTABLE', /missing\.sh: bad interpreter .*no-such-interp/]],
];
for (const [name, setup, expect] of CASES) {
  (haveGcc ? test : test.skip)(`checkPreloadable: ${name}`, async () => {
    const path = setup();
    if (typeof expect === 'number') {
      const t = await checkPreloadable(path);
      assert.is(t.chain.length, expect);
      assert.is(t.chain[0], path);
      assert.match(t.loader, /\/ld-linux-x86-64\.so\.2$/);
      return;
    }
    try {
      await checkPreloadable(path);
      assert.unreachable('accepted');
    } catch (e) {
      assert.instance(e, LaunchError);
      const le = e as LaunchError;
      assert.is(le.code, expect[0], le.message);
      assert.is(le.exitStatus, 126);
      assert.match(le.message, expect[1], le.message);
      if (le.code === 'NOT_PRELOADABLE') assert.match(le.message, REFUSE);
      assert.not.match(le.message, /\n/);
    }
  });
}

const haveSetcap = haveGcc && needTool('setcap', 'libcap2-bin');
(haveSetcap ? test : test.skip)('checkPreloadable: a program with file capabilities', async () => {
  const p = join(dir, 'myos-cap');
  copyFileSync(bins().myos, p);
  const r = spawnSync('setcap', ['cap_net_raw+ep', p], { encoding: 'utf8' });
  if (r.status !== 0) {
    // Setting file capabilities needs CAP_SETFCAP (root); not a missing tool.
    process.stdout.write(`  SKIP: setcap failed (${r.stderr.trim()}); the file-capabilities case is not checked\n`);
    return;
  }
  await checkPreloadable(bins().myos); // the same program without the attribute passes
  try {
    await checkPreloadable(p);
    assert.unreachable('accepted');
  } catch (e) {
    assert.is((e as LaunchError).code, 'NOT_PRELOADABLE');
    assert.match((e as Error).message, /it has file capabilities \(secure-execution mode\)/);
  }
});

(haveGcc ? test : test.skip)(`execPreloaded: myos runs with the ${MYOS_PRELOAD_MIN.length}-syscall allowlist; without uname it is SIGSYS`, () => {
  const { myos } = bins();
  const ok = launch(allowlist(MYOS_PRELOAD_MIN), [myos]);
  assert.is(ok.stdout, 'My OS is Linux!\n');
  assert.is(ok.stderr, '');
  assert.is(ok.status, 0);
  const killed = launch(allowlist(MYOS_PRELOAD_MIN.filter((s) => s !== 'uname')), [myos]);
  assert.is(killed.signal, 'SIGSYS');
  assert.is(killed.stdout, '');
});

(haveGcc ? test : test.skip)('execPreloaded: denying uname kills myos', () => {
  const r = launch(denylist(['uname'], SECCOMP_RET_KILL_PROCESS), [bins().myos]);
  assert.is(r.signal, 'SIGSYS');
  assert.is(r.stdout, '');
});

(onX64 ? test : test.skip)('execPreloaded: same pid, argv0, confined, inherited state restored, the object a read-only memfd named by LD_PRELOAD', () => {
  // readlink and grep, exec'd by sh, inherit LD_PRELOAD and the descriptor: they load the object too.
  const r = launch(ALLOW_ALL, ['sh', '-c', 'echo $$ $0; readlink "$LD_PRELOAD"; exec grep -E "^(NoNewPrivs|Seccomp|SigIgn|SigBlk):" /proc/self/status'], { LD_PRELOAD: '' }, 'zero');
  assert.is(r.status, 0, r.stderr);
  const [pid, object, ...lines] = r.stdout.trim().split('\n');
  assert.is(pid, `${r.pid} zero`);
  assert.match(object, /^\/memfd:seccomp-ts-preload( \(deleted\))?$/);
  assert.equal(lines.map((l) => l.replace(/\s+/g, ' ')), ['SigBlk: 0000000000000000', 'SigIgn: 0000000000000000', 'NoNewPrivs: 1', 'Seccomp: 2']);
  // The link's permissions in /proc/self/fd are the descriptor's open mode.
  const mode = launch(ALLOW_ALL, ['sh', '-c', 'exec ls -l "$LD_PRELOAD"']);
  assert.match(mode.stdout, /^lr-x------ /, `the inherited descriptor is read-only: ${mode.stdout}`);
});

(onX64 ? test : test.skip)('execPreloaded: exit status and killing signal are the target\'s own', () => {
  assert.is(launch(ALLOW_ALL, ['sh', '-c', 'exit 7']).status, 7);
  assert.is(launch(ALLOW_ALL, ['sh', '-c', 'kill -TERM $$']).signal, 'SIGTERM');
});

(onX64 ? test : test.skip)('execPreloaded: the blog\'s execve example -- bash runs, its exec is killed', () => {
  const r = launch(denylist(['execve'], SECCOMP_RET_KILL_PROCESS), ['bash', '-c', BASH_EXEC]);
  assert.is(r.stdout, 'I will try to execve something...\n');
  assert.is(r.signal, 'SIGSYS');
});

(haveGcc ? test : test.skip)('execPreloaded: refused targets never run -- one line, status 126', () => {
  for (const target of [bins().myosStatic, script('static-run.sh', `#!${bins().myosStatic}\n`)]) {
    const r = launch(denylist(['uname'], SECCOMP_RET_KILL_PROCESS), [target]);
    assert.is(r.status, 126);
    assert.is(r.stdout, '', 'the target ran');
    assert.match(r.stderr, /^seccomp-ts: .*cannot use --preload: .*\n$/);
    assert.is(r.stderr.split('\n').length, 2, r.stderr);
  }
});

const USER_PRELOAD_C = `#include <sys/utsname.h>
#include <unistd.h>
__attribute__((constructor)) static void init(void) {
  struct utsname u;
  uname(&u);
  write(1, "user preload ran\\n", 17);
}
`;

(haveGcc ? test : test.skip)('execPreloaded: an LD_PRELOAD already set is kept, and its constructors run under the filter', () => {
  const lib = gcc(dir, 'libuser.so', USER_PRELOAD_C, ['-shared', '-fPIC']);
  const both = launch(ALLOW_ALL, [bins().myos], { LD_PRELOAD: lib });
  assert.is(both.stdout, 'user preload ran\nMy OS is Linux!\n');
  // The object is initialized first: the user library's uname in its constructor is already denied.
  const killed = launch(denylist(['uname'], SECCOMP_RET_KILL_PROCESS), [bins().myos], { LD_PRELOAD: lib });
  assert.is(killed.signal, 'SIGSYS');
  assert.is(killed.stdout, '');
});

const LIB_C = `#include <sys/utsname.h>
#include <unistd.h>
__attribute__((constructor)) static void init(void) {
  struct utsname u;
  if (uname(&u) == 0) write(1, "library constructor ran uname\\n", 30);
}
void lib_f(void) {}
`;
const USES_LIB_C = `#include <sys/utsname.h>
#include <unistd.h>
void lib_f(void);
int main(void) {
  struct utsname u;
  lib_f();
  write(1, "main ran\\n", 9);
  uname(&u);
  write(1, "main ran uname\\n", 15);
  return 0;
}
`;

// The documented limits: why the checks exist, and what the object cannot cover.
(haveGcc ? test : test.skip)('limits: ld.so runs a program unconfined when a preload cannot be loaded', () => {
  const r = spawnSync(bins().myos, [], { encoding: 'utf8', env: { LD_PRELOAD: '/proc/self/fd/999' }, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(r.stdout, 'My OS is Linux!\n');
  assert.match(r.stderr, /ERROR: ld\.so: object '\/proc\/self\/fd\/999' from LD_PRELOAD cannot be preloaded .*: ignored\./);
});

(haveGcc ? test : test.skip)('limits: constructors of the program\'s own libraries run before the filter; main() is confined', () => {
  const lib = gcc(dir, 'libdep.so', LIB_C, ['-shared', '-fPIC']);
  const prog = gcc(dir, 'usesdep', USES_LIB_C, [`-L${dir}`, '-ldep', `-Wl,-rpath,${dir}`]);
  const r = launch(denylist(['uname'], SECCOMP_RET_KILL_PROCESS), [prog]);
  assert.is(r.stdout, 'library constructor ran uname\nmain ran\n');
  assert.is(r.signal, 'SIGSYS');
});

// The CLI: `seccomp-ts exec --preload` through the built dist/cli.js.
const CLI = join(ROOT, 'dist', 'cli.js');
function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env }, cwd: dir, timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
}
const ALLOW6 = MYOS_PRELOAD_MIN.join(',');

(haveGcc ? test : test.skip)('cli: exec --preload --allow (6 syscalls) -- ./myos runs; without uname, or with --deny uname, SIGSYS', () => {
  bins();
  const ok = cli(['exec', '--preload', '--allow', ALLOW6, '--', './myos']);
  assert.is(ok.stdout, 'My OS is Linux!\n');
  assert.is(ok.stderr, MYOS_PRELOAD_MIN.map((s) => `adding ${s} to the process seccomp filter\n`).join(''));
  assert.is(ok.status, 0);
  const env = cli(['exec', '--preload', '-q', './myos'], { SECCOMP_SYSCALL_ALLOW: MYOS_PRELOAD_MIN.join(':') });
  assert.is(env.stdout, 'My OS is Linux!\n');
  assert.is(env.stderr, '');
  for (const args of [['--allow', MYOS_PRELOAD_MIN.filter((s) => s !== 'uname').join(',')], ['--deny', 'uname']]) {
    const r = cli(['exec', '--preload', '-q', ...args, './myos']);
    assert.is(r.signal, 'SIGSYS', `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.is(r.stdout, '');
  }
});

(onX64 ? test : test.skip)('cli: SECCOMP_SYSCALL_DENY=execve exec --preload bash -- bash runs, its exec is killed', () => {
  const r = cli(['exec', '--preload', '/bin/bash', '-c', BASH_EXEC], { SECCOMP_SYSCALL_DENY: 'execve' });
  assert.is(r.stdout, 'I will try to execve something...\n');
  assert.is(r.stderr, 'adding execve to the process seccomp filter\n');
  assert.is(r.signal, 'SIGSYS');
});

(haveGcc ? test : test.skip)('cli: exec --preload refuses static, 32-bit, set-user-ID and #!-static targets: one line, 126, nothing runs', () => {
  const b = bins();
  const suid = join(dir, 'cli-suid');
  copyFileSync(b.myos, suid);
  chmodSync(suid, 0o4755);
  const targets = [b.myosStatic, writeExecutable(join(dir, 'cli-i386'), craftElf(1, 3, '/lib/ld-linux.so.2')), suid, script('cli-static.sh', `#!${b.myosStatic}\n`)];
  for (const t of targets) {
    const r = cli(['exec', '--preload', '--deny', 'uname', t]);
    assert.is(r.status, 126, `${t}: ${r.stderr}`);
    assert.is(r.stdout, '', `${t} ran`);
    assert.match(r.stderr, /^seccomp-ts: .*cannot use --preload: .* run it without --preload\n$/);
  }
});

(onX64 ? test : test.skip)('cli: --preload with --other-exec is a usage error', () => {
  const r = cli(['exec', '--preload', '--other-exec', 'kill', '--deny', 'uname', '/bin/true']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /^seccomp-ts: exec: --other-exec .*--preload.*\n$/);
});

test.run();
