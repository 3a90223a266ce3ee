import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { getArch, syscallNumber } from '../../src/arch/index.js';
import {
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
} from '../../src/bpf/seccomp.js';
import { evaluatePolicy, explainDecision, formatAction, loadPolicy, parsePolicy, resolvePolicy, type ArgOp, type ResolvedPolicy } from '../../src/policy/index.js';
import { ROOT } from '../_util/tools.js';

const AUDIT_X86_64 = 0xc000003e;
const AUDIT_I386 = 0x40000003;
const AUDIT_AARCH64 = 0xc00000b7;
const X32_BIT = 0x40000000;
const ERRNO = (n: number) => (SECCOMP_RET_ERRNO | n) >>> 0;
const KILL = SECCOMP_RET_KILL_PROCESS >>> 0;

function call(resolved: ResolvedPolicy, archName: string, syscall: string | number, args: bigint[] = []) {
  const arch = getArch(archName);
  const nr = typeof syscall === 'number' ? syscall : syscallNumber(arch, syscall)!;
  return evaluatePolicy(resolved, { arch: arch.auditArch, nr, args, instructionPointer: 0n });
}

const P = parsePolicy(`defaultAction: errno(ENOSYS)
badArchAction: trap(7)
rules:
  - syscalls: [uname]
    action: allow
  - syscalls: [uname]
    action: errno(EPERM)
    args: [{ index: 0, op: eq, value: 1 }]
  - syscalls: [uname]
    action: kill_thread
    args: [{ index: 0, op: eq, value: 2 }]
  - syscalls: [uname]
    action: errno(EACCES)
    args: [{ index: 0, op: ge, value: 2 }]
  - syscalls: [getpid]
    action: errno(EPERM)
    args: [{ index: 0, op: eq, value: 5 }, { index: 1, op: eq, value: 6 }]
  - syscalls: [getpid]
    action: log
  - syscalls: [getpid]
    action: errno(EACCES)
    args: [{ index: 0, op: eq, value: 5 }]
  - syscalls: [ioctl]
    action: allow
    args: [{ index: 1, op: eq, value: 0x5413, bits: 32 }]
  - syscalls: [ioctl]
    action: trace(3)
    args: [{ index: 1, op: eq, value: 0x5401 }]
`);

const ENOSYS = ERRNO(38);
const TRAP7 = (SECCOMP_RET_TRAP | 7) >>> 0;

// [what, arches of the policy, call arch, syscall, args, expected]
const CASES: [string, string[], string, string | number, bigint[], number][] = [
  ['unconditional rule', ['x86_64'], 'x86_64', 'uname', [0n], SECCOMP_RET_ALLOW],
  ['most restrictive of two holding rules (errno beats allow)', ['x86_64'], 'x86_64', 'uname', [1n], ERRNO(1)],
  ['kill_thread beats errno and allow', ['x86_64'], 'x86_64', 'uname', [2n], SECCOMP_RET_KILL_THREAD],
  ['errno(EACCES) from ge when kill_thread does not hold', ['x86_64'], 'x86_64', 'uname', [3n], ERRNO(13)],
  ['AND: both checks needed, else the other rules', ['x86_64'], 'x86_64', 'getpid', [5n, 7n], ERRNO(13)],
  ['tie in rank: the first listed rule wins', ['x86_64'], 'x86_64', 'getpid', [5n, 6n], ERRNO(1)],
  ['errno beats log', ['x86_64'], 'x86_64', 'getpid', [5n], ERRNO(13)],
  ['no check holds beyond the unconditional log', ['x86_64'], 'x86_64', 'getpid', [4n], SECCOMP_RET_LOG],
  ['syscall without rules: default', ['x86_64'], 'x86_64', 'read', [], ENOSYS],
  ['rules exist but none holds: default', ['x86_64'], 'x86_64', 'ioctl', [1n, 0x5402n], ENOSYS],
  ['bits 32 ignores the high half', ['x86_64'], 'x86_64', 'ioctl', [1n, 0xffffffff00005413n], SECCOMP_RET_ALLOW],
  ['bits 64 compares the high half', ['x86_64'], 'x86_64', 'ioctl', [1n, 0x100005401n], ENOSYS],
  ['bits 64, exact', ['x86_64'], 'x86_64', 'ioctl', [1n, 0x5401n], (SECCOMP_RET_TRACE | 3) >>> 0],
  ['32-bit ABI: every check compares 32 bits', ['i386'], 'i386', 'ioctl', [1n, 0x100005401n], (SECCOMP_RET_TRACE | 3) >>> 0],
  ['missing arguments are 0', ['x86_64'], 'x86_64', 'uname', [], SECCOMP_RET_ALLOW],
  ['number unknown to the arch: default', ['x86_64'], 'x86_64', 4000, [], ENOSYS],
  ['arch not in the policy: badArchAction', ['x86_64'], 'aarch64', 'uname', [], TRAP7],
  ['i386 call into an x86_64-only policy: badArchAction', ['x86_64'], 'i386', 'uname', [], TRAP7],
  ['x32 call (x32 bit) into an x86_64-only policy: badArchAction', ['x86_64'], 'x32', 'uname', [], TRAP7],
  ['x32 call into an x86_64+x32 policy: x32 rules', ['x86_64', 'x32'], 'x32', 'uname', [1n], ERRNO(1)],
  ['x86_64 call into an x32-only policy: badArchAction', ['x32'], 'x86_64', 'uname', [], TRAP7],
  ['the x32 bit alone decides the ABI: 63|bit is x32 uname', ['x86_64', 'x32'], 'x86_64', 63 | X32_BIT, [1n], ERRNO(1)],
  ['x86_64 number with the x32 bit, x32 listed: x32 default', ['x86_64', 'x32'], 'x86_64', 4000 | X32_BIT, [], ENOSYS],
  ['nr -1 on x86_64, x32 not listed: badArchAction (it has the x32 bit)', ['x86_64'], 'x86_64', 0xffffffff, [], TRAP7],
  ['nr -1 on x86_64, x32 listed: x32 default', ['x86_64', 'x32'], 'x86_64', 0xffffffff, [], ENOSYS],
  ['nr -1 on i386: default', ['i386'], 'i386', 0xffffffff, [], ENOSYS],
  ['negative JS number -1 is the same as 0xffffffff', ['x86_64', 'x32'], 'x86_64', -1, [], ENOSYS],
  ['MIPS returns the MIPS errno number (ENOSYS = 89)', ['mips64el'], 'mips64el', 'read', [], ERRNO(89)],
  ['aarch64 is its own ABI', ['x86_64', 'aarch64'], 'aarch64', 'uname', [2n], SECCOMP_RET_KILL_THREAD],
];

for (const [what, arches, arch, syscall, args, want] of CASES) {
  test(`evaluate: ${what}`, () => {
    const r = resolvePolicy(P, { arches });
    const got = call(r, arch, syscall, args);
    assert.is(formatAction(got), formatAction(want));
    assert.is(got, want);
  });
}

test('an unknown AUDIT_ARCH value gets badArchAction', () => {
  const r = resolvePolicy(P, { arches: ['x86_64'] });
  assert.is(evaluatePolicy(r, { arch: 0x12345678, nr: 0, args: [], instructionPointer: 0n }), TRAP7);
  assert.is(evaluatePolicy(r, { arch: AUDIT_AARCH64, nr: 0, args: [], instructionPointer: 0n }), TRAP7);
  assert.is(evaluatePolicy(r, { arch: AUDIT_I386, nr: 122, args: [], instructionPointer: 0n }), TRAP7);
  assert.is(evaluatePolicy(r, { arch: AUDIT_X86_64, nr: 63, args: [], instructionPointer: 0n }), SECCOMP_RET_ALLOW);
});

// Each operator against a value with a non-zero high word, probed below, at and above it.
const V = 0x100000000n;
const OPS: [ArgOp, boolean, boolean, boolean][] = [
  ['eq', false, true, false],
  ['ne', true, false, true],
  ['lt', true, false, false],
  ['le', true, true, false],
  ['gt', false, false, true],
  ['ge', false, true, true],
];
for (const [op, below, at, above] of OPS) {
  test(`operator ${op}: unsigned 64-bit comparison`, () => {
    const p = parsePolicy(`defaultAction: allow\nrules: [{syscalls: [read], action: kill, args: [{index: 3, op: ${op}, value: ${V}}]}]\n`);
    const r = resolvePolicy(p, { arches: ['x86_64'] });
    const holds = (a: bigint) => call(r, 'x86_64', 'read', [0n, 0n, 0n, a]) === KILL;
    assert.equal([holds(V - 1n), holds(V), holds(V + 1n)], [below, at, above]);
    // Unsigned: the largest value is above V, never "negative".
    assert.is(holds((1n << 64n) - 1n), above);
    assert.is(holds(-1n), above); // a negative BigInt argument is read as its u64 bit pattern
  });
}

test('masked_eq: (arg & mask) == value, 64-bit and 32-bit', () => {
  const p = parsePolicy(`defaultAction: allow
rules:
  - { syscalls: [clone], action: kill, args: [{index: 0, op: masked_eq, mask: "0x8000000010000000", value: "0x8000000000000000"}] }
  - { syscalls: [read], action: kill, args: [{index: 0, op: masked_eq, mask: 0xf0, value: 0x30, bits: 32}] }
`);
  const r = resolvePolicy(p, { arches: ['x86_64'] });
  const kills = (sc: string, a: bigint) => call(r, 'x86_64', sc, [a]) === KILL;
  assert.ok(kills('clone', 0x8000000000000000n));
  assert.ok(kills('clone', 0x80000000ef000fffn));
  assert.not.ok(kills('clone', 0x8000000010000000n));
  assert.not.ok(kills('clone', 0n));
  assert.ok(kills('read', 0x35n));
  assert.ok(kills('read', 0xabcdef0000000035n));
  assert.not.ok(kills('read', 0x45n));
});

test('explainDecision names the reason, the ABI and the winning rule', () => {
  const r = resolvePolicy(P, { arches: ['x86_64', 'x32'] });
  const d = explainDecision(r, { arch: AUDIT_X86_64, nr: 63 | X32_BIT, args: [2n], instructionPointer: 0n });
  assert.is(d.reason, 'rule');
  assert.is(d.arch?.arch.name, 'x32');
  assert.is(d.syscall?.name, 'uname');
  assert.is(d.rule?.origin, P.rules[2]);
  assert.is(explainDecision(r, { arch: AUDIT_AARCH64, nr: 0, args: [], instructionPointer: 0n }).reason, 'bad_arch');
  assert.is(explainDecision(r, { arch: AUDIT_X86_64, nr: 0, args: [], instructionPointer: 0n }).reason, 'default');
});

// The tests written in the example policies hold under the reference semantics.
const EXAMPLES = join(ROOT, 'examples');
for (const f of readdirSync(EXAMPLES).filter((x) => /\.(ya?ml|json)$/.test(x)).sort()) {
  test(`example ${f}: its tests hold`, () => {
    const p = loadPolicy(join(EXAMPLES, f));
    const r = resolvePolicy(p, p.architectures ? {} : { arches: ['x86_64'] });
    let checked = 0;
    for (const t of p.tests) {
      for (const a of r.arches) {
        if (t.arch && t.arch !== a.arch.name) continue;
        const nr = syscallNumber(a.arch, t.syscall);
        if (nr === undefined) continue; // the syscall does not exist on this ABI
        const got = evaluatePolicy(r, { arch: a.arch.auditArch, nr, args: t.args ?? [], instructionPointer: t.ip ?? 0n });
        assert.is(formatAction(got), formatAction(t.expect), `${f}:${t.pos?.line} ${t.syscall} on ${a.arch.name}`);
        checked++;
      }
    }
    assert.ok(checked >= p.tests.length, `${checked} checks for ${p.tests.length} tests`);
  });
}

test.run();
