/**
 * The code generator: ResolvedPolicy -> classic-BPF seccomp program.
 *
 * Layout of the generated program:
 *
 *   ld [arch]
 *   jeq AUDIT_ARCH_1 ? block1 : next        one compare per distinct AUDIT_ARCH value
 *   jeq AUDIT_ARCH_2 ? block2 : next
 *   ret badArchAction
 * block:
 *   ld [nr]
 *   jge K ...                               a search tree over ranges of numbers (all of u32)
 *   ...                                     leaves: RET, or the syscall's argument checks
 *
 * - Each block maps every 32-bit syscall number to an outcome. Numbers are grouped into maximal
 *   ranges with the same outcome node (nodes are hash-consed, so "same" is object identity), and
 *   the ranges are searched with JGE; a single number interrupting a run of one outcome is
 *   tested with JEQ instead (`jeq e ? E : B`, up to two in a row), which removes two ranges.
 *   x86_64 and x32 share AUDIT_ARCH_X86_64: the x32 bit (0x40000000) simply splits the number
 *   space into ranges, so a number with the bit never reaches an x86_64 outcome, with no JSET.
 * - The tree minimises the mean cost over the ABI's real syscall numbers: an optimal alphabetic
 *   tree (Knuth's O(n^2) dynamic programme) weighted by how many real numbers each range holds.
 *   Worst case: a real number may sit at most one level deeper than in a balanced tree, counting
 *   a leaf's own argument checks (with zero arguments) as depth, so leaves with checks rise;
 *   weight floors (W / 2^allowed depth) enforce it. Long range lists are first split where the
 *   weight halves, so each DP table stays small and compile time stays well under a millisecond.
 * - Routing uses only LD W ABS nr/arch, JEQ/JGE K, JA and RET K, and an unconditional allow
 *   returns exactly SECCOMP_RET_ALLOW, so Linux >= 5.11 can cache it (see cache.ts).
 * - Argument checks (codegen-args.ts) run only at leaves that have them: rules sorted most
 *   restrictive first, each an AND chain; the first rule that holds decides, else the default.
 *   While building, the generator tracks which word A holds and what the path has proved about
 *   each word, and threads jumps past reloads and compares already decided (codegen-nodes.ts):
 *   five `personality(x) == c` rules load the high word once and test it once.
 * - Nodes are shared per block (returns and identical check tails exist once); layout is a
 *   reverse post-order that falls through to the less shared branch, and the Assembler inserts
 *   JA trampolines for branches beyond 255.
 */
import { ARCHES, syscallTable, type Arch } from '../arch/index.js';
import { Assembler } from '../bpf/builder.js';
import type { Instruction } from '../bpf/insn.js';
import { stmt } from '../bpf/insn.js';
import {
  BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W,
} from '../bpf/opcodes.js';
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, actionRank } from '../bpf/seccomp.js';
import { emitCheck } from './codegen-args.js';
import { NodePool, UNKNOWN, holds, type AState, type Node } from './codegen-nodes.js';
import type { ActionValue, ArgCheck, ResolvedArch, ResolvedPolicy, ResolvedRule, ResolvedSyscall } from './types.js';

/** A maximal run of syscall numbers [lo, hi] (inclusive) with one outcome. */
export interface NrRange {
  readonly lo: number;
  readonly hi: number;
  readonly node: Node;
  /** How many real syscall numbers of the ABI fall in the range (the search-tree weight). */
  readonly weight: number;
}

const TWO32 = 0x1_0000_0000;

/**
 * Rules of one syscall in the order they are tried: most restrictive action first (stable, so
 * equally restrictive rules keep policy order), cut after the first unconditional rule (nothing
 * after it can win), and without trailing rules whose action is the default anyway.
 */
export function orderedRules(rules: readonly ResolvedRule[], defaultAction: ActionValue): ResolvedRule[] {
  const sorted = rules
    .map((r, i) => ({ r, i }))
    .sort((a, b) => actionRank(a.r.action) - actionRank(b.r.action) || a.i - b.i)
    .map((x) => x.r);
  const cut = sorted.findIndex((r) => r.args.length === 0);
  const out = cut >= 0 ? sorted.slice(0, cut + 1) : sorted;
  while (out.length && out[out.length - 1].action >>> 0 === defaultAction >>> 0) out.pop();
  return out;
}

function checkKey(c: ArgCheck): string {
  return `${c.index}/${c.bits}/${c.op}/${c.value}/${c.mask ?? ''}`;
}

/** The node deciding one syscall: its rules' argument checks, falling back to the default. */
function syscallNode(p: NodePool, arch: Arch, sc: ResolvedSyscall, defaultAction: ActionValue): Node {
  // Fast path for the common case: one unconditional rule.
  if (sc.rules.length === 1 && sc.rules[0].args.length === 0) return p.ret(sc.rules[0].action);
  const rules = orderedRules(sc.rules, defaultAction);
  const bits32 = arch.bits === 32; // the high word is always zero there: every check is a 32-bit one
  let next = p.ret(defaultAction);
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i];
    // Sorted checks: canonical (so equal rules share code) and same-argument checks adjacent.
    const checks = [...r.args].sort((a, b) => a.index - b.index || (checkKey(a) < checkKey(b) ? -1 : checkKey(a) > checkKey(b) ? 1 : 0));
    const onTrue = p.ret(r.action);
    const onFalse = next;
    const chain = (j: number, s: AState): Node =>
      j === checks.length ? onTrue : emitCheck(p, arch.argOffsets(checks[j].index), checks[j], bits32, s, (s2) => chain(j + 1, s2), onFalse);
    next = chain(0, UNKNOWN);
  }
  return next;
}

/** Every ABI sharing an AUDIT_ARCH value with `arch` (x86_64 and x32), listed or not. */
function siblings(arch: Arch): Arch[] {
  return ARCHES.filter((a) => a.auditArch === arch.auditArch);
}

const realCache = new Map<string, Uint32Array>();

/** The ABI's real syscall numbers as seccomp_data.nr shows them, sorted (cached: tables are static). */
function realNumbers(arch: Arch): Uint32Array {
  let r = realCache.get(arch.name);
  if (!r) {
    r = Uint32Array.from(syscallTable(arch).values(), (n) => (n | arch.syscallBit) >>> 0).sort();
    realCache.set(arch.name, r);
  }
  return r;
}

/**
 * The ranges of one AUDIT_ARCH block: every u32 syscall number mapped to an outcome, merged into
 * maximal runs. `listed` are the ResolvedArches of this block (one, or x86_64 and/or x32).
 */
export function blockRanges(p: NodePool, listed: readonly ResolvedArch[], badArch: Node): NrRange[] {
  const sib = siblings(listed[0].arch);
  // Sub-spaces of the number space: with a syscall bit b, the numbers alternate in runs of b
  // between the ABI without the bit and the ABI with it.
  const bit = sib.reduce((m, a) => m | a.syscallBit, 0) >>> 0;
  const spaces: { lo: number; hi: number; owner: Arch | undefined }[] = [];
  if (bit === 0) {
    spaces.push({ lo: 0, hi: TWO32 - 1, owner: sib[0] });
  } else {
    for (let lo = 0; lo < TWO32; lo += bit) {
      const withBit = ((lo & bit) >>> 0) !== 0;
      spaces.push({ lo, hi: lo + bit - 1, owner: sib.find((a) => (a.syscallBit !== 0) === withBit) });
    }
  }
  // Outcomes of the listed numbers, in number order (u32 order: x32 numbers sort high).
  const points: { nr: number; node: Node; arch: Arch }[] = [];
  for (const ra of listed) {
    for (const [nr, sc] of ra.syscalls) points.push({ nr: nr >>> 0, node: syscallNode(p, ra.arch, sc, ra.defaultAction), arch: ra.arch });
  }
  // The resolver hands out maps in number order; sort only when that is not so.
  for (let x = 1; x < points.length; x++) {
    if (points[x - 1].nr > points[x].nr) {
      points.sort((a, b) => a.nr - b.nr);
      break;
    }
  }
  const out: { lo: number; hi: number; node: Node }[] = [];
  const add = (lo: number, hi: number, node: Node) => {
    const last = out[out.length - 1];
    if (last && last.node === node) last.hi = hi; // merge neighbours with the same outcome
    else out.push({ lo, hi, node });
  };
  let k = 0;
  for (const sp of spaces) {
    const ra = sp.owner && listed.find((r) => r.arch.name === sp.owner!.name);
    if (!ra) {
      add(sp.lo, sp.hi, badArch);
      continue;
    }
    const def = p.ret(ra.defaultAction);
    let at = sp.lo;
    while (k < points.length && points[k].nr < sp.lo) k++;
    for (; k < points.length && points[k].nr <= sp.hi; k++) {
      // A number on the other side of the syscall bit is not this ABI's (as the evaluator sees it).
      if (points[k].arch !== ra.arch) continue;
      const nr = points[k].nr;
      if (nr > at) add(at, nr - 1, def);
      add(nr, nr, points[k].node);
      at = nr + 1;
    }
    if (at <= sp.hi) add(at, sp.hi, def);
  }
  // Weights: real syscall numbers of the listed ABIs in each range (one merge walk per ABI).
  const weights = new Float64Array(out.length);
  for (const ra of listed) {
    const real = realNumbers(ra.arch);
    let r = 0;
    for (let j = 0; j < real.length; j++) {
      while (out[r].hi < real[j]) r++; // the ranges cover all of u32, so r stays in bounds
      weights[r]++;
    }
  }
  return out.map((r, x) => ({ lo: r.lo, hi: r.hi, node: r.node, weight: weights[x] }));
}

/** Weight given to every range on top of its real numbers, so empty ranges are not pushed arbitrarily deep. */
const EPSILON = 0.05;

// Scratch tables of the dynamic programme, reused between calls (compile time matters). The
// cost table is kept twice, by row and by column, so both inner-loop reads are sequential.
let rowBuf = new Float64Array(0);
let colBuf = new Float64Array(0);
let rootBuf = new Int32Array(0);

/**
 * The optimal alphabetic search tree over leaves with weights `w`: a JGE node splits between two
 * neighbours, and the tree minimises sum(weight * depth). Knuth's monotone-root property makes it
 * O(n^2). Returns root[i * n + j] = the last leaf of the left subtree of leaves i..j.
 */
export function optimalRoots(w: ArrayLike<number>, pat?: Uint8Array): Int32Array {
  const n = w.length;
  if (rowBuf.length < n * n) {
    rowBuf = new Float64Array(n * n);
    colBuf = new Float64Array(n * n);
    rootBuf = new Int32Array(n * n);
  }
  const row = rowBuf; // row[i * n + j] = cost of leaves i..j
  const col = colBuf; // col[j * n + i] = the same
  const root = rootBuf;
  const pre = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) pre[i + 1] = pre[i] + w[i];
  for (let i = 0; i < n; i++) row[i * n + i] = col[i * n + i] = 0;
  for (let i = 0; i < n - 1; i++) {
    row[i * n + i + 1] = col[(i + 1) * n + i] = w[i] + w[i + 1];
    root[i * n + i + 1] = i;
  }
  for (let len = 3; len <= n; len++) {
    for (let i = 0; i + len - 1 < n; i++) {
      const j = i + len - 1;
      let lo = root[i * n + j - 1];
      let hi = root[(i + 1) * n + j];
      if (lo < 0 || hi < 0) {
        // A neighbour is a JEQ chain: no monotone bound, scan every split (short intervals only).
        lo = i;
        hi = j - 1;
      } else hi = Math.min(hi, j - 1);
      const ri = i * n;
      const cj = j * n + 1;
      let best = Infinity;
      let bestR = lo;
      for (let r = lo; r <= hi; r++) {
        const c = row[ri + r] + col[cj + r];
        if (c < best - 1e-9) {
          best = c;
          bestR = r;
        }
      }
      let total = best + pre[j + 1] - pre[i];
      if (pat) {
        // B e B as `jeq e ? E : B` (everything at depth 1), and B e B e B as two JEQs, the
        // heavier exception first: cheaper than any split of the same ranges.
        const all = pre[j + 1] - pre[i];
        if (len === 3 && pat[i] & CHAIN1_AT && all < total - 1e-9) {
          total = all;
          bestR = CHAIN1;
        } else if (len === 5 && pat[i] & CHAIN2_AT) {
          const c = 2 * all - Math.max(w[i + 1], w[i + 3]);
          if (c < total - 1e-9) {
            total = c;
            bestR = CHAIN2;
          }
        }
      }
      row[ri + j] = col[j * n + i] = total;
      root[ri + j] = bestR;
    }
  }
  return root;
}

/** root[] marker: leaves i..i+2 are `jeq e ? E : B` (B e B with e a single number). */
const CHAIN1 = -1;
/** root[] marker: leaves i..i+4 are B e B e B, tested with two JEQs. */
const CHAIN2 = -2;
/** pat[] bits: a CHAIN1 / CHAIN2 pattern starts at this leaf. */
const CHAIN1_AT = 1;
const CHAIN2_AT = 2;

/** Depth of every leaf in the tree described by `root` (n leaves, weights w for chain order). */
function leafDepths(root: Int32Array, n: number, w: ArrayLike<number>): Int32Array {
  const d = new Int32Array(n);
  const walk = (i: number, j: number, depth: number) => {
    if (i === j) {
      d[i] = depth;
      return;
    }
    const r = root[i * n + j];
    if (r === CHAIN1) {
      d[i] = d[i + 1] = d[i + 2] = depth + 1;
      return;
    }
    if (r === CHAIN2) {
      const heavy = w[i + 1] >= w[i + 3] ? i + 1 : i + 3;
      d[i] = d[i + 2] = d[i + 4] = depth + 2;
      d[heavy] = depth + 1;
      d[heavy === i + 1 ? i + 3 : i + 1] = depth + 2;
      return;
    }
    walk(i, r, depth + 1);
    walk(r + 1, j, depth + 1);
  };
  walk(0, n - 1, 0);
  return d;
}

/** Range lists longer than this are split by weight first, so each DP table stays small (compile time). */
const DP_MAX = 32;

/**
 * Instructions a leaf executes for a call whose arguments are all zero (1 for a plain RET): the
 * common case the search tree budgets for when it places leaves with argument checks.
 */
function zeroArgCost(n: Node, memo: Map<Node, number>): number {
  const hit = memo.get(n);
  if (hit !== undefined) return hit;
  let a = 0;
  let steps = 0;
  let cur = n;
  for (;;) {
    steps++;
    if (cur.kind === 'ret') break;
    if (cur.kind === 'ld') {
      a = 0; // leaves load only arguments (or the nr, which never happens below the tree)
      cur = cur.next;
    } else if (cur.kind === 'and') {
      a = (a & cur.k) >>> 0;
      cur = cur.next;
    } else {
      cur = holds(cur.op, a, cur.k) ? cur.t : cur.f;
    }
  }
  memo.set(n, steps);
  return steps;
}

/**
 * The search tree over `ranges`. The shape minimises the mean cost over the ABI's real syscall
 * numbers (optimal alphabetic tree), under a worst-case budget: a real number may sit at most one
 * level deeper than in a balanced tree, counting a leaf's own argument checks (zero arguments) as
 * depth, so expensive leaves rise. Budget misses are fixed by boosting the weights of the leaves
 * that miss, then by flattening all weights; long range lists are first split by weight.
 */
export function searchTree(p: NodePool, ranges: readonly NrRange[]): Node {
  const n = ranges.length;
  const memo = new Map<Node, number>();
  const cost = ranges.map((r) => zeroArgCost(r.node, memo));
  return subtree(p, ranges, cost, 0, n - 1, Math.ceil(Math.log2(n)) + 1);
}

function subtree(p: NodePool, ranges: readonly NrRange[], cost: readonly number[], i: number, j: number, budget: number): Node {
  const n = j - i + 1;
  if (n === 1) return ranges[i].node;
  if (n > DP_MAX) {
    // Split where the weight halves, keeping both sides small enough for the remaining budget.
    let total = 0;
    for (let x = i; x <= j; x++) total += ranges[x].weight + EPSILON;
    const room = 2 ** Math.max(0, budget - 1);
    let acc = 0;
    let m = i + 1;
    let best = Infinity;
    for (let x = i + 1; x <= j; x++) {
      acc += ranges[x - 1].weight + EPSILON;
      const left = x - i;
      const right = j - x + 1;
      if (left > room || right > room) continue;
      const d = Math.abs(acc - total / 2);
      if (d < best) {
        best = d;
        m = x;
      }
    }
    return p.split(ranges[m].lo, subtree(p, ranges, cost, m, j, budget - 1), subtree(p, ranges, cost, i, m - 1, budget - 1));
  }
  // Depth allowed for each leaf: real numbers within the budget (less their own checks), empty ranges a little deeper.
  const allowed = new Int32Array(n);
  for (let x = 0; x < n; x++) {
    const r = ranges[i + x];
    allowed[x] = r.weight > 0 ? Math.max(1, budget - (cost[i + x] - 1)) : budget + 2;
  }
  // Each leaf gets at least the weight that a weight-balanced tree would place at its allowed
  // depth (W / 2^allowed); if some leaf still misses, the floors are raised and the DP rerun.
  let total = 0;
  for (let x = 0; x < n; x++) total += ranges[i + x].weight + EPSILON;
  const w = new Float64Array(n);
  // Where a single number interrupts a run of one outcome (B e B), a JEQ can test it.
  const pat = new Uint8Array(n);
  for (let x = 0; x + 2 < n; x++) {
    const e = ranges[i + x + 1];
    if (e.lo === e.hi && ranges[i + x].node === ranges[i + x + 2].node) pat[x] |= CHAIN1_AT;
  }
  for (let x = 0; x + 4 < n; x++) if (pat[x] & CHAIN1_AT && pat[x + 2] & CHAIN1_AT) pat[x] |= CHAIN2_AT;
  let root: Int32Array = new Int32Array(0);
  for (let floor = 2; floor <= 128; floor *= 4) {
    for (let x = 0; x < n; x++) w[x] = Math.max(ranges[i + x].weight + EPSILON, (floor * total) / 2 ** allowed[x]);
    root = optimalRoots(w, pat);
    const d = leafDepths(root, n, w);
    let missed = false;
    for (let x = 0; x < n && !missed; x++) if (d[x] > allowed[x]) missed = true;
    if (!missed) break;
  }
  const rt = root;
  const leaf = (x: number) => ranges[i + x];
  const build = (a: number, b: number): Node => {
    if (a === b) return leaf(a).node;
    const r = rt[a * n + b];
    if (r === CHAIN1) return p.jmp('jeq', leaf(a + 1).lo, leaf(a + 1).node, leaf(a).node);
    if (r === CHAIN2) {
      const [h, l] = w[a + 1] >= w[a + 3] ? [a + 1, a + 3] : [a + 3, a + 1];
      return p.jmp('jeq', leaf(h).lo, leaf(h).node, p.jmp('jeq', leaf(l).lo, leaf(l).node, leaf(a).node));
    }
    return p.split(leaf(r + 1).lo, build(r + 1, b), build(a, r));
  };
  return build(0, n - 1);
}

/**
 * The ranges of one side of the syscall bit (numbers with it, or without), clipped to that side
 * and merged: a search tree behind `jset bit` never sees the other side's numbers.
 */
function sideOf(ranges: readonly NrRange[], bit: number, withBit: boolean): NrRange[] {
  const out: { lo: number; hi: number; node: Node; weight: number }[] = [];
  for (const r of ranges) {
    for (let s = Math.floor(r.lo / bit) * bit; s <= r.hi; s += bit) {
      if ((((s & bit) >>> 0) !== 0) !== withBit) continue;
      const lo = Math.max(r.lo, s);
      const hi = Math.min(r.hi, s + bit - 1);
      const weight = lo === r.lo ? r.weight : 0;
      const last = out[out.length - 1];
      if (last && last.node === r.node) {
        last.hi = hi;
        last.weight += weight;
      } else out.push({ lo, hi, node: r.node, weight });
    }
  }
  return out;
}

/**
 * The alternative block body `jset bit ? A : B` for when one side of the syscall bit has a
 * single outcome (typically x86_64 without x32: every x32 number is a bad-arch call). It costs
 * one compare for every call and saves the ranges the bit would cut; {@link cheaper} decides.
 */
function withBitTest(p: NodePool, ranges: readonly NrRange[], bit: number): Node | undefined {
  const set = sideOf(ranges, bit, true);
  const clear = sideOf(ranges, bit, false);
  if (set.length === 1 && clear.length > 1) return p.jmp('jset', bit, set[0].node, searchTree(p, clear));
  if (clear.length === 1 && set.length > 1) return p.jmp('jset', bit, searchTree(p, set), clear[0].node);
  return undefined;
}

/** Compares on the way to each range's outcome, weighted; and the number of compares in the tree. */
function treeCost(root: Node, ranges: readonly NrRange[]): { cost: number; size: number } {
  let cost = 0;
  for (const r of ranges) {
    let n = root;
    let steps = 0;
    while (n.kind === 'jmp') {
      n = holds(n.op, r.lo, n.k) ? n.t : n.f;
      steps++;
    }
    cost += (r.weight + EPSILON) * steps;
  }
  const seen = new Set<Node>();
  const walk = (n: Node): void => {
    if (n.kind !== 'jmp' || seen.has(n)) return;
    seen.add(n);
    walk(n.t);
    walk(n.f);
  };
  walk(root);
  return { cost, size: seen.size };
}

/** The cheaper of two block bodies: lower weighted cost, then fewer compares; ties keep `a`. */
function cheaper(a: Node, b: Node | undefined, ranges: readonly NrRange[]): Node {
  if (!b) return a;
  const ca = treeCost(a, ranges);
  const cb = treeCost(b, ranges);
  if (cb.cost < ca.cost - 1e-6 || (Math.abs(cb.cost - ca.cost) <= 1e-6 && cb.size < ca.size)) return b;
  return a;
}

/** The root node of the whole program. */
export function buildGraph(resolved: ResolvedPolicy): Node {
  const counter = { next: 0 };
  // Group the listed ABIs by AUDIT_ARCH value, in the order first listed.
  const groups: ResolvedArch[][] = [];
  for (const ra of resolved.arches) {
    const g = groups.find((x) => x[0].arch.auditArch === ra.arch.auditArch);
    if (g) g.push(ra);
    else groups.push([ra]);
  }
  if (groups.length === 0) return new NodePool(counter).ret(resolved.badArchAction);
  // Each block has its own pool, so its returns sit next to it and branches stay short. The
  // dispatch shares the last block's pool: its bad-arch return is usually one that block has too.
  const pools = groups.map(() => new NodePool(counter));
  const last = pools[pools.length - 1];
  let dispatch: Node = last.ret(resolved.badArchAction);
  const entries = groups.map((g, i) => {
    const p = pools[i];
    const ranges = blockRanges(p, g, p.ret(resolved.badArchAction));
    const tree = searchTree(p, ranges);
    const bit = siblings(g[0].arch).reduce((m, a) => m | a.syscallBit, 0) >>> 0;
    // A leading JSET costs every call one compare: it can only pay off in small trees.
    const alt = bit && ranges.length <= 16 ? withBitTest(p, ranges, bit) : undefined;
    return p.ld(SECCOMP_DATA_NR, cheaper(tree, alt, ranges));
  });
  for (let i = groups.length - 1; i >= 0; i--) dispatch = last.jmp('jeq', groups[i][0].arch.auditArch, entries[i], dispatch);
  return last.ld(SECCOMP_DATA_ARCH, dispatch);
}

const CODE = {
  ld: BPF_LD | BPF_W | BPF_ABS,
  and: BPF_ALU | BPF_AND | BPF_K,
  ret: BPF_RET | BPF_K,
  jeq: BPF_JMP | BPF_JEQ | BPF_K,
  jgt: BPF_JMP | BPF_JGT | BPF_K,
  jge: BPF_JMP | BPF_JGE | BPF_K,
  jset: BPF_JMP | BPF_JSET | BPF_K,
} as const;

/**
 * Lay the DAG out as a program: reverse post-order (every edge points forward), visiting the
 * child that should fall through last so it lands right after its parent.
 */
export function layout(root: Node): Instruction[] {
  // Predecessor counts (by node id) decide which branch falls through: the less shared one.
  const preds: number[] = [];
  const seen: boolean[] = [];
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen[n.id]) continue;
    seen[n.id] = true;
    if (n.kind === 'jmp') {
      preds[n.t.id] = (preds[n.t.id] ?? 0) + 1;
      preds[n.f.id] = (preds[n.f.id] ?? 0) + 1;
      stack.push(n.t, n.f);
    } else if (n.kind !== 'ret') {
      preds[n.next.id] = (preds[n.next.id] ?? 0) + 1;
      stack.push(n.next);
    }
  }
  // Iterative DFS producing post-order; a jump visits the child to fall through to last.
  const order: Node[] = [];
  const done: boolean[] = [];
  const work: Node[] = [root];
  const step: number[] = [0];
  done[root.id] = true;
  while (work.length) {
    const top = work.length - 1;
    const n = work[top];
    const i = step[top]++;
    let c: Node | undefined;
    if (n.kind === 'jmp') {
      const tFirst = (preds[n.t.id] ?? 0) >= (preds[n.f.id] ?? 0);
      c = i === 0 ? (tFirst ? n.t : n.f) : i === 1 ? (tFirst ? n.f : n.t) : undefined;
    } else if (n.kind !== 'ret') {
      c = i === 0 ? n.next : undefined;
    }
    if (c === undefined) {
      order.push(n);
      work.pop();
      step.pop();
    } else if (!done[c.id]) {
      done[c.id] = true;
      work.push(c);
      step.push(0);
    }
  }
  order.reverse();

  // Every jump goes forward, so by the time a node is emitted all references to it are known:
  // only referenced nodes get a label.
  const asm = new Assembler();
  const referenced: boolean[] = [];
  const ref = (n: Node): string => {
    referenced[n.id] = true;
    return `n${n.id}`;
  };
  for (let i = 0; i < order.length; i++) {
    const n = order[i];
    const following = order[i + 1];
    if (referenced[n.id]) asm.label(`n${n.id}`);
    switch (n.kind) {
      case 'ret':
        asm.emit(stmt(CODE.ret, n.k));
        break;
      case 'ld':
      case 'and':
        asm.emit(stmt(CODE[n.kind], n.kind === 'ld' ? n.off : n.k));
        if (following !== n.next) asm.ja(ref(n.next));
        break;
      case 'jmp':
        asm.jump(CODE[n.op], n.k, n.t === following ? null : ref(n.t), n.f === following ? null : ref(n.f));
        break;
    }
  }
  return asm.assemble();
}

/** Compile a resolved policy to a seccomp program (deterministic: same policy, same bytes). */
export function generate(resolved: ResolvedPolicy): Instruction[] {
  return layout(buildGraph(resolved));
}
