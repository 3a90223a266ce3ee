/**
 * Semantic difference of two seccomp filters: for which calls do they decide differently?
 *
 * Both sides are programs (a policy is compiled first), run in the emulator. The calls tried:
 * every syscall number of every ABI either side serves (all ABIs sharing an AUDIT_ARCH value,
 * so x32 numbers are tried under x86_64), numbers either filter compares seccomp_data.nr with
 * (and their neighbours), an architecture neither serves, and for each syscall whose decision
 * reads arguments, argument values built from the constants the filters compare those
 * arguments with: each K of a JEQ/JGT/JGE/JSET after an argument word is loaded, with k-1 and
 * k+1, combined as high and low words into 64-bit values, plus 0, 2^32-1 and 2^64-1. Where a
 * word is bit-tested (JSET M, or A &= M before a comparison), each of its values is also tried
 * with the bits inside and outside M set and cleared. On 32-bit ABIs only low words are tried.
 *
 * Decisions of filters built from constant comparisons only change at those constants, so the
 * probe set finds a difference wherever one exists for conditions on up to two arguments (all
 * combinations are tried when there are few; else each argument alone and every pair).
 */
import { ARCHES, archByAudit, syscallName, syscallTable, type Arch } from '../arch/index.js';
import type { Endian } from '../bpf/codec.js';
import { emulate } from '../bpf/emulator.js';
import type { Instruction } from '../bpf/insn.js';
import { opInfo } from '../bpf/opcodes.js';
import { SECCOMP_DATA_ARGS, SECCOMP_DATA_NR } from '../bpf/seccomp.js';
import { checkedArches } from '../bpf/text.js';
import { formatAction } from './actions.js';
import { PolicyError } from './errors.js';
import type { ActionValue } from './types.js';

/** One side of a diff: a program and the byte order and ABIs it is meant for. */
export interface DiffSide {
  /** Shown in reports, e.g. the file name. */
  readonly label: string;
  readonly program: readonly Instruction[];
  readonly endian: Endian;
  /** AUDIT_ARCH values the side serves (a policy's ABIs, or the arches a blob checks). */
  readonly audits: readonly number[];
}

/** One call on which the two sides disagree. */
export interface Difference {
  /** The ABI of the call (x32 for an x32 number under AUDIT_ARCH_X86_64), or undefined for an unknown AUDIT_ARCH. */
  readonly arch?: string;
  readonly audit: number;
  readonly nr: number;
  /** Syscall name on that ABI, when it has one. */
  readonly syscall?: string;
  readonly args: readonly bigint[];
  readonly a: ActionValue;
  readonly b: ActionValue;
}

/** Options of {@link diffFilters}. */
export interface DiffOptions {
  /** Compare only calls of these ABIs (default: every ABI of either side). */
  readonly arches?: readonly Arch[];
  /** Differences reported per (ABI, syscall number); default 1. */
  readonly witnesses?: number;
  /** Combinations of argument values tried in full below this many; default 4096. */
  readonly fullProductLimit?: number;
}

/** What {@link diffFilters} found. */
export interface DiffResult {
  readonly equivalent: boolean;
  readonly differences: readonly Difference[];
  /** Calls emulated on each side. */
  readonly probes: number;
}

const U32 = 0xffffffff;
const U64 = (1n << 64n) - 1n;

/** The ABIs a program serves, from the AUDIT_ARCH values it compares with (or undefined when it checks none). */
export function blobAudits(program: readonly Instruction[]): number[] {
  return checkedArches(program).filter((a) => ARCHES.some((x) => x.auditArch === a));
}

/** What A holds at an instruction, for collecting constants: an argument word, nr, or something else. */
type AWord = { kind: 'arg'; index: number; high: boolean; mask?: number } | { kind: 'nr' } | { kind: 'other' };

/**
 * Constants compared with argument words and with nr in the part of the program reachable
 * from `start`, by a forward pass over the (forward-only) jumps. `endian` decides which word of
 * an argument is the high one.
 */
function constantsFrom(program: readonly Instruction[], start: number, endian: Endian): { args: Map<number, WordConstants>; nrs: Set<number> } {
  const n = program.length;
  const state: (AWord | undefined)[] = new Array(n).fill(undefined);
  const reach = new Array<boolean>(n).fill(false);
  reach[start] = true;
  state[start] = { kind: 'other' };
  const args = new Map<number, WordConstants>();
  const nrs = new Set<number>();
  const same = (x: AWord, y: AWord) => JSON.stringify(x) === JSON.stringify(y);
  const flowTo = (t: number, s: AWord) => {
    if (t >= n) return;
    const p = state[t];
    state[t] = !reach[t] || !p ? s : same(p, s) ? p : { kind: 'other' };
    reach[t] = true;
  };
  for (let pc = start; pc < n; pc++) {
    if (!reach[pc]) continue;
    const insn = program[pc]!;
    const info = opInfo(insn.code);
    const st = state[pc] ?? { kind: 'other' };
    if (!info) continue;
    const e = info.effect;
    let out: AWord = st;
    if (e.kind === 'load' && e.dst === 'A') {
      if (e.mode === 'abs' && e.size === 4) {
        const k = insn.k;
        if (k === SECCOMP_DATA_NR) out = { kind: 'nr' };
        else if (k >= SECCOMP_DATA_ARGS && k < SECCOMP_DATA_ARGS + 48) {
          const index = (k - SECCOMP_DATA_ARGS) >> 3;
          const first = (k - SECCOMP_DATA_ARGS) % 8 === 0;
          out = { kind: 'arg', index, high: first === (endian === 'big') };
        } else out = { kind: 'other' };
      } else out = { kind: 'other' };
    } else if (e.kind === 'alu' && e.op === 'and' && e.src === 'K' && st.kind === 'arg') {
      // `A &= M` before a comparison: the comparison's constant is a bit pattern within M.
      out = { ...st, mask: ((st.mask ?? U32) & insn.k) >>> 0 };
    } else if (e.kind === 'alu' || (e.kind === 'misc' && e.op === 'txa')) {
      out = { kind: 'other' };
    }
    if (e.kind === 'jmp') {
      if (e.op !== 'ja' && e.src === 'K') {
        if (st.kind === 'arg') {
          let c = args.get(st.index);
          if (!c) args.set(st.index, (c = { lo: new Set(), hi: new Set(), loMasks: new Set(), hiMasks: new Set() }));
          const words = st.high ? c.hi : c.lo;
          const masks = st.high ? c.hiMasks : c.loMasks;
          words.add(insn.k >>> 0);
          // Bit tests: remember the bits, so every other constant is also tried with them set and clear.
          if (e.op === 'jset') masks.add(insn.k >>> 0);
          if (st.mask !== undefined) masks.add(st.mask);
        } else if (st.kind === 'nr') nrs.add(insn.k >>> 0);
      }
      if (!info.conditional) flowTo(pc + 1 + insn.k, st);
      else {
        flowTo(pc + 1 + insn.jt, st);
        flowTo(pc + 1 + insn.jf, st);
      }
    } else if (e.kind !== 'ret') flowTo(pc + 1, out);
  }
  return { args, nrs };
}

/** Constants compared with one argument: per 32-bit word, the values and the bit masks tested. */
interface WordConstants {
  readonly lo: Set<number>;
  readonly hi: Set<number>;
  readonly loMasks: Set<number>;
  readonly hiMasks: Set<number>;
}

/**
 * 32-bit words near each constant: k-1, k, k+1, plus 0 and 2^32-1; then each of those with the
 * bits inside, or outside, every tested mask cleared and set (where a range check and a bit test
 * on one word meet).
 */
function nearWords(ks: Iterable<number>, masks: Iterable<number>): number[] {
  const out = new Set<number>([0, U32]);
  for (const k of ks) for (const v of [k - 1, k, k + 1]) if (v >= 0 && v <= U32) out.add(v);
  const base = [...out];
  for (const m of masks) for (const v of base) for (const w of [(v & ~m) >>> 0, (v | m) >>> 0, (v & m) >>> 0, (v | ~m) >>> 0]) out.add(w);
  return [...out].sort((a, b) => a - b);
}

/** 64-bit candidates of one argument from its word constants (high x low), plus 0, 2^32-1, 2^64-1. */
function candidates(c: WordConstants): bigint[] {
  const lows = nearWords(c.lo, c.loMasks);
  const highs = nearWords(c.hi, c.hiMasks);
  const out = new Set<bigint>([0n, BigInt(U32), U64]);
  for (const h of highs) for (const l of lows) out.add((BigInt(h) << 32n) | BigInt(l));
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The ABI a call belongs to under `audit` (x32 when its bit is set and x32 shares the AUDIT_ARCH). */
function abiOf(audit: number, nr: number): Arch | undefined {
  const same = archByAudit(audit);
  return same.find((a) => a.syscallBit !== 0 && (nr & a.syscallBit) !== 0) ?? same.find((a) => a.syscallBit === 0);
}

/**
 * Compare two filters (see the module comment). Both must have the same byte order, since one
 * machine runs them. Throws PolicyError ARCH otherwise.
 */
export function diffFilters(a: DiffSide, b: DiffSide, opts: DiffOptions = {}): DiffResult {
  if (a.endian !== b.endian) {
    throw new PolicyError('ARCH', `${a.label} is ${a.endian}-endian and ${b.label} is ${b.endian}-endian: no machine runs both`);
  }
  const endian = a.endian;
  const witnesses = opts.witnesses ?? 1;
  const limit = opts.fullProductLimit ?? 4096;
  let audits = [...new Set([...a.audits, ...b.audits])];
  if (opts.arches) audits = [...new Set(opts.arches.map((x) => x.auditArch))];
  const only = opts.arches ? new Set(opts.arches.map((x) => x.name)) : undefined;

  const differences: Difference[] = [];
  let probes = 0;
  const run = (p: readonly Instruction[], audit: number, nr: number, args: readonly bigint[]) =>
    emulate(p, { nr, arch: audit, instructionPointer: 0n, args }, { endian, trace: true });

  // Numbers either filter compares nr with, wherever they occur.
  const nrConsts = new Set<number>();
  for (const side of [a, b]) for (const k of constantsFrom(side.program, 0, endian).nrs) for (const v of [k - 1, k, k + 1]) if (v >= 0 && v <= U32) nrConsts.add(v);

  const probeCall = (audit: number, nr: number): void => {
    const abi = abiOf(audit, nr);
    if (only && abi && !only.has(abi.name)) return;
    const zero: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n];
    const ra = run(a.program, audit, nr, zero);
    const rb = run(b.program, audit, nr, zero);
    probes++;
    const found: Difference[] = [];
    const note = (args: readonly bigint[], va: number, vb: number) => {
      if (va !== vb && found.length < witnesses) {
        found.push(Object.freeze({ ...(abi ? { arch: abi.name } : {}), audit, nr, ...(abi && syscallName(abi, nr) ? { syscall: syscallName(abi, nr)! } : {}), args: Object.freeze([...args]), a: va, b: vb }));
      }
    };
    note(zero, ra.value, rb.value);
    // Where the argument checks start on either side: the first argument load on the zero-args path.
    const firstArgLoad = (trace: readonly { pc: number; insn: Instruction }[]) =>
      trace.find((s) => {
        const i = opInfo(s.insn.code);
        return i?.effect.kind === 'load' && i.effect.mode === 'abs' && s.insn.k >= SECCOMP_DATA_ARGS && s.insn.k < SECCOMP_DATA_ARGS + 48;
      })?.pc;
    const cands = new Map<number, bigint[]>();
    for (const [side, r] of [[a, ra], [b, rb]] as const) {
      const start = firstArgLoad(r.trace!);
      if (start === undefined) continue;
      for (const [index, c] of constantsFrom(side.program, start, endian).args) {
        const prev = cands.get(index);
        const merged = c;
        // A 32-bit ABI's arguments never have high bits (the kernel zero-extends them).
        const values = candidates(merged).map((v) => (abi?.bits === 32 ? v & BigInt(U32) : v));
        cands.set(index, [...new Set([...(prev ?? []), ...values])]);
      }
    }
    if (cands.size > 0 && found.length < witnesses) {
      const idx = [...cands.keys()].sort();
      const sets = idx.map((i) => cands.get(i)!);
      const total = sets.reduce((p, s) => p * s.length, 1);
      const tryArgs = (assign: readonly [number, bigint][]) => {
        const args = [...zero];
        for (const [i, v] of assign) args[i] = v;
        const va = run(a.program, audit, nr, args).value;
        const vb = run(b.program, audit, nr, args).value;
        probes++;
        note(args, va, vb);
      };
      if (total <= limit) {
        const rec = (k: number, acc: [number, bigint][]) => {
          if (found.length >= witnesses) return;
          if (k === idx.length) return tryArgs(acc);
          for (const v of sets[k]!) rec(k + 1, [...acc, [idx[k]!, v]]);
        };
        rec(0, []);
      } else {
        for (let i = 0; i < idx.length && found.length < witnesses; i++) {
          for (const v of sets[i]!) tryArgs([[idx[i]!, v]]);
          for (let j = i + 1; j < idx.length; j++) for (const v of sets[i]!) for (const w of sets[j]!) if (found.length < witnesses) tryArgs([[idx[i]!, v], [idx[j]!, w]]);
        }
      }
    }
    differences.push(...found);
  };

  for (const audit of audits) {
    const nrs = new Set<number>(nrConsts);
    for (const abi of archByAudit(audit)) for (const nr of syscallTable(abi).values()) nrs.add(nr);
    for (const nr of [...nrs].sort((x, y) => x - y)) probeCall(audit, nr);
  }
  // A call from an ABI neither side names: both must apply their bad-arch action alike.
  if (!opts.arches) {
    const foreign = ARCHES.find((x) => !audits.includes(x.auditArch) && x.endian === endian)?.auditArch ?? 0;
    for (const nr of [0, 1]) probeCall(foreign, nr);
  }
  return Object.freeze({ equivalent: differences.length === 0, differences: Object.freeze(differences), probes });
}

/** `x86_64 write(1, 0x100000000): allow vs kill_process`: one difference as a line. */
export function formatDifference(d: Difference): string {
  const name = d.syscall ?? `syscall ${d.nr}`;
  let n = d.args.length;
  while (n > 0 && d.args[n - 1] === 0n) n--;
  const args = d.args.slice(0, n).map((v) => (v < 0x10000n ? v.toString() : `0x${v.toString(16)}`)).join(', ');
  const where = d.arch ?? `arch 0x${d.audit.toString(16).padStart(8, '0')}`;
  return `${where} ${name}(${args}): ${formatAction(d.a)} vs ${formatAction(d.b)}`;
}
