/**
 * `explain`: why a filter decides what it does for one call. The decision comes from running
 * the compiled program in the emulator; the rule behind it (with its file:line:column) from the
 * reference evaluator on the same policy; the path is the emulator's trace, disassembled. When
 * the two disagree (a code generator bug), the explanation says so instead of hiding it.
 */
import { getArch, resolveSyscall, syscallName, type Arch } from '../arch/index.js';
import type { Endian } from '../bpf/codec.js';
import { emulate } from '../bpf/emulator.js';
import type { Instruction } from '../bpf/insn.js';
import { formatAction } from './actions.js';
import { describeCall, formatTrace } from './check.js';
import { formatPos } from './errors.js';
import { explainDecision, type Decision } from './evaluate.js';
import type { Filter } from './filter.js';
import type { ActionValue, ArgCheck, PolicyRule } from './types.js';

/** The call to explain. */
export interface ExplainCall {
  /** Syscall name on `arch`, or its number. */
  readonly syscall: string | number;
  /** The calling ABI (name or alias, or an Arch). */
  readonly arch: string | Arch;
  readonly args?: readonly bigint[];
  readonly ip?: bigint;
}

/** What {@link explainFilter} and {@link explainProgram} return. */
export interface Explanation {
  readonly arch: Arch;
  readonly nr: number;
  /** Syscall name on `arch`, when it has one. */
  readonly syscall?: string;
  readonly args: readonly bigint[];
  /** The program's return value for the call. */
  readonly value: ActionValue;
  /** What the policy decides, when the program came from one (must equal `value`). */
  readonly decision?: Decision;
  /** The executed instructions, disassembled, with the registers before each. */
  readonly path: readonly string[];
  /** Where the policy came from, for positions in the text. */
  readonly source?: string;
}

function callOf(call: ExplainCall): { arch: Arch; nr: number; args: bigint[]; ip: bigint } {
  const arch = getArch(call.arch);
  const nr = typeof call.syscall === 'number' ? call.syscall >>> 0 : (resolveSyscall(arch, call.syscall) | arch.syscallBit) >>> 0;
  return { arch, nr, args: [...(call.args ?? [])], ip: call.ip ?? 0n };
}

/** Explain a raw program's decision for one call (no policy: decision and path only). */
export function explainProgram(program: readonly Instruction[], endian: Endian, call: ExplainCall): Explanation {
  const c = callOf(call);
  const r = emulate(program, { nr: c.nr, arch: c.arch.auditArch, instructionPointer: c.ip, args: c.args }, { endian, trace: true });
  const name = syscallName(c.arch, c.nr);
  return Object.freeze({ arch: c.arch, nr: c.nr, ...(name ? { syscall: name } : {}), args: c.args, value: r.value, path: formatTrace(program, r.trace!, c.arch) });
}

/** Explain a compiled policy's decision for one call: the program's path and the policy rule behind it. */
export function explainFilter(filter: Filter, call: ExplainCall): Explanation {
  const e = explainProgram(filter.instructions, filter.endian, call);
  const decision = explainDecision(filter.resolved, { nr: e.nr, arch: e.arch.auditArch, instructionPointer: call.ip ?? 0n, args: e.args });
  return Object.freeze({ ...e, decision, ...(filter.resolved.source !== undefined ? { source: filter.resolved.source } : {}) });
}

const hexOrDec = (v: bigint): string => (v < 0x10000n ? v.toString() : `0x${v.toString(16)}`);

function checkText(c: ArgCheck): string {
  const v = hexOrDec(c.value);
  const body = c.op === 'masked_eq' ? `args[${c.index}] & ${hexOrDec(c.mask ?? 0n)} == ${v}` : `args[${c.index}] ${c.op} ${v}`;
  return c.bits === 32 ? `${body} (low 32 bits)` : body;
}

/** A rule in one line: `[socket] when args[0] eq 2 -> allow  # comment`. */
export function describeRule(rule: PolicyRule, args: readonly ArgCheck[] = rule.args): string {
  const when = args.length ? ` when ${args.map(checkText).join(' and ')}` : '';
  return `[${rule.syscalls.join(', ')}]${when} -> ${formatAction(rule.action)}${rule.comment ? `  # ${rule.comment}` : ''}`;
}

/** The explanation as text (the `explain` verb's output; stable, so it is kept in golden files). */
export function formatExplanation(e: Explanation): string {
  const out: string[] = [];
  const name = e.syscall ?? `syscall ${e.nr}`;
  out.push(`call:     ${describeCall(name, e.args)} on ${e.arch.name} (nr ${e.nr}${e.nr >= 0x10000 ? ` = 0x${e.nr.toString(16)}` : ''})`);
  out.push(`decision: ${formatAction(e.value)}`);
  const d = e.decision;
  if (d) {
    switch (d.reason) {
      case 'bad_arch':
        out.push(`because:  ${e.arch.name} is not one of the policy's architectures, so badArchAction applies`);
        break;
      case 'default':
        out.push(
          d.syscall
            ? `because:  no rule for ${d.syscall.name} holds for these arguments, so defaultAction applies`
            : `because:  no rule names ${name} on ${e.arch.name}, so defaultAction applies`,
        );
        for (const r of d.syscall?.rules ?? []) out.push(`          not: ${formatPos(r.origin.pos, e.source)}${describeRule(r.origin, r.args)}`);
        break;
      case 'rule': {
        const r = d.rule!;
        out.push(`because:  ${formatPos(r.origin.pos, e.source)}${describeRule(r.origin, r.args)}`);
        const others = (d.syscall?.rules ?? []).filter((x) => x !== r);
        for (const x of others) out.push(`  also:   ${formatPos(x.origin.pos, e.source)}${describeRule(x.origin, x.args)}`);
        break;
      }
    }
    if (d.action >>> 0 !== e.value >>> 0) {
      out.push(`MISMATCH: the policy decides ${formatAction(d.action)} but the compiled filter returns ${formatAction(e.value)}; please report this bug`);
    }
  }
  out.push(`path:     ${e.path.length} instruction${e.path.length === 1 ? '' : 's'}`);
  out.push(...e.path);
  return out.join('\n') + '\n';
}
