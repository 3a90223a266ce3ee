/**
 * systemd's seccomp settings (systemd.exec(5)) <-> Policy: `SystemCallFilter=`,
 * `SystemCallErrorNumber=` and `SystemCallArchitectures=`, given as lines or as a whole unit file
 * (other keys and sections are ignored; comments, blank lines and `\` continuations are handled).
 *
 * Semantics, as systemd applies them:
 * - The first `SystemCallFilter=` decides the mode. Without `~` it starts an allow list: every
 *   other syscall gets the deny action, and the `@default` group (SYSTEMD_IMPLICIT_ALLOW) is added
 *   implicitly. With `~` it starts a deny list: the listed syscalls get the deny action and the rest
 *   are allowed.
 * - Later lines edit that one set: in allow mode, plain entries add and `~` entries remove; in deny
 *   mode, `~` entries add and plain entries remove. The last line touching a syscall wins. An empty
 *   `SystemCallFilter=` clears everything, so the next line decides the mode afresh.
 * - The deny action is kill-process (SIGSYS), or `errno(N)` with `SystemCallErrorNumber=N`
 *   (`kill` asks for kill-process again). In deny mode an entry may name its own errno:
 *   `~ptrace:EPERM`. An errno on an allowed entry means nothing, and is an error here.
 * - `SystemCallArchitectures=` lists the ABIs that may make syscalls at all (`native` is the
 *   machine's own); the others are killed. Without it the filter covers the machine's local ABIs
 *   (x86_64 with i386 and x32; aarch64 with arm), and calls from any other ABI, which the machine
 *   cannot produce, are killed as well.
 * - `@group` names are this project's groups of systemd's names (systemd-groups.ts), expanded when
 *   the set is computed. Unknown syscall and group names are errors here (systemd would skip them,
 *   which in a deny list silently weakens the sandbox).
 */
import { getArch, hostArch, suggest, syscallNumber, allSyscallNames, type Arch, type ArchName } from '../arch/index.js';
import { MAX_ERRNO, actionRank, decodeAction, encodeAction } from '../bpf/seccomp.js';
import { ERRNOS, errnoName, errnoNumber } from '../bpf/errno.js';
import { PolicyError, formatPos, type PolicyErrorCode } from './errors.js';
import { expandGroup } from './groups.js';
import { SYSTEMD_GROUPS, SYSTEMD_GROUP_NAMES, SYSTEMD_IMPLICIT_ALLOW, expandSystemdGroup } from './systemd-groups.js';
import type { ActionValue, Policy, PolicyRule, SourcePos } from './types.js';

export { SYSTEMD_IMPLICIT_ALLOW };

/** Options of {@link policyFromSystemd}. */
export interface SystemdOptions {
  /** The file name, for messages and Policy.source. */
  readonly file?: string;
  /**
   * The machine's local ABIs, the first being its native one (what `native` means). Default: this
   * machine's ABI and the compat ABIs its kernel runs (x86_64: i386, x32; aarch64: arm).
   */
  readonly arches?: readonly string[];
}

/** systemd's architecture names (SystemCallArchitectures=) and ours. */
const SYSTEMD_ARCH: ReadonlyMap<string, ArchName> = new Map<string, ArchName>([
  ['x86', 'i386'],
  ['x86-64', 'x86_64'],
  ['x32', 'x32'],
  ['arm', 'arm'],
  ['arm64', 'aarch64'],
  ['riscv64', 'riscv64'],
  ['ppc64', 'ppc64'],
  ['ppc64-le', 'ppc64le'],
  ['s390x', 's390x'],
  ['mips64-le', 'mips64el'],
  ['mips-le', 'mipsel'],
  ['loongarch64', 'loongarch64'],
]);

/** The compat ABIs a kernel of each native ABI also runs (what systemd filters besides the native one). */
const COMPAT: Partial<Record<ArchName, readonly ArchName[]>> = {
  x86_64: ['i386', 'x32'],
  aarch64: ['arm'],
};

/** The sections whose keys are exec settings; keys in other sections are not seccomp settings. */
const EXEC_SECTIONS = ['Service', 'Socket', 'Mount', 'Swap'];

/** The keys this reader interprets. */
const KEYS = ['SystemCallFilter', 'SystemCallErrorNumber', 'SystemCallArchitectures'];

const KILL = encodeAction('kill_process');
const ALLOW = encodeAction('allow');

/** The local ABIs: the option, or the host's native ABI and its compat ABIs. */
function localArches(opts: SystemdOptions): Arch[] {
  if (opts.arches && opts.arches.length > 0) {
    const out: Arch[] = [];
    for (const n of opts.arches) {
      let a: Arch;
      try {
        a = getArch(n);
      } catch (e) {
        throw new PolicyError('ARCH', `${formatPos(undefined, opts.file)}${(e as Error).message}`);
      }
      if (!out.includes(a)) out.push(a);
    }
    return out;
  }
  const h = hostArch();
  if (!h) throw new PolicyError('ARCH', `${formatPos(undefined, opts.file)}this machine's architecture (${process.arch}) is not supported; give the architectures`);
  return [h, ...(COMPAT[h.name] ?? []).map((n) => getArch(n))];
}

/** A logical line of the input: continuation lines joined, with the number of its first line. */
interface Line {
  readonly text: string;
  readonly line: number;
}

function logicalLines(input: string | readonly string[]): Line[] {
  const raw = typeof input === 'string' ? input.split(/\r?\n/) : input.flatMap((l) => l.split(/\r?\n/));
  const out: Line[] = [];
  let acc: string | undefined;
  let start = 0;
  raw.forEach((l, i) => {
    const t = acc === undefined ? l : acc + ' ' + l.trimStart();
    if (acc === undefined) start = i + 1;
    // A comment line inside a continuation is skipped, as systemd does.
    if (acc !== undefined && /^\s*[#;]/.test(l)) return;
    if (/\\\s*$/.test(t)) {
      acc = t.replace(/\\\s*$/, '');
      return;
    }
    acc = undefined;
    out.push({ text: t, line: start });
  });
  if (acc !== undefined) out.push({ text: acc, line: start });
  return out;
}

/** An errno written in a unit: a name such as EPERM or a number 0..4095. */
function parseErrno(s: string, fail: (msg: string) => never): number {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n > MAX_ERRNO) fail(`errno ${s} is out of range 0..${MAX_ERRNO}`);
    return n;
  }
  const n = errnoNumber(s);
  if (n !== undefined) return n;
  const near = suggest(s, ERRNOS.map(([e]) => e));
  fail(`unknown errno '${s}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
}

/**
 * The smallest-looking list of entries for a set of syscall names: whole groups where all of a
 * group's members are in the set, then the remaining names. Names that exist on none of `arches`
 * are dropped (they cannot matter there).
 */
function compress(names: ReadonlySet<string>, arches: readonly Arch[]): string[] {
  const covered = new Set<string>();
  const groups: string[] = [];
  const candidates = SYSTEMD_GROUPS.map((d) => ({ name: d.name, members: expandSystemdGroup(d.name)! })).sort((a, b) => b.members.length - a.members.length);
  for (const c of candidates) {
    if (c.members.every((m) => names.has(m)) && c.members.some((m) => !covered.has(m))) {
      groups.push(c.name);
      c.members.forEach((m) => covered.add(m));
    }
  }
  const rest = [...names].filter((n) => !covered.has(n) && arches.some((a) => syscallNumber(a, n) !== undefined));
  return [...groups.sort(), ...rest.sort()];
}

/**
 * A Policy from systemd unit lines (`SystemCallFilter=@system-service ~@privileged` and friends, or
 * a whole unit file). See the module comment for the semantics. Throws PolicyError with
 * `file:line:column` for a malformed line, an unknown syscall, group, errno or architecture, or an
 * errno on an allowed entry.
 */
export function policyFromSystemd(lines: string | readonly string[], opts: SystemdOptions = {}): Policy {
  const file = opts.file;
  const local = localArches(opts);
  const all = allSyscallNames();

  let mode: 'allow' | 'deny' | undefined;
  /** name -> per-entry errno (deny mode only), or null for the default deny action. */
  const set = new Map<string, number | null>();
  let filterPos: SourcePos | undefined;
  let errnoSetting: number | 'kill' | undefined;
  let archSetting: Arch[] | undefined;
  let section: string | undefined;

  for (const { text, line } of logicalLines(lines)) {
    const pos = (column: number): SourcePos => ({ ...(file ? { file } : {}), line, column });
    const fail: (code: PolicyErrorCode, column: number, msg: string) => never = (code, column, msg) => {
      throw PolicyError.at(code, pos(column), msg, file);
    };
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const indent = text.length - text.trimStart().length;
    if (trimmed.startsWith('[')) {
      const m = /^\[([^\]]+)\]$/.exec(trimmed);
      if (!m) fail('SYNTAX', indent + 1, `a section header is [Name], not '${trimmed}'`);
      section = m[1]!;
      continue;
    }
    const eq = text.indexOf('=');
    if (eq < 0) fail('SYNTAX', indent + 1, `expected KEY=VALUE, a [Section] header or a comment, not '${trimmed}'`);
    const key = text.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_-]+$/.test(key)) fail('SYNTAX', indent + 1, `'${key}' is not a setting name`);
    if (!KEYS.includes(key)) continue;
    if (section !== undefined && !EXEC_SECTIONS.includes(section)) {
      fail('INVALID', indent + 1, `${key}= belongs in [Service] (or [Socket], [Mount], [Swap]), not in [${section}]; systemd would ignore it here`);
    }
    const value = text.slice(eq + 1);
    const valueCol = eq + 2;
    // Words of the value with their 1-based columns.
    const words: { w: string; col: number }[] = [];
    for (const m of value.matchAll(/\S+/g)) words.push({ w: m[0], col: valueCol + m.index! });

    if (key === 'SystemCallErrorNumber') {
      if (words.length === 0) errnoSetting = undefined;
      else if (words.length > 1) fail('SYNTAX', words[1]!.col, 'SystemCallErrorNumber= takes one errno');
      else if (words[0]!.w === 'kill') errnoSetting = 'kill';
      else errnoSetting = parseErrno(words[0]!.w, (msg) => fail('ACTION', words[0]!.col, msg));
      continue;
    }

    if (key === 'SystemCallArchitectures') {
      if (words.length === 0) {
        archSetting = undefined;
        continue;
      }
      archSetting ??= [];
      for (const { w, col } of words) {
        const name = w === 'native' ? local[0]!.name : SYSTEMD_ARCH.get(w);
        if (!name) {
          const near = suggest(w, ['native', ...SYSTEMD_ARCH.keys()]);
          fail('ARCH', col, `unknown architecture '${w}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ` (systemd names: native, ${[...SYSTEMD_ARCH.keys()].join(', ')})`}`);
        }
        const a = getArch(name);
        if (!archSetting.includes(a)) archSetting.push(a);
      }
      continue;
    }

    // SystemCallFilter=
    if (words.length === 0) {
      mode = undefined;
      set.clear();
      continue;
    }
    filterPos ??= pos(indent + 1);
    let first = words[0]!;
    const invert = first.w.startsWith('~');
    if (invert) {
      if (first.w === '~') words.shift();
      else words[0] = { w: first.w.slice(1), col: first.col + 1 };
      if (words.length === 0) fail('SYNTAX', first.col, "'~' must be followed by syscall names");
      first = words[0]!;
    }
    if (mode === undefined) {
      mode = invert ? 'deny' : 'allow';
      if (mode === 'allow') for (const n of SYSTEMD_IMPLICIT_ALLOW) set.set(n, null);
    }
    const adding = (mode === 'allow') !== invert;
    for (const { w, col } of words) {
      if (w.startsWith('~')) fail('SYNTAX', col, "'~' may only start the value, before the first name");
      const colon = w.indexOf(':');
      const entry = colon < 0 ? w : w.slice(0, colon);
      let errno: number | null = null;
      if (colon >= 0) {
        if (!(mode === 'deny' && adding)) {
          fail('INVALID', col + colon, `'${w}': an errno only applies to a denied entry (a '~' line of a deny list), not to one that is ${adding ? 'allowed' : 'removed'}`);
        }
        errno = parseErrno(w.slice(colon + 1), (msg) => fail('ACTION', col + colon + 1, msg));
      }
      let names: readonly string[];
      if (entry.startsWith('@')) {
        const members: string[] | undefined = expandSystemdGroup(entry);
        if (members === undefined) {
          const near = suggest(entry, SYSTEMD_GROUP_NAMES);
          fail('UNKNOWN_GROUP', col, `unknown group '${entry}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ` (groups: ${SYSTEMD_GROUP_NAMES.join(' ')})`}`);
        }
        names = members;
      } else {
        if (!all.has(entry)) {
          const near = suggest(entry, all);
          fail('UNKNOWN_SYSCALL', col, `unknown syscall '${entry}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
        }
        names = [entry];
      }
      for (const n of names) {
        if (adding) set.set(n, errno);
        else set.delete(n);
      }
    }
  }

  const denyAction: ActionValue =
    errnoSetting === undefined || errnoSetting === 'kill' ? KILL : encodeAction('errno', errnoSetting);
  const arches = archSetting ?? local;
  const rules: PolicyRule[] = [];
  const rule = (syscalls: string[], action: ActionValue, comment: string) => {
    if (syscalls.length > 0) rules.push(Object.freeze({ syscalls: Object.freeze(syscalls), action, args: Object.freeze([]), ...(filterPos ? { pos: filterPos } : {}), comment }));
  };
  let defaultAction = ALLOW;
  if (mode === 'allow') {
    defaultAction = denyAction;
    rule(compress(new Set(set.keys()), arches), ALLOW, 'SystemCallFilter= allow list');
  } else if (mode === 'deny') {
    const byAction = new Map<ActionValue, Set<string>>();
    for (const [n, e] of set) {
      const act = e === null ? denyAction : encodeAction('errno', e);
      if (!byAction.has(act)) byAction.set(act, new Set());
      byAction.get(act)!.add(n);
    }
    for (const [act, names] of byAction) rule(compress(names, arches), act, 'SystemCallFilter=~ deny list');
  }
  return Object.freeze({
    defaultAction,
    badArchAction: KILL,
    architectures: Object.freeze(arches.map((a) => a.name)),
    rules: Object.freeze(rules),
    tests: Object.freeze([]),
    ...(file !== undefined ? { source: file } : {}),
  });
}

/** systemd's name of an architecture. */
function systemdArchName(a: Arch): string {
  return [...SYSTEMD_ARCH].find(([, ours]) => ours === a.name)![0];
}

function errnoText(n: number): string {
  return errnoName(n) ?? String(n);
}

/**
 * systemd unit lines (for a [Service] section) with the same decisions as `policy`. Groups are
 * expanded into syscall names, because systemd's own groups of the same names differ from this
 * project's. In allow mode the lines first take systemd's implicit `@default` set out again, so only
 * what the policy allows is allowed whatever systemd's version puts in that set.
 *
 * Throws PolicyError (INVALID, with the reason) when the policy does not map: argument checks,
 * actions other than allow/kill_process/errno, a deny action in an allow list that differs from the
 * default action, a bad-architecture action other than kill_process.
 */
export function policyToSystemd(policy: Policy): string[] {
  const src = policy.source;
  const fail: (why: string, pos?: SourcePos) => never = (why, pos) => {
    throw PolicyError.at('INVALID', pos, `no systemd form: ${why}`, src);
  };
  const arches = (policy.architectures ?? [hostArch()?.name]).map((n) => {
    if (n === undefined) fail("this machine's architecture is not supported; list the policy's architectures");
    return getArch(n!);
  });
  if (policy.badArchAction !== KILL) fail('systemd kills calls from other architectures; the policy\'s bad-architecture action must be kill_process');

  // The winning action for each syscall name (the most restrictive of its rules, as the evaluator decides).
  const decided = new Map<string, ActionValue>();
  policy.rules.forEach((r, i) => {
    if (r.args.length > 0) fail(`rule ${i + 1} checks arguments; systemd filters by syscall name only`, r.pos);
    const names = new Set<string>();
    for (const s of r.syscalls) {
      if (!s.startsWith('@')) names.add(s);
      else for (const a of arches) for (const m of expandGroup(s, a) ?? fail(`unknown group '${s}'`, r.pos)) names.add(m);
    }
    for (const n of names) {
      const prev = decided.get(n);
      if (prev === undefined || actionRank(r.action) < actionRank(prev)) decided.set(n, r.action);
    }
  });

  const lines: string[] = [];
  lines.push(`SystemCallArchitectures=${policy.architectures === undefined ? 'native' : arches.map(systemdArchName).join(' ')}`);
  const def = decodeAction(policy.defaultAction);
  const sorted = (xs: Iterable<string>) => [...xs].sort();

  if (def.name === 'allow' && def.data === 0) {
    const denied = [...decided].filter(([, a]) => a !== ALLOW);
    for (const [n, a] of denied) {
      const d = decodeAction(a);
      if (!(a === KILL || (d.name === 'errno' && encodeAction('errno', d.data) === a))) {
        fail(`syscall ${n} gets a ${d.name} action; a systemd deny list can only kill or return an errno`);
      }
    }
    if (denied.length === 0) return lines;
    const actions = new Set(denied.map(([, a]) => a));
    if (actions.size === 1 && !actions.has(KILL)) {
      lines.push(`SystemCallFilter=~${sorted(denied.map(([n]) => n)).join(' ')}`);
      lines.push(`SystemCallErrorNumber=${errnoText(decodeAction(denied[0]![1]).data)}`);
    } else {
      const words = denied.map(([n, a]) => (a === KILL ? n : `${n}:${errnoText(decodeAction(a).data)}`));
      lines.push(`SystemCallFilter=~${sorted(words).join(' ')}`);
    }
    return lines;
  }

  const defaultIsErrno = def.name === 'errno' && encodeAction('errno', def.data) === policy.defaultAction;
  if (policy.defaultAction !== KILL && !defaultIsErrno) {
    fail(`the default action ${def.name} is not allow, kill_process or errno`);
  }
  const allowed: string[] = [];
  for (const [n, a] of decided) {
    if (a === ALLOW) allowed.push(n);
    else if (a !== policy.defaultAction) {
      fail(`syscall ${n} gets a different deny action than the default; a systemd allow list denies everything else one way`);
    }
  }
  lines.push('# An allow list starts with systemd\'s implicit @default set; take it out so only the names below are allowed.');
  lines.push('SystemCallFilter=@default');
  lines.push('SystemCallFilter=~@default');
  if (allowed.length > 0) lines.push(`SystemCallFilter=${sorted(allowed).join(' ')}`);
  if (defaultIsErrno) lines.push(`SystemCallErrorNumber=${errnoText(def.data)}`);
  return lines;
}
