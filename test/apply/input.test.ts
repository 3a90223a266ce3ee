/**
 * apply() refuses bad input before touching the kernel. These run in the test process itself,
 * which is the proof: afterwards it still has no filter and no no_new_privs. Every program
 * here would allow everything if a bug let it through, so the runner stays usable regardless.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode } from '../../src/bpf/codec.js';
import { stmt } from '../../src/bpf/insn.js';
import type { Program } from '../../src/bpf/insn.js';
import { BPF_ABS, BPF_B, BPF_LD, BPF_MAXINSNS, BPF_W } from '../../src/bpf/opcodes.js';
import { encodeAction, SECCOMP_RET_ALLOW, type ActionName } from '../../src/bpf/seccomp.js';
import { apply, ApplyError, type ApplyOptions, type Installable } from '../../src/apply/index.js';
import { checkActions } from '../../src/apply/prepare.js';
import { hostAbi } from '../../src/apply/host.js';
import { statusField as status } from '../../src/apply/kernel.js';
import { ALLOW_ALL, RET_K } from './_child.js';

const host = hostAbi();
const it = host ? test : test.skip;
if (!host) process.stdout.write(`  SKIP: apply() is unsupported on ${process.platform}/${process.arch}; input checks need a supported host\n`);

// In a container the runner may already be confined: compare with the state before, and count filters.
const before = { seccomp: status('Seccomp'), filters: status('Seccomp_filters'), nnp: status('NoNewPrivs') };

const allowBytes = (endian: 'little' | 'big' = host?.endian ?? 'little') => encode(ALLOW_ALL, endian);
const compiled = (extra: object): Installable => ({ toBuffer: (e?: 'little' | 'big') => allowBytes(e), ...extra });

const CASES: [string, unknown, string, RegExp, ApplyOptions?][] = [
  ['empty program', [], 'INVALID_FILTER', /empty/],
  ['empty bytes', new Uint8Array(0), 'INVALID_FILTER', /empty/],
  ['bytes not a multiple of 8', new Uint8Array(12), 'INVALID_FILTER', /multiple of 8/],
  ['last instruction not a return', [stmt(BPF_LD | BPF_W | BPF_ABS, 0)], 'INVALID_FILTER', /last instruction must be a return/],
  ['opcode outside the seccomp subset', [stmt(BPF_LD | BPF_B | BPF_ABS, 0), stmt(RET_K, SECCOMP_RET_ALLOW)], 'INVALID_FILTER', /not allowed in a seccomp filter/],
  ['seccomp_data offset out of range', [stmt(BPF_LD | BPF_W | BPF_ABS, 64), stmt(RET_K, SECCOMP_RET_ALLOW)], 'INVALID_FILTER', /outside the 64-byte/],
  ['too long', Array.from({ length: BPF_MAXINSNS + 1 }, () => stmt(RET_K, SECCOMP_RET_ALLOW)), 'INVALID_FILTER', /4096/],
  ['an instruction field out of range', [{ code: 0x10006, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW }], 'INVALID_FILTER', /instruction 0 is not/],
  ['a negative k', [{ code: RET_K, jt: 0, jf: 0, k: -1 }], 'INVALID_FILTER', /instruction 0 is not/],
  ['not an instruction at all', [42], 'INVALID_FILTER', /instruction 0 is not/],
  ['null', null, 'INVALID_FILTER', /expected a program/],
  ['a string', 'ret allow', 'INVALID_FILTER', /expected a program/],
  ['toBuffer returning no bytes', { toBuffer: () => 'nope' }, 'INVALID_FILTER', /did not return bytes/],
  ['compiled for aarch64 only', compiled({ arches: ['aarch64'] }), 'ARCH_MISMATCH', /compiled for aarch64, not for this machine/],
  ['compiled for x32 only (Node is not an x32 process)', compiled({ arches: ['x32'] }), 'ARCH_MISMATCH', /x32/],
  ['compiled for no architecture', compiled({ arches: [] }), 'ARCH_MISMATCH', /no architecture/],
  ['compiled for the other byte order', compiled({ arches: [host?.name], endian: host?.endian === 'little' ? 'big' : 'little' }), 'ARCH_MISMATCH', /endian/],
  ['arches not a list', compiled({ arches: 'x86_64' }), 'INVALID_FILTER', /not a list/],
  ['an unknown option', ALLOW_ALL, 'BAD_OPTION', /unknown apply option "tsynch"/, { tsynch: true } as ApplyOptions],
  ['a non-boolean option', ALLOW_ALL, 'BAD_OPTION', /"tsync" must be true or false/, { tsync: 'yes' } as unknown as ApplyOptions],
];

for (const [name, input, code, message, opts] of CASES) {
  it(`refused before the kernel: ${name} -> ${code}`, () => {
    try {
      apply(input as Installable, opts);
      assert.unreachable('apply() accepted it');
    } catch (e) {
      assert.instance(e, ApplyError);
      const err = e as ApplyError;
      assert.is(err.name, 'ApplyError');
      assert.is(err.code, code);
      assert.match(err.message, message);
      assert.is(err.errno, undefined, 'no kernel call, so no errno');
    }
  });
}

it('the verifier\'s position is kept (pc) and its error is the cause', () => {
  try {
    apply([stmt(RET_K, SECCOMP_RET_ALLOW), stmt(BPF_LD | BPF_W | BPF_ABS, 3), stmt(RET_K, SECCOMP_RET_ALLOW)]);
    assert.unreachable();
  } catch (e) {
    const err = e as ApplyError;
    assert.is(err.code, 'INVALID_FILTER');
    assert.is(err.pc, 1);
    assert.is((err.cause as Error).name, 'BpfError');
  }
});

const OFFERED = (names: ActionName[]) => () => new Set(names);
const ACTION_CASES: [string, Program, ActionName[], number | undefined][] = [
  ['every action offered', [stmt(RET_K, encodeAction('user_notif')), stmt(RET_K, SECCOMP_RET_ALLOW)], ['user_notif', 'allow'], undefined],
  ['log missing (before Linux 4.14)', [stmt(RET_K, encodeAction('errno', 1)), stmt(RET_K, encodeAction('log'))], ['errno', 'allow'], 1],
  ['kill_process missing', [stmt(RET_K, encodeAction('kill_process'))], ['kill_thread', 'allow'], 0],
  ['a value that is no action counts as kill_process', [stmt(RET_K, 0x12340000)], ['kill_thread', 'allow'], 0],
  ['ret a is not judged', [stmt(0x16 /* ret a */, 0)], ['allow'], undefined],
];
for (const [name, program, offered, pc] of ACTION_CASES) {
  it(`actions the kernel lacks: ${name}`, () => {
    let err: ApplyError | undefined;
    try {
      checkActions(program, OFFERED(offered));
    } catch (e) {
      err = e as ApplyError;
    }
    assert.is(err?.pc, pc);
    if (pc !== undefined) {
      assert.is(err?.code, 'ACTION_UNAVAILABLE');
      assert.match(err?.message ?? '', /does not implement/);
    }
  });
}

it('after all of the above this process still has no filter and no no_new_privs', () => {
  assert.equal({ seccomp: status('Seccomp'), filters: status('Seccomp_filters'), nnp: status('NoNewPrivs') }, before);
});

test.run();
