/**
 * The disasm, asm, verify and emulate verbs, run through the built CLI (the test runner builds
 * dist/ first; by hand: npx tsup). Golden files from test/bpf/golden are the fixtures.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { syscallNumber } from '../../src/arch/index.js';
import { ROOT } from '../_util/tools.js';
import { CLI, failsOneLine, runCli } from '../_util/cli.js';

const GOLDEN = join(ROOT, 'test', 'bpf', 'golden');
const golden = (name: string) => join(GOLDEN, name);
const TMP = mkdtempSync(join(tmpdir(), 'seccomp-ts-bpf-verbs-'));

const run = runCli;

test('dist/cli.js exists (run npx tsup)', () => {
  assert.ok(existsSync(CLI), CLI);
});

test('disasm prints the golden text; byte order of the s390x blob is detected', () => {
  for (const name of ['myos', 'multiarch', 's390x']) {
    const r = run(['disasm', golden(`${name}.bpf`)]);
    assert.is(r.status, 0, r.err);
    assert.fixture(r.out, readFileSync(golden(`${name}.txt`), 'utf8'));
  }
  // Explicit arch and standard input.
  const r = run(['disasm', '-', '--arch', 's390x', '--no-header'], readFileSync(golden('s390x.bpf')));
  assert.is(r.status, 0, r.err);
  assert.fixture(r.out, readFileSync(golden('s390x.txt'), 'utf8').split('\n').slice(2).join('\n'));
});

test('asm reproduces the golden blobs byte for byte (s390x in big-endian)', () => {
  for (const name of ['myos', 'multiarch', 's390x', 'raw', 'returns', 'jumps', 'alu']) {
    const out = join(TMP, `${name}.bpf`);
    const args = ['asm', golden(`${name}.txt`), '-o', out];
    // myos and s390x check one arch, which decides the byte order; the others fall back to the
    // host's, so they say it (the goldens are little-endian).
    if (name !== 'myos' && name !== 's390x') args.push('--endian', 'little');
    const r = run(args);
    assert.is(r.status, 0, `${name}: ${r.err}`);
    assert.equal([...readFileSync(out)], [...readFileSync(golden(`${name}.bpf`))], name);
  }
  // Labels in, blob to standard output.
  const src = 'A = arch\nif (A != ARCH_AARCH64) goto kill\nreturn ALLOW\nkill: return KILL_PROCESS\n';
  const r = run(['asm', '-', '-o', '-', '--arch', 'aarch64'], src);
  assert.is(r.status, 0, r.err);
  assert.is(r.bytes.length, 32);
  assert.is(r.bytes.readUInt32LE(12), 0xc00000b7);
});

test('verify: ok, or the problems with exit 1', () => {
  const ok = run(['verify', golden('multiarch.bpf')]);
  assert.is(ok.status, 0, ok.err);
  assert.is(ok.out, 'ok: 17 instructions\n');
  const textOk = run(['verify', golden('s390x.txt')]);
  assert.is(textOk.out, 'ok: 14 instructions\n', textOk.err);
  const bad = run(['verify', golden('raw.bpf')]);
  assert.is(bad.status, 1, bad.err);
  const lines = bad.out.trimEnd().split('\n');
  assert.match(lines[0], /^0000: .*ld_h_abs.*\[opcode\]$/);
  assert.ok(lines.some((l) => /^0013: .*past the end.*\[jump-range\]$/.test(l)), bad.out);
  assert.match(lines[lines.length - 1], /^rejected: \d+ problems$/);
});

test('emulate: text, --json exactly, --trace, args and ip as 64-bit values', () => {
  const uname = run(['emulate', golden('myos.bpf'), '--arch', 'x86_64', '--syscall', 'uname']);
  assert.is(uname.status, 0, uname.err);
  assert.is(uname.out, 'errno(1) value=0x00050001 executed=5\n');
  const json = run(['emulate', golden('myos.bpf'), '--arch', 'x86_64', '--syscall', 'uname', '--json']);
  assert.is(json.out, '{"action": "errno", "data": 1, "value": 327681, "executed": 5}\n');
  // The text form runs the same.
  const fromText = run(['emulate', golden('myos.txt'), '--arch', 'x86_64', '--syscall', '63', '--json']);
  assert.is(fromText.out, json.out, fromText.err);

  const trace = run(['emulate', golden('myos.bpf'), '--arch', 'amd64', '--syscall', 'read', '--trace']);
  assert.is(trace.status, 0, trace.err);
  const lines = trace.out.trimEnd().split('\n');
  assert.is(lines.length, 6);
  assert.match(lines[0], /^ 0000: 0x20 0x00 0x00 0x00000004 {2}A = arch\s+; A=0x00000000 X=0x00000000$/);
  assert.match(lines[1], /^ 0001: .*if \(A != ARCH_X86_64\) goto 0006\s+; A=0xc000003e X=0x00000000$/);
  assert.match(lines[4], /^ 0004: .*return ALLOW\s+; A=0x00000000 X=0x00000000$/);
  assert.is(lines[5], 'allow value=0x7fff0000 executed=5');
  const jtrace = JSON.parse(run(['emulate', golden('myos.bpf'), '--arch', 'x86_64', '--syscall', 'read', '--trace', '--json']).out);
  assert.equal(jtrace.trace.map((s: { pc: number }) => s.pc), [0, 1, 2, 3, 4]);
  assert.is(jtrace.trace[1].text, 'if (A != ARCH_X86_64) goto 0006');
  assert.is(jtrace.trace[1].a, 0xc000003e);

  const write = syscallNumber('s390x', 'write')!;
  const cases: [string[], string][] = [
    [['--syscall', 'write', '--args', '1'], 'allow'],
    [['--syscall', String(write), '--args', '2,0xffffffffffffffff,18446744073709551615'], 'allow'],
    [['--syscall', 'write', '--args', '0x100000002'], 'errno(9)'],
    [['--syscall', 'read', '--ip', '0xffffffffffffffff'], 'errno(38)'],
  ];
  for (const [args, action] of cases) {
    const r = run(['emulate', golden('s390x.bpf'), '--arch', 's390x', ...args]);
    assert.is(r.status, 0, r.err);
    assert.match(r.out, new RegExp(`^${action.replace(/[()]/g, '\\$&')} value=`), args.join(' '));
  }
});

test('bad input: one stderr line, exit 2', () => {
  const seven = join(TMP, 'seven.bpf');
  writeFileSync(seven, readFileSync(golden('myos.bpf')).subarray(0, 7));
  const empty = join(TMP, 'empty.bpf');
  writeFileSync(empty, '');
  const badText = join(TMP, 'bad.txt');
  writeFileSync(badText, 'A = arch\nif (A == ARCH_X86_64) goto ok\nreturn KILL\nok: return ALOW\n');
  const myos = golden('myos.bpf');
  const em = ['emulate', myos, '--arch', 'x86_64', '--syscall', 'read'];
  const cases: [string[], RegExp][] = [
    [['disasm', join(TMP, 'missing.bpf')], /cannot read '.*missing\.bpf': no such file/],
    [['disasm', TMP], /is a directory/],
    [['disasm', seven], /7 bytes is not a multiple of 8/],
    [['verify', seven], /7 bytes is not a multiple of 8/],
    [['emulate', seven, '--arch', 'x86_64', '--syscall', 'read'], /not a multiple of 8/],
    [['disasm', empty], /empty/],
    [['disasm'], /missing FILE/],
    [['disasm', myos, myos], /one FILE operand/],
    [['disasm', myos, '--bogus'], /unknown option '--bogus'/],
    [['asm', myos, '--bogus', '-o', '-'], /unknown option '--bogus'/],
    [['verify', myos, '--bogus'], /unknown option '--bogus'/],
    [['emulate', myos, '--bogus'], /unknown option '--bogus'/],
    [['disasm', myos, '--arch', 'vax'], /unknown architecture 'vax'/],
    [['disasm', myos, '--endian', 'middle'], /--endian must be/],
    [['asm', golden('myos.txt')], /missing -o/],
    [['asm', badText, '-o', join(TMP, 'x.bpf')], /line 4.*unknown action 'ALOW'/],
    [['asm', join(TMP, 'missing.txt'), '-o', '-'], /no such file/],
    [['emulate', myos, '--syscall', 'read'], /missing --arch/],
    [['emulate', myos, '--arch', 'x86_64'], /missing --syscall/],
    [['emulate', myos, '--arch', 'x86_64', '--syscall', 'nosuchcall'], /unknown syscall 'nosuchcall'/],
    [['emulate', myos, '--arch', 'aarch64', '--syscall', 'open'], /does not exist on aarch64/],
    [['emulate', myos, '--arch', 'x86_64', '--syscall', '0x100000000'], /larger than the maximum/],
    [[...em, '--args', '18446744073709551616'], /larger than the maximum 2\^64-1/],
    [[...em, '--args', '1,0x10000000000000000'], /--args value 1.*larger than the maximum/],
    [[...em, '--args', '-1'], /value of '--args' starts with '-'/],
    [[...em, '--args=-1'], /not a number/],
    [[...em, '--args', '1,,2'], /not a number/],
    [[...em, '--args', '12abc'], /not a number/],
    [[...em, '--args', '1,2,3,4,5,6,7'], /at most 6/],
    [[...em, '--ip', '0x1ffffffffffffffff'], /--ip.*larger than the maximum/],
    [[...em, '--ip', '1.5'], /not a number/],
  ];
  for (const [args, pattern] of cases) failsOneLine(args, pattern);
});

test('clean up', () => {
  rmSync(TMP, { recursive: true, force: true });
  assert.not.ok(existsSync(TMP));
});

test.run();
