/**
 * Learning a policy from a trace: strace's log of one run in, the set of system calls it made
 * (per architecture) out, and from that an allowlist {@link Policy} and its YAML text.
 *
 * The log is what `strace -f -n --quiet=attach,exit -o FILE` writes (src/launch/learn.ts runs
 * it): one line per event, each starting with the thread id, then `[ NR]` (the syscall number,
 * with -n), then one of
 *   name(args) = result              a complete call
 *   name(args <unfinished ...>       a call another thread's line interrupted ...
 *   <... name resumed>rest) = result ... and its end (counted once, at its start)
 *   --- SIGNAME {...} ---            a signal delivered
 *   +++ exited with N +++ / +++ killed by SIG +++ / +++ superseded by execve ... +++
 *   [ Process PID=N runs in 32 bit mode. ]   a personality change (syscalls of another ABI)
 * Names come from the number and the personality through our own tables (what seccomp filters
 * on is the number); strace's name is the fallback when the log has no numbers, and
 * `syscall_0x1ce` (a number strace does not know) is named by our tables when they know it.
 *
 * Who is confined when. Without a marker, every call of every thread and child counts, except
 * the execve that starts the command (the launcher's own execve, which `seccomp-ts exec` lets
 * through its exec gate). With a marker (`--after-init`): a process is confined from the first
 * marker call in any of its threads (the preload object installs its filter with TSYNC, on all
 * threads at once), and a process or thread created while its parent was confined is confined
 * from its creation (filters are inherited over fork, clone and execve); only calls that start
 * after that count. Parent links come from the results of clone, clone3, fork and vfork, whose
 * CLONE_THREAD flag tells a thread from a process.
 */
import { getArch, hostArch, syscallName, syscallNumber, type ArchName } from '../arch/index.js';
import { PolicyError } from './errors.js';
import { policyFromLists } from './env.js';
import type { Policy } from './types.js';

/** Options of {@link parseStraceLog}. */
export interface StraceParseOptions {
  /** The ABI of the traced machine, for numbers and personalities (default: this machine's). */
  readonly host?: ArchName;
  /**
   * The `--after-init` marker: the text of the string a `write(-1, "MARKER", n)` call carries.
   * Only calls after it count (see the module comment). Undefined: the whole run counts.
   */
  readonly marker?: string;
  /** Leave out the execve that starts the command (default true; ignored with a marker). */
  readonly dropInitialExec?: boolean;
}

/** A syscall number the tables have no name for. */
export interface UnnamedSyscall {
  readonly arch: ArchName;
  readonly nr: number;
  readonly count: number;
}

/** What a trace shows (see {@link parseStraceLog}). */
export interface LearnedTrace {
  /** Counted calls: architecture -> syscall name -> number of calls, both in sorted order. */
  readonly syscalls: ReadonlyMap<ArchName, ReadonlyMap<string, number>>;
  /** Counted calls whose number has no name on its architecture (the policy cannot list them). */
  readonly unnamed: readonly UnnamedSyscall[];
  /** Lines that are none of the known forms (1-based line numbers), at most 20. */
  readonly unparsed: readonly { readonly line: number; readonly text: string }[];
  /** Thread ids seen. */
  readonly threads: number;
  /** Processes (thread groups) seen. */
  readonly processes: number;
  /** Whether the command's first execve succeeded. */
  readonly started: boolean;
  /** Calls of the marker seen (0 without one). */
  readonly markers: number;
  /** Every call in the log, counted or not. */
  readonly totalCalls: number;
}

/** strace's personality words -> our ABI names, per host ABI. */
const PERSONALITIES: Partial<Record<ArchName, Readonly<Record<string, ArchName>>>> = {
  x86_64: { '64 bit': 'x86_64', '32 bit': 'i386', x32: 'x32' },
  aarch64: { '64 bit': 'aarch64', '32 bit': 'arm' },
  ppc64le: { '64 bit': 'ppc64le' },
  ppc64: { '64 bit': 'ppc64' },
  s390x: { '64 bit': 's390x' },
};

interface Call {
  readonly tid: number;
  readonly line: number;
  readonly nr?: number;
  readonly name: string;
  /** The start text (name and arguments as far as the line goes). */
  readonly text: string;
  result?: string;
}

interface Link {
  readonly parent: number;
  readonly line: number;
  readonly thread: boolean;
}

const PREFIX = /^(\d+)\s+(?:\[\s*([^\]\s]*)\s*\]\s+)?(.*)$/;
const PERSONALITY = /^\[ Process PID=(\d+) runs in (.+) mode\. \]$/;
const RESUMED = /^<\.\.\. ([A-Za-z0-9_#]+) resumed>(.*)$/;
const START = /^([A-Za-z_][A-Za-z0-9_#]*)\((.*)$/;
const RESULT = /\)\s+=\s+(.*)$/;
const UNFINISHED = / ?<(?:unfinished|detached) \.\.\.>$/;
const CLONES = new Set(['clone', 'clone3', 'fork', 'vfork']);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Read strace's log (see the module comment). Throws PolicyError for a log without a single call
 * and for a host ABI strace's numbers cannot be read for.
 */
export function parseStraceLog(text: string, opts: StraceParseOptions = {}): LearnedTrace {
  const hostName = opts.host ?? hostArch()?.name;
  if (hostName === undefined) throw new PolicyError('ARCH', `this machine's architecture (${process.arch}) is not supported`);
  const host = getArch(hostName).name;
  const modes = PERSONALITIES[host] ?? { '64 bit': host };
  const markerRe = opts.marker === undefined ? undefined : new RegExp(`^write\\(-1, "${escapeRegExp(opts.marker)}"`);

  const calls: Call[] = [];
  const pending = new Map<number, Call>();
  const links = new Map<number, Link>();
  const personality = new Map<number, { line: number; arch: ArchName }[]>();
  const unparsed: { line: number; text: string }[] = [];
  const tids = new Set<number>();
  const markerLines = new Map<number, number[]>();
  let unparsedCount = 0;

  const finish = (c: Call, rest: string): void => {
    const m = RESULT.exec(rest);
    if (!m) return;
    c.result = m[1];
    if (CLONES.has(c.name)) {
      const child = /^(\d+)/.exec(m[1]);
      if (child && Number(child[1]) > 0) {
        links.set(Number(child[1]), { parent: c.tid, line: c.line, thread: c.name.startsWith('clone') && /\bCLONE_THREAD\b/.test(c.text) });
      }
    }
  };

  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trimEnd();
    if (line === '') return;
    const p = PREFIX.exec(line);
    if (!p) {
      unparsedCount++;
      if (unparsed.length < 20) unparsed.push({ line: lineNo, text: line });
      return;
    }
    const tid = Number(p[1]);
    // `[????]` or the like: strace could not read the number; the name decides.
    const nr = p[2] !== undefined && /^-?\d+$/.test(p[2]) ? Number(p[2]) : undefined;
    const body = p[3];
    tids.add(tid);
    const pers = PERSONALITY.exec(body);
    if (pers) {
      const arch = modes[pers[2]];
      if (arch === undefined) throw new PolicyError('ARCH', `trace line ${lineNo}: process ${pers[1]} runs in ${pers[2]} mode, which seccomp-ts does not know on ${host}`);
      const list = personality.get(Number(pers[1])) ?? [];
      list.push({ line: lineNo, arch });
      personality.set(Number(pers[1]), list);
      return;
    }
    if (body.startsWith('---') || body.startsWith('+++')) return; // signals, exits
    const res = RESUMED.exec(body);
    if (res) {
      const open = pending.get(tid);
      pending.delete(tid);
      if (open && open.name === res[1]) {
        finish(open, res[2]);
        return;
      }
      // A resumed call whose start is not in the log: count it here.
      const c: Call = { tid, line: lineNo, name: res[1], text: '', ...(nr !== undefined ? { nr } : {}) };
      calls.push(c);
      finish(c, res[2]);
      return;
    }
    const st = START.exec(body);
    if (!st) {
      unparsedCount++;
      if (unparsed.length < 20) unparsed.push({ line: lineNo, text: line });
      return;
    }
    const unfinished = UNFINISHED.test(body);
    const c: Call = { tid, line: lineNo, name: st[1], text: body.replace(UNFINISHED, ''), ...(nr !== undefined ? { nr } : {}) };
    calls.push(c);
    if (markerRe?.test(body)) {
      const list = markerLines.get(tid) ?? [];
      list.push(lineNo);
      markerLines.set(tid, list);
    }
    if (unfinished) pending.set(tid, c);
    else finish(c, body);
  });
  if (calls.length === 0) {
    throw new PolicyError('INVALID', `the trace has no system calls${unparsedCount ? ` (${unparsedCount} lines not understood, the first: ${JSON.stringify(unparsed[0].text)})` : ''}`);
  }

  // The process tree: personality inherited at creation, thread groups, confinement.
  const guard = (): never => {
    throw new PolicyError('INVALID', 'the trace links processes in a cycle (thread ids reused?)');
  };
  const inherited = new Map<number, ArchName>();
  const inheritedArch = (tid: number, depth = 0): ArchName => {
    const known = inherited.get(tid);
    if (known) return known;
    if (depth > tids.size + 1) guard();
    const link = links.get(tid);
    const a = link ? archAt(link.parent, link.line, depth + 1) : host;
    inherited.set(tid, a);
    return a;
  };
  const archAt = (tid: number, line: number, depth = 0): ArchName => {
    let a: ArchName | undefined;
    for (const p of personality.get(tid) ?? []) if (p.line < line) a = p.arch;
    return a ?? inheritedArch(tid, depth);
  };
  const groupOf = (tid: number): number => {
    let t = tid;
    for (let n = 0; ; n++) {
      const link = links.get(t);
      if (!link || !link.thread) return t;
      if (n > tids.size) guard();
      t = link.parent;
    }
  };
  const groupMarkers = new Map<number, number>();
  for (const [tid, ls] of markerLines) {
    const g = groupOf(tid);
    groupMarkers.set(g, Math.min(groupMarkers.get(g) ?? Infinity, ls[0]));
  }
  const confinedMemo = new Map<number, number>();
  const confinedFrom = (group: number, depth = 0): number => {
    if (markerRe === undefined) return 0;
    const known = confinedMemo.get(group);
    if (known !== undefined) return known;
    if (depth > tids.size + 1) guard();
    let from = groupMarkers.get(group) ?? Infinity;
    const link = links.get(group);
    if (link && confinedFrom(groupOf(link.parent), depth + 1) < link.line) from = Math.min(from, link.line);
    confinedMemo.set(group, from);
    return from;
  };

  const root = calls[0];
  const started = root.name === 'execve' && root.result !== undefined && /^0\b/.test(root.result);
  const dropFirst = markerRe === undefined && (opts.dropInitialExec ?? true) && root.name === 'execve';
  const counts = new Map<ArchName, Map<string, number>>();
  const unnamed = new Map<string, { arch: ArchName; nr: number; count: number }>();
  let markers = 0;
  for (const c of calls) {
    if (c === root && dropFirst) continue;
    if (markerRe?.test(c.text)) {
      markers++;
      continue;
    }
    if (c.line <= confinedFrom(groupOf(c.tid))) continue;
    const arch = archAt(c.tid, c.line);
    let name: string | undefined;
    let nr = c.nr;
    if (nr !== undefined && nr >= 0) name = syscallName(arch, nr);
    if (name === undefined) {
      const hex = /^syscall_0x([0-9a-f]+)$/i.exec(c.name);
      if (hex) {
        nr ??= parseInt(hex[1], 16);
        if (nr <= 0xffffffff) name = syscallName(arch, nr);
      } else if (syscallNumber(arch, c.name) !== undefined) {
        name = c.name;
        nr ??= syscallNumber(arch, c.name);
      }
    }
    if (name === undefined) {
      const n = nr ?? -1;
      const key = `${arch}/${n}`;
      const u = unnamed.get(key) ?? { arch, nr: n, count: 0 };
      u.count++;
      unnamed.set(key, u);
      continue;
    }
    const m = counts.get(arch) ?? new Map<string, number>();
    m.set(name, (m.get(name) ?? 0) + 1);
    counts.set(arch, m);
  }
  const sorted = new Map<ArchName, ReadonlyMap<string, number>>();
  for (const arch of [...counts.keys()].sort((a, b) => (a === host ? -1 : b === host ? 1 : a.localeCompare(b)))) {
    const m = counts.get(arch)!;
    sorted.set(arch, new Map([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))));
  }
  return {
    syscalls: sorted,
    unnamed: [...unnamed.values()],
    unparsed,
    threads: tids.size,
    processes: new Set([...tids].map(groupOf)).size,
    started,
    markers,
    totalCalls: calls.length,
  };
}

/** The union of the learned names over all architectures, sorted. */
export function learnedNames(trace: LearnedTrace): string[] {
  return [...new Set([...trace.syscalls.values()].flatMap((m) => [...m.keys()]))].sort();
}

/** Options of {@link learnedPolicy} and {@link formatLearnedPolicy}. */
export interface LearnedPolicyOptions {
  /** The policy's architectures (default: those the trace shows calls for). */
  readonly architectures?: readonly string[];
}

function architecturesOf(trace: LearnedTrace, opts: LearnedPolicyOptions): string[] {
  const a = opts.architectures ?? [...trace.syscalls.keys()];
  if (a.length === 0) throw new PolicyError('INVALID', 'the trace has no system calls to allow');
  return [...a];
}

/**
 * The allowlist Policy of a trace: every learned syscall allowed, everything else (and every
 * other ABI) kill_process. Throws PolicyError when nothing was learned.
 */
export function learnedPolicy(trace: LearnedTrace, opts: LearnedPolicyOptions = {}): Policy {
  const names = learnedNames(trace);
  if (names.length === 0) throw new PolicyError('INVALID', 'the trace has no system calls to allow');
  return policyFromLists({ allow: names, architectures: architecturesOf(trace, opts), source: 'learned policy' });
}

/** What {@link formatLearnedPolicy} writes in the header. */
export interface LearnedPolicyHeader extends LearnedPolicyOptions {
  /** The command and its arguments as run. */
  readonly command: readonly string[];
  /** When (default: now). */
  readonly date?: Date;
  /** How the trace was taken, a sentence or two (wrapped into the header). */
  readonly method: string;
  /** How to use the policy, e.g. `seccomp-ts exec --policy FILE -- CMD`. */
  readonly use?: string;
  /** The command's exit: `exited with status 0`, `was killed by SIGSYS`. */
  readonly outcome?: string;
}

/** Characters that could end a YAML comment line or confuse a reader, escaped. */
function commentSafe(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/gu, (c) => {
    const code = c.codePointAt(0)!;
    return code === 10 ? '\\n' : code === 9 ? '\\t' : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/** One argument as a POSIX shell would need it (for the header; control characters escaped). */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${commentSafe(arg).replace(/'/g, `'\\''`)}'`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > width) {
      out.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * The learned policy as YAML in the policy-file format: a comment header (command, date, method,
 * use, outcome), defaultAction and badArchAction kill_process, the architectures, and one allow
 * rule listing the syscalls sorted, each with its call count (and its ABIs when there are
 * several). parsePolicy reads it back to {@link learnedPolicy}'s policy.
 */
export function formatLearnedPolicy(trace: LearnedTrace, header: LearnedPolicyHeader): string {
  const names = learnedNames(trace);
  if (names.length === 0) throw new PolicyError('INVALID', 'the trace has no system calls to allow');
  const arches = architecturesOf(trace, header);
  for (const a of arches) getArch(a); // unknown names fail here, before any output
  const multi = trace.syscalls.size > 1;
  const cmd = header.command.map(shellQuote).join(' ');
  const out: string[] = [];
  out.push(`# seccomp-ts policy learned from one run of: ${cmd}`);
  out.push(`# Date: ${(header.date ?? new Date()).toISOString()}`);
  const para = (label: string, text: string) => wrap(commentSafe(`${label} ${text}`), 96).forEach((l, i) => out.push(`#${i ? '   ' : ' '}${l}`));
  para('How:', header.method);
  if (header.use) para('Use:', header.use);
  if (header.outcome) para('Outcome:', `the command ${header.outcome}.`);
  para('Note:', `a trace shows only what this run did (${trace.totalCalls} calls, ${trace.processes} process${trace.processes === 1 ? '' : 'es'}, ${trace.threads} thread${trace.threads === 1 ? '' : 's'}); other inputs, options or environments may need more. Review the list before relying on it.`);
  for (const u of trace.unnamed) {
    para('Not listed:', `syscall number ${u.nr} on ${u.arch} (${u.count} call${u.count === 1 ? '' : 's'}) has no name in seccomp-ts's tables, so this policy kills it.`);
  }
  out.push('');
  out.push('defaultAction: kill_process');
  out.push('badArchAction: kill_process');
  out.push(`architectures: [${arches.join(', ')}]`);
  out.push('');
  out.push('rules:');
  out.push(`  - comment: the ${names.length} syscalls the run made, sorted (after each, how often it was called${multi ? ', per ABI' : ''})`);
  out.push('    action: allow');
  out.push('    syscalls:');
  const width = Math.max(...names.map((n) => n.length));
  for (const n of names) {
    const per = [...trace.syscalls].filter(([, m]) => m.has(n)).map(([a, m]) => (multi ? `${a} ${m.get(n)}` : `${m.get(n)}`));
    out.push(`      - ${n.padEnd(width)}  # ${per.join(', ')}`);
  }
  return out.join('\n') + '\n';
}
