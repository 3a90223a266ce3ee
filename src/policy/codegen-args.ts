/**
 * Argument checks: one emitter per comparison operator, each building a small node graph that
 * compares a 64-bit syscall argument (two 32-bit words) with a constant.
 *
 * Classic BPF compares 32-bit words only, so a 64-bit `a OP v` is split into the high words
 * (ah, vh) and the low words (al, vl); the high words decide unless they are equal. Word
 * offsets come from Arch.argOffsets, so big-endian ABIs read the right halves. A 32-bit check
 * (`bits: 32`) compares only the low word. Every emitter takes the true/false continuations and
 * what A holds on entry, and returns the entry node.
 */
import type { ArgCheck } from './types.js';
import { NodePool, type AState, type Cont, type Node } from './codegen-nodes.js';

/** Where the two words of an argument live in seccomp_data. */
export interface ArgWords {
  readonly lo: number;
  readonly hi: number;
}

const U32 = 0xffffffffn;
const U64 = (1n << 64n) - 1n;

function split(v: bigint): { hi: number; lo: number } {
  const x = BigInt.asUintN(64, v);
  return { hi: Number(x >> 32n), lo: Number(x & U32) };
}

function popcount32(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

/**
 * A continuation reached from several compares, built once with what holds at all of them (the
 * facts on entry, A unknown): building it per edge could double the code with every check.
 */
function once(x: Node | Cont, s: AState): Node {
  return typeof x === 'function' ? x({ a: -1, facts: s.facts }) : x;
}

/** Ordering comparisons on one word: `A > k` or `A >= k`. */
type Order = 'jgt' | 'jge';

/**
 * `a == v` (64-bit):
 *   ld ah; jeq vh ? next : F
 *   ld al; jeq vl ? T : F
 */
function emitEq(p: NodePool, w: ArgWords, v: bigint, s: AState, T: Node | Cont, F0: Node | Cont): Node {
  const { hi, lo } = split(v);
  const F = once(F0, s); // reached from two compares
  return p.load(w.hi, s, (s1) => p.branch('jeq', hi, s1, (s2) => p.load(w.lo, s2, (s3) => p.branch('jeq', lo, s3, T, F)), F));
}

/**
 * `a > v` / `a >= v` (64-bit); lt/le are their negations:
 *   ld ah; jgt vh ? T : next
 *          jeq vh ? next : F
 *   ld al; jgt|jge vl ? T : F
 */
function emitOrder(p: NodePool, w: ArgWords, op: Order, v: bigint, s: AState, T0: Node | Cont, F0: Node | Cont): Node {
  const { hi, lo } = split(v);
  const T = once(T0, s); // each reached from two compares
  const F = once(F0, s);
  return p.load(w.hi, s, (s1) =>
    p.branch('jgt', hi, s1, T, (s2) => p.branch('jeq', hi, s2, (s3) => p.load(w.lo, s3, (s4) => p.branch(op, lo, s4, T, F)), F)),
  );
}

/**
 * `(word & m) == v` on one 32-bit word, picking the cheapest form:
 *   m == ~0:             ld w; jeq v
 *   v == 0:              ld w; jset m ? F : T
 *   v == m, one bit:     ld w; jset m ? T : F
 *   otherwise:           ld w; and m; jeq v
 */
function maskedWord(p: NodePool, off: number, m: number, v: number, s: AState, T: Cont, F: Node | Cont): Node {
  const f = (st: AState) => (typeof F === 'function' ? F(st) : F);
  if ((v & ~m) >>> 0 !== 0) return f(s); // bits outside the mask can never match
  if (m === 0) return T(s); // (w & 0) == 0 always
  if (m === 0xffffffff) return p.load(off, s, (s1) => p.branch('jeq', v, s1, T, F));
  if (v === 0) return p.load(off, s, (s1) => p.branch('jset', m, s1, F, T));
  if (v === m && popcount32(m) === 1) return p.load(off, s, (s1) => p.branch('jset', m, s1, T, F));
  return p.load(off, s, (s1) => p.andThen(m, s1, (s2) => p.branch('jeq', v, s2, T, F)));
}

/** `(a & m) == v` (64-bit): the high words, then the low words, each with {@link maskedWord}. */
function emitMasked(p: NodePool, w: ArgWords, m: bigint, v: bigint, s: AState, T: Cont, F: Node): Node {
  if (BigInt.asUintN(64, v) !== v) return F; // beyond 64 bits: never equal
  const mm = split(m);
  const vv = split(v);
  return maskedWord(p, w.hi, mm.hi, vv.hi, s, (s1) => maskedWord(p, w.lo, mm.lo, vv.lo, s1, T, F), F);
}

/**
 * 32-bit forms, on the low word only:
 *   eq: ld al; jeq v        ne: ld al; jeq v ? F : T
 *   gt: ld al; jgt v        le: ld al; jgt v ? F : T
 *   ge: ld al; jge v        lt: ld al; jge v ? F : T
 */
function emit32(p: NodePool, lo: number, c: ArgCheck, s: AState, T: Cont, F: Node): Node {
  if (c.value > U32 || c.value < 0n) {
    // The low word can never reach a value beyond 32 bits (or below 0): the outcome is known.
    const above = c.value > U32;
    const holds = c.op === 'ne' || (c.op !== 'masked_eq' && (above ? c.op === 'lt' || c.op === 'le' : c.op === 'gt' || c.op === 'ge'));
    return holds ? T(s) : F;
  }
  const v = Number(c.value);
  switch (c.op) {
    case 'eq': return p.load(lo, s, (s1) => p.branch('jeq', v, s1, T, F));
    case 'ne': return p.load(lo, s, (s1) => p.branch('jeq', v, s1, F, T));
    case 'gt': return p.load(lo, s, (s1) => p.branch('jgt', v, s1, T, F));
    case 'le': return p.load(lo, s, (s1) => p.branch('jgt', v, s1, F, T));
    case 'ge': return p.load(lo, s, (s1) => p.branch('jge', v, s1, T, F));
    case 'lt': return p.load(lo, s, (s1) => p.branch('jge', v, s1, F, T));
    case 'masked_eq': return maskedWord(p, lo, Number(BigInt.asUintN(32, c.mask ?? 0n)), v, s, T, F);
  }
}

/**
 * The node that evaluates check `c` (on the argument whose words are `w`), going on to `T` when
 * it holds and to `F` when it does not. `bits32`: the ABI is 32-bit, so every check is.
 */
export function emitCheck(p: NodePool, w: ArgWords, c: ArgCheck, bits32: boolean, s: AState, T: Cont, F: Node): Node {
  if (c.bits === 32 || bits32) return emit32(p, w.lo, c, s, T, F);
  if (c.op !== 'masked_eq' && (c.value < 0n || c.value > U64)) {
    // Outside 0..2^64-1 (validated policies never get here): the outcome is known.
    const above = c.value > U64;
    const holds = c.op === 'ne' || (above ? c.op === 'lt' || c.op === 'le' : c.op === 'gt' || c.op === 'ge');
    return holds ? T(s) : F;
  }
  switch (c.op) {
    case 'eq': return emitEq(p, w, c.value, s, T, F);
    case 'ne': return emitEq(p, w, c.value, s, F, T); // a == v with the branches swapped
    case 'gt': return emitOrder(p, w, 'jgt', c.value, s, T, F);
    case 'ge': return emitOrder(p, w, 'jge', c.value, s, T, F);
    case 'le': return emitOrder(p, w, 'jgt', c.value, s, F, T);
    case 'lt': return emitOrder(p, w, 'jge', c.value, s, F, T);
    case 'masked_eq': return emitMasked(p, w, c.mask ?? 0n, c.value, s, T, F);
  }
}
