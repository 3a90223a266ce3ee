/**
 * The policy linter: findings about a policy that is valid but probably not what its author
 * meant, each with a rule id, a severity and a position. The knowledge (which syscalls are
 * equivalent, argument widths, limits) lives in lint-data.ts; this file only applies it.
 *
 * Rules (README "Lint rules" has an example of each): denylist-bypass, multiplexer-bypass,
 * io-uring-allowed, allow-by-default, errno-for-sensitive, shadowed-rule, contradictory-args,
 * syscall-not-on-any-arch, syscall-not-on-arch, arg-width, filter-size, bwrap-execve,
 * resolve-warning.
 */
import { syscallNumber, type Arch } from '../arch/index.js';
import { actionRank, decodeAction } from '../bpf/seccomp.js';
import { formatAction } from './actions.js';
import { formatPos } from './errors.js';
import { expandGroup } from './groups.js';
import {
  ARG_WIDTHS, EQUIVALENT_FAMILIES, FILTER_SIZE, IO_URING_SYSCALLS, LINT_RULES, MULTIPLEXERS, SENSITIVE_SYSCALLS,
} from './lint-data.js';
import type { ActionValue, ArgCheck, Policy, PolicyRule, ResolvedArch, ResolvedPolicy, ResolvedRule, SourcePos } from './types.js';

/** How bad a finding is: errors make `seccomp-ts check` fail. */
export type Severity = 'error' | 'warning';

/** One finding of the linter (or of `check`). */
export interface Finding {
  /** A rule id from LINT_RULES (or `test-failed` from check). */
  readonly rule: string;
  readonly severity: Severity;
  /** One line, without the position. */
  readonly message: string;
  readonly pos?: SourcePos;
  /** Further lines, e.g. the instruction trace of a failing test. */
  readonly detail?: readonly string[];
}

/** Options of {@link lintPolicy}. */
export interface LintOptions {
  /** Length of the compiled filter, for `filter-size`; left out: not judged. */
  readonly instructionCount?: number;
  /** The program that installs the filter; `bwrap` checks that execve stays possible. */
  readonly for?: 'bwrap';
  /**
   * The policy is meant for more architectures than these (an OCI profile, or --arch narrowing
   * the policy's list): an entry missing on every checked one is a warning, not an error.
   */
  readonly portable?: boolean;
}

/** `file:line:col: error [rule]: message`: a finding as one line. */
export function formatFinding(f: Finding, file?: string): string {
  return `${formatPos(f.pos, file)}${f.severity} [${f.rule}]: ${f.message}`;
}

const DENYING = new Set(['kill_process', 'kill_thread', 'trap', 'errno']);
/** Whether an action refuses the call (kill, trap or errno; not trace/notify, which let a supervisor decide). */
const denies = (v: ActionValue): boolean => DENYING.has(decodeAction(v).name);
const allowsAll = (v: ActionValue): boolean => ['allow', 'log'].includes(decodeAction(v).name);

function finding(rule: keyof typeof LINT_RULES, message: string, pos?: SourcePos, severity?: Severity): Finding {
  return Object.freeze({ rule, severity: severity ?? LINT_RULES[rule]!.severity, message, ...(pos ? { pos } : {}) });
}

const lineOf = (r: PolicyRule): string => (r.pos ? `line ${r.pos.line}` : `rule for ${r.syscalls.join(', ')}`);
const list = (names: readonly string[]): string => names.join(', ');

/** The rules of syscall `name` on a resolved arch (empty when it has none or does not exist there). */
function rulesOf(ra: ResolvedArch, name: string): readonly ResolvedRule[] | undefined {
  const nr = syscallNumber(ra.arch, name);
  if (nr === undefined) return undefined;
  return ra.syscalls.get((nr | ra.arch.syscallBit) >>> 0)?.rules ?? [];
}

/** Whether some call of `name` is refused by an explicit rule. */
function deniedByRule(rules: readonly ResolvedRule[]): ResolvedRule | undefined {
  return rules.find((r) => denies(r.action));
}

/** Whether some call of `name` gets through: an allow/log rule, or the default allows and no rule refuses. */
function reachable(ra: ResolvedArch, rules: readonly ResolvedRule[]): boolean {
  if (rules.some((r) => allowsAll(r.action))) return true;
  return allowsAll(ra.defaultAction) && !rules.some((r) => denies(r.action) && r.args.length === 0);
}

/** Groups per-arch findings with the same key, so one message lists every arch it holds on. */
class PerArch {
  private readonly m = new Map<string, { arches: string[]; make: (arches: string) => Finding }>();
  add(key: string, arch: Arch, make: (arches: string) => Finding): void {
    const e = this.m.get(key);
    if (e) e.arches.push(arch.name);
    else this.m.set(key, { arches: [arch.name], make });
  }
  findings(): Finding[] {
    return [...this.m.values()].map((e) => e.make(e.arches.join(', ')));
  }
}

function denylistBypass(resolved: ResolvedPolicy): Finding[] {
  const acc = new PerArch();
  for (const ra of resolved.arches) {
    // A denylist's problem: in an allowlist, what is not listed is refused anyway.
    if (!allowsAll(ra.defaultAction)) continue;
    for (const fam of EQUIVALENT_FAMILIES) {
      const denied: { name: string; rule: ResolvedRule }[] = [];
      const open: string[] = [];
      for (const name of fam.members) {
        const rules = rulesOf(ra, name);
        if (rules === undefined) continue;
        const d = deniedByRule(rules);
        if (d) denied.push({ name, rule: d });
        else if (reachable(ra, rules)) open.push(name);
      }
      if (denied.length === 0) continue;
      const first = denied[0]!;
      const what = list(denied.map((d) => d.name));
      if (open.length) {
        acc.add(`${fam.name}:${open.join(',')}`, ra.arch, (arches) =>
          finding(
            'denylist-bypass',
            `${what} ${denied.length > 1 ? 'are' : 'is'} denied but ${list(open)} ${open.length > 1 ? 'do' : 'does'} the same and ${open.length > 1 ? 'are' : 'is'} allowed (${arches}); deny them too`,
            first.rule.origin.pos,
          ),
        );
      }
      if (fam.ioUring) {
        const uring = IO_URING_SYSCALLS.filter((n) => {
          const r = rulesOf(ra, n);
          return r !== undefined && !deniedByRule(r) && reachable(ra, r);
        });
        if (uring.length) {
          acc.add(`${fam.name}:io_uring`, ra.arch, (arches) =>
            finding(
              'denylist-bypass',
              `${what} ${denied.length > 1 ? 'are' : 'is'} denied but ${list(uring)} ${uring.length > 1 ? 'are' : 'is'} allowed (${arches}): io_uring performs ${fam.name} without calling ${what}; deny io_uring_setup and io_uring_enter (a ring made before the filter still works)`,
              first.rule.origin.pos,
            ),
          );
        }
      }
    }
  }
  return acc.findings();
}

function multiplexerBypass(resolved: ResolvedPolicy): Finding[] {
  const acc = new PerArch();
  for (const ra of resolved.arches) {
    for (const mx of MULTIPLEXERS) {
      const mrules = rulesOf(ra, mx.name);
      if (mrules === undefined || deniedByRule(mrules)?.args.length === 0 || !reachable(ra, mrules)) continue;
      const restricted: { name: string; rule: ResolvedRule }[] = [];
      for (const name of mx.members) {
        const rules = rulesOf(ra, name) ?? [];
        const r = rules.find((x) => x.args.length > 0 || denies(x.action));
        if (r) restricted.push({ name, rule: r });
      }
      if (restricted.length === 0) continue;
      const names = list(restricted.map((r) => r.name));
      acc.add(mx.name, ra.arch, (arches) =>
        finding(
          'multiplexer-bypass',
          `the rules for ${names} do not apply to calls made through ${mx.name}, which this policy lets through on ${arches}; deny ${mx.name} (kill_process) or leave ${arches} out`,
          restricted[0]!.rule.origin.pos,
        ),
      );
    }
  }
  return acc.findings();
}

function ioUringAllowed(resolved: ResolvedPolicy): Finding[] {
  const acc = new PerArch();
  for (const ra of resolved.arches) {
    if (allowsAll(ra.defaultAction)) continue; // a denylist: denylist-bypass judges io_uring there
    for (const name of IO_URING_SYSCALLS) {
      const rules = rulesOf(ra, name);
      const allow = rules?.find((r) => allowsAll(r.action));
      if (!allow) continue;
      acc.add(name, ra.arch, (arches) =>
        finding(
          'io-uring-allowed',
          `${name} is allowed (${arches}): io_uring performs openat, read, write, connect, statx and more inside the kernel, without syscalls this filter sees, so the allowlist does not bound what the ring can do`,
          allow.origin.pos,
        ),
      );
    }
  }
  return acc.findings();
}

function allowByDefault(policy: Policy): Finding[] {
  if (!allowsAll(policy.defaultAction)) return [];
  return [
    finding(
      'allow-by-default',
      `defaultAction is ${formatAction(policy.defaultAction)}: every syscall not listed is allowed, including ones added to future kernels; prefer an allowlist with defaultAction kill_process or errno`,
      policy.source !== undefined ? { file: policy.source, line: 1, column: 1 } : undefined,
    ),
  ];
}

/** Syscall names a rule covers on any of the arches (groups expanded). */
function namesOf(rule: PolicyRule, arches: readonly Arch[]): string[] {
  const out = new Set<string>();
  for (const e of rule.syscalls) {
    if (e.startsWith('@')) for (const a of arches) for (const n of expandGroup(e, a) ?? []) out.add(n);
    else out.add(e);
  }
  return [...out];
}

function errnoForSensitive(policy: Policy, arches: readonly Arch[]): Finding[] {
  const out: Finding[] = [];
  for (const rule of policy.rules) {
    if (decodeAction(rule.action).name !== 'errno') continue;
    const hit = namesOf(rule, arches).filter((n) => SENSITIVE_SYSCALLS.includes(n));
    if (hit.length === 0) continue;
    out.push(
      finding(
        'errno-for-sensitive',
        `${list(hit)} ${hit.length > 1 ? 'are' : 'is'} denied with ${formatAction(rule.action)}: an attacker who gets an error can try another way, one who is killed cannot; use kill_process`,
        rule.pos,
      ),
    );
  }
  return out;
}

function shadowedRules(resolved: ResolvedPolicy): Finding[] {
  const acc = new PerArch();
  const order = new Map<PolicyRule, number>();
  for (const ra of resolved.arches) {
    for (const sc of ra.syscalls.values()) {
      sc.rules.forEach((r) => order.has(r.origin) || order.set(r.origin, order.size));
      for (const r of sc.rules) {
        const s = sc.rules.find(
          (x) =>
            x !== r &&
            x.args.length === 0 &&
            x.action !== r.action &&
            (actionRank(x.action) < actionRank(r.action) || (actionRank(x.action) === actionRank(r.action) && sc.rules.indexOf(x) < sc.rules.indexOf(r))),
        );
        if (!s) continue;
        acc.add(`${order.get(r.origin)}:${order.get(s.origin)}:${sc.name}`, ra.arch, (arches) =>
          finding(
            'shadowed-rule',
            `this rule (${formatAction(r.action)}) never decides for ${sc.name}: the unconditional rule at ${lineOf(s.origin)} gives it ${formatAction(s.action)} (${arches})`,
            r.origin.pos,
          ),
        );
      }
    }
  }
  return acc.findings();
}

// ---- satisfiability of one argument's checks ----

/** The smallest x >= lo (x < 2^w) with (x & mask) == value, or undefined. */
export function nextMasked(lo: bigint, mask: bigint, value: bigint, w: number): bigint | undefined {
  const top = (1n << BigInt(w)) - 1n;
  if (lo > top) return undefined;
  let prefix = 0n;
  let best: bigint | undefined;
  // Walk bits from the top, staying equal to lo; remember the lowest free bit where lo has 0,
  // which gives the next larger candidate if we later have to go above lo.
  for (let b = w - 1; b >= 0; b--) {
    const bit = 1n << BigInt(b);
    const lb = lo & bit;
    const below = bit - 1n;
    if (mask & bit) {
      const vb = value & bit;
      if (vb === lb) { prefix |= vb; continue; }
      if (vb > lb) return prefix | vb | (value & mask & below);
      return best;
    }
    if (!lb) best = prefix | bit | (value & mask & below);
    prefix |= lb;
  }
  return prefix;
}

/**
 * Whether some w-bit value satisfies every check (all on one argument): an interval from the
 * comparisons, a fixed bit pattern from masked_eq, and a finite set of excluded points from ne.
 */
export function checksSatisfiable(checks: readonly ArgCheck[], w: number): boolean {
  const top = (1n << BigInt(w)) - 1n;
  let lo = 0n;
  let hi = top;
  let mask = 0n;
  let value = 0n;
  const ne: bigint[] = [];
  for (const c of checks) {
    const v = c.value & top;
    switch (c.op) {
      case 'eq': lo = lo > v ? lo : v; hi = hi < v ? hi : v; break;
      case 'ne': ne.push(v); break;
      case 'lt': if (v === 0n) return false; hi = hi < v - 1n ? hi : v - 1n; break;
      case 'le': hi = hi < v ? hi : v; break;
      case 'gt': if (v === top) return false; lo = lo > v + 1n ? lo : v + 1n; break;
      case 'ge': lo = lo > v ? lo : v; break;
      case 'masked_eq': {
        const m = (c.mask ?? 0n) & top;
        if (((value ^ v) & mask & m) !== 0n || (v & ~m) !== 0n) return false;
        mask |= m;
        value |= v & m;
        break;
      }
    }
  }
  // At most ne.length candidates can be excluded, so ne.length + 1 steps find a survivor if one exists.
  let x = nextMasked(lo, mask, value, w);
  for (let i = 0; i <= ne.length; i++) {
    if (x === undefined || x > hi) return false;
    if (!ne.includes(x)) return true;
    x = x === top ? undefined : nextMasked(x + 1n, mask, value, w);
  }
  return false;
}

function contradictoryArgs(policy: Policy): Finding[] {
  const out: Finding[] = [];
  for (const rule of policy.rules) {
    const byIndex = new Map<number, ArgCheck[]>();
    for (const c of rule.args) byIndex.set(c.index, [...(byIndex.get(c.index) ?? []), c]);
    for (const [index, checks] of byIndex) {
      const widths = new Set(checks.map((c) => c.bits));
      if (widths.size !== 1) continue; // mixed 32/64-bit checks on one argument: not judged
      if (checksSatisfiable(checks, checks[0]!.bits)) continue;
      const text = checks.map((c) => `${c.op} 0x${c.value.toString(16)}${c.mask !== undefined ? ` mask 0x${c.mask.toString(16)}` : ''}`).join(' and ');
      out.push(finding('contradictory-args', `no value of args[${index}] satisfies ${text}, so this rule never matches`, checks[checks.length - 1]!.pos ?? rule.pos));
    }
  }
  return out;
}

function missingSyscalls(policy: Policy, arches: readonly Arch[], portable: boolean): Finding[] {
  const out: Finding[] = [];
  for (const rule of policy.rules) {
    rule.syscalls.forEach((entry, j) => {
      const pos = rule.syscallPos?.[j] ?? rule.pos;
      const on = arches.filter((a) => (entry.startsWith('@') ? (expandGroup(entry, a) ?? []).length > 0 : syscallNumber(a, entry) !== undefined));
      if (on.length === arches.length) return;
      const missing = arches.filter((a) => !on.includes(a)).map((a) => a.name);
      const what = entry.startsWith('@') ? `group ${entry} has no member that exists` : `syscall ${entry} does not exist`;
      if (on.length === 0) {
        const msg = `${what} on ${list(missing)}, so this entry never matches${portable ? ' here' : ''}`;
        out.push(finding('syscall-not-on-any-arch', msg, pos, portable ? 'warning' : undefined));
      }
      else out.push(finding('syscall-not-on-arch', `${what} on ${list(missing)} (it is skipped there)`, pos));
    });
  }
  return out;
}

/**
 * Whether high bits in a 32-bit argument can change the outcome in the caller's favour. Setting
 * them can only make eq/lt/le false and ne/gt/ge true (for a value below 2^32): that matters
 * when a refusing rule stops holding, or a permitting rule (less restrictive than the default)
 * starts to. A masked_eq whose mask covers only the low half cannot see them at all.
 */
function widthExploitable(c: ArgCheck, action: ActionValue, defaultAction: ActionValue): boolean {
  if (c.op === 'masked_eq') return (c.mask ?? 0n) > 0xffffffffn;
  if (c.value > 0xffffffffn) return true; // a value the kernel can never see: the check is wrong either way
  const stricter = actionRank(action) < actionRank(defaultAction);
  const canTurnFalse = c.op === 'eq' || c.op === 'lt' || c.op === 'le';
  return stricter ? canTurnFalse : !canTurnFalse;
}

function argWidth(policy: Policy, arches: readonly Arch[]): Finding[] {
  const out: Finding[] = [];
  const wide = arches.filter((a) => a.bits === 64);
  if (wide.length === 0) return out;
  for (const rule of policy.rules) {
    const names = namesOf(rule, wide).filter((n) => wide.some((a) => syscallNumber(a, n) !== undefined));
    for (const c of rule.args) {
      if (c.bits !== 64) continue;
      if (!widthExploitable(c, rule.action, policy.defaultAction)) continue;
      const hit = names.filter((n) => ARG_WIDTHS[n]?.[c.index] === 32);
      if (hit.length === 0) continue;
      out.push(
        finding(
          'arg-width',
          `args[${c.index}] of ${list(hit)} is a 32-bit int the kernel truncates, but this check compares 64 bits: a caller can set high bits to get past it; add bits: 32`,
          c.pos ?? rule.pos,
        ),
      );
    }
  }
  return out;
}

function filterSize(count: number | undefined, file: string | undefined): Finding[] {
  if (count === undefined) return [];
  const pos = file !== undefined ? { file, line: 1, column: 1 } : undefined;
  const note = `(the kernel also caps all filters of a process at ${FILTER_SIZE.perPath} instructions in total, plus 4 per filter)`;
  if (count > FILTER_SIZE.max) {
    return [finding('filter-size', `the filter has ${count} instructions; the kernel rejects more than ${FILTER_SIZE.max} ${note}`, pos)];
  }
  if (count > FILTER_SIZE.warn) {
    return [finding('filter-size', `the filter has ${count} instructions, close to the kernel's limit of ${FILTER_SIZE.max} ${note}`, pos, 'warning')];
  }
  return [];
}

function bwrapExecve(resolved: ResolvedPolicy): Finding[] {
  const acc = new PerArch();
  for (const ra of resolved.arches) {
    const rules = rulesOf(ra, 'execve');
    if (rules === undefined) continue;
    const d = deniedByRule(rules);
    const unconditionalAllow = rules.some((r) => allowsAll(r.action) && r.args.length === 0);
    if (!d && (allowsAll(ra.defaultAction) || unconditionalAllow)) continue;
    acc.add('execve', ra.arch, (arches) =>
      finding(
        'bwrap-execve',
        `bubblewrap installs the filter before it runs the sandboxed program, but this policy denies execve on ${arches}${d ? '' : ' (by default)'}, so the program would never start; allow execve, or launch with seccomp-ts, which gates the first exec`,
        d?.origin.pos,
      ),
    );
  }
  return acc.findings();
}

/**
 * Every finding of the linter for a policy and its resolution (the same arches as the filter).
 * Findings come in rule order of LINT_RULES, then source order.
 */
export function lintPolicy(policy: Policy, resolved: ResolvedPolicy, opts: LintOptions = {}): Finding[] {
  const arches = resolved.arches.map((r) => r.arch);
  const passThrough = resolved.warnings
    .filter((w) => w.code !== 'SYSCALL_NOT_ON_ARCH') // reported by missingSyscalls, once per entry
    .map((w) => finding('resolve-warning', w.message.replace(/^.*?:\d+:\d+: |^[^ ]+: /, ''), w.pos));
  const all = [
    ...denylistBypass(resolved),
    ...multiplexerBypass(resolved),
    ...ioUringAllowed(resolved),
    ...allowByDefault(policy),
    ...errnoForSensitive(policy, arches),
    ...shadowedRules(resolved),
    ...contradictoryArgs(policy),
    ...missingSyscalls(policy, arches, opts.portable === true),
    ...argWidth(policy, arches),
    ...filterSize(opts.instructionCount, policy.source),
    ...(opts.for === 'bwrap' ? bwrapExecve(resolved) : []),
    ...passThrough,
  ];
  const ruleOrder = Object.keys(LINT_RULES);
  return all
    .map((f, i) => ({ f, i }))
    .sort((a, b) => ruleOrder.indexOf(a.f.rule) - ruleOrder.indexOf(b.f.rule) || (a.f.pos?.line ?? 0) - (b.f.pos?.line ?? 0) || a.i - b.i)
    .map((x) => x.f);
}
