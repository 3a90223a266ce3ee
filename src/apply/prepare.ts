/**
 * Everything apply() checks before its first system call: option types, the input's shape,
 * the kernel's load-time rules (through our verifier), target architecture and byte order,
 * and the actions the filter can return.
 */
import { decode, encode, type Endian } from '../bpf/codec.js';
import { BpfError } from '../bpf/errors.js';
import type { Instruction, Program } from '../bpf/insn.js';
import { BPF_K, BPF_RET } from '../bpf/opcodes.js';
import { decodeAction, type ActionName } from '../bpf/seccomp.js';
import { assertValid } from '../bpf/verifier.js';
import { ApplyError } from './errors.js';
import { describeArchEntry, denotesHost, type HostAbi } from './host.js';
import type { ApplyOptions, CompiledFilterLike } from './index.js';

const OPTION_KEYS = ['tsync', 'log', 'specAllow', 'noNewPrivs'] as const;

/** ApplyOptions with defaults filled in; ApplyError('BAD_OPTION') for unknown keys or non-booleans. */
export function checkOptions(opts: unknown): Required<ApplyOptions> {
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

/** Normalise any accepted input to a verified program and its host-order bytes, or throw ApplyError. */
export function prepare(filter: unknown, host: HostAbi): { program: Program; bytes: Uint8Array } {
  let program: Program;
  let bytes: Uint8Array;
  if (Array.isArray(filter)) {
    bytes = encode(checkInstructions(filter), host.endian);
    program = decodeBytes(bytes, host.endian); // judge exactly what will be loaded
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

/**
 * Refuse a filter with a `ret #k` whose action `avail` (the kernel's set) lacks: the kernel would
 * treat it as another action. A value that is no action at all counts as kill_process, as in
 * the kernel. (`ret a` is not checked: its value is known only when it runs.)
 */
export function checkActions(program: Program, avail: () => ReadonlySet<ActionName>): void {
  let set: ReadonlySet<ActionName> | undefined;
  program.forEach((insn, pc) => {
    if (insn.code !== (BPF_RET | BPF_K)) return;
    const a = decodeAction(insn.k);
    set ??= avail();
    if (!set.has(a.name)) {
      throw new ApplyError('ACTION_UNAVAILABLE', `instruction ${pc} returns ${a.name} (0x${a.value.toString(16).padStart(8, '0')}), which this kernel does not implement (it offers: ${[...set].join(' ') || 'none'})`, { pc });
    }
  });
}

