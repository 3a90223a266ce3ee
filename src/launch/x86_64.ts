/**
 * A tiny x86-64 assembler: exactly the instructions the launcher stub and the preload object use,
 * each encoded by hand from the Intel SDM tables (REX prefix, opcode, ModRM, SIB, displacement,
 * immediate), with labels and rip-relative / relative-branch fixups resolved in one pass.
 *
 * Every instruction has a fixed length whatever its operands' values (branches are either
 * always rel8 or always rel32), so label addresses are known as soon as code is emitted and
 * no relaxation pass is needed.
 */
import { LaunchError } from './errors.js';

/** A 64-bit general-purpose register name. */
export type Reg =
  | 'rax' | 'rcx' | 'rdx' | 'rbx' | 'rsp' | 'rbp' | 'rsi' | 'rdi'
  | 'r8' | 'r9' | 'r10' | 'r11' | 'r12' | 'r13' | 'r14' | 'r15';

/** Hardware register numbers (0..15); bit 3 goes into a REX prefix. */
export const REG_NUM: Readonly<Record<Reg, number>> = Object.freeze({
  rax: 0, rcx: 1, rdx: 2, rbx: 3, rsp: 4, rbp: 5, rsi: 6, rdi: 7,
  r8: 8, r9: 9, r10: 10, r11: 11, r12: 12, r13: 13, r14: 14, r15: 15,
});

/** Condition codes for Jcc: the low nibble of opcodes 70+cc (rel8) and 0F 80+cc (rel32). */
export const CC = Object.freeze({
  o: 0x0, no: 0x1, b: 0x2, ae: 0x3, e: 0x4, ne: 0x5, be: 0x6, a: 0x7,
  s: 0x8, ns: 0x9, l: 0xc, ge: 0xd, le: 0xe, g: 0xf,
});
/** A condition-code name. */
export type Cond = keyof typeof CC;

/** A memory operand `[base + index*scale + disp]`. */
export interface Mem {
  readonly base: Reg;
  readonly index?: Reg;
  readonly scale?: 1 | 2 | 4 | 8;
  readonly disp?: number;
}

type Fixup = { readonly at: number; readonly size: 1 | 4; readonly label: string; readonly end: number };

const fitsI8 = (v: number): boolean => v >= -128 && v <= 127;
const fitsI32 = (v: number): boolean => v >= -0x80000000 && v <= 0x7fffffff;

/**
 * The assembler. `origin` is the virtual address of the first emitted byte (labels are absolute
 * addresses); rip-relative operands only ever need differences, so position-independent code can
 * be assembled at origin 0 of its segment.
 */
export class X64 {
  private readonly out: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: Fixup[] = [];

  constructor(readonly origin = 0) {}

  /** Current address (origin + bytes emitted). */
  get here(): number {
    return this.origin + this.out.length;
  }

  /** Define `name` at the current address. */
  label(name: string): this {
    if (this.labels.has(name)) throw new LaunchError('INTERNAL', `x86-64 assembler: label "${name}" defined twice`);
    this.labels.set(name, this.here);
    return this;
  }

  /** Address of a defined label (after {@link X64.assemble} or once defined). */
  addressOf(name: string): number {
    const a = this.labels.get(name);
    if (a === undefined) throw new LaunchError('INTERNAL', `x86-64 assembler: label "${name}" is not defined`);
    return a;
  }

  // ---- raw data -------------------------------------------------------------------------

  /** Raw bytes (data, strings). */
  bytes(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.out.push(data[i] & 0xff);
    return this;
  }

  /** Zero bytes up to the next multiple of `n` (of the absolute address). */
  align(n: number): this {
    while (this.here % n !== 0) this.out.push(0);
    return this;
  }

  private imm(v: number, size: 1 | 2 | 4): void {
    for (let i = 0; i < size; i++) this.out.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
  }

  /** REX prefix W.R.X.B; emitted when any bit is set or `force` (byte registers sil/dil/spl/bpl). */
  private rex(w: boolean, r: number, x: number, b: number, force = false): void {
    const v = 0x40 | (w ? 8 : 0) | ((r >> 3) << 2) | ((x >> 3) << 1) | (b >> 3);
    if (v !== 0x40 || force) this.out.push(v);
  }

  /** ModRM byte with register-direct operand (mod = 11). */
  private modrmReg(reg: number, rm: number): void {
    this.out.push(0xc0 | ((reg & 7) << 3) | (rm & 7));
  }

  /**
   * ModRM (+SIB, +disp) for a memory operand. rsp/r12 as base need a SIB byte; rbp/r13 as base
   * with mod 00 would mean rip-relative / no base, so they always carry a displacement.
   */
  private modrmMem(reg: number, m: Mem): void {
    const base = REG_NUM[m.base];
    const disp = m.disp ?? 0;
    if (!fitsI32(disp)) throw new LaunchError('INTERNAL', `x86-64 assembler: displacement ${disp} does not fit 32 bits`);
    const mod = disp === 0 && (base & 7) !== 5 ? 0 : fitsI8(disp) ? 1 : 2;
    const needSib = m.index !== undefined || (base & 7) === 4;
    this.out.push((mod << 6) | ((reg & 7) << 3) | (needSib ? 4 : base & 7));
    if (needSib) {
      const idx = m.index === undefined ? 4 : REG_NUM[m.index];
      if (m.index === 'rsp') throw new LaunchError('INTERNAL', 'x86-64 assembler: rsp cannot be an index register');
      const ss = { 1: 0, 2: 1, 4: 2, 8: 3 }[m.scale ?? 1];
      this.out.push((ss << 6) | ((idx & 7) << 3) | (base & 7));
    }
    if (mod === 1) this.imm(disp & 0xff, 1);
    else if (mod === 2) this.imm(disp >>> 0, 4);
  }

  private memRex(w: boolean, reg: number, m: Mem, force = false): void {
    this.rex(w, reg, m.index === undefined ? 0 : REG_NUM[m.index], REG_NUM[m.base], force);
  }

  private fixup(label: string, size: 1 | 4, end: number): void {
    this.fixups.push({ at: this.out.length, size, label, end });
    this.imm(0, size);
  }

  // ---- moves ----------------------------------------------------------------------------

  /** `mov r32, imm32` (B8+rd id): loads a 32-bit value, zero-extending into the 64-bit register. */
  movImm32(dst: Reg, imm: number): this {
    if (imm < 0 || imm > 0xffffffff) throw new LaunchError('INTERNAL', `x86-64 assembler: ${imm} is not a u32`);
    const d = REG_NUM[dst];
    this.rex(false, 0, 0, d);
    this.out.push(0xb8 + (d & 7));
    this.imm(imm, 4);
    return this;
  }

  /** `mov r64, imm64` (REX.W B8+rd io): a full 64-bit immediate, given as a BigInt. */
  movImm64(dst: Reg, imm: bigint): this {
    const d = REG_NUM[dst];
    this.rex(true, 0, 0, d);
    this.out.push(0xb8 + (d & 7));
    const v = BigInt.asUintN(64, imm);
    for (let i = 0n; i < 8n; i++) this.out.push(Number((v >> (8n * i)) & 0xffn));
    return this;
  }

  /** `mov r64, r64` (REX.W 89 /r): dst <- src. */
  movRR(dst: Reg, src: Reg): this {
    this.rex(true, REG_NUM[src], 0, REG_NUM[dst]);
    this.out.push(0x89);
    this.modrmReg(REG_NUM[src], REG_NUM[dst]);
    return this;
  }

  /** `mov r64, [mem]` (REX.W 8B /r): 64-bit load. */
  load64(dst: Reg, m: Mem): this {
    this.memRex(true, REG_NUM[dst], m);
    this.out.push(0x8b);
    this.modrmMem(REG_NUM[dst], m);
    return this;
  }

  /** `mov [mem], r64` (REX.W 89 /r): 64-bit store. */
  store64(m: Mem, src: Reg): this {
    this.memRex(true, REG_NUM[src], m);
    this.out.push(0x89);
    this.modrmMem(REG_NUM[src], m);
    return this;
  }

  /** `mov [mem], r32` (89 /r): 32-bit store of the low half of `src`. */
  store32(m: Mem, src: Reg): this {
    this.memRex(false, REG_NUM[src], m);
    this.out.push(0x89);
    this.modrmMem(REG_NUM[src], m);
    return this;
  }

  /** `mov [mem], r8` (88 /r): byte store of the low byte of `src` (REX forces sil/dil, not dh/bh). */
  store8(m: Mem, src: Reg): this {
    const s = REG_NUM[src];
    this.memRex(false, s, m, s >= 4 && s <= 7);
    this.out.push(0x88);
    this.modrmMem(s, m);
    return this;
  }

  /** `mov word [mem], imm16` (66 C7 /0 iw): 16-bit immediate store. */
  store16Imm(m: Mem, imm: number): this {
    this.out.push(0x66);
    this.memRex(false, 0, m);
    this.out.push(0xc7);
    this.modrmMem(0, m);
    this.imm(imm & 0xffff, 2);
    return this;
  }

  /** `movzx r32, byte [mem]` (0F B6 /r): zero-extending byte load. */
  load8zx(dst: Reg, m: Mem): this {
    this.memRex(false, REG_NUM[dst], m);
    this.out.push(0x0f, 0xb6);
    this.modrmMem(REG_NUM[dst], m);
    return this;
  }

  /** `movzx r32, word [mem]` (0F B7 /r): zero-extending 16-bit load. */
  load16zx(dst: Reg, m: Mem): this {
    this.memRex(false, REG_NUM[dst], m);
    this.out.push(0x0f, 0xb7);
    this.modrmMem(REG_NUM[dst], m);
    return this;
  }

  /** `lea r64, [rip + rel32]` (REX.W 8D /r, ModRM mod=00 rm=101): the absolute address of a label, position-independently. */
  leaRip(dst: Reg, label: string): this {
    const d = REG_NUM[dst];
    this.rex(true, d, 0, 0);
    this.out.push(0x8d, ((d & 7) << 3) | 5);
    this.fixup(label, 4, this.out.length + 4);
    return this;
  }

  /** `lea r64, [mem]` (REX.W 8D /r): address arithmetic without touching flags. */
  lea(dst: Reg, m: Mem): this {
    this.memRex(true, REG_NUM[dst], m);
    this.out.push(0x8d);
    this.modrmMem(REG_NUM[dst], m);
    return this;
  }

  // ---- arithmetic -----------------------------------------------------------------------

  /** `xor r32, r32` (31 /r): with dst = src, the idiomatic zeroing of a 64-bit register. */
  xor32(dst: Reg, src: Reg): this {
    this.rex(false, REG_NUM[src], 0, REG_NUM[dst]);
    this.out.push(0x31);
    this.modrmReg(REG_NUM[src], REG_NUM[dst]);
    return this;
  }

  /** `test r64, r64` (REX.W 85 /r): flags from a AND b. */
  test(a: Reg, b: Reg): this {
    this.rex(true, REG_NUM[b], 0, REG_NUM[a]);
    this.out.push(0x85);
    this.modrmReg(REG_NUM[b], REG_NUM[a]);
    return this;
  }

  private grp1(ext: number, r: Reg, imm: number): this {
    if (!fitsI8(imm)) throw new LaunchError('INTERNAL', `x86-64 assembler: immediate ${imm} does not fit 8 bits`);
    this.rex(true, 0, 0, REG_NUM[r]);
    this.out.push(0x83);
    this.modrmReg(ext, REG_NUM[r]);
    this.imm(imm & 0xff, 1);
    return this;
  }

  /** `cmp r64, imm8` (REX.W 83 /7 ib): flags from r - sign-extended imm8. */
  cmpImm(r: Reg, imm: number): this {
    return this.grp1(7, r, imm);
  }

  /** `add r64, imm8` (REX.W 83 /0 ib). */
  addImm(r: Reg, imm: number): this {
    return this.grp1(0, r, imm);
  }

  /** `sub r64, imm8` (REX.W 83 /5 ib). */
  subImm(r: Reg, imm: number): this {
    return this.grp1(5, r, imm);
  }

  /** `cmp r64, imm32` (REX.W 81 /7 id): flags from r - sign-extended imm32. */
  cmpImm32(r: Reg, imm: number): this {
    if (!fitsI32(imm)) throw new LaunchError('INTERNAL', `x86-64 assembler: immediate ${imm} does not fit 32 bits`);
    this.rex(true, 0, 0, REG_NUM[r]);
    this.out.push(0x81);
    this.modrmReg(7, REG_NUM[r]);
    this.imm(imm >>> 0, 4);
    return this;
  }

  /** `add r64, r64` (REX.W 01 /r): dst <- dst + src. */
  addRR(dst: Reg, src: Reg): this {
    this.rex(true, REG_NUM[src], 0, REG_NUM[dst]);
    this.out.push(0x01);
    this.modrmReg(REG_NUM[src], REG_NUM[dst]);
    return this;
  }

  /** `sub r64, r64` (REX.W 29 /r): dst <- dst - src. */
  subRR(dst: Reg, src: Reg): this {
    this.rex(true, REG_NUM[src], 0, REG_NUM[dst]);
    this.out.push(0x29);
    this.modrmReg(REG_NUM[src], REG_NUM[dst]);
    return this;
  }

  /** `cmp byte [mem], imm8` (80 /7 ib). */
  cmpByteImm(m: Mem, imm: number): this {
    this.memRex(false, 0, m);
    this.out.push(0x80);
    this.modrmMem(7, m);
    this.imm(imm & 0xff, 1);
    return this;
  }

  /** `neg r64` (REX.W F7 /3): two's complement negation (turns -errno into errno). */
  neg(r: Reg): this {
    this.rex(true, 0, 0, REG_NUM[r]);
    this.out.push(0xf7);
    this.modrmReg(3, REG_NUM[r]);
    return this;
  }

  /** `shr r64, imm8` (REX.W C1 /5 ib): logical right shift. */
  shrImm(r: Reg, imm: number): this {
    this.rex(true, 0, 0, REG_NUM[r]);
    this.out.push(0xc1);
    this.modrmReg(5, REG_NUM[r]);
    this.imm(imm & 0x3f, 1);
    return this;
  }

  /** `div r32` (F7 /6): unsigned edx:eax / r32 -> quotient eax, remainder edx. */
  div32(r: Reg): this {
    this.rex(false, 0, 0, REG_NUM[r]);
    this.out.push(0xf7);
    this.modrmReg(6, REG_NUM[r]);
    return this;
  }

  /** `inc r64` (REX.W FF /0). */
  inc(r: Reg): this {
    this.rex(true, 0, 0, REG_NUM[r]);
    this.out.push(0xff);
    this.modrmReg(0, REG_NUM[r]);
    return this;
  }

  /** `dec r64` (REX.W FF /1). */
  dec(r: Reg): this {
    this.rex(true, 0, 0, REG_NUM[r]);
    this.out.push(0xff);
    this.modrmReg(1, REG_NUM[r]);
    return this;
  }

  // ---- control flow ---------------------------------------------------------------------

  /** `jcc rel32` (0F 80+cc cd): conditional branch to a label anywhere within ±2 GiB. */
  jcc(cond: Cond, label: string): this {
    this.out.push(0x0f, 0x80 + CC[cond]);
    this.fixup(label, 4, this.out.length + 4);
    return this;
  }

  /** `jcc rel8` (70+cc cb): short conditional branch; the label must be within -128..127 bytes. */
  jcc8(cond: Cond, label: string): this {
    this.out.push(0x70 + CC[cond]);
    this.fixup(label, 1, this.out.length + 1);
    return this;
  }

  /** `jmp rel32` (E9 cd). */
  jmp(label: string): this {
    this.out.push(0xe9);
    this.fixup(label, 4, this.out.length + 4);
    return this;
  }

  /** `jmp rel8` (EB cb). */
  jmp8(label: string): this {
    this.out.push(0xeb);
    this.fixup(label, 1, this.out.length + 1);
    return this;
  }

  /** `syscall` (0F 05): enter the kernel; rax = number, args rdi rsi rdx r10 r8 r9; clobbers rcx, r11. */
  syscall(): this {
    this.out.push(0x0f, 0x05);
    return this;
  }

  /** `rep movsb` (F3 A4): copy rcx bytes from [rsi] to [rdi], advancing both. */
  repMovsb(): this {
    this.out.push(0xf3, 0xa4);
    return this;
  }

  /** `ret` (C3). */
  ret(): this {
    this.out.push(0xc3);
    return this;
  }

  /** `hlt` (F4): privileged, so in user mode it faults (SIGSEGV): a last-resort stop. */
  hlt(): this {
    this.out.push(0xf4);
    return this;
  }

  /** `ud2` (0F 0B): guaranteed invalid opcode (SIGILL). */
  ud2(): this {
    this.out.push(0x0f, 0x0b);
    return this;
  }

  /** Resolve every label reference and return the machine code. */
  assemble(): Uint8Array {
    const out = Uint8Array.from(this.out);
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new LaunchError('INTERNAL', `x86-64 assembler: label "${f.label}" is never defined`);
      const rel = target - (this.origin + f.end);
      if (f.size === 1) {
        if (!fitsI8(rel)) throw new LaunchError('INTERNAL', `x86-64 assembler: label "${f.label}" is ${rel} bytes away, too far for rel8`);
        out[f.at] = rel & 0xff;
      } else {
        if (!fitsI32(rel)) throw new LaunchError('INTERNAL', `x86-64 assembler: label "${f.label}" is too far for rel32`);
        new DataView(out.buffer).setInt32(f.at, rel, true);
      }
    }
    return out;
  }
}
