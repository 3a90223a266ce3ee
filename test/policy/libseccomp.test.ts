/**
 * Differential test against libseccomp (Debian's python3-seccomp): random policies are compiled
 * by seccomp-ts and by libseccomp, and both programs are run by our emulator on every syscall
 * number of x86_64, x32 numbers, numbers outside both tables and foreign architectures, with
 * argument values around every constant. Decisions must agree exactly. SEED=n replays;
 * DEBUG_LS=1 prints the failing policy.
 *
 * What the random policies leave out, because libseccomp differs by design or has a bug there:
 * - several rules of one syscall with DIFFERENT actions: libseccomp has no "most restrictive
 *   action wins" between overlapping rules (its rule database resolves them by its own
 *   precedence or refuses them), so here one syscall has one action, possibly with several
 *   OR-ed argument rules;
 * - a rule whose action equals the default action: libseccomp refuses it (EACCES);
 * - `bits: 32` checks: libseccomp has no 32-bit comparison (all its comparisons are 64-bit);
 * - trap with data: libseccomp's SCMP_ACT_TRAP carries none (it refuses a value with data);
 * - ordering and `ne` comparisons in a syscall with several rules: libseccomp 2.5.4 merges the
 *   rules' argument chains and gets some answers wrong (found by this test; seccomp-ts agrees
 *   with the reference evaluator on each). Examples, all on one syscall:
 *     (a3 > 0x800000000000) || (a3 <= 0x415f12cb)      allows a3 = 0x415f12cc
 *     (a0 != 0) || (a0 != X && (a5 & M) == 0)          tests a stale, masked accumulator
 *     (a4 < 0x30fa14f8e561fc39) || (a4 <= 0xfffffffe) || ...   misses a4 = 0xffffffff
 *   so syscalls with several rules use only eq and masked_eq here; a lone rule may use any.
 * - syscalls libseccomp 2.5.4 does not know on an ABI that Linux 6.12 has (e.g. map_shadow_stack
 *   on x32): its tables are older than ours, so such names are left out of policies for that ABI.
 * And what the comparison skips, for the same reason:
 * - x32 calls to syscalls with argument checks: libseccomp treats x32 as a 32-bit ABI and
 *   compares only the low words of arguments; seccomp-ts compares all 64 bits there, because
 *   the kernel passes x32 system calls full 64-bit registers (see Arch.bits);
 * - on an x86_64-only filter, numbers from 0x80000000 up without the x32 bit, and 0xffffffff:
 *   libseccomp sends every number from 0x40000000 up (except -1) to the bad-arch action, while
 *   seccomp-ts gives numbers without the x32 bit x86_64's default action (both are invalid
 *   syscall numbers that the kernel answers with ENOSYS, so both are safe).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch, syscallNumber, syscallTable, type ArchName } from '../../src/arch/index.js';
import { emulate } from '../../src/bpf/emulator.js';
import { encodeAction, type ActionName } from '../../src/bpf/seccomp.js';
import { formatAction } from '../../src/policy/actions.js';
import { compile } from '../../src/policy/filter.js';
import type { ArgCheck } from '../../src/policy/types.js';
import { libseccompBuild, type LsJob, type LsRule } from '../_util/libseccomp.js';
import { call, int, pick, probeArgs, randCheck, type Rand } from '../_util/policies.js';
import { needPythonSeccomp, rng, testSeed } from '../_util/tools.js';

const HAVE = needPythonSeccomp();
const SEED = testSeed('libseccomp');
const POLICIES = Number(process.env.ROUNDS ?? 60);
const x86_64 = getArch('x86_64');

const ACTIONS: readonly ActionName[] = ['kill_process', 'kill_thread', 'trap', 'errno', 'trace', 'log', 'allow'];
const randAction = (r: Rand) => {
  const name = pick(r, ACTIONS);
  return encodeAction(name, name === 'errno' || name === 'trace' ? 1 + int(r, 3) : 0);
};

interface Case {
  readonly job: LsJob;
  readonly policy: object;
  readonly syscalls: readonly { name: string; checks: ArgCheck[] }[];
}

/** A random policy in both forms (see the module comment for what it avoids). */
function randomCase(r: Rand, known: { x86_64: readonly string[]; x32: ReadonlySet<string> }): Case {
  const arches: ArchName[] = r() < 0.5 ? ['x86_64'] : ['x86_64', 'x32'];
  // With x32, only names both libraries agree exist (or not) on x32.
  const names = arches.includes('x32') ? known.x86_64.filter((n) => known.x32.has(n) === (syscallNumber('x32', n) !== undefined)) : known.x86_64;
  const pool = Array.from({ length: 3 + int(r, 3) }, () => randAction(r));
  const def = pick(r, pool);
  const bad = r() < 0.5 ? def : randAction(r);
  const chosen = new Set<string>();
  const count = 1 + int(r, 40);
  while (chosen.size < count) chosen.add(pick(r, names));
  const lsRules: LsRule[] = [];
  const rules: object[] = [];
  const syscalls: { name: string; checks: ArgCheck[] }[] = [];
  for (const name of [...chosen].sort()) {
    let action = pick(r, pool);
    if (action === def) action = def === encodeAction('allow') ? encodeAction('errno', 1) : encodeAction('allow');
    const all: ArgCheck[] = [];
    if (r() < 0.4) {
      lsRules.push({ name, action, args: [] });
      rules.push({ syscalls: [name], action: formatAction(action) });
    } else {
      const nRules = 1 + int(r, 3);
      for (let k = nRules; k > 0; k--) {
        // One check per argument index and rule: libseccomp merges same-index checks of one rule.
        const checks: ArgCheck[] = [];
        for (let j = 1 + int(r, 2); j > 0; j--) {
          let c = { ...randCheck(r, x86_64), bits: 64 as const };
          while (nRules > 1 && !['eq', 'masked_eq'].includes(c.op)) c = { ...randCheck(r, x86_64), bits: 64 as const }; // see the module comment
          const fixed = c.op === 'masked_eq' ? { ...c, value: c.value & c.mask! } : { index: c.index, op: c.op, value: c.value, bits: c.bits };
          if (!checks.some((x) => x.index === fixed.index)) checks.push(fixed);
        }
        all.push(...checks);
        lsRules.push({ name, action, args: checks.map((c) => ({ index: c.index, op: c.op, value: c.value, ...(c.mask !== undefined ? { mask: c.mask } : {}) })) });
        rules.push({
          syscalls: [name],
          action: formatAction(action),
          args: checks.map((c) => ({ index: c.index, op: c.op, value: `0x${c.value.toString(16)}`, ...(c.mask !== undefined ? { mask: `0x${c.mask.toString(16)}` } : {}) })),
        });
      }
    }
    syscalls.push({ name, checks: all });
  }
  return {
    job: { arches, defaultAction: def, badArchAction: bad, rules: lsRules },
    policy: { defaultAction: formatAction(def), badArchAction: formatAction(bad), architectures: arches, rules },
    syscalls,
  };
}

/** Syscall numbers to try: both tables, numbers next to them, and the edges of the x32 split. */
function numbers(r: Rand): number[] {
  const s = new Set<number>();
  for (const n of syscallTable('x86_64').values()) s.add(n);
  for (const n of syscallTable('x32').values()) s.add(n >>> 0);
  for (let n = 0; n < 600; n++) s.add((0x40000000 | n) >>> 0);
  for (const n of [0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff]) s.add(n);
  for (let i = 0; i < 20; i++) s.add(int(r, 2 ** 32));
  return [...s];
}

(HAVE ? test : test.skip)('random policies: seccomp-ts == libseccomp on every x86_64 and x32 number, and foreign arches', () => {
  const r = rng(SEED);
  const all = [...syscallTable('x86_64').keys()];
  // Names libseccomp 2.5 knows (newer syscalls are missing from its tables).
  const probe = libseccompBuild([], { x86_64: all, x32: all });
  const known = { x86_64: probe.known.x86_64 ?? [], x32: new Set(probe.known.x32 ?? []) };
  assert.ok(known.x86_64.length > 300, `libseccomp knows ${known.x86_64.length} x86_64 names`);
  const cases = Array.from({ length: POLICIES }, () => randomCase(r, known));
  const { results } = libseccompBuild(cases.map((c) => c.job));
  let decisions = 0;
  const nrs = numbers(r);
  cases.forEach((c, i) => {
    const res = results[i];
    if (!res.ok) return assert.unreachable(`policy ${i}: libseccomp refused it: ${res.error}`);
    const ours = compile(c.policy).instructions;
    const theirs = res.program;
    const x32 = c.job.arches.includes('x32');
    const withChecks = new Set(c.syscalls.filter((s) => s.checks.length).map((s) => syscallNumber('x32', s.name)).filter((n) => n !== undefined));
    const check = (audit: number, nr: number, args: readonly bigint[]) => {
      if (audit === x86_64.auditArch) {
        if (!x32 && (nr === 0xffffffff || (nr >= 0x80000000 && (nr & 0x40000000) === 0))) return; // see the module comment
        if (x32 && withChecks.has(nr)) return; // see the module comment
      }
      const data = call(audit, nr, args);
      const a = emulate(ours, data).value;
      const b = emulate(theirs, data).value;
      decisions++;
      if (a !== b) {
        if (process.env.DEBUG_LS) console.log(JSON.stringify(c.job, (_k, v) => (typeof v === "bigint" ? "0x" + v.toString(16) : v)));
        assert.unreachable(
          `policy ${i} ${JSON.stringify(c.job.arches)}: arch 0x${audit.toString(16)} nr 0x${nr.toString(16)} args [${args.map((x) => '0x' + x.toString(16))}]: ` +
            `seccomp-ts 0x${a.toString(16)}, libseccomp 0x${b.toString(16)}`,
        );
      }
    };
    for (const nr of nrs) check(x86_64.auditArch, nr, []);
    for (const audit of [getArch('i386').auditArch, getArch('aarch64').auditArch, 0]) for (const nr of [0, 1, 0x40000000, 0xffffffff]) check(audit, nr, []);
    for (const sc of c.syscalls) {
      if (sc.checks.length === 0) continue;
      for (const arch of c.job.arches) {
        const nr = syscallNumber(arch, sc.name);
        if (nr === undefined) continue;
        for (const args of probeArgs(r, sc.checks, 30)) check(x86_64.auditArch, (nr | getArch(arch).syscallBit) >>> 0, args);
      }
    }
  });
  assert.ok(decisions > POLICIES * 1000, `${decisions} decisions`);
});

test.run();
