/**
 * The code generator's intermediate form: a DAG of hash-consed nodes (Chromium bpf_dsl style).
 *
 * Every node is built bottom-up from nodes that already exist, and a {@link NodePool} returns the
 * SAME object for structurally equal requests, so identical return blocks and identical
 * argument-check tails exist once and are emitted once. The constructors also simplify: a jump
 * whose outcome is known (`jge 0`, `jgt 0xffffffff`, `jset 0`) or whose branches agree is
 * replaced by the branch it takes. Layout turns the DAG into a program (see codegen.ts).
 */

/** A node of the code DAG; `id` orders nodes by creation (children always have smaller ids). */
export type Node =
  /** RET K */
  | { readonly id: number; readonly kind: 'ret'; readonly k: number }
  /** LD W ABS off; then `next` */
  | { readonly id: number; readonly kind: 'ld'; readonly off: number; readonly next: Node }
  /** ALU AND K; then `next` */
  | { readonly id: number; readonly kind: 'and'; readonly k: number; readonly next: Node }
  /** Jxx K: `t` when A op k holds, else `f` */
  | { readonly id: number; readonly kind: 'jmp'; readonly op: JmpOp; readonly k: number; readonly t: Node; readonly f: Node };

/** The conditional jumps the generator uses (all understood by the kernel's action-cache emulator). */
export type JmpOp = 'jeq' | 'jgt' | 'jge' | 'jset';

/**
 * What is known while a node is being built: which seccomp_data word A holds (`a`, an offset, or
 * -1 when A holds something else or is unknown), and facts about words compared earlier on the
 * path. Used only to skip reloads and decided compares (jump threading); never part of a node's
 * identity, so sharing stays sound: a node is only reused when its structure is identical.
 */
export interface AState {
  readonly a: number;
  readonly facts: readonly Fact[];
}

/** What the path proves about one 32-bit word of seccomp_data. */
export interface Fact {
  readonly off: number;
  readonly known: Known;
}

/** Nothing known: the state at a join point. */
export const UNKNOWN: AState = Object.freeze({ a: -1, facts: Object.freeze([]) as readonly Fact[] });

/** Continuation: builds the rest given what is known at that point. */
export type Cont = (state: AState) => Node;

/** Hands out hash-consed nodes. One pool per independent region of the program. */
export class NodePool {
  private readonly nodes = new Map<string, Node>();
  private readonly rets = new Map<number, Node>();

  /** `counter` is shared between pools so ids stay unique and creation-ordered. */
  constructor(private readonly counter: { next: number }) {}

  private intern<N extends Node>(key: string, make: (id: number) => N): N {
    const hit = this.nodes.get(key);
    if (hit) return hit as N;
    const n = make(this.counter.next++);
    this.nodes.set(key, n);
    return n;
  }

  /** RET k */
  ret(k: number): Node {
    const v = k >>> 0;
    let n = this.rets.get(v);
    if (!n) {
      n = Object.freeze({ id: this.counter.next++, kind: 'ret', k: v });
      this.rets.set(v, n);
    }
    return n;
  }

  /**
   * A search-tree node `if (A >= k) t else f` on the syscall number, not interned: tree nodes
   * are unique by construction (neighbouring ranges never share an outcome), so hashing them
   * would only cost compile time.
   */
  split(k: number, t: Node, f: Node): Node {
    return Object.freeze({ id: this.counter.next++, kind: 'jmp', op: 'jge', k: k >>> 0, t, f });
  }

  /** LD W ABS off; next */
  ld(off: number, next: Node): Node {
    return this.intern(`l${off},${next.id}`, (id) => Object.freeze({ id, kind: 'ld', off, next }));
  }

  /** Load `off` unless A already holds it, then continue with `then(state)`. */
  load(off: number, state: AState, then: Cont): Node {
    if (state.a === off) return then(state);
    const next = then({ a: off, facts: state.facts });
    // A continuation that never looks at A (a RET, or one that reloads) needs no load.
    return usesA(next) ? this.ld(off, next) : next;
  }

  /** AND k on A, then `then`, which sees A as no longer holding a plain word. */
  andThen(k: number, state: AState, then: Cont): Node {
    return this.and(k, then({ a: -1, facts: state.facts }));
  }

  /**
   * `if (A op k) onTrue else onFalse`, where A holds `state.a`. Each branch is built (when it is
   * a continuation) and threaded knowing the outcome of this compare.
   */
  branch(op: JmpOp, k: number, state: AState, onTrue: Node | Cont, onFalse: Node | Cont): Node {
    const v = k >>> 0;
    const tState = state.a >= 0 ? { a: state.a, facts: withFact(state.facts, state.a, edge(op, v, true)) } : state;
    const fState = state.a >= 0 ? { a: state.a, facts: withFact(state.facts, state.a, edge(op, v, false)) } : state;
    const t = typeof onTrue === 'function' ? onTrue(tState) : onTrue;
    const f = typeof onFalse === 'function' ? onFalse(fState) : onFalse;
    return this.jmp(op, v, thread(t, tState), thread(f, fState));
  }

  /** ALU AND k; next */
  and(k: number, next: Node): Node {
    const v = k >>> 0;
    if (v === 0xffffffff || !usesA(next)) return next; // a result nobody reads
    return this.intern(`a${v},${next.id}`, (id) => Object.freeze({ id, kind: 'and', k: v, next }));
  }

  /** `if (A op k) t else f`, simplified (see {@link branch} for the threading form). */
  jmp(op: JmpOp, k: number, t: Node, f: Node): Node {
    const v = k >>> 0;
    if (t === f) return t;
    if (op === 'jge' && v === 0) return t;
    if (op === 'jgt' && v === 0xffffffff) return f;
    if (op === 'jset' && v === 0) return f;
    // jgt k ? T : (jeq k ? T : F)  ==  jge k ? T : F
    if (op === 'jgt' && f.kind === 'jmp' && f.op === 'jeq' && f.k === v && f.t === t) return this.jmp('jge', v, t, f.f);
    // jeq k ? T : (jgt k ? T : F)  ==  jge k ? T : F
    if (op === 'jeq' && f.kind === 'jmp' && f.op === 'jgt' && f.k === v && f.t === t) return this.jmp('jge', v, t, f.f);
    return this.intern(`j${op}${v},${t.id},${f.id}`, (id) => Object.freeze({ id, kind: 'jmp', op, k: v, t, f }));
  }
}

/** Whether `A op k` holds for an accumulator value `a` (unsigned 32-bit compares). */
export function holds(op: JmpOp, a: number, k: number): boolean {
  switch (op) {
    case 'jeq': return a === k;
    case 'jgt': return a > k;
    case 'jge': return a >= k;
    case 'jset': return ((a & k) >>> 0) !== 0;
  }
}

/** What is known about a word: lo <= w <= hi, w != ne, (w & zero) == 0. */
export interface Known {
  readonly lo: number;
  readonly hi: number;
  readonly ne?: number;
  readonly zero: number;
}

const MAX = 0xffffffff;

/** What taking the `taken` edge of `A op k` proves about A. */
function edge(op: JmpOp, k: number, taken: boolean): Known {
  switch (op) {
    case 'jeq': return taken ? { lo: k, hi: k, zero: 0 } : { lo: 0, hi: MAX, ne: k, zero: 0 };
    case 'jgt': return taken ? { lo: k + 1, hi: MAX, zero: 0 } : { lo: 0, hi: k, zero: 0 };
    case 'jge': return taken ? { lo: k, hi: MAX, zero: 0 } : { lo: 0, hi: k - 1, zero: 0 };
    case 'jset': return taken ? { lo: 1, hi: MAX, zero: 0 } : { lo: 0, hi: MAX, zero: k };
  }
}

function meet(a: Known, b: Known): Known {
  return { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi), ne: a.ne ?? b.ne, zero: (a.zero | b.zero) >>> 0 };
}

/** The outcome of `A op k` given what is known, or undefined when it is not decided. */
function decide(op: JmpOp, k: number, c: Known): boolean | undefined {
  if (c.lo > c.hi) return undefined; // an impossible path: leave it alone
  if (c.lo === c.hi) return holds(op, c.lo, k);
  switch (op) {
    case 'jeq': return k < c.lo || k > c.hi || k === c.ne || ((k & c.zero) >>> 0) !== 0 ? false : undefined;
    case 'jgt': return c.lo > k ? true : c.hi <= k ? false : undefined;
    case 'jge': return c.lo >= k ? true : c.hi < k ? false : undefined;
    case 'jset': return ((k & ~c.zero) >>> 0) === 0 ? false : undefined;
  }
}

/** `facts` with `k` added for the word at `off`. */
function withFact(facts: readonly Fact[], off: number, k: Known): Fact[] {
  const out: Fact[] = [];
  let found = false;
  for (const f of facts) {
    if (f.off === off) {
      out.push({ off, known: meet(f.known, k) });
      found = true;
    } else out.push(f);
  }
  if (!found) out.push({ off, known: k });
  return out;
}

function factOf(facts: readonly Fact[], off: number): Known | undefined {
  for (const f of facts) if (f.off === off) return f.known;
  return undefined;
}

/**
 * Jump threading: from `n`, follow reloads and compares the path's facts decide, so that a check
 * that failed (or held) for one rule is not repeated by the next. The result is the farthest node
 * reached where it is safe to land: one that does not read A, or one that expects A to hold the
 * word it actually holds (`state.a`).
 */
function thread(n: Node, state: AState): Node {
  if (state.facts.length === 0) return n;
  let cur = n;
  let virt = state.a; // the word A would hold had the skipped loads run
  let facts = state.facts;
  let best = n;
  for (let steps = 0; steps < 64; steps++) {
    if (cur.kind === 'ld') {
      virt = cur.off;
      cur = cur.next;
    } else if (cur.kind === 'jmp' && virt >= 0) {
      const known = factOf(facts, virt);
      const d = known && decide(cur.op, cur.k, known);
      if (d === undefined) break;
      facts = withFact(facts, virt, edge(cur.op, cur.k, d));
      cur = d ? cur.t : cur.f;
    } else break;
    if (!usesA(cur) || (virt === state.a && virt >= 0)) best = cur;
  }
  return best;
}

/** Whether `n` reads A before overwriting it (so a load just before it matters). */
function usesA(n: Node): boolean {
  return n.kind === 'jmp' || n.kind === 'and';
}
