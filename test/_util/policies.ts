/**
 * Random policies and probe inputs for the code generator's differential tests.
 *
 * Policies are built directly as ResolvedPolicy objects (any syscall number, any mix of rules),
 * which reaches cases a policy file could not express; probes cover every syscall number of the
 * ABI, numbers with and without the x32 bit, boundary numbers, and argument values at and around
 * every constant a check compares with (v-1, v, v+1, and high/low word mixes).
 */
import { ARCHES, syscallTable, type Arch } from '../../src/arch/index.js';
import { SECCOMP_RET_ALLOW, encodeAction, type ActionName, type SeccompData } from '../../src/bpf/seccomp.js';
import type { ArgCheck, ArgOp, PolicyRule, ResolvedArch, ResolvedPolicy, ResolvedRule, ResolvedSyscall } from '../../src/policy/types.js';

export type Rand = () => number;

const U32 = 0xffffffffn;
const U64 = (1n << 64n) - 1n;
export const OPS: readonly ArgOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked_eq'];

/** A random integer in [0, n). */
export const int = (r: Rand, n: number): number => Math.floor(r() * n);
/** A random element. */
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const ORIGIN: PolicyRule = Object.freeze({ syscalls: [], action: SECCOMP_RET_ALLOW, args: [] });

/** Interesting 64-bit constants: edges of both words and of the whole range. */
export const EDGES: readonly bigint[] = [
  0n, 1n, 2n, 0x7fffffffn, 0x80000000n, U32 - 1n, U32, U32 + 1n, 0x100000001n, 0xffffffff00000000n,
  0x8000000000000000n, 0x7fffffffffffffffn, U64 - 1n, U64,
];

/** A random 64-bit value: an edge, a small number, a word mix, or anything. */
export function randValue(r: Rand, bits: 32 | 64): bigint {
  let v: bigint;
  switch (int(r, 5)) {
    case 0: v = pick(r, EDGES); break;
    case 1: v = BigInt(int(r, 10)); break;
    case 2: v = (BigInt(pick(r, [0, 1, 0xffffffff, int(r, 2 ** 32)])) << 32n) | BigInt(pick(r, [0, 1, 0xffffffff, int(r, 2 ** 32)])); break;
    case 3: v = 1n << BigInt(int(r, 64)); break;
    default: v = (BigInt(int(r, 2 ** 32)) << 32n) | BigInt(int(r, 2 ** 32));
  }
  return bits === 32 ? v & U32 : v & U64;
}

/** A random argument check (valid for `arch`: 32-bit ABIs get 32-bit values). */
export function randCheck(r: Rand, arch: Arch): ArgCheck {
  const bits: 32 | 64 = arch.bits === 32 || r() < 0.25 ? 32 : 64;
  const op = pick(r, OPS);
  const index = int(r, 6);
  if (op === 'masked_eq') {
    const mask = randValue(r, bits);
    // Mostly satisfiable values (inside the mask), sometimes not.
    const value = r() < 0.8 ? randValue(r, bits) & mask : randValue(r, bits);
    return { index, op, value, mask, bits };
  }
  return { index, op, value: randValue(r, bits), bits };
}

const ACTION_NAMES: readonly ActionName[] = ['kill_process', 'kill_thread', 'trap', 'errno', 'user_notif', 'trace', 'log', 'allow'];

/** A random action value (with data where the action has it). */
export function randAction(r: Rand): number {
  const name = pick(r, ACTION_NAMES);
  const data = name === 'errno' || name === 'trap' || name === 'trace' ? int(r, 3) + 1 : 0;
  return encodeAction(name, data);
}

/** Options of {@link randomResolved}. */
export interface RandomPolicyOptions {
  /** Syscalls given rules per ABI (default: random up to 40). */
  syscalls?: number;
  /** Probability that a rule has argument checks. */
  argRate?: number;
}

/**
 * A random ResolvedPolicy over `arches` (one byte order). Actions come from a small pool so that
 * equal and tied actions are common; rules mix conditional and unconditional ones.
 */
export function randomResolved(r: Rand, arches: readonly Arch[], opts: RandomPolicyOptions = {}): ResolvedPolicy {
  const pool = Array.from({ length: 2 + int(r, 4) }, () => randAction(r));
  const badArch = r() < 0.5 ? pick(r, pool) : randAction(r);
  const resolved: ResolvedArch[] = arches.map((arch) => {
    const table = [...syscallTable(arch).values()].map((n) => (n | arch.syscallBit) >>> 0);
    const count = opts.syscalls ?? int(r, 40);
    const defaultAction = pick(r, pool);
    const map = new Map<number, ResolvedSyscall>();
    for (let i = 0; i < count; i++) {
      // Mostly real numbers; sometimes one outside the table, or even on the other side of the x32
      // bit (which the evaluator never attributes to this ABI: the filter must ignore it too).
      const u = r();
      const nr = u < 0.9 ? pick(r, table) : u < 0.97 ? ((int(r, 1000) | arch.syscallBit) >>> 0) : ((int(r, 1000) | (arch.syscallBit ^ 0x40000000)) >>> 0);
      const rules: ResolvedRule[] = [];
      const nRules = 1 + int(r, r() < 0.3 ? 4 : 2);
      for (let k = 0; k < nRules; k++) {
        const nArgs = r() < (opts.argRate ?? 0.5) ? 1 + int(r, 3) : 0;
        rules.push({ action: pick(r, pool), args: Array.from({ length: nArgs }, () => randCheck(r, arch)), origin: ORIGIN });
      }
      map.set(nr, { name: `nr${nr}`, nr, rules });
    }
    const sorted = new Map([...map.entries()].sort((a, b) => a[0] - b[0]));
    return { arch, defaultAction, syscalls: sorted };
  });
  return { badArchAction: badArch, arches: resolved, warnings: [] };
}

/** Random sets of ABIs sharing one byte order (x86_64/x32 together or apart, 32- and 64-bit mixes). */
export function randomArchSet(r: Rand): Arch[] {
  const endian = r() < 0.7 ? 'little' : 'big';
  const candidates = ARCHES.filter((a) => a.endian === endian);
  const n = 1 + int(r, Math.min(3, candidates.length));
  const out: Arch[] = [];
  while (out.length < n) {
    const a = pick(r, candidates);
    if (!out.includes(a)) out.push(a);
  }
  return out;
}

/**
 * Syscall numbers to probe on `arch`: every number of its table, the same with and without the x32
 * bit, the neighbours of every number the policy names, 0, 0xffffffff and some random ones.
 */
export function probeNumbers(r: Rand, arch: Arch, resolved: ResolvedPolicy): number[] {
  const s = new Set<number>();
  for (const n of syscallTable(arch).values()) {
    s.add((n | arch.syscallBit) >>> 0);
    s.add((n ^ 0x40000000) >>> 0);
  }
  for (const ra of resolved.arches) {
    for (const nr of ra.syscalls.keys()) for (const d of [-1, 0, 1]) s.add((nr + d) >>> 0);
  }
  for (const n of [0, 1, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff, 0xfffffffe]) s.add(n);
  for (let i = 0; i < 20; i++) s.add(int(r, 2 ** 32));
  return [...s].sort((a, b) => a - b);
}

/** Argument vectors that exercise `checks`: each compared value and its neighbours, word mixes, randoms. */
export function probeArgs(r: Rand, checks: readonly ArgCheck[], count: number): bigint[][] {
  const near = (v: bigint): bigint[] => {
    const lo = v & U32;
    const hi = v >> 32n;
    return [v - 1n, v, v + 1n, lo, hi << 32n, (hi << 32n) | ((lo + 1n) & U32), ((hi + 1n) << 32n) | lo, (hi << 32n) | ((lo - 1n) & U32)].map((x) => x & U64);
  };
  const out: bigint[][] = [];
  for (let i = 0; i < count; i++) {
    const args = Array.from({ length: 6 }, () => (r() < 0.3 ? randValue(r, 64) : 0n));
    for (const c of checks) {
      if (r() < 0.15) continue;
      const base = c.op === 'masked_eq' && r() < 0.5 ? c.value | (randValue(r, 64) & ~(c.mask ?? 0n) & U64) : c.value;
      args[c.index] = pick(r, near(base));
    }
    out.push(args);
  }
  return out;
}

/** seccomp_data for a call. */
export function call(arch: number, nr: number, args: readonly bigint[] = [], ip = 0n): SeccompData {
  return { arch: arch >>> 0, nr: nr >>> 0, instructionPointer: ip, args };
}
