import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allSyscallNames, hostArch, syscallNumber } from '../../src/arch/index.js';
import { GROUP_DATA } from '../../src/policy/groups-data.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO } from '../../src/bpf/seccomp.js';

const ERRNO = (n: number) => (SECCOMP_RET_ERRNO | n) >>> 0;
import { GROUP_NAMES, expandGroup, parsePolicy, resolvePolicy, validatePolicy, type Policy, type ResolvedArch } from '../../src/policy/index.js';
import { getArch } from '../../src/arch/index.js';
import { catchPolicyError } from '../_util/errors.js';

const POLICY = parsePolicy(
  `defaultAction: kill_process
rules:
  - syscalls: [read, write, open, uname]
    action: allow
  - syscalls: [uname]
    action: errno(EPERM)
    args: [{ index: 0, op: eq, value: 0x1234 }]
`,
  { file: 'p.yaml' },
);

// Kernel facts (the syscall tables in arch/*/): read, write, open, uname per ABI; undefined = no such syscall.
const NUMBERS: [arch: string, read: number, write: number, open: number | undefined, uname: number][] = [
  ['x86_64', 0, 1, 2, 63],
  ['i386', 3, 4, 5, 122],
  ['x32', 0x40000000, 0x40000001, 0x40000002, 0x4000003f],
  ['aarch64', 63, 64, undefined, 160],
  ['s390x', 3, 4, 5, 122],
];

for (const [arch, read, write, open, uname] of NUMBERS) {
  test(`resolve on ${arch}: numbers as seccomp_data.nr shows them`, () => {
    const r = resolvePolicy(POLICY, { arches: [arch] });
    assert.is(r.arches.length, 1);
    const a = r.arches[0]!;
    assert.is(a.arch.name, arch);
    assert.is(a.defaultAction, POLICY.defaultAction);
    const nrs = new Map([...a.syscalls.values()].map((s) => [s.name, s.nr]));
    const want = new Map<string, number>([['read', read], ['write', write], ['uname', uname]]);
    if (open !== undefined) want.set('open', open);
    assert.equal(nrs, want);
    for (const [nr, s] of a.syscalls) assert.is(nr, s.nr);
    // uname has both rules, in policy order; read only the first.
    assert.equal(a.syscalls.get(uname)!.rules.map((x) => x.action), [SECCOMP_RET_ALLOW, (SECCOMP_RET_ERRNO | 1) >>> 0]);
    assert.equal(a.syscalls.get(read)!.rules.map((x) => x.origin), [POLICY.rules[0]]);
    // Only aarch64 lacks open: one warning naming the arch and the entry's position.
    if (open === undefined) {
      assert.equal(r.warnings.map((w) => [w.code, w.arch, w.pos?.line, w.pos?.column]), [['SYSCALL_NOT_ON_ARCH', 'aarch64', 3, 29]]);
      assert.match(r.warnings[0]!.message, /^p\.yaml:3:29: syscall 'open' does not exist on aarch64; skipped there$/);
    } else assert.equal(r.warnings, []);
    // 32-bit ABIs compare 32 bits only; 64-bit ABIs (x32 included) keep the check as written.
    const check = a.syscalls.get(uname)!.rules[1]!.args[0]!;
    assert.is(check.bits, getArch(arch).bits === 32 ? 32 : 64);
    assert.is(check.value, 0x1234n);
  });
}

test('the x32 numbers carry the x32 bit, and x86_64 numbers never do', () => {
  const r = resolvePolicy(parsePolicy('defaultAction: allow\nrules: [{syscalls: ["@basic-io", "@signal"], action: log}]\n'), { arches: ['x86_64', 'x32'] });
  const [x64, x32] = r.arches as [ResolvedArch, ResolvedArch];
  assert.ok(x32.syscalls.size > 10);
  for (const nr of x32.syscalls.keys()) assert.ok((nr & 0x40000000) !== 0, String(nr));
  for (const nr of x64.syscalls.keys()) assert.ok((nr & 0x40000000) === 0, String(nr));
});

test('strict: an unknown-on-one-arch syscall is an error; the option overrides the file', () => {
  const e = catchPolicyError(() => resolvePolicy(POLICY, { arches: ['x86_64', 'aarch64'], strict: true }));
  assert.is(e.code, 'SYSCALL_NOT_ON_ARCH');
  assert.is(e.message, "p.yaml:3:29: syscall 'open' does not exist on aarch64 (strict mode)");
  const strictFile = parsePolicy('defaultAction: allow\nstrict: true\nrules: [{syscalls: [open], action: log}]\n');
  assert.is(catchPolicyError(() => resolvePolicy(strictFile, { arches: ['aarch64'] })).code, 'SYSCALL_NOT_ON_ARCH');
  assert.is(resolvePolicy(strictFile, { arches: ['aarch64'], strict: false }).warnings.length, 1);
});

test('groups expand per arch; missing members are skipped silently; one rule stays one rule', () => {
  const p = parsePolicy('defaultAction: allow\nrules: [{syscalls: [read, "@basic-io", lseek], action: log}]\n');
  const r = resolvePolicy(p, { arches: ['x86_64', 'i386', 'aarch64'] });
  assert.equal(r.warnings, []);
  const names = (a: ResolvedArch) => new Set([...a.syscalls.values()].map((s) => s.name));
  const [x64, i386, a64] = r.arches as [ResolvedArch, ResolvedArch, ResolvedArch];
  assert.ok(names(i386).has('_llseek'));
  assert.not.ok(names(x64).has('_llseek'));
  assert.ok(names(a64).has('lseek'));
  assert.not.ok(names(a64).has('dup2')); // aarch64 has dup3 only
  for (const a of r.arches) {
    assert.equal(names(a), new Set(expandGroup('@basic-io', a.arch)));
    for (const s of a.syscalls.values()) assert.is(s.rules.length, 1, `${a.arch.name} ${s.name}`);
  }
});

test('every built-in group member is a syscall on some architecture (or a group)', () => {
  assert.ok(GROUP_NAMES.length >= 5);
  for (const [g, def] of Object.entries(GROUP_DATA)) {
    assert.ok(GROUP_NAMES.includes(g), g);
    for (const m of def.members) assert.ok(m.startsWith('@') ? GROUP_NAMES.includes(m) : allSyscallNames().has(m), `${g}: ${m}`);
  }
});

test('32-bit ABIs: a value wider than 32 bits is an error naming the arch; 64-bit ABIs accept it', () => {
  const p = parsePolicy('defaultAction: allow\nrules:\n  - syscalls: [mmap]\n    action: log\n    args: [{index: 1, op: masked_eq, mask: 0x100000000, value: 0}]\n', { file: 'w.yaml' });
  assert.is(resolvePolicy(p, { arches: ['x86_64', 'aarch64', 'x32'] }).warnings.length, 0);
  for (const arch of ['i386', 'arm', 'mipsel']) {
    const e = catchPolicyError(() => resolvePolicy(p, { arches: [arch] }));
    assert.is(e.code, 'VALUE_TOO_WIDE');
    assert.is(e.message, `w.yaml:5:12: argument 1: mask 0x100000000 does not fit in 32 bits, but ${arch} passes 32-bit arguments, so the check cannot mean what it says there`);
  }
});

test('architecture selection: option over file over host; aliases; duplicates; byte order', () => {
  const p = parsePolicy('defaultAction: allow\narchitectures: [aarch64]\n');
  assert.equal(resolvePolicy(p).arches.map((a) => a.arch.name), ['aarch64']);
  assert.equal(resolvePolicy(p, { arches: ['amd64', 'x86_64', 'ia32'] }).arches.map((a) => a.arch.name), ['x86_64', 'i386']);
  assert.equal(resolvePolicy(p, { arches: ['ppc64', 's390x'] }).arches.map((a) => a.arch.name), ['ppc64', 's390x']);
  const host = hostArch();
  const noArch = parsePolicy('defaultAction: allow\n');
  if (host) assert.equal(resolvePolicy(noArch).arches.map((a) => a.arch), [host]);
  else assert.is(catchPolicyError(() => resolvePolicy(noArch)).code, 'ARCH');
  const e = catchPolicyError(() => resolvePolicy(p, { arches: ['x86_64', 'ppc64'] }));
  assert.is(e.code, 'ARCH');
  assert.match(e.message, /different byte order: x86_64 \(little-endian\), ppc64 \(big-endian\)/);
  const u = catchPolicyError(() => resolvePolicy(p, { arches: ['aarch46'] }));
  assert.is(u.code, 'ARCH');
  assert.match(u.message, /unknown architecture 'aarch46' \(did you mean aarch64/);
  assert.is(catchPolicyError(() => resolvePolicy(p, { arches: [] })).code, 'ARCH');
});

test('hand-built policies are checked too: unknown syscall or group', () => {
  const base = validatePolicy({ defaultAction: 'allow' });
  const withRule = (syscalls: string[]): Policy => ({ ...base, rules: [{ syscalls, action: SECCOMP_RET_ALLOW, args: [] }] });
  const e = catchPolicyError(() => resolvePolicy(withRule(['reed']), { arches: ['x86_64'] }));
  assert.is(e.code, 'UNKNOWN_SYSCALL');
  assert.match(e.message, /did you mean read/);
  assert.is(catchPolicyError(() => resolvePolicy(withRule(['@nope']), { arches: ['x86_64'] })).code, 'UNKNOWN_GROUP');
});

test('MIPS: errno data is translated to the MIPS numbers; other ABIs keep the generic ones', () => {
  const p = parsePolicy('defaultAction: errno(ENOSYS)\nbadArchAction: errno(ENOSYS)\nrules:\n  - {syscalls: [read], action: errno(EPERM)}\n  - {syscalls: [write], action: {errno: EDQUOT}}\n  - {syscalls: [close], action: errno(58)}\n');
  // Kernel facts: ENOSYS is 38 generic / 89 MIPS, EDQUOT 122 / 1133, EPERM 1 on both; 58 has no generic name.
  const want: Record<string, [number, number, number, number]> = {
    x86_64: [38, 1, 122, 58],
    mips64el: [89, 1, 1133, 58],
    mipsel: [89, 1, 1133, 58],
  };
  for (const [arch, [def, read, write, close]] of Object.entries(want)) {
    const r = resolvePolicy(p, { arches: [arch] });
    const a = r.arches[0]!;
    const by = (name: string) => [...a.syscalls.values()].find((s) => s.name === name)!.rules[0]!.action;
    assert.equal([a.defaultAction, by('read'), by('write'), by('close')], [def, read, write, close].map((n) => ERRNO(n)), arch);
    assert.is(r.badArchAction, ERRNO(38)); // the caller's ABI is unknown: as written
    assert.equal(r.warnings, []);
  }
});

test('resolved policies are frozen and keep the source', () => {
  const r = resolvePolicy(POLICY, { arches: ['x86_64'] });
  assert.ok(Object.isFrozen(r) && Object.isFrozen(r.arches) && Object.isFrozen(r.arches[0]) && Object.isFrozen(r.warnings));
  assert.is(r.source, 'p.yaml');
  assert.is(r.badArchAction, POLICY.badArchAction);
  assert.is(syscallNumber('x86_64', 'uname'), 63);
});

test.run();
