/**
 * The A64 encoder byte for byte, and the shape of the aarch64 stub and preload object.
 * Expected words were hand-derived from the Arm ARM encoding tables and checked once with GNU
 * objdump for aarch64 (binutils-aarch64-linux-gnu, not installed by CI); the stub's code paths
 * were run under qemu-aarch64 (which implements no seccomp). There is no arm64 machine here to
 * load the filter on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode } from '../../src/bpf/codec.js';
import { A64, SP } from '../../src/launch/aarch64.js';
import { LaunchError } from '../../src/launch/errors.js';
import { buildPreload } from '../../src/launch/preload.js';
import { buildLauncherDetailed } from '../../src/launch/stub.js';
import { GATE_ARCHES } from '../../src/launch/wrap.js';
import { ALLOW_ALL, allowlist } from './_helpers.js';

type Case = [emit: (a: A64) => void, word: number, objdump: string];
const CASES: Case[] = [
  [(a) => a.movz(8, 221), 0xd2801ba8, 'mov x8, #0xdd'],
  [(a) => a.movz(0, 0xffff, 48), 0xd2ffffe0, 'mov x0, #0xffff000000000000'],
  [(a) => a.movk(9, 0x1234, 16), 0xf2a24689, 'movk x9, #0x1234, lsl #16'],
  [(a) => a.movn(0, 99), 0x92800c60, 'mov x0, #0xffffffffffffff9c'],
  [(a) => a.mov(19, 0), 0xaa0003f3, 'mov x19, x0'],
  [(a) => a.addImm(19, SP, 0), 0x910003f3, 'mov x19, sp'],
  [(a) => a.addImm(2, 19, 24), 0x91006262, 'add x2, x19, #0x18'],
  [(a) => a.subImm(SP, SP, 16), 0xd10043ff, 'sub sp, sp, #0x10'],
  [(a) => a.subImm(SP, SP, 1, true), 0xd14007ff, 'sub sp, sp, #0x1, lsl #12'],
  [(a) => a.cmpImm(0, 3), 0xf1000c1f, 'cmp x0, #0x3'],
  [(a) => a.subsImm(2, 2, 1), 0xf1000442, 'subs x2, x2, #0x1'],
  [(a) => a.add(2, 19, 9, 3), 0x8b090e62, 'add x2, x19, x9, lsl #3'],
  [(a) => a.sub(2, 21, 20), 0xcb1402a2, 'sub x2, x21, x20'],
  [(a) => a.neg(21, 0), 0xcb0003f5, 'neg x21, x0'],
  [(a) => a.lsr(9, 9, 32), 0xd360fd29, 'lsr x9, x9, #32'],
  [(a) => a.udiv(6, 0, 5), 0x9ac50806, 'udiv x6, x0, x5'],
  [(a) => a.msub(7, 6, 5, 0), 0x9b0580c7, 'msub x7, x6, x5, x0'],
  [(a) => a.ldr(0, 19), 0xf9400260, 'ldr x0, [x19]'],
  [(a) => a.ldr(1, 19, 16), 0xf9400a61, 'ldr x1, [x19, #16]'],
  [(a) => a.str(10, SP, 8), 0xf90007ea, 'str x10, [sp, #8]'],
  [(a) => a.str32(9, 10, 0x84), 0xb9008549, 'str w9, [x10, #132]'],
  [(a) => a.strh(11, SP), 0x790003eb, 'strh w11, [sp]'],
  [(a) => a.ldrbPost(3, 1, 1), 0x38401423, 'ldrb w3, [x1], #1'],
  [(a) => a.strbPost(3, 21, 1), 0x380016a3, 'strb w3, [x21], #1'],
  [(a) => a.strbPre(7, 4, -1), 0x381ffc87, 'strb w7, [x4, #-1]!'],
  [(a) => a.ldrhIndexed(2, 1, 22), 0x78767822, 'ldrh w2, [x1, x22, lsl #1]'],
  [(a) => a.svc(), 0xd4000001, 'svc #0x0'],
  [(a) => a.ret(), 0xd65f03c0, 'ret'],
  [(a) => a.udf(), 0x00000000, 'udf #0'],
];

for (const [emit, word, text] of CASES) {
  test(`encodes ${text}`, () => {
    const a = new A64();
    emit(a);
    const out = a.assemble();
    assert.is(new DataView(out.buffer).getUint32(0, true).toString(16).padStart(8, '0'), word.toString(16).padStart(8, '0'));
  });
}

test('pc-relative forms resolve backward and forward (adr, b, b.cond, cbz, cbnz)', () => {
  const a = new A64(0x1000);
  a.label('top'); // 0x1000
  a.adr(10, 'top'); // 0x1000: +0
  a.b('top'); // 0x1004: -4
  a.bcond('lt', 'end'); // 0x1008: +0x10 -> 0x1018
  a.cbz(0, 'top'); // 0x100c: -0xc
  a.cbnz(3, 'end', true); // 0x1010: +8
  a.adr(1, 'end'); // 0x1014: +4
  a.label('end');
  const out = a.assemble();
  const words = Array.from({ length: out.length / 4 }, (_, i) => new DataView(out.buffer).getUint32(4 * i, true).toString(16).padStart(8, '0'));
  // objdump: adr x10, 0x1000 / b 0x1000 / b.lt 0x1018 / cbz x0, 0x1000 / cbnz w3, 0x1018 / adr x1, 0x1018
  assert.equal(words, ['1000000a', '17ffffff', '5400008b', 'b4ffffa0', '35000043', '10000021']);
});

test('movImm uses movz plus only the non-zero movk fields', () => {
  const words = (v: bigint) => {
    const out = new A64().movImm(3, v).assemble();
    return Array.from({ length: out.length / 4 }, (_, i) => new DataView(out.buffer).getUint32(4 * i, true).toString(16));
  };
  assert.equal(words(0x0123456789abcdefn), ['d299bde3', 'f2b13563', 'f2c8ace3', 'f2e02463']);
  assert.equal(words(0n), ['d2800003']);
  assert.equal(words(0x10000_0000n), ['d2800003', 'f2c00023']);
});

test('encoder errors: out-of-range immediates and branches, undefined labels', () => {
  const cases: [string, (a: A64) => void][] = [
    ['movz imm', (a) => a.movz(0, 0x10000)],
    ['ldr misaligned', (a) => a.ldr(0, 1, 4)],
    ['add imm', (a) => a.addImm(0, 1, 4096)],
    ['bad register', (a) => a.mov(32, 0)],
    ['undefined label', (a) => a.b('nowhere').assemble()],
    ['adr range', (a) => { a.label('x').bytes(new Uint8Array((1 << 20) + 4)).adr(0, 'x'); a.assemble(); }],
  ];
  for (const [name, f] of cases) assert.throws(() => f(new A64()), (e: unknown) => e instanceof LaunchError, name);
});

test('aarch64 stub: EM_AARCH64 ET_DYN with 64 KiB-aligned segments; svc at the exec site; gate for aarch64', () => {
  const secret: [bigint, bigint] = [0x1111222233334444n, 0x5555666677778888n];
  const l = buildLauncherDetailed(allowlist(['read']), { arch: 'aarch64', secret });
  const v = new DataView(l.elf.buffer, l.elf.byteOffset);
  assert.equal([v.getUint16(16, true), v.getUint16(18, true)], [3, 183]);
  const ph = (i: number, off: number) => Number(v.getBigUint64(64 + 56 * i + off, true));
  assert.equal([v.getUint32(64, true), ph(0, 48)], [1, 0x10000]);
  assert.equal([v.getUint32(64 + 56, true), ph(1, 8) % 0x10000, ph(1, 48)], [1, 0, 0x10000]);
  assert.is(v.getUint32(l.execSyscallOffset, true), 0xd4000001);
  // The filter in the RW segment is the wrapped program with aarch64's numbers.
  const filterAt = ph(1, 8);
  const embedded = decode(l.elf.subarray(filterAt, filterAt + 8 * l.filter.program.length));
  assert.equal(embedded, l.filter.program);
  assert.is(embedded[1].k, GATE_ARCHES.aarch64.audit);
  assert.is(embedded[3].k, GATE_ARCHES.aarch64.execve);
  // The secret is loaded into x3 (args[3]) and x4 (args[4]) by movz/movk: its 16-bit fields appear.
  const code = Buffer.from(l.elf.subarray(0, filterAt));
  const movk = (rd: number, imm: number, hw: number) => Buffer.from(Uint32Array.of((0xf2800000 | (hw << 21) | (imm << 5) | rd) >>> 0).buffer);
  assert.ok(code.includes(movk(3, 0x1111, 3)) && code.includes(movk(4, 0x5555, 3)));
});

test('aarch64 preload: EM_AARCH64 shared object with DT_INIT, no relocations', () => {
  const so = buildPreload(ALLOW_ALL, { arch: 'aarch64', soname: 'liba.so' });
  const v = new DataView(so.buffer, so.byteOffset);
  assert.equal([v.getUint16(16, true), v.getUint16(18, true), Number(v.getBigUint64(24, true))], [3, 183, 0]);
  const types = Array.from({ length: v.getUint16(56, true) }, (_, i) => v.getUint32(64 + 56 * i, true));
  assert.equal(types, [1, 1, 2, 0x6474e551]);
  assert.ok(Buffer.from(so).includes('liba.so\0'));
});

test.run();
