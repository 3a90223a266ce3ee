/**
 * Golden files of `explain`: the decision, the rule with its position, and the path through the
 * filter, for calls to test/policy/golden-explain/policy.yaml. Each case also checks, independently
 * of the golden, that the decision is what the reference evaluator says and that the path ends in
 * a return of that value. Regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch } from '../../src/arch/index.js';
import { encodeAction } from '../../src/bpf/seccomp.js';
import { explainFilter, explainProgram, formatExplanation, type ExplainCall } from '../../src/policy/explain.js';
import { compile } from '../../src/policy/filter.js';
import { ROOT } from '../_util/tools.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const DIR = join(ROOT, 'test', 'policy', 'golden-explain');
const POLICY_FILE = 'test/policy/golden-explain/policy.yaml';
const TEXT = readFileSync(join(ROOT, POLICY_FILE), 'utf8');
const filter = compile(TEXT, { file: POLICY_FILE });

/** 1-based line of the first line of TEXT containing `needle`. */
const lineOf = (needle: string): number => TEXT.split('\n').findIndex((l) => l.includes(needle)) + 1;

interface Case {
  name: string;
  call: ExplainCall;
  /** Expected reason, and for 'rule' a text on the rule's first line (its position is checked). */
  reason: 'rule' | 'default' | 'bad_arch';
  ruleLine?: string;
}

const CASES: Case[] = [
  { name: 'write-allowed', call: { syscall: 'write', arch: 'x86_64', args: [1n, 0x1000n, 5n] }, reason: 'rule', ruleLine: 'comment: plain I/O' },
  { name: 'socket-inet', call: { syscall: 'socket', arch: 'x86_64', args: [2n, 1n, 0n] }, reason: 'rule', ruleLine: 'comment: only local' },
  { name: 'socket-netlink-default', call: { syscall: 'socket', arch: 'x86_64', args: [16n, 3n, 0n] }, reason: 'default' },
  { name: 'socket-high-bits-ignored', call: { syscall: 'socket', arch: 'x86_64', args: [0xffffffff00000001n] }, reason: 'rule', ruleLine: 'comment: only local' },
  { name: 'mmap-wx-killed', call: { syscall: 'mmap', arch: 'x86_64', args: [0n, 4096n, 7n, 0x22n] }, reason: 'rule', ruleLine: 'comment: no writable' },
  { name: 'mmap-rw-allowed', call: { syscall: 'mmap', arch: 'x86_64', args: [0n, 4096n, 3n, 0x22n] }, reason: 'rule', ruleLine: '- syscalls: [mmap, mprotect]\n    action: allow' },
  { name: 'i386-mmap2-default', call: { syscall: 'mmap2', arch: 'i386', args: [0n, 4096n, 7n] }, reason: 'default' },
  { name: 'i386-ptrace', call: { syscall: 'ptrace', arch: 'i386' }, reason: 'rule', ruleLine: 'syscalls: [ptrace, execveat]' },
  { name: 'uname-default', call: { syscall: 'uname', arch: 'x86_64' }, reason: 'default' },
  { name: 'x32-bad-arch', call: { syscall: 'read', arch: 'x32' }, reason: 'bad_arch' },
  { name: 'aarch64-bad-arch', call: { syscall: 'read', arch: 'aarch64' }, reason: 'bad_arch' },
];

function ruleLineNumber(needle: string): number {
  if (!needle.includes("\n")) return lineOf(needle);
  const idx = TEXT.indexOf(needle);
  return TEXT.slice(0, idx).split('\n').length;
}

for (const c of CASES) {
  test(`explain ${c.name}`, () => {
    const e = explainFilter(filter, c.call);
    // Independent of the golden: evaluator and program agree, the path ends in that return.
    assert.ok(e.decision, 'a policy explanation has a decision');
    assert.is(e.decision!.action >>> 0, e.value, 'evaluator and compiled filter agree');
    assert.is(e.decision!.reason, c.reason);
    assert.match(e.path.at(-1)!, /return /);
    assert.ok(e.path.at(-1)!.includes(`0x${e.value.toString(16).padStart(8, '0')}`), e.path.at(-1));
    if (c.ruleLine) {
      const want = ruleLineNumber(c.ruleLine);
      // The rule starts at the `- ` of its list item: the comment key's line, or the syscalls line.
      assert.is(e.decision!.rule!.origin.pos?.line, want, c.ruleLine);
    }
    const out = formatExplanation(e);
    assert.not.match(out, /MISMATCH/);
    const path = join(DIR, `${c.name}.txt`);
    if (UPDATE) writeFileSync(path, out);
    assert.ok(existsSync(path), `${c.name}.txt is missing (run with UPDATE_GOLDEN=1)`);
    assert.fixture(out, readFileSync(path, 'utf8'));
  });
}

test('a decision the filter and the policy disagree on is reported, not hidden', () => {
  // Pretend the evaluator decided otherwise: the text must say MISMATCH.
  const e = explainFilter(filter, { syscall: 'uname', arch: 'x86_64' });
  const forged = { ...e, decision: { ...e.decision!, action: encodeAction('allow') } };
  assert.match(formatExplanation(forged), /MISMATCH: the policy decides allow but the compiled filter returns errno\(EPERM\)/);
});

test('a raw program is explained by its path alone', () => {
  const e = explainProgram(filter.instructions, filter.endian, { syscall: 'write', arch: getArch('x86_64'), args: [1n] });
  const out = formatExplanation(e);
  assert.match(out, /^call: {5}write\(1\) on x86_64 \(nr 1\)\ndecision: allow\npath: {5}\d+ instructions\n/);
  assert.not.match(out, /because/);
});

const CLI = join(ROOT, 'dist', 'cli.js');
test('cli: explain prints the golden text; bad input is one line with exit 2', () => {
  const r = spawnSync(process.execPath, [CLI, 'explain', POLICY_FILE, '--syscall', 'socket', '--args', '2,1,0'], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
  assert.is(r.status, 0, r.stderr);
  assert.fixture(r.stdout, readFileSync(join(DIR, 'socket-inet.txt'), 'utf8'));
  const bad: [string[], RegExp][] = [
    [['explain', POLICY_FILE], /missing --syscall/],
    [['explain', POLICY_FILE, '--syscall', 'reed'], /unknown syscall 'reed'.*did you mean/],
    [['explain', POLICY_FILE, '--syscall', 'read', '--args', '1,x'], /not a number/],
    [['explain', POLICY_FILE, '--syscall', 'read', '--arch', 'z80'], /unknown architecture/],
  ];
  for (const [args, re] of bad) {
    const b = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30000 });
    assert.is(b.status, 2, `${args.join(' ')}: ${b.stdout}${b.stderr}`);
    assert.is(b.stderr.trimEnd().split('\n').length, 1, b.stderr);
    assert.match(b.stderr, re);
  }
});

test.run();
