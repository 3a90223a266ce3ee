/**
 * Graphviz (DOT) output of a seccomp filter: its control-flow graph as a decision tree.
 *
 * Straight-line runs of instructions become one box (their disassembly, one line each); a
 * conditional jump ends a box with its condition, and its two edges are labelled `yes`/`no`.
 * Every `return K` becomes one shared leaf per distinct value, coloured by action (allow green,
 * log light green, errno orange, trap/trace/user_notif yellow and blue, kill red), so the graph
 * shows at a glance which paths end where. Unreachable instructions are left out.
 *
 * Names come from the text disassembler ({@link disassembleLines}) and therefore need the same
 * {@link Symbols} it takes; this file knows no architectures.
 */
import { errnoName } from './errno.js';
import type { Program } from './insn.js';
import { opInfo } from './opcodes.js';
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, decodeAction, type ActionName } from './seccomp.js';
import { checkedArches, disassembleLines, type TextOptions } from './text.js';

/** The AUDIT_ARCH a program checks, when it checks exactly one. */
function soleArch(program: Program): number | undefined {
  const a = checkedArches(program);
  return a.length === 1 ? a[0] : undefined;
}

/** Options of {@link toDot}: the disassembler's, plus a title. */
export interface DotOptions extends TextOptions {
  /** Shown as the graph's label (e.g. the file name). */
  title?: string;
}

/** Fill colour of a return leaf per action. */
const ACTION_COLOURS: Readonly<Record<ActionName, string>> = {
  allow: '#8fd18f',
  log: '#d4edbc',
  errno: '#f5b461',
  trap: '#f7e07b',
  trace: '#a8c8f0',
  user_notif: '#c7b8ef',
  kill_thread: '#f08080',
  kill_process: '#e05050',
};

/** A DOT double-quoted string body: backslashes and quotes escaped; newlines are handled by the caller. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** The statement part of a disassembled line (after `NNNN: code jt jf k  `), comment dropped. */
function statementOf(line: string): string {
  const m = /^\s*\d+: 0x[0-9a-f]{2} 0x[0-9a-f]{2} 0x[0-9a-f]{2} 0x[0-9a-f]{8} {2}(.*)$/.exec(line);
  const text = m ? m[1]! : line.trim();
  const hash = text.indexOf('  # ');
  return hash >= 0 ? text.slice(0, hash) : text;
}

/** The condition of a disassembled conditional jump as printed, e.g. `A == read` or `A != read`. */
function conditionOf(stmt: string): string {
  const m = /^if \((.*)\) goto \d+( else goto \d+)?$/.exec(stmt);
  return m ? m[1]! : stmt;
}

/** Label of a return leaf: `ALLOW`, `ERRNO(1) EPERM`, `KILL_PROCESS`. */
function leafLabel(stmt: string, k: number): string {
  const text = stmt.replace(/^return /, '');
  const a = decodeAction(k);
  if (a.name === 'errno') {
    const n = errnoName(a.data);
    if (n) return `${text} ${n}`;
  }
  return text;
}

/**
 * For each instruction: whether A holds seccomp_data.nr, and the AUDIT_ARCH proven on every path
 * to it (from `A == ARCH_X` branches), so range checks on nr can be labelled with syscall names.
 */
function nrStates(program: Program, succ: (pc: number) => number[], initialArch: number | undefined): { nr: boolean; arch: number | undefined }[] {
  type St = { a: 'arch' | 'nr' | 'other'; arch: number | undefined };
  const n = program.length;
  const inc: (St | undefined)[] = new Array(n).fill(undefined);
  if (n > 0) inc[0] = { a: 'other', arch: initialArch };
  const merge = (t: number, st: St) => {
    const p = inc[t];
    inc[t] = !p ? st : { a: p.a === st.a ? st.a : 'other', arch: p.arch === st.arch ? st.arch : undefined };
  };
  const out: { nr: boolean; arch: number | undefined }[] = [];
  for (let pc = 0; pc < n; pc++) {
    const st = inc[pc] ?? { a: 'other', arch: initialArch };
    out.push({ nr: st.a === 'nr', arch: st.arch });
    const insn = program[pc]!;
    const e = opInfo(insn.code)?.effect;
    let next: St = st;
    if (e?.kind === 'load' && e.dst === 'A') {
      next = { a: e.mode === 'abs' && insn.k === SECCOMP_DATA_NR ? 'nr' : e.mode === 'abs' && insn.k === SECCOMP_DATA_ARCH ? 'arch' : 'other', arch: st.arch };
    } else if (e?.kind === 'alu' || (e?.kind === 'misc' && e.op === 'txa')) next = { a: 'other', arch: st.arch };
    const s = succ(pc);
    if (e?.kind === 'jmp' && e.op === 'jeq' && e.src === 'K' && st.a === 'arch' && s.length === 2) {
      merge(s[0]!, { a: 'arch', arch: insn.k >>> 0 });
      merge(s[1]!, { a: 'arch', arch: st.arch === insn.k >>> 0 ? undefined : st.arch });
    } else for (const t of s) merge(t, next);
  }
  return out;
}

/**
 * The program as a Graphviz digraph (see the module comment). The text is deterministic: the
 * same program and options always give the same output, so it can be kept as a golden file.
 */
export function toDot(program: Program, opts: DotOptions = {}): string {
  const n = program.length;
  const lines = disassembleLines(program, opts).map(statementOf);
  const succ = (pc: number): number[] => {
    const insn = program[pc]!;
    const info = opInfo(insn.code);
    if (!info || !info.seccomp || info.effect.kind === 'ret') return [];
    if (info.effect.kind === 'jmp') {
      const t = info.conditional ? [pc + 1 + insn.jt, pc + 1 + insn.jf] : [pc + 1 + insn.k];
      return t.filter((x) => x < n);
    }
    return pc + 1 < n ? [pc + 1] : [];
  };
  const isRetK = (pc: number): boolean => opInfo(program[pc]!.code)?.name === 'ret_k';
  const states = opts.symbols ? nrStates(program, succ, opts.defaultArch ?? soleArch(program) ?? opts.fallbackArch) : [];
  /** ` (socket)`: the syscall a range check on nr starts or ends at, when the arch is proven. */
  const rangeName = (pc: number): string => {
    const insn = program[pc]!;
    const name = opInfo(insn.code)?.name;
    const st = states[pc];
    if (!st?.nr || st.arch === undefined || (name !== 'jge_k' && name !== 'jgt_k')) return '';
    const sys = opts.symbols!.syscallName(st.arch, insn.k >>> 0);
    return sys ? ` (${sys})` : '';
  };
  const isBranch = (pc: number): boolean => {
    const info = opInfo(program[pc]!.code);
    return info !== undefined && info.effect.kind === 'jmp';
  };

  // Reachability and predecessor counts (jumps only go forward, so one pass in order works).
  const reach = new Array<boolean>(n).fill(false);
  const preds = new Array<number>(n).fill(0);
  if (n > 0) reach[0] = true;
  for (let pc = 0; pc < n; pc++) {
    if (!reach[pc]) continue;
    for (const s of new Set(succ(pc))) {
      reach[s] = true;
      preds[s]++;
    }
  }
  // A block starts at 0, at any join or jump target, and after any jump or return.
  const leader = (pc: number): boolean => pc === 0 || preds[pc] !== 1 || isBranch(pc - 1) || succ(pc - 1).length === 0;

  const out: string[] = [];
  out.push('digraph seccomp {');
  if (opts.title !== undefined) out.push(`  label="${esc(opts.title)}"; labelloc=t;`);
  out.push('  node [shape=box, fontname="monospace", fontsize=10];');
  out.push('  edge [fontname="monospace", fontsize=9];');

  const leaves = new Map<number, string>();
  const leafId = (pc: number): string => {
    const k = program[pc]!.k >>> 0;
    let id = leaves.get(k);
    if (id === undefined) {
      id = `ret_${k.toString(16).padStart(8, '0')}`;
      leaves.set(k, id);
      const colour = ACTION_COLOURS[decodeAction(k).name];
      out.push(`  ${id} [label="${esc(leafLabel(lines[pc]!, k))}", shape=ellipse, style=filled, fillcolor="${colour}"];`);
    }
    return id;
  };
  // Where an edge into `pc` lands: the shared leaf for a lone `return K`, else the block.
  const target = (pc: number): string => (isRetK(pc) ? leafId(pc) : `b${pc}`);

  const edges: string[] = [];
  if (n > 0 && isRetK(0)) leafId(0);
  for (let start = 0; start < n; start++) {
    if (!reach[start] || !leader(start) || isRetK(start)) continue;
    const body: string[] = [];
    let pc = start;
    for (;;) {
      const s = succ(pc);
      if (isBranch(pc) || s.length !== 1 || leader(s[0]!) || isRetK(s[0]!)) break;
      body.push(`${String(pc).padStart(4, '0')}: ${lines[pc]}`);
      pc = s[0]!;
    }
    const insn = program[pc]!;
    const info = opInfo(insn.code);
    const id = `b${start}`;
    const tag = `${String(pc).padStart(4, '0')}: `;
    if (info?.conditional && info.seccomp) {
      const cond = conditionOf(lines[pc]!);
      // The disassembler prints the negated condition (`if (A != x) goto jf`) when jt is 0.
      const negated = insn.jt === 0 && insn.jf !== 0;
      body.push(`${tag}${cond}${rangeName(pc)} ?`);
      const t = pc + 1 + insn.jt;
      const f = pc + 1 + insn.jf;
      // Label edges by the printed condition, so `A != read ?` reads `yes` toward the not-read path.
      const [yes, no] = negated ? [f, t] : [t, f];
      if (yes < n) edges.push(`  ${id} -> ${target(yes)} [label="yes"];`);
      if (no < n) edges.push(`  ${id} -> ${target(no)} [label="no", style=dashed];`);
    } else if (isRetK(pc)) {
      edges.push(`  ${id} -> ${leafId(pc)};`);
    } else {
      body.push(`${tag}${lines[pc]}`);
      for (const s of succ(pc)) edges.push(`  ${id} -> ${target(s)};`);
      if (info?.effect.kind === 'ret') {
        out.push(`  ${id}_end [label="(value of A)", shape=ellipse];`);
        edges.push(`  ${id} -> ${id}_end;`);
      }
    }
    out.push(`  ${id} [label="${body.map((l) => esc(l) + '\\l').join('')}"];`);
  }
  out.push(...edges);
  out.push('}');
  return out.join('\n') + '\n';
}
