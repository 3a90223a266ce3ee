/**
 * The launcher's filter prefix: lets exactly the stub's own execve through a policy that may
 * deny execve, so `exec` can sandbox a program whose policy forbids running programs.
 *
 * The stub's execve is recognized by three things an attacker inside the sandbox does not know:
 * the instruction pointer of the stub's `syscall` (randomized per run by ASLR, patched into the
 * filter by the stub itself just before loading it), and a 128-bit per-build secret that the
 * stub puts in execve's unused argument registers r10 and r8 (seccomp_data.args[3] and [4];
 * the kernel ignores them for execve but the filter sees the raw registers). When the policy
 * denies execve or execveat, every other execve/execveat is killed (SECCOMP_RET_KILL_PROCESS)
 * whatever the policy's own deny action, so a wrong guess cannot be retried.
 *
 * The prefix routes only with `LD W ABS` of nr and arch and JEQ K until it knows the syscall is
 * execve, so the kernel's per-syscall action cache still covers every other syscall.
 */
import { Assembler } from '../bpf/builder.js';
import { emulate } from '../bpf/emulator.js';
import type { Instruction, Program } from '../bpf/insn.js';
import { stmt } from '../bpf/insn.js';
import { BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_MAXINSNS, BPF_RET, BPF_W } from '../bpf/opcodes.js';
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_ARGS, SECCOMP_DATA_IP, SECCOMP_DATA_NR, SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS } from '../bpf/seccomp.js';
import { LaunchError } from './errors.js';

// Facts hard-coded here because src/launch may only use src/bpf (values from include/uapi/linux/audit.h
// and arch/x86/entry/syscalls/syscall_{64,32}.tbl).
/** AUDIT_ARCH_X86_64. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** AUDIT_ARCH_I386. */
export const AUDIT_ARCH_I386 = 0x40000003;
const X32_BIT = 0x40000000;
/** x86_64 execve / execveat; x32 execve 520 / execveat 545 (with the x32 bit); i386 execve 11 / execveat 358. */
export const NR_EXECVE_X86_64 = 59;
const NR_EXECVEAT_X86_64 = 322;
const NR_EXECVE_X32 = (X32_BIT | 520) >>> 0;
const NR_EXECVEAT_X32 = (X32_BIT | 545) >>> 0;
const NR_EXECVE_I386 = 11;
const NR_EXECVEAT_I386 = 358;

/** What to do with an execve/execveat that is not the stub's own. */
export type OtherExec = 'kill' | 'policy';

/** Options for {@link wrapForLauncher}. */
export interface WrapOptions {
  /**
   * `kill`: every other execve/execveat gets KILL_PROCESS; `policy`: the policy decides.
   * Default: `kill` when the policy does not allow execve or execveat (see {@link policyDeniesExec}).
   */
  otherExec?: OtherExec;
  /** The 128-bit secret the stub passes in r10 (args[3]) and r8 (args[4]), as two u64. */
  secret: readonly [bigint, bigint];
}

/** A wrapped program and where the stub must patch the instruction pointer. */
export interface WrappedFilter {
  readonly program: Instruction[];
  /** Index of the JEQ whose k must become the low 32 bits of the stub's execve ip. */
  readonly ipLoIndex: number;
  /** Index of the JEQ whose k must become the high 32 bits. */
  readonly ipHiIndex: number;
  readonly otherExec: OtherExec;
}

const ld = (off: number) => stmt(BPF_LD | BPF_W | BPF_ABS, off);
const JEQ = BPF_JMP | BPF_JEQ | BPF_K;

/**
 * Whether a program denies the native x86_64 execve or execveat: anything but allow/log for a
 * call with all-zero arguments. Only the native calls matter: the gate can only be probed through
 * the native execve, and a policy that lets native programs run gains nothing from guessing (that
 * it denies the x32 or i386 calls, as compiled policies usually do, is no reason to kill). A
 * program that cannot be run (invalid) counts as denying, the safe side; the kernel will reject
 * it anyway.
 */
export function policyDeniesExec(program: Program): boolean {
  for (const nr of [NR_EXECVE_X86_64, NR_EXECVEAT_X86_64]) {
    const arch = AUDIT_ARCH_X86_64;
    try {
      const r = emulate(program, { nr, arch, instructionPointer: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n] });
      if (r.action.name !== 'allow' && r.action.name !== 'log') return true;
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Prefix `program` with the launcher's exec gate (little-endian x86_64 seccomp_data layout).
 *
 * ```
 *   ld arch; jeq X86_64 ? x86 : (kill mode ? i386 : policy)
 * x86: ld nr; jeq 59 ? gate : other
 * gate: ld ip.lo; jeq IPLO ? . : miss      (k patched at run time)
 *       ld ip.hi; jeq IPHI ? . : miss      (k patched at run time)
 *       ld args[3].lo/.hi, args[4].lo/.hi; jeq SECRET... ? allow : miss
 * other: (kill mode) jeq execveat/x32 execve/x32 execveat ? kill : policy
 * i386: (kill mode) jeq I386 ? . : policy; ld nr; jeq 11/358 ? kill : policy
 * miss = kill (kill mode) or policy
 * policy: A &= 0; <the program, verbatim>
 * ```
 */
export function wrapForLauncher(program: Program, opts: WrapOptions): WrappedFilter {
  if (program.length === 0) throw new LaunchError('BAD_FILTER', 'the filter program is empty');
  const otherExec = opts.otherExec ?? (policyDeniesExec(program) ? 'kill' : 'policy');
  const kill = otherExec === 'kill';
  const miss = kill ? 'kill' : 'policy';
  const a = new Assembler();
  a.emit(ld(SECCOMP_DATA_ARCH));
  a.jump(JEQ, AUDIT_ARCH_X86_64, null, kill ? 'i386' : 'policy');
  a.emit(ld(SECCOMP_DATA_NR));
  a.jump(JEQ, NR_EXECVE_X86_64, null, kill ? 'other' : 'policy');
  a.emit(ld(SECCOMP_DATA_IP));
  const ipLoIndex = a.length;
  a.jump(JEQ, 0, null, miss);
  a.emit(ld(SECCOMP_DATA_IP + 4));
  const ipHiIndex = a.length;
  a.jump(JEQ, 0, null, miss);
  const words: number[] = [];
  for (const s of opts.secret) {
    const v = BigInt.asUintN(64, s);
    words.push(Number(v & 0xffffffffn), Number(v >> 32n));
  }
  words.forEach((w, i) => {
    a.emit(ld(SECCOMP_DATA_ARGS + 8 * 3 + 4 * i)); // args[3] lo, hi, args[4] lo, hi
    a.jump(JEQ, w, i === words.length - 1 ? 'allow' : null, miss);
  });
  if (kill) {
    a.label('other');
    a.jump(JEQ, NR_EXECVEAT_X86_64, 'kill', null);
    a.jump(JEQ, NR_EXECVE_X32, 'kill', null);
    a.jump(JEQ, NR_EXECVEAT_X32, 'kill', 'policy');
    a.label('i386');
    a.jump(JEQ, AUDIT_ARCH_I386, null, 'policy');
    a.emit(ld(SECCOMP_DATA_NR));
    a.jump(JEQ, NR_EXECVE_I386, 'kill', null);
    a.jump(JEQ, NR_EXECVEAT_I386, 'kill', 'policy');
    a.label('kill');
    a.emit(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  }
  a.label('allow');
  a.emit(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  // The policy is appended verbatim (not re-assembled), so a program the kernel would reject
  // stays rejected by the kernel rather than being "fixed" here; a placeholder marks its start.
  a.label('policy');
  // The policy may rely on A = 0 at its start, as at the start of any filter; the prefix left nr
  // or arch in A. `A &= 0` restores it and, unlike `LD #0`, keeps the kernel's cache emulation going.
  a.emit(stmt(BPF_ALU | BPF_AND | BPF_K, 0));
  a.emit(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  const prefix = a.assemble();
  // The prefix is short, so no trampolines: the recorded indices are final.
  if (prefix.length !== a.length) throw new LaunchError('INTERNAL', 'the exec gate prefix needed trampolines');
  const out = [...prefix.slice(0, -1), ...program];
  if (out.length > BPF_MAXINSNS) {
    throw new LaunchError('BAD_FILTER', `the filter has ${program.length} instructions; with the launcher's ${out.length - program.length}-instruction exec gate it exceeds the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return { program: out, ipLoIndex, ipHiIndex, otherExec };
}
