/**
 * `seccomp-ts compile`, run through the built CLI (the test runner builds dist/; by hand: npx tsup):
 * every output format against the library's compile(), the C output through gcc, lists instead
 * of a file, warnings, and one-line errors for bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode } from '../../src/bpf/codec.js';
import { compile } from '../../src/policy/filter.js';
import { policyFromLists } from '../../src/policy/env.js';
import { ROOT, needTool } from '../_util/tools.js';
import { failsOneLine, runCli } from '../_util/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'seccomp-ts-compile-'));
const ARGS = join(ROOT, 'examples', 'args.yaml');
const HAVE_GCC = needTool('gcc');

const run = runCli;

test('text (the default without -o) is the disassembly of compile()', () => {
  const r = run(['compile', ARGS, '--arch', 'x86_64']);
  assert.is(r.status, 0, r.err);
  assert.is(r.out, compile(readFileSync(ARGS, 'utf8'), { arches: ['x86_64'] }).toString());
});

test('-o writes raw sock_filter bytes in the target byte order (bpf is the default with -o)', () => {
  for (const arch of ['x86_64', 's390x']) {
    const out = join(TMP, `${arch}.bpf`);
    const r = run(['compile', ARGS, '--arch', arch, '-o', out]);
    assert.is(r.status, 0, r.err);
    const f = compile(readFileSync(ARGS, 'utf8'), { arches: [arch] });
    const bytes = readFileSync(out);
    assert.equal(new Uint8Array(bytes), f.toBuffer());
    assert.equal(decode(bytes, f.endian), f.instructions);
  }
  // Binary on standard output when asked for explicitly (not a terminal here).
  const r = run(['compile', ARGS, '--arch', 'x86_64', '--format', 'bpf']);
  assert.equal(decode(r.bytes), compile(readFileSync(ARGS, 'utf8'), { arches: ['x86_64'] }).instructions);
});

test('--format json', () => {
  const r = run(['compile', ARGS, '--arch', 'aarch64', '--format', 'json']);
  assert.is(r.status, 0, r.err);
  const j = JSON.parse(r.out) as { arches: string[]; endian: string; instructions: { code: number; jt: number; jf: number; k: number }[] };
  assert.equal(j.arches, ['aarch64']);
  assert.is(j.endian, 'little');
  assert.equal(j.instructions, compile(readFileSync(ARGS, 'utf8'), { arches: ['aarch64'] }).instructions.map((i) => ({ ...i })));
});

(HAVE_GCC ? test : test.skip)('--format c compiles with gcc and holds exactly the same instructions', () => {
  for (const arch of ['x86_64', 'aarch64', 's390x']) {
    const c = run(['compile', ARGS, '--arch', arch, '--format', 'c']);
    assert.is(c.status, 0, c.err);
    assert.match(c.out, /BPF_JUMP\(BPF_JMP \| BPF_JGE \| BPF_K, /);
    assert.match(c.out, /SECCOMP_RET_ALLOW/);
    assert.match(c.out, /offsetof\(struct seccomp_data, nr\)/);
    const src = join(TMP, `f-${arch}.c`);
    const main = join(TMP, `main-${arch}.c`);
    const exe = join(TMP, `f-${arch}`);
    writeFileSync(src, c.out);
    writeFileSync(
      main,
      '#include <stdio.h>\n#include <linux/filter.h>\nextern struct sock_fprog seccomp_filter_prog;\n' +
        'int main(void) { for (unsigned i = 0; i < seccomp_filter_prog.len; i++) { struct sock_filter *f = &seccomp_filter_prog.filter[i]; ' +
        'printf("%u %u %u %u\\n", f->code, f->jt, f->jf, f->k); } return 0; }\n',
    );
    const cc = spawnSync('gcc', ['-Wall', '-Wextra', '-Werror', '-o', exe, src, main], { encoding: 'utf8' });
    assert.is(cc.status, 0, cc.stderr);
    const out = spawnSync(exe, { encoding: 'utf8' }).stdout;
    const want = compile(readFileSync(ARGS, 'utf8'), { arches: [arch] }).instructions.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k}`).join('\n') + '\n';
    assert.is(out, want, arch);
  }
});

test('--allow/--deny/--default build the policy from lists', () => {
  const r = run(['compile', '--allow', 'read,write,exit_group', '--default', 'errno(EPERM)', '--arch', 'x86_64', '--format', 'json']);
  assert.is(r.status, 0, r.err);
  const want = compile(policyFromLists({ allow: ['read', 'write', 'exit_group'], defaultAction: 'errno(EPERM)', architectures: ['x86_64'] }), { arches: ['x86_64'] });
  assert.equal((JSON.parse(r.out) as { instructions: unknown[] }).instructions, want.instructions.map((i) => ({ ...i })));
  const d = run(['compile', '--deny', 'ptrace', '--arch', 'x86_64']);
  assert.is(d.status, 0, d.err);
  assert.match(d.out, /KILL_PROCESS/);
});

test('warnings go to standard error, the filter to standard output', () => {
  const r = run(['compile', join(ROOT, 'examples', 'allowlist.yaml'), '--arch', 'aarch64']);
  assert.is(r.status, 0, r.err);
  assert.match(r.err, /^seccomp-ts: warning: .*epoll_wait/m);
  assert.match(r.out, /ARCH_AARCH64/);
});

test('policy text on standard input', () => {
  const r = run(['compile', '-', '--arch', 'x86_64'], 'defaultAction: allow\nrules: [{syscalls: [ptrace], action: kill_process}]\n');
  assert.is(r.status, 0, r.err);
  assert.match(r.out, /KILL_PROCESS/);
});

test('bad input: one line on stderr, exit 2', () => {
  failsOneLine(['compile'], /missing FILE/);
  failsOneLine(['compile', join(TMP, 'absent.yaml')], /cannot read/);
  failsOneLine(['compile', ARGS, '--format', 'elf'], /--format must be one of/);
  failsOneLine(['compile', ARGS, '--arch', 'vax'], /unknown architecture 'vax'/);
  failsOneLine(['compile', ARGS, '--arch', 'x86_64,s390x'], /byte order/);
  failsOneLine(['compile', ARGS, '--arch', 'i386'], /does not fit in 32 bits/);
  failsOneLine(['compile', ARGS, '--bogus'], /unknown option '--bogus'/);
  failsOneLine(['compile', ARGS, '--default', 'allow'], /--default goes with --allow or --deny/);
  failsOneLine(['compile', ARGS, '--allow', 'read'], /not both/);
  failsOneLine(['compile', '--allow', 'read,,write'], /empty entry/);
  failsOneLine(['compile', '--allow', 'read,bogus_call'], /bogus_call/);
  failsOneLine(['compile', '--allow', 'read', '--default', 'explode'], /explode/);
  failsOneLine(['compile', '-'], /:\d+:\d+: /, 'rules: [\n  - {syscalls: [read], action: allow\n');
  failsOneLine(['compile', '-'], /defaultAction/, 'rules: []\n');
  failsOneLine(['compile', join(ROOT, 'examples', 'allowlist.yaml'), '--strict', '--arch', 'aarch64', '-o', join(TMP, 'x.bpf')], /epoll_wait.*does not exist on aarch64/);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));

test.run();
