/**
 * Classic-BPF opcode constants and THE opcode table.
 *
 * Every component that needs to know what an opcode means (encoder, decoder, disassembler,
 * assembler, emulator, verifier) reads it from {@link OPCODES}; none keeps a private switch
 * over opcode values, so they cannot disagree (gVisor's TAX bug is the cautionary tale).
 *
 * Sources of the facts: include/uapi/linux/bpf_common.h and filter.h (encodings),
 * net/core/filter.c chk_code_allowed() (codes classic BPF accepts) and
 * kernel/seccomp.c seccomp_check_filter() (the subset seccomp accepts).
 */

// Instruction classes (low 3 bits).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

// Load/store sizes.
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;

// Load modes.
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

// ALU operations.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

// Jump operations.
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

// Operand source.
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** Return-value source A (for BPF_RET). */
export const BPF_A = 0x10;

// Misc operations.
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** Number of scratch memory words M[0..15]. */
export const BPF_MEMWORDS = 16;
/** Longest program the kernel accepts (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** sizeof(struct seccomp_data): what `LD W LEN` yields in a seccomp filter. */
export const SECCOMP_DATA_SIZE = 64;

export type AluOp = 'add' | 'sub' | 'mul' | 'div' | 'or' | 'and' | 'lsh' | 'rsh' | 'neg' | 'mod' | 'xor';
export type JmpOp = 'ja' | 'jeq' | 'jgt' | 'jge' | 'jset';

/**
 * What one opcode does, as data. The emulator interprets these fields; the verifier checks
 * the `k` rule and the seccomp flag; the text layer prints and parses from them.
 */
export type OpEffect =
  /** dst <- source. `imm`: k; `abs`: 32-bit word of seccomp_data at k (H/B sizes: 16/8 bits);
   *  `ind`: same at X+k; `mem`: M[k]; `len`: the data length; `msh`: 4*(byte at k & 0xf). */
  | { readonly kind: 'load'; readonly dst: 'A' | 'X'; readonly mode: 'imm' | 'abs' | 'ind' | 'mem' | 'len' | 'msh'; readonly size: 1 | 2 | 4 }
  /** M[k] <- src */
  | { readonly kind: 'store'; readonly src: 'A' | 'X' }
  /** A <- A op (k | X); `neg` has no operand. */
  | { readonly kind: 'alu'; readonly op: AluOp; readonly src: 'K' | 'X' | 'none' }
  /** `ja`: pc += k. Otherwise compare A with (k | X) and go to jt or jf. */
  | { readonly kind: 'jmp'; readonly op: JmpOp; readonly src: 'K' | 'X' }
  /** Return k or A. */
  | { readonly kind: 'ret'; readonly src: 'K' | 'A' }
  /** `tax`: X <- A; `txa`: A <- X. */
  | { readonly kind: 'misc'; readonly op: 'tax' | 'txa' };

/** The constraint the kernel puts on the `k` field of an opcode (in either verifier). */
export type KRule =
  /** DIV/MOD by constant: k != 0 */
  | 'nonzero'
  /** LSH/RSH by constant: k < 32 */
  | 'shift'
  /** scratch memory index: k < 16 */
  | 'memIndex'
  /** seccomp LD W ABS: k < 64 and k % 4 == 0 */
  | 'seccompData'
  /** JA: k < length - pc - 1 */
  | 'jaRange';

export interface OpInfo {
  /** The 16-bit opcode. */
  readonly code: number;
  /** Canonical mnemonic, e.g. `ld_w_abs`, `jeq_k`, `ret_a`. */
  readonly name: string;
  readonly effect: OpEffect;
  /** Accepted by the classic-BPF checker (net/core/filter.c chk_code_allowed). */
  readonly classic: boolean;
  /** Accepted in a seccomp filter (kernel/seccomp.c seccomp_check_filter). */
  readonly seccomp: boolean;
  readonly kRule?: KRule;
  /** Whether jt/jf are meaningful (conditional jumps only). */
  readonly conditional: boolean;
}

const ALU_CODES: readonly [AluOp, number][] = [
  ['add', BPF_ADD], ['sub', BPF_SUB], ['mul', BPF_MUL], ['div', BPF_DIV], ['or', BPF_OR],
  ['and', BPF_AND], ['lsh', BPF_LSH], ['rsh', BPF_RSH], ['mod', BPF_MOD], ['xor', BPF_XOR],
];
const JMP_CODES: readonly [Exclude<JmpOp, 'ja'>, number][] = [
  ['jeq', BPF_JEQ], ['jgt', BPF_JGT], ['jge', BPF_JGE], ['jset', BPF_JSET],
];

function buildTable(): ReadonlyMap<number, OpInfo> {
  const t = new Map<number, OpInfo>();
  const add = (info: Omit<OpInfo, 'conditional'> & { conditional?: boolean }) => {
    if (t.has(info.code)) throw new Error(`duplicate opcode 0x${info.code.toString(16)}`);
    t.set(info.code, Object.freeze({ conditional: false, ...info }));
  };
  const SIZES: readonly [string, number, 1 | 2 | 4][] = [['w', BPF_W, 4], ['h', BPF_H, 2], ['b', BPF_B, 1]];

  // Loads into A.
  for (const [s, bits, size] of SIZES) {
    add({ code: BPF_LD | bits | BPF_ABS, name: `ld_${s}_abs`, effect: { kind: 'load', dst: 'A', mode: 'abs', size },
      classic: true, seccomp: size === 4, kRule: size === 4 ? 'seccompData' : undefined });
    add({ code: BPF_LD | bits | BPF_IND, name: `ld_${s}_ind`, effect: { kind: 'load', dst: 'A', mode: 'ind', size },
      classic: true, seccomp: false });
  }
  add({ code: BPF_LD | BPF_W | BPF_LEN, name: 'ld_w_len', effect: { kind: 'load', dst: 'A', mode: 'len', size: 4 }, classic: true, seccomp: true });
  add({ code: BPF_LD | BPF_IMM, name: 'ld_imm', effect: { kind: 'load', dst: 'A', mode: 'imm', size: 4 }, classic: true, seccomp: true });
  add({ code: BPF_LD | BPF_MEM, name: 'ld_mem', effect: { kind: 'load', dst: 'A', mode: 'mem', size: 4 }, classic: true, seccomp: true, kRule: 'memIndex' });
  // Loads into X.
  add({ code: BPF_LDX | BPF_W | BPF_LEN, name: 'ldx_w_len', effect: { kind: 'load', dst: 'X', mode: 'len', size: 4 }, classic: true, seccomp: true });
  add({ code: BPF_LDX | BPF_B | BPF_MSH, name: 'ldx_b_msh', effect: { kind: 'load', dst: 'X', mode: 'msh', size: 1 }, classic: true, seccomp: false });
  add({ code: BPF_LDX | BPF_IMM, name: 'ldx_imm', effect: { kind: 'load', dst: 'X', mode: 'imm', size: 4 }, classic: true, seccomp: true });
  add({ code: BPF_LDX | BPF_MEM, name: 'ldx_mem', effect: { kind: 'load', dst: 'X', mode: 'mem', size: 4 }, classic: true, seccomp: true, kRule: 'memIndex' });
  // Stores.
  add({ code: BPF_ST, name: 'st', effect: { kind: 'store', src: 'A' }, classic: true, seccomp: true, kRule: 'memIndex' });
  add({ code: BPF_STX, name: 'stx', effect: { kind: 'store', src: 'X' }, classic: true, seccomp: true, kRule: 'memIndex' });
  // ALU. MOD is classic BPF but not in seccomp's list.
  for (const [op, bits] of ALU_CODES) {
    const kRule: KRule | undefined = op === 'div' || op === 'mod' ? 'nonzero' : op === 'lsh' || op === 'rsh' ? 'shift' : undefined;
    add({ code: BPF_ALU | bits | BPF_K, name: `${op}_k`, effect: { kind: 'alu', op, src: 'K' }, classic: true, seccomp: op !== 'mod', kRule });
    add({ code: BPF_ALU | bits | BPF_X, name: `${op}_x`, effect: { kind: 'alu', op, src: 'X' }, classic: true, seccomp: op !== 'mod' });
  }
  add({ code: BPF_ALU | BPF_NEG, name: 'neg', effect: { kind: 'alu', op: 'neg', src: 'none' }, classic: true, seccomp: true });
  // Jumps.
  add({ code: BPF_JMP | BPF_JA, name: 'ja', effect: { kind: 'jmp', op: 'ja', src: 'K' }, classic: true, seccomp: true, kRule: 'jaRange' });
  for (const [op, bits] of JMP_CODES) {
    add({ code: BPF_JMP | bits | BPF_K, name: `${op}_k`, effect: { kind: 'jmp', op, src: 'K' }, classic: true, seccomp: true, conditional: true });
    add({ code: BPF_JMP | bits | BPF_X, name: `${op}_x`, effect: { kind: 'jmp', op, src: 'X' }, classic: true, seccomp: true, conditional: true });
  }
  // Returns.
  add({ code: BPF_RET | BPF_K, name: 'ret_k', effect: { kind: 'ret', src: 'K' }, classic: true, seccomp: true });
  add({ code: BPF_RET | BPF_A, name: 'ret_a', effect: { kind: 'ret', src: 'A' }, classic: true, seccomp: true });
  // Misc.
  add({ code: BPF_MISC | BPF_TAX, name: 'tax', effect: { kind: 'misc', op: 'tax' }, classic: true, seccomp: true });
  add({ code: BPF_MISC | BPF_TXA, name: 'txa', effect: { kind: 'misc', op: 'txa' }, classic: true, seccomp: true });
  return t;
}

/** Every opcode classic BPF defines, keyed by its 16-bit code. Codes absent here are invalid everywhere. */
export const OPCODES: ReadonlyMap<number, OpInfo> = buildTable();

/** The table entry for `code`, or undefined for a code no kernel accepts. */
export function opInfo(code: number): OpInfo | undefined {
  return OPCODES.get(code);
}

/** The entry for a mnemonic such as `jeq_k` (used by the assembler). */
export const OPCODES_BY_NAME: ReadonlyMap<string, OpInfo> = new Map([...OPCODES.values()].map((o) => [o.name, o]));
