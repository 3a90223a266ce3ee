/**
 * The launcher stub: a tiny static, position-independent x86_64 ELF executable that installs an
 * embedded seccomp filter on itself and execve's the target, so the target starts confined.
 * (aarch64-code.ts has the same program in A64 code.)
 *
 * Calling convention: `STUB TARGET_PATH ARGV0 [ARG...]` with the environment to pass on. The stub
 * executes TARGET_PATH (no PATH search; the caller resolves it) with argv = [ARGV0, ARG...] and
 * its own envp.
 *
 * Steps (x86_64 syscall numbers from arch/x86/entry/syscalls/syscall_64.tbl):
 *  1. argc >= 3, else a usage line, exit 126.
 *  2. access(TARGET, X_OK) (21): a missing or non-executable target is reported before anything
 *     is confined (exit 127 for ENOENT, 126 otherwise).
 *  3. prctl(PR_SET_NO_NEW_PRIVS, 1) (157): required for an unprivileged filter; also keeps a
 *     set-uid target from gaining privileges under a filter it did not choose.
 *  4. Patch the address of its own execve `syscall` into the filter's exec gate (see wrap.ts).
 *  5. seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog) (317). The stub is single-threaded: no TSYNC.
 *  6. execve(TARGET, &argv[2], envp) (59) with the gate's secret in r10 and r8. No system call
 *     happens between 5 and 6.
 * Any failure writes one line to stderr and exits; the target never runs unconfined.
 */
import { randomBytes } from 'node:crypto';
import { encode } from '../bpf/codec.js';
import type { Program } from '../bpf/insn.js';
import { EM_X86_64, PAGE, elfHeadersSize, finishExecutable } from './elf.js';
import { Reporter, noNewPrivs } from './report.js';
import { launcherA64 } from './aarch64-code.js';
import { wrapForLauncher, type LaunchArch, type OtherExec, type WrappedFilter } from './wrap.js';
import { X64 } from './x86_64.js';
import { ENOENT, SECCOMP_SET_MODE_FILTER, X64_SYS, X_OK } from './abi.js';

/** Options for {@link buildLauncher}. */
export interface LauncherOptions {
  /** What happens to other execve/execveat calls; default: `kill` when the policy denies execve. */
  otherExec?: OtherExec;
  /** The 128-bit gate secret; default: fresh random bytes. Fixed values are for tests only. */
  secret?: readonly [bigint, bigint];
  /**
   * Which address the stub patches into the gate: `after` the `syscall` instruction (what the
   * kernel reports as seccomp_data.instruction_pointer on x86_64, measured) or `at` it. Only tests
   * change this, to show the other choice fails closed.
   */
  ipPoint?: 'after' | 'at';
  /** The machine to generate code for (default x86_64; aarch64 is encoded but untested on hardware here). */
  arch?: LaunchArch;
}

/** The stub and facts about it (for tests and diagnostics). */
export interface Launcher {
  readonly elf: Uint8Array;
  readonly filter: WrappedFilter;
  /** Offset of the execve `syscall` instruction from the load base. */
  readonly execSyscallOffset: number;
}

function randomSecret(): [bigint, bigint] {
  const b = randomBytes(16);
  return [b.readBigUInt64LE(0), b.readBigUInt64LE(8)];
}

/** Build the launcher stub ELF for a seccomp filter program (see the module comment). */
export function buildLauncher(program: Program, opts: LauncherOptions = {}): Uint8Array {
  return buildLauncherDetailed(program, opts).elf;
}

/** {@link buildLauncher} with the wrapped filter and layout facts. */
export function buildLauncherDetailed(program: Program, opts: LauncherOptions = {}): Launcher {
  const secret = opts.secret ?? randomSecret();
  const filter = wrapForLauncher(program, { otherExec: opts.otherExec, secret, arch: opts.arch ?? 'x86_64' });
  if (opts.arch === 'aarch64') return { ...launcherA64(filter, secret, opts.ipPoint ?? 'after'), filter };
  const filterBytes = encode(filter.program, 'little');

  const phnum = 3;
  const a = new X64(elfHeadersSize(phnum));
  const r = new Reporter(a);
  a.label('_start');
  a.movRR('rbx', 'rsp'); // rbx -> argc, argv[], NULL, envp[], NULL
  a.load64('rax', { base: 'rbx' });
  a.cmpImm('rax', 3);
  a.jcc('l', 'usage');

  // access(TARGET, X_OK)
  a.load64('rdi', { base: 'rbx', disp: 16 });
  a.movImm32('rsi', X_OK);
  a.movImm32('rax', X64_SYS.access);
  a.syscall();
  a.test('rax', 'rax');
  a.jcc('ne', 'exec.fail');

  noNewPrivs(a, 'install.fail');

  // Patch the gate: k of two JEQs <- low/high 32 bits of the exec site's run-time address.
  a.leaRip('rax', opts.ipPoint === 'at' ? 'exec.syscall' : 'exec.after');
  a.leaRip('rcx', 'filter');
  a.store32({ base: 'rcx', disp: filter.ipLoIndex * 8 + 4 }, 'rax');
  a.shrImm('rax', 32);
  a.store32({ base: 'rcx', disp: filter.ipHiIndex * 8 + 4 }, 'rax');

  // struct sock_fprog { u16 len; u8 pad[6]; struct sock_filter *filter; } on the stack.
  a.subImm('rsp', 16);
  a.store16Imm({ base: 'rsp' }, filter.program.length);
  a.store64({ base: 'rsp', disp: 8 }, 'rcx');
  a.movRR('rdx', 'rsp');
  a.movImm32('rdi', SECCOMP_SET_MODE_FILTER);
  a.xor32('rsi', 'rsi');
  a.movImm32('rax', X64_SYS.seccomp);
  a.syscall();
  a.test('rax', 'rax');
  a.jcc('ne', 'install.fail');

  // execve(argv[1], &argv[2], &argv[argc + 1]) with the secret in r10/r8. No syscall in between.
  a.load64('rcx', { base: 'rbx' });
  a.load64('rdi', { base: 'rbx', disp: 16 });
  a.lea('rsi', { base: 'rbx', disp: 24 });
  a.lea('rdx', { base: 'rbx', index: 'rcx', scale: 8, disp: 16 });
  a.movImm64('r10', secret[0]);
  a.movImm64('r8', secret[1]);
  a.movImm32('rax', X64_SYS.execve);
  a.label('exec.syscall');
  a.syscall();
  a.label('exec.after');
  // execve returned: -errno in rax. (Only reachable if the policy allows write/exit_group.)

  a.label('exec.fail');
  a.movRR('r13', 'rax');
  a.neg('r13');
  a.movImm32('r14', 126);
  a.cmpImm('r13', ENOENT);
  a.jcc8('ne', 'exec.status');
  a.movImm32('r14', 127);
  a.label('exec.status');
  a.load64('r12', { base: 'rbx', disp: 16 });
  r.fail([{ text: 'seccomp-ts: cannot execute ' }, { cstring: 'r12' }, { text: ': errno ' }, { decimal: 'r13' }, { errnoName: 'r13' }], 'r14');

  a.label('install.fail');
  a.movRR('r13', 'rax');
  a.neg('r13');
  r.fail([{ text: 'seccomp-ts: cannot install the seccomp filter: errno ' }, { decimal: 'r13' }, { errnoName: 'r13' }], 126);

  a.label('usage');
  r.fail([{ text: 'seccomp-ts: launcher stub usage: STUB TARGET_PATH ARGV0 [ARG...]' }], 126);

  r.emitData();
  const image = finishExecutable(a, filterBytes, EM_X86_64, PAGE);
  return { elf: image, filter, execSyscallOffset: a.addressOf('exec.syscall') };
}
