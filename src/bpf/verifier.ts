/**
 * The load-time checks the kernel applies to a seccomp filter, so a program can be judged
 * before it is installed. Mirrors Linux 6.12 exactly (accepts what it accepts, rejects what it
 * rejects):
 * - kernel/seccomp.c seccomp_prepare_filter and net/core/filter.c bpf_check_basics_ok:
 *   1 <= length <= 4096;
 * - net/core/filter.c bpf_check_classic: the code must be one of the listed classic codes
 *   exactly (no stray bits); DIV/MOD K 0 and LSH/RSH K >= 32 rejected; M[] index < 16;
 *   JA needs k < len - pc - 1; a conditional needs pc + jt + 1 < len and pc + jf + 1 < len;
 *   the last instruction must be RET K or RET A;
 * - kernel/seccomp.c seccomp_check_filter: only the seccomp subset of codes (no MOD, no IND,
 *   no H/B ABS, no MSH), and LD W ABS needs k < 64 and k % 4 == 0;
 * - net/core/filter.c check_load_and_stores: a single linear pass. memvalid (one bit per
 *   M[] cell) starts empty; at each pc it is ANDed with what every earlier jump to pc knew;
 *   ST/STX set a bit; LD/LDX MEM need the bit; every jump ANDs memvalid into its targets and
 *   then sets memvalid to ALL valid (so code after a jump that nothing jumps to passes), while
 *   RET leaves memvalid alone (so a load right after a RET still needs an earlier store).
 * All opcode facts come from the table in opcodes.ts.
 */
import { BpfError } from './errors.js';
import type { Program } from './insn.js';
import { BPF_MAXINSNS, BPF_MEMWORDS, SECCOMP_DATA_SIZE, opInfo, type KRule } from './opcodes.js';

/** The kind of rule a program breaks. */
export type VerifyRule = 'length' | 'opcode' | 'k' | 'jump-range' | 'last-not-ret' | 'uninitialized-mem';

/** One reason the kernel would reject a program. */
export interface VerifyProblem {
  /** Index of the offending instruction (-1 for the program as a whole, e.g. its length). */
  pc: number;
  rule: VerifyRule;
  /** One line, naming the instruction. */
  message: string;
}

const ALL_VALID = 0xffff;

function label(pc: number, code: number): string {
  const info = opInfo(code);
  return `instruction ${pc} (${info ? info.name : `opcode 0x${code.toString(16).padStart(2, '0')}`})`;
}

/** Why `k` breaks `rule`, or undefined when it satisfies it. Jump ranges are handled separately. */
function kProblem(rule: KRule, k: number): string | undefined {
  switch (rule) {
    case 'nonzero': return k === 0 ? 'division by the constant 0' : undefined;
    case 'shift': return k >= 32 ? `shift by ${k} (must be below 32)` : undefined;
    case 'memIndex': return k >= BPF_MEMWORDS ? `scratch memory index ${k} (must be below ${BPF_MEMWORDS})` : undefined;
    case 'seccompData':
      if (k >= SECCOMP_DATA_SIZE) return `offset ${k} is outside the ${SECCOMP_DATA_SIZE}-byte struct seccomp_data`;
      return k % 4 !== 0 ? `offset ${k} is not a multiple of 4` : undefined;
    case 'jaRange': return undefined;
  }
}

/** Problems the kernel would reject this seccomp filter for; [] means the kernel accepts it. */
export function verify(program: Program): VerifyProblem[] {
  const n = program.length;
  const problems: VerifyProblem[] = [];
  if (n === 0) return [{ pc: -1, rule: 'length', message: 'the program is empty (the kernel needs 1 to 4096 instructions)' }];
  if (n > BPF_MAXINSNS) {
    problems.push({ pc: -1, rule: 'length', message: `the program has ${n} instructions, more than the kernel's limit of ${BPF_MAXINSNS}` });
  }

  for (let pc = 0; pc < n; pc++) {
    const insn = program[pc];
    const info = opInfo(insn.code);
    const at = label(pc, insn.code);
    if (!info || !info.classic) {
      problems.push({ pc, rule: 'opcode', message: `${at}: not a classic BPF opcode` });
      continue;
    }
    if (!info.seccomp) {
      problems.push({ pc, rule: 'opcode', message: `${at}: opcode is classic BPF but not allowed in a seccomp filter` });
      continue;
    }
    const k = insn.k >>> 0;
    if (info.kRule === 'jaRange') {
      if (k >= n - pc - 1) {
        problems.push({ pc, rule: 'jump-range', message: `${at}: jump target ${pc + 1 + k} is past the end of the ${n}-instruction program` });
      }
    } else if (info.kRule) {
      const why = kProblem(info.kRule, k);
      if (why) problems.push({ pc, rule: 'k', message: `${at}: ${why}` });
    }
    if (info.conditional) {
      for (const [which, off] of [['true', insn.jt], ['false', insn.jf]] as const) {
        const target = pc + off + 1;
        if (target >= n) {
          problems.push({ pc, rule: 'jump-range', message: `${at}: jump target ${target} (if ${which}) is past the end of the ${n}-instruction program` });
        }
      }
    }
  }

  const last = opInfo(program[n - 1].code);
  if (last?.effect.kind !== 'ret') {
    problems.push({ pc: n - 1, rule: 'last-not-ret', message: `${label(n - 1, program[n - 1].code)}: the last instruction must be a return` });
  }

  problems.push(...memoryProblems(program));
  return problems;
}

/** The kernel's linear scratch-memory pass (see the module comment), reporting every bad load. */
function memoryProblems(program: Program): VerifyProblem[] {
  const n = program.length;
  const masks = new Array<number>(n).fill(ALL_VALID);
  const problems: VerifyProblem[] = [];
  const narrow = (target: number, valid: number) => {
    if (target < n) masks[target] &= valid; // out-of-range targets are reported as jump-range
  };
  let valid = 0;
  for (let pc = 0; pc < n; pc++) {
    valid &= masks[pc];
    const insn = program[pc];
    const info = opInfo(insn.code);
    if (!info || !info.classic) continue;
    const e = info.effect;
    const k = insn.k >>> 0;
    if (e.kind === 'store') {
      if (k < BPF_MEMWORDS) valid |= 1 << k;
    } else if (e.kind === 'load' && e.mode === 'mem') {
      if (k < BPF_MEMWORDS && !(valid & (1 << k))) {
        problems.push({ pc, rule: 'uninitialized-mem', message: `${label(pc, insn.code)}: M[${k}] may be read before anything is stored there` });
      }
    } else if (e.kind === 'jmp') {
      if (info.conditional) {
        narrow(pc + 1 + insn.jt, valid);
        narrow(pc + 1 + insn.jf, valid);
      } else {
        narrow(pc + 1 + k, valid);
      }
      valid = ALL_VALID;
    }
  }
  return problems;
}

/** Throws BpfError('VERIFY', message naming the instruction and rule, pc) on the first problem. */
export function assertValid(program: Program): void {
  const [p] = verify(program);
  if (p) throw new BpfError('VERIFY', `${p.message} [${p.rule}]`, p.pc < 0 ? undefined : p.pc);
}
