/**
 * Differential test: the compiled filter, run by the emulator, against the reference evaluator
 * (evaluatePolicy), on random policies for every architecture, both byte orders. Every decision
 * must agree. SEED=n replays a run; ROUNDS=n changes its size.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, syscallTable, type Arch } from '../../src/arch/index.js';
import { emulate } from '../../src/bpf/emulator.js';
import { verify } from '../../src/bpf/verifier.js';
import { generate } from '../../src/policy/codegen.js';
import { formatAction } from '../../src/policy/actions.js';
import { compile } from '../../src/policy/filter.js';
import { GROUP_NAMES } from '../../src/policy/groups.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import type { ResolvedPolicy } from '../../src/policy/types.js';
import { rng, testSeed } from '../_util/tools.js';
import { call, int, pick, probeArgs, probeNumbers, randAction, randCheck, randomArchSet, randomResolved, randValue, type Rand } from '../_util/policies.js';

const SEED = testSeed('differential');
const ROUNDS = Number(process.env.ROUNDS ?? 1000); // about 15 s

/** Compare filter and evaluator on every probe; returns the number of decisions checked. */
function compare(r: Rand, resolved: ResolvedPolicy, label: string): number {
  const prog = generate(resolved);
  const problems = verify(prog);
  assert.equal(problems, [], `${label}: the kernel would reject the program`);
  const endian = resolved.arches[0].arch.endian;
  let checked = 0;
  const one = (audit: number, nr: number, args: readonly bigint[]) => {
    const data = call(audit, nr, args);
    const got = emulate(prog, data, { endian }).value;
    const want = evaluatePolicy(resolved, data) >>> 0;
    checked++;
    if (got !== want) {
      assert.unreachable(
        `${label}: arch 0x${audit.toString(16)} nr 0x${nr.toString(16)} args [${args.map((a) => '0x' + a.toString(16)).join(', ')}]: ` +
          `filter returned 0x${got.toString(16)}, evaluator 0x${want.toString(16)}`,
      );
    }
  };
  for (const ra of resolved.arches) {
    const audit = ra.arch.auditArch;
    for (const nr of probeNumbers(r, ra.arch, resolved)) {
      one(audit, nr, Array.from({ length: 6 }, () => (r() < 0.2 ? randValue(r, 64) : 0n)));
    }
    for (const sc of ra.syscalls.values()) {
      const checks = sc.rules.flatMap((x) => x.args);
      if (checks.length === 0) continue;
      for (const args of probeArgs(r, checks, 40)) {
        one(audit, sc.nr, args);
        // The same call seen from the other ABI on this AUDIT_ARCH (x86_64 <-> x32).
        one(audit, (sc.nr ^ 0x40000000) >>> 0, args);
      }
    }
  }
  // Foreign architectures: every other AUDIT_ARCH value, and junk.
  const listed = new Set(resolved.arches.map((a) => a.arch.auditArch));
  const foreign = [...new Set(ARCHES.map((a) => a.auditArch))].filter((a) => !listed.has(a));
  for (const audit of [...foreign, 0, 0xffffffff, 0xc000003f ^ 1]) {
    for (const nr of [0, 1, 59, 0x40000000, 0xffffffff, int(r, 2 ** 32)]) one(audit, nr, []);
  }
  return checked;
}

test('random policies on random architecture sets: filter == evaluator', () => {
  const r = rng(SEED);
  let total = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const arches = randomArchSet(r);
    total += compare(r, randomResolved(r, arches), `round ${i} [${arches.map((a) => a.name)}]`);
  }
  assert.ok(total > ROUNDS * 500, `only ${total} decisions checked`);
});

test('every architecture alone, including big-endian ones', () => {
  const r = rng(SEED ^ 0x5eed);
  for (const arch of ARCHES) {
    const resolved = randomResolved(r, [arch], { syscalls: 30, argRate: 0.7 });
    compare(r, resolved, arch.name);
  }
});

test('x86_64 and x32 apart and together: the x32 bit never reaches x86_64 rules', () => {
  const r = rng(SEED ^ 0x32);
  const byName = (n: string): Arch => ARCHES.find((a) => a.name === n)!;
  for (const set of [['x86_64'], ['x32'], ['x86_64', 'x32'], ['x32', 'x86_64'], ['x86_64', 'i386', 'x32']]) {
    for (let i = 0; i < 3; i++) compare(r, randomResolved(r, set.map(byName)), set.join('+'));
  }
});

test('large allowlists with no arguments (deep search trees, long jumps)', () => {
  const r = rng(SEED ^ 0xa11);
  for (const set of [['x86_64'], ['x86_64', 'i386', 'x32'], ['aarch64', 'arm'], ['ppc64', 's390x']]) {
    const arches = set.map((n) => ARCHES.find((a) => a.name === n)!);
    compare(r, randomResolved(r, arches, { syscalls: 300, argRate: 0.05 }), `large ${set.join('+')}`);
  }
});

test('random policy documents through compile() (names, @groups, every operator): filter == evaluator', () => {
  const r = rng(SEED ^ 0xd0c);
  for (let i = 0; i < 25; i++) {
    const arches = randomArchSet(r);
    const names = [...syscallTable(arches[0]).keys()];
    const pool = Array.from({ length: 3 }, () => formatAction(randAction(r)));
    const rules = Array.from({ length: 1 + int(r, 12) }, () => {
      const syscalls = Array.from({ length: 1 + int(r, 4) }, () => (r() < 0.15 ? pick(r, GROUP_NAMES) : pick(r, names)));
      const args = r() < 0.5 ? [] : Array.from({ length: 1 + int(r, 2) }, () => {
        const c = randCheck(r, arches.some((a) => a.bits === 32) ? { ...arches[0], bits: 32 } : arches[0]);
        const value = c.op === 'masked_eq' ? c.value & c.mask! : c.value;
        return { index: c.index, op: c.op, value: `0x${value.toString(16)}`, ...(c.op === 'masked_eq' ? { mask: `0x${c.mask!.toString(16)}` } : {}), ...(c.bits === 32 ? { bits: 32 } : {}) };
      });
      return { syscalls, action: pick(r, pool), args };
    });
    const doc = { defaultAction: pick(r, pool), badArchAction: pick(r, pool), architectures: arches.map((a) => a.name), rules };
    const f = compile(doc);
    compare(r, f.resolved, `document ${i} [${doc.architectures}]`);
  }
});

test.run();
