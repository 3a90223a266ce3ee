/**
 * Shared by the apply tests: runs test/fixtures/apply/child.ts in a fresh Node process (every
 * filter is loaded there, never in the test runner) and builds small x86_64 test filters.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { Assembler } from '../../src/bpf/builder.js';
import { stmt } from '../../src/bpf/insn.js';
import type { Program } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W } from '../../src/bpf/opcodes.js';
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS } from '../../src/bpf/seccomp.js';
import { ROOT } from '../_util/tools.js';
import type { Step } from '../fixtures/apply/child.js';

export type { Step };
export const FIXTURE = join(ROOT, 'test', 'fixtures', 'apply', 'child.ts');

/** The kernel tests use x86_64 syscall numbers; elsewhere they are skipped with a message. */
export const X86_64_LINUX = process.platform === 'linux' && process.arch === 'x64';
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const NR = { getpid: 39, getppid: 110, mkdir: 83, mkdirat: 258 } as const;

export const LD_W_ABS = BPF_LD | BPF_W | BPF_ABS;
export const JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
export const RET_K = BPF_RET | BPF_K;

/** A step result line from the child. */
export type Line = { op: string; ok?: boolean; error?: { name?: string; code?: string; errno?: number; thread?: number; pc?: number; message?: string } } & Record<string, unknown>;

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  lines: Line[];
  stderr: string;
}

let bundle: string | undefined;
/**
 * The fixture and the sources it imports as one ES module, built once per test process (esbuild
 * comes with tsup and tsx). It lives under node_modules/.cache so that its bare imports (ffi-rs,
 * yaml, zod) resolve to the project's packages.
 */
function fixtureBundle(): string {
  if (bundle) return bundle;
  const dir = join(ROOT, 'node_modules', '.cache', 'seccomp-ts-tests');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `apply-child-${process.pid}.mjs`);
  buildSync({ entryPoints: [FIXTURE], outfile: out, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'error' });
  process.on('exit', () => rmSync(out, { force: true }));
  bundle = out;
  return out;
}

/**
 * Build test/fixtures/apply/<name>.c with gcc into a fresh temporary directory (removed when the
 * test process exits); returns the executable's path.
 */
export function buildCFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `seccomp-ts-${name}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const exe = join(dir, name);
  const cc = spawnSync('gcc', ['-O1', '-o', exe, join(ROOT, 'test', 'fixtures', 'apply', `${name}.c`)], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed on ${name}.c: ${cc.error?.message ?? cc.stderr}`);
  return exe;
}

/** Run the fixture with these steps; `prefix` is a command (e.g. setpriv ...) to run node under. */
export function runChild(steps: Step[], prefix: string[] = []): ChildResult {
  const argv = [process.execPath, fixtureBundle(), JSON.stringify(steps)];
  const cmd = [...prefix, ...argv];
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, encoding: 'utf8', timeout: 30000, killSignal: 'SIGKILL' });
  if (r.error) throw r.error;
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  return { status: r.status, signal: r.signal, lines, stderr: r.stderr };
}

/** The result line of the step `op` (the n-th one with that op). */
export function line(r: ChildResult, op: string, n = 0): Line {
  const found = r.lines.filter((l) => l.op === op)[n];
  if (!found) throw new Error(`child printed no "${op}" line #${n}; status ${r.status} signal ${r.signal}\nstdout: ${JSON.stringify(r.lines)}\nstderr: ${r.stderr}`);
  return found;
}

/** Program -> the [[code, jt, jf, k]] form the fixture takes. */
export function wire(p: Program): [number, number, number, number][] {
  return p.map((i) => [i.code, i.jt, i.jf, i.k]);
}

/**
 * x86_64 only (anything else: kill_process); the listed syscall numbers get `action`, all
 * others `otherwise`.
 */
export function onSyscalls(nrs: readonly number[], action: number, otherwise = SECCOMP_RET_ALLOW): Program {
  const a = new Assembler();
  a.emit(stmt(LD_W_ABS, SECCOMP_DATA_ARCH));
  a.jump(JEQ_K, AUDIT_ARCH_X86_64, null, 'badarch');
  a.emit(stmt(LD_W_ABS, SECCOMP_DATA_NR));
  for (const nr of nrs) a.jump(JEQ_K, nr, 'hit', null);
  a.emit(stmt(RET_K, otherwise));
  a.label('hit').emit(stmt(RET_K, action));
  a.label('badarch').emit(stmt(RET_K, SECCOMP_RET_KILL_PROCESS));
  return a.assemble();
}

/** A one-instruction filter that allows everything. */
export const ALLOW_ALL: Program = [stmt(RET_K, SECCOMP_RET_ALLOW)];
