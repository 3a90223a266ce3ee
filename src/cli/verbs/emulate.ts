import { disassembleLines, emulate, type EmulateResult } from '../../bpf/index.js';
import { resolveSyscall } from '../../arch/index.js';
import { archSymbols } from '../../symbols.js';
import { UsageError } from '../errors.js';
import { archFlag, compactJson, endianFlag, formatFlag, loadProgram, oneFile, parseFlags, parseUnsigned } from '../io.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts emulate FILE --arch ARCH --syscall NAME|NR [--args A0,A1,...] [--ip N]
                        [--trace] [--json] [--endian little|big] [--format bin|text]

Runs a seccomp filter (blob or text) on one system call, as the kernel would, and prints the
action and the 32-bit return value.

Options:
  --arch ARCH        the calling ABI (sets seccomp_data.arch and the syscall table)
  --syscall NAME|NR  syscall name on ARCH, or its number (decimal or 0x hex)
  --args LIST        up to six comma-separated argument values, each 0..2^64-1 (decimal or 0x)
  --ip N             instruction pointer, 0..2^64-1
  --trace            print every executed instruction with the A and X registers before it
  --json             print {"action": ..., "data": ..., "value": ..., "executed": ...}
  --endian ORDER     byte order of the blob and seccomp_data; default: the architecture's
  --format FORMAT    bin or text; default: detected
`;

const hex8 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** The statement part of a disassembly line (after the raw columns). */
function statementOf(line: string): string {
  const i = line.indexOf('  ', line.indexOf(':'));
  return i < 0 ? line : line.slice(i + 2);
}

function actionText(r: EmulateResult): string {
  const a = r.action;
  const withData = a.name === 'errno' || a.name === 'trap' || a.name === 'trace';
  return `${a.name}${withData ? `(${a.data})` : ''} value=${hex8(r.value)} executed=${r.executed}`;
}

/** \`seccomp-ts emulate\`: run a filter on one syscall. */
export const emulateVerb: Verb = {
  name: 'emulate',
  summary: 'run a seccomp filter on one system call and print the decision',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('emulate', argv, {
      arch: { type: 'string' }, syscall: { type: 'string' }, args: { type: 'string' }, ip: { type: 'string' },
      trace: { type: 'boolean' }, json: { type: 'boolean' }, endian: { type: 'string' }, format: { type: 'string' },
    });
    const file = oneFile('emulate', positionals);
    if (values.arch === undefined) throw new UsageError('emulate: missing --arch ARCH');
    if (values.syscall === undefined) throw new UsageError('emulate: missing --syscall NAME|NR');
    const arch = archFlag(values.arch)!;
    const nr = /^[0-9]/.test(values.syscall)
      ? Number(parseUnsigned(values.syscall, '--syscall', 0xffffffffn))
      : resolveSyscall(arch, values.syscall);
    const args = values.args === undefined ? [] : values.args.split(',').map((s, i) => parseUnsigned(s, `--args value ${i}`));
    if (args.length > 6) throw new UsageError(`emulate: --args has ${args.length} values; a syscall has at most 6`);
    const ip = values.ip === undefined ? 0n : parseUnsigned(values.ip, '--ip');
    const loaded = loadProgram(file, { arch, endian: endianFlag('emulate', values.endian), format: formatFlag('emulate', values.format) });
    const r = emulate(loaded.program, { nr, arch: arch.auditArch, instructionPointer: ip, args }, { endian: loaded.endian, trace: values.trace });
    const lines = r.trace ? disassembleLines(loaded.program, { symbols: archSymbols, defaultArch: loaded.arch, endian: loaded.endian }) : [];
    if (values.json) {
      const out: Record<string, unknown> = { action: r.action.name, data: r.action.data, value: r.value, executed: r.executed };
      if (r.trace) {
        out.trace = r.trace.map((s) => ({ pc: s.pc, code: s.insn.code, jt: s.insn.jt, jf: s.insn.jf, k: s.insn.k, text: statementOf(lines[s.pc]), a: s.a, x: s.x }));
      }
      process.stdout.write(compactJson(out) + '\n');
      return 0;
    }
    if (r.trace) {
      const width = Math.max(...r.trace.map((s) => lines[s.pc].length));
      for (const s of r.trace) process.stdout.write(`${lines[s.pc].padEnd(width)}  ; A=${hex8(s.a)} X=${hex8(s.x)}\n`);
    }
    process.stdout.write(actionText(r) + '\n');
    return 0;
  },
};
