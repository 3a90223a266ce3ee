import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emulate, seccompDataBytes } from '../../src/bpf/emulator.js';
import { BpfError } from '../../src/bpf/errors.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import { OPCODES, OPCODES_BY_NAME } from '../../src/bpf/opcodes.js';
import type { SeccompData } from '../../src/bpf/seccomp.js';

/** Instruction by mnemonic, so the table below reads like assembly. */
function op(name: string, k = 0, jt = 0, jf = 0): Instruction {
  const info = OPCODES_BY_NAME.get(name);
  if (!info) throw new Error(`no opcode ${name}`);
  return info.conditional ? jump(info.code, k, jt, jf) : stmt(info.code, k);
}
const retA = op('ret_a');
const ldA = (k: number) => op('ld_imm', k);
const ldX = (k: number) => op('ldx_imm', k);

const DATA: SeccompData = {
  nr: 59,
  arch: 0xc000003e,
  instructionPointer: 0x00007f0011223344n,
  args: [0x1122334455667788n, 0xffffffffffffffffn, 0n, 0x80000000_00000001n, 5n, 0xdeadbeefn],
};

/** [name, program, expected u32 result]. Each program computes A and returns it. */
const CASES: [string, Instruction[], number][] = [
  ['A and X start at 0', [op('tax'), op('add_x'), retA], 0],
  ['ret_k', [op('ret_k', 0x7fff0000)], 0x7fff0000],
  ['ld_imm', [ldA(0xffffffff), retA], 0xffffffff],
  ['ld_w_abs nr', [op('ld_w_abs', 0), retA], 59],
  ['ld_w_abs arch', [op('ld_w_abs', 4), retA], 0xc000003e],
  ['ld_w_abs ip low (little-endian)', [op('ld_w_abs', 8), retA], 0x11223344],
  ['ld_w_abs ip high (little-endian)', [op('ld_w_abs', 12), retA], 0x00007f00],
  ['ld_w_abs args[0] low (little-endian)', [op('ld_w_abs', 16), retA], 0x55667788],
  ['ld_w_abs args[0] high (little-endian)', [op('ld_w_abs', 20), retA], 0x11223344],
  ['ld_w_abs args[5] low', [op('ld_w_abs', 56), retA], 0xdeadbeef],
  ['ld_w_abs args[5] high', [op('ld_w_abs', 60), retA], 0],
  ['ld_w_len', [op('ld_w_len'), retA], 64],
  ['ldx_w_len + txa', [op('ldx_w_len'), op('txa'), retA], 64],
  ['ldx_imm + txa', [ldX(1234), op('txa'), retA], 1234],
  ['tax copies A to X (not X to A)', [ldA(7), op('tax'), ldA(1), op('txa'), retA], 7],
  ['txa copies X to A', [ldX(9), ldA(3), op('txa'), retA], 9],
  ['st + ld_mem', [ldA(11), op('st', 15), ldA(0), op('ld_mem', 15), retA], 11],
  ['stx + ldx_mem', [ldX(12), op('stx', 0), ldX(0), op('ldx_mem', 0), op('txa'), retA], 12],
  ['scratch cells are separate', [ldA(1), op('st', 3), ldA(2), op('st', 4), op('ld_mem', 3), retA], 1],
  ['add_k wraps', [ldA(0xffffffff), op('add_k', 2), retA], 1],
  ['add_x wraps', [ldA(0x80000000), ldX(0x80000000), op('add_x'), retA], 0],
  ['sub_k wraps below 0', [ldA(1), op('sub_k', 2), retA], 0xffffffff],
  ['sub_x', [ldA(10), ldX(3), op('sub_x'), retA], 7],
  ['mul_k wraps (low 32 bits of the product)', [ldA(0x10001), op('mul_k', 0x10001), retA], 0x20001],
  ['mul_x large', [ldA(0xffffffff), ldX(0xffffffff), op('mul_x'), retA], 1],
  ['div_k unsigned', [ldA(0xffffffff), op('div_k', 2), retA], 0x7fffffff],
  ['div_k truncates', [ldA(7), op('div_k', 2), retA], 3],
  ['div_x', [ldA(100), ldX(7), op('div_x'), retA], 14],
  ['div_x by 0 ends the filter with 0', [ldA(100), ldX(0), op('div_x'), op('ret_k', 0x7fff0000)], 0],
  ['or_k', [ldA(0xf0), op('or_k', 0x0f), retA], 0xff],
  ['or_x high bit', [ldA(1), ldX(0x80000000), op('or_x'), retA], 0x80000001],
  ['and_k', [ldA(0xff00ff00), op('and_k', 0x0ff00ff0), retA], 0x0f000f00],
  ['and_x', [ldA(0xffffffff), ldX(0x80000001), op('and_x'), retA], 0x80000001],
  ['xor_k', [ldA(0xffffffff), op('xor_k', 0x0f0f0f0f), retA], 0xf0f0f0f0],
  ['xor_x', [ldA(5), ldX(5), op('xor_x'), retA], 0],
  ['lsh_k drops high bits', [ldA(0x80000001), op('lsh_k', 1), retA], 2],
  ['lsh_k 31', [ldA(3), op('lsh_k', 31), retA], 0x80000000],
  ['lsh_x', [ldA(1), ldX(4), op('lsh_x'), retA], 16],
  ['lsh_x by 32 shifts by 0 (count & 31)', [ldA(5), ldX(32), op('lsh_x'), retA], 5],
  ['lsh_x by 33 shifts by 1', [ldA(5), ldX(33), op('lsh_x'), retA], 10],
  ['rsh_k is logical', [ldA(0x80000000), op('rsh_k', 31), retA], 1],
  ['rsh_x', [ldA(0x100), ldX(4), op('rsh_x'), retA], 0x10],
  ['rsh_x by 0xffffffff shifts by 31', [ldA(0x80000000), ldX(0xffffffff), op('rsh_x'), retA], 1],
  ['neg', [ldA(1), op('neg'), retA], 0xffffffff],
  ['neg of 0', [op('neg'), retA], 0],
  ['neg of 0x80000000', [ldA(0x80000000), op('neg'), retA], 0x80000000],
  ['ja skips', [op('ja', 1), op('ret_k', 1), op('ret_k', 2)], 2],
  ['ja 0 is the next instruction', [op('ja', 0), op('ret_k', 3)], 3],
  ['jeq_k true', [ldA(5), op('jeq_k', 5, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jeq_k false', [ldA(6), op('jeq_k', 5, 1, 0), op('ret_k', 1), op('ret_k', 2)], 1],
  ['jeq_k high-bit constant', [ldA(0xffffffff), op('jeq_k', 0xffffffff, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jeq_x', [ldA(5), ldX(5), op('jeq_x', 0, 0, 1), op('ret_k', 1), op('ret_k', 2)], 1],
  ['jgt_k is unsigned', [ldA(0x80000000), op('jgt_k', 1, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jgt_k equal is false', [ldA(1), op('jgt_k', 1, 1, 0), op('ret_k', 1), op('ret_k', 2)], 1],
  ['jgt_x', [ldA(2), ldX(1), op('jgt_x', 0, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jge_k equal is true', [ldA(1), op('jge_k', 1, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jge_x less is false', [ldA(0), ldX(1), op('jge_x', 0, 1, 0), op('ret_k', 1), op('ret_k', 2)], 1],
  ['jset_k any common bit', [ldA(0x80000010), op('jset_k', 0x10, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jset_k no common bit', [ldA(0x0f), op('jset_k', 0xf0, 1, 0), op('ret_k', 1), op('ret_k', 2)], 1],
  ['jset_x', [ldA(0x80000000), ldX(0x80000000), op('jset_x', 0, 1, 0), op('ret_k', 1), op('ret_k', 2)], 2],
  ['jt 2 from pc 1 lands on pc 4', [ldA(1), op('jeq_k', 1, 2, 3), op('ret_k', 1), op('ret_k', 2), op('ret_k', 3), op('ret_k', 4), op('ret_k', 5)], 3],
  ['jf 3 from pc 1 lands on pc 5', [ldA(0), op('jeq_k', 1, 2, 3), op('ret_k', 1), op('ret_k', 2), op('ret_k', 3), op('ret_k', 4), op('ret_k', 5)], 4],
];

test('every opcode computes what the kernel computes', () => {
  const seen = new Set<string>();
  for (const [name, prog, want] of CASES) {
    const r = emulate(prog, DATA, { trace: true });
    assert.is(r.value, want, name);
    assert.is(r.action.value, want, name);
    for (const s of r.trace!) seen.add(OPCODES.get(s.insn.code)!.name);
  }
  // The table must exercise every opcode a seccomp filter may contain.
  const missing = [...OPCODES.values()].filter((o) => o.seccomp && !seen.has(o.name)).map((o) => o.name);
  assert.equal(missing, []);
});

test('big-endian: args[i] high half at 16+8i, low half at 20+8i', () => {
  const cases: [number, number][] = [[0, 59], [4, 0xc000003e], [8, 0x00007f00], [12, 0x11223344], [16, 0x11223344], [20, 0x55667788], [40, 0x80000000], [44, 1], [56, 0], [60, 0xdeadbeef]];
  for (const [k, want] of cases) assert.is(emulate([op('ld_w_abs', k), retA], DATA, { endian: 'big' }).value, want, `k=${k}`);
  assert.is(emulate([op('ld_w_abs', 44), retA], DATA, { endian: 'little' }).value, 0x80000000);
});

test('seccompDataBytes layout, both byte orders', () => {
  const d: SeccompData = { nr: 1, arch: 0x01020304, instructionPointer: 0x0a0b0c0d0e0f1011n, args: [0x1122n] };
  const le = seccompDataBytes(d);
  assert.is(le.length, 64);
  assert.equal([...le.subarray(0, 24)], [1, 0, 0, 0, 4, 3, 2, 1, 0x11, 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x22, 0x11, 0, 0, 0, 0, 0, 0]);
  const be = seccompDataBytes(d, 'big');
  assert.equal([...be.subarray(0, 24)], [0, 0, 0, 1, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0, 0, 0, 0, 0, 0, 0x11, 0x22]);
  assert.ok(le.subarray(24).every((b) => b === 0), 'missing args are 0');
  // Negative syscall numbers and args are stored modulo 2^32 / 2^64.
  const neg = seccompDataBytes({ nr: -1, arch: 0, instructionPointer: 0n, args: [-1n] });
  assert.ok(neg.subarray(0, 4).every((b) => b === 0xff) && neg.subarray(16, 24).every((b) => b === 0xff));
});

test('result: action decoded, executed count, trace has registers before each step', () => {
  const prog = [ldA(3), op('tax'), op('add_k', 0x50000), retA];
  const r = emulate(prog, DATA, { trace: true });
  assert.is(r.value, 0x50003);
  assert.equal(r.action, { name: 'errno', data: 3, value: 0x50003 });
  assert.is(r.executed, 4);
  assert.equal(r.trace!.map((s) => [s.pc, s.a, s.x]), [[0, 0, 0], [1, 3, 0], [2, 3, 3], [3, 0x50003, 3]]);
  assert.is(r.trace![2].insn, prog[2]);
  assert.is(emulate(prog, DATA).trace, undefined);
  assert.is(emulate([op('ja', 1), op('ret_k', 0), op('ret_k', 0x7fff0000)], DATA).executed, 2);
});

const BAD: [string, Instruction[], number, EmulateOpts?][] = [
  ['unknown opcode', [stmt(0xffff), retA], 0],
  ['classic but not seccomp (mod_k)', [op('mod_k', 3), retA], 0],
  ['classic but not seccomp (ld_b_abs)', [op('ld_b_abs', 0), retA], 0],
  ['classic but not seccomp (ldx_b_msh)', [op('ldx_b_msh', 0), retA], 0],
  ['ld_w_abs unaligned', [op('ld_w_abs', 2), retA], 0],
  ['ld_w_abs past seccomp_data', [op('ld_w_abs', 64), retA], 0],
  ['div_k by 0', [op('div_k', 0), retA], 0],
  ['lsh_k by 32', [op('lsh_k', 32), retA], 0],
  ['st index 16', [op('st', 16), retA], 0],
  ['ld_mem of an unstored cell', [op('st', 1), op('ld_mem', 2), retA], 1],
  ['ja out of range', [op('ja', 1), retA], 0],
  ['jeq jt out of range', [op('jeq_k', 0, 5, 0), retA], 0],
  ['falls off the end', [ldA(1)], 1],
  ['maxSteps', [ldA(1), ldA(2), retA], 2, { maxSteps: 2 }],
];
type EmulateOpts = Parameters<typeof emulate>[2];

test('invalid programs throw BpfError EMULATE with the pc', () => {
  for (const [name, prog, pc, opts] of BAD) {
    try {
      emulate(prog, DATA, opts);
      assert.unreachable(name);
    } catch (e) {
      assert.instance(e, BpfError, name);
      const err = e as BpfError;
      assert.is(err.code, 'EMULATE', name);
      assert.is(err.pc, pc, name);
      assert.not.match(err.message, /\n/);
    }
  }
});

test.run();
