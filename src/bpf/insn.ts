/**
 * One classic-BPF instruction, `struct sock_filter`, as plain readonly data.
 * code: u16, jt/jf: u8 relative jump offsets, k: u32 (always stored as an unsigned number).
 */
export interface Instruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/** A program: what the kernel calls `struct sock_fprog`'s filter array. */
export type Program = readonly Instruction[];

/** A non-jump instruction (BPF_STMT). `k` is taken modulo 2^32, so -1 becomes 0xffffffff. */
export function stmt(code: number, k = 0): Instruction {
  return Object.freeze({ code: code & 0xffff, jt: 0, jf: 0, k: k >>> 0 });
}

/** A jump instruction (BPF_JUMP) with relative offsets jt and jf (0..255). */
export function jump(code: number, k: number, jt: number, jf: number): Instruction {
  return Object.freeze({ code: code & 0xffff, jt: jt & 0xff, jf: jf & 0xff, k: k >>> 0 });
}

/** Structural equality of two instructions. */
export function insnEqual(a: Instruction, b: Instruction): boolean {
  return a.code === b.code && a.jt === b.jt && a.jf === b.jf && a.k === b.k;
}
