/**
 * OCI runtime-spec seccomp profiles (the `linux.seccomp` object of config.json) and Docker/moby
 * profiles (the same JSON plus `archMap`, `includes`/`excludes` and `comment`) <-> Policy.
 *
 * Reading follows what Docker and runc do with a profile, so the Policy decides like the filter a
 * container would get:
 * - moby (profiles/seccomp/seccomp_linux.go) first picks the architectures: `architectures` as
 *   listed, or from `archMap` the one entry whose `architecture` is the host's, plus that entry's
 *   `subArchitectures` (both together are an error). Then it keeps a `syscalls[]` entry only if
 *   `excludes` does not trigger (its `arches` contain the host, ANY of its `caps` is granted, or
 *   the kernel is at least its `minKernel`) and `includes` holds (its `arches` contain the host,
 *   ALL of its `caps` are granted, the kernel is at least its `minKernel`). Arch names there are
 *   the Go-style names moby uses (amd64, arm64, x86, s390x, ...); kernel versions compare as X.Y.
 * - runc (libcontainer/seccomp) builds the libseccomp filter: the native architecture is always
 *   in it (libseccomp adds it) besides the listed ones; SCMP_ACT_ERRNO and SCMP_ACT_TRACE without
 *   errnoRet mean EPERM; SCMP_ACT_KILL is kill-thread; a rule whose action equals the default
 *   action is skipped; names it cannot resolve are skipped; conditions in one entry are
 *   AND-ed, except that when two of them test the same argument runc adds each condition as a
 *   rule of its own (OR-ed), because libseccomp rejects two conditions on one argument. The
 *   bad-architecture action is libseccomp's default, kill-thread.
 * - SCMP_CMP_MASKED_EQ follows libseccomp: `value` is the mask and `valueTwo` the compared value,
 *   `(arg & value) == valueTwo` (a valueTwo with bits outside the mask is refused: it can never
 *   match, yet libseccomp's code may let it). Comparisons are on all 64 bits on 64-bit ABIs.
 *
 * Where the result knowingly differs from libseccomp (tested against it in test/policy/oci.test.ts):
 * - Names are resolved with seccomp-ts's tables, which know syscalls an older libseccomp skips
 *   (mseal, listmount, ...); names no table knows are dropped with a note, and so are placeholders
 *   such as x86_64's epoll_ctl_old that libseccomp knows but the kernel does not implement.
 * - x32: libseccomp compares only the low 32 bits of arguments; seccomp-ts compares all 64.
 * - Numbers from 0x80000000 on AUDIT_ARCH_X86_64 (no syscall has one): libseccomp gives the
 *   bad-architecture action, seccomp-ts the x86_64 default; both deny.
 * - Not reproduced: runc's ENOSYS patch for syscalls newer than the profile (patchbpf), and
 *   libseccomp's own order among overlapping conditional rules of different actions (a Policy
 *   uses the most restrictive; policyToOci refuses policies where the two could differ).
 *
 * Numbers may be full uint64 values: pass the JSON text (not JSON.parse's result) to keep them
 * exact; it is read with the yaml package with integers as BigInt, and errors then carry
 * file:line:column as well as the JSON path.
 */
import { release } from 'node:os';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { ArchError, allSyscallNames, getArch, hostArch, syscallNumber, type Arch, type ArchName } from '../arch/index.js';
import { MAX_ERRNO, SECCOMP_RET_DATA, actionRank, decodeAction, encodeAction, type ActionName } from '../bpf/seccomp.js';
import { errnoNumber } from '../bpf/errno.js';
import { PolicyError, formatPos, type PolicyErrorCode } from './errors.js';
import { expandGroup } from './groups.js';
import type { ActionValue, ArgCheck, ArgOp, Policy, PolicyRule, SourcePos } from './types.js';

/** The capabilities Docker grants a container by default (moby oci/caps/defaults.go), CAP_ form. */
export const DOCKER_DEFAULT_CAPS: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/** Options of {@link policyFromOci}. */
export interface OciOptions {
  /** The container's capabilities (CAP_SYS_ADMIN or SYS_ADMIN, any case). Default: DOCKER_DEFAULT_CAPS. */
  readonly caps?: readonly string[];
  /** The kernel version `minKernel` is compared with, 'X.Y' (more parts are ignored). Default: os.release(). */
  readonly kernel?: string;
  /**
   * The architectures to compile for (names or aliases, e.g. x86_64, amd64, SCMP_ARCH_X86_64). The
   * first is the host moby and runc would run on: it selects the `archMap` entry and is what
   * `includes`/`excludes` `arches` are matched against. Given, the list replaces the profile's
   * architectures; absent, the host is this machine and the architectures are the profile's.
   */
  readonly arches?: readonly string[];
  /** The file name, for messages. */
  readonly file?: string;
}

/** What {@link policyFromOci} returns. */
export interface OciResult {
  readonly policy: Policy;
  /** Things the reader did that a reader of the profile might not expect (skipped entries, names unknown on an architecture, load flags). */
  readonly notes: string[];
  /** SECCOMP_FILTER_FLAG_* names the profile asks for; they are load options, not part of the filter. */
  readonly flags: string[];
}

/** The action names of an OCI profile and the SECCOMP_RET_* action each stands for. */
export const OCI_ACTIONS: ReadonlyMap<string, ActionName> = new Map<string, ActionName>([
  ['SCMP_ACT_KILL', 'kill_thread'],
  ['SCMP_ACT_KILL_THREAD', 'kill_thread'],
  ['SCMP_ACT_KILL_PROCESS', 'kill_process'],
  ['SCMP_ACT_TRAP', 'trap'],
  ['SCMP_ACT_ERRNO', 'errno'],
  ['SCMP_ACT_TRACE', 'trace'],
  ['SCMP_ACT_ALLOW', 'allow'],
  ['SCMP_ACT_LOG', 'log'],
  ['SCMP_ACT_NOTIFY', 'user_notif'],
]);

/** The comparison operators of an OCI profile. */
export const OCI_OPS: ReadonlyMap<string, ArgOp> = new Map<string, ArgOp>([
  ['SCMP_CMP_NE', 'ne'],
  ['SCMP_CMP_LT', 'lt'],
  ['SCMP_CMP_LE', 'le'],
  ['SCMP_CMP_EQ', 'eq'],
  ['SCMP_CMP_GE', 'ge'],
  ['SCMP_CMP_GT', 'gt'],
  ['SCMP_CMP_MASKED_EQ', 'masked_eq'],
]);

/** The SECCOMP_FILTER_FLAG_* names runtimes accept in `flags` (include/uapi/linux/seccomp.h). */
export const OCI_FLAGS: readonly string[] = Object.freeze([
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_NEW_LISTENER',
  'SECCOMP_FILTER_FLAG_TSYNC_ESRCH',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
]);

/** Every SCMP_ARCH_* name libseccomp knows; the ones src/arch lacks are dropped with a note. */
const LIBSECCOMP_ARCHES: readonly string[] = Object.freeze(
  'X86 X86_64 X32 ARM AARCH64 LOONGARCH64 M68K MIPS MIPS64 MIPS64N32 MIPSEL MIPSEL64 MIPSEL64N32 PPC PPC64 PPC64LE S390 S390X PARISC PARISC64 RISCV64 SH SHEB'
    .split(' ')
    .map((n) => `SCMP_ARCH_${n}`),
);

const EPERM = errnoNumber('EPERM')!;
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;

/**
 * Whether `obj` looks like an OCI/Docker seccomp profile rather than a seccomp-ts policy: a
 * `defaultAction` that is an SCMP_ACT_* name, or `syscalls` entries with `names`/`name` and an
 * SCMP_ACT_* `action`, or an `archMap`.
 */
export function isOciProfile(obj: unknown): boolean {
  if (!isRecord(obj)) return false;
  if (typeof obj.defaultAction === 'string' && obj.defaultAction.startsWith('SCMP_ACT_')) return true;
  if (Array.isArray(obj.archMap)) return true;
  if (Array.isArray(obj.syscalls)) {
    return obj.syscalls.some(
      (s) => isRecord(s) && (Array.isArray(s.names) || typeof s.name === 'string') && typeof s.action === 'string' && s.action.startsWith('SCMP_ACT_'),
    );
  }
  return false;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string "${v}"`;
  return String(v);
}

/** A parsed profile with the source position of each JSON path (empty for objects passed in). */
interface Located {
  readonly value: unknown;
  readonly where: ReadonlyMap<string, SourcePos>;
}

/** JSON (or YAML) text -> value with BigInt integers, and the position of every path. */
function parseText(text: string, file: string | undefined): Located {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { intAsBigInt: true, lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const lp = e.linePos?.[0];
    const pos: SourcePos | undefined = lp ? { ...(file ? { file } : {}), line: lp.line, column: lp.col } : undefined;
    throw PolicyError.at('SYNTAX', pos, e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), file);
  }
  const where = new Map<string, SourcePos>();
  const at = (node: YamlNode | null | undefined, path: string) => {
    if (!node || !node.range) return;
    const lp = lineCounter.linePos(node.range[0]);
    where.set(path, { ...(file ? { file } : {}), line: lp.line, column: lp.col });
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        at((pair.value ?? pair.key) as YamlNode, path ? `${path}.${k}` : k);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => at(item as YamlNode, `${path}[${i}]`));
    }
  };
  at(doc.contents as YamlNode | null, '');
  return { value: doc.toJS(), where };
}

/** The reader's context: where errors point and what notes collect. */
class Reader {
  readonly notes: string[] = [];
  constructor(
    private readonly where: ReadonlyMap<string, SourcePos>,
    readonly file: string | undefined,
  ) {}

  pos(path: string): SourcePos | undefined {
    return this.where.get(path);
  }

  fail(code: PolicyErrorCode, path: string, message: string): never {
    const pos = this.pos(path);
    throw PolicyError.at(code, pos, `${path || 'profile'}: ${message}`, this.file);
  }

  note(path: string, message: string): void {
    this.notes.push(path ? `${path}: ${message}` : message);
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail('INVALID', path, `must be a string, not ${describe(v)}`);
    return v;
  }

  stringList(v: unknown, path: string): string[] {
    if (v === null || v === undefined) return [];
    if (!Array.isArray(v)) this.fail('INVALID', path, `must be a list of strings, not ${describe(v)}`);
    return v.map((x, i) => this.string(x, `${path}[${i}]`));
  }

  /** A non-negative integer up to `max`: BigInt from the text, or an exact JS number. */
  uint(v: unknown, path: string, max: bigint): bigint {
    let n: bigint;
    if (typeof v === 'bigint') n = v;
    else if (typeof v === 'number' && Number.isInteger(v)) {
      if (!Number.isSafeInteger(v)) {
        this.fail('VALUE', path, `${v} is beyond 2^53 and lost precision when the JSON was parsed; pass the profile's text so large values stay exact`);
      }
      n = BigInt(v);
    } else this.fail('VALUE', path, `must be a non-negative integer, not ${describe(v)}`);
    if (n < 0n || n > max) this.fail('VALUE', path, `${n} is out of range 0..${max}`);
    return n;
  }

  /** An SCMP_ACT_* name with its errnoRet, as a SECCOMP_RET_* value (runc's defaults: EPERM for ERRNO and TRACE). */
  action(v: unknown, path: string, errnoRet: unknown, errnoPath: string): ActionValue {
    const s = this.string(v, path);
    const name = OCI_ACTIONS.get(s);
    if (!name) this.fail('ACTION', path, `unknown action "${s}" (expected one of ${[...OCI_ACTIONS.keys()].join(', ')})`);
    if (name === 'errno' || name === 'trace') {
      const max = name === 'errno' ? MAX_ERRNO : SECCOMP_RET_DATA;
      const data = errnoRet === undefined || errnoRet === null ? EPERM : Number(this.uint(errnoRet, errnoPath, BigInt(max)));
      return encodeAction(name, data);
    }
    if (errnoRet !== undefined && errnoRet !== null) {
      this.fail('ACTION', errnoPath, `errnoRet is only allowed with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not with ${s}`);
    }
    return encodeAction(name);
  }

  /** One `args[]` element as an ArgCheck (64-bit; libseccomp's MASKED_EQ convention). */
  arg(v: unknown, path: string): ArgCheck {
    if (!isRecord(v)) this.fail('INVALID', path, `must be an object with index, value, op, not ${describe(v)}`);
    for (const k of Object.keys(v)) if (!['index', 'value', 'valueTwo', 'op'].includes(k)) this.note(`${path}.${k}`, 'unknown key ignored');
    if (v.index === undefined) this.fail('INVALID', path, 'index is missing');
    if (v.op === undefined) this.fail('INVALID', path, 'op is missing');
    const index = Number(this.uint(v.index, `${path}.index`, 5n));
    const opName = this.string(v.op, `${path}.op`);
    const op = OCI_OPS.get(opName);
    if (!op) this.fail('INVALID', `${path}.op`, `unknown operator "${opName}" (expected one of ${[...OCI_OPS.keys()].join(', ')})`);
    const value = v.value === undefined ? 0n : this.uint(v.value, `${path}.value`, U64_MAX);
    const two = v.valueTwo === undefined || v.valueTwo === null ? undefined : this.uint(v.valueTwo, `${path}.valueTwo`, U64_MAX);
    const pos = this.pos(path);
    if (op === 'masked_eq') {
      // libseccomp: datum_a is the mask, datum_b the value the masked argument must equal.
      const want = two ?? 0n;
      if ((want & ~value) !== 0n) {
        // Such a condition never holds, but libseccomp drops a zero mask word with its compared word, so it may hold there.
        this.fail('VALUE', `${path}.valueTwo`, `0x${want.toString(16)} has bits outside the mask 0x${value.toString(16)} (value), so (arg & mask) can never equal it`);
      }
      return Object.freeze({ index, op, mask: value, value: want, bits: 64, ...(pos ? { pos } : {}) });
    }
    // runtimes pass valueTwo along and libseccomp ignores it for these operators; a non-zero one is a mistake.
    if (two !== undefined && two !== 0n) {
      this.fail('VALUE', `${path}.valueTwo`, `valueTwo is only used by SCMP_CMP_MASKED_EQ, not by ${opName}`);
    }
    return Object.freeze({ index, op, value, bits: 64, ...(pos ? { pos } : {}) });
  }
}

/** 'X.Y...' -> [X, Y]; undefined when it does not start that way (moby reads it with %d.%d). */
function parseKernel(s: string): [number, number] | undefined {
  const m = /^\s*(\d+)\.(\d+)/.exec(s);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function kernelAtLeast(have: [number, number], want: [number, number]): boolean {
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}

const capName = (c: string) => {
  const u = c.trim().toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
};

function archOrUndefined(name: string): Arch | undefined {
  try {
    return getArch(name);
  } catch (e) {
    if (e instanceof ArchError) return undefined;
    throw e;
  }
}

/** The SCMP_ARCH_* name of an architecture (the alias that starts so). */
export function scmpArchName(arch: Arch | ArchName): string {
  const a = getArch(arch);
  return a.aliases.find((x) => x.startsWith('SCMP_ARCH_'))!;
}

/**
 * A Policy from an OCI runtime-spec or Docker seccomp profile, as Docker with runc would apply it
 * on the given host (see the module comment and {@link OciOptions}). `profile` is the JSON text
 * (preferred: exact 64-bit values and positions in errors) or the parsed object. Throws
 * PolicyError with the JSON path (and file:line:column from text) for anything malformed:
 * unknown SCMP_ACT_/SCMP_CMP_ names, valueTwo without MASKED_EQ, wrong types, bad numbers.
 */
export function policyFromOci(profile: unknown, opts: OciOptions = {}): OciResult {
  const file = opts.file;
  const located: Located = typeof profile === 'string' ? parseText(profile, file) : { value: profile, where: new Map() };
  const r: Reader = new Reader(located.where, file);
  const p = located.value;
  if (!isRecord(p)) r.fail('INVALID', '', `a seccomp profile is a JSON object, not ${describe(p)}`);

  const known = ['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls'];
  for (const k of Object.keys(p)) if (!known.includes(k)) r.note(k, 'unknown key ignored');

  // The host moby and runc would run on.
  let host: Arch;
  if (opts.arches && opts.arches.length > 0) {
    const a = archOrUndefined(opts.arches[0]!);
    if (!a) throw new PolicyError('ARCH', `${formatPos(undefined, file)}unknown architecture '${opts.arches[0]}'`);
    host = a;
  } else {
    const h = hostArch();
    if (!h) throw new PolicyError('ARCH', `${formatPos(undefined, file)}this machine's architecture (${process.arch}) is not supported; choose the architectures`);
    host = h;
  }

  const caps = new Set((opts.caps ?? DOCKER_DEFAULT_CAPS).map(capName));
  const kernelText = opts.kernel ?? release();
  const kernel = parseKernel(kernelText);
  if (!kernel) throw new PolicyError('VALUE', `${formatPos(undefined, file)}kernel version '${kernelText}' is not of the form X.Y`);

  if (p.defaultAction === undefined) r.fail('INVALID', '', 'defaultAction is missing');
  const defaultAction = r.action(p.defaultAction, 'defaultAction', p.defaultErrnoRet, 'defaultErrnoRet');
  if (decodeAction(defaultAction).name === 'user_notif') r.note('defaultAction', 'SCMP_ACT_NOTIFY as the default action is refused by runc');

  // Architectures.
  const listed = r.stringList(p.architectures, 'architectures');
  let archMapArches: string[] = [];
  let archMapPath = '';
  if (p.archMap !== undefined && p.archMap !== null) {
    if (!Array.isArray(p.archMap)) r.fail('INVALID', 'archMap', `must be a list, not ${describe(p.archMap)}`);
    if (listed.length > 0 && p.archMap.length > 0) r.fail('INVALID', 'archMap', "'architectures' and 'archMap' are both given; use one of them (as moby requires)");
    p.archMap.forEach((e, i) => {
      const path = `archMap[${i}]`;
      if (!isRecord(e)) r.fail('INVALID', path, `must be an object with architecture and subArchitectures, not ${describe(e)}`);
      const main = r.string(e.architecture, `${path}.architecture`);
      const subs = r.stringList(e.subArchitectures, `${path}.subArchitectures`);
      // moby: the first entry whose architecture is the host's.
      if (archMapPath === '' && archOrUndefined(main) === host) {
        archMapArches = [main, ...subs];
        archMapPath = path;
      }
    });
    if (p.archMap.length > 0 && archMapPath === '') r.note('archMap', `no entry for ${host.name}; the filter covers ${host.name} only`);
  }
  const fromProfile: Arch[] = [host];
  [...listed.map((n, i) => [n, `architectures[${i}]`] as const), ...archMapArches.map((n) => [n, archMapPath] as const)].forEach(([n, path]) => {
    const a = n.startsWith('SCMP_ARCH_') ? archOrUndefined(n) : undefined;
    if (!LIBSECCOMP_ARCHES.includes(n)) r.fail('INVALID', path, `unknown architecture "${n}" (expected an SCMP_ARCH_* name such as SCMP_ARCH_X86_64)`);
    if (!a) r.note(path, `architecture ${n} is not supported by seccomp-ts; its calls get the bad-architecture action`);
    else if (!fromProfile.includes(a)) fromProfile.push(a);
  });
  let arches: Arch[];
  if (opts.arches && opts.arches.length > 0) {
    arches = [];
    for (const n of opts.arches) {
      const a = archOrUndefined(n);
      if (!a) throw new PolicyError('ARCH', `${formatPos(undefined, file)}unknown architecture '${n}'`);
      if (!arches.includes(a)) arches.push(a);
    }
    const dropped = fromProfile.filter((a) => !arches.includes(a)).map((a) => a.name);
    if (dropped.length) r.note('', `the profile also covers ${dropped.join(', ')}; only ${arches.map((a) => a.name).join(', ')} were selected`);
  } else arches = fromProfile;

  // Flags and the notify listener: load-time matters, reported.
  const flags = r.stringList(p.flags, 'flags');
  flags.forEach((f, i) => {
    if (!OCI_FLAGS.includes(f)) r.fail('INVALID', `flags[${i}]`, `unknown flag "${f}" (expected one of ${OCI_FLAGS.join(', ')})`);
    r.note(`flags[${i}]`, `${f} is a load-time flag, not part of the filter; pass it when installing the filter`);
  });
  if (p.listenerPath !== undefined) r.note('listenerPath', 'the notify listener is not set up by seccomp-ts; SCMP_ACT_NOTIFY calls wait for a supervisor');

  // Syscall entries.
  const rules: PolicyRule[] = [];
  const all = allSyscallNames();
  const unknownNames = new Set<string>();
  if (p.syscalls !== undefined && p.syscalls !== null && !Array.isArray(p.syscalls)) r.fail('INVALID', 'syscalls', `must be a list, not ${describe(p.syscalls)}`);
  const entries = (p.syscalls ?? []) as unknown[];
  const hostMatches = (names: string[]) => names.some((n) => archOrUndefined(n) === host);
  entries.forEach((e, i) => {
    const path = `syscalls[${i}]`;
    if (!isRecord(e)) r.fail('INVALID', path, `must be an object with names and action, not ${describe(e)}`);
    for (const k of Object.keys(e)) {
      if (!['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes'].includes(k)) r.note(`${path}.${k}`, 'unknown key ignored');
    }
    if (e.name !== undefined && e.names !== undefined) r.fail('INVALID', path, "'name' and 'names' are both given; use one of them");
    const names = e.name !== undefined ? [r.string(e.name, `${path}.name`)] : r.stringList(e.names, `${path}.names`);
    if (names.length === 0) r.fail('INVALID', path, 'names is missing or empty');
    names.forEach((n, j) => {
      if (n === '') r.fail('INVALID', `${path}.names[${j}]`, 'a syscall name cannot be empty');
    });
    if (e.action === undefined) r.fail('INVALID', path, 'action is missing');
    const action = r.action(e.action, `${path}.action`, e.errnoRet, `${path}.errnoRet`);
    if (e.args !== undefined && e.args !== null && !Array.isArray(e.args)) r.fail('INVALID', `${path}.args`, `must be a list, not ${describe(e.args)}`);
    const args = ((e.args ?? []) as unknown[]).map((a, j) => r.arg(a, `${path}.args[${j}]`));

    // moby's includes/excludes, checked in its order.
    const cond = (key: 'includes' | 'excludes') => {
      const c = e[key];
      if (c === undefined || c === null) return undefined;
      if (!isRecord(c)) r.fail('INVALID', `${path}.${key}`, `must be an object with caps, arches, minKernel, not ${describe(c)}`);
      for (const k of Object.keys(c)) if (!['caps', 'arches', 'minKernel'].includes(k)) r.note(`${path}.${key}.${k}`, 'unknown key ignored');
      const minKernel = c.minKernel === undefined || c.minKernel === null ? undefined : r.string(c.minKernel, `${path}.${key}.minKernel`);
      const mk = minKernel === undefined ? undefined : parseKernel(minKernel);
      if (minKernel !== undefined && !mk) r.fail('VALUE', `${path}.${key}.minKernel`, `"${minKernel}" is not a kernel version X.Y`);
      return { caps: r.stringList(c.caps, `${path}.${key}.caps`), arches: r.stringList(c.arches, `${path}.${key}.arches`), minKernel: mk, minKernelText: minKernel };
    };
    const inc = cond('includes');
    const exc = cond('excludes');
    const skip = (why: string) => r.note(path, `skipped (${names.join(', ')}): ${why}`);
    if (exc) {
      if (exc.arches.length > 0 && hostMatches(exc.arches)) return skip(`excludes.arches contains ${host.name}`);
      const granted = exc.caps.find((c) => caps.has(capName(c)));
      if (granted) return skip(`excludes.caps: ${granted} is granted`);
      if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return skip(`excludes.minKernel ${exc.minKernelText}: kernel ${kernel.join('.')} is at least that`);
    }
    if (inc) {
      if (inc.arches.length > 0 && !hostMatches(inc.arches)) return skip(`includes.arches (${inc.arches.join(', ')}) does not contain ${host.name}`);
      const missing = inc.caps.filter((c) => !caps.has(capName(c)));
      if (missing.length) return skip(`includes.caps: ${missing.join(', ')} not granted`);
      if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return skip(`includes.minKernel ${inc.minKernelText}: kernel ${kernel.join('.')} is older`);
    }

    if (action === defaultAction) return r.note(path, 'skipped: its action is the default action (runc skips such rules)');

    const kept = names.filter((n) => {
      if (all.has(n)) return true;
      unknownNames.add(n);
      return false;
    });
    if (kept.length === 0) return;
    const pos = r.pos(path);
    const syscallPos = kept.map((n) => r.pos(`${path}.${e.name !== undefined ? 'name' : `names[${names.indexOf(n)}]`}`));
    const comment = typeof e.comment === 'string' && e.comment !== '' ? e.comment : undefined;
    const base = { syscalls: Object.freeze(kept), action, ...(pos ? { pos } : {}), syscallPos: Object.freeze(syscallPos), ...(comment ? { comment } : {}) };
    const indexes = args.map((a) => a.index);
    if (new Set(indexes).size < indexes.length) {
      r.note(`${path}.args`, 'several conditions test the same argument: each becomes a rule of its own, OR-ed (runc does this because libseccomp rejects it)');
      for (const a of args) rules.push(Object.freeze({ ...base, args: Object.freeze([a]) }));
    } else rules.push(Object.freeze({ ...base, args: Object.freeze(args) }));
  });

  if (unknownNames.size > 0) {
    r.note('syscalls', `names no architecture has, skipped (runc skips names libseccomp does not know): ${[...unknownNames].sort().join(', ')}`);
  }
  for (const a of arches) {
    const absent = [...new Set(rules.flatMap((x) => x.syscalls))].filter((n) => syscallNumber(a, n) === undefined).sort();
    if (absent.length > 0) r.note('syscalls', `${absent.length} name(s) are not syscalls on ${a.name} and have no effect there: ${absent.join(', ')}`);
  }

  const policy: Policy = Object.freeze({
    defaultAction,
    badArchAction: encodeAction('kill_thread'),
    architectures: Object.freeze(arches.map((a) => a.name)),
    rules: Object.freeze(rules),
    tests: Object.freeze([]),
    ...(file !== undefined ? { source: file } : {}),
  });
  return { policy, notes: r.notes, flags };
}

// ---------------------------------------------------------------------------------------------
// Policy -> OCI

/** The OCI name and errnoRet of an action; throws when OCI cannot express it. */
function ociAction(v: ActionValue, what: string, src: string | undefined): { action: string; errnoRet?: number } {
  const a = decodeAction(v);
  const fail = (why: string): never => {
    throw new PolicyError('INVALID', `${formatPos(undefined, src)}${what}: ${why}`);
  };
  if (encodeAction(a.name, a.data) !== a.value >>> 0) fail(`action value 0x${(v >>> 0).toString(16)} has no OCI form`);
  switch (a.name) {
    case 'kill_process':
      return { action: 'SCMP_ACT_KILL_PROCESS' };
    case 'kill_thread':
      return { action: 'SCMP_ACT_KILL_THREAD' };
    case 'trap':
      if (a.data !== 0) fail(`trap(${a.data}): OCI profiles cannot give SCMP_ACT_TRAP data`);
      return { action: 'SCMP_ACT_TRAP' };
    case 'errno':
      return { action: 'SCMP_ACT_ERRNO', errnoRet: a.data };
    case 'trace':
      return { action: 'SCMP_ACT_TRACE', errnoRet: a.data };
    case 'user_notif':
      return { action: 'SCMP_ACT_NOTIFY' };
    case 'log':
      return { action: 'SCMP_ACT_LOG' };
    case 'allow':
      return { action: 'SCMP_ACT_ALLOW' };
  }
}

/** A JSON number when exact, else a BigInt (formatOciJson writes both as integers). */
const num = (v: bigint): number | bigint => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** One ArgCheck as an OCI condition; 32-bit checks only where an OCI operator means the same. */
function ociArg(c: ArgCheck, all32: boolean, where: string, src: string | undefined): Record<string, unknown> {
  const fail = (why: string): never => {
    throw new PolicyError('INVALID', `${formatPos(c.pos, src)}${where}: ${why}`, c.pos);
  };
  if (c.bits === 32 && !all32) {
    // OCI conditions compare all 64 bits; a 32-bit equality is a masked equality on the low word.
    if (c.op === 'eq') return { index: c.index, value: num(U32_MAX), valueTwo: num(c.value & U32_MAX), op: 'SCMP_CMP_MASKED_EQ' };
    if (c.op === 'masked_eq') return { index: c.index, value: num((c.mask ?? 0n) & U32_MAX), valueTwo: num(c.value & U32_MAX), op: 'SCMP_CMP_MASKED_EQ' };
    fail(`a 32-bit '${c.op}' check on args[${c.index}] has no OCI form (OCI conditions compare all 64 bits on 64-bit architectures)`);
  }
  const op = [...OCI_OPS].find(([, o]) => o === c.op)![0];
  if (c.op === 'masked_eq') return { index: c.index, value: num(c.mask ?? 0n), valueTwo: num(c.value), op };
  return { index: c.index, value: num(c.value), op };
}

interface Check {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** The values of one argument a check admits, as one interval, when it is one (eq, lt, le, gt, ge). */
function interval(c: ArgCheck): Check | undefined {
  const max = c.bits === 32 ? U32_MAX : U64_MAX;
  switch (c.op) {
    case 'eq':
      return { lo: c.value, hi: c.value };
    case 'lt':
      return c.value === 0n ? { lo: 1n, hi: 0n } : { lo: 0n, hi: c.value - 1n };
    case 'le':
      return { lo: 0n, hi: c.value };
    case 'gt':
      return { lo: c.value + 1n, hi: max };
    case 'ge':
      return { lo: c.value, hi: max };
    default:
      return undefined;
  }
}

/** Whether two checks of the same argument can never both hold (false when unsure). */
function checksDisjoint(a: ArgCheck, b: ArgCheck): boolean {
  if (a.index !== b.index || a.bits !== b.bits) return false;
  const ia = interval(a);
  const ib = interval(b);
  if (ia && ib) return ia.hi < ib.lo || ib.hi < ia.lo || ia.lo > ia.hi || ib.lo > ib.hi;
  const eq = a.op === 'eq' ? a : b.op === 'eq' ? b : undefined;
  const other = eq === a ? b : a;
  if (!eq) return false;
  if (other.op === 'ne') return other.value === eq.value;
  if (other.op === 'masked_eq') return (eq.value & (other.mask ?? 0n)) !== other.value;
  return false;
}

/** Whether a check can never hold (libseccomp does not always evaluate such checks as never holding). */
function unsatisfiable(c: ArgCheck): boolean {
  const max = c.bits === 32 ? U32_MAX : U64_MAX;
  if (c.op === 'masked_eq') return (c.value & ~((c.mask ?? 0n) & max)) !== 0n;
  const i = interval(c);
  return i !== undefined && (i.lo > i.hi || i.lo > max);
}

/** Whether two rules can never hold at once: some pair of their checks excludes each other. */
function rulesDisjoint(a: PolicyRule, b: PolicyRule): boolean {
  return a.args.some((x) => b.args.some((y) => checksDisjoint(x, y)));
}

/**
 * An OCI runtime-spec seccomp profile (`linux.seccomp`) with the same decisions as `policy` when
 * read back with policyFromOci, and when runc builds it with libseccomp. Groups are expanded for
 * the policy's architectures. Values beyond 2^53 are BigInts: write the result with formatOciJson.
 *
 * Rules with a check that can never hold are left out. Throws PolicyError (INVALID, with the
 * reason) when the policy has no faithful OCI form: trap
 * data, a 32-bit ordering check on a 64-bit architecture, two checks of one argument in one rule
 * (runc would OR them), or rules of different actions for one syscall that may both hold where
 * the less restrictive is unconditional or the two are not provably disjoint (libseccomp does not
 * pick the most restrictive). OCI has no bad-architecture action: runtimes kill the thread, which
 * is what reading the profile back gives; the policy's badArchAction and tests are not kept.
 */
export function policyToOci(policy: Policy): Record<string, unknown> {
  const src = policy.source;
  const arches = (policy.architectures ?? [hostArch()?.name]).map((n) => {
    if (n === undefined) throw new PolicyError('ARCH', `${formatPos(undefined, src)}this machine's architecture is not supported; list the policy's architectures`);
    return getArch(n);
  });
  const all32 = arches.every((a) => a.bits === 32);

  const profile: Record<string, unknown> = {};
  const def = ociAction(policy.defaultAction, 'the default action', src);
  profile.defaultAction = def.action;
  if (def.errnoRet !== undefined) profile.defaultErrnoRet = def.errnoRet;
  if (policy.architectures !== undefined) profile.architectures = arches.map((a) => scmpArchName(a));

  // Names per rule, groups expanded over the policy's architectures.
  const namesOf = (rule: PolicyRule): string[] => {
    const out = new Set<string>();
    for (const s of rule.syscalls) {
      if (!s.startsWith('@')) out.add(s);
      else {
        let found = false;
        for (const a of arches) {
          const members = expandGroup(s, a);
          if (members) found = true;
          for (const m of members ?? []) out.add(m);
        }
        if (!found) throw PolicyError.at('UNKNOWN_GROUP', rule.pos, `unknown group '${s}'`, src);
      }
    }
    return [...out];
  };
  // A rule with a check that never holds decides nothing: leave it out.
  const ruleNames = policy.rules.map((rule) => (rule.args.some(unsatisfiable) ? [] : namesOf(rule)));
  policy.rules.forEach((rule, i) => {
    const idx = rule.args.map((c) => c.index);
    if (new Set(idx).size < idx.length) {
      throw PolicyError.at('INVALID', rule.pos, `rule ${i + 1} checks one argument twice; OCI runtimes (runc) would OR those checks, so it has no OCI form`, src);
    }
  });

  // Which rules survive for each name, so libseccomp's way of resolving overlaps gives the policy's decisions.
  const byName = new Map<string, number[]>();
  ruleNames.forEach((names, i) => names.forEach((n) => byName.set(n, [...(byName.get(n) ?? []), i])));
  const keep = new Map<number, Set<string>>();
  for (const [name, idxs] of byName) {
    const rs = idxs.map((i) => policy.rules[i]!);
    const best = Math.min(...rs.map((r) => actionRank(r.action)));
    let winner = idxs.find((i) => actionRank(policy.rules[i]!.action) === best && policy.rules[i]!.args.length === 0);
    // On a tie of rank the first listed rule wins, so an earlier rule of that rank with other data (errno(1) before errno(13)) still decides when it holds.
    if (winner !== undefined && idxs.some((i) => i < winner! && actionRank(policy.rules[i]!.action) === best && policy.rules[i]!.action !== policy.rules[winner!]!.action)) {
      winner = undefined;
    }
    let kept: number[];
    if (winner !== undefined) {
      // An unconditional rule of the most restrictive action decides every call of this syscall.
      kept = [winner];
    } else {
      for (let x = 0; x < idxs.length; x++) {
        for (let y = x + 1; y < idxs.length; y++) {
          const a = policy.rules[idxs[x]!]!;
          const b = policy.rules[idxs[y]!]!;
          if (a.action !== b.action && !rulesDisjoint(a, b)) {
            throw PolicyError.at(
              'INVALID',
              b.pos ?? a.pos,
              `syscall ${name}: rules ${idxs[x]! + 1} and ${idxs[y]! + 1} have different actions and may both hold; libseccomp would not pick the most restrictive, so the policy has no OCI form`,
              src,
            );
          }
        }
      }
      kept = idxs;
    }
    // runc drops rules whose action is the default; with overlaps excluded above that changes nothing.
    for (const i of kept) if (policy.rules[i]!.action !== policy.defaultAction) keep.set(i, (keep.get(i) ?? new Set()).add(name));
  }

  const syscalls: Record<string, unknown>[] = [];
  policy.rules.forEach((rule, i) => {
    const names = ruleNames[i]!.filter((n) => keep.get(i)?.has(n));
    if (names.length === 0) return;
    const act = ociAction(rule.action, `rule ${i + 1}`, src);
    const entry: Record<string, unknown> = { names, action: act.action };
    if (act.errnoRet !== undefined) entry.errnoRet = act.errnoRet;
    if (rule.args.length > 0) entry.args = rule.args.map((c) => ociArg(c, all32, `rule ${i + 1}`, src));
    if (rule.comment) entry.comment = rule.comment;
    syscalls.push(entry);
  });
  profile.syscalls = syscalls;
  return profile;
}

/** JSON text of a profile from policyToOci, with BigInt values written as exact integers. */
export function formatOciJson(profile: unknown, indent = 2): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    profile,
    (_k, v) => {
      if (typeof v !== 'bigint') return v;
      marks.push(v.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    },
    indent,
  );
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!) + '\n';
}

