import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BpfError } from '../../src/bpf/errors.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import { OPCODES, OPCODES_BY_NAME } from '../../src/bpf/opcodes.js';
import { assertValid, verify, type VerifyRule } from '../../src/bpf/verifier.js';

function op(name: string, k = 0, jt = 0, jf = 0): Instruction {
  const info = OPCODES_BY_NAME.get(name);
  if (!info) throw new Error(`no opcode ${name}`);
  return info.conditional ? jump(info.code, k, jt, jf) : stmt(info.code, k);
}
const RET = op('ret_k', 0x7fff0000);
const raw = (code: number, k = 0) => stmt(code, k);
const rets = (n: number) => new Array<Instruction>(n).fill(RET);

/**
 * Rejections, one row per rule (and per quirk): [name, program, rule, pc, message fragment].
 * The rows here and in ACCEPT were also checked once against a running x86-64 kernel (6.18):
 * prctl(PR_SET_SECCOMP) failed with EINVAL for every non-empty REJECT row and succeeded for every ACCEPT row.
 */
const REJECT: [string, Instruction[], VerifyRule, number, RegExp][] = [
  ['empty', [], 'length', -1, /empty/],
  ['4097 instructions', rets(4097), 'length', -1, /4097 instructions/],
  ['unknown opcode', [raw(0xffff), RET], 'opcode', 0, /opcode 0xffff.*not a classic/],
  ['RET with the X bit', [raw(0x06 | 0x08)], 'opcode', 0, /opcode 0x0e/],
  ['NEG with the X bit', [raw(0x84 | 0x08), RET], 'opcode', 0, /not a classic/],
  ['ST with extra bits', [raw(0x02 | 0x08), RET], 'opcode', 0, /not a classic/],
  ['LD IMM with a size bit', [raw(0x00 | 0x08), RET], 'opcode', 0, /not a classic/],
  ['code above 0xff', [raw(0x106), RET], 'opcode', 0, /not a classic/],
  ['MOD K is classic, not seccomp', [op('mod_k', 3), RET], 'opcode', 0, /\(mod_k\).*not allowed in a seccomp/],
  ['MOD X is classic, not seccomp', [op('mod_x'), RET], 'opcode', 0, /mod_x/],
  ['LD H ABS is not seccomp', [op('ld_h_abs', 0), RET], 'opcode', 0, /ld_h_abs/],
  ['LD B ABS is not seccomp', [op('ld_b_abs', 0), RET], 'opcode', 0, /ld_b_abs/],
  ['LD W IND is not seccomp', [op('ld_w_ind', 0), RET], 'opcode', 0, /ld_w_ind/],
  ['LDX B MSH is not seccomp', [op('ldx_b_msh', 0), RET], 'opcode', 0, /ldx_b_msh/],
  ['LD W ABS at 64', [op('ld_w_abs', 64), RET], 'k', 0, /offset 64 is outside/],
  ['LD W ABS unaligned', [op('ld_w_abs', 6), RET], 'k', 0, /not a multiple of 4/],
  ['LD W ABS ancillary offset', [op('ld_w_abs', 0xfffff000), RET], 'k', 0, /outside/],
  ['LSH K 32', [op('lsh_k', 32), RET], 'k', 0, /shift by 32/],
  ['RSH K 0xffffffff', [op('rsh_k', 0xffffffff), RET], 'k', 0, /shift/],
  ['DIV K 0', [op('div_k', 0), RET], 'k', 0, /division by the constant 0/],
  ['ST index 16', [op('st', 16), RET], 'k', 0, /index 16/],
  ['STX index 16', [op('stx', 16), RET], 'k', 0, /index 16/],
  ['LD MEM index 16', [op('st', 0), op('ld_mem', 16), RET], 'k', 1, /index 16/],
  ['LDX MEM index 0xffffffff', [op('st', 0), op('ldx_mem', 0xffffffff), RET], 'k', 1, /index/],
  ['JA k = len-pc-1 (to just past the end)', [op('ja', 1), RET], 'jump-range', 0, /instruction 0 \(ja\): jump target 2 is past the end of the 2-instruction program/],
  ['JA huge k', [op('ja', 0xffffffff), RET], 'jump-range', 0, /past the end/],
  ['JEQ jt past the end', [op('jeq_k', 0, 1, 0), RET], 'jump-range', 0, /target 2 \(if true\)/],
  ['JSET jf past the end', [op('jset_x', 0, 0, 255), RET], 'jump-range', 0, /target 256 \(if false\)/],
  ['conditional as the last instruction', [RET, op('jgt_k', 0, 0, 0)], 'jump-range', 1, /past the end/],
  ['last is not a return', [RET, op('ld_imm', 0)], 'last-not-ret', 1, /last instruction must be a return/],
  ['load with nothing stored', [op('ld_mem', 0), RET], 'uninitialized-mem', 0, /M\[0\]/],
  ['load of another cell than stored', [op('st', 1), op('ldx_mem', 2), RET], 'uninitialized-mem', 1, /M\[2\]/],
  // Quirk: RET does not reset memvalid, so a load after a RET still needs an earlier store.
  ['load after RET with nothing stored', [RET, op('ld_mem', 0), RET], 'uninitialized-mem', 1, /M\[0\]/],
  ['load at a jump target stored only on the fall-through path', [op('jeq_k', 0, 1, 0), op('st', 3), op('ld_mem', 3), RET], 'uninitialized-mem', 2, /M\[3\]/],
  ['load at a JA target with nothing stored', [op('ja', 1), RET, op('ld_mem', 0), RET], 'uninitialized-mem', 2, /M\[0\]/],
];

test('each rejection rule is reported with its pc and a one-line message', () => {
  for (const [name, prog, rule, pc, msg] of REJECT) {
    const problems = verify(prog);
    assert.ok(problems.length > 0, name);
    const p = problems[0];
    assert.is(p.rule, rule, `${name}: ${p.message}`);
    assert.is(p.pc, pc, name);
    assert.match(p.message, msg, name);
    assert.not.match(p.message, /\n/);
  }
});

/** Accepted edge cases: all of these load into the kernel. */
const ACCEPT: [string, Instruction[]][] = [
  ['a single RET K', [RET]],
  ['a single RET A', [op('ret_a')]],
  ['4096 instructions', rets(4096)],
  ['LD W ABS 0 and 60', [op('ld_w_abs', 0), op('ld_w_abs', 60), RET]],
  ['LD/LDX W LEN', [op('ld_w_len'), op('ldx_w_len'), RET]],
  ['LSH/RSH K 31', [op('lsh_k', 31), op('rsh_k', 31), RET]],
  ['DIV K 1, DIV X (no static check on X)', [op('div_k', 1), op('div_x'), RET]],
  ['NEG, TAX, TXA', [op('neg'), op('tax'), op('txa'), RET]],
  ['scratch index 15', [op('st', 15), op('ldx_mem', 15), RET]],
  ['JA to the last instruction', [op('ja', 1), RET, RET]],
  ['JA 0', [op('ja', 0), RET]],
  ['conditional to the last instruction', [op('jeq_k', 0, 1, 0), RET, RET]],
  ['any k on a conditional jump', [op('jgt_k', 0xffffffff, 0, 0), RET]],
  ['RET k with any value', [op('ret_k', 0xffffffff)]],
  // Quirk: after a jump memvalid becomes all-valid, so a load in dead code right after a JA passes.
  ['load in dead code after JA', [op('ja', 1), op('ld_mem', 0), RET]],
  ['load in dead code after jt=jf=1', [op('jeq_k', 0, 1, 1), op('ld_mem', 7), RET]],
  ['store before RET makes a later load pass', [op('st', 0), RET, op('ld_mem', 0), RET]],
  ['store before a branch covers both paths', [op('stx', 3), op('jeq_k', 0, 1, 0), RET, op('ld_mem', 3), RET]],
  ['stores on both paths', [op('jeq_k', 0, 2, 0), op('st', 2), op('ja', 1), op('stx', 2), op('ld_mem', 2), RET]],
];

test('accepted edge cases verify clean and assertValid passes', () => {
  for (const [name, prog] of ACCEPT) {
    assert.equal(verify(prog), [], name);
    assertValid(prog);
  }
});

test('every seccomp opcode is accepted, every other listed code rejected as opcode', () => {
  for (const info of OPCODES.values()) {
    const i = info.conditional ? jump(info.code, 0, 0, 0) : stmt(info.code, info.kRule === 'nonzero' ? 1 : 0);
    const prog = info.kRule === 'memIndex' && info.effect.kind === 'load' ? [op('st', 0), i, RET] : [i, RET];
    const problems = verify(prog);
    if (info.seccomp) assert.equal(problems, [], info.name);
    else assert.equal(problems.map((p) => p.rule), ['opcode'], info.name);
  }
});

test('all problems are listed, not just the first', () => {
  // In the kernel's order: per-instruction checks, then the last RET, then the memory pass.
  const problems = verify([op('ld_mem', 1), op('mod_k', 0), op('ld_w_abs', 3), op('ja', 9)]);
  assert.equal(problems.map((p) => [p.pc, p.rule]), [[1, 'opcode'], [2, 'k'], [3, 'jump-range'], [3, 'last-not-ret'], [0, 'uninitialized-mem']]);
});

test('assertValid throws BpfError VERIFY naming the instruction and rule', () => {
  try {
    assertValid([RET, op('jeq_k', 0, 9, 0), RET]);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, BpfError);
    const err = e as BpfError;
    assert.is(err.code, 'VERIFY');
    assert.is(err.pc, 1);
    assert.match(err.message, /instruction 1 \(jeq_k\).*jump-range/);
  }
  try {
    assertValid([]);
    assert.unreachable();
  } catch (e) {
    assert.is((e as BpfError).code, 'VERIFY');
    assert.is((e as BpfError).pc, undefined);
  }
});

test.run();
