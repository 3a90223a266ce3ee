/**
 * systemd's SystemCallFilter= / SystemCallErrorNumber= / SystemCallArchitectures=: reading lines and
 * unit files as systemd combines them, one clear error per bad line, and writing a Policy back as
 * lines that read back to the same decisions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch, syscallNumber, type Arch } from '../../src/arch/index.js';
import { encodeAction } from '../../src/bpf/seccomp.js';
import { PolicyError } from '../../src/policy/errors.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { resolvePolicy } from '../../src/policy/resolve.js';
import { expandSystemdGroup } from '../../src/policy/systemd-groups.js';
import { SYSTEMD_IMPLICIT_ALLOW, policyFromSystemd, policyToSystemd } from '../../src/policy/systemd.js';
import type { Policy } from '../../src/policy/types.js';
import { call, probeNumbers } from '../_util/policies.js';
import { ROOT, rng, testSeed } from '../_util/tools.js';

const DIR = join(ROOT, 'test', 'fixtures', 'formats', 'systemd');
const SEED = testSeed('systemd');
const X86 = ['x86_64', 'i386', 'x32'];
const ALLOW = encodeAction('allow');
const KILL = encodeAction('kill_process');
const errno = (n: number) => encodeAction('errno', n);
const read = (lines: string | string[], arches: string[] = X86) => policyFromSystemd(lines, { arches });

/** The decision for syscall `name` on `arch` (the policy's first architecture by default). */
function decide(p: Policy, name: string, arch?: Arch): number {
  const r = resolvePolicy(p);
  const a = arch ?? r.arches[0]!.arch;
  const nr = syscallNumber(a, name);
  if (nr === undefined) throw new Error(`${name} is not a syscall on ${a.name}`);
  return evaluatePolicy(r, call(a.auditArch, (nr | a.syscallBit) >>> 0)) >>> 0;
}

test('allow list: default deny (kill), listed and implicit calls allowed', () => {
  const p = read('SystemCallFilter=@basic-io getpid');
  assert.is(p.defaultAction, KILL);
  for (const n of ['read', 'write', 'getpid', 'execve', 'exit_group', 'clock_gettime', 'rt_sigreturn']) assert.is(decide(p, n), ALLOW, n);
  for (const n of ['mount', 'openat', 'socket']) assert.is(decide(p, n), KILL, n);
  // On every local ABI, with names the ABI lacks skipped there.
  const i386 = getArch('i386');
  assert.is(decide(p, '_llseek', i386), ALLOW);
  assert.is(decide(p, 'sigreturn', i386), ALLOW);
  assert.equal(resolvePolicy(p).warnings, [], 'no warnings for group members an ABI lacks');
});

test('deny list: listed calls get the deny action, the rest are allowed', () => {
  const p = read('SystemCallFilter=~@mount @swap');
  assert.is(p.defaultAction, ALLOW);
  for (const n of ['mount', 'umount2', 'pivot_root', 'swapon']) assert.is(decide(p, n), KILL, n);
  for (const n of ['read', 'openat', 'execve']) assert.is(decide(p, n), ALLOW, n);
});

test('SystemCallErrorNumber= sets the deny action; kill restores kill; per-entry errno wins', () => {
  const cases: [string[], string, number][] = [
    [['SystemCallFilter=@basic-io', 'SystemCallErrorNumber=EPERM'], 'mount', errno(1)],
    [['SystemCallErrorNumber=EACCES', 'SystemCallFilter=~mount'], 'mount', errno(13)],
    [['SystemCallErrorNumber=38', 'SystemCallFilter=~mount'], 'mount', errno(38)],
    [['SystemCallErrorNumber=EPERM', 'SystemCallErrorNumber=kill', 'SystemCallFilter=~mount'], 'mount', KILL],
    [['SystemCallErrorNumber=EPERM', 'SystemCallErrorNumber=', 'SystemCallFilter=~mount'], 'mount', KILL],
    [['SystemCallFilter=~mount ptrace:EACCES'], 'ptrace', errno(13)],
    [['SystemCallFilter=~mount ptrace:EACCES'], 'mount', KILL],
    [['SystemCallErrorNumber=EPERM', 'SystemCallFilter=~mount ptrace:ENOSYS'], 'ptrace', errno(38)],
    [['SystemCallErrorNumber=EPERM', 'SystemCallFilter=~mount ptrace:ENOSYS'], 'mount', errno(1)],
    [['SystemCallFilter=~@debug:EPERM'], 'perf_event_open', errno(1)],
  ];
  for (const [lines, name, want] of cases) assert.is(decide(read(lines), name), want, `${lines.join(' | ')}: ${name}`);
});

test('several lines: the first decides the mode, later ones add or remove, empty resets', () => {
  const cases: [string[], Record<string, number>][] = [
    [['SystemCallFilter=@system-service', 'SystemCallFilter=~@privileged @resources'], { read: ALLOW, setuid: KILL, setrlimit: KILL, chown: KILL, mount: KILL, getpid: ALLOW }],
    [['SystemCallFilter=@system-service', 'SystemCallFilter=~@privileged', 'SystemCallFilter=@chown'], { chown: ALLOW, setuid: KILL }],
    [['SystemCallFilter=read', 'SystemCallFilter=~execve'], { read: ALLOW, execve: KILL, exit_group: ALLOW }],
    [['SystemCallFilter=~@mount', 'SystemCallFilter=chroot'], { mount: KILL, chroot: ALLOW, read: ALLOW }],
    [['SystemCallFilter=~@mount', 'SystemCallFilter=~ptrace'], { mount: KILL, ptrace: KILL }],
    [['SystemCallFilter=~@mount', 'SystemCallFilter=', 'SystemCallFilter=read'], { mount: KILL, read: ALLOW, openat: KILL }],
    [['SystemCallFilter=~@mount', 'SystemCallFilter=', 'SystemCallFilter=~ptrace'], { mount: ALLOW, ptrace: KILL }],
    [['SystemCallFilter=~ mount'], { mount: KILL, read: ALLOW }],
  ];
  for (const [lines, want] of cases) {
    const p = read(lines);
    for (const [name, action] of Object.entries(want)) assert.is(decide(p, name), action, `${lines.join(' | ')}: ${name}`);
  }
});

test('SYSTEMD_IMPLICIT_ALLOW holds what systemd.exec(5) names', () => {
  for (const n of ['execve', 'exit', 'exit_group', 'getrlimit', 'rt_sigreturn', 'sigreturn', 'clock_gettime', 'gettimeofday', 'nanosleep', 'clock_nanosleep', 'time']) {
    assert.ok(SYSTEMD_IMPLICIT_ALLOW.includes(n), n);
  }
  assert.equal([...SYSTEMD_IMPLICIT_ALLOW], expandSystemdGroup('@default'));
});

test('SystemCallArchitectures=: native, systemd names, merged lines; other ABIs killed', () => {
  const cases: [string[], string[], string[]][] = [
    [['SystemCallArchitectures=native'], X86, ['x86_64']],
    [['SystemCallArchitectures=native x86'], X86, ['x86_64', 'i386']],
    [['SystemCallArchitectures=x86-64', 'SystemCallArchitectures=x32'], X86, ['x86_64', 'x32']],
    [['SystemCallArchitectures=x86', 'SystemCallArchitectures=', 'SystemCallArchitectures=native'], X86, ['x86_64']],
    [['SystemCallArchitectures=native'], ['aarch64', 'arm'], ['aarch64']],
    [['SystemCallArchitectures=arm64 arm'], ['aarch64'], ['aarch64', 'arm']],
    [[], ['aarch64', 'arm'], ['aarch64', 'arm']],
    [[], ['riscv64'], ['riscv64']],
  ];
  for (const [lines, local, want] of cases) {
    const p = read(['SystemCallFilter=~mount', ...lines], local);
    assert.equal(p.architectures, want, `${lines.join(' | ')} on ${local}`);
    assert.is(p.badArchAction, KILL);
  }
  const native = read(['SystemCallArchitectures=native', 'SystemCallFilter=~mount']);
  assert.is(evaluatePolicy(resolvePolicy(native), call(getArch('i386').auditArch, 3)) >>> 0, KILL, 'i386 calls are killed');
});

test('unit files: sections, comments, continuations; other keys and sections ignored', () => {
  const web = policyFromSystemd(readFileSync(join(DIR, 'web.service'), 'utf8'), { file: 'web.service', arches: X86 });
  assert.equal(web.architectures, ['x86_64']);
  assert.is(web.defaultAction, errno(1));
  assert.is(web.source, 'web.service');
  assert.is(web.rules[0]!.pos?.line, 12, 'the rule points at the first SystemCallFilter= line');
  for (const [n, want] of [['read', ALLOW], ['openat', ALLOW], ['socket', ALLOW], ['setuid', errno(1)], ['mount', errno(1)], ['setrlimit', errno(1)], ['reboot', errno(1)]] as const) {
    assert.is(decide(web, n), want, n);
  }
  assert.equal(resolvePolicy(web).warnings, []);
  const deny = policyFromSystemd(readFileSync(join(DIR, 'deny.service'), 'utf8'), { file: 'deny.service', arches: X86 });
  for (const [n, want] of [['mount', KILL], ['chroot', ALLOW], ['ptrace', errno(1)], ['process_vm_readv', errno(13)], ['settimeofday', KILL], ['read', ALLOW]] as const) {
    assert.is(decide(deny, n), want, n);
  }
  // The same lines given as an array.
  const lines = readFileSync(join(DIR, 'deny.service'), 'utf8').split('\n');
  assert.equal(policyFromSystemd(lines, { file: 'deny.service', arches: X86 }), deny);
});

test('bad lines: one PolicyError with line:column each', () => {
  const blocks = readFileSync(join(DIR, 'bad.txt'), 'utf8').split(/^---$/m);
  const cases = blocks.map((b) => b.replace(/^#.*\n/, '').replace(/^\n/, ''));
  assert.ok(cases.length >= 14);
  for (const c of cases) {
    const [head, ...body] = c.split('\n');
    const m = /^([A-Z_]+) (\d+:\d+) (.*)$/.exec(head!);
    assert.ok(m, `case header '${head}'`);
    const [, code, lc, fragment] = m!;
    try {
      policyFromSystemd(body.join('\n'), { file: 'bad.service', arches: X86 });
      assert.unreachable(`no error for ${body.join(' | ')}`);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      assert.is(e.code, code, e.message);
      assert.ok(e.message.startsWith(`bad.service:${lc}: `), `position of '${e.message}' (want ${lc})`);
      assert.ok(e.message.includes(fragment!), `'${e.message}' should contain '${fragment}'`);
      assert.not.ok(e.message.includes('\n'));
    }
  }
});

/** Same decisions on every probe number of every architecture of `a`. */
function sameDecisions(a: Policy, b: Policy, label: string): number {
  const ra = resolvePolicy(a);
  const rb = resolvePolicy(b);
  const r = rng(SEED);
  let n = 0;
  for (const arch of ra.arches) {
    for (const nr of probeNumbers(r, arch.arch, ra)) {
      const d = call(arch.arch.auditArch, nr);
      const x = evaluatePolicy(ra, d) >>> 0;
      const y = evaluatePolicy(rb, d) >>> 0;
      if (x !== y) assert.unreachable(`${label}: ${arch.arch.name} nr 0x${nr.toString(16)}: 0x${x.toString(16)} vs 0x${y.toString(16)}`);
      n++;
    }
  }
  return n;
}

test('round trip: policyToSystemd -> policyFromSystemd gives the same decisions', () => {
  const policies: [string, Policy][] = [
    ['web.service', policyFromSystemd(readFileSync(join(DIR, 'web.service'), 'utf8'), { arches: X86 })],
    ['deny.service', policyFromSystemd(readFileSync(join(DIR, 'deny.service'), 'utf8'), { arches: X86 })],
    ['errno deny list', read(['SystemCallErrorNumber=EPERM', 'SystemCallFilter=~@mount @debug'])],
    ['allow all but implicit', read(['SystemCallFilter=read write', 'SystemCallFilter=~execve time'], ['aarch64', 'arm'])],
    [
      'hand-written allow list',
      {
        defaultAction: errno(38),
        badArchAction: KILL,
        architectures: ['x86_64'],
        rules: [
          { syscalls: ['@basic-io', '@signal', 'exit_group'], action: ALLOW, args: [] },
          { syscalls: ['write'], action: errno(38), args: [] },
        ],
        tests: [],
      },
    ],
    ['empty deny list', { defaultAction: ALLOW, badArchAction: KILL, rules: [], tests: [] }],
    ['nothing allowed', { defaultAction: KILL, badArchAction: KILL, architectures: ['riscv64'], rules: [], tests: [] }],
  ];
  for (const [label, p] of policies) {
    const lines = policyToSystemd(p);
    const back = policyFromSystemd(lines, { arches: p.architectures ? [...p.architectures] : undefined });
    const n = sameDecisions(p, back, label);
    assert.ok(n > 500, `${label}: ${n} decisions`);
    assert.ok(lines.every((l) => !l.includes('\n')));
  }
  const out = policyToSystemd(read(['SystemCallFilter=~@mount ptrace:EACCES'], ['x86_64']));
  assert.ok(out.includes('SystemCallArchitectures=x86-64'), out.join('\n'));
  assert.ok(out.some((l) => l.startsWith('SystemCallFilter=~') && l.includes('ptrace:EACCES') && l.includes(' mount')), out.join('\n'));
});

test('policyToSystemd refuses what systemd cannot express, with the reason', () => {
  const base = { badArchAction: KILL, architectures: ['x86_64'] as const, tests: [] };
  const cases: [string, Policy][] = [
    ['checks arguments', { ...base, defaultAction: KILL, rules: [{ syscalls: ['ioctl'], action: ALLOW, args: [{ index: 0, op: 'eq', value: 1n, bits: 64 }] }] }],
    ['gets a trap action', { ...base, defaultAction: ALLOW, rules: [{ syscalls: ['ptrace'], action: encodeAction('trap'), args: [] }] }],
    ['different deny action', { ...base, defaultAction: KILL, rules: [{ syscalls: ['ptrace'], action: errno(1), args: [] }] }],
    ['default action log', { ...base, defaultAction: encodeAction('log'), rules: [] }],
    ['bad-architecture action', { ...base, badArchAction: errno(1), defaultAction: ALLOW, rules: [] }],
  ];
  for (const [why, p] of cases) {
    assert.throws(() => policyToSystemd(p), (e: unknown) => e instanceof PolicyError && e.message.includes(why), why);
  }
});

test.run();
