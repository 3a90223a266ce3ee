/**
 * Benchmark of the code generator (`npm run bench`): for a few policies and architecture sets,
 * the instructions emitted, the instructions executed per syscall (mean and max over every
 * syscall number of each ABI's table, arguments zero), how many syscalls the kernel's action
 * cache can serve, and the warm in-process compile time (median). Where /usr/bin/python3 can
 * import seccomp (Debian's python3-seccomp), libseccomp's figures for the same policies are
 * printed next to ours, with the ratios; libseccomp's build time is measured in its python process.
 *
 * Policies: Docker's default profile (../shared/fixtures/moby-default.json, read as an OCI profile,
 * and as a plain allowlist of its unconditionally allowed names), a 4-syscall allowlist and a
 * 1-syscall denylist. Timings vary with the machine; they are printed, never asserted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allSyscallNames, getArch, syscallTable, type ArchName } from '../src/arch/index.js';
import type { Instruction } from '../src/bpf/insn.js';
import { emulate } from '../src/bpf/emulator.js';
import { cacheReport } from '../src/policy/cache.js';
import { generate } from '../src/policy/codegen.js';
import { compile } from '../src/policy/filter.js';
import { policyFromOci } from '../src/policy/oci.js';
import { resolvePolicy } from '../src/policy/resolve.js';
import { validatePolicy } from '../src/policy/parse.js';
import type { Policy, ResolvedPolicy } from '../src/policy/types.js';
import { havePythonSeccomp } from '../test/_util/tools.js';
import { libseccompBuild, type LsJob, type LsResult } from '../test/_util/libseccomp.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MOBY = join(ROOT, '..', 'shared', 'fixtures', 'moby-default.json');
const DIST = join(ROOT, 'dist', 'index.js');

/** compile/generate as timed: the built package when there is one (what users run), else the sources. */
interface Timed {
  compile: typeof compile;
  generate: typeof generate;
  resolvePolicy: typeof resolvePolicy;
  from: string;
}
async function timedLibrary(): Promise<Timed> {
  if (existsSync(DIST)) {
    const lib = (await import(DIST)) as Timed;
    return { compile: lib.compile, generate: lib.generate, resolvePolicy: lib.resolvePolicy, from: 'dist/ (npx tsup rebuilds it)' };
  }
  return { compile, generate, resolvePolicy, from: 'src/ through tsx (slower; build dist/ with npx tsup)' };
}

interface Case {
  readonly name: string;
  readonly arches: readonly ArchName[];
  readonly policy: Policy;
}

function loadMoby(): { oci: string; names: string[] } | undefined {
  let oci: string;
  try {
    oci = readFileSync(MOBY, 'utf8');
  } catch {
    process.stdout.write(`SKIP: ${MOBY} is absent; the moby cases are skipped\n`);
    return undefined;
  }
  const j = JSON.parse(oci) as { syscalls: { names: string[]; action: string; args?: unknown[] | null; includes?: object; excludes?: object }[] };
  const names = new Set<string>();
  for (const s of j.syscalls) {
    if (s.action !== 'SCMP_ACT_ALLOW' || (s.args ?? []).length || Object.keys(s.includes ?? {}).length || Object.keys(s.excludes ?? {}).length) continue;
    for (const n of s.names) if (allSyscallNames().has(n)) names.add(n);
  }
  return { oci, names: [...names].sort() };
}

function cases(): Case[] {
  const out: Case[] = [];
  const moby = loadMoby();
  if (moby) {
    for (const arches of [['x86_64'], ['x86_64', 'i386', 'x32'], ['aarch64']] as ArchName[][]) {
      out.push({ name: 'moby (OCI)', arches, policy: policyFromOci(moby.oci, { arches }).policy });
    }
    out.push({
      name: `moby names (${moby.names.length} allowed)`,
      arches: ['x86_64'],
      policy: validatePolicy({ defaultAction: 'errno(EPERM)', architectures: ['x86_64'], rules: [{ syscalls: moby.names, action: 'allow' }] }),
    });
  }
  out.push({
    name: '4-syscall allowlist',
    arches: ['x86_64'],
    policy: validatePolicy({ defaultAction: 'kill_process', architectures: ['x86_64'], rules: [{ syscalls: ['read', 'write', 'exit_group', 'rt_sigreturn'], action: 'allow' }] }),
  });
  out.push({
    name: '1-syscall denylist',
    arches: ['x86_64'],
    policy: validatePolicy({ defaultAction: 'allow', architectures: ['x86_64'], rules: [{ syscalls: ['ptrace'], action: 'kill_process' }] }),
  });
  return out;
}

/** Mean/max executed instructions over every table number of every ABI, and cacheable counts. */
function measure(prog: readonly Instruction[], resolved: ResolvedPolicy) {
  let sum = 0;
  let count = 0;
  let max = 0;
  let cacheable = 0;
  for (const ra of resolved.arches) {
    const arch = ra.arch;
    for (const n of syscallTable(arch).values()) {
      const r = emulate(prog, { nr: (n | arch.syscallBit) >>> 0, arch: arch.auditArch, instructionPointer: 0n, args: [] }, { endian: arch.endian });
      sum += r.executed;
      count++;
      max = Math.max(max, r.executed);
    }
    cacheable += cacheReport(prog, arch).cacheable.length;
  }
  return { mean: sum / count, max, cacheable };
}

/** Whether every syscall allowed whatever its arguments is cacheable. */
function allAllowsCacheable(prog: readonly Instruction[], resolved: ResolvedPolicy): boolean {
  return resolved.arches.every((ra) => cacheReport(prog, ra.arch, ra).missed.length === 0);
}

function median(f: () => void, warm = 30, runs = 150): number {
  for (let i = 0; i < warm; i++) f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    f();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

/** The same policy for libseccomp: one add_rule per name and rule (rules equal to the default are refused there and skipped). */
function lsJob(c: Case, resolved: ResolvedPolicy): LsJob {
  const rules = c.policy.rules
    .filter((r) => r.action !== c.policy.defaultAction)
    .flatMap((r) => r.syscalls.map((name) => ({ name, action: r.action, args: r.args.map((a) => ({ index: a.index, op: a.op, value: a.value, ...(a.mask !== undefined ? { mask: a.mask } : {}) })) })));
  return { arches: c.arches, defaultAction: resolved.arches[0].defaultAction, badArchAction: resolved.badArchAction, rules, optimize: 2, repeat: 15, lenient: true };
}

const fmt = (v: number, d = 1) => v.toFixed(d);
const ratio = (a: number, b: number) => (b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

async function main(): Promise<void> {
  const lib = await timedLibrary();
  const list = cases();
  const rows: string[][] = [];
  const header = ['policy', 'arches', 'insns', 'exec mean', 'exec max', 'cacheable', 'allows cached', 'compile ms', 'generate ms'];
  const ours = list.map((c) => {
    const resolved = resolvePolicy(c.policy, { arches: c.arches });
    const prog = generate(resolved);
    const m = measure(prog, resolved);
    const compileMs = median(() => lib.compile(c.policy, { arches: c.arches }));
    const timedResolved = lib.resolvePolicy(c.policy, { arches: c.arches });
    const generateMs = median(() => lib.generate(timedResolved));
    return { c, resolved, prog, m, compileMs, generateMs, cachedOk: allAllowsCacheable(prog, resolved) };
  });
  for (const o of ours) {
    rows.push([o.c.name, o.c.arches.join('+'), String(o.prog.length), fmt(o.m.mean, 2), String(o.m.max), String(o.m.cacheable), o.cachedOk ? 'all' : 'NO', fmt(o.compileMs, 3), fmt(o.generateMs, 3)]);
  }
  process.stdout.write(`seccomp-ts (times: median of warm in-process runs, from ${lib.from})\n` + table([header, ...rows]) + '\n');

  let ls: LsResult[] | undefined;
  if (havePythonSeccomp()) {
    ls = libseccompBuild(ours.map((o) => lsJob(o.c, o.resolved))).results;
    const lrows: string[][] = [];
    ours.forEach((o, i) => {
      const r = ls![i];
      if (!r.ok) {
        lrows.push([o.c.name, o.c.arches.join('+'), `refused: ${r.error}`]);
        return;
      }
      const m = measure(r.program, o.resolved);
      lrows.push([
        o.c.name, o.c.arches.join('+'),
        `${r.program.length} (${ratio(o.prog.length, r.program.length)})`,
        `${fmt(m.mean, 2)} (${ratio(o.m.mean, m.mean)})`,
        `${m.max} (${ratio(o.m.max, m.max)})`,
        `${m.cacheable}`,
        `${fmt(r.ms, 3)} (${ratio(o.compileMs, r.ms)})`,
        r.skipped ? `${r.skipped} rules refused` : '',
      ]);
    });
    process.stdout.write('\nlibseccomp (python3-seccomp, binary tree; ratios are seccomp-ts / libseccomp)\n');
    process.stdout.write(table([['policy', 'arches', 'insns', 'exec mean', 'exec max', 'cacheable', 'build ms', 'note'], ...lrows]) + '\n');
  } else {
    process.stdout.write('\nSKIP: /usr/bin/python3 cannot import seccomp (apt-get install python3-seccomp); no libseccomp comparison\n');
  }

  const moby = ours.find((o) => o.c.name === 'moby (OCI)' && o.c.arches.join() === 'x86_64');
  const moby3 = ours.find((o) => o.c.name === 'moby (OCI)' && o.c.arches.length === 3);
  if (moby && moby3) {
    const goals: [string, boolean, string][] = [
      ['moby x86_64: at most 12 executed at worst', moby.m.max <= 12, String(moby.m.max)],
      ['moby x86_64: at most 10.5 executed on average', moby.m.mean <= 10.5, fmt(moby.m.mean, 2)],
      ['moby x86_64: at most 200 instructions', moby.prog.length <= 200, String(moby.prog.length)],
      ['every unconditional allow cacheable (all cases)', ours.every((o) => o.cachedOk), ours.every((o) => o.cachedOk) ? 'yes' : 'no'],
      ['moby x86_64+i386+x32: compile under 1 ms warm', moby3.compileMs < 1, `${fmt(moby3.compileMs, 3)} ms`],
    ];
    process.stdout.write('\nGoals\n');
    for (const [what, met, value] of goals) process.stdout.write(`  ${met ? 'met    ' : 'NOT MET'}  ${what} (${value})\n`);
  }
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd()).join('\n');
}

await main();
