import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostArch, syscallTable } from '../../src/arch/index.js';
import { ROOT } from '../_util/tools.js';

// Runs the built CLI (the test runner builds dist/ first).
const CLI = join(ROOT, 'dist', 'cli.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'syscalls', ...args], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('dist/cli.js exists (run npx tsup)', () => {
  assert.ok(existsSync(CLI), CLI);
});

test('lists a table as name-number lines in number order', () => {
  const r = run('--arch', 'aarch64');
  assert.is(r.status, 0, r.err);
  const rows = r.out.trimEnd().split('\n').map((l) => l.trim().split(/\s+/));
  assert.equal(
    rows.map(([n, nr]) => [n, Number(nr)]),
    [...syscallTable('aarch64')],
  );
});

test('x32 numbers are shown in decimal and hex', () => {
  const r = run('--arch', 'x32', 'read', 'openat');
  assert.is(r.status, 0, r.err);
  assert.equal(
    r.out.trimEnd().split('\n').map((l) => l.trim().split(/\s+/)),
    [
      ['read', String(0x40000000), '0x40000000'],
      ['openat', String(0x40000101), '0x40000101'],
    ],
  );
});

test('looks up names and numbers; --json', () => {
  const r = run('--arch', 'SCMP_ARCH_MIPSEL', '--json', 'read', '4004');
  assert.is(r.status, 0, r.err);
  assert.equal(JSON.parse(r.out), { arch: 'mipsel', syscalls: { read: 4003, write: 4004 } });
  const all = JSON.parse(run('--arch', 's390x', '--json').out);
  assert.is(all.arch, 's390x');
  assert.is(all.syscalls.uname, 122);
  assert.equal(Object.entries(all.syscalls), [...syscallTable('s390x')]);
});

test('default arch is the host', () => {
  const h = hostArch();
  if (!h) return void process.stdout.write(`  (host ${process.arch} unsupported: default-arch case not checked)\n`);
  const r = run('--json');
  assert.is(r.status, 0, r.err);
  assert.is(JSON.parse(r.out).arch, h.name);
});

test('bad input: one line on stderr, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['--arch', 'sparc'], /unknown architecture 'sparc'/],
    [['--arch', 'amd46'], /did you mean x86_64\?/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--arch'], /argument missing/],
    [['--arch', 'x86_64', 'opnat'], /unknown syscall 'opnat' on x86_64 \(did you mean openat/],
    [['--arch', 'aarch64', 'open'], /does not exist on aarch64/],
    [['--arch', 'aarch64', '99999'], /no syscall has number 99999 on aarch64/],
    [['--arch', 'x86_64', '--json=1'], /json/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.err}`);
    assert.is(r.out, '', args.join(' '));
    const lines = r.err.trimEnd().split('\n');
    assert.is(lines.length, 1, r.err);
    assert.match(lines[0]!, /^seccomp-ts: /);
    assert.match(lines[0]!, re, args.join(' '));
  }
});

test('--help prints usage, exit 0', () => {
  const r = run('--help');
  assert.is(r.status, 0);
  assert.match(r.out, 'usage: seccomp-ts syscalls');
});

test.run();
