import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkPolicy } from '../../src/policy/check.js';
import { formatFinding } from '../../src/policy/lint.js';
import { toPolicy } from '../../src/policy/filter.js';
import { parsePolicy } from '../../src/policy/parse.js';
import { ROOT, sharedFixture } from '../_util/tools.js';

// Runs the built CLI (the test runner builds dist/ first).
const CLI = join(ROOT, 'dist', 'cli.js');
const TMP = mkdtempSync(join(tmpdir(), 'seccomp-ts-check-'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(TMP, name);
  writeFileSync(p, text);
  return p;
}

const FAILING = `defaultAction: kill_process
architectures: [x86_64, aarch64]
rules:
  - syscalls: [write]
    action: allow
    args: [{index: 0, op: eq, value: 1, bits: 32}]
  - syscalls: [exit_group]
    action: allow
tests:
  - {syscall: write, args: [1, 0x10, 3], expect: allow}
  - {syscall: write, args: [2], expect: allow}
  - {syscall: exit_group, expect: allow}
`;

const EXAMPLES = readdirSync(join(ROOT, 'examples')).filter((f) => /\.(ya?ml|json)$/.test(f));

test('there are examples to check', () => {
  assert.ok(EXAMPLES.length >= 1);
});

for (const ex of EXAMPLES) {
  test(`examples/${ex} passes check with no errors, and its tests ran`, () => {
    const path = join(ROOT, 'examples', ex);
    const policy = toPolicy(readFileSync(path, 'utf8'), { file: path });
    const r = checkPolicy(policy);
    const errors = r.findings.filter((f) => f.severity === 'error').map((f) => formatFinding(f));
    assert.equal(errors, []);
    assert.ok(r.ok);
    assert.is(r.runs.length >= policy.tests.length, true);
    assert.ok(r.runs.every((x) => x.passed));
  });
}

test('tests run on every listed architecture where the syscall exists, or on the one named', () => {
  const r = checkPolicy(parsePolicy(FAILING, { file: 'f.yaml' }));
  // 3 tests x 2 arches
  assert.is(r.runs.length, 6);
  assert.equal(r.runs.filter((x) => !x.passed).map((x) => `${x.test.syscall}/${x.arch.name}`), ['write/x86_64', 'write/aarch64']);
  const f = r.findings.filter((x) => x.rule === 'test-failed');
  assert.is(f.length, 2);
  assert.is(f[0]!.pos?.line, 11);
  assert.is(f[0]!.message, 'write(2) on x86_64: expected allow, got kill_process');
  // The trace ends in the return that decided.
  assert.match(f[0]!.detail!.at(-1)!, /return KILL_PROCESS/);
  assert.match(f[0]!.detail![0]!, /A = arch/);
  assert.is(r.ok, false);
});

test('a test naming an arch the syscall lacks is an error; a test on an unlisted arch checks badArchAction', () => {
  const yaml = `defaultAction: allow\narchitectures: [x86_64]\ntests:\n  - {syscall: open, arch: aarch64, expect: allow}\n  - {syscall: read, arch: i386, expect: kill_process}\n`;
  const r = checkPolicy(parsePolicy(yaml, { file: 't.yaml' }));
  assert.equal(r.findings.filter((f) => f.rule.startsWith('test-')).map((f) => [f.rule, f.pos?.line]), [['test-invalid', 4]]);
  assert.equal(r.runs.map((x) => [x.arch.name, x.passed]), [['i386', true]]);
});

test('--arch overrides the policy architectures', () => {
  const r = checkPolicy(parsePolicy(FAILING, { file: 'f.yaml' }), { arches: ['riscv64'] });
  assert.equal([...new Set(r.runs.map((x) => x.arch.name))], ['riscv64']);
});

test('cli: a failing test prints syscall, arch, args, expected, actual and the trace; exit 1', () => {
  const p = file('failing.yaml', FAILING);
  const r = cli('check', p);
  assert.is(r.status, 1, r.err);
  assert.ok(r.out.includes(`${p}:11:5: error [test-failed]: write(2) on x86_64: expected allow, got kill_process`), r.out);
  assert.match(r.out, /\n {4} 0000: 0x20 0x00 0x00 0x00000004 {2}A = arch/);
  assert.match(r.out, /FAILED: .* 4\/6 test runs passed; 2 errors/);
});

test('cli: --json gives findings with rule, severity, message and pos', () => {
  const p = file('failing2.yaml', FAILING);
  const r = cli('check', p, '--json');
  assert.is(r.status, 1, r.err);
  const j = JSON.parse(r.out) as { ok: boolean; tests: { run: number; failed: number }; findings: { rule: string; severity: string; message: string; pos: { file: string; line: number; column: number } }[] };
  assert.is(j.ok, false);
  assert.equal(j.tests, { run: 6, failed: 2 });
  const f = j.findings.find((x) => x.rule === 'test-failed')!;
  assert.equal(f.pos, { file: p, line: 11, column: 5 });
  assert.is(f.severity, 'error');
});

test('cli: warnings alone exit 0; --for bwrap warns about a denied execve', () => {
  const p = file('bwrap.yaml', `defaultAction: kill_process\narchitectures: [x86_64]\nrules:\n  - syscalls: [read, write, exit_group]\n    action: allow\n`);
  const plain = cli('check', p);
  assert.is(plain.status, 0, plain.out + plain.err);
  assert.not.match(plain.out, /bwrap-execve/);
  const r = cli('check', p, '--for', 'bwrap');
  assert.is(r.status, 0, r.err);
  assert.match(r.out, /warning \[bwrap-execve\]: bubblewrap installs the filter/);
});

const MOBY = sharedFixture('moby-default.json');
(MOBY ? test : test.skip)("cli: moby's default profile: names of other architectures are warnings; socketcall on i386 is an error", () => {
  const r = cli('check', MOBY!, '--json');
  assert.is(r.status, 1, r.err);
  const j = JSON.parse(r.out) as { arches: string[]; findings: { rule: string; severity: string; message: string }[] };
  assert.equal(j.arches, ['x86_64', 'i386', 'x32']);
  const errors = j.findings.filter((f) => f.severity === 'error');
  // The profile allows socket unless the family is AF_VSOCK (40), and allows socketcall outright.
  assert.equal(errors.map((f) => f.rule), ['multiplexer-bypass']);
  assert.match(errors[0]!.message, /socket.*socketcall.*i386/);
  assert.ok(j.findings.some((f) => f.rule === 'syscall-not-on-any-arch' && f.severity === 'warning' && /riscv_hwprobe/.test(f.message)));
  const x86only = cli('check', MOBY!, '--arch', 'x86_64');
  assert.is(x86only.status, 0, x86only.out);
});

test('cli: an error finding exits 1', () => {
  const p = file('bypass.yaml', `defaultAction: allow\narchitectures: [x86_64]\nrules:\n  - syscalls: [execve]\n    action: kill_process\n`);
  const r = cli('check', p);
  assert.is(r.status, 1);
  assert.match(r.out, /error \[denylist-bypass\]: execve is denied but execveat/);
});

test('cli: bad input is one line on stderr with exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['check', join(TMP, 'missing.yaml')], /^seccomp-ts: .*missing\.yaml/],
    [['check', file('syntax.yaml', 'defaultAction: [allow\n')], /^seccomp-ts: .*syntax\.yaml:\d+:\d+: /],
    [['check', file('unknown.yaml', 'defaultAction: allow\nrules:\n  - syscalls: [reed]\n    action: allow\n')], /did you mean read/],
    [['check', file('ok.yaml', 'defaultAction: allow\n'), '--arch', 'vax'], /unknown architecture 'vax'/],
    [['check', file('ok2.yaml', 'defaultAction: allow\n'), '--for', 'docker'], /--for knows only 'bwrap'/],
    [['check'], /missing FILE/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.is(r.err.trimEnd().split('\n').length, 1, r.err);
    assert.match(r.err, re);
    assert.not.match(r.err, /internal error|\n\s+at /);
  }
});

test.run();
