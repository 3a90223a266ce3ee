/**
 * The @node-runtime group: its data, and the proof that matters -- the representative programs
 * it was measured on run under `SECCOMP_SYSCALL_ALLOW=@node-runtime` (both hook forms), while
 * programs that need more (worker threads, child processes, networking) are killed until their
 * documented additions are listed too. Every filter is loaded in a child process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostArch } from '../../src/arch/index.js';
import { expandGroup, groupDescription, GROUP_NAMES } from '../../src/policy/groups.js';
import { NODE_RUNTIME_EXTRAS, NODE_RUNTIME_SYSCALLS } from '../../src/policy/node-runtime.js';
import { callsAfterMarker } from '../../tools/measure-node-runtime.js';
import { ROOT } from '../_util/tools.js';

const FIX = join(ROOT, 'test', 'fixtures', 'register');
const HOOK = { import: join(ROOT, 'dist', 'register.js'), require: join(ROOT, 'dist', 'register.cjs') } as const;
for (const f of Object.values(HOOK)) {
  if (!existsSync(f)) throw new Error(`${f} is missing: build first (npx tsup; npm test builds)`);
}
type Form = keyof typeof HOOK;

function env(allow: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SECCOMP_') && k !== 'NODE_OPTIONS') e[k] = v;
  return { ...e, SECCOMP_SYSCALL_ALLOW: allow, SECCOMP_QUIET: '1' };
}

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a fixture program through the hook; `signal` sends SIGUSR2 once it prints `ready`. */
function runProgram(form: Form, allow: string, file: string, args: string[], opts: { stdin?: string; signal?: boolean } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--${form}`, HOOK[form], join(FIX, file), ...args], { env: env(allow), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (opts.signal && !sent && /^ready$/m.test(stdout)) {
        sent = true;
        child.kill('SIGUSR2');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(opts.stdin ?? '');
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** The runtime programs, as the measuring tool runs them: file, arguments, status, options. */
const RUNTIME: readonly [string, (dir: string) => string[], number, { stdin?: string; signal?: boolean }][] = [
  ['runtime/timers.mjs', () => [], 0, {}],
  ['runtime/files.mjs', (d) => [d], 0, {}],
  ['runtime/memory.mjs', () => [], 0, {}],
  ['runtime/compute.mjs', () => [], 0, {}],
  ['runtime/modules.cjs', () => [], 0, {}],
  ['runtime/stdin.mjs', () => [], 0, { stdin: 'one\ntwo\nthree\n' }],
  ['runtime/signals.mjs', () => [], 0, { signal: true }],
  ['runtime/failure.mjs', () => ['throw'], 1, {}],
  ['runtime/failure.mjs', () => ['reject'], 1, {}],
  ['runtime/failure.mjs', () => ['exit'], 3, {}],
];

test('@node-runtime is registered, matches the data, and leaves out process creation and the blog\'s examples', () => {
  assert.ok(GROUP_NAMES.includes('@node-runtime'));
  assert.match(groupDescription('@node-runtime') ?? '', /Node/);
  const arch = hostArch();
  if (!arch) throw new Error('no host architecture');
  const expanded = new Set(expandGroup('@node-runtime', arch));
  assert.equal([...expanded].sort(), [...NODE_RUNTIME_SYSCALLS].sort(), 'every member is a syscall of this architecture');
  for (const name of ['clone', 'clone3', 'fork', 'vfork', 'execve', 'execveat', 'uname', 'mkdir', 'socket', 'connect', 'ptrace', 'seccomp', 'prctl']) {
    assert.not.ok(expanded.has(name), `@node-runtime must not contain ${name}`);
  }
  assert.equal([...NODE_RUNTIME_SYSCALLS].sort(), [...NODE_RUNTIME_SYSCALLS], 'sorted');
  for (const [what, extra] of Object.entries(NODE_RUNTIME_EXTRAS)) {
    for (const name of extra) assert.not.ok(expanded.has(name), `${what}: ${name} is in the group already`);
  }
});

for (const form of ['import', 'require'] as const) {
  test(`the measured programs run under SECCOMP_SYSCALL_ALLOW=@node-runtime (--${form})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-runtime-'));
    try {
      for (const [file, args, status, opts] of RUNTIME) {
        const r = await runProgram(form, '@node-runtime', file, args(mkdtempSync(join(dir, 'w-'))), opts);
        const label = `${file} ${args('DIR').join(' ')}: status=${r.status} signal=${r.signal}\n${r.stdout}\n${r.stderr}`;
        assert.is(r.signal, null, label);
        assert.is(r.status, status, label);
        assert.match(r.stdout, /^ok /m, label);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('programs that need more are killed under @node-runtime alone, and run with the documented additions', async () => {
  const cases: [string, keyof typeof NODE_RUNTIME_EXTRAS][] = [
    ['extras/worker.mjs', 'worker_threads'],
    ['extras/spawn.mjs', 'child_process'],
    ['extras/net.mjs', 'net'],
  ];
  for (const [file, what] of cases) {
    const bare = await runProgram('import', '@node-runtime', file, []);
    assert.is(bare.signal, 'SIGSYS', `${file} without additions: ${bare.status} ${bare.stdout} ${bare.stderr}`);
    const full = await runProgram('import', ['@node-runtime', ...NODE_RUNTIME_EXTRAS[what]].join(':'), file, []);
    assert.is(full.status, 0, `${file} with ${what} additions: ${full.signal} ${full.stdout} ${full.stderr}`);
    assert.match(full.stdout, /^ok /m, file);
  }
});

test('the measuring tool counts calls from the seccomp() marker on, including ones threads were blocked in', () => {
  const trace = [
    '10 openat(AT_FDCWD, "/x", O_RDONLY) = 3',
    '11 futex(0x1, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>',
    '12 epoll_pwait(3, <unfinished ...>',
    '12 <... epoll_pwait resumed>[], 1024, 0, NULL, 8) = 0',
    '13 read(3, <unfinished ...>',
    '13 <... read resumed>"x", 1) = 1',
    '10 seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, {len=11, filter=0x1}) = 0',
    '10 write(1, "ok\\n", 3) = 3',
    '11 <... futex resumed>) = 0',
    '10 --- SIGUSR2 {si_signo=SIGUSR2, si_code=SI_USER} ---',
    '10 rt_sigreturn({mask=[]}) = 0',
    '10 exit_group(0) = ?',
  ].join('\n');
  assert.equal([...callsAfterMarker(trace)].sort(), ['exit_group', 'futex', 'rt_sigreturn', 'write']);
  assert.throws(() => callsAfterMarker('10 read(0, "", 1) = 0\n'), /no seccomp/);
  const twice = '1 seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=1, filter=0x1}) = 0\n1 seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=1, filter=0x1}) = 0\n';
  assert.throws(() => callsAfterMarker(twice), /two seccomp/);
});

test('a program that was not measured but needs the same calls runs too: the blog example under @node-runtime', () => {
  const r = spawnSync(process.execPath, ['--import', HOOK.import, join(FIX, 'myos.mjs'), 'env'], { env: env('@node-runtime'), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'started\nenv: ["SECCOMP_QUIET"]\ndone\n');
});

test.run();
