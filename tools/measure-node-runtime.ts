/**
 * Measures the @node-runtime group: the system calls a plain Node process makes AFTER the
 * register hook has installed its filter, while running small representative programs.
 *
 *   npx tsup && node --import tsx tools/measure-node-runtime.ts [--check] [--runs N]
 *
 * Every program in test/fixtures/register/runtime/ runs under `strace -f -qq` with the built
 * hook (`--import dist/register.js` and `--require dist/register.cjs`), with stdout and stderr
 * as pipes, as files and (when script(1) exists) as a terminal. The hook's own
 * seccomp(SECCOMP_SET_MODE_FILTER, ...) call in the trace is the marker: every system call any
 * thread enters after it is counted, and so is every call a thread was blocked in at that moment
 * (a blocked futex or epoll wait is entered again, and a call interrupted by a signal is checked
 * again when it restarts). The filter used while measuring only logs a call nobody makes
 * (SECCOMP_SYSCALL_DENY=reboot, SECCOMP_DEFAULT_ACTION=log), so it changes nothing.
 *
 * Prints the union, sorted, as the data for src/policy/node-runtime.ts; then, for the programs
 * in test/fixtures/register/extras/ (worker threads, child processes, networking), what each
 * needs beyond the group. --check exits 1 when the committed group lacks a measured call.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_SYSCALLS } from '../src/policy/node-runtime.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'register');

type Form = 'import' | 'require';
type Stdio = 'pipe' | 'file' | 'tty';

/** One program run: the file, its arguments, and what the caller does while it runs. */
interface Prog {
  readonly file: string;
  readonly args?: (dir: string) => string[];
  readonly stdin?: string;
  /** Send SIGUSR2 to the pid the program prints, once it prints `ready`. */
  readonly signal?: boolean;
  /** Exit status the program ends with on purpose. */
  readonly status?: number;
}

const RUNTIME: readonly Prog[] = [
  { file: 'runtime/timers.mjs' },
  { file: 'runtime/files.mjs', args: (d) => [d] },
  { file: 'runtime/memory.mjs' },
  { file: 'runtime/compute.mjs' },
  { file: 'runtime/modules.cjs' },
  { file: 'runtime/stdin.mjs', stdin: 'one\ntwo\nthree\n' },
  { file: 'runtime/signals.mjs', signal: true },
  { file: 'runtime/failure.mjs', args: () => ['throw'], status: 1 },
  { file: 'runtime/failure.mjs', args: () => ['reject'], status: 1 },
  { file: 'runtime/failure.mjs', args: () => ['exit'], status: 3 },
  { file: 'runtime/failure.mjs', args: () => ['end'] },
];

const EXTRAS: readonly Prog[] = [
  { file: 'extras/worker.mjs' },
  { file: 'extras/spawn.mjs' },
  { file: 'extras/net.mjs' },
];

/** The hook files the runs use; main() points them at a private copy of dist/. */
const HOOK: Record<Form, string> = { import: '', require: '' };

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run one program under strace; resolves to the trace text. Throws when the program misbehaves. */
async function trace(p: Prog, form: Form, stdio: Stdio): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'measure-node-'));
  const out = join(dir, 'trace');
  const work = mkdtempSync(join(dir, 'work-'));
  const argv = ['strace', '-f', '-qq', '-o', out, '--', process.execPath, `--${form}`, HOOK[form], join(FIX, p.file), ...(p.args?.(work) ?? [])];
  const env = { ...process.env, SECCOMP_SYSCALL_DENY: 'reboot', SECCOMP_DEFAULT_ACTION: 'log', SECCOMP_QUIET: '1' };
  let cmd: string;
  let args: string[];
  if (stdio === 'tty') {
    cmd = 'script';
    args = ['-qefc', argv.map(shq).join(' '), '/dev/null'];
  } else if (stdio === 'file') {
    cmd = 'sh';
    args = ['-c', `${argv.map(shq).join(' ')} >${shq(join(dir, 'stdout'))} 2>${shq(join(dir, 'stderr'))}; s=$?; cat ${shq(join(dir, 'stdout'))}; exit $s`];
  } else {
    [cmd, ...args] = argv;
  }
  const child = spawn(cmd!, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    const m = /pid (\d+)/.exec(stdout);
    // In file mode the output only arrives at the end, so the signal goes when `ready` is in the file.
    if (p.signal && m && /ready/.test(stdout) && !signalled) {
      signalled = true;
      process.kill(Number(m[1]), 'SIGUSR2');
    }
  });
  child.stderr.resume();
  if (p.stdin !== undefined && stdio !== 'tty') child.stdin.end(p.stdin);
  else if (stdio !== 'tty') child.stdin.end();
  let poll: NodeJS.Timeout | undefined;
  if (p.signal && stdio === 'file') {
    poll = setInterval(() => {
      try {
        const text = readFileSync(join(dir, 'stdout'), 'utf8');
        const m = /pid (\d+)/.exec(text);
        if (m && /ready/.test(text) && !signalled) {
          signalled = true;
          process.kill(Number(m[1]), 'SIGUSR2');
        }
      } catch {
        // not written yet
      }
    }, 20);
  }
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (poll) clearInterval(poll);
  try {
    const want = p.status ?? 0;
    if (status !== want) throw new Error(`${p.file} (${form}, ${stdio}) exited with ${status}, expected ${want}; output: ${stdout.slice(-300)}`);
    if (!/^ok /m.test(stdout)) throw new Error(`${p.file} (${form}, ${stdio}) did not print its ok line; output: ${stdout.slice(-300)}`);
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MARKER = /^\d+\s+seccomp\(SECCOMP_SET_MODE_FILTER/;
const ENTER = /^(\d+)\s+([a-z_0-9]+)\(/;
const RESUMED = /^(\d+)\s+<\.\.\. ([a-z_0-9]+) resumed>/;

/** The system calls entered after the marker, plus the ones threads were blocked in at the marker. */
export function callsAfterMarker(text: string): Set<string> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => MARKER.test(l));
  if (at < 0) throw new Error('the trace has no seccomp(SECCOMP_SET_MODE_FILTER) call: was the hook loaded and the variables set?');
  if (lines.slice(at + 1).some((l) => MARKER.test(l))) throw new Error('the trace has two seccomp(SECCOMP_SET_MODE_FILTER) calls');
  const pending = new Map<string, string>(); // thread -> call it was blocked in
  for (const l of lines.slice(0, at)) {
    const e = ENTER.exec(l);
    if (e && l.endsWith('<unfinished ...>')) pending.set(e[1]!, e[2]!);
    else if (e) pending.delete(e[1]!);
    const r = RESUMED.exec(l);
    if (r) pending.delete(r[1]!);
  }
  const calls = new Set<string>(pending.values());
  for (const l of lines.slice(at + 1)) {
    const e = ENTER.exec(l);
    if (e) calls.add(e[2]!);
    const r = RESUMED.exec(l);
    if (r) calls.add(r[2]!);
  }
  return calls;
}

function nodeVersion(): string {
  return process.version;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const check = argv.includes('--check');
  const runsArg = argv.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(argv[runsArg + 1]) : 2;
  if (spawnSync('strace', ['-V'], { stdio: 'ignore' }).status !== 0) throw new Error('strace is not installed (Debian package strace)');
  // A private copy of the built hook, inside the repository so that `ffi-rs` still resolves from
  // node_modules: a build started meanwhile (tsup cleans dist/) cannot pull it away mid-run.
  const copy = mkdtempSync(join(ROOT, '.scratch-measure-'));
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  for (const f of ['register.js', 'register.cjs']) copyFileSync(join(ROOT, 'dist', f), join(copy, f)); // fails early when dist/ is not built
  HOOK.import = join(copy, 'register.js');
  HOOK.require = join(copy, 'register.cjs');
  const stdios: Stdio[] = ['pipe', 'file'];
  if (spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0) stdios.push('tty');

  const union = new Map<string, Set<string>>(); // call -> programs that made it
  for (const p of RUNTIME) {
    for (const form of ['import', 'require'] as const) {
      for (const stdio of stdios) {
        if (stdio === 'tty' && p.stdin !== undefined) continue; // a terminal has no end of input
        for (let i = 0; i < runs; i++) {
          const calls = callsAfterMarker(await trace(p, form, stdio));
          for (const c of calls) {
            if (!union.has(c)) union.set(c, new Set());
            union.get(c)!.add(`${p.file.replace(/^runtime\//, '')}${p.args ? ` ${p.args('DIR').join(' ')}` : ''}`);
          }
        }
        process.stderr.write('.');
      }
    }
  }
  process.stderr.write('\n');
  const measured = [...union.keys()].sort();
  const committed = new Set(NODE_RUNTIME_SYSCALLS);
  process.stdout.write(`# ${measured.length} system calls after the hook, ${nodeVersion()}, ${new Date().toISOString().slice(0, 10)}, stdio: ${stdios.join(' ')}, runs: ${runs}\n`);
  for (const c of measured) process.stdout.write(`  ${c.padEnd(20)} ${[...union.get(c)!].sort().join(', ')}\n`);
  process.stdout.write(`\n${measured.map((c) => `'${c}'`).join(', ')}\n`);

  const missing = measured.filter((c) => !committed.has(c));
  const unused = [...committed].filter((c) => !union.has(c));
  process.stdout.write(`\ncommitted group: ${committed.size} calls; measured but not in it: ${missing.join(' ') || 'none'}; in it but not measured now: ${unused.join(' ') || 'none'}\n`);

  process.stdout.write('\nextras: what each program needs beyond the measured and committed group (both forms, pipes):\n');
  for (const p of EXTRAS) {
    const more = new Set<string>();
    for (const form of ['import', 'require'] as const) {
      for (let i = 0; i < runs; i++) {
        for (const c of callsAfterMarker(await trace(p, form, 'pipe'))) if (!union.has(c) && !committed.has(c)) more.add(c);
      }
    }
    process.stdout.write(`  ${p.file.replace(/^extras\//, '')}: ${[...more].sort().map((c) => `'${c}'`).join(', ') || 'nothing'}\n`);
  }
  if (check && missing.length) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`measure-node-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
