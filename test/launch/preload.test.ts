/**
 * The preload shared object in real processes: LD_PRELOAD, patchelf --add-needed, dlopen into a
 * threaded program (TSYNC), and a filter the kernel rejects.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stmt, type Instruction } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_K, BPF_LD, BPF_RET, BPF_W } from '../../src/bpf/opcodes.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS } from '../../src/bpf/seccomp.js';
import { buildPreload, type PreloadOptions } from '../../src/launch/preload.js';
import { needTool } from '../_util/tools.js';
import { MYOS_C, allowlist, denylist, gcc, tempDir } from './_helpers.js';

const onX64 = process.platform === 'linux' && process.arch === 'x64';
if (!onX64) process.stdout.write('  SKIP: the preload tests need Linux x86_64\n');
const haveGcc = onX64 && needTool('gcc');
const havePatchelf = haveGcc && needTool('patchelf');
const dir = onX64 ? tempDir('preload') : '';

let n = 0;
function lib(program: Instruction[], opts: PreloadOptions = {}): string {
  const p = join(dir, `libsandbox${n++}.so`);
  writeFileSync(p, buildPreload(program, opts));
  return p;
}
// stdin from /dev/null: bash sources ~/.bashrc when its stdin is a socket (Node's default pipes are).
const run = (file: string, args: string[], env: Record<string, string> = {}) => spawnSync(file, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });

let myos = '';
const getMyos = () => (myos ||= gcc(dir, 'myos', MYOS_C));

// The blog's list was exit_group:fstat:uname:write. Measured on Debian 12 (glibc 2.36) with stdout not a terminal (a
// terminal adds ioctl): fstat is newfstatat now, and printf's first malloc needs brk plus getrandom (the tcache key).
const MYOS_PRELOAD_MIN = ['brk', 'exit_group', 'getrandom', 'newfstatat', 'uname', 'write'];

(haveGcc ? test : test.skip)(`LD_PRELOAD: myos runs with its ${MYOS_PRELOAD_MIN.length}-syscall allowlist; any one fewer is SIGSYS`, () => {
  const m = getMyos();
  const ok = run(m, [], { LD_PRELOAD: lib(allowlist(MYOS_PRELOAD_MIN)) });
  assert.is(ok.stdout, 'My OS is Linux!\n');
  assert.is(ok.status, 0, ok.stderr);
  for (const drop of MYOS_PRELOAD_MIN) {
    const r = run(m, [], { LD_PRELOAD: lib(allowlist(MYOS_PRELOAD_MIN.filter((s) => s !== drop))) });
    assert.is(r.signal, 'SIGSYS', `without ${drop}: status ${r.status} stdout ${JSON.stringify(r.stdout)}`);
  }
});

(havePatchelf ? test : test.skip)('patchelf --add-needed makes the object a permanent part of the program', () => {
  const allowed = lib(allowlist(MYOS_PRELOAD_MIN));
  const denied = lib(denylist(['uname'], SECCOMP_RET_KILL_PROCESS));
  for (const [l, expect] of [[allowed, 'ok'], [denied, 'SIGSYS']] as const) {
    const patched = join(dir, `myos-patched${n++}`);
    copyFileSync(getMyos(), patched);
    const p = spawnSync('patchelf', ['--add-needed', l, patched], { encoding: 'utf8' });
    assert.is(p.status, 0, p.stderr);
    const r = run(patched, []);
    if (expect === 'ok') {
      assert.is(r.stdout, 'My OS is Linux!\n');
      assert.is(r.status, 0);
    } else {
      assert.is(r.signal, 'SIGSYS');
      assert.is(r.stdout, '');
    }
  }
});

(onX64 ? test : test.skip)('the blog\'s execve example: bash runs, its exec is killed', () => {
  const r = run('/bin/bash', ['-c', 'echo I will try to execve something...; exec /usr/bin/echo Doing arbitrary code execution!!!'],
    { LD_PRELOAD: lib(denylist(['execve'], SECCOMP_RET_KILL_PROCESS)) });
  assert.is(r.stdout, 'I will try to execve something...\n');
  assert.is(r.signal, 'SIGSYS');
});

(onX64 ? test : test.skip)('a filter the kernel rejects: one line on stderr, exit 1, main never runs', () => {
  const bad = [stmt(BPF_LD | BPF_W | BPF_ABS, 3), stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)];
  const r = run('/bin/echo', ['main ran'], { LD_PRELOAD: lib(bad) });
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'seccomp-ts: cannot install the seccomp filter: errno 22 (EINVAL)\n');
  assert.is(r.status, 1);
});

const THREADED_C = `#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>
static volatile int go = 0;
static void *worker(void *arg) {
  struct utsname u;
  (void)arg;
  while (!go) usleep(1000);
  if (uname(&u) == 0) write(1, "worker ran uname\\n", 17);
  return 0;
}
int main(int argc, char **argv) {
  pthread_t t;
  (void)argc;
  pthread_create(&t, 0, worker, 0);
  if (!dlopen(argv[1], RTLD_NOW)) { fprintf(stderr, "%s\\n", dlerror()); return 2; }
  go = 1;
  pthread_join(t, 0);
  return 0;
}
`;

(haveGcc ? test : test.skip)('TSYNC: loaded into a running threaded program, the filter covers the other thread too', () => {
  const prog = gcc(dir, 'threaded', THREADED_C, ['-pthread']);
  const deny = denylist(['uname'], SECCOMP_RET_KILL_PROCESS);
  const synced = run(prog, [lib(deny)]);
  assert.is(synced.signal, 'SIGSYS', synced.stderr);
  // Without TSYNC only the loading thread is filtered: the worker's uname goes through.
  const single = run(prog, [lib(deny, { tsync: false })]);
  assert.is(single.stdout, 'worker ran uname\n');
  assert.is(single.status, 0);
});

(onX64 ? test : test.skip)('the object: ET_DYN with PT_DYNAMIC and no entry point; its soname is configurable', () => {
  const so = buildPreload(allowlist(['read']), { soname: 'libfoo.so' });
  const v = new DataView(so.buffer, so.byteOffset);
  assert.is(v.getUint16(16, true), 3);
  assert.is(v.getBigUint64(24, true), 0n);
  const phnum = v.getUint16(56, true);
  const types = Array.from({ length: phnum }, (_, i) => v.getUint32(64 + 56 * i, true));
  assert.equal(types, [1, 1, 2, 0x6474e551]);
  assert.ok(Buffer.from(so).includes('libfoo.so\0'));
});

test.run();
