/**
 * Resolving a Policy for a set of architectures: syscall names and @groups become the numbers
 * each ABI shows in seccomp_data.nr, and argument checks are fitted to the ABI's register width.
 */
import { ArchError, allSyscallNames, getArch, hostArch, syscallTable, type Arch } from '../arch/index.js';
import { PolicyError, formatPos } from './errors.js';
import { actionForArch } from './errno-arch.js';
import { expandGroup } from './groups.js';
import { checkSyscallName } from './schema.js';
import type { ArgCheck, Policy, PolicyRule, PolicyWarning, ResolvedArch, ResolvedPolicy, ResolvedRule, ResolvedSyscall, SourcePos } from './types.js';

/** Options of resolvePolicy. */
export interface ResolveOptions {
  /** Architectures (names, aliases or Arch objects); overrides policy.architectures. */
  readonly arches?: readonly (string | Arch)[];
  /** A syscall unknown on one of the architectures is an error instead of a warning; overrides policy.strict. */
  readonly strict?: boolean;
}

const U32_MAX = 0xffffffffn;

/** The architectures a policy is resolved for: the option, else the policy's list, else the host. */
export function selectArches(policy: Policy, arches?: readonly (string | Arch)[]): Arch[] {
  const src = policy.source;
  let names: readonly (string | Arch)[];
  let pos: SourcePos | undefined;
  if (arches !== undefined) names = arches;
  else if (policy.architectures !== undefined) {
    names = policy.architectures;
    pos = policy.architecturesPos;
  }
  else {
    const h = hostArch();
    if (!h) {
      throw new PolicyError('ARCH', `${formatPos(undefined, src)}this machine's architecture (${process.arch}) is not supported; list the policy's architectures`);
    }
    names = [h];
  }
  const out: Arch[] = [];
  for (const n of names) {
    let a: Arch;
    try {
      a = getArch(n);
    } catch (e) {
      if (e instanceof ArchError) throw new PolicyError('ARCH', formatPos(pos, src) + e.message, pos);
      throw e;
    }
    if (!out.includes(a)) out.push(a);
  }
  if (out.length === 0) throw new PolicyError('ARCH', `${formatPos(pos, src)}no architecture selected`, pos);
  const endians = new Set(out.map((a) => a.endian));
  if (endians.size > 1) {
    const list = out.map((a) => `${a.name} (${a.endian}-endian)`).join(', ');
    throw new PolicyError('ARCH', `${formatPos(pos, src)}one filter cannot serve architectures of different byte order: ${list}`, pos);
  }
  return out;
}

/** An ABI's syscall table in number order: each name's rank, and the number (as seccomp_data.nr shows it) of each rank. */
interface RankedTable {
  /** Names sharing a number share a rank. */
  readonly rank: ReadonlyMap<string, number>;
  readonly nrs: Uint32Array;
}

// Syscall tables are static, so each ABI's ranking is made once (keyed like the tables themselves).
const rankedCache = new Map<string, RankedTable>();

function rankedTable(arch: Arch): RankedTable {
  let t = rankedCache.get(arch.name);
  if (!t) {
    const byNr = [...syscallTable(arch)].map(([name, nr]) => [name, (nr | arch.syscallBit) >>> 0] as const).sort((a, b) => a[1] - b[1]);
    const rank = new Map<string, number>();
    const nrs: number[] = [];
    for (const [name, nr] of byNr) {
      if (nrs[nrs.length - 1] !== nr) nrs.push(nr);
      rank.set(name, nrs.length - 1);
    }
    t = { rank, nrs: Uint32Array.from(nrs) };
    rankedCache.set(arch.name, t);
  }
  return t;
}

/** A rule's argument checks as they apply on `arch`: on 32-bit ABIs every check is a 32-bit check. */
function fitArgs(rule: PolicyRule, arch: Arch, src: string | undefined): readonly ArgCheck[] {
  if (arch.bits === 64) return rule.args;
  return Object.freeze(
    rule.args.map((c) => {
      for (const [what, v] of [
        ['value', c.value],
        ['mask', c.mask],
      ] as const) {
        if (v !== undefined && v > U32_MAX) {
          throw new PolicyError(
            'VALUE_TOO_WIDE',
            `${formatPos(c.pos ?? rule.pos, src)}argument ${c.index}: ${what} 0x${v.toString(16)} does not fit in 32 bits, but ${arch.name} passes 32-bit arguments, so the check cannot mean what it says there`,
            c.pos ?? rule.pos,
          );
        }
      }
      return c.bits === 32 ? c : Object.freeze({ ...c, bits: 32 as const });
    }),
  );
}

/**
 * A ResolvedPolicy for the selected architectures (see ResolveOptions). Throws PolicyError:
 * ARCH (unknown architecture, mixed byte order, unsupported host), UNKNOWN_SYSCALL /
 * UNKNOWN_GROUP (a name no architecture knows), VALUE_TOO_WIDE (a 64-bit value on a 32-bit
 * architecture), SYSCALL_NOT_ON_ARCH (strict mode only; otherwise a warning, and the name is
 * skipped on that architecture). Group members an architecture lacks are skipped silently.
 */
export function resolvePolicy(policy: Policy, opts: ResolveOptions = {}): ResolvedPolicy {
  const src = policy.source;
  const strict = opts.strict ?? policy.strict ?? false;
  const arches = selectArches(policy, opts.arches);
  const warnings: PolicyWarning[] = [];

  // Names no architecture knows are errors whatever the selection (Policy objects may be built by hand).
  const known = allSyscallNames();
  for (const rule of policy.rules) {
    const names = rule.syscalls;
    for (let j = 0; j < names.length; j++) {
      const name = names[j];
      if (known.has(name)) continue; // the common case, without the call and its try
      try {
        checkSyscallName(name, true);
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        const pos = rule.syscallPos?.[j] ?? rule.pos;
        throw new PolicyError(e.code, formatPos(pos, src) + e.message, pos);
      }
    }
  }

  const resolved: ResolvedArch[] = arches.map((arch) => {
    const { rank, nrs } = rankedTable(arch);
    // Per number (by rank): its name and the rules naming it, in rule order.
    const slots: ({ name: string; rules: ResolvedRule[] } | undefined)[] = new Array(nrs.length);
    const add = (name: string, r: ResolvedRule) => {
      const x = rank.get(name)!;
      const e = slots[x];
      if (!e) slots[x] = { name, rules: [r] };
      // Rules are added in order, so a rule already listed for this number is the last one:
      // one rule naming a syscall twice (directly and through a group) is still one rule.
      else if (e.rules[e.rules.length - 1] !== r) e.rules.push(r);
    };
    // The one-rule lists, shared by every number only that rule names (they are frozen).
    const single = new Map<ResolvedRule, readonly ResolvedRule[]>();
    for (const rule of policy.rules) {
      const args = fitArgs(rule, arch, src);
      const resolvedRule: ResolvedRule = Object.freeze({ action: actionForArch(rule.action, arch), args, origin: rule });
      const names = rule.syscalls;
      for (let j = 0; j < names.length; j++) {
        const entry = names[j];
        if (rank.has(entry)) {
          add(entry, resolvedRule);
          continue;
        }
        if (entry.startsWith('@')) {
          for (const name of expandGroup(entry, arch) ?? []) add(name, resolvedRule);
          continue;
        }
        const pos = rule.syscallPos?.[j] ?? rule.pos;
        const msg = `syscall '${entry}' does not exist on ${arch.name}`;
        if (strict) throw new PolicyError('SYSCALL_NOT_ON_ARCH', `${formatPos(pos, src)}${msg} (strict mode)`, pos);
        const message = `${formatPos(pos, src)}${msg}; skipped there`;
        warnings.push(Object.freeze(pos ? { code: 'SYSCALL_NOT_ON_ARCH', message, arch: arch.name, pos } : { code: 'SYSCALL_NOT_ON_ARCH', message, arch: arch.name }));
      }
    }
    // Ranks are in number order, so the map comes out sorted.
    const syscalls = new Map<number, ResolvedSyscall>();
    for (let x = 0; x < slots.length; x++) {
      const e = slots[x];
      if (!e) continue;
      let rules: readonly ResolvedRule[];
      if (e.rules.length === 1) {
        const r = e.rules[0];
        rules = single.get(r) ?? (single.set(r, Object.freeze(e.rules)), e.rules);
      } else rules = Object.freeze(e.rules);
      const nr = nrs[x];
      syscalls.set(nr, Object.freeze({ name: e.name, nr, rules }));
    }
    return Object.freeze({ arch, defaultAction: actionForArch(policy.defaultAction, arch), syscalls });
  });

  return Object.freeze({
    badArchAction: policy.badArchAction,
    arches: Object.freeze(resolved),
    warnings: Object.freeze(warnings),
    ...(src !== undefined ? { source: src } : {}),
  });
}
