import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode, encode } from '../../src/bpf/codec.js';
import { BpfError } from '../../src/bpf/errors.js';
import { jump, stmt } from '../../src/bpf/insn.js';

// ld [4]; jeq #0xc000003e, 0, 1; ret #0x7fff0000; ret #0  (an x86-64 arch check)
const PROGRAM = [stmt(0x20, 4), jump(0x15, 0xc000003e, 0, 1), stmt(0x06, 0x7fff0000), stmt(0x06, 0)];

// Byte-exact images written out by hand from the struct sock_filter layout.
const LITTLE = [
  0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
  0x15, 0x00, 0x00, 0x01, 0x3e, 0x00, 0x00, 0xc0,
  0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f,
  0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const BIG = [
  0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
  0x00, 0x15, 0x00, 0x01, 0xc0, 0x00, 0x00, 0x3e,
  0x00, 0x06, 0x00, 0x00, 0x7f, 0xff, 0x00, 0x00,
  0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

test('encode little-endian (the default) is byte-exact', () => {
  assert.equal([...encode(PROGRAM)], LITTLE);
  assert.equal([...encode(PROGRAM, 'little')], LITTLE);
});

test('encode big-endian is byte-exact', () => {
  assert.equal([...encode(PROGRAM, 'big')], BIG);
});

test('decode both byte orders', () => {
  assert.equal(decode(Uint8Array.from(LITTLE)), PROGRAM);
  assert.equal(decode(Uint8Array.from(BIG), 'big'), PROGRAM);
  // The same bytes read in the wrong order give different instructions, not the same ones.
  assert.not.equal(decode(Uint8Array.from(BIG)), PROGRAM);
});

test('jt/jf/k extremes and unknown opcodes round-trip', () => {
  const odd = [jump(0xffff, 0xffffffff, 255, 254), stmt(0x1234, 0x80000000), jump(0x0015, 1, 0, 255)];
  for (const e of ['little', 'big'] as const) assert.equal(decode(encode(odd, e), e), odd);
  assert.equal([...encode([jump(0xabcd, 0x01020304, 0xee, 0xff)], 'big')], [0xab, 0xcd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04]);
  assert.equal([...encode([jump(0xabcd, 0x01020304, 0xee, 0xff)], 'little')], [0xcd, 0xab, 0xee, 0xff, 0x04, 0x03, 0x02, 0x01]);
});

test('decode reads a view into a larger buffer at its own offset', () => {
  const buf = new Uint8Array(3 + LITTLE.length);
  buf.set(LITTLE, 3);
  assert.equal(decode(buf.subarray(3)), PROGRAM);
});

test('decode errors are BpfError DECODE', () => {
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['not a multiple of 8', new Uint8Array(7)],
    ['9 bytes', new Uint8Array(9)],
    ['4097 instructions', new Uint8Array(4097 * 8)],
  ];
  for (const [what, bytes] of cases) {
    try {
      decode(bytes);
      assert.unreachable(what);
    } catch (e) {
      assert.instance(e, BpfError, what);
      assert.is((e as BpfError).code, 'DECODE', what);
      assert.not.match((e as BpfError).message, /\n/);
    }
  }
  assert.is(decode(new Uint8Array(4096 * 8)).length, 4096);
});

test.run();
