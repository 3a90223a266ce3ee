/**
 * A program builder with named, forward-only labels and automatic JA trampolines.
 *
 * Instructions are recorded with symbolic targets and laid out only in {@link Assembler.assemble}:
 * a conditional jump can reach at most 255 instructions ahead, so a branch that ends up farther
 * away is routed through an inserted `JA` (whose 32-bit offset reaches anywhere). Inserting a
 * trampoline only ever lengthens other branches, so layout is repeated until nothing changes.
 */
import { BpfError } from './errors.js';
import { jump as mkJump, stmt, type Instruction } from './insn.js';
import { BPF_JA, BPF_JMP, opInfo } from './opcodes.js';

/** A branch target: a label name, or an already-known item index (raw offsets given to emit). */
type Target = { readonly label: string } | { readonly index: number };

type Item =
  | { readonly kind: 'plain'; readonly insn: Instruction; readonly line?: number }
  | { readonly kind: 'cond'; readonly code: number; readonly k: number; readonly jt: Target; readonly jf: Target; readonly line?: number }
  | { readonly kind: 'ja'; readonly target: Target; readonly line?: number };

/** Which of a conditional jump's branches go through a trampoline. */
interface Tramp {
  t: boolean;
  f: boolean;
}

const MAX_OFFSET = 255;
const JA_CODE = BPF_JMP | BPF_JA;

function where(pc: number, line?: number): string {
  return line === undefined ? `instruction ${pc}` : `line ${line} (instruction ${pc})`;
}

/**
 * Builds a classic-BPF program from instructions and labels.
 *
 * Positions (`pc` in errors, {@link Assembler.length}) count emitted instructions, before any
 * trampoline is inserted. `emit` also accepts a jump instruction with raw offsets: they are read
 * as relative to that numbering and are re-resolved, so trampolines never break them.
 */
export class Assembler {
  private readonly items: Item[] = [];
  private readonly labels = new Map<string, { index: number; line?: number }>();

  /** Define `name` at the position of the next emitted instruction. Duplicate -> BpfError('LABEL_DUPLICATE'). */
  label(name: string, line?: number): this {
    const prev = this.labels.get(name);
    if (prev) {
      const first = prev.line === undefined ? `instruction ${prev.index}` : `line ${prev.line}`;
      throw new BpfError('LABEL_DUPLICATE', `${where(this.items.length, line)}: label "${name}" is already defined at ${first}`, this.items.length, line);
    }
    this.labels.set(name, { index: this.items.length, line });
    return this;
  }

  /**
   * Emit a non-conditional instruction (anything, incl. RET, ALU, loads). A jump given here keeps
   * its meaning: jt/jf (or JA's k) are offsets from this instruction in emitted numbering.
   * A non-jump instruction appears in the assembled program as the very same object.
   */
  emit(insn: Instruction, line?: number): this {
    const pc = this.items.length;
    const info = opInfo(insn.code);
    if (info?.effect.kind === 'jmp') {
      if (info.conditional) {
        this.items.push({ kind: 'cond', code: insn.code, k: insn.k >>> 0, jt: { index: pc + 1 + insn.jt }, jf: { index: pc + 1 + insn.jf }, line });
      } else {
        this.items.push({ kind: 'ja', target: { index: pc + 1 + (insn.k >>> 0) }, line });
      }
      return this;
    }
    this.items.push({ kind: 'plain', insn, line });
    return this;
  }

  /** Emit a conditional jump (JEQ/JGT/JGE/JSET, K or X); each target is a label name, or null = the next instruction. */
  jump(code: number, k: number, jt: string | null, jf: string | null, line?: number): this {
    const pc = this.items.length;
    const info = opInfo(code);
    if (!info || !info.conditional) {
      throw new BpfError('ASSEMBLE', `${where(pc, line)}: opcode 0x${code.toString(16)} is not a conditional jump`, pc, line);
    }
    const t = (x: string | null): Target => (x === null ? { index: pc + 1 } : { label: x });
    this.items.push({ kind: 'cond', code, k: k >>> 0, jt: t(jt), jf: t(jf), line });
    return this;
  }

  /** Emit JA to a label. */
  ja(target: string, line?: number): this {
    this.items.push({ kind: 'ja', target: { label: target }, line });
    return this;
  }

  /** Instructions emitted so far (before trampolines). */
  get length(): number {
    return this.items.length;
  }

  /** Resolve labels (forward only) and return the program. */
  assemble(): Instruction[] {
    const n = this.items.length;
    // Symbolic targets -> item indices, checking the label rules first.
    const resolve = (pc: number, t: Target, line?: number): number => {
      let idx: number;
      let what: string;
      if ('label' in t) {
        const l = this.labels.get(t.label);
        if (!l) throw new BpfError('LABEL_UNDEFINED', `${where(pc, line)}: label "${t.label}" is never defined`, pc, line);
        if (l.index <= pc) {
          throw new BpfError('LABEL_BACKWARD', `${where(pc, line)}: label "${t.label}" at instruction ${l.index} is not after the jump (jumps go forward only)`, pc, line);
        }
        idx = l.index;
        what = `label "${t.label}"`;
      } else {
        idx = t.index;
        what = `target instruction ${idx}`;
      }
      if (idx >= n) throw new BpfError('ASSEMBLE', `${where(pc, line)}: ${what} is past the end of the ${n}-instruction program`, pc, line);
      return idx;
    };
    const targets: (readonly [number, number] | number | undefined)[] = this.items.map((it, pc) =>
      it.kind === 'cond' ? ([resolve(pc, it.jt, it.line), resolve(pc, it.jf, it.line)] as const)
        : it.kind === 'ja' ? resolve(pc, it.target, it.line) : undefined);

    const tramps: (Tramp | undefined)[] = this.items.map((it) => (it.kind === 'cond' ? { t: false, f: false } : undefined));
    const size = (i: number): number => {
      const tr = tramps[i];
      if (!tr) return 1;
      return 1 + (tr.t && tr.f && this.sameTarget(targets[i]) ? 1 : Number(tr.t) + Number(tr.f));
    };
    // Layout to a fixpoint: each pass may only add trampolines, never remove one.
    let pos: number[];
    for (;;) {
      pos = new Array<number>(n + 1);
      let p = 0;
      for (let i = 0; i < n; i++) {
        pos[i] = p;
        p += size(i);
      }
      pos[n] = p;
      let changed = false;
      for (let i = 0; i < n; i++) {
        const tr = tramps[i];
        if (!tr) continue;
        const [t, f] = targets[i] as readonly [number, number];
        const after = pos[i] + 1; // offsets are counted from the next instruction
        if (!tr.t && pos[t] - after > MAX_OFFSET) tr.t = changed = true;
        if (!tr.f && pos[f] - after > MAX_OFFSET) tr.f = changed = true;
      }
      if (!changed) break;
    }

    const out: Instruction[] = [];
    for (let i = 0; i < n; i++) {
      const it = this.items[i];
      if (it.kind === 'plain') {
        out.push(it.insn);
      } else if (it.kind === 'ja') {
        out.push(stmt(JA_CODE, pos[targets[i] as number] - (pos[i] + 1)));
      } else {
        const [t, f] = targets[i] as readonly [number, number];
        const tr = tramps[i]!;
        const here = pos[i];
        if (tr.t && tr.f && t === f) {
          // Both branches go to the same far place: one JA serves both.
          out.push(mkJump(it.code, it.k, 0, 0));
          out.push(stmt(JA_CODE, pos[t] - (here + 2)));
        } else {
          // Layout: [Jxx][JA t]?[JA f]? -- the trampolines are reachable only from this jump.
          const jaT = tr.t ? here + 1 : -1;
          const jaF = tr.f ? here + 1 + Number(tr.t) : -1;
          const jt = tr.t ? 0 : pos[t] - (here + 1);
          const jf = tr.f ? jaF - (here + 1) : pos[f] - (here + 1);
          out.push(mkJump(it.code, it.k, jt, jf));
          if (tr.t) out.push(stmt(JA_CODE, pos[t] - (jaT + 1)));
          if (tr.f) out.push(stmt(JA_CODE, pos[f] - (jaF + 1)));
        }
      }
    }
    return out;
  }

  private sameTarget(t: readonly [number, number] | number | undefined): boolean {
    return Array.isArray(t) && t[0] === t[1];
  }
}
