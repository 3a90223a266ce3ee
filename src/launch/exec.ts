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
import { buildLauncher } from './stub.js';
import type { OtherExec } from './wrap.js';

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
  const env = opts.env ?? process.env;
  const envp = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
  for (const s of [...argv, ...envp]) {
    if (s.includes('\0')) throw new LaunchError('EXEC', 'an argument or environment string contains a NUL byte');
  }
  return { target, stub, argv: ['seccomp-ts-launcher', target, opts.argv0 ?? argv[0], ...argv.slice(1)], envp };
}

/**
 * Lay out a NULL-terminated `char *[]` and its strings in one block that will live at `base`.
 * Returns the bytes and the address of the array.
 */
export function layoutStringArray(strings: readonly string[], base: bigint): Uint8Array {
  const enc = new TextEncoder();
  const encoded = strings.map((s) => enc.encode(s));
  const table = 8 * (strings.length + 1);
  const total = table + encoded.reduce((n, b) => n + b.length + 1, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  let off = table;
  encoded.forEach((b, i) => {
    v.setBigUint64(8 * i, base + BigInt(off), true);
    out.set(b, off);
    off += b.length + 1; // the NUL is already 0
  });
  v.setBigUint64(8 * strings.length, 0n, true);
  return out;
}

// Linux x86_64 / generic constants (include/uapi/linux/memfd.h, fcntl.h, asm-generic/signal.h).
const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_EXEC = 0x10;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const F_ADD_SEALS = 1033;
const F_SEAL_ALL = 0x1 | 0x2 | 0x4 | 0x8; // SEAL, SHRINK, GROW, WRITE
const SIGPIPE = 13;
const SIGXFSZ = 25;
const SIG_SETMASK = 2;
const EINVAL = 22;

/**
 * Replace this process with `argv` running under `program` (see the module comment). Resolves
 * the command first (LaunchError NOT_FOUND / NOT_EXECUTABLE), then never returns on success.
 * Before the execve it undoes what Node changed in inherited state: SIGPIPE and SIGXFSZ back to
 * SIG_DFL, an empty signal mask, fds 0-2 inheritable again and blocking. Other descriptors are
 * not passed on: Node marks every inherited descriptor close-on-exec at start-up, and which of
 * them were the caller's is not recorded. Linux x86_64 only.
 */
export async function execSandboxed(program: Program, argv: readonly string[], opts: ExecOptions = {}): Promise<never> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new LaunchError('UNSUPPORTED', `the launcher runs on Linux x86_64 only (this is ${process.platform} ${process.arch})`);
  }
  const prep = prepareExec(program, argv, opts);
  let ffi: typeof import('ffi-rs');
  try {
    ffi = await import('ffi-rs');
  } catch (e) {
    throw new LaunchError('UNSUPPORTED', `cannot load ffi-rs to call execve: ${(e as Error).message}`);
  }
  const { DataType, load, open } = ffi;
  const LIB = 'seccomp-ts-libc';
  open({ library: LIB, path: 'libc.so.6' });
  type Ret = { value: number | bigint; errnoCode: number };
  const call = (funcName: string, retType: number, paramsType: number[], paramsValue: unknown[]): Ret =>
    load({ library: LIB, funcName, retType, paramsType, paramsValue, errno: true } as never) as unknown as Ret;
  const I32 = DataType.I32;
  const I64 = DataType.I64;
  const BIG = DataType.BigInt;
  const U8A = DataType.U8Array; // takes a Buffer

  // The stub into a sealed, close-on-exec memfd (MFD_EXEC where the kernel knows it).
  let r = call('memfd_create', I32, [DataType.String, I32], ['seccomp-ts-launcher', MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC]);
  if (r.value === -1 && r.errnoCode === EINVAL) r = call('memfd_create', I32, [DataType.String, I32], ['seccomp-ts-launcher', MFD_CLOEXEC | MFD_ALLOW_SEALING]);
  if (Number(r.value) < 0) throw new LaunchError('EXEC', `memfd_create failed: errno ${r.errnoCode}`);
  const fd = Number(r.value);
  for (let off = 0; off < prep.stub.length;) {
    const chunk = Buffer.from(prep.stub.subarray(off));
    const w = call('write', I64, [I32, U8A, I64], [fd, chunk, chunk.length]);
    if (Number(w.value) <= 0) throw new LaunchError('EXEC', `writing the launcher to its memfd failed: errno ${w.errnoCode}`);
    off += Number(w.value);
  }
  call('fcntl', I32, [I32, I32, I32], [fd, F_ADD_SEALS, F_SEAL_ALL]); // best effort: the fd is private anyway

  // argv and envp as NULL-terminated arrays in C memory (never freed: execve replaces the process).
  const block = (strings: readonly string[]): bigint => {
    const size = layoutStringArray(strings, 0n).length;
    const m = call('malloc', BIG, [I64], [size]);
    const base = BigInt(m.value as bigint);
    if (base === 0n) throw new LaunchError('EXEC', 'malloc failed');
    const bytes = layoutStringArray(strings, base);
    call('memcpy', BIG, [BIG, U8A, I64], [base, Buffer.from(bytes), bytes.length]);
    return base;
  };
  const argvPtr = block(prep.argv);
  const envPtr = block(prep.envp);

  // Undo Node's process-wide changes the target would otherwise inherit.
  call('signal', BIG, [I32, BIG], [SIGPIPE, 0n]);
  call('signal', BIG, [I32, BIG], [SIGXFSZ, 0n]);
  call('sigprocmask', I32, [I32, U8A, BIG], [SIG_SETMASK, Buffer.alloc(128), 0n]);
  for (const f of [0, 1, 2]) {
    // Node marks the descriptors it inherits close-on-exec at start-up; the target gets 0-2 back.
    const cur = call('fcntl', I32, [I32, I32, I32], [f, F_GETFD, 0]);
    if (Number(cur.value) < 0) continue; // not open
    if (Number(cur.value) & FD_CLOEXEC) call('fcntl', I32, [I32, I32, I32], [f, F_SETFD, Number(cur.value) & ~FD_CLOEXEC]);
    const fl = call('fcntl', I32, [I32, I32, I32], [f, F_GETFL, 0]);
    const flags = Number(fl.value);
    if (flags >= 0 && flags & O_NONBLOCK) call('fcntl', I32, [I32, I32, I32], [f, F_SETFL, flags & ~O_NONBLOCK]);
  }
  const e = call('fexecve', I32, [I32, BIG, BIG], [fd, argvPtr, envPtr]);
  throw new LaunchError('EXEC', `cannot execute the launcher (fexecve): errno ${e.errnoCode}`, 126);
}
