/**
 * The code generator: argument comparisons against a BigInt reference (every operator, both word
 * orders, 32- and 64-bit), rule precedence, program shape (arch check first, one nr load per
 * block, shared returns, determinism), long programs, and the compile() API.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, getArch, syscallNumber, syscallTable, type Arch } from '../../src/arch/index.js';
import { decode } from '../../src/bpf/codec.js';
import { emulate } from '../../src/bpf/emulator.js';
import { opInfo } from '../../src/bpf/opcodes.js';
import { SECCOMP_RET_ALLOW, encodeAction } from '../../src/bpf/seccomp.js';
import { verify } from '../../src/bpf/verifier.js';
import { generate, orderedRules } from '../../src/policy/codegen.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { Filter, compile } from '../../src/policy/filter.js';
import { parsePolicy } from '../../src/policy/parse.js';
import type { ArgCheck, ArgOp, PolicyRule, ResolvedPolicy, ResolvedRule } from '../../src/policy/types.js';
import { EDGES, OPS, call, int, pick, probeArgs, randValue, randomResolved } from '../_util/policies.js';
import { rng, testSeed } from '../_util/tools.js';

const SEED = testSeed('codegen');
const U32 = 0xffffffffn;
const U64 = (1n << 64n) - 1n;
const ALLOW = SECCOMP_RET_ALLOW;
const KILL = encodeAction('kill_process');
const ORIGIN: PolicyRule = { syscalls: [], action: ALLOW, args: [] };
const x86_64 = getArch('x86_64');

/** The BigInt meaning of one check, written independently of the evaluator. */
function reference(op: ArgOp, a: bigint, v: bigint, mask: bigint, bits: 32 | 64): boolean {
  const x = bits === 32 ? a & U32 : a & U64;
  switch (op) {
    case 'eq': return x === v;
    case 'ne': return x !== v;
    case 'lt': return x < v;
    case 'le': return x <= v;
    case 'gt': return x > v;
    case 'ge': return x >= v;
    case 'masked_eq': return (x & mask) === v;
  }
}

/** A one-syscall policy: `nr` gets ALLOW when the check holds, everything else KILL. */
function oneCheck(arch: Arch, nr: number, check: ArgCheck): ResolvedPolicy {
  const rule: ResolvedRule = { action: ALLOW, args: [check], origin: ORIGIN };
  return { badArchAction: KILL, warnings: [], arches: [{ arch, defaultAction: KILL, syscalls: new Map([[nr, { name: 'x', nr, rules: [rule] }]]) }] };
}

test('every operator, 32 and 64 bits, both byte orders: filter == BigInt reference', () => {
  const r = rng(SEED);
  let n = 0;
  for (const arch of [x86_64, getArch('s390x'), getArch('ppc64le'), getArch('i386')]) {
    for (const op of OPS) {
      for (const bits of [32, 64] as const) {
        if (arch.bits === 32 && bits === 64) continue;
        const values = [...EDGES.map((v) => (bits === 32 ? v & U32 : v)), ...Array.from({ length: 6 }, () => randValue(r, bits))];
        for (const v0 of values) {
          const mask = op === 'masked_eq' ? pick(r, [U64, U32, 0xffffffff00000000n, 6n, 1n << 40n, randValue(r, bits), 0n]) & (bits === 32 ? U32 : U64) : 0n;
          const value = op === 'masked_eq' && r() < 0.8 ? v0 & mask : v0;
          const index = int(r, 6);
          const check: ArgCheck = { index, op, value, bits, ...(op === 'masked_eq' ? { mask } : {}) };
          const prog = generate(oneCheck(arch, 3, check));
          assert.equal(verify(prog), []);
          for (const args of probeArgs(r, [check], 24)) {
            const want = reference(op, args[index], value, mask, arch.bits === 32 ? 32 : bits) ? ALLOW : KILL;
            const got = emulate(prog, call(arch.auditArch, 3, args), { endian: arch.endian }).value;
            n++;
            if (got !== want) {
              assert.unreachable(`${arch.name} args[${index}] ${op}${bits} 0x${value.toString(16)} mask 0x${mask.toString(16)} on 0x${args[index].toString(16)}: got 0x${got.toString(16)}`);
            }
          }
        }
      }
    }
  }
  assert.ok(n > 10000, `${n} comparisons`);
});

test('out-of-range constants (negative, beyond 64 or 32 bits) decide as the evaluator does', () => {
  for (const arch of [x86_64, getArch('i386')]) {
    for (const op of OPS) {
      for (const bits of [32, 64] as const) {
        for (const value of [-1n, -5n, 1n << 64n, (1n << 64n) + 5n, 1n << 32n, (1n << 32n) + 3n]) {
          for (const mask of [undefined, 0xffn, -1n, 1n << 70n]) {
            const resolved = oneCheck(arch, 3, { index: 0, op, value, bits, ...(mask !== undefined ? { mask } : {}) });
            const prog = generate(resolved);
            for (const a of [0n, 1n, 3n, 5n, U32, 1n << 32n, U64]) {
              const data = call(arch.auditArch, 3, [a]);
              assert.is(emulate(prog, data).value, evaluatePolicy(resolved, data), `${arch.name} ${op}${bits} ${value} mask ${mask} on ${a}`);
            }
          }
        }
      }
    }
  }
});

test('the most restrictive action among the rules that hold wins; the first listed on a tie', () => {
  const errno = (e: number) => encodeAction('errno', e);
  const trap = encodeAction('trap', 1);
  const log = encodeAction('log');
  const eq = (index: number, value: bigint): ArgCheck => ({ index, op: 'eq', value, bits: 64 });
  const rule = (action: number, ...args: ArgCheck[]): ResolvedRule => ({ action, args, origin: ORIGIN });
  const cases: { rules: ResolvedRule[]; def: number; args: bigint[]; want: number }[] = [
    { rules: [rule(ALLOW), rule(errno(1), eq(0, 5n))], def: KILL, args: [5n], want: errno(1) },
    { rules: [rule(ALLOW), rule(errno(1), eq(0, 5n))], def: KILL, args: [6n], want: ALLOW },
    { rules: [rule(log, eq(0, 1n)), rule(trap, eq(1, 2n))], def: ALLOW, args: [1n, 2n], want: trap },
    { rules: [rule(log, eq(0, 1n)), rule(trap, eq(1, 2n))], def: ALLOW, args: [1n, 3n], want: log },
    { rules: [rule(log, eq(0, 1n)), rule(trap, eq(1, 2n))], def: ALLOW, args: [0n, 0n], want: ALLOW },
    { rules: [rule(errno(2), eq(0, 1n)), rule(errno(1), eq(0, 1n))], def: ALLOW, args: [1n], want: errno(2) },
    { rules: [rule(errno(1), eq(0, 1n)), rule(errno(2))], def: ALLOW, args: [1n], want: errno(1) },
    { rules: [rule(errno(1), eq(0, 1n)), rule(errno(2))], def: ALLOW, args: [0n], want: errno(2) },
    { rules: [rule(KILL, eq(0, 1n)), rule(ALLOW), rule(KILL, eq(1, 1n))], def: errno(9), args: [0n, 1n], want: KILL },
    { rules: [rule(ALLOW, eq(0, 1n)), rule(ALLOW, eq(0, 2n))], def: KILL, args: [2n], want: ALLOW },
  ];
  cases.forEach((c, i) => {
    const resolved: ResolvedPolicy = {
      badArchAction: KILL, warnings: [],
      arches: [{ arch: x86_64, defaultAction: c.def, syscalls: new Map([[7, { name: 'poll', nr: 7, rules: c.rules }]]) }],
    };
    const data = call(x86_64.auditArch, 7, c.args);
    assert.is(evaluatePolicy(resolved, data), c.want, `case ${i}: evaluator`);
    assert.is(emulate(generate(resolved), data).value, c.want, `case ${i}: filter`);
  });
});

test('orderedRules: most restrictive first, cut after the first unconditional rule, trailing defaults dropped', () => {
  const r = (action: number, n: number): ResolvedRule => ({ action, args: Array.from({ length: n }, () => ({ index: 0, op: 'eq', value: 1n, bits: 64 }) as ArgCheck), origin: ORIGIN });
  const a = r(ALLOW, 1);
  const k = r(KILL, 1);
  const e = r(encodeAction('errno', 1), 0);
  const l = r(encodeAction('log'), 1);
  assert.equal(orderedRules([a, k, e, l], ALLOW), [k, e]);
  assert.equal(orderedRules([a, l], ALLOW), [l]);
  assert.equal(orderedRules([a], ALLOW), []);
  assert.equal(orderedRules([a, k], KILL), [k, a]);
});

/** Instructions of a program by kind. */
function shape(prog: readonly { code: number; k: number }[]) {
  const names = prog.map((i) => opInfo(i.code)!.name);
  return {
    names,
    loads: (k: number) => prog.filter((i, j) => names[j] === 'ld_w_abs' && i.k === k).length,
    rets: prog.filter((_, j) => names[j] === 'ret_k').map((i) => i.k),
  };
}

test('shape: arch first, nr loaded once per AUDIT_ARCH block, each return value once per block', () => {
  const r = rng(SEED ^ 1);
  for (const set of [['x86_64'], ['x86_64', 'x32'], ['x86_64', 'i386', 'x32'], ['aarch64', 'arm'], ['s390x']]) {
    const resolved = randomResolved(r, set.map((n) => getArch(n)), { argRate: 0 });
    const prog = generate(resolved);
    const s = shape(prog);
    assert.is(s.names[0], 'ld_w_abs');
    assert.is(prog[0].k, 4, 'the arch is loaded first');
    const blocks = new Set(set.map((n) => getArch(n).auditArch)).size;
    assert.is(s.loads(0), blocks, `${set}: nr loaded once per block`);
    assert.is(s.loads(4), 1);
    const counts = new Map<number, number>();
    for (const k of s.rets) counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const [k, c] of counts) assert.ok(c <= blocks, `${set}: return 0x${k.toString(16)} appears ${c} times`);
    // Only the instructions the kernel's action cache understands.
    for (const nm of s.names) assert.ok(['ld_w_abs', 'jeq_k', 'jge_k', 'jgt_k', 'jset_k', 'ja', 'ret_k'].includes(nm), nm);
  }
});

test('identical argument checks on many syscalls are emitted once', () => {
  const check: ArgCheck = { index: 1, op: 'masked_eq', mask: 0xf0n, value: 0x10n, bits: 64 };
  const build = (count: number): ResolvedPolicy => {
    const map = new Map<number, { name: string; nr: number; rules: ResolvedRule[] }>();
    for (let i = 0; i < count; i++) map.set(i * 3, { name: `s${i}`, nr: i * 3, rules: [{ action: ALLOW, args: [check], origin: ORIGIN }] });
    return { badArchAction: KILL, warnings: [], arches: [{ arch: x86_64, defaultAction: KILL, syscalls: map }] };
  };
  const one = generate(build(1)).length;
  const many = generate(build(40));
  // 40 syscalls at numbers 0, 3, 6, ...: the check exists once, the rest is the search tree.
  const andCount = many.filter((i) => opInfo(i.code)!.name === 'and_k').length;
  assert.is(andCount, 1, 'one AND for the shared check');
  assert.ok(many.length < one + 40 * 3, `${many.length} instructions`);
});

test('deterministic: the same policy gives the same bytes, whatever the map insertion order', () => {
  const r = rng(SEED ^ 2);
  for (let i = 0; i < 10; i++) {
    const resolved = randomResolved(r, [pick(r, ARCHES)]);
    const a = generate(resolved);
    const shuffled: ResolvedPolicy = {
      ...resolved,
      arches: resolved.arches.map((ra) => ({ ...ra, syscalls: new Map([...ra.syscalls.entries()].reverse()) })),
    };
    assert.equal(generate(shuffled), a);
    assert.equal(generate(resolved), a);
  }
});

test('long programs: far branches go through JA, the program stays valid and correct', () => {
  // Every syscall with a distinct 64-bit check: hundreds of instructions between the tree and its leaves.
  const map = new Map<number, { name: string; nr: number; rules: ResolvedRule[] }>();
  for (let nr = 0; nr < 300; nr++) {
    map.set(nr, { name: `s${nr}`, nr, rules: [{ action: ALLOW, args: [{ index: nr % 6, op: 'ge', value: BigInt(nr) << 32n, bits: 64 }], origin: ORIGIN }] });
  }
  const resolved: ResolvedPolicy = { badArchAction: KILL, warnings: [], arches: [{ arch: x86_64, defaultAction: encodeAction('errno', 1), syscalls: map }] };
  const prog = generate(resolved);
  assert.ok(prog.length > 600, `${prog.length}`);
  assert.ok(prog.some((i) => opInfo(i.code)!.name === 'ja'), 'has trampolines');
  assert.equal(verify(prog), []);
  for (let nr = 0; nr < 310; nr++) {
    for (const a of [0n, (BigInt(nr) << 32n) - 1n, BigInt(nr) << 32n]) {
      const args = [0n, 0n, 0n, 0n, 0n, 0n];
      args[nr % 6] = a;
      const data = call(x86_64.auditArch, nr, args);
      assert.is(emulate(prog, data).value, evaluatePolicy(resolved, data), `nr ${nr} arg 0x${a.toString(16)}`);
    }
  }
});

test('compile(): text, objects and Policy values; Filter methods', () => {
  const yaml = 'defaultAction: errno(EPERM)\narchitectures: [x86_64, aarch64]\nrules:\n  - syscalls: [read, write]\n    action: allow\n';
  const f = compile(yaml);
  assert.ok(f instanceof Filter);
  assert.equal(f.arches, ['x86_64', 'aarch64']);
  assert.is(f.endian, 'little');
  assert.equal(decode(f.toBuffer()), f.instructions);
  assert.equal(decode(f.toBuffer('big'), 'big'), f.instructions);
  assert.match(f.toString(), /ARCH_X86_64/);
  const read = syscallNumber('aarch64', 'read')!;
  assert.is(f.evaluate(call(getArch('aarch64').auditArch, read)).value, ALLOW);
  assert.is(f.evaluate(call(getArch('aarch64').auditArch, read + 2)).value, encodeAction('errno', 1));
  const g = compile({ defaultAction: 'errno(EPERM)', architectures: ['x86_64', 'aarch64'], rules: [{ syscalls: ['read', 'write'], action: 'allow' }] });
  assert.equal(g.instructions, f.instructions);
  assert.equal(compile(parsePolicy(yaml)).instructions, f.instructions, 'a Policy value');
  const s = compile(yaml, { arches: ['s390x'] });
  assert.is(s.endian, 'big');
  assert.throws(() => compile('defaultAction: nope\nrules: []\n'), (e: Error) => e.name === 'PolicyError');
  assert.throws(() => compile(yaml, { arches: ['x86_64', 's390x'] }), (e: Error) => e.name === 'PolicyError' && /byte order/.test(e.message));
});

test('a small x86_64-only block tests the x32 bit with one JSET', () => {
  const f = compile({ defaultAction: 'allow', badArchAction: 'kill_process', architectures: ['x86_64'], rules: [{ syscalls: ['ptrace'], action: 'kill_process' }] });
  const names = f.instructions.map((i) => opInfo(i.code)!.name);
  assert.ok(names.includes('jset_k'), names.join(' '));
  assert.is(f.instructions.length, 7);
  const ptrace = syscallNumber('x86_64', 'ptrace')!;
  for (const nr of [0, ptrace, ptrace + 1, 0x3fffffff, 0x40000000 | ptrace, 0x40000000, 0x80000000, 0x80000000 | ptrace, 0xc0000000, 0xffffffff]) {
    const data = call(x86_64.auditArch, nr);
    assert.is(f.evaluate(data).value, f.expected(data), `nr 0x${nr.toString(16)}`);
  }
});

test('a policy too big for the kernel (over 4096 instructions) is a PolicyError, not a bad filter', () => {
  const names = [...syscallTable('x86_64').keys()].slice(0, 300);
  const rules = names.flatMap((name, i) =>
    Array.from({ length: 6 }, (_, j) => ({ syscalls: [name], action: 'allow', args: [{ index: j, op: 'eq', value: `0x${(BigInt(i * 7 + j + 1) << 32n | BigInt(j)).toString(16)}` }] })),
  );
  assert.throws(() => compile({ defaultAction: 'kill_process', architectures: ['x86_64'], rules }), (e: Error) => e.name === 'PolicyError' && /4096/.test(e.message));
});

test('an OCI profile compiles like the equivalent policy', () => {
  const oci = JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] });
  const f = compile(oci, { arches: ['x86_64'] });
  const g = compile('defaultAction: errno(1)\nrules: [{syscalls: [read, write], action: allow}]\n', { arches: ['x86_64'] });
  for (const nr of [0, 1, 2, 59]) assert.is(f.evaluate(call(x86_64.auditArch, nr)).value, g.evaluate(call(x86_64.auditArch, nr)).value, `nr ${nr}`);
});

test.run();
