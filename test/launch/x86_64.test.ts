import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LaunchError } from '../../src/launch/errors.js';
import { X64 } from '../../src/launch/x86_64.js';
import { needTool } from '../_util/tools.js';
import { tempDir } from './_helpers.js';

// Each case: the instruction, its bytes (hand-checked against the Intel SDM opcode tables, and
// once against GNU objdump), and objdump's Intel-syntax text for the cross-check below.
type Case = [emit: (a: X64) => void, hex: string, objdump: string];
const CASES: Case[] = [
  [(a) => a.movImm32('rax', 157), 'b8 9d 00 00 00', 'mov eax,0x9d'],
  [(a) => a.movImm32('r10', 5), '41 ba 05 00 00 00', 'mov r10d,0x5'],
  [(a) => a.movImm32('rdi', 0xffffffff), 'bf ff ff ff ff', 'mov edi,0xffffffff'],
  [(a) => a.movImm64('r9', 0x1122334455667788n), '49 b9 88 77 66 55 44 33 22 11', 'movabs r9,0x1122334455667788'],
  [(a) => a.movImm64('rax', -1n), '48 b8 ff ff ff ff ff ff ff ff', 'movabs rax,0xffffffffffffffff'],
  [(a) => a.movRR('rdi', 'r12'), '4c 89 e7', 'mov rdi,r12'],
  [(a) => a.movRR('r8', 'rsp'), '49 89 e0', 'mov r8,rsp'],
  [(a) => a.movRR('rbx', 'rsp'), '48 89 e3', 'mov rbx,rsp'],
  [(a) => a.load64('rdi', { base: 'rsp', disp: 16 }), '48 8b 7c 24 10', 'mov rdi,QWORD PTR [rsp+0x10]'],
  [(a) => a.load64('rax', { base: 'rbx' }), '48 8b 03', 'mov rax,QWORD PTR [rbx]'],
  [(a) => a.load64('r13', { base: 'rbp' }), '4c 8b 6d 00', 'mov r13,QWORD PTR [rbp+0x0]'],
  [(a) => a.load64('rax', { base: 'r13', disp: 0x1000 }), '49 8b 85 00 10 00 00', 'mov rax,QWORD PTR [r13+0x1000]'],
  [(a) => a.store64({ base: 'r12' }, 'r15'), '4d 89 3c 24', 'mov QWORD PTR [r12],r15'],
  [(a) => a.store64({ base: 'rsp', disp: 8 }, 'rcx'), '48 89 4c 24 08', 'mov QWORD PTR [rsp+0x8],rcx'],
  [(a) => a.store32({ base: 'rcx', disp: 8 }, 'rax'), '89 41 08', 'mov DWORD PTR [rcx+0x8],eax'],
  [(a) => a.store32({ base: 'rcx', disp: 0x84 }, 'rax'), '89 81 84 00 00 00', 'mov DWORD PTR [rcx+0x84],eax'],
  [(a) => a.store8({ base: 'rdi' }, 'rsi'), '40 88 37', 'mov BYTE PTR [rdi],sil'],
  [(a) => a.store8({ base: 'r9', disp: -1 }, 'rax'), '41 88 41 ff', 'mov BYTE PTR [r9-0x1],al'],
  [(a) => a.store8({ base: 'r9' }, 'rdx'), '41 88 11', 'mov BYTE PTR [r9],dl'],
  [(a) => a.store16Imm({ base: 'rsp' }, 13), '66 c7 04 24 0d 00', 'mov WORD PTR [rsp],0xd'],
  [(a) => a.load8zx('rax', { base: 'rsi', disp: 3 }), '0f b6 46 03', 'movzx eax,BYTE PTR [rsi+0x3]'],
  [(a) => a.load8zx('r11', { base: 'r14' }), '45 0f b6 1e', 'movzx r11d,BYTE PTR [r14]'],
  [(a) => a.load16zx('rax', { base: 'rsi', index: 'r13', scale: 2 }), '42 0f b7 04 6e', 'movzx eax,WORD PTR [rsi+r13*2]'],
  [(a) => a.lea('rdx', { base: 'rbx', index: 'rcx', scale: 8, disp: 16 }), '48 8d 54 cb 10', 'lea rdx,[rbx+rcx*8+0x10]'],
  [(a) => a.lea('rsi', { base: 'rsp', disp: 24 }), '48 8d 74 24 18', 'lea rsi,[rsp+0x18]'],
  [(a) => a.lea('rsp', { base: 'rsp', disp: -0x1400 }), '48 8d a4 24 00 ec ff ff', 'lea rsp,[rsp-0x1400]'],
  [(a) => a.lea('rax', { base: 'rbp', index: 'r9', scale: 2 }), '4a 8d 44 4d 00', 'lea rax,[rbp+r9*2+0x0]'],
  [(a) => a.xor32('rdx', 'rdx'), '31 d2', 'xor edx,edx'],
  [(a) => a.xor32('r10', 'r10'), '45 31 d2', 'xor r10d,r10d'],
  [(a) => a.test('rax', 'rax'), '48 85 c0', 'test rax,rax'],
  [(a) => a.test('r9', 'rdx'), '49 85 d1', 'test r9,rdx'],
  [(a) => a.cmpImm('rax', 3), '48 83 f8 03', 'cmp rax,0x3'],
  [(a) => a.cmpImm('r8', -1), '49 83 f8 ff', 'cmp r8,0xffffffffffffffff'],
  [(a) => a.cmpImm32('rcx', 4000), '48 81 f9 a0 0f 00 00', 'cmp rcx,0xfa0'],
  [(a) => a.addImm('rsp', 16), '48 83 c4 10', 'add rsp,0x10'],
  [(a) => a.subImm('rsp', 16), '48 83 ec 10', 'sub rsp,0x10'],
  [(a) => a.addRR('rsi', 'rax'), '48 01 c6', 'add rsi,rax'],
  [(a) => a.subRR('rcx', 'r9'), '4c 29 c9', 'sub rcx,r9'],
  [(a) => a.cmpByteImm({ base: 'rsi' }, 0), '80 3e 00', 'cmp BYTE PTR [rsi],0x0'],
  [(a) => a.cmpByteImm({ base: 'rsi', index: 'rcx' }, 0), '80 3c 0e 00', 'cmp BYTE PTR [rsi+rcx*1],0x0'],
  [(a) => a.cmpByteImm({ base: 'r12', disp: 5 }, 10), '41 80 7c 24 05 0a', 'cmp BYTE PTR [r12+0x5],0xa'],
  [(a) => a.neg('rax'), '48 f7 d8', 'neg rax'],
  [(a) => a.neg('r13'), '49 f7 dd', 'neg r13'],
  [(a) => a.shrImm('rax', 32), '48 c1 e8 20', 'shr rax,0x20'],
  [(a) => a.div32('rcx'), 'f7 f1', 'div ecx'],
  [(a) => a.div32('r9'), '41 f7 f1', 'div r9d'],
  [(a) => a.inc('rdi'), '48 ff c7', 'inc rdi'],
  [(a) => a.dec('r9'), '49 ff c9', 'dec r9'],
  [(a) => a.syscall(), '0f 05', 'syscall'],
  [(a) => a.repMovsb(), 'f3 a4', 'rep movs BYTE PTR es:[rdi],BYTE PTR ds:[rsi]'],
  [(a) => a.ret(), 'c3', 'ret'],
  [(a) => a.hlt(), 'f4', 'hlt'],
  [(a) => a.ud2(), '0f 0b', 'ud2'],
];

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

for (const [emit, bytes, text] of CASES) {
  test(`encodes ${text}`, () => {
    const a = new X64();
    emit(a);
    assert.is(hex(a.assemble()), bytes);
  });
}

test('branches and rip-relative lea resolve to the label (backward and forward, rel8 and rel32)', () => {
  const a = new X64(0x1000);
  a.label('top'); // 0x1000
  a.jcc('ne', 'top'); // 6 bytes: rel = 0x1000 - 0x1006 = -6
  a.jcc8('e', 'top'); // 2 bytes at 0x1006: rel = -8
  a.jmp('end'); // 5 bytes at 0x1008 -> end at 0x1016: rel = 0x1016 - 0x100d = 9
  a.jmp8('top'); // 2 bytes at 0x100d: rel = -0xf
  a.leaRip('rax', 'top'); // 7 bytes at 0x100f, ends at 0x1016: rel = 0x1000 - 0x1016 = -0x16
  a.label('end');
  assert.is(a.addressOf('end'), 0x1016);
  assert.is(hex(a.assemble()), '0f 85 fa ff ff ff 74 f8 e9 09 00 00 00 eb f1 48 8d 05 ea ff ff ff');
});

test('assembler errors: undefined label, rel8 out of range, duplicate label, bad operands', () => {
  const cases: [string, (a: X64) => void, RegExp][] = [
    ['undefined', (a) => a.jmp('nowhere').assemble(), /never defined/],
    ['rel8 too far', (a) => { a.label('x').bytes(new Uint8Array(200)).jcc8('e', 'x'); a.assemble(); }, /too far for rel8/],
    ['duplicate', (a) => a.label('x').label('x'), /defined twice/],
    ['u32', (a) => a.movImm32('rax', -1), /not a u32/],
    ['imm8', (a) => a.cmpImm('rax', 300), /does not fit 8 bits/],
    ['rsp index', (a) => a.lea('rax', { base: 'rax', index: 'rsp' }), /rsp cannot be an index/],
  ];
  for (const [name, f, re] of cases) {
    try {
      f(new X64());
      assert.unreachable(name);
    } catch (e) {
      assert.instance(e, LaunchError, name);
      assert.match((e as Error).message, re, name);
    }
  }
});

const haveObjdump = needTool('objdump', 'binutils');
(haveObjdump ? test : test.skip)('GNU objdump disassembles every encoding to the expected instruction', () => {
  const a = new X64();
  for (const [emit] of CASES) emit(a);
  const file = join(tempDir('x64'), 'code.bin');
  writeFileSync(file, a.assemble());
  const r = spawnSync('objdump', ['-D', '-b', 'binary', '-m', 'i386:x86-64', '-M', 'intel', file], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => /^\s+[0-9a-f]+:\t/.test(l)).map((l) => l.split('\t'));
  // objdump wraps long encodings onto continuation lines without a mnemonic.
  const insns = lines.filter((cols) => cols.length >= 3).map((cols) => cols[2].replace(/\s+/g, ' ').replace(/ ?#.*$/, '').trim());
  assert.equal(insns, CASES.map(([, , t]) => t.replace(/\s+/g, ' ')));
});

test.run();
