/**
 * `seccomp-ts learn`: the strace log reader on hand-written logs (every line form, personalities,
 * the process tree and the after-init marker), the YAML it writes, and the verb end to end on the
 * blog's myos (gcc-built, dynamic and static) through the built CLI (npx tsup first): the learned
 * policy runs the program under exec / the preload object, and every learned syscall is needed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SECCOMP_RET_KILL_PROCESS } from '../../src/bpf/seccomp.js';
import { buildLauncher } from '../../src/launch/stub.js';
import { buildMarkerPreload } from '../../src/launch/learn.js';
import { buildPreload } from '../../src/launch/preload.js';
import { compile } from '../../src/policy/filter.js';
import { formatLearnedPolicy, learnedNames, learnedPolicy, parseStraceLog, type LearnedTrace } from '../../src/policy/learn.js';
import { parsePolicy } from '../../src/policy/parse.js';
import { PolicyError } from '../../src/policy/errors.js';
import { ROOT, needTool } from '../_util/tools.js';
import { MYOS_C, gcc, tempDir, writeExecutable } from './_helpers.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const onX64 = process.platform === 'linux' && process.arch === 'x64';

/** name -> count of one arch, as a plain object, for deep equality. */
const counts = (t: LearnedTrace, arch: string): Record<string, number> => Object.fromEntries(t.syscalls.get(arch as never) ?? []);

// ---- the log reader ------------------------------------------------------------------------

type LogCase = [name: string, log: string, opts: Parameters<typeof parseStraceLog>[1], expect: Record<string, Record<string, number>>, extra?: (t: LearnedTrace) => void];

const LOGS: LogCase[] = [
  [
    'complete calls; the starting execve is left out; signals and exit lines are not calls',
    `100 [  59] execve("./a", ["./a"], 0x7ffc /* 3 vars */) = 0
100 [  12] brk(NULL)                         = 0x55d7379c0000
100 [   1] write(1, "x = 1\\n", 6) = 6
100 [  62] kill(100, SIGUSR1)       = 0
100 [  62] --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=100, si_uid=0} ---
100 [  15] rt_sigreturn({mask=[]})           = 0
100 [ 231] exit_group(0)                     = ?
100 [ 231] +++ exited with 0 +++
`,
    {},
    { x86_64: { brk: 1, exit_group: 1, kill: 1, rt_sigreturn: 1, write: 1 } },
    (t) => {
      assert.ok(t.started);
      assert.is(t.totalCalls, 6);
      assert.is(t.unparsed.length, 0);
    },
  ],
  [
    'dropInitialExec false keeps it; a failed first execve means the command did not start',
    `7 [  59] execve("./a", ["./a"], 0x7ffc /* 3 vars */) = -1 ENOEXEC (Exec format error)
7 [ 231] exit_group(1) = ?
`,
    { dropInitialExec: false },
    { x86_64: { execve: 1, exit_group: 1 } },
    (t) => assert.not.ok(t.started),
  ],
  [
    'unfinished and resumed calls count once, at their start; later execves count',
    `10 [  59] execve("/bin/sh", ["sh"], 0x1 /* 1 var */) = 0
10 [  58] vfork( <unfinished ...>
11 [  14] rt_sigprocmask(SIG_SETMASK, [], ~[KILL STOP RTMIN RT_1], 8) = 0
11 [  59] execve("./b", ["./b"], 0x5 /* 35 vars */ <unfinished ...>
10 [  58] <... vfork resumed>)              = 11
10 [  61] wait4(-1,  <unfinished ...>
11 [  59] <... execve resumed>)             = 0
11 [ 231] exit_group(0)                     = ?
10 [  61] <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 11
10 [  61] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=11, si_uid=0, si_status=0} ---
10 [ 219] restart_syscall(<... resuming interrupted read ...>) = 0
10 [ 231] exit_group(0) = ?
`,
    {},
    { x86_64: { execve: 1, exit_group: 2, restart_syscall: 1, rt_sigprocmask: 1, vfork: 1, wait4: 1 } },
    (t) => {
      assert.is(t.processes, 2);
      assert.is(t.threads, 2);
    },
  ],
  [
    'numbers name the calls: syscall_0x1ce is mseal; a number nobody knows is reported, not listed',
    `5 [  59] execve("./m", ["./m"], 0x1 /* 1 var */) = 0
5 [ 462] syscall_0x1ce(0, 0, 0, 0, 0, 0)   = 0
5 [ 999] syscall_0x3e7(0, 0, 0, 0, 0, 0)   = -1 ENOSYS (Function not implemented)
5 [ 999] syscall_0x3e7(0, 0, 0, 0, 0, 0)   = -1 ENOSYS (Function not implemented)
5 [  60] exit(4)                           = ?
`,
    {},
    { x86_64: { exit: 1, mseal: 1 } },
    (t) => assert.equal(t.unnamed, [{ arch: 'x86_64', nr: 999, count: 2 }]),
  ],
  [
    'without numbers (no -n, or [????]): strace names are used where the arch knows them; syscall_0x hex is decoded',
    `5 execve("./m", ["./m"], 0x1 /* 1 var */) = 0
5 newfstatat(1, "", {st_mode=S_IFIFO|0600, st_size=0, ...}, AT_EMPTY_PATH) = 0
5 syscall_0x1ce(0, 0, 0, 0, 0, 0)   = 0
5 [????] getpid() = 5
5 exit_group(0) = ?
`,
    {},
    { x86_64: { exit_group: 1, getpid: 1, mseal: 1, newfstatat: 1 } },
  ],
  [
    'a personality switch: the calls after it are named on i386 and x32, by number',
    `8 [  59] execve("./mix", ["./mix"], 0x7ffd /* 35 vars */) = 0
8 [  39] getpid()                   = 8
8 [  39] [ Process PID=8 runs in 32 bit mode. ]
8 [  20] getpid()                   = 8
8 [ 122] uname(NULL)                = -1 EFAULT (Bad address)
8 [ 122] [ Process PID=8 runs in x32 mode. ]
8 [1073741863] getpid()             = -1 ENOSYS (Function not implemented)
8 [1073741863] [ Process PID=8 runs in 64 bit mode. ]
8 [  60] exit(4)                    = ?
`,
    {},
    { x86_64: { exit: 1, getpid: 1 }, i386: { getpid: 1, uname: 1 }, x32: { getpid: 1 } },
    (t) => assert.equal([...t.syscalls.keys()], ['x86_64', 'i386', 'x32']),
  ],
  [
    "a child inherits its parent's personality at fork (strace prints no message for it)",
    `20 [  59] execve("./f32", ["./f32"], 0x7ffe /* 35 vars */) = 0
20 [  59] [ Process PID=20 runs in 32 bit mode. ]
20 [   2] fork( <unfinished ...>
21 [  20] getpid( <unfinished ...>
20 [   2] <... fork resumed>)          = 21
21 [  20] <... getpid resumed>)      = 21
21 [   1] exit(0) = ?
20 [   1] exit(0) = ?
`,
    {},
    { i386: { exit: 2, fork: 1, getpid: 1 } },
  ],
  [
    'after-init: only calls after the marker, in any thread of the process; threads and children created later count from birth',
    `30 [  59] execve("./t", ["./t"], 0x1 /* 1 var */) = 0
30 [   9] mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f00
30 [ 435] clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7fff80, tls=0x7f} => {parent_tid=[31]}, 88) = 31
31 [ 334] rseq(0x7f842c623fe0, 0x20, 0, 0x53053053) = 0
31 [ 230] clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000000},  <unfinished ...>
30 [   1] write(-1, "seccomp-ts-mark-0badc0de", 24) = -1 EBADF (Bad file descriptor)
31 [ 230] <... clock_nanosleep resumed>NULL) = 0
31 [  28] madvise(0x7f842be23000, 8368128, MADV_DONTNEED) = 0
30 [  56] clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
32 [ 110] getppid()                  = 30
30 [  56] <... clone resumed>, child_tidptr=0x7f842c624a10) = 32
32 [ 231] exit_group(0)              = ?
30 [ 435] clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM} => {parent_tid=[33]}, 88) = 33
33 [ 273] set_robust_list(0x7f842c6239a0, 24) = 0
30 [ 231] exit_group(0) = ?
`,
    { marker: 'seccomp-ts-mark-0badc0de' },
    { x86_64: { clone: 1, clone3: 1, exit_group: 2, getppid: 1, madvise: 1, set_robust_list: 1 } },
    (t) => {
      assert.is(t.markers, 1);
      assert.is(t.processes, 2);
      assert.is(t.threads, 4);
    },
  ],
  [
    'after-init: a process counts from its own marker, its children from birth; a root that never loads the object not at all',
    `40 [  59] execve("/bin/sh", ["sh"], 0x1 /* 1 var */) = 0
40 [   1] write(-1, "seccomp-ts-mark-0badc0de", 24) = -1 EBADF (Bad file descriptor)
40 [  56] clone(child_stack=NULL, flags=SIGCHLD) = 41
41 [  39] getpid() = 41
40 [  61] wait4(-1, NULL, 0, NULL) = 41
`
      // 50 is an unrelated root (a static program), 51 its dynamic child.
      .replace(/^/, `50 [  59] execve("./static", ["./static"], 0x1 /* 1 var */) = 0
50 [  57] fork() = 51
51 [  59] execve("./dyn", ["./dyn"], 0x1 /* 1 var */) = 0
51 [  12] brk(NULL) = 0x1000
51 [   1] write(-1, "seccomp-ts-mark-0badc0de", 24) = -1 EBADF (Bad file descriptor)
51 [  63] uname({sysname="Linux", ...}) = 0
50 [  61] wait4(-1, NULL, 0, NULL) = 51
`),
    { marker: 'seccomp-ts-mark-0badc0de' },
    { x86_64: { clone: 1, getpid: 1, uname: 1, wait4: 1 } },
    (t) => assert.is(t.markers, 2),
  ],
  [
    'a marker-like write with another string is an ordinary call',
    `60 [  59] execve("./a", ["./a"], 0x1 /* 1 var */) = 0
60 [   1] write(-1, "seccomp-ts-mark-00000000", 24) = -1 EBADF (Bad file descriptor)
60 [   1] write(-1, "seccomp-ts-mark-0badc0de", 24) = -1 EBADF (Bad file descriptor)
60 [   0] read(0, "", 1) = 0
`,
    { marker: 'seccomp-ts-mark-0badc0de' },
    { x86_64: { read: 1 } },
  ],
  [
    'lines of no known form are reported, not guessed at',
    `70 [  59] execve("./a", ["./a"], 0x1 /* 1 var */) = 0
strace: Process 70 attached
70 [   0] read(0, "", 1) = 0
`,
    {},
    { x86_64: { read: 1 } },
    (t) => assert.equal(t.unparsed, [{ line: 2, text: 'strace: Process 70 attached' }]),
  ],
];

for (const [name, log, opts, expect, extra] of LOGS) {
  test(`parseStraceLog: ${name}`, () => {
    const t = parseStraceLog(log, { host: 'x86_64', ...opts });
    const got = Object.fromEntries([...t.syscalls.keys()].map((a) => [a, counts(t, a)]));
    assert.equal(got, expect);
    extra?.(t);
  });
}

test('parseStraceLog: a log without calls, and an unknown personality, are PolicyErrors', () => {
  for (const [log, re] of [
    ['', /no system calls/],
    ['garbage\n', /no system calls.*1 lines not understood/],
    ['1 [ 1] [ Process PID=1 runs in 16 bit mode. ]\n1 [ 0] read(0, "", 1) = 0\n', /16 bit mode/],
  ] as const) {
    try {
      parseStraceLog(log, { host: 'x86_64' });
      assert.unreachable(log);
    } catch (e) {
      assert.instance(e, PolicyError);
      assert.match((e as Error).message, re);
      assert.not.match((e as Error).message, /\n/);
    }
  }
});

test('formatLearnedPolicy: reads back as learnedPolicy; header lines stay comments whatever the command', () => {
  const t = parseStraceLog(LOGS[5][1], { host: 'x86_64' });
  const command = ['./mix', 'a b', "it's", 'line1\nkey: value', '\u2028x'];
  const text = formatLearnedPolicy(t, { command, method: 'a test', use: 'nothing', outcome: 'exited with status 4', date: new Date(0) });
  const header = text.slice(0, text.indexOf('\ndefaultAction'));
  for (const l of header.split('\n')) assert.ok(l === '' || l.startsWith('#'), `header line ${JSON.stringify(l)}`);
  assert.match(header, /one run of: \.\/mix 'a b' 'it'\\''s' 'line1\\nkey: value' '\\x2028x'/);
  assert.match(header, /Date: 1970-01-01T00:00:00.000Z/);
  const parsed = parsePolicy(text);
  const direct = learnedPolicy(t);
  assert.equal(parsed.architectures, ['x86_64', 'i386', 'x32']);
  assert.equal(parsed.architectures, direct.architectures);
  assert.is(parsed.defaultAction, direct.defaultAction);
  assert.is(parsed.badArchAction, direct.badArchAction);
  assert.equal(parsed.rules.map((r) => [...r.syscalls]), direct.rules.map((r) => [...r.syscalls]));
  assert.equal([...parsed.rules[0].syscalls], ['exit', 'getpid', 'uname']);
  assert.match(text, /- getpid {2}# x86_64 1, i386 1, x32 1\n/);
  // --arch overrides the architectures.
  assert.equal(parsePolicy(formatLearnedPolicy(t, { command, method: 'm', architectures: ['x86_64'] })).architectures, ['x86_64']);
});

// ---- end to end ----------------------------------------------------------------------------

const haveGcc = onX64 && needTool('gcc');
const haveStrace = onX64 && needTool('strace');
const e2e = haveGcc && haveStrace ? test : test.skip;
const dir = onX64 ? tempDir('learn') : '';

// stdin from /dev/null: a shell sources rc files when its stdin is a socket (Node's default pipes are).
function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}
const run = (file: string, args: string[], env: Record<string, string> = {}) => spawnSync(file, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });

let bins: { dynamic: string; static: string } | undefined;
const myos = () => (bins ??= { dynamic: gcc(dir, 'myos', MYOS_C), static: gcc(dir, 'myos-static', MYOS_C, ['-static']) });
let stubs = 0;
/** Run `target` under the launcher stub with the policy `names` allow (the exec verb's launcher, without a Node start per case). */
function underStub(names: readonly string[], target: string) {
  const stub = writeExecutable(join(dir, `stub${stubs++}`), buildLauncher(compile({ defaultAction: 'kill_process', rules: [{ syscalls: [...names], action: 'allow' }] }).instructions));
  return run(stub, [target, target]);
}
const learnedList = (yaml: string): string[] => [...parsePolicy(yaml).rules[0].syscalls];

e2e('dist/cli.js exists (run npx tsup)', () => {
  assert.ok(spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout.includes('learn'), 'learn is listed in --help');
});

for (const kind of ['dynamic', 'static'] as const) {
  e2e(`learn ${kind} myos: the policy runs it under exec, and without any one learned syscall it is SIGSYS`, () => {
    const target = myos()[kind];
    const file = join(dir, `myos-${kind}.yaml`);
    const l = cli(['learn', '-o', file, '--', target]);
    assert.is(l.status, 0, l.err);
    assert.is(l.out, 'My OS is Linux!\n', 'with -o the command keeps its stdout');
    assert.match(l.err, /^seccomp-ts: learned \d+ syscalls; .* exited with status 0\n$/);
    const yaml = readFileSync(file, 'utf8');
    assert.match(yaml, /^# seccomp-ts policy learned from one run of: /);
    const names = learnedList(yaml);
    process.stdout.write(`  learned (${kind} myos, whole run, ${names.length}): ${names.join(':')}\n`);
    for (const must of ['uname', 'write', 'exit_group']) assert.ok(names.includes(must), must);
    assert.not.ok(names.includes('execve'), 'the starting execve is the launcher\'s');
    const ex = cli(['exec', '--policy', file, '--', target]);
    assert.is(ex.out, 'My OS is Linux!\n', ex.err);
    assert.is(ex.status, 0, ex.err);
    assert.ok(underStub(names, target).stdout === 'My OS is Linux!\n', 'the stub harness agrees with exec');
    for (const drop of names) {
      const r = underStub(names.filter((n) => n !== drop), target);
      assert.is(r.signal, 'SIGSYS', `without ${drop}: status ${r.status} signal ${r.signal} stdout ${JSON.stringify(r.stdout)}`);
    }
  });
}

e2e('learn without -o: the policy on stdout, the command\'s own output on stderr', () => {
  const l = cli(['learn', myos().static]);
  assert.is(l.status, 0, l.err);
  assert.match(l.err, /My OS is Linux!\n/);
  assert.ok(learnedList(l.out).includes('uname'));
  assert.is(parsePolicy(l.out).defaultAction, SECCOMP_RET_KILL_PROCESS);
});

e2e('--after-init on dynamic myos: a small set (compare the blog\'s exit_group:fstat:uname:write) that suffices with the preload object, each one needed', () => {
  const target = myos().dynamic;
  const file = join(dir, 'myos-after-init.yaml');
  const l = cli(['learn', '--after-init', '-o', file, '--', target]);
  assert.is(l.status, 0, l.err);
  assert.match(l.err, /learned \d+ syscalls after start-up/);
  const names = learnedList(readFileSync(file, 'utf8'));
  process.stdout.write(`  learned (dynamic myos, after init, ${names.length}): ${names.join(':')}\n`);
  const whole = learnedList(readFileSync(join(dir, 'myos-dynamic.yaml'), 'utf8'));
  assert.ok(names.length < whole.length / 2, `${names.length} after start-up vs ${whole.length} for the whole run`);
  for (const n of names) assert.ok(whole.includes(n), `${n} is also in the whole-run set`);
  for (const must of ['exit_group', 'uname', 'write']) assert.ok(names.includes(must), must);
  assert.ok(names.includes('fstat') || names.includes('newfstatat'), 'fstat or newfstatat (stdout\'s buffering)');
  for (const loader of ['openat', 'mmap', 'pread64', 'arch_prctl']) assert.not.ok(names.includes(loader), `${loader} is start-up only`);
  // Through the CLI's preload verb, then each one fewer through buildPreload.
  const lib = join(dir, 'libsandbox.so');
  const p = cli(['preload', '--policy', file, '-o', lib]);
  assert.is(p.status, 0, p.err);
  const ok = run(target, [], { LD_PRELOAD: lib });
  assert.is(ok.stdout, 'My OS is Linux!\n', ok.stderr);
  assert.is(ok.status, 0);
  for (const drop of names) {
    const l2 = join(dir, `libsandbox-no-${drop}.so`);
    writeFileSync(l2, buildPreload(compile({ defaultAction: 'kill_process', rules: [{ syscalls: names.filter((n) => n !== drop), action: 'allow' }] }).instructions));
    const r = run(target, [], { LD_PRELOAD: l2 });
    assert.is(r.signal, 'SIGSYS', `without ${drop}: status ${r.status} stdout ${JSON.stringify(r.stdout)}`);
  }
});

const THREADS_C = `#include <pthread.h>
#include <unistd.h>
#include <sys/wait.h>
static void *f(void *a) { (void)a; usleep(1000); write(1, "thread\\n", 7); return 0; }
int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, f, 0)) return 9;
    pthread_join(t, 0);
    pid_t p = fork();
    if (p == 0) { write(1, "child\\n", 6); _exit(5); }
    int st = 0;
    waitpid(p, &st, 0);
    return WEXITSTATUS(st) + 1;
}
`;

e2e('threads and children are followed: whole run under exec, after-init under the preload object (TSYNC); the exit status is the command\'s', () => {
  const prog = gcc(dir, 'threads', THREADS_C, ['-pthread']);
  const file = join(dir, 'threads.yaml');
  const l = cli(['learn', '-o', file, '--', prog]);
  assert.is(l.status, 6, l.err);
  assert.is(l.out, 'thread\nchild\n');
  assert.match(l.err, /exited with status 6/);
  const names = learnedList(readFileSync(file, 'utf8'));
  assert.ok(names.includes('clone3') || names.includes('clone'), names.join(','));
  assert.ok(names.includes('wait4'), names.join(','));
  const ex = cli(['exec', '--policy', file, '--', prog]);
  assert.is(ex.out, 'thread\nchild\n', ex.err);
  assert.is(ex.status, 6);
  const ai = join(dir, 'threads-ai.yaml');
  assert.is(cli(['learn', '--after-init', '-o', ai, '--', prog]).status, 6);
  const lib = join(dir, 'libthreads.so');
  assert.is(cli(['preload', '--policy', ai, '-o', lib]).status, 0);
  const r = run(prog, [], { LD_PRELOAD: lib });
  assert.is(r.stdout, 'thread\nchild\n', r.stderr);
  assert.is(r.status, 6);
});

e2e('a killing signal is reported as 128+N; the policy is still written', () => {
  const l = cli(['learn', '--', '/bin/sh', '-c', 'kill -USR1 $$']);
  assert.is(l.status, 128 + 10, l.err);
  assert.match(l.err, /was killed by SIGUSR1/);
  assert.ok(learnedList(l.out).includes('kill'));
});

e2e('a real personality switch: int 0x80 calls in a 64-bit program are learned as i386 syscalls', () => {
  const src = join(dir, 'mix.s');
  writeFileSync(src, `.globl _start
_start:
  mov $39, %eax
  syscall
  mov $20, %eax
  int $0x80
  mov $60, %eax
  mov $4, %edi
  syscall
`);
  const out = join(dir, 'mix');
  const g = spawnSync('gcc', ['-nostdlib', '-static', '-o', out, src], { encoding: 'utf8' });
  assert.is(g.status, 0, g.stderr);
  const l = cli(['learn', '--', out]);
  assert.is(l.status, 4, l.err);
  const p = parsePolicy(l.out);
  assert.equal(p.architectures, ['x86_64', 'i386']);
  assert.match(l.out, /- getpid {2}# x86_64 1, i386 1\n/);
});

/** Bad input: exactly one line on stderr, a non-zero status, nothing on stdout. */
type BadCase = [name: string, args: string[], status: number, re: RegExp, env?: NodeJS.ProcessEnv];
const binfmtMisc = (() => {
  try {
    return readdirSync('/proc/sys/fs/binfmt_misc').some((f) => f !== 'register' && f !== 'status');
  } catch {
    return false;
  }
})();
if (binfmtMisc) process.stdout.write('  SKIP: binfmt_misc has formats registered here, so the exec-format-error case is not checked\n');
const BAD: BadCase[] = [
  ['no command', ['learn'], 2, /no command given/],
  ['only options', ['learn', '-o', 'x.yaml', '--'], 2, /no command given/],
  ['unknown flag', ['learn', '--bogus', 'true'], 2, /unknown option '--bogus'/],
  ['unknown --arch', ['learn', '--arch', 'vax', '--', 'true'], 2, /unknown architecture 'vax'/],
  ['--after-init with --keep-execve', ['learn', '--after-init', '--keep-execve', 'true'], 2, /--keep-execve goes without --after-init/],
  ['command not found', ['learn', '--', 'seccomp-ts-no-such-command'], 127, /seccomp-ts-no-such-command: command not found/],
  ['not executable', ['learn', '--', join(dir, 'plain.txt')], 126, /plain\.txt: not an executable file/],
  // With binfmt_misc formats registered any file may be a program: then the kernel (strace) decides.
  ...(binfmtMisc ? [] : [['not a program (exec format error)', ['learn', '--', join(dir, 'text.sh')], 126, /text\.sh: not an ELF program or #! script/] as BadCase]),
  ['a #! script whose interpreter is missing', ['learn', '--', join(dir, 'bad-interp.sh')], 126, /bad-interp\.sh: bad interpreter \/nonexistent\/sh/],
  ['strace missing', ['learn', '--', '/bin/true'], 2, /^seccomp-ts: strace not found: apt-get install strace$/m, { PATH: '/nonexistent' }],
];
if (onX64) {
  writeFileSync(join(dir, 'plain.txt'), 'not a program\n');
  writeExecutable(join(dir, 'text.sh'), new TextEncoder().encode('echo no shebang\n'));
  writeExecutable(join(dir, 'bad-interp.sh'), new TextEncoder().encode('#!/nonexistent/sh -e\necho hi\n'));
}
for (const [name, args, status, re, env] of BAD) {
  (onX64 ? test : test.skip)(`learn, bad input: ${name}`, () => {
    const r = cli(args, env ? { ...process.env, ...env } : process.env);
    assert.is(r.status, status, r.err);
    assert.is(r.out, '');
    assert.match(r.err, /^seccomp-ts: [^\n]+\n$/, JSON.stringify(r.err));
    assert.match(r.err, re);
  });
}

e2e('learn --after-init on a static program: one line, non-zero', () => {
  const r = cli(['learn', '--after-init', '-o', join(dir, 'never.yaml'), '--', myos().static]);
  assert.is(r.status, 2);
  assert.is(r.out, 'My OS is Linux!\n', 'the program itself ran');
  assert.match(r.err, /^seccomp-ts: [^\n]*never ran the marker object's initializer[^\n]*\n$/);
});

(onX64 ? test : test.skip)('the marker object loads into a process and makes exactly its marker call', () => {
  // Under strace (when present) the call shows; without, the object at least loads and returns.
  const lib = join(dir, 'marker.so');
  writeFileSync(lib, buildMarkerPreload('seccomp-ts-mark-12345678'));
  const r = run('/bin/true', [], { LD_PRELOAD: lib });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '', 'the loader accepted the object');
  if (haveStrace) {
    const s = spawnSync('strace', ['-f', '-E', `LD_PRELOAD=${lib}`, '/bin/true'], { encoding: 'utf8' });
    assert.match(s.stderr, /write\(-1, "seccomp-ts-mark-12345678", 24\) = -1 EBADF/);
  }
});

test.run();
