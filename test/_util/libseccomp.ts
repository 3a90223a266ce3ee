/**
 * libseccomp as a reference compiler: builds filters in one /usr/bin/python3 process running
 * test/_util/libseccomp_build.py (Debian's python3-seccomp), so many policies cost one start-up.
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
  readonly badArchAction: number;
  readonly rules: readonly LsRule[];
  /** CTL_OPTIMIZE: 1 (priority order, the default) or 2 (binary tree). */
  readonly optimize?: 1 | 2;
  /** Build this many times and report the median time. */
  readonly repeat?: number;
  /** Skip (and count) rules libseccomp refuses instead of failing the job. */
  readonly lenient?: boolean;
}

/** What libseccomp made of one job. */
export type LsResult = { ok: true; program: Instruction[]; ms: number; skipped: number } | { ok: false; error: string };

/**
 * Build every job with libseccomp; also returns, per ABI in `known`, the subset of names its
 * syscall tables resolve. Throws when python itself fails (not for a rejected job).
 */
export function libseccompBuild(jobs: readonly LsJob[], known: Partial<Record<ArchName, readonly string[]>> = {}): { results: LsResult[]; known: Partial<Record<ArchName, string[]>> } {
  const dir = mkdtempSync(join(tmpdir(), 'seccomp-ts-libseccomp-'));
  try {
    const req = {
      known,
      jobs: jobs.map((j, i) => ({
        arches: j.arches,
        default: j.defaultAction >>> 0,
        badArch: j.badArchAction >>> 0,
        ...(j.optimize ? { optimize: j.optimize } : {}),
        repeat: j.repeat ?? 1,
        lenient: j.lenient ?? false,
        out: join(dir, `${i}.bpf`),
        rules: j.rules.map((r) => ({
          name: r.name,
          action: r.action >>> 0,
          args: r.args.map((a) => ({ index: a.index, op: a.op, value: a.value.toString(), ...(a.mask !== undefined ? { mask: a.mask.toString() } : {}) })),
        })),
      })),
    };
    const p = spawnSync('/usr/bin/python3', [SCRIPT], { input: JSON.stringify(req), maxBuffer: 64 << 20, timeout: 120_000 });
    if (p.status !== 0) throw new Error(`libseccomp helper failed (status ${p.status}): ${p.stderr.toString().split('\n').filter(Boolean).pop() ?? ''}`);
    const res = JSON.parse(p.stdout.toString()) as { known: Partial<Record<ArchName, string[]>>; results: ({ ok: true; ms: number; skipped: number } | { ok: false; error: string })[] };
    const results = res.results.map((r, i): LsResult => (r.ok ? { ok: true, ms: r.ms, skipped: r.skipped, program: decode(readFileSync(req.jobs[i].out)) } : r));
    return { results, known: res.known };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
