/**
 * Run a program under a seccomp filter by replacing the current Node process with it:
 * Node writes the launcher stub (stub.ts) into a sealed memfd and execve's it through libc
 * (ffi-rs), the stub installs the filter and execve's the target. The PID stays the same, so the
 * exit status and any killing signal are the target's own, seen directly by whoever started Node.
 *
 * Nothing in Node is confined: the filter is loaded by the stub, after Node's image is gone.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Program } from '../bpf/insn.js';
import { LaunchError } from './errors.js';
import { environStrings, loadLibc, memfdWith, replaceProcess, requireLinuxX64 } from './libc.js';
import { buildLauncher } from './stub.js';
import type { OtherExec } from './wrap.js';

export { layoutStringArray } from './libc.js';

/** Options for {@link execSandboxed}. */
export interface ExecOptions {
  /** Environment of the target (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** argv[0] for the target (default: the command as given). */
  argv0?: string;
  /** The search path for a command without '/' (default: process.env.PATH). */
  path?: string;
  /** Other execve/execveat in the target: see {@link buildLauncher}; default decided from the policy. */
  otherExec?: OtherExec;
}

/** Search path a shell uses when PATH is unset. */
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

function isExecutableFile(p: string): 'ok' | 'missing' | 'noexec' {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 'missing';
  }
  if (!st.isFile()) return 'noexec';
  try {
    accessSync(p, constants.X_OK);
    return 'ok';
  } catch {
    return 'noexec';
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Resolve a command as a POSIX shell does: a name containing '/' is used as is; otherwise each
 * PATH entry is tried in order (an empty entry means the current directory) and the first
 * executable regular file wins. Throws LaunchError NOT_FOUND (exit 127) or NOT_EXECUTABLE (126,
 * when only non-executable candidates exist, as bash reports "Permission denied").
 */
export function resolveCommand(command: string, pathEnv: string | undefined = process.env.PATH): string {
  if (command === '') throw new LaunchError('NOT_FOUND', 'cannot execute an empty command name', 127);
  if (command.includes('/')) {
    const s = isExecutableFile(command);
    if (s === 'missing') throw new LaunchError('NOT_FOUND', `${command}: no such file`, 127);
    if (s === 'noexec') throw new LaunchError('NOT_EXECUTABLE', `${command}: not an executable file (permission denied or a directory)`, 126);
    return command;
  }
  let sawNonExec: string | undefined;
  for (const dir of (pathEnv ?? DEFAULT_PATH).split(delimiter)) {
    const p = dir === '' ? command : join(dir, command);
    const s = isExecutableFile(p);
    if (s === 'ok') return dir === '' ? `./${command}` : p;
    if (s === 'noexec' && sawNonExec === undefined && !isDirectory(p)) sawNonExec = p; // directories are skipped, as bash does
  }
  if (sawNonExec !== undefined) throw new LaunchError('NOT_EXECUTABLE', `${sawNonExec}: permission denied`, 126);
  throw new LaunchError('NOT_FOUND', `${command}: command not found`, 127);
}

/** What {@link prepareExec} computes: everything except the system calls. */
export interface PreparedExec {
  /** The resolved target path. */
  readonly target: string;
  /** The stub ELF image. */
  readonly stub: Uint8Array;
  /** The stub's argv: [stub name, target, argv0, args...]. */
  readonly argv: readonly string[];
  /** The environment as `NAME=value` strings. */
  readonly envp: readonly string[];
}

/** The pure part of {@link execSandboxed}: resolve the command, build the stub and its argv. */
export function prepareExec(program: Program, argv: readonly string[], opts: ExecOptions = {}): PreparedExec {
  if (argv.length === 0) throw new LaunchError('NOT_FOUND', 'no command to run', 127);
  const target = resolveCommand(argv[0], opts.path ?? process.env.PATH);
  const stub = buildLauncher(program, { otherExec: opts.otherExec });
  const envp = environStrings(opts.env ?? process.env, argv);
  return { target, stub, argv: ['seccomp-ts-launcher', target, opts.argv0 ?? argv[0], ...argv.slice(1)], envp };
}

/**
 * Replace this process with `argv` running under `program` (see the module comment). Resolves
 * the command first (LaunchError NOT_FOUND / NOT_EXECUTABLE), then never returns on success.
 * Before the execve it undoes what Node changed in inherited state: SIGPIPE and SIGXFSZ back to
 * SIG_DFL, an empty signal mask, fds 0-2 inheritable again and blocking. Other descriptors are
 * not passed on: Node marks every inherited descriptor close-on-exec at start-up, and which of
 * them were the caller's is not recorded. Linux x86_64 only.
 */
export async function execSandboxed(program: Program, argv: readonly string[], opts: ExecOptions = {}): Promise<never> {
  requireLinuxX64('the launcher');
  const prep = prepareExec(program, argv, opts);
  const libc = await loadLibc();
  // The stub into a sealed, close-on-exec memfd (MFD_EXEC where the kernel knows it).
  const fd = memfdWith(libc, 'seccomp-ts-launcher', prep.stub, true, 'the launcher');
  const errno = replaceProcess(libc, { fd }, prep.argv, prep.envp);
  throw new LaunchError('EXEC', `cannot execute the launcher (fexecve): errno ${errno}`, 126);
}
