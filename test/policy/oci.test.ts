/**
 * OCI/Docker seccomp profiles: reading (actions, operators, moby includes/excludes, archMap),
 * errors naming the JSON path, writing and reading back to the same decisions, and Docker's
 * default profile against libseccomp (built by test/_util/libseccomp_build.py as runc would).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch, syscallNumber, type Arch } from '../../src/arch/index.js';
import { emulate } from '../../src/bpf/emulator.js';
import { encodeAction } from '../../src/bpf/seccomp.js';
import { verify } from '../../src/bpf/verifier.js';
import { generate } from '../../src/policy/codegen.js';
import { PolicyError } from '../../src/policy/errors.js';
import { archOfCall, evaluatePolicy } from '../../src/policy/evaluate.js';
import { DOCKER_DEFAULT_CAPS, formatOciJson, isOciProfile, policyFromOci, policyToOci } from '../../src/policy/oci.js';
import { resolvePolicy } from '../../src/policy/resolve.js';
import type { ArgCheck, ArgOp, Policy, PolicyRule, ResolvedPolicy } from '../../src/policy/types.js';
import { call, int, pick, probeArgs, probeNumbers, type Rand } from '../_util/policies.js';
import { built, libseccomp } from '../_util/libseccomp.js';
import { ROOT, needPythonSeccomp, rng, sharedFixture, testSeed } from '../_util/tools.js';

const ALLOW = encodeAction('allow');
const KILL_THREAD = encodeAction('kill_thread');
const errno = (n: number) => encodeAction('errno', n);
const X86_64 = getArch('x86_64');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'formats');
const SEED = testSeed('oci');

/** A profile as text (so values stay exact). */
const json = (o: unknown) => JSON.stringify(o);
const read = (profile: unknown, opts: Parameters<typeof policyFromOci>[1] = {}) =>
  policyFromOci(typeof profile === 'string' ? profile : json(profile), { arches: ['x86_64'], kernel: '6.1', ...opts });
const nr = (name: string, arch: Arch = X86_64) => syscallNumber(arch, name)!;

/** The evaluator's decision for one call. */
function decide(p: Policy | ResolvedPolicy, name: string, args: bigint[] = [], arch: Arch = X86_64): number {
  const r = 'rules' in p ? resolvePolicy(p) : p;
  return evaluatePolicy(r, call(arch.auditArch, (nr(name, arch) | arch.syscallBit) >>> 0, args)) >>> 0;
}

test('isOciProfile tells profiles from seccomp-ts policies', () => {
  const cases: [unknown, boolean][] = [
    [{ defaultAction: 'SCMP_ACT_ERRNO' }, true],
    [{ syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, true],
    [{ archMap: [] }, true],
    [{ defaultAction: 'allow', rules: [] }, false],
    [{ syscalls: [{ names: ['read'], action: 'allow' }] }, false],
    [[], false],
    ['SCMP_ACT_ALLOW', false],
    [null, false],
  ];
  for (const [obj, want] of cases) assert.is(isOciProfile(obj), want, JSON.stringify(obj));
});

test('actions: every SCMP_ACT_* with runc defaults for errnoRet', () => {
  const cases: [string, number | undefined, number][] = [
    ['SCMP_ACT_KILL', undefined, encodeAction('kill_thread')],
    ['SCMP_ACT_KILL_THREAD', undefined, encodeAction('kill_thread')],
    ['SCMP_ACT_KILL_PROCESS', undefined, encodeAction('kill_process')],
    ['SCMP_ACT_TRAP', undefined, encodeAction('trap')],
    ['SCMP_ACT_ERRNO', undefined, errno(1)],
    ['SCMP_ACT_ERRNO', 38, errno(38)],
    ['SCMP_ACT_ERRNO', 0, errno(0)],
    ['SCMP_ACT_TRACE', undefined, encodeAction('trace', 1)],
    ['SCMP_ACT_TRACE', 4242, encodeAction('trace', 4242)],
    ['SCMP_ACT_ALLOW', undefined, ALLOW],
    ['SCMP_ACT_LOG', undefined, encodeAction('log')],
    ['SCMP_ACT_NOTIFY', undefined, encodeAction('user_notif')],
  ];
  for (const [action, errnoRet, want] of cases) {
    const def = action === 'SCMP_ACT_KILL_PROCESS' ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_KILL_PROCESS';
    const { policy } = read({ defaultAction: def, syscalls: [{ names: ['getpid'], action, ...(errnoRet !== undefined ? { errnoRet } : {}) }] });
    assert.is(decide(policy, 'getpid'), want >>> 0, `${action} ${errnoRet}`);
    const d = read({ defaultAction: action, ...(errnoRet !== undefined ? { defaultErrnoRet: errnoRet } : {}) }).policy;
    assert.is(d.defaultAction >>> 0, want >>> 0, `default ${action}`);
    assert.is(decide(d, 'getpid'), want >>> 0);
  }
});

test('operators: every SCMP_CMP_*, MASKED_EQ as (arg & value) == valueTwo, 64-bit', () => {
  const op = (o: string, value: bigint | number, valueTwo?: bigint | number) =>
    read(
      `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"op":"${o}","value":${value}${
        valueTwo !== undefined ? `,"valueTwo":${valueTwo}` : ''
      }}]}]}`,
    ).policy;
  const table: [string, bigint, bigint | undefined, bigint[], bigint[]][] = [
    // op, value, valueTwo, args that pass, args that fail
    ['SCMP_CMP_EQ', 5n, undefined, [5n], [4n, 6n, (1n << 32n) | 5n]],
    ['SCMP_CMP_NE', 5n, undefined, [4n, (1n << 32n) | 5n], [5n]],
    ['SCMP_CMP_LT', 5n, undefined, [0n, 4n], [5n, 1n << 32n]],
    ['SCMP_CMP_LE', 5n, undefined, [5n], [6n]],
    ['SCMP_CMP_GT', 5n, undefined, [6n, 1n << 40n], [5n, 0n]],
    ['SCMP_CMP_GE', 5n, undefined, [5n], [4n]],
    ['SCMP_CMP_MASKED_EQ', 0xf0n, 0x30n, [0x30n, 0x3fn, 0x1_0000_0030n], [0x40n, 0x20n]],
    ['SCMP_CMP_MASKED_EQ', 0x7e020000n, undefined, [0n, 0x11n], [0x20000n]],
    ['SCMP_CMP_EQ', 0xffffffffffffffffn, undefined, [0xffffffffffffffffn], [0xffffffffn]],
    ['SCMP_CMP_GT', 0xfffffffffffffffen, 0n, [0xffffffffffffffffn], [0xfffffffffffffffen]],
  ];
  for (const [o, v, v2, yes, no] of table) {
    const p = op(o, v, v2);
    for (const a of yes) assert.is(decide(p, 'ioctl', [0n, a]), ALLOW, `${o} ${v} ${v2}: 0x${a.toString(16)} should pass`);
    for (const a of no) assert.is(decide(p, 'ioctl', [0n, a]), errno(1), `${o} ${v} ${v2}: 0x${a.toString(16)} should fail`);
  }
});

test('conditions in one entry are AND-ed; on one argument runc ORs them (note)', () => {
  const and = read({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] }],
  });
  assert.is(decide(and.policy, 'ioctl', [1n, 2n]), ALLOW);
  assert.is(decide(and.policy, 'ioctl', [1n, 3n]), errno(1));
  const or = read({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 10, op: 'SCMP_CMP_GE' }, { index: 0, value: 20, op: 'SCMP_CMP_LE' }] }],
  });
  assert.is(or.policy.rules.length, 2);
  assert.ok(or.notes.some((n) => n.includes('OR')), or.notes.join('\n'));
  // 30 >= 10 holds, so the OR-ed rules allow it although it is outside 10..20.
  assert.is(decide(or.policy, 'ioctl', [30n]), ALLOW);
});

test('moby includes/excludes: caps (includes ALL, excludes ANY), arches, minKernel', () => {
  const profile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_SYS_CHROOT'] } },
      { names: ['chroot'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_SYS_BOOT'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['arm64'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['pidfd_open'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.10' } },
      { names: ['kcmp'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.0' } },
    ],
  };
  const cases: { caps?: string[]; kernel?: string; arch: string; allowed: string[]; denied: string[] }[] = [
    { arch: 'x86_64', allowed: ['chroot', 'arch_prctl', 'modify_ldt', 'ptrace'], denied: ['mount', 'pidfd_open', 'kcmp'] },
    { caps: ['SYS_ADMIN', 'sys_chroot'], arch: 'x86_64', allowed: ['mount'], denied: ['chroot'] },
    { caps: ['CAP_SYS_ADMIN'], arch: 'x86_64', allowed: [], denied: ['mount', 'chroot'] },
    { caps: [], arch: 'x86_64', allowed: ['chroot'], denied: ['mount'] },
    { kernel: '4.7', arch: 'x86_64', allowed: ['kcmp'], denied: ['ptrace', 'pidfd_open'] },
    { kernel: '6.12.5-amd64', arch: 'x86_64', allowed: ['ptrace', 'pidfd_open'], denied: ['kcmp'] },
    { arch: 'aarch64', allowed: ['ptrace'], denied: ['arch_prctl'] },
  ];
  for (const c of cases) {
    const { policy, notes } = read(profile, { arches: [c.arch], ...(c.caps ? { caps: c.caps } : {}), ...(c.kernel ? { kernel: c.kernel } : {}) });
    const a = getArch(c.arch);
    for (const n of c.allowed) assert.is(decide(policy, n, [], a), ALLOW, `${JSON.stringify(c)}: ${n} allowed`);
    for (const n of c.denied) {
      if (syscallNumber(a, n) !== undefined) assert.is(decide(policy, n, [], a), errno(1), `${JSON.stringify(c)}: ${n} denied`);
    }
    assert.ok(notes.some((x) => x.includes('skipped')), 'skipped entries are noted');
  }
  // modify_ldt is excluded on arm64 only: absent from the aarch64 policy's rules.
  const arm = read(profile, { arches: ['aarch64'] }).policy;
  assert.not.ok(arm.rules.some((r) => r.syscalls.includes('modify_ldt')));
});

test('architectures: archMap entry of the host plus its sub-architectures; explicit arches win', () => {
  const profile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS'] },
    ],
    syscalls: [],
  };
  const t = (text: string, arches: string[] | undefined) => policyFromOci(text, { arches, kernel: '6.1' }).policy.architectures;
  assert.equal(t(json(profile), ['amd64']), ['x86_64']);
  assert.equal(t(json(profile), ['x86_64', 'i386', 'x32']), ['x86_64', 'i386', 'x32']);
  // Without explicit arches the host picks the entry (this machine's arch is one of the two tested ones).
  const host = t(json(profile), undefined)!;
  if (host[0] === 'x86_64') assert.equal(host, ['x86_64', 'i386', 'x32']);
  if (host[0] === 'aarch64') assert.equal(host, ['aarch64', 'arm']);
  const listed = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'] };
  if (host[0] === 'x86_64') assert.equal(t(json(listed), undefined), ['x86_64', 'i386'], 'the native arch is always in (libseccomp adds it)');
  // An architecture libseccomp knows and seccomp-ts does not: noted, its calls get the bad-arch action.
  const ppc = policyFromOci(json({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_PPC'] }), { arches: ['ppc64'], kernel: '6.1' });
  assert.equal(ppc.policy.architectures, ['ppc64']);
  assert.ok(ppc.notes.some((n) => n.startsWith('architectures[0]:') && n.includes('SCMP_ARCH_PPC')), ppc.notes.join('\n'));
  const { policy } = read({ defaultAction: 'SCMP_ACT_ALLOW' }, { arches: ['x86_64'] });
  assert.is(policy.badArchAction >>> 0, KILL_THREAD, "libseccomp's default bad-arch action");
  assert.is(evaluatePolicy(resolvePolicy(policy), call(getArch('i386').auditArch, 20)) >>> 0, KILL_THREAD);
});

test('flags, listenerPath and unknown keys become notes; flags are returned', () => {
  const r = read({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'], listenerPath: '/run/x.sock', extra: 1 });
  assert.equal(r.flags, ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']);
  assert.ok(r.notes.some((n) => n.startsWith('flags[0]:') && n.includes('load-time')));
  assert.ok(r.notes.some((n) => n.startsWith('listenerPath:')));
  assert.ok(r.notes.some((n) => n.startsWith('extra:')));
});

test('names no table knows are skipped with a note; names absent on an arch are noted per arch', () => {
  const r = read({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'no_such_call', 'chown32'], action: 'SCMP_ACT_ALLOW' }] });
  assert.equal(r.policy.rules[0]!.syscalls, ['read', 'chown32']);
  assert.ok(r.notes.some((n) => n.includes('no_such_call')));
  assert.ok(r.notes.some((n) => n.includes('x86_64') && n.includes('chown32')));
  assert.ok(resolvePolicy(r.policy).warnings.some((w) => w.message.includes('chown32')), 'resolve warns too');
});

test('rules whose action is the default action are skipped, as runc does', () => {
  const r = read({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['clone'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  assert.is(r.policy.rules.length, 1);
  assert.is(decide(r.policy, 'clone', [1n]), ALLOW);
});

test('64-bit values stay exact from text; inexact numbers from objects are refused', () => {
  const text = '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}';
  const p = policyFromOci(text, { arches: ['x86_64'], kernel: '6.1' }).policy;
  assert.is((p.rules[0]!.args[0] as ArgCheck).value, 0xffffffffffffffffn);
  assert.throws(() => policyFromOci(JSON.parse(text), { arches: ['x86_64'], kernel: '6.1' }), (e: unknown) => e instanceof PolicyError && e.code === 'VALUE' && /2\^53/.test(e.message));
  // Small numbers in objects are fine.
  const obj = policyFromOci({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 7, op: 'SCMP_CMP_EQ' }] }] }, { arches: ['x86_64'], kernel: '6.1' });
  assert.is(decide(obj.policy, 'ioctl', [0n, 7n]), ALLOW);
});

test('bad profiles: one PolicyError naming the JSON path (and line:column from text)', () => {
  const files = readdirSync(join(FIXTURES, 'oci-bad')).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 15, 'bad-profile fixtures exist');
  for (const f of files) {
    const text = readFileSync(join(FIXTURES, 'oci-bad', f), 'utf8');
    // Each fixture's .expect file: CODE <tab> line:column <tab> a fragment of the message.
    const [code, lc, fragment] = readFileSync(join(FIXTURES, 'oci-bad', f.replace(/\.json$/, '.expect')), 'utf8').trimEnd().split('\t');
    try {
      policyFromOci(text, { file: f, arches: ['x86_64'], kernel: '6.1' });
      assert.unreachable(`${f}: no error`);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      assert.is(e.code, code, `${f}: ${e.message}`);
      assert.ok(e.message.startsWith(`${f}:${lc}: `), `${f}: position in '${e.message}'`);
      assert.ok(e.message.includes(fragment!), `${f}: '${e.message}' should contain '${fragment}'`);
      assert.not.ok(e.message.includes('\n'), 'one line');
    }
  }
});

test('bad options: unknown arch, bad kernel version', () => {
  assert.throws(() => policyFromOci('{"defaultAction":"SCMP_ACT_ALLOW"}', { arches: ['pdp11'] }), (e: unknown) => e instanceof PolicyError && e.code === 'ARCH');
  assert.throws(() => policyFromOci('{"defaultAction":"SCMP_ACT_ALLOW"}', { kernel: 'six' }), (e: unknown) => e instanceof PolicyError && e.code === 'VALUE');
});

/** Decisions of two policies on every probe of their shared architectures; returns how many were compared. */
function sameDecisions(a: Policy, b: Policy, label: string, seed = SEED): number {
  const ra = resolvePolicy(a);
  const rb = resolvePolicy(b);
  const r = rng(seed);
  let n = 0;
  const checks = a.rules.flatMap((x) => x.args);
  for (const arch of ra.arches) {
    for (const nrv of probeNumbers(r, arch.arch, ra)) {
      for (const args of [[], ...probeArgs(r, checks, checks.length ? 3 : 0)]) {
        const d = call(arch.arch.auditArch, nrv, args);
        const x = evaluatePolicy(ra, d) >>> 0;
        const y = evaluatePolicy(rb, d) >>> 0;
        if (x !== y) assert.unreachable(`${label}: ${arch.arch.name} nr 0x${nrv.toString(16)} args [${args.join(', ')}]: 0x${x.toString(16)} vs 0x${y.toString(16)}`);
        n++;
      }
    }
  }
  return n;
}

test('round trip: policyToOci -> text -> policyFromOci gives the same decisions', () => {
  const policies: Policy[] = [
    {
      defaultAction: errno(1),
      badArchAction: KILL_THREAD,
      architectures: ['x86_64', 'i386'],
      rules: [
        { syscalls: ['@basic-io', 'exit_group', 'chown32'], action: ALLOW, args: [] },
        { syscalls: ['ioctl'], action: ALLOW, args: [{ index: 1, op: 'eq', value: 0x5401n, bits: 32 }] },
        { syscalls: ['socket'], action: ALLOW, args: [{ index: 0, op: 'lt', value: 16n, bits: 64 }, { index: 1, op: 'masked_eq', mask: 0xfn, value: 1n, bits: 64 }] },
        { syscalls: ['socket'], action: errno(97), args: [{ index: 0, op: 'ge', value: 16n, bits: 64 }] },
        { syscalls: ['kill'], action: encodeAction('trace', 9), args: [{ index: 1, op: 'ne', value: 0n, bits: 64 }] },
        { syscalls: ['ptrace'], action: encodeAction('kill_process'), args: [] },
        { syscalls: ['ptrace'], action: ALLOW, args: [{ index: 0, op: 'eq', value: 0n, bits: 64 }] },
        { syscalls: ['personality'], action: ALLOW, args: [{ index: 0, op: 'eq', value: 0xffffffffn, bits: 64 }] },
      ],
      tests: [],
    },
    {
      defaultAction: ALLOW,
      badArchAction: KILL_THREAD,
      architectures: ['aarch64'],
      rules: [
        { syscalls: ['@mount', '@module'], action: encodeAction('kill_process'), args: [] },
        { syscalls: ['openat'], action: encodeAction('log'), args: [{ index: 2, op: 'masked_eq', mask: 3n, value: 1n, bits: 32 }] },
        { syscalls: ['unshare'], action: errno(1), args: [] },
      ],
      tests: [],
    },
  ];
  const moby = sharedFixture('moby-default.json');
  if (moby) policies.push(policyFromOci(readFileSync(moby, 'utf8'), { arches: ['x86_64', 'i386', 'x32'], kernel: '6.1' }).policy);
  for (const [i, p] of policies.entries()) {
    const text = formatOciJson(policyToOci(p));
    assert.ok(isOciProfile(JSON.parse(text)));
    const back = policyFromOci(text, { arches: p.architectures, kernel: '6.1' }).policy;
    const n = sameDecisions(p, back, `policy ${i}`);
    assert.ok(n > 1000, `policy ${i}: ${n} decisions compared`);
  }
});

test('policyToOci refuses what OCI cannot express, with the reason', () => {
  const base = { defaultAction: errno(1), badArchAction: KILL_THREAD, architectures: ['x86_64'] as const, tests: [] };
  const cases: [string, Policy][] = [
    ['trap(', { ...base, rules: [{ syscalls: ['read'], action: encodeAction('trap', 3), args: [] }] }],
    ["32-bit 'lt'", { ...base, rules: [{ syscalls: ['read'], action: ALLOW, args: [{ index: 0, op: 'lt', value: 3n, bits: 32 }] }] }],
    ['checks one argument twice', { ...base, rules: [{ syscalls: ['read'], action: ALLOW, args: [{ index: 0, op: 'gt', value: 3n, bits: 64 }, { index: 0, op: 'lt', value: 9n, bits: 64 }] }] }],
    [
      'may both hold',
      {
        ...base,
        rules: [
          { syscalls: ['read'], action: ALLOW, args: [] },
          { syscalls: ['read'], action: errno(5), args: [{ index: 0, op: 'eq', value: 3n, bits: 64 }] },
        ],
      },
    ],
    [
      'may both hold',
      {
        ...base,
        rules: [
          { syscalls: ['read'], action: ALLOW, args: [{ index: 1, op: 'eq', value: 4n, bits: 64 }] },
          { syscalls: ['read'], action: errno(5), args: [{ index: 0, op: 'eq', value: 3n, bits: 64 }] },
        ],
      },
    ],
  ];
  for (const [why, p] of cases) {
    assert.throws(() => policyToOci(p), (e: unknown) => e instanceof PolicyError && e.message.includes(why), why);
  }
  // Disjoint conditions of different actions are fine.
  const ok: Policy = {
    ...base,
    rules: [
      { syscalls: ['read'], action: ALLOW, args: [{ index: 0, op: 'lt', value: 3n, bits: 64 }] },
      { syscalls: ['read'], action: errno(5), args: [{ index: 0, op: 'eq', value: 3n, bits: 64 }] },
    ],
  };
  assert.is((policyToOci(ok).syscalls as unknown[]).length, 2);
});

/**
 * A random x86_64 policy over a few syscalls: unconditional rules of mixed actions, and at most one
 * conditional rule per syscall. (libseccomp 2.5.4 miscompiles some syscalls with several conditional
 * rules: after a low-word test it can jump into the next rule's high-word test without reloading
 * the accumulator, e.g. read with `a0 >= 0x100000002 && a1 > 2 -> TRACE` and `a0 < 0xffffffff &&
 * a1 >= 0 -> TRAP` returns TRACE for a0 = 0xffffffff. Its own pseudo-code output is right.)
 */
function randomPolicy(r: Rand): Policy {
  const names = ['read', 'write', 'openat', 'ioctl', 'socket', 'clone', 'mmap', 'kill'];
  const actions = [ALLOW, errno(1), errno(13), encodeAction('kill_process'), KILL_THREAD, encodeAction('trap'), encodeAction('log'), encodeAction('trace', 7)];
  const values = [0n, 1n, 2n, 3n, 0xffffffffn, 1n << 32n, (1n << 32n) | 2n, 0xffffffffffffffffn];
  const ops: ArgOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked_eq'];
  const rules: PolicyRule[] = [];
  const conditional = new Set<string>();
  for (let i = 0, n = 1 + int(r, 7); i < n; i++) {
    const args: ArgCheck[] = [];
    const indexes = [0, 1, 2].filter(() => r() < 0.4);
    for (const index of indexes) {
      const op = pick(r, ops);
      const bits = op === 'eq' && r() < 0.2 ? 32 : 64;
      const value = bits === 32 ? pick(r, values) & 0xffffffffn : pick(r, values);
      args.push(op === 'masked_eq' ? { index, op, mask: pick(r, [0xfn, 0xffffffffn, 1n << 32n]), value: pick(r, [0n, 1n, 2n, 1n << 32n]), bits } : { index, op, value, bits });
    }
    const free = names.filter((n) => !conditional.has(n));
    if (args.length > 0 && free.length === 0) args.length = 0;
    const pool = args.length > 0 ? free : names;
    const syscalls = [...new Set([pick(r, pool), ...(r() < 0.3 ? [pick(r, pool)] : [])])];
    if (args.length > 0) syscalls.forEach((n) => conditional.add(n));
    rules.push({ syscalls, action: pick(r, actions), args });
  }
  return { defaultAction: pick(r, [ALLOW, errno(1), encodeAction('kill_process'), encodeAction('log')]), badArchAction: KILL_THREAD, architectures: ['x86_64'], rules, tests: [] };
}

const RANDOM_LIB = needPythonSeccomp() ? test : test.skip;

RANDOM_LIB('policyToOci of random policies, built by libseccomp as runc does, decides like the policy', () => {
  const r = rng(SEED ^ 0x5eed);
  let written = 0;
  let refused = 0;
  for (let round = 0; round < 40 && written < 15; round++) {
    const p = randomPolicy(r);
    let profile: Record<string, unknown>;
    try {
      profile = policyToOci(p);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      refused++;
      continue;
    }
    written++;
    const res = libseccomp({ jobs: [{ oci: formatOciJson(profile), host: 'amd64', caps: [], kernel: '6.1', arches: ['x86_64'] }] }).results[0]!;
    const lib = built(res, `round ${round}: libseccomp refused ${formatOciJson(profile)}`).program;
    const resolved = resolvePolicy(p);
    const checks = p.rules.flatMap((x) => x.args);
    for (const name of ['read', 'write', 'openat', 'ioctl', 'socket', 'clone', 'mmap', 'kill', 'getpid']) {
      for (const a of [[], ...probeArgs(r, checks, 60)]) {
        const d = call(X86_64.auditArch, nr(name), a);
        const want = evaluatePolicy(resolved, d) >>> 0;
        const got = emulate(lib, d).value >>> 0;
        if (got !== want) {
          assert.unreachable(`round ${round} (SEED=${SEED}): ${name}(${a.join(', ')}): policy 0x${want.toString(16)}, libseccomp 0x${got.toString(16)}\n${formatOciJson(profile)}`);
        }
      }
    }
  }
  process.stdout.write(`  random policies through libseccomp: ${written} written and compared, ${refused} refused by policyToOci\n`);
  assert.ok(written >= 5, `${written} policies had an OCI form`);
});

// ---------------------------------------------------------------------------------------------
// Docker's default profile: compiles everywhere, and equals libseccomp on x86_64.

const MOBY = sharedFixture('moby-default.json');
const mobyTest = MOBY ? test : test.skip;

mobyTest("Docker's default profile converts and compiles for x86_64, x86_64+i386+x32 and aarch64", () => {
  const text = readFileSync(MOBY!, 'utf8');
  for (const arches of [['x86_64'], ['x86_64', 'i386', 'x32'], ['aarch64']]) {
    const { policy } = policyFromOci(text, { arches, kernel: '6.1', file: 'moby-default.json' });
    const resolved = resolvePolicy(policy);
    const prog = generate(resolved);
    assert.equal(verify(prog), [], `${arches}: the kernel would accept it`);
    // The compiled filter agrees with the evaluator on the profile's own syscalls.
    const r = rng(SEED);
    for (const ra of resolved.arches) {
      const checks = policy.rules.flatMap((x) => x.args);
      for (const nrv of probeNumbers(r, ra.arch, resolved)) {
        for (const args of [[], ...(ra.syscalls.get(nrv)?.rules.some((x) => x.args.length) ? probeArgs(r, checks, 20) : [])]) {
          const d = call(ra.arch.auditArch, nrv, args);
          assert.is(emulate(prog, d, { endian: ra.arch.endian }).value >>> 0, evaluatePolicy(resolved, d) >>> 0, `${arches} nr ${nrv}`);
        }
      }
    }
    assert.is(decide(resolved, 'read', [], resolved.arches[0]!.arch), ALLOW);
    assert.is(decide(resolved, 'mount', [], resolved.arches[0]!.arch), errno(1));
  }
});

const LIBSECCOMP = MOBY && needPythonSeccomp();
const libTest = LIBSECCOMP ? test : test.skip;

/** moby's name of an architecture, for the script's --host. */
const MOBY_HOST: Record<string, 'amd64' | 'arm64'> = { x86_64: 'amd64', aarch64: 'arm64' };

libTest("Docker's default profile decides like libseccomp (built as runc does) on x86_64 and x86_64+i386+x32", () => {
  const text = readFileSync(MOBY!, 'utf8');
  for (const arches of [['x86_64'], ['x86_64', 'i386', 'x32']] as const) {
    const { policy } = policyFromOci(text, { arches, kernel: '6.1' });
    const profileNames = [...new Set((JSON.parse(text) as { syscalls: { names: string[] }[] }).syscalls.flatMap((e) => e.names))];
    const lsr = libseccomp({
      jobs: [{ oci: text, host: MOBY_HOST[arches[0]]!, caps: DOCKER_DEFAULT_CAPS, kernel: '6.1', arches }],
      numbers: Object.fromEntries(arches.map((a) => [a, profileNames])),
    });
    const res = built(lsr.results[0]!, 'libseccomp refused the profile');
    const info = { skipped: res.skippedNames, numbers: lsr.numbers };
    const lib = res.program;
    const resolved = resolvePolicy(policy);
    const ours = generate(resolved);

    // Where the two may differ: names only one side knows (libseccomp 2.5 lacks newer syscalls;
    // our tables lack the x86_64 epoll_*_old placeholders, which the kernel does not implement).
    const mayDiffer = new Set<string>();
    for (const ra of resolved.arches) {
      const libKnows = info.numbers[ra.arch.name] ?? {};
      for (const n of new Set(policy.rules.flatMap((x) => x.syscalls))) {
        const x = syscallNumber(ra.arch, n);
        if (x !== undefined && (info.skipped.includes(n) || !(n in libKnows))) mayDiffer.add(`${ra.arch.name}:${(x | ra.arch.syscallBit) >>> 0}`);
      }
      for (const [n, x] of Object.entries(info.numbers[ra.arch.name] ?? {})) {
        if (syscallNumber(ra.arch, n) === undefined) mayDiffer.add(`${ra.arch.name}:${(x | ra.arch.syscallBit) >>> 0}`);
      }
    }

    const r = rng(SEED);
    let compared = 0;
    const differing = new Set<string>();
    let highNumbers = 0;
    let x32Width = 0;
    for (const ra of resolved.arches) {
      // Every number up to 1024 on the ABI (with its syscall bit), then the probe set's edges and neighbours.
      const numbers = new Set(probeNumbers(r, ra.arch, resolved));
      for (let n = 0; n < 1024; n++) numbers.add((n | ra.arch.syscallBit) >>> 0);
      for (const nrv of [...numbers].sort((x, y) => x - y)) {
        const own = ra.syscalls.get(nrv)?.rules.flatMap((x) => x.args) ?? [];
        for (const a of [[], ...(own.length ? probeArgs(r, own, 300) : [])]) {
          const d = call(ra.arch.auditArch, nrv, a);
          const want = emulate(lib, d).value >>> 0;
          const got = emulate(ours, d).value >>> 0;
          const ref = evaluatePolicy(resolved, d) >>> 0;
          assert.is(got, ref, 'compiled filter vs evaluator');
          compared++;
          if (got === want) continue;
          const owner = archOfCall(resolved, d.arch, d.nr);
          if (owner && mayDiffer.has(`${owner.arch.name}:${nrv}`)) {
            differing.add(`${owner.arch.name}:${nrv}`);
            continue;
          }
          // No syscall has a number from 0x80000000 up. libseccomp sends such numbers on
          // AUDIT_ARCH_X86_64 to the bad-arch action (it tests nr >= 0x40000000) except -1, which
          // gets the default; seccomp-ts goes by the x32 bit alone. Both deny the call.
          if (nrv >= 0x80000000 && got !== ALLOW && want !== ALLOW) {
            highNumbers++;
            continue;
          }
          // libseccomp treats x32 as a 32-bit ABI and compares only the low words of arguments;
          // seccomp-ts compares all 64 bits there (the kernel reads full registers; see src/arch).
          if (owner?.arch.name === 'x32' && evaluatePolicy(resolved, call(d.arch, d.nr, a.map((v) => v & 0xffffffffn))) >>> 0 === want) {
            x32Width++;
            continue;
          }
          assert.unreachable(`${arches}: ${ra.arch.name} nr 0x${nrv.toString(16)} args [${a.join(', ')}]: libseccomp 0x${want.toString(16)}, seccomp-ts 0x${got.toString(16)}`);
        }
      }
    }
    // Calls from an architecture neither filter lists.
    for (const other of ['aarch64', 'riscv64']) {
      const d = call(getArch(other).auditArch, 0);
      assert.is(emulate(ours, d).value >>> 0, emulate(lib, d).value >>> 0, `bad arch ${other}`);
    }
    assert.ok(compared > 2000 * resolved.arches.length, `${compared} decisions compared`);
    process.stdout.write(`  moby vs libseccomp (${arches.join('+')}): ${compared} decisions, ${differing.size} numbers differ (of ${mayDiffer.size} whose name only one side knows), ${highNumbers} on numbers from 0x80000000 (both deny), ${x32Width} on x32 arguments with a high word\n`);
  }
});

test.run();
