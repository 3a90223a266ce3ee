import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch, syscallNumber, syscallTable } from '../../src/arch/index.js';
import { decode } from '../../src/bpf/codec.js';
import { emulate } from '../../src/bpf/emulator.js';
import type { Instruction } from '../../src/bpf/insn.js';
import { blobAudits, diffFilters, formatDifference, type DiffSide } from '../../src/policy/diff.js';
import { compile } from '../../src/policy/filter.js';
import { DOCKER_DEFAULT_CAPS, policyFromOci } from '../../src/policy/oci.js';
import { built, libseccomp, type LsJob, type LsOciJob, type LsRule } from '../_util/libseccomp.js';
import { ROOT, needPythonSeccomp, rng, sharedFixture, testSeed } from '../_util/tools.js';
import { int, pick, probeArgs, randAction, randomArchSet, randomResolved } from '../_util/policies.js';
import { generate } from '../../src/policy/codegen.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import type { ResolvedPolicy } from '../../src/policy/types.js';

const CLI = join(ROOT, 'dist', 'cli.js');
const TMP = mkdtempSync(join(tmpdir(), 'seccomp-ts-diff-'));

function side(label: string, yaml: string, arches?: string[]): DiffSide {
  const f = compile(yaml, { file: label, ...(arches ? { arches } : {}) });
  return { label, program: f.instructions, endian: f.endian, audits: f.resolved.arches.map((a) => a.arch.auditArch) };
}

const policy = (rules: string, head = 'defaultAction: kill_process\narchitectures: [x86_64, aarch64]') => `${head}\nrules:\n${rules}`;

/** Every reported difference is real: both programs, run on the witness, return what was reported, and differ. */
function assertWitnesses(a: DiffSide, b: DiffSide, diffs: ReturnType<typeof diffFilters>['differences']) {
  for (const d of diffs) {
    const data = { nr: d.nr, arch: d.audit, instructionPointer: 0n, args: d.args };
    const va = emulate(a.program, data, { endian: a.endian }).value;
    const vb = emulate(b.program, data, { endian: b.endian }).value;
    assert.is(va, d.a, formatDifference(d));
    assert.is(vb, d.b, formatDifference(d));
    assert.is.not(va, vb);
  }
}

const EQUAL: [string, string, string][] = [
  [
    'a group and its members',
    policy("  - syscalls: ['@exit']\n    action: allow\n"),
    policy('  - syscalls: [exit_group, exit]\n    action: allow\n'),
  ],
  [
    'rules split, merged and reordered',
    policy('  - syscalls: [read, write]\n    action: allow\n  - syscalls: [close]\n    action: errno(EBADF)\n'),
    policy('  - syscalls: [close]\n    action: errno(9)\n  - syscalls: [write]\n    action: allow\n  - syscalls: [read]\n    action: allow\n'),
  ],
  [
    'eq written as ge+le, masked_eq on the full mask as eq',
    policy('  - syscalls: [write]\n    action: allow\n    args: [{index: 0, op: eq, value: 2}]\n  - syscalls: [read]\n    action: allow\n    args: [{index: 1, op: eq, value: 0x100000005}]\n'),
    policy(
      '  - syscalls: [write]\n    action: allow\n    args: [{index: 0, op: ge, value: 2}, {index: 0, op: le, value: 2}]\n' +
        "  - syscalls: [read]\n    action: allow\n    args: [{index: 1, op: masked_eq, mask: '0xffffffffffffffff', value: 0x100000005}]\n",
    ),
  ],
];

for (const [what, ya, yb] of EQUAL) {
  test(`equivalent: ${what}`, () => {
    const r = diffFilters(side('a', ya), side('b', yb));
    assert.equal(r.differences.map(formatDifference), []);
    assert.ok(r.equivalent);
    assert.ok(r.probes > 600, `${r.probes} probes`);
  });
}

interface Unequal {
  what: string;
  a: string;
  b: string;
  /** What the first difference must show. */
  expect: { arch: string; syscall: string; argsMatch?: (args: readonly bigint[]) => boolean };
}

const UNEQUAL: Unequal[] = [
  {
    what: 'one more syscall allowed',
    a: policy('  - syscalls: [read]\n    action: allow\n'),
    b: policy('  - syscalls: [read, getpid]\n    action: allow\n'),
    expect: { arch: 'x86_64', syscall: 'getpid' },
  },
  {
    what: 'a 32-bit check against a 64-bit one: only high bits tell them apart',
    a: policy('  - syscalls: [write]\n    action: allow\n    args: [{index: 0, op: eq, value: 1, bits: 32}]\n'),
    b: policy('  - syscalls: [write]\n    action: allow\n    args: [{index: 0, op: eq, value: 1}]\n'),
    expect: { arch: 'x86_64', syscall: 'write', argsMatch: (a) => (a[0]! & 0xffffffffn) === 1n && a[0]! >> 32n !== 0n },
  },
  {
    what: 'a two-argument condition differing in the second argument',
    a: policy('  - syscalls: [kill]\n    action: allow\n    args: [{index: 0, op: eq, value: 5}, {index: 1, op: eq, value: 7}]\n'),
    b: policy('  - syscalls: [kill]\n    action: allow\n    args: [{index: 0, op: eq, value: 5}, {index: 1, op: eq, value: 8}]\n'),
    expect: { arch: 'x86_64', syscall: 'kill', argsMatch: (a) => a[0] === 5n && (a[1] === 7n || a[1] === 8n) },
  },
  {
    what: 'a boundary off by one (gt 10 against ge 10)',
    a: policy('  - syscalls: [socket]\n    action: allow\n    args: [{index: 0, op: gt, value: 10, bits: 32}]\n'),
    b: policy('  - syscalls: [socket]\n    action: allow\n    args: [{index: 0, op: ge, value: 10, bits: 32}]\n'),
    expect: { arch: 'x86_64', syscall: 'socket', argsMatch: (a) => (a[0]! & 0xffffffffn) === 10n },
  },
  {
    what: 'different badArchAction: a call from an architecture neither serves',
    a: policy('  - syscalls: [read]\n    action: allow\n', 'defaultAction: kill_process\nbadArchAction: kill_process\narchitectures: [x86_64]'),
    b: policy('  - syscalls: [read]\n    action: allow\n', 'defaultAction: kill_process\nbadArchAction: errno(EPERM)\narchitectures: [x86_64]'),
    expect: { arch: 'x32', syscall: 'read' },
  },
];

for (const u of UNEQUAL) {
  test(`different: ${u.what}`, () => {
    const a = side('a', u.a);
    const b = side('b', u.b);
    const r = diffFilters(a, b);
    assert.is(r.equivalent, false);
    assertWitnesses(a, b, r.differences);
    const first = r.differences[0]!;
    assert.is(first.arch, u.expect.arch, formatDifference(first));
    assert.is(first.syscall, u.expect.syscall, formatDifference(first));
    if (u.expect.argsMatch) assert.ok(u.expect.argsMatch(first.args), formatDifference(first));
    // Symmetric: B against A reports the same calls with the sides swapped.
    const back = diffFilters(b, a);
    assert.equal(back.differences.map((d) => [d.arch, d.nr, d.b, d.a]), r.differences.map((d) => [d.arch, d.nr, d.a, d.b]));
  });
}

test('--arch limits the calls compared', () => {
  const a = side('a', policy('  - syscalls: [read]\n    action: allow\n'));
  const b = side('b', policy('  - syscalls: [read, getpid]\n    action: allow\n'));
  const r = diffFilters(a, b, { arches: [getArch('aarch64')] });
  assert.ok(r.differences.length > 0);
  assert.ok(r.differences.every((d) => d.arch === 'aarch64'));
});

test('a policy and its own exported blob are equivalent; blobAudits reads the arches a blob checks', () => {
  const f = compile(policy('  - syscalls: [read]\n    action: allow\n    args: [{index: 2, op: lt, value: 4096}]\n'));
  const blob = decode(f.toBuffer(), f.endian);
  assert.equal(blobAudits(blob), [getArch('x86_64').auditArch, getArch('aarch64').auditArch]);
  const r = diffFilters({ label: 'policy', program: f.instructions, endian: f.endian, audits: [] }, { label: 'blob', program: blob, endian: f.endian, audits: blobAudits(blob) });
  assert.ok(r.equivalent);
});

test('sides of different byte order are refused', () => {
  const le = side('le', policy('  - syscalls: [read]\n    action: allow\n'));
  const be = side('be', policy('  - syscalls: [read]\n    action: allow\n', 'defaultAction: kill_process\narchitectures: [s390x]'));
  assert.throws(() => diffFilters(le, be), (e: Error) => e.name === 'PolicyError' && /endian/.test(e.message));
});

// ---- random differential: diff against the reference evaluator ----

const SEED = testSeed('diff random');
const ITERATIONS = Number(process.env.DIFF_ITERATIONS ?? 12);

/** Confine each syscall's checks to two argument indices (the probe set's exactness guarantee). */
function twoIndices(r: () => number, p: ResolvedPolicy): ResolvedPolicy {
  return {
    ...p,
    arches: p.arches.map((ra) => ({
      ...ra,
      syscalls: new Map(
        [...ra.syscalls].map(([nr, sc]) => {
          const pair = [int(r, 6), int(r, 6)];
          return [nr, { ...sc, rules: sc.rules.map((x) => ({ ...x, args: x.args.map((c) => ({ ...c, index: pair[c.index % 2]! })) })) }];
        }),
      ),
    })),
  };
}

/** One small change somewhere: a value off by one, another action, a rule dropped, a width flipped. */
function mutate(r: () => number, p: ResolvedPolicy): ResolvedPolicy {
  const ai = int(r, p.arches.length);
  const ra = p.arches[ai]!;
  const nrs = [...ra.syscalls.keys()];
  if (nrs.length === 0 || r() < 0.1) return { ...p, arches: p.arches.map((x, i) => (i === ai ? { ...x, defaultAction: randAction(r) } : x)) };
  const nr = pick(r, nrs);
  const sc = ra.syscalls.get(nr)!;
  const ri = int(r, sc.rules.length);
  const rule = sc.rules[ri]!;
  let rules = [...sc.rules];
  const kind = int(r, 4);
  if (kind === 0 && rule.args.length) {
    const ci = int(r, rule.args.length);
    const c = rule.args[ci]!;
    const top = c.bits === 32 ? 0xffffffffn : (1n << 64n) - 1n;
    const value = r() < 0.5 ? (c.value === top ? c.value - 1n : c.value + 1n) : c.value === 0n ? 1n : c.value - 1n;
    rules[ri] = { ...rule, args: rule.args.map((x, i) => (i === ci ? { ...x, value: c.op === 'masked_eq' ? value & (c.mask ?? 0n) : value } : x)) };
  } else if (kind === 1) rules[ri] = { ...rule, action: randAction(r) };
  else if (kind === 2) rules = rules.filter((_, i) => i !== ri);
  else rules[ri] = { ...rule, args: rule.args.map((c) => (ra.arch.bits === 64 && c.value <= 0xffffffffn && (c.mask ?? 0n) <= 0xffffffffn ? { ...c, bits: c.bits === 32 ? 64 : 32 } : c)) };
  const syscalls = new Map(ra.syscalls);
  syscalls.set(nr, { ...sc, rules });
  return { ...p, arches: p.arches.map((x, i) => (i === ai ? { ...x, syscalls } : x)) };
}

test(`random policy pairs: every difference the evaluator finds, diff finds (${ITERATIONS} pairs)`, () => {
  const r = rng(SEED);
  let differing = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    const arches = randomArchSet(r).slice(0, 2);
    const pa = twoIndices(r, randomResolved(r, arches, { syscalls: 6, argRate: 0.6 }));
    const pb = mutate(r, pa);
    const sa: DiffSide = { label: 'a', program: generate(pa), endian: arches[0]!.endian, audits: arches.map((x) => x.auditArch) };
    const sb: DiffSide = { label: 'b', program: generate(pb), endian: arches[0]!.endian, audits: arches.map((x) => x.auditArch) };
    const d = diffFilters(sa, sb);
    assertWitnesses(sa, sb, d.differences);
    const found = new Set(d.differences.map((x) => `${x.audit}:${x.nr}`));
    for (const ra of pa.arches) {
      const rb = pb.arches.find((x) => x.arch === ra.arch)!;
      // Numbers outside the table are probed only where the filters compare nr with them; a
      // difference at one of them must still show up somewhere (e.g. a changed default action).
      const table = new Set([...syscallTable(ra.arch).values()].map((n) => (n | ra.arch.syscallBit) >>> 0));
      for (const nr of new Set([...ra.syscalls.keys(), ...rb.syscalls.keys()])) {
        const checks = [...(ra.syscalls.get(nr)?.rules ?? []), ...(rb.syscalls.get(nr)?.rules ?? [])].flatMap((x) => x.args);
        for (const args of [[0n, 0n, 0n, 0n, 0n, 0n], ...probeArgs(r, checks, 150)]) {
          const data = { nr, arch: ra.arch.auditArch, instructionPointer: 0n, args };
          if (evaluatePolicy(pa, data) === evaluatePolicy(pb, data)) continue;
          const ok = table.has(nr) ? found.has(`${ra.arch.auditArch}:${nr}`) : !d.equivalent;
          assert.ok(ok, `SEED=${SEED} pair ${it}: ${ra.arch.name} nr ${nr} args ${args.map((v) => '0x' + v.toString(16)).join(',')} differs, diff missed it`);
          differing++;
          break;
        }
      }
    }
  }
  process.stdout.write(`  diff random: ${differing} differing calls found by the evaluator, all reported by diff\n`);
});

// ---- against libseccomp ----

/** The program libseccomp builds for one job. */
function libseccompProgram(job: LsJob | LsOciJob): Instruction[] {
  return built(libseccomp({ jobs: [job] }).results[0]!, 'libseccomp refused the job').program;
}

const ALLOW = 0x7fff0000;
const ERRNO = (n: number) => 0x00050000 | n;

const havePy = needPythonSeccomp();

(havePy ? test : test.skip)('a policy and libseccomp built from the same rules are equivalent, and a changed rule is found', () => {
  const rules: LsRule[] = [
    { action: ALLOW, name: 'read', args: [] },
    { action: ALLOW, name: 'write', args: [{ index: 0, op: 'eq', value: 1n }] },
    { action: ALLOW, name: 'write', args: [{ index: 0, op: 'eq', value: 2n }] },
    { action: ERRNO(13), name: 'openat', args: [{ index: 2, op: 'masked_eq', mask: 3n, value: 1n }] },
    { action: ALLOW, name: 'openat', args: [{ index: 2, op: 'masked_eq', mask: 3n, value: 0n }] },
    { action: ALLOW, name: 'close', args: [{ index: 0, op: 'gt', value: 0x100000000n }] },
    { action: 0x80000000, name: 'ptrace', args: [] },
  ];
  // As the export of an allowlist would be: default errno(EPERM), x86_64, libseccomp's bad-arch action.
  const job = (rs: LsRule[]): LsJob => ({ arches: ['x86_64'], defaultAction: ERRNO(1), rules: rs, lenient: true });
  const ours = policy(
    '  - syscalls: [read]\n    action: allow\n' +
      '  - syscalls: [write]\n    action: allow\n    args: [{index: 0, op: eq, value: 1}]\n' +
      '  - syscalls: [write]\n    action: allow\n    args: [{index: 0, op: eq, value: 2}]\n' +
      '  - syscalls: [openat]\n    action: errno(EACCES)\n    args: [{index: 2, op: masked_eq, mask: 3, value: 1}]\n' +
      '  - syscalls: [openat]\n    action: allow\n    args: [{index: 2, op: masked_eq, mask: 3, value: 0}]\n' +
      "  - syscalls: [close]\n    action: allow\n    args: [{index: 0, op: gt, value: '0x100000000'}]\n" +
      '  - syscalls: [ptrace]\n    action: kill_process\n',
    'defaultAction: errno(EPERM)\nbadArchAction: kill_thread\narchitectures: [x86_64]',
  );
  const blob = libseccompProgram(job(rules));
  const a = side('ours', ours);
  const b: DiffSide = { label: 'libseccomp', program: blob, endian: 'little', audits: blobAudits(blob) };
  const r = diffFilters(a, b);
  // Numbers at or above the x32 bit that no table has are routed differently by design: libseccomp
  // sends all of them but -1 (which it leaves to tracers) to the bad-arch action; seccomp-ts gives
  // those without the x32 bit to x86_64's default action, and those with it to x32 (not listed here).
  const outside = (d: (typeof r.differences)[number]) => d.syscall === undefined && d.nr >= 0x40000000;
  assert.equal(r.differences.filter((d) => !outside(d)).map(formatDifference), []);
  assert.ok(r.differences.filter(outside).every((d) => (d.b === 0 && d.nr !== 0xffffffff) || (d.a === 0 && d.nr === 0xffffffff)), r.differences.map(formatDifference).join('\n'));
  // The same rules with write(2) left out: the diff must find exactly that.
  const changed = libseccompProgram(job(rules.filter((x) => !(x.name === 'write' && x.args[0]?.value === 2n))));
  const r2 = diffFilters(a, { label: 'changed', program: changed, endian: 'little', audits: blobAudits(changed) });
  assert.equal(r2.differences.filter((d) => !outside(d)).map(formatDifference), ['x86_64 write(2): allow vs errno(EPERM)']);
  // A known difference in meaning: libseccomp lets an unconditional rule replace the conditional
  // rules of a syscall whatever their action, while seccomp-ts applies the most restrictive rule
  // that holds. The diff must find exactly that call.
  const withUnconditional = libseccompProgram(job([...rules, { action: ALLOW, name: 'openat', args: [] }]));
  const ours3 = side('ours+', ours + '  - syscalls: [openat]\n    action: allow\n');
  const r3 = diffFilters(ours3, { label: 'libseccomp+', program: withUnconditional, endian: 'little', audits: blobAudits(withUnconditional) });
  const diffs3 = r3.differences.filter((d) => !outside(d));
  assert.equal(diffs3.map((d) => [d.syscall, d.a, d.b]), [['openat', 0x00050000 | 13, 0x7fff0000]]);
  assert.is(diffs3[0]!.args[2]! & 3n, 1n);
});

// moby's default profile, compiled by us and by libseccomp (through a small runc-like reader in
// test/_util/libseccomp_build.py), for an amd64 host with Docker's default capabilities on Linux 6.12.
// Compared on x86_64 and i386. x32 is left out: libseccomp compares x32 arguments as 32-bit
// values, while seccomp-ts checks all 64 bits there (the kernel reads full registers for x32).
// Every difference must have one of two known causes, each checked here rather than assumed:
//  - libseccomp 2.5 does not know a syscall newer than itself, so it drops the moby rule for it;
//  - the kernel table lists a number without an entry point (e.g. x86_64 set_thread_area), which
//    seccomp-ts's tables leave out but libseccomp allows when the profile names it.
const MOBY = sharedFixture('moby-default.json');
(havePy && MOBY ? test : test.skip)('moby default profile: our compile is equivalent to libseccomp export, up to table differences', () => {
  const text = readFileSync(MOBY!, 'utf8');
  const profile = JSON.parse(text) as { syscalls: { names: string[] }[] };
  const named = new Set(profile.syscalls.flatMap((s) => s.names));
  const blob = libseccompProgram({ oci: profile, caps: DOCKER_DEFAULT_CAPS, kernel: '6.12', host: 'amd64' });
  const { policy: p } = policyFromOci(text, { kernel: '6.12', arches: ['x86_64', 'i386', 'x32'] });
  const f = compile(p);
  const arches = [getArch('x86_64'), getArch('i386')];
  const a: DiffSide = { label: 'seccomp-ts', program: f.instructions, endian: 'little', audits: f.resolved.arches.map((x) => x.arch.auditArch) };
  const b: DiffSide = { label: 'libseccomp', program: blob, endian: 'little', audits: blobAudits(blob) };
  const r = diffFilters(a, b, { arches });
  assert.ok(r.probes > 700, `${r.probes}`);
  // Ask libseccomp which of the differing calls it can name.
  const libArch = (arch: string | undefined) => (arch === 'i386' ? 'i386' : 'x86_64');
  const ask = { numbers: { x86_64: [] as string[], i386: [] as string[] }, names: { x86_64: [] as number[], i386: [] as number[] } };
  for (const d of r.differences) {
    if (d.syscall) ask.numbers[libArch(d.arch)].push(d.syscall);
    ask.names[libArch(d.arch)].push(d.nr);
  }
  const lib = libseccomp(ask);
  const answers = r.differences.map((d): [boolean, string | null] => {
    const numbers = lib.numbers[libArch(d.arch)]!;
    return [d.syscall !== undefined && d.syscall !== '' && Object.hasOwn(numbers, d.syscall), lib.names[libArch(d.arch)]![d.nr] ?? null];
  });
  const unexplained: string[] = [];
  r.differences.forEach((d, i) => {
    const [libKnows, libName] = answers[i]!;
    const newerThanLibseccomp = d.syscall !== undefined && !libKnows && named.has(d.syscall) && d.a === 0x7fff0000;
    const noEntryPoint = d.syscall === undefined && libName !== null && named.has(libName) && syscallNumber(getArch(d.arch!), libName) === undefined && d.b === 0x7fff0000;
    if (!newerThanLibseccomp && !noEntryPoint) unexplained.push(formatDifference(d));
  });
  assert.equal(unexplained, []);
  // The comparison is not vacuous: the same profile without its socket rules differs at socket(40).
  const noSocket = JSON.parse(text) as { syscalls: { names: string[] }[] };
  noSocket.syscalls = noSocket.syscalls.filter((s) => !s.names.includes('socket'));
  const blob2 = libseccompProgram({ oci: noSocket, caps: DOCKER_DEFAULT_CAPS, kernel: '6.12', host: 'amd64' });
  const r2 = diffFilters(a, { label: 'no socket', program: blob2, endian: 'little', audits: blobAudits(blob2) }, { arches });
  assert.ok(r2.differences.some((d) => d.syscall === 'socket'), r2.differences.map(formatDifference).join('\n'));
});

// ---- CLI ----

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('cli: equal pair exits 0, unequal exits 1 with the calls, --json, a blob operand', () => {
  const a = join(TMP, 'a.yaml');
  const b = join(TMP, 'b.yaml');
  writeFileSync(a, policy('  - syscalls: [read]\n    action: allow\n'));
  writeFileSync(b, policy('  - syscalls: [read, getpid]\n    action: allow\n'));
  const same = cli('diff', a, a);
  assert.is(same.status, 0, same.err);
  assert.match(same.out, /are equivalent \(\d+ calls compared\)/);
  const d = cli('diff', a, b);
  assert.is(d.status, 1, d.err);
  assert.ok(d.out.includes('x86_64 getpid(): kill_process vs allow'), d.out);
  const j = cli('diff', a, b, '--json', '--arch', 'aarch64');
  assert.is(j.status, 1, j.err);
  const parsed = JSON.parse(j.out) as { equivalent: boolean; differences: { arch: string; syscall: string; a: string; b: string }[] };
  assert.is(parsed.equivalent, false);
  assert.equal(parsed.differences.map((x) => [x.arch, x.syscall, x.a, x.b]), [['aarch64', 'getpid', 'kill_process', 'allow']]);
  const blob = join(TMP, 'b.bpf');
  writeFileSync(blob, compile(readFileSync(b, 'utf8')).toBuffer());
  const vsBlob = cli('diff', b, blob);
  assert.is(vsBlob.status, 0, vsBlob.out + vsBlob.err);
});

test('cli: bad input is one line with exit 2', () => {
  const a = join(TMP, 'ok.yaml');
  writeFileSync(a, policy('  - syscalls: [read]\n    action: allow\n'));
  const noArch = join(TMP, 'noarch.bpf');
  writeFileSync(noArch, Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f])); // return ALLOW, checks no arch
  const odd = join(TMP, 'odd.bpf');
  writeFileSync(odd, Buffer.from([0x06, 0, 0, 0, 0]));
  const cases: [string[], RegExp][] = [
    [['diff', a], /expected two operands/],
    [['diff', a, join(TMP, 'missing')], /missing/],
    [['diff', a, noArch], /checks no architecture.*--arch/],
    [['diff', a, odd], /not a multiple of 8/],
    [['diff', a, a, '--arch', 'pdp11'], /unknown architecture/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.is(r.err.trimEnd().split('\n').length, 1, r.err);
    assert.match(r.err, re);
  }
  const withArch = cli('diff', a, noArch, '--arch', 'x86_64');
  assert.is(withArch.status, 1, withArch.err);
});

test.run();
