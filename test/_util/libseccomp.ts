/**
 * libseccomp as a reference: builds filters (from rules, or from an OCI profile read as moby and
 * runc do) and looks names and numbers up in its tables, in one /usr/bin/python3 process running
 * test/_util/libseccomp_build.py (Debian's python3-seccomp), so many requests cost one start-up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchName } from '../../src/arch/index.js';
import { decode } from '../../src/bpf/codec.js';
import type { Instruction } from '../../src/bpf/insn.js';
import type { ArgOp } from '../../src/policy/types.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'libseccomp_build.py');

/** One argument comparison as libseccomp's Arg takes it. */
export interface LsArg {
  readonly index: number;
  readonly op: ArgOp;
  readonly value: bigint;
  readonly mask?: bigint;
}

/** One libseccomp rule: add_rule(action, name, *args). */
export interface LsRule {
  readonly name: string;
  readonly action: number;
  readonly args: readonly LsArg[];
}

/** A filter description for libseccomp. */
export interface LsJob {
  readonly arches: readonly ArchName[];
  readonly defaultAction: number;
  /** Absent: libseccomp's own. */
  readonly badArchAction?: number;
  readonly rules: readonly LsRule[];
  /** CTL_OPTIMIZE: 1 (priority order, the default) or 2 (binary tree). */
  readonly optimize?: 1 | 2;
  /** Build this many times and report the median time. */
  readonly repeat?: number;
  /** Skip (and count) rules libseccomp refuses instead of failing the job. */
  readonly lenient?: boolean;
}

/**
 * An OCI/Docker profile for libseccomp, read as moby (includes/excludes by host, caps, kernel)
 * and runc (one rule per name; rules with the default action and names libseccomp does not know
 * skipped; conditions on one argument split into one rule each) would; bad-arch action libseccomp's.
 */
export interface LsOciJob {
  /** The profile, or its JSON text (e.g. from formatOciJson, which keeps 64-bit values exact). */
  readonly oci: object | string;
  /** moby's name of the host: amd64 or arm64. */
  readonly host: 'amd64' | 'arm64';
  readonly caps: readonly string[];
  /** X.Y */
  readonly kernel: string;
  /** Default: the host's ABI and the subArchitectures the profile's archMap gives it. */
  readonly arches?: readonly ArchName[];
}

/** What libseccomp made of one job; skippedNames: the names of the rules it refused (lenient and OCI jobs). */
export type LsResult = { ok: true; program: Instruction[]; ms: number; skipped: number; skippedNames: string[] } | { ok: false; error: string };

/** A job's result when libseccomp built it; else throws an Error: `what`, then libseccomp's refusal. */
export function built(r: LsResult, what: string): Extract<LsResult, { ok: true }> {
  if (!r.ok) throw new Error(`${what}: ${r.error}`);
  return r;
}

/** Per ABI, name -> number for the asked names libseccomp resolves; null where this libseccomp lacks the ABI. */
export type LsNumbers = Partial<Record<ArchName, Record<string, number> | null>>;
/** Per ABI, number -> libseccomp's name for the asked numbers that have one; null where this libseccomp lacks the ABI. */
export type LsNames = Partial<Record<ArchName, Record<number, string> | null>>;

/** What to ask libseccomp in one run: jobs to build, names and numbers to look up. */
export interface LsRequest {
  readonly jobs?: readonly (LsJob | LsOciJob)[];
  readonly numbers?: Partial<Record<ArchName, readonly string[]>>;
  readonly names?: Partial<Record<ArchName, readonly number[]>>;
}

/** libseccomp's answers to an LsRequest. Throws when python itself fails (not for a rejected job). */
export function libseccomp(req: LsRequest): { results: LsResult[]; numbers: LsNumbers; names: LsNames } {
  const dir = mkdtempSync(join(tmpdir(), 'seccomp-ts-libseccomp-'));
  try {
    const jobs = (req.jobs ?? []).map((j, i) => {
      const out = join(dir, `${i}.bpf`);
      if ('oci' in j) return { oci: j.oci, host: j.host, caps: j.caps, kernel: j.kernel, ...(j.arches ? { arches: j.arches } : {}), out };
      return {
        arches: j.arches,
        default: j.defaultAction >>> 0,
        ...(j.badArchAction !== undefined ? { badArch: j.badArchAction >>> 0 } : {}),
        ...(j.optimize ? { optimize: j.optimize } : {}),
        repeat: j.repeat ?? 1,
        lenient: j.lenient ?? false,
        out,
        rules: j.rules.map((r) => ({
          name: r.name,
          action: r.action >>> 0,
          args: r.args.map((a) => ({ index: a.index, op: a.op, value: a.value.toString(), ...(a.mask !== undefined ? { mask: a.mask.toString() } : {}) })),
        })),
      };
    });
    const input = JSON.stringify({ numbers: req.numbers ?? {}, names: req.names ?? {}, jobs });
    const p = spawnSync('/usr/bin/python3', [SCRIPT], { input, maxBuffer: 64 << 20, timeout: 120_000 });
    if (p.status !== 0) throw new Error(`libseccomp helper failed (status ${p.status}): ${p.stderr.toString().split('\n').filter(Boolean).pop() ?? ''}`);
    const res = JSON.parse(p.stdout.toString()) as {
      numbers: LsNumbers;
      names: LsNames;
      results: ({ ok: true; ms: number; skipped: string[] } | { ok: false; error: string })[];
    };
    const results = res.results.map(
      (r, i): LsResult => (r.ok ? { ok: true, ms: r.ms, skipped: r.skipped.length, skippedNames: [...new Set(r.skipped)].sort(), program: decode(readFileSync(jobs[i].out)) } : r),
    );
    return { results, numbers: res.numbers, names: res.names };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Build every job with libseccomp; also returns, per ABI in `known`, the subset of names its
 * syscall tables resolve. Throws when python itself fails (not for a rejected job).
 */
export function libseccompBuild(jobs: readonly LsJob[], known: Partial<Record<ArchName, readonly string[]>> = {}): { results: LsResult[]; known: Partial<Record<ArchName, string[]>> } {
  const r = libseccomp({ jobs, numbers: known });
  const names: Partial<Record<ArchName, string[]>> = {};
  for (const [arch, asked] of Object.entries(known) as [ArchName, readonly string[]][]) {
    const got = r.numbers[arch];
    names[arch] = got ? asked.filter((n) => Object.hasOwn(got, n)) : [];
  }
  return { results: r.results, known: names };
}
