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
// and the kernel's syscall tables; test/launch checks them against src/arch's tables).
/** AUDIT_ARCH_X86_64. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** AUDIT_ARCH_I386. */
export const AUDIT_ARCH_I386 = 0x40000003;
/** AUDIT_ARCH_AARCH64. */
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
/** AUDIT_ARCH_ARM (32-bit compat tasks on arm64). */
export const AUDIT_ARCH_ARM = 0x40000028;
const X32_BIT = 0x40000000;
/** x86_64 execve. */
export const NR_EXECVE_X86_64 = 59;

/** The machines the launcher generates code for. */
export type LaunchArch = 'x86_64' | 'aarch64';

/** What the gate needs to know about one machine: its native exec calls and the other ABIs' ones. */
export interface GateArch {
  readonly name: LaunchArch;
  readonly audit: number;
  readonly execve: number;
  readonly execveat: number;
  /** Other exec numbers under the native audit arch (x32's, which carry the x32 bit). */
  readonly nativeOthers: readonly number[];
  /** The compat ABI a native task can also enter (i386 via int 0x80, arm32 on arm64). */
  readonly compat: { readonly audit: number; readonly execs: readonly number[] };
}

/** Gate facts per machine (syscall_64.tbl / syscall_32.tbl; asm-generic unistd.h / arm's syscall.tbl). */
export const GATE_ARCHES: Readonly<Record<LaunchArch, GateArch>> = Object.freeze({
  x86_64: {
    name: 'x86_64', audit: AUDIT_ARCH_X86_64, execve: NR_EXECVE_X86_64, execveat: 322,
    nativeOthers: [(X32_BIT | 520) >>> 0, (X32_BIT | 545) >>> 0], // x32 execve, execveat
    compat: { audit: AUDIT_ARCH_I386, execs: [11, 358] },
  },
  aarch64: {
    name: 'aarch64', audit: AUDIT_ARCH_AARCH64, execve: 221, execveat: 281,
    nativeOthers: [],
    compat: { audit: AUDIT_ARCH_ARM, execs: [11, 387] },
  },
});

/** What to do with an execve/execveat that is not the stub's own. */
export type OtherExec = 'kill' | 'policy';

/** Options for {@link wrapForLauncher}. */
export interface WrapOptions {
  /**
   * `kill`: every other execve/execveat gets KILL_PROCESS; `policy`: the policy decides.
   * Default: `kill` when the policy does not allow execve or execveat (see {@link policyDeniesExec}).
   */
  otherExec?: OtherExec;
  /** The 128-bit secret the stub passes as execve's unused args[3] and args[4], as two u64. */
  secret: readonly [bigint, bigint];
  /** The machine (default x86_64). */
  arch?: LaunchArch;
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
 * Whether a program denies the native execve or execveat (of x86_64 by default): anything but allow/log for a
 * call with all-zero arguments. Only the native calls matter: the gate can only be probed through
 * the native execve, and a policy that lets native programs run gains nothing from guessing (that
 * it denies the x32 or i386 calls, as compiled policies usually do, is no reason to kill). A
 * program that cannot be run (invalid) counts as denying, the safe side; the kernel will reject
 * it anyway.
 */
export function policyDeniesExec(program: Program, arch: LaunchArch = 'x86_64'): boolean {
  const g = GATE_ARCHES[arch];
  for (const nr of [g.execve, g.execveat]) {
    try {
      const r = emulate(program, { nr, arch: g.audit, instructionPointer: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n] });
      if (r.action.name !== 'allow' && r.action.name !== 'log') return true;
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Prefix `program` with the launcher's exec gate (both machines are little-endian, so the low
 * word of a 64-bit seccomp_data field comes first). Shown for x86_64; aarch64 has no x32 and
 * arm32 as its compat ABI.
 *
 * ```
 *   ld arch; jeq X86_64 ? native : (kill mode ? compat : policy)
 * native: ld nr; jeq 59 ? gate : other
 * gate: ld ip.lo; jeq IPLO ? . : miss      (k patched at run time)
 *       ld ip.hi; jeq IPHI ? . : miss      (k patched at run time)
 *       ld args[3].lo/.hi, args[4].lo/.hi; jeq SECRET... ? allow : miss
 * other: (kill mode) jeq execveat/x32 execve/x32 execveat ? kill : policy
 * compat: (kill mode) jeq I386 ? . : policy; ld nr; jeq 11/358 ? kill : policy
 * miss = kill (kill mode) or policy
 * policy: A &= 0; <the program, verbatim>
 * ```
 */
export function wrapForLauncher(program: Program, opts: WrapOptions): WrappedFilter {
  if (program.length === 0) throw new LaunchError('BAD_FILTER', 'the filter program is empty');
  const g = GATE_ARCHES[opts.arch ?? 'x86_64'];
  const otherExec = opts.otherExec ?? (policyDeniesExec(program, g.name) ? 'kill' : 'policy');
  const kill = otherExec === 'kill';
  const miss = kill ? 'kill' : 'policy';
  const a = new Assembler();
  a.emit(ld(SECCOMP_DATA_ARCH));
  a.jump(JEQ, g.audit, null, kill ? 'compat' : 'policy');
  a.emit(ld(SECCOMP_DATA_NR));
  a.jump(JEQ, g.execve, null, kill ? 'other' : 'policy');
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
    const others = [g.execveat, ...g.nativeOthers];
    others.forEach((nr, i) => a.jump(JEQ, nr, 'kill', i === others.length - 1 ? 'policy' : null));
    a.label('compat');
    a.jump(JEQ, g.compat.audit, null, 'policy');
    a.emit(ld(SECCOMP_DATA_NR));
    g.compat.execs.forEach((nr, i) => a.jump(JEQ, nr, 'kill', i === g.compat.execs.length - 1 ? 'policy' : null));
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
