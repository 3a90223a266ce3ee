/**
 * Our verifier and emulator against the running kernel.
 *
 * 1. Random and mutated programs: verify() must accept exactly what seccomp(SECCOMP_SET_MODE_FILTER)
 *    accepts (and every kernel refusal must be EINVAL).
 * 2. Filters that compute ERRNO(n) from seccomp_data (nr and the six arguments, through ALU ops,
 *    X, scratch memory and jumps): the errno a real call gets must be what emulate() predicts,
 *    including the kernel's clamp to 4095, ERRNO(0) meaning success, and division by X == 0
 *    ending the filter with 0 (kill).
 *
 * Each program is tried in its own forked child of a small C helper (test/fixtures/apply/probe.c,
 * built with gcc), since an accepted filter stays installed in the process that loaded it.
 * SEED and KV_COUNT (programs for part 1; part 2 uses a third of it) come from the environment.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { emulate } from '../../src/bpf/emulator.js';
import { jump, stmt, type Instruction, type Program } from '../../src/bpf/insn.js';
import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_AND, BPF_DIV, BPF_IMM, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K,
  BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MAXINSNS, BPF_MEM, BPF_MISC, BPF_MUL, BPF_NEG, BPF_OR, BPF_RET, BPF_RSH, BPF_ST,
  BPF_STX, BPF_SUB, BPF_TAX, BPF_TXA, BPF_W, BPF_X, BPF_XOR, OPCODES,
} from '../../src/bpf/opcodes.js';
import { MAX_ERRNO, SECCOMP_RET_ERRNO } from '../../src/bpf/seccomp.js';
import { disassemble } from '../../src/bpf/text.js';
import { verify, type VerifyRule } from '../../src/bpf/verifier.js';
import { needTool, rng, testSeed } from '../_util/tools.js';
import { AUDIT_ARCH_X86_64, buildCFixture, X86_64_LINUX } from './_child.js';

const COUNT = Number(process.env.KV_COUNT ?? 3000);
const EINVAL = 22;

const HAVE_GCC = needTool('gcc');
if (!X86_64_LINUX) process.stdout.write(`  SKIP: kernel comparisons need Linux on x86_64 (this is ${process.platform}/${process.arch})\n`);
const it = X86_64_LINUX && HAVE_GCC ? test : test.skip;

let probe = '';
test.before(() => {
  if (X86_64_LINUX && HAVE_GCC) probe = buildCFixture('probe');
});

const flat = (p: Program) => `${p.length} ${p.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}`).join(' ')}`;

/** Feed the probe one line per case; one output line per case back. */
function askKernel(lines: string[]): string[] {
  const r = spawnSync(probe, [], { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120000, killSignal: 'SIGKILL' });
  if (r.error) throw r.error;
  const out = r.stdout.trim().split('\n');
  assert.is(r.status, 0, `probe exited with ${r.status} ${r.signal}: ${r.stderr}`);
  assert.is(out.length, lines.length, 'one answer per case');
  return out;
}

function show(p: Program): string {
  try {
    return disassemble(p);
  } catch {
    return flat(p);
  }
}

// ---------------------------------------------------------------- part 1: what loads

const ALL = [...OPCODES.values()];
const SECCOMP_OPS = ALL.filter((o) => o.seccomp);
const CLASSIC_ONLY = ALL.filter((o) => o.classic && !o.seccomp);
const EDGE_K = [0, 1, 2, 3, 4, 8, 15, 16, 17, 31, 32, 33, 60, 61, 62, 63, 64, 65, 68, 0x7fff0000, 0x80000000, 0xffffffff];
const MEM_CODES = [BPF_ST, BPF_STX, BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM];

function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const u32 = () => (int(0x10000) * 0x10000 + int(0x10000)) >>> 0;

  const randomK = (span: number) => (r() < 0.45 ? pick(EDGE_K) : r() < 0.5 ? int(Math.max(span + 2, 2)) : u32());
  /** A jump offset: mostly in range, sometimes exactly at or past the end. */
  const offset = (span: number) => {
    const p = r();
    if (p < 0.8) return int(Math.max(span, 1));
    if (p < 0.95) return Math.min(255, Math.max(0, span - 1 + int(2))); // the last valid offset, or one past it
    return 255;
  };

  function code(): number {
    const p = r();
    if (p < 0.72) return pick(SECCOMP_OPS).code;
    if (p < 0.82) return pick(MEM_CODES);
    if (p < 0.9) return pick(CLASSIC_ONLY).code;
    if (p < 0.97) return (pick(SECCOMP_OPS).code ^ (1 << int(16))) & 0xffff; // one stray bit
    return int(0x10000);
  }

  function random(): Instruction[] {
    const n = r() < 0.003 ? BPF_MAXINSNS + int(2) : r() < 0.005 ? 0 : 1 + int(r() < 0.8 ? 10 : 40);
    const out: Instruction[] = [];
    for (let pc = 0; pc < n; pc++) {
      const span = n - pc - 1;
      let c = n > 64 ? (pc === n - 1 ? BPF_RET | BPF_K : BPF_JMP | BPF_JA) : code();
      if (pc === n - 1 && n <= 64 && r() < 0.8) c = r() < 0.6 ? BPF_RET | BPF_K : BPF_RET | BPF_A;
      const info = OPCODES.get(c);
      if (info?.conditional) out.push(jump(c, randomK(span), offset(span), offset(span)));
      else if (c === (BPF_JMP | BPF_JA)) out.push(stmt(c, n > 64 ? 0 : r() < 0.85 ? int(Math.max(span, 1)) : span + int(3) - 1));
      else if (MEM_CODES.includes(c)) out.push(stmt(c, r() < 0.9 ? int(4) : pick([15, 16, 17])));
      else out.push({ code: c, jt: r() < 0.9 ? 0 : int(256), jf: r() < 0.9 ? 0 : int(256), k: randomK(span) });
    }
    return out;
  }

  /** A program the verifier accepts (drawn until one is), then one field changed. */
  function mutated(): Instruction[] {
    let p: Instruction[];
    do p = random(); while (p.length === 0 || p.length > 64 || verify(p).length > 0);
    const pc = int(p.length);
    const i = p[pc];
    const f = int(5);
    const q = [...p];
    if (f === 0) q[pc] = { ...i, code: r() < 0.5 ? pick(ALL).code : (i.code ^ (1 << int(16))) & 0xffff };
    else if (f === 1) q[pc] = { ...i, k: pick(EDGE_K) };
    else if (f === 2) q[pc] = { ...i, jt: (i.jt + pick([1, 255, p.length - pc - 1 - i.jt])) & 0xff };
    else if (f === 3) q[pc] = { ...i, jf: (i.jf + pick([1, 255, p.length - pc - 1 - i.jf])) & 0xff };
    else q.splice(pc, 1);
    return q;
  }

  return { random, mutated };
}

it('verify() accepts exactly the programs the kernel accepts (random and mutated)', () => {
  const seed = testSeed('kernel vs verify()');
  const g = generator(seed);
  const programs = Array.from({ length: COUNT }, (_, n) => (n % 3 === 2 ? g.mutated() : g.random()));
  const answers = askKernel(programs.map((p) => `load ${flat(p)}`));

  const mismatches: string[] = [];
  const soleRule = new Map<VerifyRule, number>();
  let accepted = 0;
  programs.forEach((p, n) => {
    const problems = verify(p);
    const kernel = Number(answers[n]);
    if (kernel === 0) accepted++;
    else if (kernel !== EINVAL) mismatches.push(`#${n}: the kernel refused with errno ${kernel}, not EINVAL`);
    const rules = new Set(problems.map((x) => x.rule));
    if (rules.size === 1) {
      const [only] = rules;
      soleRule.set(only, (soleRule.get(only) ?? 0) + 1);
    }
    if ((problems.length === 0) !== (kernel === 0)) {
      mismatches.push(`#${n}: kernel ${kernel === 0 ? 'accepts' : `refuses (errno ${kernel})`}, verify() ${problems.length ? `says: ${problems.map((x) => x.message).join('; ')}` : 'accepts'}\n${show(p)}`);
    }
  });
  const rules = [...soleRule].map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(`  kernel vs verify(): ${programs.length} programs, ${accepted} accepted, ${programs.length - accepted} refused; refused for one reason only: ${rules}\n`);
  assert.equal(mismatches.slice(0, 5), [], `SEED=${seed}: ${mismatches.length} disagreements`);
  // Not vacuous: both outcomes are common, and every rejection rule is seen on its own.
  assert.ok(accepted > programs.length / 10 && accepted < programs.length * 0.9, `accepted ${accepted} of ${programs.length}`);
  if (programs.length >= 2000) {
    for (const rule of ['opcode', 'k', 'jump-range', 'last-not-ret', 'uninitialized-mem'] as VerifyRule[]) {
      assert.ok((soleRule.get(rule) ?? 0) > 0, `no program was refused for "${rule}" alone (SEED=${seed})`);
    }
  }
});

// ---------------------------------------------------------------- part 2: what runs

const ALU_K_OPS = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_XOR];
const JMP_OPS = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET];
/** seccomp_data words the programs read: nr, arch, and both halves of every argument (not ip, which the test cannot know). */
const DATA_WORDS = [0, 4, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60];
const SAFE_NRS = [39, 102, 104, 110, 186, 0x40000027, 999];

function errnoProgram(r: () => number): Instruction[] {
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const smallK = () => (r() < 0.5 ? int(40) : r() < 0.5 ? pick([0xff, 0xfff, 0x1000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff]) : int(0x100000000));
  const body: Instruction[] = [];
  // Scratch cells 0..3 hold data words from the start, so any later load of them is valid.
  for (let m = 0; m < 4; m++) body.push(stmt(BPF_LD | BPF_W | BPF_ABS, pick(DATA_WORDS)), stmt(BPF_ST, m));
  const n = 3 + int(14);
  for (let i = 0; i < n; i++) {
    const p = r();
    if (p < 0.2) body.push(stmt(BPF_LD | BPF_W | BPF_ABS, pick(DATA_WORDS)));
    else if (p < 0.45) {
      const op = pick(ALU_K_OPS);
      const k = op === BPF_DIV ? 1 + int(1000) : op === BPF_LSH || op === BPF_RSH ? int(32) : smallK();
      body.push(stmt(BPF_ALU | op | BPF_K, k));
    } else if (p < 0.6) body.push(stmt(BPF_ALU | pick(ALU_K_OPS) | BPF_X)); // by X: division by 0 and shifts >= 32 happen
    else if (p < 0.65) body.push(stmt(BPF_ALU | BPF_NEG));
    else if (p < 0.72) body.push(stmt(pick([BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA])));
    else if (p < 0.8) body.push(stmt(pick([BPF_LDX | BPF_W | BPF_IMM, BPF_LD | BPF_W | BPF_IMM]), smallK()));
    else if (p < 0.86) body.push(stmt(pick([BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX]), int(4)));
    else if (p < 0.9) body.push(stmt(pick([BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN])));
    else body.push(jump(BPF_JMP | pick(JMP_OPS) | (r() < 0.5 ? BPF_K : BPF_X), smallK(), 0, 0)); // offsets set below
  }
  // The tail: keep the low bits (sometimes above MAX_ERRNO, to see the clamp), make it ERRNO, return A.
  const tail = [stmt(BPF_ALU | BPF_AND | BPF_K, r() < 0.7 ? 0xfff : 0x1fff), stmt(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO), stmt(BPF_RET | BPF_A)];
  // Conditional jumps go forward, at most to the first tail instruction.
  const fixed = body.map((insn, pc) => (OPCODES.get(insn.code)?.conditional ? jump(insn.code, insn.k, int(body.length - pc), int(body.length - pc)) : insn));
  return [...fixed, ...tail];
}

it('ERRNO computed from seccomp_data: the errno a real call gets is what emulate() predicts', () => {
  const seed = testSeed('kernel vs emulate()');
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const u64 = () => (BigInt(int(0x100000000)) << 32n) | BigInt(int(0x100000000));
  const arg = () => (r() < 0.3 ? BigInt(int(64)) : r() < 0.1 ? 0xffffffffffffffffn : u64());
  const cases = Array.from({ length: Math.max(1, Math.floor(COUNT / 3)) }, () => {
    const program = errnoProgram(r);
    const nr = SAFE_NRS[int(SAFE_NRS.length)];
    const args = Array.from({ length: 6 }, arg);
    return { program, nr, args };
  });
  for (const c of cases) assert.equal(verify(c.program), [], 'the generator makes only valid programs');
  const answers = askKernel(cases.map((c) => `run ${c.nr} ${c.args.join(' ')} ${flat(c.program)}`));

  const mismatches: string[] = [];
  const seen = { errno: 0, clamped: 0, zero: 0, killed: 0 };
  cases.forEach((c, n) => {
    const res = emulate(c.program, { nr: c.nr, arch: AUDIT_ARCH_X86_64, instructionPointer: 0n, args: c.args });
    let expected: string;
    if (res.action.name === 'errno') {
      const e = Math.min(res.action.data, MAX_ERRNO);
      expected = e === 0 ? '0 0' : `-1 ${e}`;
      if (res.action.data > MAX_ERRNO) seen.clamped++;
      else if (e === 0) seen.zero++;
      else seen.errno++;
    } else if (res.action.name === 'kill_thread' || res.action.name === 'kill_process') {
      expected = 'signal 31';
      seen.killed++;
    } else {
      expected = `(unexpected action ${res.action.name})`;
    }
    if (answers[n] !== expected) {
      mismatches.push(`#${n}: syscall(${c.nr}, ${c.args.join(', ')}): kernel "${answers[n]}", emulate() "${expected}" (0x${res.value.toString(16)})\n${show(c.program)}`);
    }
  });
  process.stdout.write(`  kernel vs emulate(): ${cases.length} calls: ${seen.errno} plain errno, ${seen.clamped} clamped to 4095, ${seen.zero} ERRNO(0), ${seen.killed} killed (filter returned 0)\n`);
  assert.equal(mismatches.slice(0, 5), [], `SEED=${seed}: ${mismatches.length} disagreements`);
  assert.ok(seen.errno > 0 && seen.clamped + seen.zero + seen.killed > 0, 'not vacuous');
});

test.run();
