/**
 * The preload object: a minimal x86_64 ELF shared object (the libsandbox.so analogue) whose
 * DT_INIT function installs an embedded seccomp filter, for `LD_PRELOAD=./lib.so prog` or
 * `patchelf --add-needed ./lib.so prog`.
 *
 * The loader runs DT_INIT after the program's libraries are loaded and relocated and before
 * main(), so the filter needs only what the program does from then on, not the loader's own
 * start-up system calls. DT_INIT (not DT_INIT_ARRAY) because its address is relocated by the
 * loader itself: the object needs no relocations at all.
 *
 * The initializer: prctl(PR_SET_NO_NEW_PRIVS, 1); seccomp(SECCOMP_SET_MODE_FILTER,
 * SECCOMP_FILTER_FLAG_TSYNC, &prog) so every thread already running gets the filter too; on any
 * failure one line on stderr and exit_group(1) -- the program never reaches main() unconfined.
 * It uses only caller-saved registers on the success path and returns normally.
 */
import { encode } from '../bpf/codec.js';
import type { Program } from '../bpf/insn.js';
import { BPF_MAXINSNS } from '../bpf/opcodes.js';
import { LaunchError } from './errors.js';
import {
  EM_X86_64, PAGE, dynamicTables, elfHeadersSize, SHARED_OBJECT_PHNUM, beginSharedObject, finishSharedObject,
} from './elf.js';
import { Reporter, noNewPrivs } from './report.js';
import { preloadA64 } from './aarch64-code.js';
import type { LaunchArch } from './wrap.js';
import { X64 } from './x86_64.js';
import { SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_SET_MODE_FILTER, X64_SYS } from './abi.js';

/** Options for {@link buildPreload}. */
export interface PreloadOptions {
  /** DT_SONAME of the object (default `libseccomp-ts-sandbox.so`). */
  soname?: string;
  /** Install with SECCOMP_FILTER_FLAG_TSYNC (default true). */
  tsync?: boolean;
  /** The machine to generate code for (default x86_64; aarch64 is encoded but untested on hardware here). */
  arch?: LaunchArch;
}

/** Build the preload shared object for a seccomp filter program (see the module comment). */
export function buildPreload(program: Program, opts: PreloadOptions = {}): Uint8Array {
  if (program.length === 0) throw new LaunchError('BAD_FILTER', 'the filter program is empty');
  if (program.length > BPF_MAXINSNS) throw new LaunchError('BAD_FILTER', `the filter has ${program.length} instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  if (opts.arch === 'aarch64') return preloadA64(program, opts.soname ?? 'libseccomp-ts-sandbox.so', opts.tsync !== false);
  const filterBytes = encode(program, 'little');
  const tables = dynamicTables(opts.soname ?? 'libseccomp-ts-sandbox.so');

  // Segment 1 (R X): headers, dynsym, dynstr, hash, code, filter. Segment 2 (RW): dynamic,
  // writable because glibc may adjust its entries in place.
  const a = new X64(elfHeadersSize(SHARED_OBJECT_PHNUM));
  const r = new Reporter(a);
  beginSharedObject(a, tables);

  noNewPrivs(a, 'errno.fail');
  // struct sock_fprog on the stack (the red zone would do, but be explicit).
  a.subImm('rsp', 16);
  a.store16Imm({ base: 'rsp' }, program.length);
  a.leaRip('rax', 'filter');
  a.store64({ base: 'rsp', disp: 8 }, 'rax');
  a.movRR('rdx', 'rsp');
  a.movImm32('rdi', SECCOMP_SET_MODE_FILTER);
  a.movImm32('rsi', opts.tsync === false ? 0 : SECCOMP_FILTER_FLAG_TSYNC);
  a.movImm32('rax', X64_SYS.seccomp);
  a.syscall();
  a.addImm('rsp', 16);
  a.test('rax', 'rax');
  a.jcc('l', 'errno.fail');
  a.jcc('g', 'tsync.fail');
  a.ret();

  a.label('errno.fail');
  a.movRR('r13', 'rax');
  a.neg('r13');
  r.fail([{ text: 'seccomp-ts: cannot install the seccomp filter: errno ' }, { decimal: 'r13' }, { errnoName: 'r13' }], 1);
  a.label('tsync.fail');
  // With TSYNC the kernel returns the id of a thread that cannot be synchronized.
  a.movRR('r13', 'rax');
  r.fail([{ text: 'seccomp-ts: cannot install the seccomp filter: thread ' }, { decimal: 'r13' }, { text: ' cannot be synchronized' }], 1);
  r.emitData();
  a.align(8).label('filter').bytes(filterBytes);
  return finishSharedObject(a, tables, EM_X86_64, PAGE);
}
