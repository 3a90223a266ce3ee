/**
 * The seccomp ABI as the filter sees it: struct seccomp_data offsets and SECCOMP_RET_* values
 * (include/uapi/linux/seccomp.h).
 */

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;
/** The kernel clamps ERRNO data above this to it. */
export const MAX_ERRNO = 4095;

/** Offsets inside struct seccomp_data. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_IP = 8;
export const SECCOMP_DATA_ARGS = 16;

export type ActionName = 'kill_process' | 'kill_thread' | 'trap' | 'errno' | 'user_notif' | 'trace' | 'log' | 'allow';

/** Every action with its SECCOMP_RET_* value, most restrictive first (the kernel's precedence). */
export const ACTIONS: readonly { readonly name: ActionName; readonly value: number; readonly hasData: boolean }[] = Object.freeze([
  { name: 'kill_process', value: SECCOMP_RET_KILL_PROCESS, hasData: false },
  { name: 'kill_thread', value: SECCOMP_RET_KILL_THREAD, hasData: false },
  { name: 'trap', value: SECCOMP_RET_TRAP, hasData: true },
  { name: 'errno', value: SECCOMP_RET_ERRNO, hasData: true },
  { name: 'user_notif', value: SECCOMP_RET_USER_NOTIF, hasData: false },
  { name: 'trace', value: SECCOMP_RET_TRACE, hasData: true },
  { name: 'log', value: SECCOMP_RET_LOG, hasData: false },
  { name: 'allow', value: SECCOMP_RET_ALLOW, hasData: false },
] as const);

/** A decoded filter result. */
export interface Action {
  readonly name: ActionName;
  /** The low 16 bits (errno number, trap/trace data). */
  readonly data: number;
  /** The raw 32-bit return value. */
  readonly value: number;
}

/**
 * Decode a filter's 32-bit return value as the kernel does (kernel/seccomp.c __seccomp_filter):
 * an unknown action value is treated as kill_process.
 */
export function decodeAction(value: number): Action {
  const v = value >>> 0;
  const full = (v & SECCOMP_RET_ACTION_FULL) >>> 0;
  const a = ACTIONS.find((x) => x.value === full);
  return Object.freeze({ name: a ? a.name : 'kill_process', data: v & SECCOMP_RET_DATA, value: v });
}

/** The 32-bit return value for an action with optional 16-bit data. */
export function encodeAction(name: ActionName, data = 0): number {
  const a = ACTIONS.find((x) => x.name === name);
  if (!a) throw new RangeError(`unknown action ${String(name)}`);
  return (a.value | (data & SECCOMP_RET_DATA)) >>> 0;
}

/**
 * Precedence rank of a return value when several filters (or rules) disagree: lower is more
 * restrictive. The kernel compares the action part as a signed 32-bit number.
 */
export function actionRank(value: number): number {
  return (value & SECCOMP_RET_ACTION_FULL) | 0;
}

/** The structure a seccomp filter inspects, with 64-bit values as BigInt. */
export interface SeccompData {
  readonly nr: number;
  /** AUDIT_ARCH_* value. */
  readonly arch: number;
  readonly instructionPointer: bigint;
  /** Six syscall arguments, each an unsigned 64-bit value. Missing ones are 0. */
  readonly args: readonly bigint[];
}
