/**
 * The aarch64 launcher stub and preload object: the same programs as stub.ts and preload.ts
 * (read those for the why), in A64 machine code. Syscall numbers are the generic table's
 * (include/uapi/asm-generic/unistd.h): faccessat 48 (aarch64 has no access), write 64,
 * exit_group 94, prctl 167, execve 221, seccomp 277.
 *
 * Segments are aligned to 64 KiB, the largest page size an arm64 kernel may use.
 * The gate's instruction pointer is the address after the `svc` (ELR_EL1, the preferred return
 * address of an SVC exception, is what the kernel reports); unlike on x86_64 this was not
 * measured here (no arm64 machine): if it were wrong the stub's own execve would be killed, the
 * closed side.
 */
import { encode } from '../bpf/codec.js';
import type { Program } from '../bpf/insn.js';
import { A64, SP, type XReg } from './aarch64.js';
import { EM_AARCH64, SHARED_OBJECT_PHNUM, beginSharedObject, dynamicTables, elfHeadersSize, finishExecutable, finishSharedObject } from './elf.js';
import { ERRNO_TABLE_LEN, ReportData } from './report.js';
import type { WrappedFilter } from './wrap.js';
import { A64_SYS, ENOENT, PR_SET_NO_NEW_PRIVS, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_SET_MODE_FILTER, X_OK } from './abi.js';

const AT_FDCWD_NOT = 99; // movn x0, #99 -> -100
/** Segment alignment: 64 KiB pages are the largest arm64 kernels use. */
const PAGE64K = 0x10000;

const BUF_HI = 1; // the report buffer is 0x1400 bytes: 1 << 12 plus 0x400
const BUF_LO = 0x400;
const DIGITS_END_LO = 0x3f0; // digits end at buffer + 0x13f0
const MAX_CSTRING = 4000;

/** One piece of a failure line (as in report.ts, with A64 register numbers). */
type Piece = { readonly text: string } | { readonly cstring: XReg } | { readonly decimal: XReg } | { readonly errnoName: XReg };

/** Failure reports for A64: one line built on the stack, one write(2), exit_group. */
class A64Reporter extends ReportData {
  constructor(private readonly a: A64) {
    super(a);
  }

  /** Copy x2 bytes from [x1] to the cursor x21. Clobbers x1..x3. */
  private copy(): void {
    const a = this.a;
    const loop = this.uniq('copy.loop');
    const done = this.uniq('copy.done');
    a.label(loop);
    a.cbz(2, done);
    a.ldrbPost(3, 1, 1);
    a.strbPost(3, 21, 1);
    a.subImm(2, 2, 1);
    a.b(loop);
    a.label(done);
  }

  /** Build the line (plus '\n'), write it to fd 2, exit_group(status). Never returns. */
  fail(pieces: readonly Piece[], status: number | { reg: XReg }): void {
    const a = this.a;
    a.subImm(SP, SP, BUF_HI, true);
    a.subImm(SP, SP, BUF_LO);
    a.addImm(20, SP, 0); // x20: buffer start
    a.addImm(21, SP, 0); // x21: cursor
    for (const p of [...pieces, { text: '\n' }]) {
      if ('text' in p) {
        a.adr(1, this.text(p.text));
        a.movz(2, new TextEncoder().encode(p.text).length);
        this.copy();
      } else if ('cstring' in p) {
        const loop = this.uniq('cstr.loop');
        const done = this.uniq('cstr.done');
        a.mov(1, p.cstring);
        a.movz(2, MAX_CSTRING);
        a.label(loop);
        a.ldrbPost(3, 1, 1);
        a.cbz(3, done, true);
        a.strbPost(3, 21, 1);
        a.subsImm(2, 2, 1);
        a.bcond('ne', loop);
        a.label(done);
      } else if ('decimal' in p) {
        const loop = this.uniq('dec.loop');
        a.mov(0, p.decimal);
        a.addImm(4, 20, BUF_HI, true);
        a.addImm(4, 4, DIGITS_END_LO);
        a.movz(5, 10);
        a.label(loop);
        a.udiv(6, 0, 5);
        a.msub(7, 6, 5, 0);
        a.addImm(7, 7, 0x30);
        a.strbPre(7, 4, -1);
        a.mov(0, 6);
        a.cbnz(0, loop);
        a.mov(1, 4);
        a.addImm(9, 20, BUF_HI, true);
        a.addImm(9, 9, DIGITS_END_LO);
        a.sub(2, 9, 4);
        this.copy();
      } else {
        const skip = this.uniq('ename.skip');
        a.cmpImm(p.errnoName, ERRNO_TABLE_LEN);
        a.bcond('hs', skip);
        a.adr(1, 'errno.offsets');
        a.ldrhIndexed(2, 1, p.errnoName);
        a.cbz(2, skip, true);
        a.adr(1, 'errno.names');
        a.add(1, 1, 2);
        a.ldrbPost(2, 1, 1);
        this.copy();
        a.label(skip);
      }
    }
    a.movz(0, 2);
    a.mov(1, 20);
    a.sub(2, 21, 20);
    a.movz(8, A64_SYS.write);
    a.svc();
    if (typeof status === 'number') a.movz(0, status);
    else a.mov(0, status.reg);
    a.movz(8, A64_SYS.exit_group);
    a.svc();
    a.udf();
  }
}

/** prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); on failure go to `fail`. */
function noNewPrivs(a: A64, fail: string): void {
  a.movz(0, PR_SET_NO_NEW_PRIVS);
  a.movz(1, 1);
  a.movz(2, 0);
  a.movz(3, 0);
  a.movz(4, 0);
  a.movz(8, A64_SYS.prctl);
  a.svc();
  a.cbnz(0, fail);
}

/** The aarch64 launcher stub for an already wrapped filter (see stub.ts). */
export function launcherA64(filter: WrappedFilter, secret: readonly [bigint, bigint], ipPoint: 'after' | 'at'): { elf: Uint8Array; execSyscallOffset: number } {
  const filterBytes = encode(filter.program, 'little');
  const a = new A64(elfHeadersSize(3));
  const r = new A64Reporter(a);
  a.label('_start');
  a.addImm(19, SP, 0); // x19 -> argc, argv[], NULL, envp[], NULL
  a.ldr(0, 19);
  a.cmpImm(0, 3);
  a.bcond('lt', 'usage');

  a.movn(0, AT_FDCWD_NOT);
  a.ldr(1, 19, 16);
  a.movz(2, X_OK);
  a.movz(3, 0);
  a.movz(8, A64_SYS.faccessat);
  a.svc();
  a.cbnz(0, 'exec.fail');

  noNewPrivs(a, 'install.fail');

  a.adr(9, ipPoint === 'at' ? 'exec.svc' : 'exec.after');
  a.adr(10, 'filter');
  a.str32(9, 10, filter.ipLoIndex * 8 + 4);
  a.lsr(9, 9, 32);
  a.str32(9, 10, filter.ipHiIndex * 8 + 4);

  a.subImm(SP, SP, 16);
  a.movz(11, filter.program.length);
  a.strh(11, SP, 0);
  a.str(10, SP, 8);
  a.movz(0, SECCOMP_SET_MODE_FILTER);
  a.movz(1, 0);
  a.addImm(2, SP, 0);
  a.movz(8, A64_SYS.seccomp);
  a.svc();
  a.cbnz(0, 'install.fail');

  a.ldr(9, 19);
  a.ldr(0, 19, 16);
  a.addImm(1, 19, 24);
  a.add(2, 19, 9, 3);
  a.addImm(2, 2, 16);
  a.movImm(3, secret[0]);
  a.movImm(4, secret[1]);
  a.movz(8, A64_SYS.execve);
  a.label('exec.svc');
  a.svc();
  a.label('exec.after');

  a.label('exec.fail');
  a.neg(22, 0);
  a.movz(23, 126);
  a.cmpImm(22, ENOENT);
  a.bcond('ne', 'exec.status');
  a.movz(23, 127);
  a.label('exec.status');
  a.ldr(24, 19, 16);
  r.fail([{ text: 'seccomp-ts: cannot execute ' }, { cstring: 24 }, { text: ': errno ' }, { decimal: 22 }, { errnoName: 22 }], { reg: 23 });

  a.label('install.fail');
  a.neg(22, 0);
  r.fail([{ text: 'seccomp-ts: cannot install the seccomp filter: errno ' }, { decimal: 22 }, { errnoName: 22 }], 126);

  a.label('usage');
  r.fail([{ text: 'seccomp-ts: launcher stub usage: STUB TARGET_PATH ARGV0 [ARG...]' }], 126);
  r.emitData();
  const image = finishExecutable(a, filterBytes, EM_AARCH64, PAGE64K);
  return { elf: image, execSyscallOffset: a.addressOf('exec.svc') };
}

/** The aarch64 preload object (see preload.ts). */
export function preloadA64(program: Program, soname: string, tsync: boolean): Uint8Array {
  const filterBytes = encode(program, 'little');
  const tables = dynamicTables(soname);
  const a = new A64(elfHeadersSize(SHARED_OBJECT_PHNUM));
  const r = new A64Reporter(a);
  beginSharedObject(a, tables);
  // Only x0-x11 and x8 on the success path: all caller-saved under AAPCS64.
  noNewPrivs(a, 'errno.fail');
  a.subImm(SP, SP, 16);
  a.movz(11, program.length);
  a.strh(11, SP, 0);
  a.adr(10, 'filter');
  a.str(10, SP, 8);
  a.movz(0, SECCOMP_SET_MODE_FILTER);
  a.movz(1, tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0);
  a.addImm(2, SP, 0);
  a.movz(8, A64_SYS.seccomp);
  a.svc();
  a.addImm(SP, SP, 16);
  a.cmpImm(0, 0);
  a.bcond('lt', 'errno.fail');
  a.bcond('gt', 'tsync.fail');
  a.ret();
  a.label('errno.fail');
  a.neg(22, 0);
  r.fail([{ text: 'seccomp-ts: cannot install the seccomp filter: errno ' }, { decimal: 22 }, { errnoName: 22 }], 1);
  a.label('tsync.fail');
  a.mov(22, 0);
  r.fail([{ text: 'seccomp-ts: cannot install the seccomp filter: thread ' }, { decimal: 22 }, { text: ' cannot be synchronized' }], 1);
  r.emitData();
  a.align(8).label('filter').bytes(filterBytes);
  return finishSharedObject(a, tables, EM_AARCH64, PAGE64K);
}
