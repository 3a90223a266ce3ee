/**
 * Policy input for the CLI verbs: seccomp-ts policies, OCI/Docker profiles (read for the container
 * described by --caps, --kernel and --arch), and the printing of what the readers and the resolver
 * report (notes, warnings) at a volume a person can read: one line per kind and architecture
 * unless -v asks for each.
 */
import { release } from 'node:os';
import { hostArch, type Arch } from '../arch/index.js';
import type { Endian } from '../bpf/codec.js';
import { BpfError } from '../bpf/errors.js';
import type { Instruction } from '../bpf/insn.js';
import { assembleWithInfo } from '../bpf/text.js';
import { PolicyError } from '../policy/errors.js';
import { compile, toPolicy, type Filter } from '../policy/filter.js';
import { archSymbols } from '../symbols.js';
import { isOciProfile, policyFromOci } from '../policy/oci.js';
import type { Policy, PolicyWarning } from '../policy/types.js';
import { UsageError } from './errors.js';
import { loadProgram, looksLikeText, readInput } from './io.js';

/** Usage lines for --caps and --kernel, shared by the verbs that read OCI profiles. */
export const OCI_FLAGS_USAGE = `  --caps LIST       OCI profiles: the container's capabilities (comma-separated, CAP_ optional, any
                    case; 'all' or 'none'), which replace Docker's default set. An unknown name is
                    an error. Decides the profile's includes.caps / excludes.caps entries
  --kernel X.Y      OCI profiles: the kernel version compared with includes/excludes minKernel;
                    default: the running kernel's`;

/** parseArgs options for --caps and --kernel. */
export const ociFlagsSpec = {
  caps: { type: 'string' },
  kernel: { type: 'string' },
} as const;

/** The container an OCI profile is read for (undefined fields: Docker's default capabilities, the running kernel). */
export interface OciSettings {
  readonly caps?: readonly string[];
  readonly kernel?: string;
}

/** Every capability of include/uapi/linux/capability.h (0..40), CAP_ form. */
const CAPABILITIES: readonly string[] = Object.freeze(
  ('CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE ' +
    'NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN ' +
    'SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE ' +
    'MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE')
    .split(' ')
    .map((c) => `CAP_${c}`),
);

/**
 * --caps and --kernel checked, or undefined when neither is given. A capability name no kernel
 * has is an error: a typo would silently give another filter than the one meant (Docker's
 * --cap-add refuses unknown names too).
 */
export function ociSettings(verb: string, values: { caps?: string; kernel?: string }): OciSettings | undefined {
  if (values.caps === undefined && values.kernel === undefined) return undefined;
  let caps: string[] | undefined;
  if (values.caps !== undefined) {
    const v = values.caps.trim();
    if (/^none$/i.test(v) || v === '') caps = [];
    else if (/^all$/i.test(v)) caps = [...CAPABILITIES];
    else {
      caps = v.split(',').map((s) => {
        const t = s.trim().toUpperCase();
        if (t === '') throw new UsageError(`${verb}: --caps has an empty entry ('${values.caps}')`);
        const name = t.startsWith('CAP_') ? t : `CAP_${t}`;
        if (!CAPABILITIES.includes(name)) throw new UsageError(`${verb}: --caps: unknown capability '${s.trim()}' (see capabilities(7); 'all' and 'none' are accepted too)`);
        return name;
      });
    }
  }
  if (values.kernel !== undefined && !/^\d+\.\d+(\.\d+)*([-+~_][^\s]*)?$/.test(values.kernel.trim())) {
    throw new UsageError(`${verb}: --kernel must be a kernel version X.Y (e.g. 5.15 or 6.1.0-13-amd64), not '${values.kernel}'`);
  }
  return { ...(caps ? { caps } : {}), ...(values.kernel !== undefined ? { kernel: values.kernel.trim() } : {}) };
}

/** Whether `text` is an OCI/Docker seccomp profile (JSON with SCMP_ACT_* actions or an archMap). */
export function isOciText(text: string): boolean {
  if (!text.trimStart().startsWith('{')) return false;
  try {
    return isOciProfile(JSON.parse(text));
  } catch {
    return false; // not strict JSON: not a profile runtimes would read
  }
}

/** A policy read from text, with what its reader noted. */
export interface PolicyText {
  readonly policy: Policy;
  /** The name used in messages (`<stdin>` for -). */
  readonly label: string;
  /** The text was an OCI/Docker profile. */
  readonly oci: boolean;
  /** The OCI reader's notes (skipped entries, names an architecture lacks, ...); empty otherwise. */
  readonly notes: readonly string[];
  /** For an OCI profile: the container it was read for, e.g. `host x86_64, kernel 6.1, Docker's default capabilities`. */
  readonly container?: string;
}

/** Options of {@link policyFromText} and {@link readPolicy}. */
export interface ReadOptions {
  /** --arch as names; for an OCI profile the first is the host (archMap entry, includes/excludes arches). */
  readonly arches?: readonly string[];
  /** --caps / --kernel, applied to OCI profiles. */
  readonly oci?: OciSettings;
}

function describeContainer(o: ReadOptions): string {
  const host = o.arches?.[0] ?? hostArch()?.name ?? process.arch;
  const kernel = o.oci?.kernel ?? release();
  const caps = o.oci?.caps === undefined ? "Docker's default capabilities" : o.oci.caps.length === 0 ? 'no capabilities' : `capabilities ${o.oci.caps.join(', ')}`;
  return `host ${host}, kernel ${/^\d+\.\d+/.exec(kernel)?.[0] ?? kernel}, ${caps}`;
}

/**
 * Policy text (YAML/JSON policy or OCI profile) -> Policy. An OCI profile is read for the container
 * of `o` (its notes kept); other text ignores `o.oci` (see {@link requireOci}).
 */
export function policyFromText(text: string, label: string, o: ReadOptions = {}): PolicyText {
  if (isOciText(text)) {
    const r = policyFromOci(text, { file: label, ...(o.arches ? { arches: o.arches } : {}), ...(o.oci?.caps ? { caps: o.oci.caps } : {}), ...(o.oci?.kernel ? { kernel: o.oci.kernel } : {}) });
    return { policy: r.policy, label, oci: true, notes: r.notes, container: describeContainer(o) };
  }
  return { policy: toPolicy(text, { file: label, ...(o.arches ? { arches: o.arches } : {}) }), label, oci: false, notes: [] };
}

/** A UsageError when --caps/--kernel were given but no input is an OCI profile (they would do nothing); `what` names the input(s). */
export function requireOci(verb: string, settings: OciSettings | undefined, anyOci: boolean, what = 'the policy is not one'): void {
  if (settings && !anyOci) {
    throw new UsageError(`${verb}: ${settings.caps !== undefined ? '--caps' : '--kernel'} only applies to OCI/Docker seccomp profiles, and ${what}`);
  }
}

/** Read FILE (- for standard input) as a policy or OCI profile; --caps/--kernel with anything but a profile is a UsageError. */
export function readPolicy(verb: string, file: string, o: ReadOptions = {}): PolicyText {
  const text = new TextDecoder().decode(readInput(file));
  const r = policyFromText(text, file === '-' ? '<stdin>' : file, o);
  requireOci(verb, o.oci, r.oci);
  return r;
}

/** How {@link reportFindings} prints. */
export interface ReportOptions {
  /** Print every note and warning on its own line. */
  readonly verbose?: boolean;
  /** Where the policy came from, for summary lines (a file name, or `the command line`). */
  readonly source: string;
  /** The container an OCI profile was read for (PolicyText.container). */
  readonly container?: string;
  /** How to get every line, e.g. `-v lists each`. */
  readonly verboseHint: string;
  /** How to make a missing syscall an error, e.g. `--strict makes this an error`; absent: not mentioned. */
  readonly strictHint?: string;
}

const NOT_ON_ARCH = /syscall '([^']+)' does not exist on /;
const OCI_SKIPPED = /^syscalls\[\d+\]: skipped \(/;
const OCI_ABSENT = /^syscalls: \d+ name\(s\) are not syscalls on (\S+) and have no effect there/;
const SHOWN = 10;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The stderr lines for a reader's notes and the resolver's warnings. Unless verbose: the resolver's
 * "syscall X does not exist on ARCH" warnings become one line per architecture, an OCI reader's
 * entries left out by includes/excludes one line, and its per-architecture "not syscalls on ARCH"
 * notes are dropped where that line already says so. Everything else is printed as it is.
 */
export function findingLines(notes: readonly string[], warnings: readonly PolicyWarning[], o: ReportOptions): string[] {
  if (o.verbose) return [...notes.map((n) => `seccomp-ts: note: ${o.source}: ${n}`), ...warnings.map((w) => `seccomp-ts: warning: ${w.message}`)];
  const missing = new Map<string, Set<string>>();
  const other: string[] = [];
  for (const w of warnings) {
    const m = w.code === 'SYSCALL_NOT_ON_ARCH' && w.arch !== undefined ? NOT_ON_ARCH.exec(w.message) : null;
    if (!m) other.push(`seccomp-ts: warning: ${w.message}`);
    else {
      if (!missing.has(w.arch!)) missing.set(w.arch!, new Set());
      missing.get(w.arch!)!.add(m[1]!);
    }
  }
  const lines: string[] = [];
  const skipped = notes.filter((n) => OCI_SKIPPED.test(n));
  if (skipped.length > 0) {
    lines.push(
      `seccomp-ts: note: ${plural(skipped.length, 'syscalls[] entry', 'syscalls[] entries')} of ${o.source} ${skipped.length === 1 ? 'is' : 'are'} left out by ` +
        `${skipped.length === 1 ? 'its' : 'their'} includes/excludes for this container (${o.container ?? 'the default container'}; ${o.verboseHint})`,
    );
  }
  for (const n of notes) {
    if (OCI_SKIPPED.test(n)) continue;
    const absent = OCI_ABSENT.exec(n);
    if (absent && missing.has(absent[1]!)) continue; // the warning line below says the same
    lines.push(`seccomp-ts: note: ${o.source}: ${n}`);
  }
  for (const [arch, names] of missing) {
    const list = [...names];
    const shown = list.slice(0, SHOWN).join(', ') + (list.length > SHOWN ? ', ...' : '');
    const hints = [o.strictHint, `${o.verboseHint} with its position`].filter((h) => h !== undefined).join('; ');
    lines.push(
      `seccomp-ts: warning: ${plural(list.length, 'syscall', 'syscalls')} of ${o.source} ${list.length === 1 ? 'does' : 'do'} not exist on ${arch} and ` +
        `${list.length === 1 ? 'is' : 'are'} skipped there: ${shown} (${hints})`,
    );
  }
  return [...lines, ...other];
}

/** Print {@link findingLines} on standard error. */
export function reportFindings(notes: readonly string[], warnings: readonly PolicyWarning[], o: ReportOptions): void {
  for (const l of findingLines(notes, warnings, o)) process.stderr.write(l + '\n');
}

/** A filter operand: a policy (compiled), or a program from a blob or text assembly. */
export type FilterInput =
  | { readonly kind: 'policy'; readonly label: string; readonly filter: Filter; readonly oci: boolean }
  | { readonly kind: 'program'; readonly label: string; readonly program: Instruction[]; readonly endian: Endian; readonly arch: number | undefined };

/**
 * Read FILE as a policy or OCI profile (text), else as text assembly, else as a sock_filter blob.
 * Text that is neither policy nor assembly reports the policy reader's error. `oci`: the container
 * an OCI profile is read for (--caps, --kernel).
 */
export function readFilterInput(file: string, arches: readonly Arch[] | undefined, oci?: OciSettings): FilterInput {
  const label = file === '-' ? '<stdin>' : file;
  const bytes = readInput(file);
  const names = arches?.map((a) => a.name);
  if (!looksLikeText(bytes)) {
    const loaded = loadProgram(file, { format: 'bin', bytes, ...(arches ? { arch: arches[0] } : {}) });
    return { kind: 'program', label, program: loaded.program, endian: loaded.endian, arch: loaded.arch };
  }
  const text = new TextDecoder().decode(bytes);
  let read: PolicyText;
  try {
    read = policyFromText(text, label, { ...(names ? { arches: names } : {}), ...(oci ? { oci } : {}) });
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    try {
      const r = assembleWithInfo(text, { symbols: archSymbols, defaultArch: arches?.[0]?.auditArch, fallbackArch: hostArch()?.auditArch });
      return { kind: 'program', label, program: r.program, endian: r.endian, arch: r.arch };
    } catch (e2) {
      if (e2 instanceof BpfError) throw e; // not assembly either: the policy reader's message is the useful one
      throw e2;
    }
  }
  return { kind: 'policy', label, filter: compile(read.policy, names ? { arches: names } : {}), oci: read.oci };
}
