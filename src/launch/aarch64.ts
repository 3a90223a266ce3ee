/**
 * A tiny AArch64 (A64) assembler: the instructions the aarch64 launcher stub and preload object
 * use, each a 32-bit little-endian word composed from the Arm ARM's encoding fields, with labels
 * for pc-relative branches and ADR resolved in one pass (every instruction is 4 bytes, so label
 * addresses are known as soon as code is emitted).
 *
 * Registers are numbered 0..30; 31 means XZR or SP depending on the instruction, as the
 * architecture defines (noted on each method).
 */
import { LaunchError } from './errors.js';

/** A 64-bit register number 0..30, or 31 (SP or XZR by instruction). */
export type XReg = number;
/** The zero register / stack pointer encoding. */
export const XZR = 31;
/** The stack pointer, where an instruction reads register 31 as SP. */
export const SP = 31;

/** Condition codes for B.cond. */
export const A64_COND = Object.freeze({ eq: 0x0, ne: 0x1, hs: 0x2, lo: 0x3, mi: 0x4, pl: 0x5, hi: 0x8, ls: 0x9, ge: 0xa, lt: 0xb, gt: 0xc, le: 0xd });
/** A condition name. */
export type A64Cond = keyof typeof A64_COND;

type Fixup = { readonly at: number; readonly label: string; readonly kind: 'b26' | 'b19' | 'adr' };

function reg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new LaunchError('INTERNAL', `aarch64 assembler: bad register ${r}`);
  return r;
}

function uimm(v: number, bits: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new LaunchError('INTERNAL', `aarch64 assembler: ${what} ${v} does not fit ${bits} bits`);
  return v;
}

/** The assembler; `origin` is the address of the first instruction. */
export class A64 {
  private readonly words: number[] = [];
  private readonly raw: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];

  constructor(readonly origin = 0) {}

  /** Current address. */
  get here(): number {
    return this.origin + this.raw.length;
  }

  /** Define `name` here. */
  label(name: string): this {
    if (this.labels.has(name)) throw new LaunchError('INTERNAL', `aarch64 assembler: label "${name}" defined twice`);
    this.labels.set(name, this.here);
    return this;
  }

  /** Address of a defined label. */
  addressOf(name: string): number {
    const a = this.labels.get(name);
    if (a === undefined) throw new LaunchError('INTERNAL', `aarch64 assembler: label "${name}" is not defined`);
    return a;
  }

  private word(w: number): this {
    if (this.raw.length % 4 !== 0) throw new LaunchError('INTERNAL', 'aarch64 assembler: instruction at an unaligned address');
    const v = w >>> 0;
    this.words.push(v);
    this.raw.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    return this;
  }

  /** Raw data bytes. */
  bytes(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.raw.push(data[i] & 0xff);
    return this;
  }

  /** Zero bytes up to a multiple of `n`. */
  align(n: number): this {
    while (this.here % n !== 0) this.raw.push(0);
    return this;
  }

  // ---- moves ----------------------------------------------------------------------------

  /** `movz xd, #imm16, lsl #shift` (D2800000): xd <- imm16 << shift, other bits zero. */
  movz(rd: XReg, imm16: number, shift: 0 | 16 | 32 | 48 = 0): this {
    return this.word(0xd2800000 | ((shift / 16) << 21) | (uimm(imm16, 16, 'movz immediate') << 5) | reg(rd));
  }

  /** `movk xd, #imm16, lsl #shift` (F2800000): replace one 16-bit field, keep the rest. */
  movk(rd: XReg, imm16: number, shift: 0 | 16 | 32 | 48 = 0): this {
    return this.word(0xf2800000 | ((shift / 16) << 21) | (uimm(imm16, 16, 'movk immediate') << 5) | reg(rd));
  }

  /** `movn xd, #imm16` (92800000): xd <- ~imm16 (small negative constants such as AT_FDCWD). */
  movn(rd: XReg, imm16: number): this {
    return this.word(0x92800000 | (uimm(imm16, 16, 'movn immediate') << 5) | reg(rd));
  }

  /** Load any 64-bit value: movz plus a movk for each further non-zero 16-bit field (1..4 instructions). */
  movImm(rd: XReg, value: bigint | number): this {
    const v = BigInt.asUintN(64, BigInt(value));
    const fields = [0, 1, 2, 3].map((i) => Number((v >> BigInt(16 * i)) & 0xffffn));
    this.movz(rd, fields[0], 0);
    for (let i = 1; i < 4; i++) if (fields[i] !== 0) this.movk(rd, fields[i], (16 * i) as 16 | 32 | 48);
    return this;
  }

  /** `mov xd, xm` = `orr xd, xzr, xm` (AA0003E0); neither may be SP. */
  mov(rd: XReg, rm: XReg): this {
    return this.word(0xaa0003e0 | (reg(rm) << 16) | reg(rd));
  }

  // ---- arithmetic -----------------------------------------------------------------------

  /** `add xd, xn, #imm12` (91000000); register 31 is SP for both (so `add xd, sp, #0` is mov from sp). */
  addImm(rd: XReg, rn: XReg, imm12: number, shift12 = false): this {
    return this.word(0x91000000 | (Number(shift12) << 22) | (uimm(imm12, 12, 'add immediate') << 10) | (reg(rn) << 5) | reg(rd));
  }

  /** `sub xd, xn, #imm12` (D1000000); register 31 is SP for both. */
  subImm(rd: XReg, rn: XReg, imm12: number, shift12 = false): this {
    return this.word(0xd1000000 | (Number(shift12) << 22) | (uimm(imm12, 12, 'sub immediate') << 10) | (reg(rn) << 5) | reg(rd));
  }

  /** `subs xd, xn, #imm12` (F1000000): sub setting flags; register 31 as rd is XZR, as rn SP. */
  subsImm(rd: XReg, rn: XReg, imm12: number): this {
    return this.word(0xf1000000 | (uimm(imm12, 12, 'subs immediate') << 10) | (reg(rn) << 5) | reg(rd));
  }

  /** `cmp xn, #imm12` = `subs xzr, xn, #imm12`. */
  cmpImm(rn: XReg, imm12: number): this {
    return this.subsImm(XZR, rn, imm12);
  }

  /** `add xd, xn, xm, lsl #amount` (8B000000); 31 is XZR. */
  add(rd: XReg, rn: XReg, rm: XReg, lsl = 0): this {
    return this.word(0x8b000000 | (reg(rm) << 16) | (uimm(lsl, 6, 'shift') << 10) | (reg(rn) << 5) | reg(rd));
  }

  /** `sub xd, xn, xm` (CB000000); 31 is XZR. */
  sub(rd: XReg, rn: XReg, rm: XReg): this {
    return this.word(0xcb000000 | (reg(rm) << 16) | (reg(rn) << 5) | reg(rd));
  }

  /** `neg xd, xm` = `sub xd, xzr, xm`. */
  neg(rd: XReg, rm: XReg): this {
    return this.sub(rd, XZR, rm);
  }

  /** `lsr xd, xn, #shift` = `ubfm xd, xn, #shift, #63` (D340FC00). */
  lsr(rd: XReg, rn: XReg, shift: number): this {
    return this.word(0xd340fc00 | (uimm(shift, 6, 'shift') << 16) | (reg(rn) << 5) | reg(rd));
  }

  /** `udiv xd, xn, xm` (9AC00800): unsigned division. */
  udiv(rd: XReg, rn: XReg, rm: XReg): this {
    return this.word(0x9ac00800 | (reg(rm) << 16) | (reg(rn) << 5) | reg(rd));
  }

  /** `msub xd, xn, xm, xa` (9B008000): xd <- xa - xn*xm (the remainder after udiv). */
  msub(rd: XReg, rn: XReg, rm: XReg, ra: XReg): this {
    return this.word(0x9b008000 | (reg(rm) << 16) | (reg(ra) << 10) | (reg(rn) << 5) | reg(rd));
  }

  // ---- memory ---------------------------------------------------------------------------

  /** `ldr xt, [xn, #imm]` (F9400000): imm a multiple of 8, < 32768; register 31 as base is SP. */
  ldr(rt: XReg, rn: XReg, imm = 0): this {
    if (imm % 8) throw new LaunchError('INTERNAL', 'aarch64 assembler: ldr offset must be a multiple of 8');
    return this.word(0xf9400000 | (uimm(imm / 8, 12, 'ldr offset') << 10) | (reg(rn) << 5) | reg(rt));
  }

  /** `str xt, [xn, #imm]` (F9000000): imm a multiple of 8. */
  str(rt: XReg, rn: XReg, imm = 0): this {
    if (imm % 8) throw new LaunchError('INTERNAL', 'aarch64 assembler: str offset must be a multiple of 8');
    return this.word(0xf9000000 | (uimm(imm / 8, 12, 'str offset') << 10) | (reg(rn) << 5) | reg(rt));
  }

  /** `str wt, [xn, #imm]` (B9000000): 32-bit store, imm a multiple of 4. */
  str32(rt: XReg, rn: XReg, imm = 0): this {
    if (imm % 4) throw new LaunchError('INTERNAL', 'aarch64 assembler: str (32-bit) offset must be a multiple of 4');
    return this.word(0xb9000000 | (uimm(imm / 4, 12, 'str offset') << 10) | (reg(rn) << 5) | reg(rt));
  }

  /** `strh wt, [xn, #imm]` (79000000): 16-bit store, imm a multiple of 2. */
  strh(rt: XReg, rn: XReg, imm = 0): this {
    if (imm % 2) throw new LaunchError('INTERNAL', 'aarch64 assembler: strh offset must be even');
    return this.word(0x79000000 | (uimm(imm / 2, 12, 'strh offset') << 10) | (reg(rn) << 5) | reg(rt));
  }

  /** `ldrb wt, [xn], #imm9` (38400400): byte load, then xn += imm9 (post-index). */
  ldrbPost(rt: XReg, rn: XReg, imm9: number): this {
    return this.word(0x38400400 | ((imm9 & 0x1ff) << 12) | (reg(rn) << 5) | reg(rt));
  }

  /** `strb wt, [xn], #imm9` (38000400): byte store, then xn += imm9 (post-index). */
  strbPost(rt: XReg, rn: XReg, imm9: number): this {
    return this.word(0x38000400 | ((imm9 & 0x1ff) << 12) | (reg(rn) << 5) | reg(rt));
  }

  /** `strb wt, [xn, #imm9]!` (38000C00): xn += imm9 first, then store the byte (pre-index). */
  strbPre(rt: XReg, rn: XReg, imm9: number): this {
    return this.word(0x38000c00 | ((imm9 & 0x1ff) << 12) | (reg(rn) << 5) | reg(rt));
  }

  /** `ldrh wt, [xn, xm, lsl #1]` (78607800): 16-bit table load, index scaled by 2. */
  ldrhIndexed(rt: XReg, rn: XReg, rm: XReg): this {
    return this.word(0x78607800 | (reg(rm) << 16) | (reg(rn) << 5) | reg(rt));
  }

  /** `adr xd, label` (10000000): xd <- address of label (within ±1 MiB), position-independently. */
  adr(rd: XReg, label: string): this {
    this.fixups.push({ at: this.raw.length, label, kind: 'adr' });
    return this.word(0x10000000 | reg(rd));
  }

  // ---- control flow ---------------------------------------------------------------------

  /** `b label` (14000000): within ±128 MiB. */
  b(label: string): this {
    this.fixups.push({ at: this.raw.length, label, kind: 'b26' });
    return this.word(0x14000000);
  }

  /** `b.cond label` (54000000): within ±1 MiB. */
  bcond(cond: A64Cond, label: string): this {
    this.fixups.push({ at: this.raw.length, label, kind: 'b19' });
    return this.word(0x54000000 | A64_COND[cond]);
  }

  /** `cbz xt, label` (B4000000), or `cbz wt` (34000000) with `w`. */
  cbz(rt: XReg, label: string, w = false): this {
    this.fixups.push({ at: this.raw.length, label, kind: 'b19' });
    return this.word((w ? 0x34000000 : 0xb4000000) | reg(rt));
  }

  /** `cbnz xt, label` (B5000000), or `cbnz wt` (35000000) with `w`. */
  cbnz(rt: XReg, label: string, w = false): this {
    this.fixups.push({ at: this.raw.length, label, kind: 'b19' });
    return this.word((w ? 0x35000000 : 0xb5000000) | reg(rt));
  }

  /** `svc #0` (D4000001): system call; x8 = number, x0..x5 = arguments, result in x0. */
  svc(): this {
    return this.word(0xd4000001);
  }

  /** `ret` (D65F03C0): return to x30. */
  ret(): this {
    return this.word(0xd65f03c0);
  }

  /** `udf #0` (00000000): permanently undefined (SIGILL): a last-resort stop. */
  udf(): this {
    return this.word(0x00000000);
  }

  /** Resolve every label reference and return the machine code. */
  assemble(): Uint8Array {
    const out = Uint8Array.from(this.raw);
    const v = new DataView(out.buffer);
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new LaunchError('INTERNAL', `aarch64 assembler: label "${f.label}" is never defined`);
      const rel = target - (this.origin + f.at);
      let w = v.getUint32(f.at, true);
      if (f.kind === 'adr') {
        if (rel < -(2 ** 20) || rel >= 2 ** 20) throw new LaunchError('INTERNAL', `aarch64 assembler: label "${f.label}" is out of ADR range`);
        w |= ((rel & 3) << 29) | (((rel >> 2) & 0x7ffff) << 5);
      } else {
        if (rel % 4) throw new LaunchError('INTERNAL', `aarch64 assembler: branch target "${f.label}" is not 4-byte aligned`);
        const n = rel / 4;
        if (f.kind === 'b26') {
          if (n < -(2 ** 25) || n >= 2 ** 25) throw new LaunchError('INTERNAL', `aarch64 assembler: label "${f.label}" is out of branch range`);
          w |= n & 0x3ffffff;
        } else {
          if (n < -(2 ** 18) || n >= 2 ** 18) throw new LaunchError('INTERNAL', `aarch64 assembler: label "${f.label}" is out of branch range`);
          w |= (n & 0x7ffff) << 5;
        }
      }
      v.setUint32(f.at, w >>> 0, true);
    }
    return out;
  }
}
