/**
 * The text form of seccomp filters: a disassembler and an assembler for the same language.
 *
 * One instruction per line, in the layout seccomp-tools made familiar:
 *
 *      0001: 0x15 0x00 0x05 0xc000003e  if (A != ARCH_X86_64) goto 0007
 *
 * The `NNNN: code jt jf k` prefix is optional on input; when present its number is a label for
 * `goto NNNN` and its hex must equal what the statement assembles to. Named labels (`name:`)
 * work too. Every decodable program has a text form that assembles back to the same bytes:
 * instructions without a statement form are written `.insn CODE JT JF K`.
 *
 * Names (ARCH_X86_64, syscall names, args[i]) need a {@link Symbols} implementation, because
 * this layer knows no architectures. Syscall names are printed only where a simple forward
 * dataflow proves which architecture is in force, and only when the assembler maps the name
 * back to the same number in the same context; everything else is printed in hex.
 */
import { Assembler } from './builder.js';
import type { Endian } from './codec.js';
import { errnoNumber } from './errno.js';
import { BpfError, BpfInternalError } from './errors.js';
import { insnEqual, stmt, type Instruction, type Program } from './insn.js';
import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET,
  BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MEM, BPF_MISC, BPF_MOD, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH,
  BPF_ST, BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR, opInfo, type AluOp, type JmpOp, type OpInfo,
} from './opcodes.js';
import {
  SECCOMP_DATA_ARCH, SECCOMP_DATA_ARGS, SECCOMP_DATA_IP, SECCOMP_DATA_NR, SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE, SECCOMP_RET_TRAP, SECCOMP_RET_USER_NOTIF, decodeAction,
} from './seccomp.js';

/**
 * Symbols: what the text layer needs to know about architectures, supplied from outside
 * (src/symbols.ts implements it from src/arch) so that bpf/ imports nothing.
 */
export interface Symbols {
  /** Canonical name of an AUDIT_ARCH_* value (e.g. `x86_64`, printed as ARCH_X86_64), or undefined. */
  archName(audit: number): string | undefined;
  /** AUDIT_ARCH_* value of an architecture name (case-insensitive; `x86_64` for ARCH_X86_64), or undefined. */
  archValue(name: string): number | undefined;
  /** Name of syscall `nr` under the architecture `audit`, or undefined. */
  syscallName(audit: number, nr: number): string | undefined;
  /** Number of syscall `name` under the architecture `audit`, or undefined. */
  syscallNumber(audit: number, name: string): number | undefined;
  /** Byte order of the architecture `audit`; for undefined, the host's. */
  endian(audit: number | undefined): Endian;
  /** A comment for a syscall number that has no round-trippable name, e.g. `x32 read`; optional. */
  describeSyscall?(audit: number, nr: number): string | undefined;
}

/** Options shared by {@link disassemble} and {@link assemble}; both must get the same ones for a round trip. */
export interface TextOptions {
  /** Names for architectures and syscalls; without it everything is hex. */
  symbols?: Symbols;
  /** AUDIT_ARCH_* value assumed where the filter has not proven one (e.g. from `--arch`). */
  defaultArch?: number;
  /** Used when there is no defaultArch and the filter does not check exactly one architecture (e.g. the host's). */
  fallbackArch?: number;
  /** Byte order of struct seccomp_data, deciding which offset is the low word of args[i]; default: from the arch. */
  endian?: Endian;
}

/** Options of {@link disassemble}. */
export interface DisassembleOptions extends TextOptions {
  /** Print the two-line column header first (default false). */
  header?: boolean;
}

/** The column header {@link disassemble} prints with `header: true` (the assembler skips it). */
export const TEXT_HEADER = ' line  CODE  JT   JF      K\n=================================';

// ---------------------------------------------------------------------------------------------
// Shared: number formats, data offsets, return values, arch dataflow.

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;
const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
const lineNo = (pc: number): string => String(pc).padStart(4, '0');

/** `0x20 0x00 0x00 0x00000004`: the raw columns of one instruction. */
function rawColumns(insn: Instruction): string {
  return `${hex2(insn.code)} ${hex2(insn.jt)} ${hex2(insn.jf)} ${hex8(insn.k)}`;
}

/** The name of a 32-bit word of struct seccomp_data at offset k, e.g. `args[1] >> 32`, given the byte order. */
function dataName(k: number, endian: Endian): string {
  if (k === SECCOMP_DATA_NR) return 'sys_number';
  if (k === SECCOMP_DATA_ARCH) return 'arch';
  const hiFirst = endian === 'big';
  if (k === SECCOMP_DATA_IP || k === SECCOMP_DATA_IP + 4) {
    return (k === SECCOMP_DATA_IP) === hiFirst ? 'instruction_pointer >> 32' : 'instruction_pointer';
  }
  if (k >= SECCOMP_DATA_ARGS && k < SECCOMP_DATA_ARGS + 48 && k % 4 === 0) {
    const i = (k - SECCOMP_DATA_ARGS) >> 3;
    const first = k % 8 === 0;
    return first === hiFirst ? `args[${i}] >> 32` : `args[${i}]`;
  }
  return `data[${hex(k)}]`;
}

/** Offset of the low (or high) word of instruction_pointer (index 'ip') or args[index]. */
function dataOffset(index: number | 'ip', high: boolean, endian: Endian): number {
  const base = index === 'ip' ? SECCOMP_DATA_IP : SECCOMP_DATA_ARGS + 8 * index;
  return base + (high === (endian === 'little') ? 4 : 0);
}

const RET_NAMES: readonly [string, number][] = [
  ['ALLOW', SECCOMP_RET_ALLOW], ['KILL_PROCESS', SECCOMP_RET_KILL_PROCESS], ['KILL_THREAD', SECCOMP_RET_KILL_THREAD],
  ['LOG', SECCOMP_RET_LOG], ['USER_NOTIF', SECCOMP_RET_USER_NOTIF],
];
/** Actions written NAME(n) with 16-bit data. */
const RET_WITH_DATA: readonly [string, number][] = [['ERRNO', SECCOMP_RET_ERRNO], ['TRAP', SECCOMP_RET_TRAP], ['TRACE', SECCOMP_RET_TRACE]];

/** `ERRNO(1)`, `ALLOW`, or undefined when no name reproduces `k` exactly. */
function retName(k: number): string | undefined {
  const plain = RET_NAMES.find(([, v]) => v === k);
  if (plain) return plain[0];
  const full = (k & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = k & SECCOMP_RET_DATA;
  const d = RET_WITH_DATA.find(([, v]) => v === full);
  if (!d) return undefined;
  return d[0] === 'TRAP' && data === 0 ? 'TRAP' : `${d[0]}(${data})`;
}

/** What A holds, as far as naming constants is concerned. */
type AContent = 'arch' | 'nr' | 'other';

/** Abstract state before an instruction: what A holds, and the architecture in force (undefined = unknown). */
interface FlowState {
  readonly a: AContent;
  readonly arch: number | undefined;
}

/** One instruction as the dataflow sees it. */
interface FlowNode {
  /** What the instruction leaves in A ('keep' = unchanged). */
  readonly sets: AContent | 'keep';
  /** Indices of successors that exist (later instructions only). */
  readonly succ: readonly number[];
  /** For `JEQ K`: the true successor and the constant (looked up lazily: only needed when A holds the arch). */
  readonly eq?: { readonly t: number; readonly k: () => number | undefined };
}

/** What a statement-form instruction leaves in A. */
function setsOf(info: OpInfo, k: number): AContent | 'keep' {
  const e = info.effect;
  switch (e.kind) {
    case 'load':
      if (e.dst === 'X') return 'keep';
      if (e.mode === 'abs' && e.size === 4) return k === SECCOMP_DATA_NR ? 'nr' : k === SECCOMP_DATA_ARCH ? 'arch' : 'other';
      return 'other';
    case 'alu': return 'other';
    case 'misc': return e.op === 'txa' ? 'other' : 'keep';
    default: return 'keep';
  }
}

/** Successors of an instruction taken as raw bits (`.insn`): in-range targets only. */
function rawSucc(insn: Instruction, pc: number, n: number): number[] {
  const info = opInfo(insn.code);
  const inRange = (t: number) => t < n;
  if (!info || info.effect.kind === 'ret') return [];
  if (info.effect.kind === 'jmp') {
    if (!info.conditional) return [pc + 1 + insn.k].filter(inRange);
    return [pc + 1 + insn.jt, pc + 1 + insn.jf].filter(inRange);
  }
  return [pc + 1].filter(inRange);
}

/**
 * Forward dataflow over a program with forward-only jumps, so one pass in order suffices.
 * A `JEQ K` while A holds the arch fixes the arch on its true edge (and makes it unknown on the
 * false edge if it was that value); where paths meet, different knowledge becomes unknown.
 * Unreachable instructions start from the initial state. `onEq` sees every arch comparison.
 */
function flow(nodes: readonly FlowNode[], initialArch: number | undefined, onEq?: (k: number | undefined) => void): FlowState[] {
  const n = nodes.length;
  const incoming: (FlowState | undefined)[] = new Array(n).fill(undefined);
  incoming[0] = { a: 'other', arch: initialArch };
  const merge = (i: number, s: FlowState) => {
    if (i >= n) return;
    const p = incoming[i];
    incoming[i] = p === undefined ? s : { a: p.a === s.a ? s.a : 'other', arch: p.arch === s.arch ? s.arch : undefined };
  };
  const states: FlowState[] = [];
  for (let i = 0; i < n; i++) {
    const st = incoming[i] ?? { a: 'other', arch: initialArch };
    states.push(st);
    const node = nodes[i];
    const out: FlowState = node.sets === 'keep' ? st : { a: node.sets, arch: st.arch };
    if (node.eq && st.a === 'arch') {
      const k = node.eq.k();
      onEq?.(k);
      const [t, f] = node.succ;
      merge(t, { a: st.a, arch: k });
      merge(f, { a: st.a, arch: st.arch === k ? undefined : st.arch });
    } else {
      for (const s of node.succ) merge(s, out);
    }
  }
  return states;
}

/** The architecture names are written ARCH_<NAME>. */
const ARCH_PREFIX = 'ARCH_';
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Resolves a name in a jump's K operand, or explains why it cannot. Shared so printing can check the round trip. */
function resolveName(name: string, st: FlowState, symbols: Symbols | undefined): number | string {
  if (!symbols) return `"${name}" is a name, but no architecture symbols were given (use a number)`;
  if (name.startsWith(ARCH_PREFIX)) {
    const v = symbols.archValue(name.slice(ARCH_PREFIX.length).toLowerCase());
    return v ?? `unknown architecture "${name}"`;
  }
  if (st.a !== 'nr') return `"${name}" is not a number or an ARCH_ name (a syscall name needs A = sys_number before it)`;
  if (st.arch === undefined) {
    return `syscall name "${name}" needs a known architecture here (check A = arch first, or give a default arch)`;
  }
  const nr = symbols.syscallNumber(st.arch, name);
  if (nr !== undefined) return nr;
  const an = symbols.archName(st.arch);
  return `unknown syscall "${name}" for ${an ? ARCH_PREFIX + an.toUpperCase() : `arch ${hex(st.arch)}`}`;
}

/** The arch values a program compares A = arch against, with the A-content analysis. */
function archConstants(nodes: readonly FlowNode[]): number[] {
  const seen = new Set<number>();
  flow(nodes, undefined, (k) => {
    if (k !== undefined) seen.add(k);
  });
  return [...seen];
}

function defaultArchOf(opts: TextOptions, nodes: readonly FlowNode[]): number | undefined {
  if (opts.defaultArch !== undefined) return opts.defaultArch >>> 0;
  const checked = archConstants(nodes);
  return checked.length === 1 ? checked[0] : opts.fallbackArch;
}

function endianOf(opts: TextOptions, arch: number | undefined): Endian {
  return opts.endian ?? opts.symbols?.endian(arch) ?? 'little';
}

// ---------------------------------------------------------------------------------------------
// Disassembler.

const ALU_SYMBOL: Readonly<Record<Exclude<AluOp, 'neg'>, string>> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', and: '&=', or: '|=', xor: '^=', lsh: '<<=', rsh: '>>=', mod: '%=',
};
const JMP_SYMBOL: Readonly<Record<Exclude<JmpOp, 'ja'>, readonly [pos: string, neg: string]>> = {
  jeq: ['==', '!='], jgt: ['>', '<='], jge: ['>=', '<'], jset: ['&', '&'],
};

/** Whether the instruction uses its k field (an unused nonzero k has no statement form). */
function usesK(info: OpInfo): boolean {
  const e = info.effect;
  switch (e.kind) {
    case 'load': return e.mode !== 'len';
    case 'store': return true;
    case 'alu': return e.src === 'K';
    case 'jmp': return e.src === 'K';
    case 'ret': return e.src === 'K';
    case 'misc': return false;
  }
}

/** Whether `insn` at `pc` has a statement form (otherwise it is printed as `.insn`). */
function hasStatement(insn: Instruction, pc: number, n: number): boolean {
  const info = opInfo(insn.code);
  if (!info) return false;
  const e = info.effect;
  if (!usesK(info) && insn.k !== 0) return false;
  if (e.kind === 'load' && (e.mode === 'ind' || e.mode === 'msh' || (e.mode === 'abs' && e.size !== 4))) return false;
  if (info.conditional) return pc + 1 + insn.jt < n && pc + 1 + insn.jf < n;
  if (insn.jt !== 0 || insn.jf !== 0) return false;
  if (e.kind === 'jmp') return pc + 1 + insn.k < n;
  return true;
}

/** The dataflow nodes of a decoded program (same rules as the assembler applies to its statements). */
function programNodes(program: Program): FlowNode[] {
  const n = program.length;
  return program.map((insn, pc): FlowNode => {
    if (!hasStatement(insn, pc, n)) return { sets: 'other', succ: rawSucc(insn, pc, n) };
    const info = opInfo(insn.code)!;
    const succ = rawSucc(insn, pc, n);
    const eq = info.name === 'jeq_k' ? { t: succ[0], k: () => insn.k } : undefined;
    return { sets: setsOf(info, insn.k), succ, eq };
  });
}

/** Statement text and optional comment for one instruction that has a statement form. */
function statement(insn: Instruction, pc: number, st: FlowState, endian: Endian, symbols: Symbols | undefined): [string, string?] {
  const info = opInfo(insn.code)!;
  const e = info.effect;
  const k = insn.k >>> 0;
  const goto = (off: number) => `goto ${lineNo(pc + 1 + off)}`;
  switch (e.kind) {
    case 'load': {
      const dst = e.dst;
      switch (e.mode) {
        case 'imm': return [`${dst} = ${hex(k)}`];
        case 'len': return [`${dst} = len`];
        case 'mem': return [`${dst} = mem[${k}]`];
        default: return [`A = ${dataName(k, endian)}`];
      }
    }
    case 'store': return [`mem[${k}] = ${e.src}`];
    case 'alu':
      if (e.op === 'neg') return ['A = -A'];
      return [`A ${ALU_SYMBOL[e.op]} ${e.src === 'X' ? 'X' : hex(k)}`];
    case 'misc': return [e.op === 'tax' ? 'X = A' : 'A = X'];
    case 'ret': {
      if (e.src === 'A') return ['return A'];
      const name = retName(k);
      if (name) return [`return ${name}`];
      return [`return ${hex(k)}`, `acts as ${decodeAction(k).name.toUpperCase()}`];
    }
    case 'jmp': {
      if (e.op === 'ja') return [goto(k)];
      let operand = 'X';
      let comment: string | undefined;
      if (e.src === 'K') {
        [operand, comment] = constantText(e.op, k, st, symbols);
      }
      const [pos, neg] = JMP_SYMBOL[e.op];
      const cond = (negate: boolean) =>
        e.op === 'jset' ? (negate ? `!(A & ${operand})` : `A & ${operand}`) : `A ${negate ? neg : pos} ${operand}`;
      let text: string;
      if (insn.jf === 0) text = `if (${cond(false)}) ${goto(insn.jt)}`;
      else if (insn.jt === 0) text = `if (${cond(true)}) ${goto(insn.jf)}`;
      else text = `if (${cond(false)}) ${goto(insn.jt)} else ${goto(insn.jf)}`;
      return [text, comment];
    }
  }
}

/** A jump constant as a name when the assembler maps it back to k in this state, else hex (with a hint). */
function constantText(op: Exclude<JmpOp, 'ja'>, k: number, st: FlowState, symbols: Symbols | undefined): [string, string?] {
  if (!symbols || op !== 'jeq' || st.a === 'other') return [hex(k)];
  let name: string | undefined;
  if (st.a === 'arch') {
    const an = symbols.archName(k);
    if (an !== undefined) name = ARCH_PREFIX + an.toUpperCase();
  } else if (st.arch !== undefined) {
    name = symbols.syscallName(st.arch, k);
  }
  if (name !== undefined && IDENT.test(name) && name !== 'X' && resolveName(name, st, symbols) === k) return [name];
  if (st.a === 'nr' && st.arch !== undefined) return [hex(k), symbols.describeSyscall?.(st.arch, k)];
  return [hex(k)];
}

/** Why an instruction is printed raw, as a comment. */
function rawComment(insn: Instruction, pc: number, n: number): string {
  const info = opInfo(insn.code);
  if (!info) return 'unknown opcode';
  if (info.effect.kind === 'jmp') {
    const targets = info.conditional ? [insn.jt, insn.jf] : [insn.k];
    if (targets.some((off) => pc + 1 + off >= n)) return `${info.name}: jump past the end`;
  }
  return info.name;
}

/**
 * Disassemble a program into one line per instruction (no header), e.g.
 * ` 0000: 0x20 0x00 0x00 0x00000004  A = arch`. Used by {@link disassemble} and for traces.
 */
export function disassembleLines(program: Program, opts: TextOptions = {}): string[] {
  const n = program.length;
  const nodes = programNodes(program);
  const arch = defaultArchOf(opts, nodes);
  const endian = endianOf(opts, arch);
  const states = flow(nodes, arch);
  return program.map((insn, pc) => {
    let text: string;
    let comment: string | undefined;
    if (hasStatement(insn, pc, n)) [text, comment] = statement(insn, pc, states[pc], endian, opts.symbols);
    else [text, comment] = [`.insn ${rawColumns(insn)}`, rawComment(insn, pc, n)];
    return ` ${lineNo(pc)}: ${rawColumns(insn)}  ${text}${comment ? `  # ${comment}` : ''}`;
  });
}

/**
 * Disassemble a program into the text language (see the module comment). {@link assemble}
 * with the same options reproduces the program exactly.
 */
export function disassemble(program: Program, opts: DisassembleOptions = {}): string {
  const lines = disassembleLines(program, opts);
  if (opts.header) lines.unshift(TEXT_HEADER);
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** The distinct AUDIT_ARCH values the program compares `A = arch` against, in order of appearance. */
export function checkedArches(program: Program): number[] {
  return archConstants(programNodes(program));
}

// ---------------------------------------------------------------------------------------------
// Assembler: tokenizer, line parser, name resolution with the same dataflow, then the builder.

interface Token {
  readonly t: 'id' | 'num' | 'op';
  readonly v: string;
  readonly col: number;
}

const OPS = ['<<=', '>>=', '==', '!=', '>=', '<=', '>>', '<<', '+=', '-=', '*=', '/=', '&=', '|=', '^=', '%=',
  '(', ')', '[', ']', '!', '&', '>', '<', '=', '-', ':', ','];

function tokenize(text: string, line: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    const rest = text.slice(i);
    const m = /^(0x[0-9a-fA-F]+|\d+)(?![A-Za-z0-9_])/.exec(rest) ?? null;
    if (m) {
      out.push({ t: 'num', v: m[1], col: i + 1 });
      i += m[1].length;
      continue;
    }
    const id = /^\.?[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (id) {
      out.push({ t: 'id', v: id[0], col: i + 1 });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op) {
      out.push({ t: 'op', v: op, col: i + 1 });
      i += op.length;
      continue;
    }
    throw new BpfError('PARSE', `line ${line}, column ${i + 1}: unexpected character '${c}'`, undefined, line);
  }
  return out;
}

/** A jump operand: the X register, a number, or a name resolved later. */
type Operand = { readonly kind: 'X' } | { readonly kind: 'num'; readonly v: number } | { readonly kind: 'name'; readonly v: string };

/** A load of a 64-bit field's half, whose offset depends on the byte order decided later. */
interface DataRef {
  readonly index: number | 'ip';
  readonly high: boolean;
}

type Stmt =
  | { readonly kind: 'raw'; readonly insn: Instruction }
  | { readonly kind: 'plain'; readonly code: number; readonly k: number | DataRef }
  | { readonly kind: 'cond'; readonly code: number; readonly operand: Operand; readonly t: string | null; readonly f: string | null }
  | { readonly kind: 'ja'; readonly target: string };

interface Item {
  readonly line: number;
  readonly labels: readonly string[];
  readonly hex?: Instruction;
  readonly stmt: Stmt;
}

const U32_MAX = 0xffffffff;

/** A cursor over one line's tokens, with errors that name the line and column. */
class LineParser {
  private i = 0;
  constructor(
    private readonly toks: readonly Token[],
    readonly line: number,
  ) {}

  fail(msg: string, tok: Token | undefined = this.toks[this.i]): never {
    const where = tok ? `line ${this.line}, column ${tok.col}` : `line ${this.line}`;
    throw new BpfError('PARSE', `${where}: ${msg}${tok ? '' : ' (at end of line)'}`, undefined, this.line);
  }
  peek(off = 0): Token | undefined {
    return this.toks[this.i + off];
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  next(): Token {
    const t = this.toks[this.i];
    if (!t) this.fail('unexpected end of line');
    this.i++;
    return t;
  }
  is(v: string, off = 0): boolean {
    const t = this.peek(off);
    return t !== undefined && t.t !== 'num' && t.v === v;
  }
  accept(v: string): boolean {
    if (!this.is(v)) return false;
    this.i++;
    return true;
  }
  expect(v: string): void {
    const t = this.peek();
    if (!this.accept(v)) this.fail(`expected '${v}'${t ? ` but found '${t.v}'` : ''}`);
  }
  /** A number (decimal or 0x hex) from 0 to max. */
  number(what: string, max = U32_MAX): number {
    const t = this.peek();
    if (!t || t.t !== 'num') this.fail(`expected ${what}${t ? ` but found '${t.v}'` : ''}`);
    this.i++;
    const v = Number(t.v);
    if (!Number.isSafeInteger(v) || v > max) this.fail(`${what} ${t.v} is out of range (0..${hex(max)})`, t);
    return v;
  }
  /** A label reference: a name or a line number. */
  label(): string {
    const t = this.next();
    if (t.t === 'num') {
      if (t.v.startsWith('0x')) this.fail(`jump target '${t.v}' must be a decimal line number or a label name`, t);
      return String(Number(t.v));
    }
    if (t.t === 'id' && IDENT.test(t.v)) return t.v;
    return this.fail(`expected a label or line number but found '${t.v}'`, t);
  }
  end(): void {
    const t = this.peek();
    if (t) this.fail(`unexpected '${t.v}' after the statement`, t);
  }
}

const RET_ALIASES: Readonly<Record<string, number>> = { KILL: SECCOMP_RET_KILL_THREAD };

function parseReturn(p: LineParser): Stmt {
  if (p.accept('A')) return { kind: 'plain', code: BPF_RET | BPF_A, k: 0 };
  const t = p.peek();
  if (t?.t === 'num') return { kind: 'plain', code: BPF_RET | BPF_K, k: p.number('return value') };
  if (t?.t !== 'id') return p.fail('expected a return value (ALLOW, ERRNO(n), a number, A, ...)');
  p.next();
  const plain = RET_NAMES.find(([n]) => n === t.v)?.[1] ?? (Object.hasOwn(RET_ALIASES, t.v) ? RET_ALIASES[t.v] : undefined);
  if (plain !== undefined) return { kind: 'plain', code: BPF_RET | BPF_K, k: plain };
  const withData = RET_WITH_DATA.find(([n]) => n === t.v);
  if (!withData) return p.fail(`unknown action '${t.v}' (expected ALLOW, KILL_PROCESS, KILL_THREAD, ERRNO(n), TRAP, TRACE(n), LOG, USER_NOTIF, a number or A)`, t);
  let data = 0;
  if (p.accept('(')) {
    const d = p.peek();
    if (withData[0] === 'ERRNO' && d?.t === 'id') {
      p.next();
      const n = errnoNumber(d.v);
      if (n === undefined) p.fail(`unknown errno name '${d.v}'`, d);
      data = n;
    } else {
      data = p.number(`${withData[0]} data`, SECCOMP_RET_DATA);
    }
    p.expect(')');
  } else if (withData[0] !== 'TRAP' && withData[0] !== 'TRACE') {
    p.fail(`${withData[0]} needs a value, e.g. ${withData[0]}(1)`);
  }
  return { kind: 'plain', code: BPF_RET | BPF_K, k: (withData[1] | data) >>> 0 };
}

/** `[N]` after `mem`, `args` or `data`. */
function bracket(p: LineParser, what: string): number {
  p.expect('[');
  const k = p.number(what);
  p.expect(']');
  return k;
}

/** `>> 32` after a 64-bit field name: whether it is there. */
function highHalf(p: LineParser): boolean {
  if (!p.accept('>>')) return false;
  const t = p.peek();
  if (p.number('shift') !== 32) p.fail('only `>> 32` (the high word) can follow a 64-bit field', t);
  return true;
}

function parseLoad(p: LineParser, dst: 'A' | 'X'): Stmt {
  const LD = dst === 'A' ? BPF_LD : BPF_LDX;
  const t = p.peek();
  if (!t) return p.fail('expected a value to load');
  if (t.t === 'num') return { kind: 'plain', code: LD | BPF_W | BPF_IMM, k: p.number('constant') };
  p.next();
  switch (t.v) {
    case 'len': return { kind: 'plain', code: LD | BPF_W | BPF_LEN, k: 0 };
    case 'mem': return { kind: 'plain', code: LD | BPF_W | BPF_MEM, k: bracket(p, 'scratch memory index') };
  }
  if (dst === 'X') {
    if (t.v === 'A') return { kind: 'plain', code: BPF_MISC | BPF_TAX, k: 0 };
    return p.fail(`X can be loaded from a number, len, mem[N] or A, not '${t.v}'`, t);
  }
  const ABS = BPF_LD | BPF_W | BPF_ABS;
  switch (t.v) {
    case 'X': return { kind: 'plain', code: BPF_MISC | BPF_TXA, k: 0 };
    case '-':
      p.expect('A');
      return { kind: 'plain', code: BPF_ALU | BPF_NEG, k: 0 };
    case 'sys_number': return { kind: 'plain', code: ABS, k: SECCOMP_DATA_NR };
    case 'arch': return { kind: 'plain', code: ABS, k: SECCOMP_DATA_ARCH };
    case 'instruction_pointer': return { kind: 'plain', code: ABS, k: { index: 'ip', high: highHalf(p) } };
    case 'args': {
      const index = bracket(p, 'args index');
      if (index > 5) p.fail(`args index ${index} is out of range (0..5)`);
      return { kind: 'plain', code: ABS, k: { index, high: highHalf(p) } };
    }
    case 'data': return { kind: 'plain', code: ABS, k: bracket(p, 'data offset') };
  }
  return p.fail(`unknown value '${t.v}' (expected a number, arch, sys_number, args[i], instruction_pointer, data[N], len, mem[N], X or -A)`, t);
}

const ALU_BY_SYMBOL: ReadonlyMap<string, number> = new Map([
  ['+=', BPF_ADD], ['-=', BPF_SUB], ['*=', BPF_MUL], ['/=', BPF_DIV], ['&=', BPF_AND], ['|=', BPF_OR], ['^=', BPF_XOR],
  ['<<=', BPF_LSH], ['>>=', BPF_RSH], ['%=', BPF_MOD],
]);
/** Comparison symbol -> [jump op, negated]. */
const CMP: ReadonlyMap<string, readonly [number, boolean]> = new Map([
  ['==', [BPF_JEQ, false]], ['!=', [BPF_JEQ, true]], ['>', [BPF_JGT, false]], ['<=', [BPF_JGT, true]],
  ['>=', [BPF_JGE, false]], ['<', [BPF_JGE, true]],
]);

function parseOperand(p: LineParser): Operand {
  const t = p.peek();
  if (t?.t === 'num') return { kind: 'num', v: p.number('constant') };
  if (t?.t === 'id' && IDENT.test(t.v)) {
    p.next();
    return t.v === 'X' ? { kind: 'X' } : { kind: 'name', v: t.v };
  }
  return p.fail(`expected X, a number or a name${t ? ` but found '${t.v}'` : ''}`);
}

function parseIf(p: LineParser): Stmt {
  p.expect('(');
  let op: number;
  let negate: boolean;
  let operand: Operand;
  if (p.accept('!')) {
    p.expect('(');
    p.expect('A');
    p.expect('&');
    operand = parseOperand(p);
    p.expect(')');
    [op, negate] = [BPF_JSET, true];
  } else {
    p.expect('A');
    const t = p.next();
    if (t.v === '&') [op, negate] = [BPF_JSET, false];
    else {
      const c = t.t === 'op' ? CMP.get(t.v) : undefined;
      if (!c) return p.fail(`expected a comparison (==, !=, >, >=, <, <=, &) but found '${t.v}'`, t);
      [op, negate] = c;
    }
    operand = parseOperand(p);
  }
  p.expect(')');
  p.expect('goto');
  const first = p.label();
  let second: string | null = null;
  if (p.accept('else')) {
    p.expect('goto');
    second = p.label();
  }
  const code = BPF_JMP | op | (operand.kind === 'X' ? BPF_X : BPF_K);
  // `if (c) goto T [else goto F]`: jt = T, jf = F (or next); a negated test swaps the branches.
  const [t, f] = negate ? [second, first] : [first, second];
  return { kind: 'cond', code, operand, t, f };
}

function parseStatement(p: LineParser): Stmt {
  const t = p.next();
  if (t.t !== 'id') return p.fail(`expected a statement but found '${t.v}'`, t);
  switch (t.v) {
    case '.insn': {
      const code = p.number('opcode', 0xffff);
      const jt = p.number('jt', 0xff);
      const jf = p.number('jf', 0xff);
      const k = p.number('k');
      return { kind: 'raw', insn: Object.freeze({ code, jt, jf, k }) };
    }
    case 'goto': return { kind: 'ja', target: p.label() };
    case 'if': return parseIf(p);
    case 'return': return parseReturn(p);
    case 'mem': {
      const k = bracket(p, 'scratch memory index');
      p.expect('=');
      const src = p.next();
      if (src.v === 'A') return { kind: 'plain', code: BPF_ST, k };
      if (src.v === 'X') return { kind: 'plain', code: BPF_STX, k };
      return p.fail(`mem[${k}] can be set from A or X, not '${src.v}'`, src);
    }
    case 'X':
      p.expect('=');
      return parseLoad(p, 'X');
    case 'A': {
      if (p.accept('=')) return parseLoad(p, 'A');
      const o = p.next();
      const alu = o.t === 'op' ? ALU_BY_SYMBOL.get(o.v) : undefined;
      if (alu === undefined) return p.fail(`expected '=' or an operator like '+=' after A, not '${o.v}'`, o);
      const src = parseOperand(p);
      if (src.kind === 'name') p.fail(`ALU operand must be X or a number, not '${src.v}'`);
      return { kind: 'plain', code: BPF_ALU | alu | (src.kind === 'X' ? BPF_X : BPF_K), k: src.kind === 'num' ? src.v : 0 };
    }
  }
  return p.fail(`unknown statement '${t.v}'`, t);
}

function isHeaderLine(s: string): boolean {
  return /^\s*line\s+CODE\s+JT\s+JF\s+K\s*$/.test(s) || /^\s*=+\s*$/.test(s);
}

/** Parse source into items, one per instruction; labels before a statement (or alone) attach to the next one. */
function parse(source: string): { items: Item[]; danglingLabels: { name: string; line: number }[] } {
  const items: Item[] = [];
  let pending: { name: string; line: number }[] = [];
  source.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    const hash = raw.indexOf('#');
    const text = hash >= 0 ? raw.slice(0, hash) : raw;
    if (isHeaderLine(text)) return;
    const toks = tokenize(text, line);
    const p = new LineParser(toks, line);
    while ((p.peek()?.t === 'id' || p.peek()?.t === 'num') && p.is(':', 1)) {
      const l = p.next();
      p.next();
      if (l.t === 'num') {
        if (!/^\d+$/.test(l.v)) p.fail(`line label '${l.v}' must be a decimal number or a name`, l);
        pending.push({ name: String(Number(l.v)), line });
      } else {
        if (!IDENT.test(l.v)) p.fail(`'${l.v}' is not a valid label name`, l);
        pending.push({ name: l.v, line });
      }
    }
    if (p.done()) return;
    let hexInsn: Instruction | undefined;
    if (p.peek()?.t === 'num') {
      const code = p.number('opcode column', 0xffff);
      const jt = p.number('jt column', 0xff);
      const jf = p.number('jf column', 0xff);
      const k = p.number('k column');
      hexInsn = Object.freeze({ code, jt, jf, k });
    }
    // A prefix without a statement stands for itself, like `.insn`.
    const s: Stmt = p.done() && hexInsn ? { kind: 'raw', insn: hexInsn } : parseStatement(p);
    p.end();
    items.push({ line, labels: pending.map((l) => l.name), hex: hexInsn, stmt: s });
    pending = [];
  });
  return { items, danglingLabels: pending };
}

/** The instruction an item stands for once names and offsets are known (jumps: offsets 0, filled by the builder). */
function dataK(k: number | DataRef, endian: Endian): number {
  return typeof k === 'number' ? k : dataOffset(k.index, k.high, endian);
}

/**
 * Assemble text (see the module comment) into a program. Throws BpfError: 'PARSE' for syntax
 * errors and unknown names, 'LABEL_*' for label problems (all with the source line), and
 * 'ASSEMBLE' when a line's hex prefix disagrees with its statement.
 */
export function assemble(source: string, opts: TextOptions = {}): Instruction[] {
  return assembleWithInfo(source, opts).program;
}

/** What {@link assembleWithInfo} decided besides the program. */
export interface AssembleResult {
  readonly program: Instruction[];
  /** The default architecture used (option, the single one the text checks, or the fallback). */
  readonly arch: number | undefined;
  /** The byte order args[i] offsets were computed for (write the blob in this order). */
  readonly endian: Endian;
}

/** {@link assemble}, also returning the default arch and byte order it settled on. */
export function assembleWithInfo(source: string, opts: TextOptions = {}): AssembleResult {
  const { items, danglingLabels } = parse(source);
  if (items.length === 0) throw new BpfError('PARSE', 'no instructions in the source', undefined, undefined);
  const n = items.length;
  const labelIndex = new Map<string, number>();
  items.forEach((it, i) => {
    for (const l of it.labels) if (!labelIndex.has(l)) labelIndex.set(l, i);
  });
  // Dataflow targets only; the builder does the real resolution and reports bad labels.
  const target = (l: string | null, i: number): number => {
    if (l === null) return i + 1;
    const t = labelIndex.get(l);
    return t !== undefined && t > i ? t : n;
  };
  const symbols = opts.symbols;
  const nodes = items.map((it, i): FlowNode => {
    const s = it.stmt;
    switch (s.kind) {
      case 'raw': return { sets: 'other', succ: rawSucc(s.insn, i, n) };
      case 'plain': {
        const info = opInfo(s.code)!;
        const succ = info.effect.kind === 'ret' || i + 1 >= n ? [] : [i + 1];
        return { sets: setsOf(info, typeof s.k === 'number' ? s.k : -1), succ };
      }
      case 'ja': return { sets: 'keep', succ: [target(s.target, i)].filter((x) => x < n) };
      case 'cond': {
        // Bad targets become n, which the dataflow ignores (the builder reports them).
        const succ = [target(s.t, i), target(s.f, i)];
        const op = s.operand;
        const archK = (): number | undefined => {
          if (op.kind === 'num') return op.v;
          if (op.kind === 'name' && op.v.startsWith(ARCH_PREFIX)) return symbols?.archValue(op.v.slice(ARCH_PREFIX.length).toLowerCase());
          return undefined;
        };
        const eq = s.code === (BPF_JMP | BPF_JEQ | BPF_K) ? { t: succ[0], k: archK } : undefined;
        return { sets: 'keep', succ, eq };
      }
    }
  });
  const arch = defaultArchOf(opts, nodes);
  const endian = endianOf(opts, arch);
  const states = flow(nodes, arch);

  const asm = new Assembler();
  const placeholders = new Map<Instruction, Instruction>();
  items.forEach((it, i) => {
    for (const l of it.labels) asm.label(l, it.line);
    const s = it.stmt;
    switch (s.kind) {
      case 'raw':
        if (opInfo(s.insn.code)?.effect.kind === 'jmp') {
          // The builder would re-resolve a jump's offsets; `.insn` means these exact bits.
          const ph = stmt(BPF_RET | BPF_K, 0);
          placeholders.set(ph, s.insn);
          asm.emit(ph, it.line);
        } else asm.emit(s.insn, it.line);
        break;
      case 'plain':
        asm.emit(stmt(s.code, dataK(s.k, endian)), it.line);
        break;
      case 'ja':
        asm.ja(s.target, it.line);
        break;
      case 'cond': {
        let k = 0;
        if (s.operand.kind === 'num') k = s.operand.v;
        else if (s.operand.kind === 'name') {
          const r = resolveName(s.operand.v, states[i], symbols);
          if (typeof r === 'string') throw new BpfError('PARSE', `line ${it.line}: ${r}`, undefined, it.line);
          k = r;
        }
        asm.jump(s.code, k, s.t, s.f, it.line);
        break;
      }
    }
  });
  if (danglingLabels.length) {
    const l = danglingLabels[0];
    // Let the builder report jumps to it ("past the end"); a label nothing follows is an error on its own.
    throw new BpfError('PARSE', `line ${l.line}: label "${l.name}" is not followed by an instruction`, undefined, l.line);
  }
  const out = asm.assemble().map((insn) => placeholders.get(insn) ?? insn);
  if (out.length < n) throw new BpfInternalError('assembler produced fewer instructions than statements');
  // Cross-check the hex prefixes. Trampolines shift positions, so the first mismatch is the one to report.
  for (let i = 0; i < n; i++) {
    const h = items[i].hex;
    if (h && !insnEqual(h, out[i])) {
      const s = items[i].stmt;
      const hint = s.kind === 'plain' && typeof s.k === 'object' ? ' (wrong byte order? give the arch or endian the text was made for)' : '';
      throw new BpfError('ASSEMBLE', `line ${items[i].line}: the statement assembles to ${rawColumns(out[i])} but the line says ${rawColumns(h)}${hint}`, i, items[i].line);
    }
  }
  return { program: out, arch, endian };
}
