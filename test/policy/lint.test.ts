import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkPolicy } from '../../src/policy/check.js';
import { LINT_RULES } from '../../src/policy/lint-data.js';
import { checksSatisfiable, formatFinding, lintPolicy, nextMasked, type Finding } from '../../src/policy/lint.js';
import { parsePolicy } from '../../src/policy/parse.js';
import { resolvePolicy } from '../../src/policy/resolve.js';
import type { ArgCheck, ArgOp } from '../../src/policy/types.js';
import { rng, testSeed } from '../_util/tools.js';
import { syscallTable } from '../../src/arch/index.js';

const FILE = 'p.yaml';

function lint(yaml: string, opts: { for?: 'bwrap'; instructionCount?: number } = {}): Finding[] {
  const policy = parsePolicy(yaml, { file: FILE });
  return lintPolicy(policy, resolvePolicy(policy), opts);
}

interface Case {
  rule: string;
  /** What the policy shows. */
  what: string;
  bad: string;
  good: string;
  /** The line the finding points at in `bad`. */
  line?: number;
  /** A word the message must contain. */
  says?: string;
  for?: 'bwrap';
}

// One row per rule (some rules have several). `bad` must trigger `rule`; `good` must not.
const CASES: Case[] = [
  {
    rule: 'denylist-bypass', what: 'read denied, pread64 & co. allowed',
    bad: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [read]\n    action: kill_process\n`,
    good: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [read, pread64, readv, preadv, preadv2, io_uring_setup, io_uring_enter]\n    action: kill_process\n`,
    line: 4, says: 'pread64, readv, preadv, preadv2',
  },
  {
    rule: 'denylist-bypass', what: 'whole read family denied, io_uring allowed',
    bad: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [read, pread64, readv, preadv, preadv2]\n    action: kill_process\n`,
    good: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [read, pread64, readv, preadv, preadv2]\n    action: kill_process\n  - syscalls: [io_uring_setup, io_uring_enter]\n    action: kill_process\n`,
    line: 4, says: 'io_uring',
  },
  {
    rule: 'denylist-bypass', what: 'execve denied, execveat allowed',
    bad: `defaultAction: allow\narchitectures: [aarch64]\nrules:\n  - syscalls: [execve]\n    action: kill_process\n`,
    good: `defaultAction: allow\narchitectures: [aarch64]\nrules:\n  - syscalls: [execve, execveat]\n    action: kill_process\n`,
    line: 4, says: 'execveat',
  },
  {
    rule: 'denylist-bypass', what: 'only in default-allow policies: an allowlist refusing clone3 with ENOSYS is fine',
    bad: `defaultAction: log\narchitectures: [x86_64]\nrules:\n  - syscalls: [clone3]\n    action: errno(ENOSYS)\n`,
    good: `defaultAction: errno(EPERM)\narchitectures: [x86_64]\nrules:\n  - syscalls: [clone, fork]\n    action: allow\n  - syscalls: [clone3]\n    action: errno(ENOSYS)\n`,
    line: 4, says: 'clone, fork, vfork',
  },
  {
    rule: 'multiplexer-bypass', what: 'socket checked, socketcall open on i386',
    bad: `defaultAction: allow\narchitectures: [x86_64, i386]\nrules:\n  - syscalls: [socket]\n    action: kill_process\n    args: [{index: 0, op: eq, value: 16, bits: 32}]\n`,
    good: `defaultAction: allow\narchitectures: [x86_64, i386]\nrules:\n  - syscalls: [socket]\n    action: kill_process\n    args: [{index: 0, op: eq, value: 16, bits: 32}]\n  - syscalls: [socketcall]\n    action: kill_process\n`,
    line: 4, says: 'socketcall',
  },
  {
    rule: 'multiplexer-bypass', what: 'allowlist allowing ipc next to checked semctl on s390x',
    bad: `defaultAction: kill_process\narchitectures: [s390x]\nrules:\n  - syscalls: [ipc]\n    action: allow\n  - syscalls: [semctl]\n    action: allow\n    args: [{index: 2, op: eq, value: 0}]\n`,
    good: `defaultAction: kill_process\narchitectures: [s390x]\nrules:\n  - syscalls: [semctl]\n    action: allow\n    args: [{index: 2, op: eq, value: 0}]\n`,
    line: 6, says: 'ipc',
  },
  {
    rule: 'io-uring-allowed', what: 'an allowlist allowing io_uring_setup and io_uring_enter',
    bad: `defaultAction: kill_process\narchitectures: [x86_64, aarch64]\nrules:\n  - syscalls: [read, write]\n    action: allow\n  - syscalls: [io_uring_setup, io_uring_enter]\n    action: allow\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64, aarch64]\nrules:\n  - syscalls: [read, write]\n    action: allow\n  - syscalls: [io_uring_setup]\n    action: errno(ENOSYS)\n`,
    line: 6, says: 'x86_64, aarch64',
  },
  {
    rule: 'allow-by-default', what: 'defaultAction allow',
    bad: `defaultAction: allow\narchitectures: [x86_64]\n`,
    good: `defaultAction: errno(EPERM)\narchitectures: [x86_64]\n`,
    line: 1,
  },
  {
    rule: 'errno-for-sensitive', what: 'ptrace denied with EPERM',
    bad: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [read]\n    action: allow\n  - syscalls: [ptrace]\n    action: errno(EPERM)\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [read]\n    action: allow\n  - syscalls: [uname]\n    action: errno(EPERM)\n`,
    line: 6, says: 'ptrace',
  },
  {
    rule: 'shadowed-rule', what: 'allow with a check under an unconditional kill',
    bad: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [kill]\n    action: kill_process\n  - syscalls: [kill, tkill]\n    action: errno(EPERM)\n    args: [{index: 1, op: eq, value: 9, bits: 32}]\n`,
    good: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [kill]\n    action: kill_process\n    args: [{index: 1, op: eq, value: 19, bits: 32}]\n  - syscalls: [kill, tkill]\n    action: errno(EPERM)\n    args: [{index: 1, op: eq, value: 9, bits: 32}]\n`,
    line: 6, says: 'line 4',
  },
  {
    rule: 'contradictory-args', what: 'eq 1 and eq 2 on one argument',
    bad: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [write]\n    action: allow\n    args:\n      - {index: 0, op: eq, value: 1, bits: 32}\n      - {index: 0, op: eq, value: 2, bits: 32}\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [write]\n    action: allow\n    args:\n      - {index: 0, op: ge, value: 1, bits: 32}\n      - {index: 0, op: le, value: 2, bits: 32}\n`,
    line: 8, says: 'eq 0x1 and eq 0x2',
  },
  {
    rule: 'contradictory-args', what: 'lt 0',
    bad: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [lseek]\n    action: allow\n    args: [{index: 1, op: lt, value: 0}]\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [lseek]\n    action: allow\n    args: [{index: 1, op: lt, value: 1}]\n`,
    line: 6,
  },
  {
    rule: 'contradictory-args', what: 'masked_eq needing bit 4 set with lt 0x10',
    bad: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [mmap]\n    action: allow\n    args:\n      - {index: 2, op: masked_eq, mask: 0x10, value: 0x10}\n      - {index: 2, op: lt, value: 0x10}\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [mmap]\n    action: allow\n    args:\n      - {index: 2, op: masked_eq, mask: 0x10, value: 0x10}\n      - {index: 2, op: lt, value: 0x11}\n`,
    line: 8,
  },
  {
    rule: 'syscall-not-on-any-arch', what: 'open on aarch64',
    bad: `defaultAction: kill_process\narchitectures: [aarch64, riscv64]\nrules:\n  - syscalls: [openat, open]\n    action: allow\n`,
    good: `defaultAction: kill_process\narchitectures: [aarch64, riscv64]\nrules:\n  - syscalls: [openat]\n    action: allow\n`,
    line: 4, says: 'open',
  },
  {
    rule: 'syscall-not-on-arch', what: 'open on x86_64 and aarch64',
    bad: `defaultAction: kill_process\narchitectures: [x86_64, aarch64]\nrules:\n  - syscalls: [openat, open]\n    action: allow\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64, aarch64]\nrules:\n  - syscalls: [openat]\n    action: allow\n`,
    line: 4, says: 'aarch64',
  },
  {
    rule: 'arg-width', what: 'a 64-bit eq on socket domain in a deny rule',
    bad: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [socket]\n    action: kill_process\n    args: [{index: 0, op: eq, value: 16}]\n`,
    good: `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [socket]\n    action: kill_process\n    args: [{index: 0, op: eq, value: 16, bits: 32}]\n`,
    line: 6, says: 'bits: 32',
  },
  {
    rule: 'arg-width', what: 'a 64-bit ne on ioctl request in an allow rule',
    bad: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [ioctl]\n    action: allow\n    args: [{index: 1, op: ne, value: 0x5412}]\n`,
    // The same check in an allowlist's allow rule with eq cannot be widened by high bits.
    good: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [ioctl]\n    action: allow\n    args: [{index: 1, op: eq, value: 0x5413}]\n`,
    line: 6, says: 'ioctl',
  },
  {
    rule: 'bwrap-execve', what: 'an allowlist without execve, for bwrap', for: 'bwrap',
    bad: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [read, write, exit_group]\n    action: allow\n`,
    good: `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [read, write, exit_group, execve]\n    action: allow\n`,
    says: 'execve',
  },
];

for (const c of CASES) {
  test(`${c.rule}: ${c.what}`, () => {
    const opts = c.for ? { for: c.for } : {};
    const bad = lint(c.bad, opts).filter((f) => f.rule === c.rule);
    assert.ok(bad.length > 0, `expected a ${c.rule} finding`);
    const f = bad[0]!;
    assert.is(f.severity, LINT_RULES[c.rule]!.severity);
    if (c.line !== undefined) assert.is(f.pos?.line, c.line, formatFinding(f));
    if (c.says) assert.ok(f.message.includes(c.says), f.message);
    const good = lint(c.good, opts).filter((x) => x.rule === c.rule);
    assert.equal(good.map((x) => formatFinding(x)), []);
  });
}

test('every lint rule has a case in the table (or a test below)', () => {
  const covered = new Set([...CASES.map((c) => c.rule), 'filter-size', 'resolve-warning']);
  assert.equal(Object.keys(LINT_RULES).filter((r) => !covered.has(r)), []);
});

test('syscall-not-on-any-arch is a warning for portable policies (OCI profiles, --arch)', () => {
  const yaml = `defaultAction: kill_process\narchitectures: [x86_64, aarch64]\nrules:\n  - syscalls: [open, openat]\n    action: allow\n`;
  const policy = parsePolicy(yaml, { file: FILE });
  const narrowed = resolvePolicy(policy, { arches: ['aarch64'] });
  assert.is(lintPolicy(policy, narrowed).find((f) => f.rule === 'syscall-not-on-any-arch')?.severity, 'error');
  assert.is(lintPolicy(policy, narrowed, { portable: true }).find((f) => f.rule === 'syscall-not-on-any-arch')?.severity, 'warning');
  assert.is(checkPolicy(policy, { arches: ['aarch64'] }).findings.find((f) => f.rule === 'syscall-not-on-any-arch')?.severity, 'warning');
});

test('bwrap-execve is only judged for --for bwrap', () => {
  const yaml = CASES.find((c) => c.rule === 'bwrap-execve')!.bad;
  assert.ok(!lint(yaml).some((f) => f.rule === 'bwrap-execve'));
});

test('filter-size: a real policy over the limit is an error, the thresholds hold', () => {
  // Every x86_64 syscall allowed for its own four 64-bit values of args[0] (distinct in both
  // words, so no checks can be shared): several thousand instructions.
  const names = [...syscallTable('x86_64').keys()];
  const value = (i: number, v: number) => `'0x${(4 * i + v + 1).toString(16)}${(0x10000 + 4 * i + v).toString(16).padStart(8, '0')}'`;
  const rules = names.flatMap((n, i) => [0, 1, 2, 3].map((v) => `  - syscalls: [${n}]\n    action: allow\n    args: [{index: 0, op: eq, value: ${value(i, v)}}]\n`));
  const yaml = `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n${rules.join('')}`;
  const r = checkPolicy(parsePolicy(yaml, { file: FILE }));
  assert.ok(r.program.length > 4096, `${r.program.length} instructions`);
  const f = r.findings.find((x) => x.rule === 'filter-size');
  assert.is(f?.severity, 'error');
  assert.ok(f!.message.includes(String(r.program.length)));
  assert.is(r.ok, false);
  const small = `defaultAction: kill_process\narchitectures: [x86_64]\n`;
  assert.is(lint(small, { instructionCount: 3501 }).find((x) => x.rule === 'filter-size')?.severity, 'warning');
  assert.is(lint(small, { instructionCount: 3500 }).find((x) => x.rule === 'filter-size'), undefined);
  assert.is(lint(small, { instructionCount: 4097 }).find((x) => x.rule === 'filter-size')?.severity, 'error');
});

test('resolve-warning: resolver warnings other than missing syscalls pass through', () => {
  const policy = parsePolicy(`defaultAction: kill_process\narchitectures: [x86_64]\n`, { file: FILE });
  const resolved = resolvePolicy(policy);
  const withWarning = { ...resolved, warnings: [{ code: 'SOMETHING', message: `${FILE}:1:1: something odd`, pos: { file: FILE, line: 1, column: 1 } }] };
  const f = lintPolicy(policy, withWarning).find((x) => x.rule === 'resolve-warning');
  assert.is(f?.message, 'something odd');
});

test('formatFinding: file:line:col: severity [rule]: message', () => {
  const f = lint(CASES[0]!.bad).find((x) => x.rule === 'denylist-bypass')!;
  assert.match(formatFinding(f), /^p\.yaml:4:5: error \[denylist-bypass\]: read is denied/);
});

// ---- the satisfiability solver against brute force on small widths ----

const SEED = testSeed('lint solver');
const OPS: ArgOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked_eq'];

function holds(c: ArgCheck, x: bigint): boolean {
  switch (c.op) {
    case 'eq': return x === c.value;
    case 'ne': return x !== c.value;
    case 'lt': return x < c.value;
    case 'le': return x <= c.value;
    case 'gt': return x > c.value;
    case 'ge': return x >= c.value;
    case 'masked_eq': return (x & c.mask!) === c.value;
  }
}

test('nextMasked and checksSatisfiable agree with brute force (6-bit values)', () => {
  const r = rng(SEED);
  const W = 6;
  const N = 1 << W;
  const rnd = () => BigInt(Math.floor(r() * N));
  for (let i = 0; i < 3000; i++) {
    const lo = rnd();
    const mask = rnd();
    const value = rnd() & mask;
    let want: bigint | undefined;
    for (let x = lo; x < BigInt(N); x++) if ((x & mask) === value) { want = x; break; }
    assert.is(nextMasked(lo, mask, value, W), want, `lo=${lo} mask=${mask} value=${value}`);
  }
  for (let i = 0; i < 3000; i++) {
    const checks: ArgCheck[] = Array.from({ length: 1 + Math.floor(r() * 4) }, () => {
      const op = OPS[Math.floor(r() * OPS.length)]!;
      const mask = rnd();
      return op === 'masked_eq' ? { index: 0, op, value: rnd() & mask, mask, bits: 64 } : { index: 0, op, value: rnd(), bits: 64 };
    });
    let want = false;
    for (let x = 0n; x < BigInt(N) && !want; x++) want = checks.every((c) => holds(c, x));
    assert.is(checksSatisfiable(checks, W), want, JSON.stringify(checks, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  }
});

test.run();
