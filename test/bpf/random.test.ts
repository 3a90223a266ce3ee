/**
 * Random input into decode(), verify() and emulate(): they may only throw BpfError, and a program
 * the verifier accepts must always run to a return in the emulator. SEED and CASES from the
 * environment (CASES defaults to 2000).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode, encode, type Endian } from '../../src/bpf/codec.js';
import { emulate } from '../../src/bpf/emulator.js';
import { BpfError } from '../../src/bpf/errors.js';
import { jump, stmt, type Instruction } from '../../src/bpf/insn.js';
import { OPCODES } from '../../src/bpf/opcodes.js';
import type { SeccompData } from '../../src/bpf/seccomp.js';
import { verify } from '../../src/bpf/verifier.js';
import { rng, testSeed } from '../_util/tools.js';

const CASES = Number(process.env.CASES ?? 2000);
const SPECIAL = [0, 1, 2, 4, 15, 16, 31, 32, 60, 63, 64, 0x7fff0000, 0x80000000, 0xfffff000, 0xffffffff];
const ALL = [...OPCODES.values()];
const SECCOMP = ALL.filter((o) => o.seccomp);

test('random bytes and near-valid programs: only BpfError, and verified programs always run', () => {
  const seed = testSeed('bpf random');
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const u32 = () => (int(0x10000) * 0x10000 + int(0x10000)) >>> 0;
  const u64 = () => (BigInt(u32()) << 32n) | BigInt(u32());

  /** A program shaped like real ones so that some pass the verifier: mostly seccomp opcodes, short jumps. */
  const nearValid = (): Instruction[] => {
    const n = 1 + int(20);
    const out: Instruction[] = [];
    for (let i = 0; i < n; i++) {
      const p = r();
      let code = p < 0.05 ? int(0x10000) : p < 0.15 ? ALL[int(ALL.length)].code : SECCOMP[int(SECCOMP.length)].code;
      if (i === n - 1 && r() < 0.8) code = r() < 0.5 ? 0x06 : 0x16;
      const k = r() < 0.5 ? SPECIAL[int(SPECIAL.length)] : r() < 0.5 ? int(64) : u32();
      const span = Math.max(1, n - i);
      out.push(OPCODES.get(code)?.conditional ? jump(code, k, int(span), int(span)) : stmt(code, code === 0x05 && r() < 0.7 ? int(span) : k));
    }
    return out;
  };

  let decoded = 0;
  let accepted = 0;
  let ran = 0;
  for (let c = 0; c < CASES; c++) {
    const endian: Endian = r() < 0.5 ? 'little' : 'big';
    let bytes: Uint8Array;
    if (r() < 0.3) {
      bytes = new Uint8Array(int(12) === 0 ? int(10) : 8 * int(8) + (r() < 0.2 ? int(8) : 0));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
    } else {
      bytes = encode(nearValid(), endian);
    }
    const data: SeccompData = { nr: u32() | 0, arch: u32(), instructionPointer: u64(), args: Array.from({ length: 6 }, u64) };
    const where = `seed ${seed} case ${c}`;
    try {
      const prog = decode(bytes, endian);
      decoded++;
      assert.equal([...encode(prog, endian)], [...bytes], `${where}: encode(decode(x)) == x`);
      const problems = verify(prog);
      for (const p of problems) assert.not.match(p.message, /\n/);
      if (problems.length === 0) accepted++;
      try {
        const res = emulate(prog, data, { endian });
        ran++;
        assert.is(res.value, res.value >>> 0);
        assert.ok(res.executed >= 1 && res.executed <= prog.length, where);
      } catch (e) {
        if (!(e instanceof BpfError)) throw e;
        // The kernel accepts it, so it must run: only an unverified program may fail here.
        if (problems.length === 0) assert.unreachable(`${where}: verified program failed to run: ${e.message}`);
        assert.is(e.code, 'EMULATE', where);
      }
    } catch (e) {
      if (e instanceof BpfError) {
        assert.not.match(e.message, /\n/);
        continue;
      }
      throw new Error(`${where}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  process.stdout.write(`  bpf random: ${CASES} cases, ${decoded} decoded, ${accepted} verified, ${ran} emulated to a return\n`);
  // The generator must reach every stage, or this test checks little.
  if (CASES >= 500) assert.ok(decoded > CASES / 2 && accepted > CASES / 50 && ran > CASES / 20, `${decoded}/${accepted}/${ran}`);
});

test.run();
