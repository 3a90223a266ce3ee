import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Assembler } from '../../src/bpf/builder.js';
import { emulate } from '../../src/bpf/emulator.js';
import { BpfError } from '../../src/bpf/errors.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import {
  BPF_A, BPF_ABS, BPF_ADD, BPF_ALU, BPF_JA, BPF_JEQ, BPF_JGT, BPF_JMP, BPF_JSET, BPF_K, BPF_LD, BPF_RET, BPF_W, BPF_X, opInfo,
} from '../../src/bpf/opcodes.js';
import type { SeccompData } from '../../src/bpf/seccomp.js';
import { verify } from '../../src/bpf/verifier.js';
import { rng, testSeed } from '../_util/tools.js';

const LD_NR = stmt(BPF_LD | BPF_W | BPF_ABS, 0);
const JEQ = BPF_JMP | BPF_JEQ | BPF_K;
const ADD1 = stmt(BPF_ALU | BPF_ADD | BPF_K, 1);
const RET_A = stmt(BPF_RET | BPF_A);
const ret = (k: number) => stmt(BPF_RET | BPF_K, k);
const sd = (nr: number): SeccompData => ({ nr, arch: 0, instructionPointer: 0n, args: [] });

function throwsCode(fn: () => unknown, code: string, pc?: number): BpfError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, BpfError);
    const err = e as BpfError;
    assert.is(err.code, code, err.message);
    if (pc !== undefined) assert.is(err.pc, pc);
    assert.not.match(err.message, /\n/);
    return err;
  }
  assert.unreachable(`expected BpfError ${code}`);
  throw new Error('unreachable');
}

test('plain program without jumps is returned unchanged', () => {
  const p = new Assembler().emit(LD_NR).emit(ret(5)).assemble();
  assert.equal(p, [LD_NR, ret(5)]);
  assert.is(p[0], LD_NR, 'non-jump instructions keep their identity (the text assembler relies on it)');
});

test('near jumps resolve to plain offsets; null means the next instruction', () => {
  const a = new Assembler();
  a.emit(LD_NR).jump(JEQ, 7, 'yes', null).emit(ret(1)).label('yes').emit(ret(2));
  assert.is(a.length, 4);
  const p = a.assemble();
  assert.equal(p[1], jump(JEQ, 7, 1, 0));
  assert.is(emulate(p, sd(7)).value, 2);
  assert.is(emulate(p, sd(8)).value, 1);
});

test('ja resolves to k and the program verifies', () => {
  const p = new Assembler().emit(LD_NR).ja('end').emit(ret(1)).emit(ret(2)).label('end').emit(ret(3)).assemble();
  assert.equal(p[1], stmt(BPF_JMP | BPF_JA, 2));
  assert.equal(verify(p), []);
  assert.is(emulate(p, sd(0)).value, 3);
});

/**
 * Exhaustive long-branch check: the jump at item 1 sends jt to item 2+dt and jf to item 2+df;
 * the items after it are `A += 1` and the program ends with `RET A`, so the result counts how
 * many items ran after landing and proves the exact landing spot and intact fall-through.
 */
const DISTANCES = [0, 1, 2, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260];
test('branch offsets 250..260 (jt, jf, one or both far) land on the intended instruction', () => {
  const FILL = 265;
  let trampolined = 0;
  for (const dt of DISTANCES) {
    for (const df of DISTANCES) {
      const a = new Assembler();
      a.emit(stmt(BPF_LD | BPF_W | BPF_ABS, 0)).jump(JEQ, 7, dt === 0 ? null : `t${dt}`, df === 0 ? null : `f${df}`);
      for (let i = 0; i < FILL; i++) {
        if (i === dt && i > 0) a.label(`t${dt}`);
        if (i === df && i > 0) a.label(`f${df}`);
        a.emit(ADD1);
      }
      a.emit(RET_A);
      const p = a.assemble();
      assert.equal(verify(p), [], `dt=${dt} df=${df}`);
      if (p.length > a.length) trampolined++;
      assert.is(p.length > a.length, dt > 255 || df > 255, `trampolines only when needed: dt=${dt} df=${df}`);
      // Taken: A = 7 + adds from item 2+dt to the end; not taken: A = 8 + ...
      assert.is(emulate(p, sd(7)).value, 7 + FILL - dt, `jt dt=${dt} df=${df}`);
      assert.is(emulate(p, sd(8)).value, 8 + FILL - df, `jf dt=${dt} df=${df}`);
      for (const insn of p) if (opInfo(insn.code)?.conditional) assert.ok(insn.jt <= 255 && insn.jf <= 255);
    }
  }
  assert.ok(trampolined > 0);
});

test('both branches to the same far label share one trampoline', () => {
  const a = new Assembler().emit(LD_NR).jump(JEQ, 1, 'far', 'far');
  for (let i = 0; i < 300; i++) a.emit(ret(i));
  a.label('far').emit(ret(999));
  const p = a.assemble();
  assert.is(p.length, a.length + 1);
  assert.equal(p[1], jump(JEQ, 1, 0, 0));
  assert.is(emulate(p, sd(1)).value, 999);
  assert.is(emulate(p, sd(2)).value, 999);
});

test('a chain of far jumps converges (trampolines push other jumps over 255)', () => {
  // Many consecutive jumps to one label just over 255 away: each inserted trampoline pushes the
  // earlier jumps farther, so resolution must iterate.
  const a = new Assembler().emit(LD_NR);
  const JUMPS = 20;
  for (let j = 0; j < JUMPS; j++) a.jump(JEQ, j, 'hit', null);
  for (let i = 0; i < 240; i++) a.emit(ret(5000 + i));
  a.label('hit').emit(ret(777));
  const p = a.assemble();
  assert.equal(verify(p), []);
  for (let j = 0; j < JUMPS; j++) assert.is(emulate(p, sd(j)).value, 777, `nr=${j}`);
  assert.is(emulate(p, sd(JUMPS)).value, 5000);
});

test('raw jump offsets given to emit() keep their meaning across trampolines', () => {
  const a = new Assembler().emit(LD_NR);
  a.emit(jump(JEQ, 3, 0, 2)); // item 1: jt -> item 2, jf -> item 4
  a.emit(ret(11)); // 2
  a.emit(stmt(BPF_JMP | BPF_JA, 300)); // 3 -> item 304
  a.jump(JEQ, 4, 'far', null); // 4
  for (let i = 0; i < 299; i++) a.emit(ret(100 + i)); // 5..303
  a.emit(ret(22)); // 304
  a.label('far').emit(ret(33)); // 305
  const p = a.assemble();
  assert.ok(p.length > a.length);
  assert.equal(verify(p), []);
  assert.is(emulate(p, sd(3)).value, 11);
  assert.is(emulate(p, sd(4)).value, 33);
  assert.is(emulate(p, sd(5)).value, 100);
});

test('label errors are typed and carry pc and line', () => {
  throwsCode(() => new Assembler().label('x', 1).emit(ret(0)).label('x', 2), 'LABEL_DUPLICATE', 1);
  throwsCode(() => new Assembler().emit(LD_NR).jump(JEQ, 1, 'nowhere', null).emit(ret(0)).assemble(), 'LABEL_UNDEFINED', 1);
  throwsCode(() => new Assembler().emit(LD_NR).ja('nowhere').emit(ret(0)).assemble(), 'LABEL_UNDEFINED', 1);
  // A label before the jump, and a label on the jump itself (an infinite loop), are backward.
  throwsCode(() => new Assembler().label('top').emit(LD_NR).jump(JEQ, 1, 'top', null, 7).emit(ret(0)).assemble(), 'LABEL_BACKWARD', 1);
  const e = throwsCode(() => new Assembler().emit(LD_NR).label('self').ja('self', 9).emit(ret(0)).assemble(), 'LABEL_BACKWARD', 1);
  assert.is(e.line, 9);
  assert.match(e.message, /line 9/);
  // A label right after the jump is the next instruction: forward, offset 0.
  const p = new Assembler().emit(LD_NR).jump(JEQ, 1, null, 'next').label('next').emit(ret(0)).assemble();
  assert.equal(p[1], jump(JEQ, 1, 0, 0));
});

test('a label at the very end is fine unless something jumps there', () => {
  const ok = new Assembler().emit(ret(0)).label('end').assemble();
  assert.equal(ok, [ret(0)]);
  throwsCode(() => new Assembler().emit(LD_NR).jump(JEQ, 1, 'end', null).emit(ret(0)).label('end').assemble(), 'ASSEMBLE', 1);
  throwsCode(() => new Assembler().emit(LD_NR).jump(JEQ, 1, null, null).assemble(), 'ASSEMBLE', 1);
  throwsCode(() => new Assembler().emit(jump(JEQ, 1, 5, 0)).emit(ret(0)).assemble(), 'ASSEMBLE', 0);
});

test('jump() rejects opcodes that are not conditional jumps', () => {
  for (const code of [BPF_JMP | BPF_JA, BPF_RET | BPF_K, 0xffff]) throwsCode(() => new Assembler().jump(code, 0, null, null), 'ASSEMBLE', 0);
  new Assembler().jump(BPF_JMP | BPF_JSET | BPF_X, 0, null, null); // accepted
});

/**
 * Differential: random label programs run through a direct interpreter of the item list and
 * through assemble() + emulate() must agree. Gaps of ~250 force trampolines at random spots.
 */
type Op = { t: 'add'; k: number } | { t: 'jmp'; code: number; k: number; jt: number | null; jf: number | null } | { t: 'ja'; to: number } | { t: 'ret' };
test('random label programs: assembled program behaves like the item list', () => {
  const seed = testSeed('builder random');
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const CODES = [BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JSET | BPF_K];
  let grown = 0;
  for (let c = 0; c < 60; c++) {
    const n = 20 + int(700);
    const ops: Op[] = [];
    for (let i = 0; i < n - 1; i++) {
      const far = () => Math.min(n - 1, i + 1 + (r() < 0.5 ? int(6) : 240 + int(30)));
      const pick = r();
      if (pick < 0.4) ops.push({ t: 'add', k: int(5) });
      else if (pick < 0.8) {
        const jt = far();
        const jf = far();
        ops.push({ t: 'jmp', code: CODES[int(3)], k: int(40), jt: jt === i + 1 ? null : jt, jf: jf === i + 1 ? null : jf });
      } else if (pick < 0.9) ops.push({ t: 'ja', to: far() });
      else ops.push({ t: 'ret' });
    }
    ops.push({ t: 'ret' });
    const targets = new Set<number>();
    for (const o of ops) {
      if (o.t === 'jmp') [o.jt, o.jf].forEach((x) => x !== null && targets.add(x));
      if (o.t === 'ja') targets.add(o.to);
    }
    const a = new Assembler().emit(LD_NR);
    ops.forEach((o, i) => {
      if (targets.has(i)) a.label(`L${i}`);
      if (o.t === 'add') a.emit(stmt(BPF_ALU | BPF_ADD | BPF_K, o.k));
      else if (o.t === 'ret') a.emit(RET_A);
      else if (o.t === 'ja') a.ja(`L${o.to}`);
      else a.jump(o.code, o.k, o.jt === null ? null : `L${o.jt}`, o.jf === null ? null : `L${o.jf}`);
    });
    const p: Instruction[] = a.assemble();
    if (p.length > a.length) grown++;
    assert.equal(verify(p), [], `seed ${seed} case ${c}`);
    for (let t = 0; t < 5; t++) {
      const nr = int(50);
      let A = nr;
      let i = 0;
      for (;;) {
        const o = ops[i];
        if (o.t === 'ret') break;
        if (o.t === 'add') { A = (A + o.k) >>> 0; i++; continue; }
        if (o.t === 'ja') { i = o.to; continue; }
        const opn = opInfo(o.code)!.effect;
        const taken = opn.kind === 'jmp' && (opn.op === 'jeq' ? A === o.k : opn.op === 'jgt' ? A > o.k : (A & o.k) !== 0);
        const next = taken ? o.jt : o.jf;
        i = next === null ? i + 1 : next;
      }
      assert.is(emulate(p, sd(nr)).value, A, `seed ${seed} case ${c} nr ${nr}`);
    }
  }
  assert.ok(grown > 10, `only ${grown} programs needed trampolines`);
});

test.run();
