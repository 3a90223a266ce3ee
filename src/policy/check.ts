/**
 * `check`: everything seccomp-ts can say about a policy before it is used. The policy is
 * resolved and compiled for its architectures, the program is checked with the kernel's load
 * rules, the policy's own `tests:` run through the emulator on the compiled program, and the
 * linter adds its findings. The result is a list of findings (errors fail the check).
 */
import { getArch, syscallNumber, type Arch } from '../arch/index.js';
import type { Instruction } from '../bpf/insn.js';
import { emulate, type TraceStep } from '../bpf/emulator.js';
import { disassembleLines } from '../bpf/text.js';
import { verify } from '../bpf/verifier.js';
import { archSymbols } from '../symbols.js';
import { formatAction } from './actions.js';
import { generate } from './codegen.js';
import { lintPolicy, type Finding } from './lint.js';
import { resolvePolicy } from './resolve.js';
import type { ActionValue, Policy, PolicyTest, ResolvedPolicy } from './types.js';

/** Options of {@link checkPolicy}. */
export interface CheckOptions {
  /** Architectures to check (names or aliases); overrides the policy's list. */
  readonly arches?: readonly string[];
  /** The program that installs the filter (see LintOptions.for). */
  readonly for?: 'bwrap';
  /** See LintOptions.portable; default: true when `arches` is given. */
  readonly portable?: boolean;
}

/** One run of one policy test on one architecture. */
export interface TestRun {
  readonly test: PolicyTest;
  readonly arch: Arch;
  readonly expected: ActionValue;
  readonly actual: ActionValue;
  readonly passed: boolean;
  /** The executed instructions, disassembled, with the registers before each (failures only). */
  readonly trace?: readonly string[];
}

/** What {@link checkPolicy} found. */
export interface CheckResult {
  readonly resolved: ResolvedPolicy;
  readonly program: readonly Instruction[];
  readonly runs: readonly TestRun[];
  /** Lint findings plus one `test-failed` error per failing run and `verify` errors. */
  readonly findings: readonly Finding[];
  /** No finding is an error. */
  readonly ok: boolean;
}

/** `write(1, 0x10, 0)`: a call as a test describes it. */
export function describeCall(name: string, args: readonly bigint[] | undefined): string {
  const a = (args ?? []).map((v) => (v < 0x10000n ? v.toString() : `0x${v.toString(16)}`));
  return `${name}(${a.join(', ')})`;
}

/** A trace as disassembled lines with the registers each instruction saw. */
export function formatTrace(program: readonly Instruction[], trace: readonly TraceStep[], arch: Arch): string[] {
  const lines = disassembleLines(program, { symbols: archSymbols, defaultArch: arch.auditArch, endian: arch.endian });
  return trace.map((s) => `${lines[s.pc]}    [A=0x${(s.a >>> 0).toString(16)} X=0x${(s.x >>> 0).toString(16)}]`);
}

/**
 * Run each policy test on the compiled program: on its own `arch`, else on every architecture
 * of the filter where the syscall exists (a test whose named arch lacks the syscall is an error).
 * A test arch outside the filter's list is run too: it checks badArchAction.
 */
export function runPolicyTests(policy: Policy, resolved: ResolvedPolicy, program: readonly Instruction[]): { runs: TestRun[]; findings: Finding[] } {
  const runs: TestRun[] = [];
  const findings: Finding[] = [];
  const endian = resolved.arches[0]!.arch.endian;
  for (const t of policy.tests) {
    const arches = t.arch !== undefined ? [getArch(t.arch)] : resolved.arches.map((r) => r.arch);
    let ran = 0;
    for (const arch of arches) {
      const nr = syscallNumber(arch, t.syscall);
      if (nr === undefined) {
        if (t.arch !== undefined) {
          findings.push({ rule: 'test-invalid', severity: 'error', message: `test of ${t.syscall}: no such syscall on ${arch.name}`, ...(t.pos ? { pos: t.pos } : {}) });
        }
        continue;
      }
      if (arch.endian !== endian) {
        findings.push({ rule: 'test-invalid', severity: 'error', message: `test on ${arch.name}: a ${endian}-endian filter never sees calls from a ${arch.endian}-endian ABI`, ...(t.pos ? { pos: t.pos } : {}) });
        continue;
      }
      ran++;
      const data = { nr: (nr | arch.syscallBit) >>> 0, arch: arch.auditArch, instructionPointer: t.ip ?? 0n, args: t.args ?? [] };
      const r = emulate(program, data, { endian, trace: true });
      const passed = r.value === t.expect >>> 0;
      const run: TestRun = { test: t, arch, expected: t.expect, actual: r.value, passed, ...(passed ? {} : { trace: formatTrace(program, r.trace!, arch) }) };
      runs.push(run);
      if (!passed) {
        findings.push({
          rule: 'test-failed',
          severity: 'error',
          message: `${describeCall(t.syscall, t.args)} on ${arch.name}: expected ${formatAction(t.expect)}, got ${formatAction(r.value)}`,
          ...(t.pos ? { pos: t.pos } : {}),
          detail: run.trace!,
        });
      }
    }
    if (ran === 0 && t.arch === undefined) {
      findings.push({ rule: 'test-invalid', severity: 'error', message: `test of ${t.syscall}: the syscall exists on none of ${arches.map((a) => a.name).join(', ')}`, ...(t.pos ? { pos: t.pos } : {}) });
    }
  }
  return { runs, findings };
}

/**
 * Check a policy (see the module comment). Throws PolicyError only for input that cannot be
 * resolved at all (unknown architecture, a value too wide for a 32-bit ABI, ...).
 */
export function checkPolicy(policy: Policy, opts: CheckOptions = {}): CheckResult {
  const resolved = resolvePolicy(policy, opts.arches ? { arches: opts.arches } : {});
  const program = generate(resolved);
  const findings: Finding[] = [];
  // The size is the linter's to judge; other load-time problems would be a code generator bug, but say so.
  for (const p of verify(program)) {
    if (p.rule !== 'length') findings.push({ rule: 'verify', severity: 'error', message: `the kernel would reject the compiled filter: ${p.message}` });
  }
  const tests = runPolicyTests(policy, resolved, program);
  findings.push(...tests.findings);
  const portable = opts.portable ?? opts.arches !== undefined;
  findings.push(...lintPolicy(policy, resolved, { instructionCount: program.length, portable, ...(opts.for ? { for: opts.for } : {}) }));
  return Object.freeze({ resolved, program, runs: tests.runs, findings, ok: !findings.some((f) => f.severity === 'error') });
}
