import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toDot } from '../../src/bpf/dot.js';
import { emulate } from '../../src/bpf/emulator.js';
import { stmt } from '../../src/bpf/insn.js';
import { BPF_K, BPF_RET } from '../../src/bpf/opcodes.js';
import { assemble } from '../../src/bpf/text.js';
import { archSymbols } from '../../src/symbols.js';
import { ROOT, needTool } from '../_util/tools.js';
import { encode } from '../../src/bpf/codec.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;

const TWO_ARCH = `
A = arch
if (A == ARCH_X86_64) goto x64
if (A == ARCH_I386) goto x86
return KILL_PROCESS
x64:
A = sys_number
if (A == read) goto ok
if (A == write) goto ok
if (A == uname) goto eperm
if (A != openat) goto kill
A = args[2]
if (A & 0x3) goto eperm
ok: return ALLOW
eperm: return ERRNO(1)
kill: return KILL_THREAD
x86:
A = sys_number
if (A >= 0x100) goto kill2
return LOG
kill2: return KILL_THREAD
`;

interface Graph {
  nodes: Map<string, string>;
  edges: Map<string, { to: string; label?: string }[]>;
}

function parseDot(dot: string): Graph {
  const nodes = new Map<string, string>();
  const edges = new Map<string, { to: string; label?: string }[]>();
  for (const line of dot.split('\n')) {
    const e = /^ {2}(\w+) -> (\w+)(?: \[label="(\w+)".*\])?;$/.exec(line);
    if (e) {
      const list = edges.get(e[1]!) ?? [];
      list.push({ to: e[2]!, label: e[3] });
      edges.set(e[1]!, list);
      continue;
    }
    const n = /^ {2}(\w+) \[label="(.*?)"(, .*)?\];$/.exec(line);
    if (n) nodes.set(n[1]!, line);
  }
  return { nodes, edges };
}

const program = assemble(TWO_ARCH, { symbols: archSymbols });
const dot = toDot(program, { symbols: archSymbols, title: 'two "arch" filter' });

test('every traced run is a path in the graph ending at the leaf of its return value', () => {
  const g = parseDot(dot);
  const inputs: [number, number, bigint][] = [
    [X86_64, 0, 0n], [X86_64, 1, 0n], [X86_64, 63, 0n], [X86_64, 257, 0n], [X86_64, 257, 2n], [X86_64, 257, 4n],
    [X86_64, 39, 0n], [I386, 5, 0n], [I386, 0x100, 0n], [0x12345, 0, 0n],
  ];
  const seenLeaves = new Set<string>();
  for (const [arch, nr, a2] of inputs) {
    const r = emulate(program, { nr, arch, instructionPointer: 0n, args: [0n, 0n, a2] }, { trace: true });
    const blocks = r.trace!.map((s) => `b${s.pc}`).filter((id) => g.nodes.has(id));
    const leaf = `ret_${r.value.toString(16).padStart(8, '0')}`;
    assert.ok(g.nodes.has(leaf), `leaf ${leaf} exists`);
    seenLeaves.add(leaf);
    const path = [...blocks, leaf];
    assert.is(path[0], 'b0');
    for (let i = 0; i + 1 < path.length; i++) {
      const out = g.edges.get(path[i]!) ?? [];
      assert.ok(out.some((e) => e.to === path[i + 1]), `edge ${path[i]} -> ${path[i + 1]} (arch ${arch.toString(16)} nr ${nr})`);
    }
  }
  assert.is(seenLeaves.size, 5);
});

test('yes/no edges follow the printed condition', () => {
  const g = parseDot(dot);
  // `A == read ?` goes to ALLOW on yes; the negated `A != openat ?` goes to the KILL_THREAD leaf on yes.
  const readBlock = [...g.nodes].find(([, l]) => l.includes('A == read ?'))![0];
  assert.equal(g.edges.get(readBlock)!.find((e) => e.label === 'yes')!.to, 'ret_7fff0000');
  const openBlock = [...g.nodes].find(([, l]) => l.includes('A != openat ?'))![0];
  assert.equal(g.edges.get(openBlock)!.find((e) => e.label === 'yes')!.to, 'ret_00000000');
});

test('range checks on nr name the syscall at the boundary where the arch is proven', () => {
  const name = archSymbols.syscallName(I386, 0x100)!;
  assert.ok(dot.includes(`A >= 0x100 (${name}) ?`), dot);
  // Without symbols nothing is named.
  assert.not.match(toDot(program), /\(\w+\) \?/);
  // An argument compared with the same number is not a syscall.
  const argCheck = toDot(assemble('A = arch\nif (A != ARCH_X86_64) goto k\nA = args[0]\nif (A >= 0x100) goto k\nreturn ALLOW\nk: return KILL_PROCESS\n', { symbols: archSymbols }), { symbols: archSymbols });
  assert.match(argCheck, /A >= 0x100 \?/);
});

test('leaves are shared per value and coloured by action', () => {
  const g = parseDot(dot);
  const leaves = [...g.nodes.keys()].filter((k) => k.startsWith('ret_'));
  // KILL_THREAD is returned from two places but drawn once.
  assert.equal(leaves.sort(), ['ret_00000000', 'ret_00050001', 'ret_7ffc0000', 'ret_7fff0000', 'ret_80000000']);
  assert.match(g.nodes.get('ret_7fff0000')!, /label="ALLOW".*fillcolor="#8fd18f"/);
  assert.match(g.nodes.get('ret_00050001')!, /label="ERRNO\(1\) EPERM".*fillcolor="#f5b461"/);
  assert.match(g.nodes.get('ret_80000000')!, /label="KILL_PROCESS".*fillcolor="#e05050"/);
  assert.match(dot, /label="two \\"arch\\" filter"/);
});

test('degenerate programs: a lone return, return A, raw instructions', () => {
  const lone = parseDot(toDot([stmt(BPF_RET | BPF_K, 0x7fff0000)]));
  assert.equal([...lone.nodes.keys()], ['ret_7fff0000']);
  const retA = toDot(assemble('A = sys_number\nreturn A\n'));
  assert.match(retA, /b0 -> b0_end/);
  assert.match(retA, /return A/);
  const raw = toDot([stmt(0x28, 0), stmt(BPF_RET | BPF_K, 0)]); // ld_h_abs: no statement form
  assert.match(raw, /\.insn 0x28/);
  assert.equal(toDot([stmt(BPF_RET | BPF_K, 0)]), toDot([stmt(BPF_RET | BPF_K, 0)]), 'deterministic');
});

const haveDot = needTool('dot', 'graphviz');
(haveDot ? test : test.skip)('graphviz renders it: SVG holds every block and leaf with its text', () => {
  const r = spawnSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const svg = r.stdout;
  const g = parseDot(dot);
  for (const id of g.nodes.keys()) assert.ok(svg.includes(`<title>${id}</title>`), `node ${id} in SVG`);
  for (const text of ['A == read ?', 'A == ARCH_X86_64 ?', 'ERRNO(1) EPERM', 'KILL_PROCESS', 'LOG', 'A &amp; 0x3 ?']) {
    assert.ok(svg.includes(text), `SVG shows ${text}`);
  }
  assert.ok(svg.includes('fill="#8fd18f"'), 'allow leaf is green');
});

test('cli: disasm --format dot prints the same graph for a blob', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seccomp-ts-dot-'));
  const file = join(dir, 'two-arch.bpf');
  writeFileSync(file, encode(program, 'little'));
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'disasm', file, '--format', 'dot'], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, toDot(program, { symbols: archSymbols, title: file }));
});

test.run();
