/**
 * The kernel action-cache model (isConstAllow) on hand-written programs, and the generator's
 * promise: every syscall a policy allows whatever its arguments is cacheable on its ABI, and
 * nothing else is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, allSyscallNames, getArch, syscallTable } from '../../src/arch/index.js';
import { stmt, jump, type Instruction } from '../../src/bpf/insn.js';
import {
  BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W, BPF_X, BPF_IMM,
} from '../../src/bpf/opcodes.js';
import { SECCOMP_RET_ALLOW, encodeAction } from '../../src/bpf/seccomp.js';
import { allowedWhateverArgs, cacheReport, isConstAllow } from '../../src/policy/cache.js';
import { generate } from '../../src/policy/codegen.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { compile } from '../../src/policy/filter.js';
import type { ResolvedPolicy } from '../../src/policy/types.js';
import { call, probeArgs, randomArchSet, randomResolved } from '../_util/policies.js';
import { ROOT, rng, testSeed } from '../_util/tools.js';

const SEED = testSeed('cache');
const ALLOW = SECCOMP_RET_ALLOW;
const KILL = encodeAction('kill_process');
const LD = BPF_LD | BPF_W | BPF_ABS;
const RET = BPF_RET | BPF_K;
const X86 = getArch('x86_64').auditArch;

test('isConstAllow: the instructions the kernel models, and everything that stops it', () => {
  const cases: { name: string; prog: Instruction[]; nr: number; arch?: number; want: boolean }[] = [
    { name: 'jeq hit', prog: [stmt(LD, 0), jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 1, want: true },
    { name: 'jeq miss', prog: [stmt(LD, 0), jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 2, want: false },
    { name: 'jge/jgt', prog: [stmt(LD, 0), jump(BPF_JMP | BPF_JGE | BPF_K, 10, 1, 0), stmt(RET, KILL), jump(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 11, want: true },
    { name: 'jgt boundary', prog: [stmt(LD, 0), jump(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 10, want: false },
    { name: 'jset and and', prog: [stmt(LD, 0), stmt(BPF_ALU | BPF_AND | BPF_K, 0xf0), jump(BPF_JMP | BPF_JSET | BPF_K, 0x10, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 0x13, want: true },
    { name: 'ja skips', prog: [stmt(BPF_JMP | BPF_JA, 1), stmt(RET, KILL), stmt(RET, ALLOW)], nr: 0, want: true },
    { name: 'arch', prog: [stmt(LD, 4), jump(BPF_JMP | BPF_JEQ | BPF_K, X86, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 0, arch: X86, want: true },
    { name: 'other arch', prog: [stmt(LD, 4), jump(BPF_JMP | BPF_JEQ | BPF_K, X86, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 0, arch: 0x40000003, want: false },
    { name: 'argument load', prog: [stmt(LD, 16), stmt(RET, ALLOW)], nr: 0, want: false },
    { name: 'ip load', prog: [stmt(LD, 8), stmt(RET, ALLOW)], nr: 0, want: false },
    { name: 'allow with data is not allow', prog: [stmt(RET, ALLOW | 1)], nr: 0, want: false },
    { name: 'allow', prog: [stmt(RET, ALLOW)], nr: 0, want: true },
    { name: 'log', prog: [stmt(RET, encodeAction('log'))], nr: 0, want: false },
    { name: 'jeq X is not modelled', prog: [stmt(LD, 0), jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 0), stmt(RET, ALLOW)], nr: 0, want: false },
    { name: 'ld imm is not modelled', prog: [stmt(BPF_LD | BPF_IMM, 0), stmt(RET, ALLOW)], nr: 0, want: false },
    { name: 'runs off the end', prog: [stmt(LD, 0)], nr: 0, want: false },
    { name: 'accumulator starts at 0', prog: [jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), stmt(RET, ALLOW), stmt(RET, KILL)], nr: 5, want: true },
  ];
  for (const c of cases) assert.is(isConstAllow(c.prog, c.arch ?? X86, c.nr), c.want, c.name);
});

/**
 * Every unconditionally allowed syscall is cacheable; every cacheable one is allowed (on argument
 * probes: a rule whose checks can never hold makes a syscall allowed in a way the structural
 * test above does not see, and the generator is free to notice that).
 */
function checkPolicy(resolved: ResolvedPolicy, label: string, r = rng(SEED)): number {
  const prog = generate(resolved);
  let cached = 0;
  resolved.arches.forEach((ra) => {
    const rep = cacheReport(prog, ra.arch, ra);
    assert.equal(rep.missed, [], `${label} ${ra.arch.name}: allowed whatever the arguments, but not cacheable`);
    const cacheable = new Set(rep.cacheable);
    for (const n of syscallTable(ra.arch).values()) {
      const nr = (n | ra.arch.syscallBit) >>> 0;
      const always = allowedWhateverArgs(ra, nr);
      if (always) cached++;
      if (always) assert.ok(cacheable.has(nr), `${label} ${ra.arch.name} nr ${nr}: allowed whatever the arguments, but not cacheable`);
      if (cacheable.has(nr)) {
        const checks = ra.syscalls.get(nr)?.rules.flatMap((x) => x.args) ?? [];
        for (const args of [[], ...probeArgs(r, checks, checks.length ? 20 : 0)]) {
          assert.is(evaluatePolicy(resolved, call(ra.arch.auditArch, nr, args)), ALLOW, `${label} ${ra.arch.name} nr ${nr}: cacheable but not allowed`);
        }
      }
    }
  });
  return cached;
}

test('random policies: cacheable exactly when allowed whatever the arguments', () => {
  const r = rng(SEED);
  let cached = 0;
  for (let i = 0; i < 40; i++) {
    const resolved = randomResolved(r, randomArchSet(r), { syscalls: 60, argRate: 0.3 });
    // Make allow common, as in real policies.
    const withAllow: ResolvedPolicy = { ...resolved, arches: resolved.arches.map((ra, j) => (j % 2 === 0 ? { ...ra, defaultAction: ALLOW } : ra)) };
    cached += checkPolicy(i % 2 ? resolved : withAllow, `round ${i}`);
  }
  assert.ok(cached > 1000, `${cached} cacheable syscalls seen`);
});

test('the examples on every architecture they compile for', () => {
  const dir = join(ROOT, 'examples');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length > 0);
  let compiled = 0;
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const arch of ARCHES) {
      let filter;
      try {
        filter = compile(text, { arches: [arch.name], file: f });
      } catch (e) {
        if ((e as Error).name === 'PolicyError') continue; // e.g. 64-bit values on a 32-bit ABI
        throw e;
      }
      compiled++;
      checkPolicy(filter.resolved, `${f}`);
    }
  }
  assert.ok(compiled >= files.length * 6, `${compiled} compiled`);
});

test('moby default profile: every allowed syscall cacheable on x86_64, i386 and aarch64', () => {
  const names: string[] = [];
  try {
    const moby = JSON.parse(readFileSync(join(ROOT, '..', 'shared', 'fixtures', 'moby-default.json'), 'utf8')) as { syscalls: { names: string[]; action: string; args?: unknown[]; includes?: object; excludes?: object }[] };
    for (const s of moby.syscalls) if (s.action === 'SCMP_ACT_ALLOW' && !s.args?.length && !Object.keys(s.includes ?? {}).length && !Object.keys(s.excludes ?? {}).length) names.push(...s.names.filter((n) => allSyscallNames().has(n)));
  } catch {
    process.stdout.write('  SKIP: ../shared/fixtures/moby-default.json is absent\n');
    return;
  }
  for (const set of [['x86_64'], ['x86_64', 'i386', 'x32'], ['aarch64', 'arm']]) {
    const f = compile({ defaultAction: 'errno(EPERM)', architectures: set, rules: [{ syscalls: names, action: 'allow' }] });
    const n = checkPolicy(f.resolved, set.join('+'));
    assert.ok(n > 250 * set.length, `${set}: ${n}`);
  }
});

test.run();
