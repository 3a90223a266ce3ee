/**
 * x86-64 code that reports a failure as ONE line on stderr and exits, shared by the launcher stub
 * and the preload object. The line is assembled in a stack buffer and written with a single
 * write(2) so it cannot interleave with other output; then exit_group. If the installed filter
 * denies write or exit_group, the kernel's action for them applies (a kill is still a stop); if
 * exit_group returns (denied with an errno), `hlt` faults, so execution never continues.
 */
import { ERRNOS } from '../bpf/errno.js';
import type { Reg, X64 } from './x86_64.js';
import { PR_SET_NO_NEW_PRIVS, X64_SYS } from './abi.js';
import type { ImageAssembler } from './elf.js';


/** Bytes of stack the report buffer takes. */
const BUF = 0x1400;
/** Where the decimal digits are built (at the end of the buffer, backwards). */
const DIGITS_END = 0x13f0;
/** Longest piece of a C string (a path) copied into the line. */
const MAX_CSTRING = 4000;

/** One piece of a failure line. */
export type Piece =
  | { readonly text: string }
  /** A NUL-terminated string whose address is in a register (at most 4000 bytes are copied). */
  | { readonly cstring: Reg }
  /** A register's low 32 bits in decimal. */
  | { readonly decimal: Reg }
  /** ` (ENAME)` for the errno in a register, or nothing when the number has no name. */
  | { readonly errnoName: Reg };

/**
 * What the failure reporters of every instruction set share: fresh local labels, the interned
 * message texts (label `text.N`) and the data emitted after the code (texts and errno tables).
 */
export abstract class ReportData {
  private readonly texts: string[] = [];
  private n = 0;

  constructor(private readonly image: ImageAssembler) {}

  /** A label not used before, starting with `p`. */
  protected uniq(p: string): string {
    return `${p}.${this.n++}`;
  }

  /** The label of message text `s` (each distinct text is emitted once). */
  protected text(s: string): string {
    let i = this.texts.indexOf(s);
    if (i < 0) i = this.texts.push(s) - 1;
    return `text.${i}`;
  }

  /** Emit the strings and the errno name table the reports refer to; once, after the code. */
  emitData(): void {
    const a = this.image;
    const enc = new TextEncoder();
    this.texts.forEach((s, i) => {
      a.label(`text.${i}`);
      a.bytes(enc.encode(s));
    });
    const t = errnoTables();
    a.align(2);
    a.label('errno.offsets');
    a.bytes(t.offsets);
    a.label('errno.names');
    a.bytes(t.names);
  }
}

/** Emits x86-64 failure reports into one assembler; call {@link ReportData.emitData} once, after the code. */
export class Reporter extends ReportData {
  constructor(private readonly a: X64) {
    super(a);
  }

  /**
   * Build the line from `pieces` (a newline is appended), write it to fd 2, exit_group with the
   * status in `status` (a register) or the number `status`. Never falls through.
   * Clobbers everything except rbx, rbp and r12..r14 until the write.
   */
  fail(pieces: readonly Piece[], status: number | Reg): void {
    const a = this.a;
    a.lea('rsp', { base: 'rsp', disp: -BUF });
    a.movRR('r15', 'rsp'); // buffer start
    a.movRR('rdi', 'rsp'); // cursor, advanced by rep movsb
    for (const p of [...pieces, { text: '\n' }]) {
      if ('text' in p) {
        const label = this.text(p.text);
        a.leaRip('rsi', label);
        a.movImm32('rcx', new TextEncoder().encode(p.text).length);
        a.repMovsb();
      } else if ('cstring' in p) {
        const loop = this.uniq('cstr.loop');
        const done = this.uniq('cstr.done');
        a.movRR('rsi', p.cstring);
        a.xor32('rcx', 'rcx');
        a.label(loop);
        a.cmpByteImm({ base: 'rsi', index: 'rcx' }, 0);
        a.jcc8('e', done);
        a.inc('rcx');
        a.cmpImm32('rcx', MAX_CSTRING);
        a.jcc8('b', loop);
        a.label(done);
        a.repMovsb();
      } else if ('decimal' in p) {
        const loop = this.uniq('dec.loop');
        a.movRR('rax', p.decimal);
        a.lea('r9', { base: 'r15', disp: DIGITS_END });
        a.movImm32('rcx', 10);
        a.label(loop);
        a.xor32('rdx', 'rdx');
        a.div32('rcx');
        a.addImm('rdx', 0x30);
        a.dec('r9');
        a.store8({ base: 'r9' }, 'rdx');
        a.test('rax', 'rax');
        a.jcc8('ne', loop);
        a.movRR('rsi', 'r9');
        a.lea('rcx', { base: 'r15', disp: DIGITS_END });
        a.subRR('rcx', 'r9');
        a.repMovsb();
      } else {
        const skip = this.uniq('ename.skip');
        a.cmpImm32(p.errnoName, ERRNO_TABLE_LEN);
        a.jcc8('ae', skip);
        a.leaRip('rsi', 'errno.offsets');
        a.load16zx('rax', { base: 'rsi', index: p.errnoName, scale: 2 });
        a.test('rax', 'rax');
        a.jcc8('e', skip);
        a.leaRip('rsi', 'errno.names');
        a.addRR('rsi', 'rax');
        a.load8zx('rcx', { base: 'rsi' });
        a.inc('rsi');
        a.repMovsb();
        a.label(skip);
      }
    }
    // write(2, buf, cursor - buf)
    a.movRR('rdx', 'rdi');
    a.subRR('rdx', 'r15');
    a.movRR('rsi', 'r15');
    a.movImm32('rdi', 2);
    a.movImm32('rax', X64_SYS.write);
    a.syscall();
    // exit_group(status)
    if (typeof status === 'number') a.movImm32('rdi', status);
    else a.movRR('rdi', status);
    a.movImm32('rax', X64_SYS.exit_group);
    a.syscall();
    a.hlt();
  }

}

/**
 * The errno name tables the reports index: `offsets` (u16 little-endian per errno number below
 * {@link ERRNO_TABLE_LEN}; 0 = no name) into `names`, which starts with a pad byte and holds
 * [length][" (ENAME)"] entries.
 */
export function errnoTables(): { offsets: Uint8Array; names: Uint8Array } {
  const enc = new TextEncoder();
  const offsets = new Uint8Array(2 * ERRNO_TABLE_LEN);
  const names: number[] = [0];
  for (const [name, value] of ERRNOS) {
    if (value >= ERRNO_TABLE_LEN) continue;
    const b = enc.encode(` (${name})`);
    offsets[2 * value] = names.length & 0xff;
    offsets[2 * value + 1] = names.length >> 8;
    names.push(b.length, ...b);
  }
  return { offsets, names: Uint8Array.from(names) };
}

/** Errno numbers below this get a name in reports. */
export const ERRNO_TABLE_LEN = 134;

/** prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); on failure (rax != 0) go to `fail`. Clobbers caller-saved registers only. */
export function noNewPrivs(a: X64, fail: string): void {
  a.movImm32('rdi', PR_SET_NO_NEW_PRIVS);
  a.movImm32('rsi', 1);
  a.xor32('rdx', 'rdx');
  a.xor32('r10', 'r10');
  a.xor32('r8', 'r8');
  a.movImm32('rax', X64_SYS.prctl);
  a.syscall();
  a.test('rax', 'rax');
  a.jcc('ne', fail);
}
