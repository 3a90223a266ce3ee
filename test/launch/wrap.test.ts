import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getArch, syscallNumber, type ArchName } from '../../src/arch/index.js';
import { emulate } from '../../src/bpf/emulator.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W, opInfo } from '../../src/bpf/opcodes.js';
import { SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_LOG, SECCOMP_RET_TRAP, type SeccompData } from '../../src/bpf/seccomp.js';
import { verify } from '../../src/bpf/verifier.js';
import { LaunchError } from '../../src/launch/errors.js';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, GATE_ARCHES, NR_EXECVE_X86_64, policyDeniesExec, type LaunchArch, wrapForLauncher, type WrappedFilter } from '../../src/launch/wrap.js';
import { ALLOW_ALL, allowlist, denylist, nr } from './_helpers.js';

const EPERM = (SECCOMP_RET_ERRNO | 1) >>> 0;
const SECRET: [bigint, bigint] = [0x0123456789abcdefn, 0xfedcba9876543210n];
const IP = 0x7f12_3456_7000n + 0x1a3n;
const X32 = 0x40000000;

/** Do what the stub does at run time: write the ip's words into the gate's k fields. */
function patch(w: WrappedFilter, ip: bigint): Instruction[] {
  return w.program.map((insn, i) =>
    i === w.ipLoIndex ? { ...insn, k: Number(ip & 0xffffffffn) } : i === w.ipHiIndex ? { ...insn, k: Number(ip >> 32n) } : insn);
}

const data = (arch: number, nrv: number, ip = 0n, args: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n]): SeccompData => ({ nr: nrv, arch, instructionPointer: ip, args });
const stubCall = (ip = IP, secret = SECRET) => data(AUDIT_ARCH_X86_64, 59, ip, [0x7ffd0000n, 0x7ffd0100n, 0x7ffd0200n, secret[0], secret[1], 0n]);
const run = (p: readonly Instruction[], d: SeccompData) => emulate(p, d).action.name;

const POLICIES: [name: string, program: Instruction[], deniesExec: boolean][] = [
  ['allow all', ALLOW_ALL, false],
  ['deny execve with EPERM', denylist(['execve'], EPERM), true],
  ['deny execveat with TRAP', denylist(['execveat'], SECCOMP_RET_TRAP), true],
  ['allowlist read/write', allowlist(['read', 'write']), true],
  // Denying the i386/x32 calls (as this allowlist does: other arches are killed) does not count.
  ['allowlist incl. execve, execveat', allowlist(['read', 'write', 'execve', 'execveat']), false],
  ['allowlist incl. execve only', allowlist(['read', 'write', 'execve']), true],
  ['log execve', denylist(['execve'], SECCOMP_RET_LOG), false],
  // Relies on A = 0 at the start of the filter: always allows, wrapped or not.
  ['uses the initial A', [jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), stmt(BPF_RET | BPF_K, 0x7fff0000), stmt(BPF_RET | BPF_K, EPERM)], false],
];

for (const [name, program, denies] of POLICIES) {
  test(`policyDeniesExec: ${name} -> ${denies}`, () => {
    assert.is(policyDeniesExec(program), denies);
  });
}

test('policyDeniesExec treats a program that cannot run as denying', () => {
  assert.ok(policyDeniesExec([stmt(BPF_LD | BPF_W | BPF_ABS, 0)])); // falls off the end
});

for (const [name, program] of POLICIES) {
  for (const mode of ['kill', 'policy'] as const) {
    test(`gate (${mode}) around "${name}": stub's exec allowed, everything else as specified`, () => {
      const w = wrapForLauncher(program, { secret: SECRET, otherExec: mode });
      assert.is(w.otherExec, mode);
      assert.equal(verify(w.program), [], 'the wrapped program passes the verifier');
      const p = patch(w, IP);
      // The stub's own execve: allowed whatever the policy says.
      assert.is(run(p, stubCall()), 'allow');
      // One wrong ingredient: killed (kill mode) or the policy's answer (policy mode).
      const policyExec = run(program, stubCall());
      const miss = mode === 'kill' ? 'kill_process' : policyExec;
      const wrong: [string, SeccompData][] = [
        ['ip low word', stubCall(IP + 0x1000n)],
        ['ip high word', stubCall(IP + (1n << 32n))],
        ['ip of the syscall itself', stubCall(IP - 2n)],
        ['secret word 0', stubCall(IP, [SECRET[0] ^ 1n, SECRET[1]])],
        ['secret word 1', stubCall(IP, [SECRET[0] ^ (1n << 40n), SECRET[1]])],
        ['secret word 2', stubCall(IP, [SECRET[0], SECRET[1] ^ 0x80000000n])],
        ['secret word 3', stubCall(IP, [SECRET[0], SECRET[1] ^ (1n << 63n)])],
      ];
      for (const [what, d] of wrong) assert.is(run(p, d), miss, what);
      // Other ways to exec.
      const others: [string, SeccompData][] = [
        ['execveat', data(AUDIT_ARCH_X86_64, 322, IP)],
        ['x32 execve', data(AUDIT_ARCH_X86_64, (X32 | 520) >>> 0)],
        ['x32 execveat', data(AUDIT_ARCH_X86_64, (X32 | 545) >>> 0)],
        ['i386 execve', data(AUDIT_ARCH_I386, 11)],
        ['i386 execveat', data(AUDIT_ARCH_I386, 358)],
      ];
      for (const [what, d] of others) assert.is(run(p, d), mode === 'kill' ? 'kill_process' : run(program, d), what);
      // Everything else: exactly the policy's decision.
      const execs = new Set([59, 322, (X32 | 520) >>> 0, (X32 | 545) >>> 0]);
      for (const arch of [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, 0xc00000b7]) {
        for (const n of [...Array.from({ length: 470 }, (_, i) => i), X32 | 1, X32 | 59, 0xffffffff]) {
          if (arch === AUDIT_ARCH_X86_64 && execs.has(n >>> 0)) continue;
          if (arch === AUDIT_ARCH_I386 && (n === 11 || n === 358) && mode === 'kill') continue;
          const d = data(arch, n >>> 0, IP, [1n, 2n, 3n, SECRET[0], SECRET[1], 6n]);
          assert.is(emulate(p, d).value, emulate(program, d).value, `arch ${arch.toString(16)} nr ${n}`);
        }
      }
    });
  }
}

test('only the execve path reads anything but nr and arch (the kernel action cache still applies)', () => {
  const program = denylist(['execve'], EPERM);
  const w = wrapForLauncher(program, { secret: SECRET, otherExec: 'kill' });
  const prefixLen = w.program.length - program.length;
  const p = patch(w, IP);
  const LD_W_ABS = BPF_LD | BPF_W | BPF_ABS;
  for (const [arch, n] of [[AUDIT_ARCH_X86_64, 0], [AUDIT_ARCH_X86_64, 1], [AUDIT_ARCH_X86_64, 322], [AUDIT_ARCH_I386, 11], [AUDIT_ARCH_I386, 4], [0xc00000b7, 59]]) {
    const r = emulate(p, data(arch, n, IP), { trace: true });
    for (const step of r.trace!) {
      if (step.pc >= prefixLen) break;
      const kind = opInfo(step.insn.code)!.effect.kind;
      const andZero = step.insn.code === (BPF_ALU | BPF_AND | BPF_K); // handled by the kernel's cache emulation
      assert.ok(kind === 'jmp' || kind === 'ret' || andZero || (step.insn.code === LD_W_ABS && (step.insn.k === 0 || step.insn.k === 4)), `pc ${step.pc} for nr ${n}`);
      if (kind === 'jmp') assert.ok(step.insn.code === (BPF_JMP | BPF_JEQ | BPF_K), 'only JEQ K routes');
    }
  }
});

test('default otherExec follows policyDeniesExec', () => {
  assert.is(wrapForLauncher(ALLOW_ALL, { secret: SECRET }).otherExec, 'policy');
  assert.is(wrapForLauncher(denylist(['execve'], EPERM), { secret: SECRET }).otherExec, 'kill');
});

test('the policy is appended verbatim: a program the kernel rejects stays rejected, at the shifted pc', () => {
  const bad = [stmt(BPF_LD | BPF_W | BPF_ABS, 3), stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)];
  const w = wrapForLauncher(bad, { secret: SECRET, otherExec: 'kill' });
  const problems = verify(w.program);
  assert.is(problems.length, 1);
  assert.is(problems[0].pc, w.program.length - bad.length);
  // A jump past the end also survives unchanged.
  const far = [jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0), stmt(BPF_RET | BPF_K, 0)];
  const w2 = wrapForLauncher(far, { secret: SECRET, otherExec: 'policy' });
  assert.equal(w2.program.slice(-2), far);
  assert.ok(verify(w2.program).length > 0);
});

test('empty and too-long programs are LaunchError BAD_FILTER', () => {
  for (const p of [[], Array.from({ length: 4090 }, () => stmt(BPF_RET | BPF_K, 0))]) {
    try {
      wrapForLauncher(p, { secret: SECRET });
      assert.unreachable();
    } catch (e) {
      assert.instance(e, LaunchError);
      assert.is((e as LaunchError).code, 'BAD_FILTER');
    }
  }
});

test('the gate\'s hard-coded facts match the generated syscall tables and arch descriptors', () => {
  assert.is(NR_EXECVE_X86_64, nr('execve'));
  const facts: [LaunchArch, ArchName, ArchName | undefined, ArchName][] = [['x86_64', 'x86_64', 'x32', 'i386'], ['aarch64', 'aarch64', undefined, 'arm']];
  for (const [launch, native, x32, compat] of facts) {
    const g = GATE_ARCHES[launch];
    assert.is(g.audit, getArch(native).auditArch >>> 0);
    assert.equal([g.execve, g.execveat], [syscallNumber(native, 'execve'), syscallNumber(native, 'execveat')]);
    assert.equal(g.nativeOthers, x32 ? [syscallNumber(x32, 'execve'), syscallNumber(x32, 'execveat')] : []);
    assert.is(g.compat.audit, getArch(compat).auditArch >>> 0);
    assert.equal(g.compat.execs, [syscallNumber(compat, 'execve'), syscallNumber(compat, 'execveat')]);
  }
});

test('aarch64 gate: the stub\'s exec allowed, arm32 and other execs killed, the rest is the policy\'s', () => {
  const g = GATE_ARCHES.aarch64;
  const program = denylist(['execve'], EPERM); // x86_64 numbers, but only its shape matters here
  const w = wrapForLauncher(program, { secret: SECRET, otherExec: 'kill', arch: 'aarch64' });
  assert.equal(verify(w.program), []);
  const p = patch(w, IP);
  const call = (nrv: number, ip = IP, arch = g.audit) => data(arch, nrv, ip, [1n, 2n, 3n, SECRET[0], SECRET[1], 0n]);
  assert.is(run(p, call(g.execve)), 'allow');
  assert.is(run(p, call(g.execve, IP + 4n)), 'kill_process');
  assert.is(run(p, call(g.execveat)), 'kill_process');
  for (const n of g.compat.execs) assert.is(run(p, call(n, IP, g.compat.audit)), 'kill_process');
  for (const n of [0, 1, 59, 63, 222, 280, 282]) assert.is(emulate(p, call(n)).value, emulate(program, call(n)).value, `nr ${n}`);
  assert.is(policyDeniesExec(ALLOW_ALL, 'aarch64'), false);
  assert.is(policyDeniesExec(allowlist(['read']), 'aarch64'), true);
});

test.run();
