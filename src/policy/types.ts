/**
 * The policy layer's data: a validated, architecture-independent {@link Policy}, and the
 * {@link ResolvedPolicy} it becomes once syscall names and groups are resolved for each
 * architecture. The front end (parse.ts, the OCI/systemd readers) produces a Policy; resolve.ts
 * turns it into a ResolvedPolicy; codegen.ts and evaluate.ts both consume only the ResolvedPolicy,
 * so the compiled filter and the reference evaluator see exactly the same input.
 *
 * Semantics shared by every consumer (and documented in the README):
 * - A call from an architecture not listed gets `badArchAction`. On AUDIT_ARCH_X86_64, a number with
 *   the x32 bit (0x40000000) belongs to x32 and one without it to x86_64; each is "not listed" unless
 *   its own ABI is in the list.
 * - Rules for one syscall are OR-ed; a rule's argument checks are AND-ed. Among all rules whose checks
 *   hold, the most restrictive action wins, in the kernel's order (kill_process > kill_thread > trap >
 *   errno > user_notif > trace > log > allow; see actionRank in src/bpf/seccomp.ts). Between rules of
 *   the same rank with different data (errno(EPERM) and errno(EACCES)) the one listed first wins.
 *   When no rule holds (or the syscall has none), the policy's default action applies.
 * - seccomp_data.nr is compared as an unsigned 32-bit number and has no special values: -1
 *   (0xffffffff, what a tracer sets to skip a call) is a number like any other. On
 *   AUDIT_ARCH_X86_64 it carries the x32 bit, so it belongs to x32 (x32's default action when x32
 *   is listed, badArchAction otherwise).
 * - Argument values are unsigned 64-bit. `bits: 32` compares only the low 32 bits of the argument;
 *   on 32-bit architectures every check is a 32-bit check.
 * - errno data in a Policy uses the generic Linux numbering (src/bpf/errno.ts). ResolvedRule.action
 *   and ResolvedArch.defaultAction carry the architecture's own numbers (MIPS differs from 35 up;
 *   see errno-arch.ts), so consumers must use those, not origin.action or Policy.defaultAction.
 *   badArchAction is returned to a caller whose ABI is unknown and stays as written.
 */
import type { Arch, ArchName } from '../arch/index.js';

/** A position in a policy source file (1-based line and column). */
export interface SourcePos {
  readonly file?: string;
  readonly line: number;
  readonly column: number;
}

/** Argument comparison operators, unsigned 64-bit. */
export type ArgOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked_eq';

/** One argument check: `args[index] op value`, or `(args[index] & mask) == value` for masked_eq. */
export interface ArgCheck {
  /** 0..5 */
  readonly index: number;
  readonly op: ArgOp;
  /** 0 .. 2^64-1 */
  readonly value: bigint;
  /** masked_eq only. */
  readonly mask?: bigint;
  /** 32: compare only the low 32 bits (value and mask must fit in 32 bits). */
  readonly bits: 32 | 64;
  readonly pos?: SourcePos;
}

/** A filter return value: SECCOMP_RET_* | 16-bit data, as an unsigned 32-bit number. */
export type ActionValue = number;

/** One rule: these syscalls get `action` when all `args` checks hold. */
export interface PolicyRule {
  /** Syscall names, or `@group` names expanded per architecture. */
  readonly syscalls: readonly string[];
  readonly action: ActionValue;
  readonly args: readonly ArgCheck[];
  readonly pos?: SourcePos;
  /** Positions of the individual entries of `syscalls`, same order, where known. */
  readonly syscallPos?: readonly (SourcePos | undefined)[];
  readonly comment?: string;
}

/** An expectation checked by `seccomp-ts check` through the emulator. */
export interface PolicyTest {
  readonly syscall: string;
  /** Default: every listed architecture. */
  readonly arch?: ArchName;
  readonly args?: readonly bigint[];
  readonly ip?: bigint;
  readonly expect: ActionValue;
  readonly pos?: SourcePos;
}

/** A validated policy, independent of any architecture's syscall numbers. */
export interface Policy {
  readonly defaultAction: ActionValue;
  readonly badArchAction: ActionValue;
  /** Undefined: the machine's own architecture. */
  readonly architectures?: readonly ArchName[];
  /** Where `architectures` is written, for messages about the selection (e.g. mixed byte order). */
  readonly architecturesPos?: SourcePos;
  readonly rules: readonly PolicyRule[];
  readonly tests: readonly PolicyTest[];
  /** The file the policy came from, for messages. */
  readonly source?: string;
  /** A syscall unknown on one of the architectures is an error rather than a warning (resolvePolicy's `strict` overrides it). */
  readonly strict?: boolean;
}

/** A non-fatal finding while resolving (e.g. a syscall unknown on one architecture). */
export interface PolicyWarning {
  readonly code: string;
  readonly message: string;
  readonly arch?: ArchName;
  readonly pos?: SourcePos;
}

/** One rule as it applies to one syscall number on one architecture. */
export interface ResolvedRule {
  readonly action: ActionValue;
  /** AND-ed; empty means unconditional. Checks are already normalised for the arch (32-bit arches: bits 32). */
  readonly args: readonly ArgCheck[];
  /** The rule it came from. */
  readonly origin: PolicyRule;
}

/** The rules of one syscall on one architecture (OR-ed). */
export interface ResolvedSyscall {
  readonly name: string;
  readonly nr: number;
  readonly rules: readonly ResolvedRule[];
}

/** A policy for one architecture: syscall numbers exactly as seccomp_data.nr shows them. */
export interface ResolvedArch {
  readonly arch: Arch;
  readonly defaultAction: ActionValue;
  /** Numbers absent from the map get defaultAction. */
  readonly syscalls: ReadonlyMap<number, ResolvedSyscall>;
}

/** A policy ready for code generation and evaluation. All arches share one byte order. */
export interface ResolvedPolicy {
  readonly badArchAction: ActionValue;
  readonly arches: readonly ResolvedArch[];
  readonly warnings: readonly PolicyWarning[];
  readonly source?: string;
}
