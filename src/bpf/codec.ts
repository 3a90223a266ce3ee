/**
 * Binary form of a program: the `struct sock_filter` array the kernel reads, 8 bytes per
 * instruction (u16 code, u8 jt, u8 jf, u32 k) in the byte order of the target machine.
 */
import { BpfError } from './errors.js';
import type { Instruction, Program } from './insn.js';
import { BPF_MAXINSNS } from './opcodes.js';

/** Byte order of a machine (and so of its sock_filter array and struct seccomp_data). */
export type Endian = 'little' | 'big';

/** Size in bytes of one `struct sock_filter`. */
export const SOCK_FILTER_SIZE = 8;

/** sock_filter array -> bytes (8 bytes each: u16 code, u8 jt, u8 jf, u32 k in the given byte order). */
export function encode(program: Program, endian: Endian = 'little'): Uint8Array {
  const le = endian === 'little';
  const out = new Uint8Array(program.length * SOCK_FILTER_SIZE);
  const dv = new DataView(out.buffer);
  program.forEach((insn, i) => {
    const o = i * SOCK_FILTER_SIZE;
    dv.setUint16(o, insn.code & 0xffff, le);
    dv.setUint8(o + 2, insn.jt & 0xff);
    dv.setUint8(o + 3, insn.jf & 0xff);
    dv.setUint32(o + 4, insn.k >>> 0, le);
  });
  return out;
}

/**
 * bytes -> instructions. Errors (BpfError 'DECODE'): empty, length not a multiple of 8, more
 * than 4096 instructions. Any opcode value is accepted here: judging it is the verifier's job.
 */
export function decode(bytes: Uint8Array, endian: Endian = 'little'): Instruction[] {
  const n = bytes.length;
  if (n === 0) throw new BpfError('DECODE', 'empty filter: no instructions');
  if (n % SOCK_FILTER_SIZE !== 0) {
    throw new BpfError('DECODE', `filter length ${n} bytes is not a multiple of ${SOCK_FILTER_SIZE} (the size of one instruction)`);
  }
  const count = n / SOCK_FILTER_SIZE;
  if (count > BPF_MAXINSNS) throw new BpfError('DECODE', `filter has ${count} instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  const le = endian === 'little';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * SOCK_FILTER_SIZE;
    out[i] = Object.freeze({ code: dv.getUint16(o, le), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, le) });
  }
  return out;
}
