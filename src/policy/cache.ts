/**
 * The kernel's seccomp action cache (Linux >= 5.11), modelled so a filter's cache-friendliness
 * can be checked without a kernel.
 *
 * When a filter is attached, the kernel runs a tiny abstract interpreter over it for every syscall
 * number of its native (and compat) ABI, knowing only seccomp_data.nr and .arch. If that run ends
 * in `RET SECCOMP_RET_ALLOW` using only instructions it understands, the number is marked always
 * allowed and later calls skip the filter entirely. Facts from kernel/seccomp.c (6.12),
 * seccomp_is_const_allow and seccomp_cache_prepare_bitmap, and arch/x/include/asm/seccomp.h:
 * - understood: LD W ABS of nr (offset 0) or arch (4), JEQ/JGE/JGT/JSET with K, JA, ALU AND K,
 *   RET K; anything else (a load of an argument or the instruction pointer, X, scratch memory,
 *   other ALU ops) means "not constant", as does running off the end;
 * - the accumulator starts at 0; only RET K with k == 0x7fff0000 exactly counts as allow;
 * - only ABIs with SECCOMP_ARCH_NATIVE/COMPAT have a cache, and only numbers below their
 *   NR_syscalls: x32 numbers (with the x32 bit) are never cached, MIPS has no cache at all.
 * - the kernel also treats uretprobe on x86_64 as always allowed, whatever the filter says; that
 *   is the kernel's exception, not a property of the filter, so it is not modelled here.
 */
import type { Arch, ArchName } from '../arch/index.js';
import { syscallTable } from '../arch/index.js';
import type { Program } from '../bpf/insn.js';
import type { ResolvedArch } from './types.js';
import {
  BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W,
} from '../bpf/opcodes.js';
import { SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_ALLOW } from '../bpf/seccomp.js';

const LD_ABS = BPF_LD | BPF_W | BPF_ABS;
const RET_K = BPF_RET | BPF_K;
const JA = BPF_JMP | BPF_JA;
const JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
const JGE_K = BPF_JMP | BPF_JGE | BPF_K;
const JGT_K = BPF_JMP | BPF_JGT | BPF_K;
const JSET_K = BPF_JMP | BPF_JSET | BPF_K;
const AND_K = BPF_ALU | BPF_AND | BPF_K;

/**
 * Whether the kernel's cache-preparation pass finds `program` to return SECCOMP_RET_ALLOW for
 * every call with this AUDIT_ARCH value and syscall number, whatever the arguments (the model of
 * seccomp_is_const_allow described in the module comment).
 */
export function isConstAllow(program: Program, auditArch: number, nr: number): boolean {
  const n = program.length;
  let a = 0;
  // pc arithmetic as in the kernel: a jump adds its offset, then the loop adds one.
  for (let pc = 0; pc < n; pc++) {
    const { code, jt, jf } = program[pc];
    const k = program[pc].k >>> 0;
    switch (code) {
      case LD_ABS:
        if (k === SECCOMP_DATA_NR) a = nr >>> 0;
        else if (k === SECCOMP_DATA_ARCH) a = auditArch >>> 0;
        else return false; // a value that is not constant per syscall
        break;
      case RET_K:
        return k === SECCOMP_RET_ALLOW;
      case JA:
        pc += k;
        break;
      case JEQ_K:
        pc += a === k ? jt : jf;
        break;
      case JGE_K:
        pc += a >= k ? jt : jf;
        break;
      case JGT_K:
        pc += a > k ? jt : jf;
        break;
      case JSET_K:
        pc += (a & k) !== 0 ? jt : jf;
        break;
      case AND_K:
        a = (a & k) >>> 0;
        break;
      default:
        return false; // an instruction the cache pass does not model
    }
  }
  return false; // ran off the end
}

/** The ABIs for which the kernel keeps an action cache (SECCOMP_ARCH_NATIVE or _COMPAT somewhere). */
export const CACHED_ARCHES: ReadonlySet<ArchName> = new Set<ArchName>([
  'x86_64', 'i386', 'aarch64', 'arm', 'riscv64', 'ppc64le', 'ppc64', 's390x', 'loongarch64',
]);

/**
 * Whether a resolved policy allows syscall `nr` whatever its arguments, judged from its rules:
 * every rule allows, and either one of them is unconditional or the default allows too. (A rule
 * whose checks can never hold is not noticed; such a syscall is allowed without this saying so.)
 */
export function allowedWhateverArgs(ra: ResolvedArch, nr: number): boolean {
  const sc = ra.syscalls.get(nr >>> 0);
  if (!sc) return ra.defaultAction >>> 0 === SECCOMP_RET_ALLOW;
  return sc.rules.every((r) => r.action >>> 0 === SECCOMP_RET_ALLOW) && (ra.defaultAction >>> 0 === SECCOMP_RET_ALLOW || sc.rules.some((r) => r.args.length === 0));
}

/** Per-ABI result of {@link cacheReport}. */
export interface CacheReport {
  /** Syscall numbers of the ABI's table (as seccomp_data.nr shows them) the filter makes cacheable. */
  readonly cacheable: readonly number[];
  /** Numbers of the table that are not cacheable (they run the filter on every call). */
  readonly uncached: readonly number[];
  /** With a policy: numbers it allows whatever the arguments that are still not cacheable (a filter could do better). */
  readonly missed: readonly number[];
  /** Whether the kernel keeps a cache for this ABI at all (false for x32 and MIPS). */
  readonly kernelCaches: boolean;
}

/**
 * Which of an ABI's syscalls the kernel could serve from its action cache with this filter; given
 * the policy the filter was made from (that ABI's part), also which allowed ones miss the cache.
 */
export function cacheReport(program: Program, arch: Arch, policy?: ResolvedArch): CacheReport {
  const cacheable: number[] = [];
  const uncached: number[] = [];
  const missed: number[] = [];
  for (const n of syscallTable(arch).values()) {
    const nr = (n | arch.syscallBit) >>> 0;
    if (isConstAllow(program, arch.auditArch, nr)) cacheable.push(nr);
    else {
      uncached.push(nr);
      if (policy && allowedWhateverArgs(policy, nr)) missed.push(nr);
    }
  }
  return { cacheable, uncached, missed, kernelCaches: CACHED_ARCHES.has(arch.name) };
}
