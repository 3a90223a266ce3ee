import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_LOG } from '../../src/bpf/seccomp.js';
import { PolicyError, loadPolicy, parsePolicy, policyJsonSchema, resolvePolicy, validatePolicy, type Policy } from '../../src/policy/index.js';
import { PolicySchema } from '../../src/policy/schema.js';
import { ROOT, rng, testSeed } from '../_util/tools.js';
import { catchPolicyError } from '../_util/errors.js';

const BAD_DIR = join(ROOT, 'test', 'fixtures', 'policies', 'bad');
const EXAMPLES = join(ROOT, 'examples');
const U64_MAX = (1n << 64n) - 1n;

/** The brief's example policy. */
const EXAMPLE = `defaultAction: kill_process          # required
badArchAction: kill_process
architectures: [x86_64, i386, x32]
rules:
  - syscalls: [read, write, exit_group]
    action: allow
  - syscalls: [uname]
    action: { errno: EPERM }
  - syscalls: [socket]
    action: allow
    args:
      - { index: 0, op: eq, value: 1 }
      - { index: 1, op: masked_eq, mask: 0xff, value: 1 }
      - { index: 2, op: le, value: "0xffffffffffffffff", bits: 64 }
tests:
  - { syscall: uname, arch: amd64, expect: { errno: EPERM } }
  - { syscall: socket, args: [1, 1, 0], expect: allow }
`;

/** A Policy without positions, for comparing policies read from different texts. */
function strip(p: Policy): unknown {
  return JSON.parse(
    JSON.stringify(p, (k, v) => (k === 'pos' || k === 'syscallPos' || k === 'architecturesPos' || k === 'source' ? undefined : typeof v === 'bigint' ? `${v}n` : v)),
  );
}

test('the example policy reads into the expected values and positions', () => {
  const p = parsePolicy(EXAMPLE, { file: 'ex.yaml' });
  assert.is(p.defaultAction, SECCOMP_RET_KILL_PROCESS >>> 0);
  assert.is(p.badArchAction, SECCOMP_RET_KILL_PROCESS >>> 0);
  assert.equal(p.architectures, ['x86_64', 'i386', 'x32']);
  assert.is(p.source, 'ex.yaml');
  assert.is(p.rules.length, 3);
  assert.equal(p.rules[0]!.syscalls, ['read', 'write', 'exit_group']);
  assert.is(p.rules[0]!.action, SECCOMP_RET_ALLOW);
  assert.is(p.rules[1]!.action, (SECCOMP_RET_ERRNO | 1) >>> 0);
  const args = p.rules[2]!.args;
  assert.equal(args.map((a) => [a.index, a.op, a.value, a.mask, a.bits]), [
    [0, 'eq', 1n, undefined, 64],
    [1, 'masked_eq', 1n, 0xffn, 64],
    [2, 'le', U64_MAX, undefined, 64],
  ]);
  // Positions: rule mapping, each syscall entry, each check.
  assert.equal(p.rules[1]!.pos, { file: 'ex.yaml', line: 7, column: 5 });
  assert.equal(p.rules[0]!.syscallPos?.map((q) => [q?.line, q?.column]), [[5, 16], [5, 22], [5, 29]]);
  assert.equal([args[2]!.pos?.line, args[2]!.pos?.column], [14, 9]);
  assert.equal(p.architecturesPos, { file: 'ex.yaml', line: 3, column: 16 });
  // Tests: the alias is stored as the canonical name; args as BigInt.
  assert.is(p.tests[0]!.arch, 'x86_64');
  assert.is(p.tests[0]!.expect, (SECCOMP_RET_ERRNO | 1) >>> 0);
  assert.equal(p.tests[1]!.args, [1n, 1n, 0n]);
  assert.equal([p.tests[1]!.pos?.line, p.tests[1]!.pos?.column], [17, 5]);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.rules) && Object.isFrozen(p.rules[2]!.args[0]));
});

test('JSON text reads into the same policy as the YAML text', () => {
  const json = JSON.stringify({
    defaultAction: 'kill_process',
    badArchAction: 'kill_process',
    architectures: ['x86_64', 'i386', 'x32'],
    rules: [
      { syscalls: ['read', 'write', 'exit_group'], action: 'allow' },
      { syscalls: ['uname'], action: { errno: 'EPERM' } },
      {
        syscalls: ['socket'],
        action: 'allow',
        args: [
          { index: 0, op: 'eq', value: 1 },
          { index: 1, op: 'masked_eq', mask: 255, value: 1 },
          { index: 2, op: 'le', value: '0xffffffffffffffff', bits: 64 },
        ],
      },
    ],
    tests: [
      { syscall: 'uname', arch: 'amd64', expect: { errno: 'EPERM' } },
      { syscall: 'socket', args: [1, 1, 0], expect: 'allow' },
    ],
  });
  assert.equal(strip(parsePolicy(json)), strip(parsePolicy(EXAMPLE)));
});

test('64-bit values keep full precision in every written form', () => {
  const forms: [string, bigint][] = [
    ['18446744073709551615', U64_MAX],
    ['"18446744073709551615"', U64_MAX],
    ['0xffffffffffffffff', U64_MAX],
    ['"0xFFFFFFFFFFFFFFFF"', U64_MAX],
    ['9007199254740993', 9007199254740993n], // 2^53+1: a JS number would round it
    ['0o17', 15n],
    ['"017"', 17n], // strings are decimal or 0x hex, never octal
    ['0', 0n],
  ];
  for (const [text, want] of forms) {
    const p = parsePolicy(`defaultAction: allow\nrules: [{syscalls: [read], action: log, args: [{index: 0, op: eq, value: ${text}}]}]\n`);
    assert.is(p.rules[0]!.args[0]!.value, want, text);
  }
  const j = parsePolicy('{"defaultAction": "allow", "rules": [{"syscalls": ["read"], "action": "log", "args": [{"index": 0, "op": "ge", "value": 18446744073709551615}]}]}');
  assert.is(j.rules[0]!.args[0]!.value, U64_MAX);
});

test('optional keys take their defaults', () => {
  const p = parsePolicy('defaultAction: log\n');
  assert.is(p.defaultAction, SECCOMP_RET_LOG);
  assert.is(p.badArchAction, SECCOMP_RET_KILL_PROCESS >>> 0);
  assert.is(p.architectures, undefined);
  assert.equal(p.rules, []);
  assert.equal(p.tests, []);
  assert.is(p.strict, undefined);
  const q = parsePolicy('defaultAction: log\nstrict: true\nrules: [{syscalls: [read], action: allow, comment: why, args: [{index: 1, op: masked_eq, mask: 3, value: 1, bits: 32}]}]\n');
  assert.is(q.strict, true);
  assert.is(q.rules[0]!.comment, 'why');
  assert.is(q.rules[0]!.args[0]!.bits, 32);
});

/** Expectations for fixtures that cannot hold a comment. */
const JSON_EXPECT: Record<string, string> = {
  'json-unknown-key.json': "INVALID 4:48 rules[0]: unknown key 'comments' (did you mean 'comment'?)",
  'json-syntax.json': 'SYNTAX 5:1 ',
};

const badFiles = readdirSync(BAD_DIR).sort();
test('the bad-policy fixtures are there', () => {
  assert.ok(badFiles.length >= 30, `${badFiles.length} files`);
});

for (const f of badFiles) {
  test(`bad policy ${f}: exactly one PolicyError at the right line:column`, () => {
    const path = join(BAD_DIR, f);
    const expectLine = JSON_EXPECT[f] ?? /^# expect: (.*)$/m.exec(readFileSync(path, 'utf8'))?.[1];
    assert.ok(expectLine, `${f} has no '# expect:' line`);
    const m = /^(\S+) (\d+):(\d+) ?(.*)$/.exec(expectLine!)!;
    const [, code, line, col, text] = m;
    // Parsing and resolving for the policy's own architectures (x86_64 when it names none) is where
    // the first error must come from; nothing may be reported twice.
    let errors = 0;
    let err: PolicyError | undefined;
    try {
      const p = loadPolicy(path);
      resolvePolicy(p, p.architectures ? {} : { arches: ['x86_64'] });
    } catch (e) {
      errors++;
      assert.instance(e, PolicyError, `${f}: ${String(e)}`);
      err = e as PolicyError;
    }
    assert.is(errors, 1, `${f} gave no error`);
    assert.is(err!.code, code, err!.message);
    assert.equal([err!.pos?.line, err!.pos?.column], [Number(line), Number(col)], err!.message);
    assert.ok(err!.message.startsWith(`${path}:${line}:${col}: `), err!.message);
    assert.ok(err!.message.includes(text!), `${err!.message}\n  should contain: ${text}`);
    assert.not.match(err!.message, /\n/);
  });
}

test('validatePolicy: plain objects, errors name the path', () => {
  const p = validatePolicy({
    defaultAction: 'kill',
    rules: [{ syscalls: ['read'], action: 'allow', args: [{ index: 0, op: 'lt', value: 2n ** 63n }, { index: 1, op: 'eq', value: '0x10' }] }],
  });
  assert.equal(p.rules[0]!.args.map((a) => a.value), [2n ** 63n, 16n]);
  assert.is(p.rules[0]!.pos, undefined);
  const e = catchPolicyError(() => validatePolicy({ defaultAction: 'allow', rules: [{ syscalls: ['read'], action: 'allow', args: [{ index: 9, op: 'eq', value: 1 }] }] }));
  assert.is(e.message, 'rules[0].args[0].index: must be 0..5, not 9');
  assert.is(e.pos, undefined);
  const f = catchPolicyError(() => validatePolicy({ defaultAction: 'allow', extra: 1 }, { file: 'api' }));
  assert.is(f.message, "api: unknown key 'extra' (expected defaultAction, badArchAction, architectures, strict, rules, tests)");
  // A JS number beyond 2^53 has already lost precision: refuse it rather than guess.
  const g = catchPolicyError(() => validatePolicy({ defaultAction: 'allow', rules: [{ syscalls: ['read'], action: 'log', args: [{ index: 0, op: 'eq', value: 2 ** 60 }] }] }));
  assert.match(g.message, /beyond 2\^53 .* write it as a string/);
  assert.is(g.code, 'VALUE');
});

test('loadPolicy: an unreadable file is a PolicyError naming it', () => {
  const e = catchPolicyError(() => loadPolicy(join(BAD_DIR, 'no-such-file.yaml')));
  assert.is(e.code, 'READ');
  assert.match(e.message, /no-such-file\.yaml: cannot read policy file \(ENOENT\)/);
});

test('YAML alias expansion is bounded', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
  const e = catchPolicyError(() => parsePolicy(lines.join('\n') + '\ndefaultAction: allow\n', { file: 'bomb.yaml' }));
  assert.is(e.code, 'SYNTAX');
  assert.match(e.message, /^bomb\.yaml:2:\d+: Excessive alias count/);
});

const exampleFiles = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

test('examples/ has the documented example policies', () => {
  for (const f of ['allowlist.yaml', 'denylist.yaml', 'args.yaml']) assert.ok(exampleFiles.includes(f), f);
});

for (const f of exampleFiles) {
  test(`example ${f} reads, resolves, and matches the zod schema`, () => {
    const path = join(EXAMPLES, f);
    const p = loadPolicy(path);
    assert.ok(p.rules.length > 0);
    resolvePolicy(p, p.architectures ? {} : { arches: ['x86_64'] });
    const obj = parseDocument(readFileSync(path, 'utf8'), { intAsBigInt: true }).toJS();
    assert.ok(PolicySchema.safeParse(obj).success);
  });
}

test('JSON Schema: top-level keys, closed objects, action and u64 definitions', () => {
  const s = policyJsonSchema() as { type: string; properties: Record<string, unknown>; required: string[]; additionalProperties: boolean; $defs: Record<string, unknown> };
  assert.is(s.type, 'object');
  assert.equal(Object.keys(s.properties).sort(), ['architectures', 'badArchAction', 'defaultAction', 'rules', 'strict', 'tests']);
  assert.equal(s.required, ['defaultAction']);
  assert.is(s.additionalProperties, false);
  const text = JSON.stringify(s);
  // rules, args and tests items are closed too: four objects plus the three action data forms.
  assert.ok((text.match(/"additionalProperties":false/g) ?? []).length >= 7);
  assert.ok(s.$defs.action && s.$defs.u64);
  assert.match(text, /"kill_process"/);
  assert.match(text, /"masked_eq"/);
  assert.match(text, /0\[xX\]/); // hex strings are representable
});

test('seccomp-ts schema prints the same JSON Schema', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'schema'], { encoding: 'utf8', cwd: ROOT });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), policyJsonSchema());
  const bad = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'schema', 'extra'], { encoding: 'utf8', cwd: ROOT });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^seccomp-ts: schema: unexpected operand 'extra'\n$/);
});

// Mutated example policies may only fail with a PolicyError that has a position and one line.
test('random mutations of the examples: only positioned, one-line PolicyErrors', () => {
  const seed = testSeed('policy mutation');
  const rand = rng(seed);
  const texts = exampleFiles.map((f) => readFileSync(join(EXAMPLES, f), 'utf8'));
  const pieces = [':', '-', ' ', '\n', '[', ']', '{', '}', ',', '"', "'", '0x', '-1', '@', '&a', '*a', '#', 'errno(', '99999999999999999999', 'index: 7', '\t'];
  const N = Number(process.env.POLICY_MUTATIONS ?? 400);
  let failed = 0;
  for (let i = 0; i < N; i++) {
    let t = texts[Math.floor(rand() * texts.length)]!;
    const edits = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rand() * t.length);
      const len = Math.floor(rand() * 6);
      const piece = rand() < 0.3 ? '' : pieces[Math.floor(rand() * pieces.length)]!;
      t = t.slice(0, at) + piece + t.slice(at + len);
    }
    try {
      const p = parsePolicy(t, { file: 'm.yaml' });
      resolvePolicy(p, { arches: p.architectures ?? ['x86_64'] });
    } catch (e) {
      failed++;
      assert.instance(e, PolicyError, `seed ${seed} case ${i}: ${String(e)}\n${t}`);
      const pe = e as PolicyError;
      assert.ok(pe.pos, `seed ${seed} case ${i}: no position: ${pe.message}`);
      assert.ok(pe.message.startsWith(`m.yaml:${pe.pos!.line}:${pe.pos!.column}: `), pe.message);
      assert.not.match(pe.message, /\n/);
    }
  }
  assert.ok(failed > N / 10, `only ${failed} of ${N} mutations failed: the mutator is too weak`);
});

test.run();
