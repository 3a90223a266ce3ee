/**
 * A program as C source: a `struct sock_filter` array of BPF_STMT/BPF_JUMP lines with symbolic
 * opcodes, seccomp_data offsets, AUDIT_ARCH_* and SECCOMP_RET_* constants, each line commented
 * with its disassembly. It compiles against <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>.
 */
import { ARCHES, type Arch } from '../arch/index.js';
import type { Endian } from '../bpf/codec.js';
import type { Program } from '../bpf/insn.js';
import { opInfo } from '../bpf/opcodes.js';
import { SECCOMP_DATA_ARCH, decodeAction } from '../bpf/seccomp.js';
import { disassembleLines } from '../bpf/text.js';
import { archSymbols } from '../symbols.js';

/** Options of {@link formatC}. */
export interface CFormatOptions {
  /** The ABIs the filter is for (named in the header comment). */
  readonly arches: readonly Arch[];
  readonly endian: Endian;
  /** Name of the sock_filter array (default `seccomp_filter`); the sock_fprog is `<name>_prog`. */
  readonly name?: string;
}

const CLASS = ['BPF_LD', 'BPF_LDX', 'BPF_ST', 'BPF_STX', 'BPF_ALU', 'BPF_JMP', 'BPF_RET', 'BPF_MISC'];
const SIZE: Record<number, string> = { 0x00: 'BPF_W', 0x08: 'BPF_H', 0x10: 'BPF_B' };
const MODE: Record<number, string> = { 0x00: 'BPF_IMM', 0x20: 'BPF_ABS', 0x40: 'BPF_IND', 0x60: 'BPF_MEM', 0x80: 'BPF_LEN', 0xa0: 'BPF_MSH' };
const ALU: Record<number, string> = {
  0x00: 'BPF_ADD', 0x10: 'BPF_SUB', 0x20: 'BPF_MUL', 0x30: 'BPF_DIV', 0x40: 'BPF_OR', 0x50: 'BPF_AND',
  0x60: 'BPF_LSH', 0x70: 'BPF_RSH', 0x80: 'BPF_NEG', 0x90: 'BPF_MOD', 0xa0: 'BPF_XOR',
};
const JMP: Record<number, string> = { 0x00: 'BPF_JA', 0x10: 'BPF_JEQ', 0x20: 'BPF_JGT', 0x30: 'BPF_JGE', 0x40: 'BPF_JSET' };

/** The opcode as an OR of BPF_* names, e.g. `BPF_JMP | BPF_JEQ | BPF_K`. */
function codeExpr(code: number): string {
  const cls = code & 0x07;
  const parts = [CLASS[cls]];
  switch (cls) {
    case 0x00: case 0x01: parts.push(SIZE[code & 0x18] ?? `0x${(code & 0x18).toString(16)}`, MODE[code & 0xe0] ?? `0x${(code & 0xe0).toString(16)}`); break;
    case 0x04: parts.push(ALU[code & 0xf0] ?? `0x${(code & 0xf0).toString(16)}`, code & 0x08 ? 'BPF_X' : 'BPF_K'); break;
    case 0x05: parts.push(JMP[code & 0xf0] ?? `0x${(code & 0xf0).toString(16)}`); if ((code & 0xf0) !== 0) parts.push(code & 0x08 ? 'BPF_X' : 'BPF_K'); break;
    case 0x06: parts.push((code & 0x18) === 0x10 ? 'BPF_A' : (code & 0x18) === 0x08 ? 'BPF_X' : 'BPF_K'); break;
    case 0x07: parts.push(code & 0x80 ? 'BPF_TXA' : 'BPF_TAX'); break;
    default: break;
  }
  // Any bits the names above do not cover (a malformed program) stay visible.
  return parts.join(' | ');
}

/** A seccomp_data offset as an offsetof() expression. */
function offsetExpr(k: number, endian: Endian): string {
  const field = (base: number, name: string) => (k === base ? `offsetof(struct seccomp_data, ${name})` : `offsetof(struct seccomp_data, ${name}) + 4`);
  if (k === 0) return 'offsetof(struct seccomp_data, nr)';
  if (k === 4) return 'offsetof(struct seccomp_data, arch)';
  if (k >= 8 && k < 16) return field(8, 'instruction_pointer');
  if (k >= 16 && k < 64) {
    const i = Math.floor((k - 16) / 8);
    return field(16 + 8 * i, `args[${i}]`);
  }
  void endian;
  return String(k);
}

const RET_NAMES: Record<string, string> = {
  kill_process: 'SECCOMP_RET_KILL_PROCESS', kill_thread: 'SECCOMP_RET_KILL_THREAD', trap: 'SECCOMP_RET_TRAP', errno: 'SECCOMP_RET_ERRNO',
  user_notif: 'SECCOMP_RET_USER_NOTIF', trace: 'SECCOMP_RET_TRACE', log: 'SECCOMP_RET_LOG', allow: 'SECCOMP_RET_ALLOW',
};

/** A return value as SECCOMP_RET_* (| data). */
function retExpr(k: number): string {
  const a = decodeAction(k);
  const name = RET_NAMES[a.name];
  if (((a.value & 0xffff0000) >>> 0) !== ((k & 0xffff0000) >>> 0) || !name) return hex(k); // unknown action: keep it literal
  return a.data ? `${name} | ${a.data}` : name;
}

function auditName(arch: Arch): string {
  const special: Record<string, string> = { mips64el: 'AUDIT_ARCH_MIPSEL64', mipsel: 'AUDIT_ARCH_MIPSEL', i386: 'AUDIT_ARCH_I386' };
  return special[arch.name] ?? `AUDIT_ARCH_${arch.name.toUpperCase()}`;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

/**
 * Whether A holds seccomp_data.arch before each instruction, on every path that reaches it.
 * Jumps only go forward, so one pass in program order suffices.
 */
function archLoaded(program: Program): boolean[] {
  const n = program.length;
  const into: (boolean | undefined)[] = new Array(n).fill(undefined);
  into[0] = false;
  const merge = (pc: number, v: boolean) => {
    if (pc < n) into[pc] = into[pc] === undefined ? v : into[pc]! && v;
  };
  for (let pc = 0; pc < n; pc++) {
    const s = into[pc] ?? false;
    const insn = program[pc];
    const e = opInfo(insn.code)?.effect;
    let after = s;
    if (e?.kind === 'load' && e.dst === 'A') after = e.mode === 'abs' && insn.k === SECCOMP_DATA_ARCH;
    else if (e?.kind === 'alu' || (e?.kind === 'misc' && e.op === 'txa')) after = false;
    if (e?.kind === 'jmp') {
      if (e.op === 'ja') merge(pc + 1 + insn.k, after);
      else {
        merge(pc + 1 + insn.jt, after);
        merge(pc + 1 + insn.jf, after);
      }
    } else if (e?.kind !== 'ret') merge(pc + 1, after);
  }
  return into.map((s) => s ?? false);
}

/** The program as C source (see the module comment). */
export function formatC(program: Program, opts: CFormatOptions): string {
  const name = opts.name ?? 'seccomp_filter';
  const lines = disassembleLines(program, { symbols: archSymbols, endian: opts.endian, defaultArch: opts.arches[0]?.auditArch });
  const isArch = archLoaded(program);
  const usedArches = new Set<Arch>();
  const body = program.map((insn, pc) => {
    const info = opInfo(insn.code);
    const e = info?.effect;
    let k: string;
    if (e?.kind === 'load' && e.mode === 'abs') k = offsetExpr(insn.k, opts.endian);
    else if (e?.kind === 'ret' && e.src === 'K') k = retExpr(insn.k);
    else if (e?.kind === 'jmp' && e.op === 'jeq' && e.src === 'K' && isArch[pc]) {
      const a = ARCHES.find((x) => x.auditArch === insn.k >>> 0 && x.syscallBit === 0) ?? ARCHES.find((x) => x.auditArch === insn.k >>> 0);
      if (a) usedArches.add(a);
      k = a ? auditName(a) : hex(insn.k);
    } else k = hex(insn.k);
    const comment = lines[pc].slice(lines[pc].indexOf(':') + 1).replace(/^\s*(0x[0-9a-f]+\s+){4}/, '').trim().replace(/\*\//g, '* /');
    const c = info?.conditional ? `BPF_JUMP(${codeExpr(insn.code)}, ${k}, ${insn.jt}, ${insn.jf})` : `BPF_STMT(${codeExpr(insn.code)}, ${k})`;
    return `\t/* ${String(pc).padStart(4, '0')} */ ${c}, /* ${comment} */`;
  });
  const fallbacks = [...usedArches].map((a) => `#ifndef ${auditName(a)}\n#define ${auditName(a)} ${hex(a.auditArch)}u\n#endif`);
  return [
    `/* Generated by seccomp-ts compile: ${opts.arches.map((a) => a.name).join(', ')} (${opts.endian}-endian), ${program.length} instructions. */`,
    '#include <stddef.h>',
    '#include <linux/audit.h>',
    '#include <linux/filter.h>',
    '#include <linux/seccomp.h>',
    ...fallbacks,
    '',
    `struct sock_filter ${name}[] = {`,
    ...body,
    '};',
    '',
    `struct sock_fprog ${name}_prog = {`,
    `\t.len = (unsigned short)(sizeof(${name}) / sizeof(${name}[0])),`,
    `\t.filter = ${name},`,
    '};',
    '',
  ].join('\n');
}
