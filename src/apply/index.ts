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
import { decode, encode, type Endian } from '../bpf/codec.js';
import { BpfError } from '../bpf/errors.js';
import type { Instruction, Program } from '../bpf/insn.js';
import { BPF_K, BPF_RET } from '../bpf/opcodes.js';
import { ACTIONS, decodeAction, type ActionName } from '../bpf/seccomp.js';
import { assertValid } from '../bpf/verifier.js';
import { ApplyError } from './errors.js';
import { describeArchEntry, denotesHost, hostAbi, type HostAbi } from './host.js';
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

const OPTION_KEYS = ['tsync', 'log', 'specAllow', 'noNewPrivs'] as const;

function checkOptions(opts: unknown): Required<ApplyOptions> {
  if (opts === undefined) opts = {};
  if (opts === null || typeof opts !== 'object') throw new ApplyError('BAD_OPTION', 'apply options must be an object');
  const o = opts as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ApplyError('BAD_OPTION', `unknown apply option "${key}" (known: ${OPTION_KEYS.join(', ')})`);
    }
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new ApplyError('BAD_OPTION', `apply option "${key}" must be true or false, not ${typeof o[key]}`);
    }
  }
  return {
    tsync: o.tsync !== false,
    log: o.log === true,
    specAllow: o.specAllow === true,
    noNewPrivs: o.noNewPrivs !== false,
  };
}

function isInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** Instructions given by hand: every field must already be in range (encode would silently wrap it). */
function checkInstructions(program: readonly unknown[]): Program {
  program.forEach((x, pc) => {
    const i = x as Partial<Instruction> | null;
    if (i === null || typeof i !== 'object' || !isInt(i.code, 0xffff) || !isInt(i.jt, 0xff) || !isInt(i.jf, 0xff) || !isInt(i.k, 0xffffffff)) {
      throw new ApplyError('INVALID_FILTER', `instruction ${pc} is not {code: 0..65535, jt: 0..255, jf: 0..255, k: 0..4294967295}`, { pc });
    }
  });
  return program as Program;
}

function decodeBytes(bytes: Uint8Array, endian: Endian): Program {
  try {
    return decode(bytes, endian);
  } catch (e) {
    if (e instanceof BpfError) throw new ApplyError('INVALID_FILTER', `not a filter: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The compiled filter's target list must include this machine, in this byte order. */
function checkTarget(f: CompiledFilterLike, host: HostAbi): void {
  if (f.endian !== undefined && f.endian !== host.endian) {
    throw new ApplyError('ARCH_MISMATCH', `the filter was compiled for ${f.endian}-endian machines; this one is ${host.endian}-endian (${host.name})`);
  }
  const list = f.arches !== undefined ? f.arches : f.arch !== undefined ? [f.arch] : undefined;
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new ApplyError('INVALID_FILTER', 'the filter\'s "arches" is not a list');
  if (!list.some((a) => denotesHost(a, host))) {
    const names = list.length ? list.map(describeArchEntry).join(', ') : 'no architecture';
    throw new ApplyError('ARCH_MISMATCH', `the filter was compiled for ${names}, not for this machine (${host.name}); installing it would treat every call of this process as foreign`);
  }
}

/** Normalise any accepted input to a verified program and its host-order bytes. */
function prepare(filter: unknown, host: HostAbi): { program: Program; bytes: Uint8Array } {
  let program: Program;
  let bytes: Uint8Array;
  if (Array.isArray(filter)) {
    program = checkInstructions(filter);
    bytes = encode(program, host.endian);
  } else if (filter instanceof Uint8Array) {
    bytes = Uint8Array.from(filter); // a private copy: the caller cannot change it between check and load
    program = decodeBytes(bytes, host.endian);
  } else if (filter !== null && typeof filter === 'object' && typeof (filter as CompiledFilterLike).toBuffer === 'function') {
    const f = filter as CompiledFilterLike;
    checkTarget(f, host);
    const out: unknown = f.toBuffer(host.endian);
    if (!(out instanceof Uint8Array)) throw new ApplyError('INVALID_FILTER', 'the filter\'s toBuffer() did not return bytes');
    bytes = Uint8Array.from(out);
    program = decodeBytes(bytes, host.endian);
  } else {
    throw new ApplyError('INVALID_FILTER', 'expected a program (array of instructions), sock_filter bytes, or a compiled filter with toBuffer()');
  }
  try {
    assertValid(program);
  } catch (e) {
    if (e instanceof BpfError) throw new ApplyError('INVALID_FILTER', `the kernel would reject this filter: ${e.message}`, { pc: e.pc, cause: e });
    throw e;
  }
  return { program, bytes };
}

/** Refuse a filter that can return an action this kernel lacks (it would treat it as another action). */
function checkActions(program: Program): void {
  let avail: ReadonlySet<ActionName> | undefined;
  program.forEach((insn, pc) => {
    if (insn.code !== (BPF_RET | BPF_K)) return;
    const a = decodeAction(insn.k);
    avail ??= actionsAvailable();
    if (!avail.has(a.name)) {
      throw new ApplyError('ACTION_UNAVAILABLE', `instruction ${pc} returns ${a.name} (0x${a.value.toString(16).padStart(8, '0')}), which this kernel does not implement (it offers: ${[...avail].join(' ') || 'none'})`, { pc });
    }
  });
}

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
  checkActions(program);
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
