/**
 * Installing seccomp filters into the running Node process, through libc's prctl() and
 * syscall(SYS_seccomp) called via ffi-rs: no libseccomp, no native code of our own.
 *
 * apply() checks everything it can before the first system call (input shape, the kernel's
 * load-time rules via our verifier, target architecture and byte order, actions the kernel
 * implements), so that a refused filter leaves the process untouched; then sets no_new_privs
 * and installs the filter on every thread at once (TSYNC). Either the filter is installed on
 * all threads or an ApplyError says why nothing was.
 */
import { readFileSync } from 'node:fs';
import type { Endian } from '../bpf/codec.js';
import type { Program } from '../bpf/insn.js';
import { ACTIONS, type ActionName } from '../bpf/seccomp.js';
import { ApplyError } from './errors.js';
import { hostAbi } from './host.js';
import {
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_TSYNC,
  installBytes,
  kernelHasAction,
  requireHost,
  setNoNewPrivs,
  statusField,
} from './kernel.js';
import { checkActions, checkOptions, prepare } from './prepare.js';

export { ApplyError, type ApplyErrorCode } from './errors.js';

/** Options of {@link apply}. */
export interface ApplyOptions {
  /** Install on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). Default true: Node always runs several threads. */
  readonly tsync?: boolean;
  /** Log every action except allow to the audit log (SECCOMP_FILTER_FLAG_LOG). Default false. */
  readonly log?: boolean;
  /** Leave speculative-store-bypass mitigation off (SECCOMP_FILTER_FLAG_SPEC_ALLOW). Default false. */
  readonly specAllow?: boolean;
  /** Set PR_SET_NO_NEW_PRIVS first. Default true; without it the kernel requires CAP_SYS_ADMIN. */
  readonly noNewPrivs?: boolean;
}

/**
 * A compiled filter as the policy layer produces it: its bytes in a requested byte order, and
 * the architectures (names such as `x86_64`, or AUDIT_ARCH numbers) and byte order it targets.
 */
export interface CompiledFilterLike {
  toBuffer(endian?: Endian): Uint8Array;
  readonly arches?: readonly unknown[];
  readonly arch?: unknown;
  readonly endian?: Endian;
}

/**
 * What {@link apply} accepts: instructions, raw sock_filter bytes in host byte order, or a
 * compiled filter. Plain instructions and bytes are trusted to be for this machine.
 */
export type Installable = Program | Uint8Array | CompiledFilterLike;

/**
 * Install `filter` as a seccomp filter of this process, on every thread unless `tsync: false`.
 * Checks happen first (ApplyError INVALID_FILTER, ARCH_MISMATCH, ACTION_UNAVAILABLE,
 * BAD_OPTION, UNSUPPORTED) without touching the kernel; kernel refusals become ApplyError with
 * the errno's name (EINVAL, EACCES, ENOMEM, ...) or TSYNC naming the thread. A filter, once
 * installed, can never be removed; later filters can only add restrictions.
 */
export function apply(filter: Installable, opts?: ApplyOptions): void {
  const host = requireHost();
  const o = checkOptions(opts);
  const { program, bytes } = prepare(filter, host);
  checkActions(program, actionsAvailable);
  const flags = (o.tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0) | (o.log ? SECCOMP_FILTER_FLAG_LOG : 0) | (o.specAllow ? SECCOMP_FILTER_FLAG_SPEC_ALLOW : 0);
  installBytes(host, bytes, flags, o.noNewPrivs);
}

let availCache: ReadonlySet<ActionName> | undefined;

/**
 * The set of seccomp actions this kernel implements: from /proc/sys/kernel/seccomp/actions_avail,
 * else by asking seccomp(SECCOMP_GET_ACTION_AVAIL) for each. Empty when not on Linux.
 */
export function actionsAvailable(): ReadonlySet<ActionName> {
  if (availCache) return availCache;
  if (process.platform !== 'linux') return new Set();
  const known = new Set<string>(ACTIONS.map((a) => a.name));
  let names: ActionName[] | undefined;
  try {
    const words = readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'utf8').trim().split(/\s+/);
    names = words.filter((w): w is ActionName => known.has(w));
  } catch {
    const host = requireHost();
    names = ACTIONS.filter((a) => kernelHasAction(host, a.value)).map((a) => a.name);
  }
  availCache = Object.freeze(new Set(names)) as ReadonlySet<ActionName>;
  return availCache;
}

/**
 * This process's seccomp mode from /proc/self/status: 0 none, 1 strict, 2 filter. On Linux
 * without CONFIG_SECCOMP the line is missing and the mode is 0. Off Linux: ApplyError('UNSUPPORTED').
 */
export function getSeccompMode(): number {
  if (process.platform !== 'linux') throw new ApplyError('UNSUPPORTED', `seccomp exists only on Linux; this is ${process.platform}`);
  return statusField('Seccomp') ?? 0;
}

/**
 * Set PR_SET_NO_NEW_PRIVS on the calling (JavaScript) thread: from now on execve() cannot grant
 * privileges (setuid bits, file capabilities), which lets an unprivileged process install
 * filters. It cannot be undone. apply() does this itself unless `noNewPrivs: false`, and its
 * TSYNC copies the flag to every thread along with the filter.
 */
export function noNewPrivs(): void {
  setNoNewPrivs(requireHost());
}

/** Whether this machine is one apply() can install filters on (Linux on a known CPU architecture). */
export function applySupported(): boolean {
  return hostAbi() !== undefined;
}
