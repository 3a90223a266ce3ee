/**
 * The reference evaluator: what a ResolvedPolicy decides for one seccomp_data, computed directly
 * from the policy with BigInt arithmetic and no BPF. The compiled filter must agree with it on
 * every input (the codegen's differential tests); the rules are in the header of types.ts.
 */
import { ARCHES } from '../arch/index.js';
import { actionRank, type SeccompData } from '../bpf/seccomp.js';
import type { ActionValue, ArgCheck, ResolvedArch, ResolvedPolicy, ResolvedRule, ResolvedSyscall } from './types.js';

const U64 = (1n << 64n) - 1n;
const U32 = 0xffffffffn;

/** Why the evaluator decided what it did. */
export interface Decision {
  readonly action: ActionValue;
  /** bad_arch: the call's ABI is not in the policy; default: no rule held; rule: `rule` decided. */
  readonly reason: 'bad_arch' | 'default' | 'rule';
  /** The ABI the call was attributed to, when it is one of the policy's. */
  readonly arch?: ResolvedArch;
  readonly syscall?: ResolvedSyscall;
  /** The winning rule (the most restrictive of those whose checks hold; the first on a tie). */
  readonly rule?: ResolvedRule;
}

/**
 * The policy's architecture a call belongs to: the ABIs sharing seccomp_data.arch are told apart
 * by their syscall bit (x32's 0x40000000 on AUDIT_ARCH_X86_64). Undefined when that ABI is not
 * one of the policy's.
 */
export function archOfCall(resolved: ResolvedPolicy, auditArch: number, nr: number): ResolvedArch | undefined {
  const audit = auditArch >>> 0;
  const n = nr >>> 0;
  const same = ARCHES.filter((a) => a.auditArch === audit);
  const abi = same.find((a) => a.syscallBit !== 0 && (n & a.syscallBit) !== 0) ?? same.find((a) => a.syscallBit === 0);
  if (!abi) return undefined;
  return resolved.arches.find((r) => r.arch.name === abi.name);
}

/** Whether one argument check holds. `bits32` forces a 32-bit comparison (32-bit ABIs). */
export function checkHolds(c: ArgCheck, args: readonly bigint[], bits32 = false): boolean {
  let a = BigInt.asUintN(64, args[c.index] ?? 0n) & U64;
  if (c.bits === 32 || bits32) a &= U32;
  const v = c.value;
  switch (c.op) {
    case 'eq':
      return a === v;
    case 'ne':
      return a !== v;
    case 'lt':
      return a < v;
    case 'le':
      return a <= v;
    case 'gt':
      return a > v;
    case 'ge':
      return a >= v;
    case 'masked_eq':
      return (a & (c.mask ?? 0n)) === v;
  }
}

/** The evaluator's decision with its reason (see Decision). */
export function explainDecision(resolved: ResolvedPolicy, data: SeccompData): Decision {
  const arch = archOfCall(resolved, data.arch, data.nr);
  if (!arch) return { action: resolved.badArchAction, reason: 'bad_arch' };
  const syscall = arch.syscalls.get(data.nr >>> 0);
  if (!syscall) return { action: arch.defaultAction, reason: 'default', arch };
  const bits32 = arch.arch.bits === 32;
  let best: ResolvedRule | undefined;
  for (const r of syscall.rules) {
    if (!r.args.every((c) => checkHolds(c, data.args, bits32))) continue;
    if (!best || actionRank(r.action) < actionRank(best.action)) best = r;
  }
  if (!best) return { action: arch.defaultAction, reason: 'default', arch, syscall };
  return { action: best.action, reason: 'rule', arch, syscall, rule: best };
}

/**
 * What the policy returns for one call, as the kernel would see the filter's return value:
 * badArchAction for an ABI not in the policy, else the most restrictive action among the rules
 * of that syscall whose checks all hold (the first listed on a tie), else the default action.
 */
export function evaluatePolicy(resolved: ResolvedPolicy, data: SeccompData): ActionValue {
  return explainDecision(resolved, data).action;
}
