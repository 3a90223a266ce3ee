/**
 * The few libc calls apply() makes, through ffi-rs. Loaded lazily (only when a filter is
 * installed), so importing seccomp-ts works where ffi-rs has no binary (other OSes, other CPUs).
 *
 * Every call reports errno as ffi-rs captured it right after the C function returned; it is
 * read only when the call signalled failure (-1), since libc leaves errno alone on success.
 */
import { createRequire } from 'node:module';
import { ApplyError } from './errors.js';
import type { HostAbi } from './host.js';

/** A C call's result: its return value and, when it is -1, errno. */
export interface CResult {
  readonly value: number;
  readonly errno: number;
}

/** The libc entry points apply() uses. Pointers to filter memory are passed as Buffers. */
export interface Libc {
  /** prctl(option, a2, a3, a4, a5) */
  prctl(option: number, a2: number, a3?: number, a4?: number, a5?: number): CResult;
  /** syscall(SYS_seccomp, op, flags, arg) with arg a pointer to `mem` (or NULL). */
  seccomp(op: number, flags: number, mem: Uint8Array | null): CResult;
  /**
   * syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog): copies `filter` (host-order
   * sock_filter bytes) into C memory, builds the struct sock_fprog that points at it, calls,
   * and frees the copy (the kernel keeps its own).
   */
  setModeFilter(flags: number, filter: Uint8Array): CResult;
}

// ffi-rs's typings describe a CommonJS module; only the parts used here are spelled out.
interface FfiRs {
  open(p: { library: string; path: string }): void;
  load(p: { library: string; funcName: string; retType: unknown; paramsType: unknown[]; paramsValue: unknown[]; errno?: boolean }): unknown;
  DataType: { I32: unknown; I64: unknown; BigInt: unknown; U8Array: unknown; Void: unknown };
}

/** ffi-rs's key for the handle dlopen(NULL) gives: the process itself, whose symbols include libc's. */
const LIB = 'seccomp-ts:libc';

let cached: Libc | undefined;

function requireFfi(): FfiRs {
  // Resolve from this file: import.meta.url in ESM, __filename in the CommonJS build (where
  // import.meta is empty). Not `require` itself: bundlers replace it with a stub in ESM output.
  const url: unknown = import.meta.url;
  const here = typeof url === 'string' && url !== '' ? url : __filename;
  return createRequire(here)('ffi-rs') as FfiRs;
}

/** Bind libc for `host` (once per process). Throws ApplyError('UNSUPPORTED') when ffi-rs cannot load. */
export function libc(host: HostAbi): Libc {
  if (cached) return cached;
  let ffi: FfiRs;
  try {
    ffi = requireFfi();
    ffi.open({ library: LIB, path: '' });
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ApplyError('UNSUPPORTED', `cannot install seccomp filters: the ffi-rs module (used to call libc) failed to load on ${process.platform}/${process.arch}: ${why}`, { cause: e });
  }
  const T = ffi.DataType;
  const call = (funcName: string, retType: unknown, paramsType: unknown[], paramsValue: unknown[]): CResult => {
    const r = ffi.load({ library: LIB, funcName, retType, paramsType, paramsValue, errno: true }) as { value: number | bigint; errnoCode: number };
    const value = Number(r.value);
    return { value, errno: value === -1 ? r.errnoCode : 0 };
  };
  const plain = (funcName: string, retType: unknown, paramsType: unknown[], paramsValue: unknown[]): unknown =>
    ffi.load({ library: LIB, funcName, retType, paramsType, paramsValue });
  const seccompNr = host.seccompNr;

  cached = {
    prctl: (option, a2, a3 = 0, a4 = 0, a5 = 0) =>
      call('prctl', T.I32, [T.I32, T.I64, T.I64, T.I64, T.I64], [option, a2, a3, a4, a5]),
    seccomp: (op, flags, mem) =>
      mem === null
        ? call('syscall', T.I64, [T.I64, T.I64, T.I64, T.I64], [seccompNr, op, flags, 0])
        : call('syscall', T.I64, [T.I64, T.I64, T.I64, T.U8Array], [seccompNr, op, flags, Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength)]),
    setModeFilter: (flags, filter) => {
      const len = filter.byteLength / 8;
      // The pointer inside sock_fprog must stay valid during the call, so the instructions go
      // to malloc'd memory with a known address rather than a Buffer ffi-rs may copy.
      const addr = plain('malloc', T.BigInt, [T.I64], [Math.max(filter.byteLength, 8)]) as bigint;
      if (!addr) return { value: -1, errno: 12 /* ENOMEM */ };
      try {
        plain('memcpy', T.BigInt, [T.BigInt, T.U8Array, T.I64], [addr, Buffer.from(filter.buffer, filter.byteOffset, filter.byteLength), filter.byteLength]);
        const fprog = Buffer.alloc(host.pointerBytes * 2);
        const le = host.endian === 'little';
        if (le) fprog.writeUInt16LE(len, 0);
        else fprog.writeUInt16BE(len, 0);
        const at = host.pointerBytes; // the pointer is naturally aligned after the u16 and padding
        if (host.pointerBytes === 8) {
          if (le) fprog.writeBigUInt64LE(addr, at);
          else fprog.writeBigUInt64BE(addr, at);
        } else if (le) fprog.writeUInt32LE(Number(addr), at);
        else fprog.writeUInt32BE(Number(addr), at);
        return call('syscall', T.I64, [T.I64, T.I64, T.I64, T.U8Array], [seccompNr, 1 /* SECCOMP_SET_MODE_FILTER */, flags, fprog]);
      } finally {
        plain('free', T.Void, [T.BigInt], [addr]);
      }
    },
  };
  return cached;
}
