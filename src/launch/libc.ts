/**
 * The libc side of replacing the Node process with another program, through ffi-rs: shared by
 * the launcher (exec.ts, which fexecve's a generated stub) and the preload launch
 * (exec-preload.ts, which execve's the target with the preload object in a memfd).
 *
 * Nothing here confines anything; it only moves bytes into memfds, lays out argv/envp in C
 * memory, undoes what Node changed in inherited state, and makes the final exec call.
 * Linux x86_64 only.
 */
import { LaunchError } from './errors.js';

/** The C types this module passes through ffi-rs. */
export type CType = 'i32' | 'i64' | 'ptr' | 'bytes' | 'string';

/** What a libc call returned: the value and errno (meaningful only when the call failed). */
export interface CallResult {
  readonly value: number | bigint;
  readonly errnoCode: number;
}

/** libc loaded through ffi-rs: {@link loadLibc}. */
export interface Libc {
  /** Call `funcName` with errno capture; `ptr` values are bigints, `bytes` values Buffers. */
  call(funcName: string, ret: CType, params: readonly CType[], values: readonly unknown[]): CallResult;
}

/** Throw LaunchError UNSUPPORTED unless this is Linux x86_64 (`what` names the feature). */
export function requireLinuxX64(what: string): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new LaunchError('UNSUPPORTED', `${what} runs on Linux x86_64 only (this is ${process.platform} ${process.arch})`);
  }
}

/** Load libc through ffi-rs; LaunchError UNSUPPORTED when ffi-rs cannot be loaded. */
export async function loadLibc(): Promise<Libc> {
  let ffi: typeof import('ffi-rs');
  try {
    ffi = await import('ffi-rs');
  } catch (e) {
    throw new LaunchError('UNSUPPORTED', `cannot load ffi-rs to call execve: ${(e as Error).message}`);
  }
  const { DataType, load, open } = ffi;
  const LIB = 'seccomp-ts-libc';
  open({ library: LIB, path: 'libc.so.6' });
  const types: Record<CType, number> = { i32: DataType.I32, i64: DataType.I64, ptr: DataType.BigInt, bytes: DataType.U8Array, string: DataType.String };
  return {
    call: (funcName, ret, params, values) =>
      load({ library: LIB, funcName, retType: types[ret], paramsType: params.map((t) => types[t]), paramsValue: [...values], errno: true } as never) as unknown as CallResult,
  };
}

// Linux x86_64 / generic constants (include/uapi/linux/memfd.h, fcntl.h, asm-generic/signal.h, errno.h).
const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_NOEXEC_SEAL = 0x8;
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
 * `bytes` in a new sealed, close-on-exec memfd; returns its descriptor. `executable` asks for
 * MFD_EXEC (a program to fexecve), otherwise MFD_NOEXEC_SEAL (data, even a shared object: mapping
 * it executable does not need the execute bit); both are dropped on kernels that predate them.
 * `what` names the contents in error messages.
 */
export function memfdWith(libc: Libc, name: string, bytes: Uint8Array, executable: boolean, what: string): number {
  const base = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  let r = libc.call('memfd_create', 'i32', ['string', 'i32'], [name, base | (executable ? MFD_EXEC : MFD_NOEXEC_SEAL)]);
  if (r.value === -1 && r.errnoCode === EINVAL) r = libc.call('memfd_create', 'i32', ['string', 'i32'], [name, base]);
  if (Number(r.value) < 0) throw new LaunchError('EXEC', `memfd_create failed: errno ${r.errnoCode}`);
  const fd = Number(r.value);
  for (let off = 0; off < bytes.length;) {
    const chunk = Buffer.from(bytes.subarray(off));
    const w = libc.call('write', 'i64', ['i32', 'bytes', 'i64'], [fd, chunk, chunk.length]);
    if (Number(w.value) <= 0) {
      libc.call('close', 'i32', ['i32'], [fd]);
      throw new LaunchError('EXEC', `writing ${what} to its memfd failed: errno ${w.errnoCode}`);
    }
    off += Number(w.value);
  }
  libc.call('fcntl', 'i32', ['i32', 'i32', 'i32'], [fd, F_ADD_SEALS, F_SEAL_ALL]); // best effort: nobody else writes to it
  return fd;
}

/** Clear or set FD_CLOEXEC on `fd`; false when the descriptor is not open. */
export function setCloseOnExec(libc: Libc, fd: number, on: boolean): boolean {
  const cur = libc.call('fcntl', 'i32', ['i32', 'i32', 'i32'], [fd, F_GETFD, 0]);
  if (Number(cur.value) < 0) return false;
  const want = on ? Number(cur.value) | FD_CLOEXEC : Number(cur.value) & ~FD_CLOEXEC;
  if (want !== Number(cur.value)) return Number(libc.call('fcntl', 'i32', ['i32', 'i32', 'i32'], [fd, F_SETFD, want]).value) === 0;
  return true;
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

/** `NAME=value` strings of an environment; LaunchError EXEC when any of `argv` or them holds a NUL. */
export function environStrings(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): string[] {
  const envp = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
  for (const s of [...argv, ...envp]) {
    if (s.includes('\0')) throw new LaunchError('EXEC', 'an argument or environment string contains a NUL byte');
  }
  return envp;
}

/** argv and envp as NULL-terminated arrays in C memory (never freed: the exec replaces the process). */
function cStringArray(libc: Libc, strings: readonly string[]): bigint {
  const size = layoutStringArray(strings, 0n).length;
  const base = BigInt(libc.call('malloc', 'ptr', ['i64'], [size]).value);
  if (base === 0n) throw new LaunchError('EXEC', 'malloc failed');
  const bytes = layoutStringArray(strings, base);
  libc.call('memcpy', 'ptr', ['ptr', 'bytes', 'i64'], [base, Buffer.from(bytes), bytes.length]);
  return base;
}

/**
 * Undo Node's process-wide changes the next program would otherwise inherit: SIGPIPE and SIGXFSZ
 * back to SIG_DFL, an empty signal mask, fds 0-2 inheritable again and blocking. Other
 * descriptors are not passed on: Node marks every inherited descriptor close-on-exec at
 * start-up, and which of them were the caller's is not recorded.
 */
function restoreInheritedState(libc: Libc): void {
  libc.call('signal', 'ptr', ['i32', 'ptr'], [SIGPIPE, 0n]);
  libc.call('signal', 'ptr', ['i32', 'ptr'], [SIGXFSZ, 0n]);
  libc.call('sigprocmask', 'i32', ['i32', 'bytes', 'ptr'], [SIG_SETMASK, Buffer.alloc(128), 0n]);
  for (const f of [0, 1, 2]) {
    if (!setCloseOnExec(libc, f, false)) continue; // not open
    const flags = Number(libc.call('fcntl', 'i32', ['i32', 'i32', 'i32'], [f, F_GETFL, 0]).value);
    if (flags >= 0 && flags & O_NONBLOCK) libc.call('fcntl', 'i32', ['i32', 'i32', 'i32'], [f, F_SETFL, flags & ~O_NONBLOCK]);
  }
}

/** Which program {@link replaceProcess} executes: an open descriptor (fexecve) or a path (execve). */
export type ExecTarget = { readonly fd: number } | { readonly path: string };

/**
 * Replace this process: restore the inherited state (see restoreInheritedState), then fexecve or
 * execve with `argv` and `envp`. Returns only when the exec failed, with its errno; the process
 * state is then already changed, so callers should report and exit.
 */
export function replaceProcess(libc: Libc, target: ExecTarget, argv: readonly string[], envp: readonly string[]): number {
  const argvPtr = cStringArray(libc, argv);
  const envPtr = cStringArray(libc, envp);
  restoreInheritedState(libc);
  const r = 'fd' in target
    ? libc.call('fexecve', 'i32', ['i32', 'ptr', 'ptr'], [target.fd, argvPtr, envPtr])
    : libc.call('execve', 'i32', ['string', 'ptr', 'ptr'], [target.path, argvPtr, envPtr]);
  return r.errnoCode;
}
