/**
 * Tracing a command for `seccomp-ts learn`: runs it under strace, following every thread and
 * child, and returns strace's log (src/policy/learn.ts reads it).
 *
 * `afterInit` finds where the preload object (preload.ts) would install its filter: the command
 * runs with a marker object in LD_PRELOAD, built like the preload object (a shared object with
 * only a DT_INIT, so the loader runs its initializer at the same point), whose initializer makes
 * one harmless, recognisable call instead of installing a filter:
 *   write(-1, "seccomp-ts-mark-<random hex>", 24)   -> EBADF, nothing written
 * strace shows it with its string, so the calls after it are the ones the preload object's filter
 * would see. A program that never loads the object (statically linked, set-uid) shows no marker.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EM_X86_64, PAGE, dynamicTables, elfHeadersSize, SHARED_OBJECT_PHNUM, beginSharedObject, finishSharedObject,
} from './elf.js';
import { LaunchError } from './errors.js';
import { resolveCommand } from './exec.js';
import { X64 } from './x86_64.js';
import { X64_SYS } from './abi.js';


/**
 * A shared object whose DT_INIT makes the marker call `write(-1, marker, marker.length)` and
 * returns (see the module comment). The marker is ASCII letters, digits and '-', at most 32
 * characters, so strace prints it whole with its default string length.
 */
export function buildMarkerPreload(marker: string): Uint8Array {
  if (!/^[A-Za-z0-9-]{1,32}$/.test(marker)) throw new LaunchError('INTERNAL', `bad marker '${marker}'`);
  const tables = dynamicTables('libseccomp-ts-learn.so');
  const a = new X64(elfHeadersSize(SHARED_OBJECT_PHNUM));
  beginSharedObject(a, tables);
  // Only caller-saved registers; the result is ignored (EBADF).
  a.movImm32('rdi', 0xffffffff); // fd -1 as the kernel's unsigned int
  a.leaRip('rsi', 'marker');
  a.movImm32('rdx', marker.length);
  a.movImm32('rax', X64_SYS.write);
  a.syscall();
  a.ret();
  a.label('marker').bytes(new TextEncoder().encode(marker));
  return finishSharedObject(a, tables, EM_X86_64, PAGE);
}

/** Options of {@link traceCommand}. */
export interface TraceOptions {
  /** Learn the calls after start-up, for the preload object (see the module comment). */
  afterInit?: boolean;
  /** The strace executable (default `strace`, found on PATH). */
  strace?: string;
  /** Environment of the command (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The command's standard output: `inherit` (default) or `stderr` (when this process's
   * standard output carries something else, such as the policy).
   */
  stdout?: 'inherit' | 'stderr';
}

/** The outcome of {@link traceCommand}. */
export interface TraceResult {
  /** strace's log. */
  readonly log: string;
  /** The marker string, with afterInit. */
  readonly marker?: string;
  /** The command's exit status, or null when a signal ended it. */
  readonly status: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
  /** The resolved command path that was run. */
  readonly target: string;
}

/** Whether `cmd` can be run (found on PATH or a path that exists). */
function findStrace(cmd: string): boolean {
  const r = spawnSync(cmd, ['-V'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Whether binfmt_misc has formats registered (then any file may be executable). */
function binfmtMiscInUse(): boolean {
  try {
    return readdirSync('/proc/sys/fs/binfmt_misc').some((n) => n !== 'register' && n !== 'status');
  } catch {
    return false;
  }
}

/**
 * Check before tracing that the kernel can start `path`, so the usual failures are one line of
 * ours rather than strace's message after it ran: an ELF file, or a `#!` script whose interpreter
 * exists. LaunchError NOT_EXECUTABLE (126) otherwise, as a shell reports it. Other files pass
 * when binfmt_misc has formats registered (the kernel may know them).
 */
export function checkStartable(path: string): void {
  const head = Buffer.alloc(256);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // unreadable but executable: let the kernel decide
  }
  const b = head.subarray(0, n);
  if (b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) return;
  if (b.length >= 2 && b[0] === 0x23 && b[1] === 0x21) {
    const line = b.subarray(2).toString('latin1').split('\n')[0].trim();
    const interp = line.split(/[ \t]/)[0];
    if (interp === '') throw new LaunchError('NOT_EXECUTABLE', `${path}: the #! line names no interpreter`, 126);
    try {
      resolveCommand(interp.includes('/') ? interp : `./${interp}`);
    } catch {
      throw new LaunchError('NOT_EXECUTABLE', `${path}: bad interpreter ${interp}: no such executable file`, 126);
    }
    return;
  }
  if (binfmtMiscInUse()) return;
  throw new LaunchError('NOT_EXECUTABLE', `${path}: not an ELF program or #! script (exec format error)`, 126);
}

/**
 * Run `argv` under `strace -f -n --quiet=attach,exit` with the log in a private temp file, and
 * return the log with the command's exit status (strace exits as its tracee did). The command is
 * resolved on PATH and checked ({@link checkStartable}) first: LaunchError NOT_FOUND (127) or
 * NOT_EXECUTABLE (126), before anything runs; UNSUPPORTED when strace is not installed; EXEC when strace produced no log. Stdin and
 * stderr are this process's own.
 */
export async function traceCommand(argv: readonly string[], opts: TraceOptions = {}): Promise<TraceResult> {
  if (argv.length === 0) throw new LaunchError('NOT_FOUND', 'no command to run', 127);
  const env = { ...(opts.env ?? process.env) };
  const target = resolveCommand(argv[0], env.PATH);
  checkStartable(target);
  const strace = opts.strace ?? 'strace';
  if (!findStrace(strace)) throw new LaunchError('UNSUPPORTED', 'strace not found: apt-get install strace');
  if (opts.afterInit && (process.platform !== 'linux' || process.arch !== 'x64')) {
    throw new LaunchError('UNSUPPORTED', `learning after start-up needs Linux x86_64 (this is ${process.platform} ${process.arch})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'seccomp-ts-learn-'));
  try {
    const logFile = join(dir, 'trace.log');
    // -s 32 (strace's default) prints the marker whole and keeps the log small.
    const args = ['-f', '-n', '--quiet=attach,exit', '-s', '32', '-o', logFile];
    let marker: string | undefined;
    if (opts.afterInit) {
      marker = `seccomp-ts-mark-${randomBytes(4).toString('hex')}`;
      const lib = join(dir, 'libseccomp-ts-learn.so');
      writeFileSync(lib, buildMarkerPreload(marker), { mode: 0o644 });
      // -E: only the command gets the object, not strace itself; the user's own preloads follow it.
      const own = env.LD_PRELOAD;
      args.push('-E', `LD_PRELOAD=${lib}${own ? `:${own}` : ''}`);
    }
    args.push('--', target, ...argv.slice(1));
    const stdout = opts.stdout === 'stderr' ? 2 : 'inherit';
    // Ctrl-C (or a TERM/HUP to the group) ends the command, not this process: the policy of what it
    // did until then is still written, which is how a server is learned.
    const ignore = (): void => {};
    const stops = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
    for (const sig of stops) process.on(sig, ignore);
    let status: number | null;
    let signal: NodeJS.Signals | null;
    try {
      ({ status, signal } = await new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        // argv0 for the command is what strace passes: the resolved path (strace cannot set another).
        const child = spawn(strace, args, { stdio: ['inherit', stdout, 'inherit'], env: env as NodeJS.ProcessEnv });
        child.on('error', (e) => reject(new LaunchError('EXEC', `cannot run strace: ${e.message}`)));
        child.on('exit', (code, sig) => resolve({ status: code, signal: sig }));
      }));
    } finally {
      for (const sig of stops) process.off(sig, ignore);
    }
    let log: string;
    try {
      log = readFileSync(logFile, 'utf8');
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_STRING_TOO_LONG' || e instanceof RangeError) throw new LaunchError('EXEC', 'the trace is too large to read (more than Node can hold in one string); learn a shorter run');
      throw new LaunchError('EXEC', `strace wrote no trace (exit ${signal ?? status}; see its message above)`);
    }
    return { log, ...(marker !== undefined ? { marker } : {}), status, signal, target };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
