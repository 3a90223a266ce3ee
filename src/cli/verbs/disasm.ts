import { disassemble } from '../../bpf/index.js';
import { toDot } from '../../bpf/dot.js';
import { hostArch } from '../../arch/index.js';
import { archSymbols } from '../../symbols.js';
import { archFlag, endianFlag, formatFlag, loadProgram, oneFile, parseFlags } from '../io.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts disasm FILE [--arch ARCH] [--endian little|big] [--no-header]

Prints a seccomp filter (a sock_filter blob, or text assembly) as text, one instruction per line:
  0001: 0x15 0x00 0x05 0xc000003e  if (A != ARCH_X86_64) goto 0007
'seccomp-ts asm' turns the text back into the same bytes. FILE may be - for standard input.

Options:
  --arch ARCH       architecture for syscall names where the filter does not prove one;
                    default: the single architecture the filter checks, else the host's
  --endian ORDER    byte order of the blob; default: the architecture's (guessed from the
                    blob when no --arch is given)
  --format FORMAT   bin or text; default: detected. dot: print a Graphviz graph instead
  --no-header       omit the column header
`;

/** \`seccomp-ts disasm\`: a filter as text. */
export const disasmVerb: Verb = {
  name: 'disasm',
  summary: 'disassemble a seccomp filter into text',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('disasm', argv, {
      arch: { type: 'string' }, endian: { type: 'string' }, format: { type: 'string' }, 'no-header': { type: 'boolean' },
    });
    const file = oneFile('disasm', positionals);
    const arch = archFlag(values.arch);
    const loaded = loadProgram(file, { arch, endian: endianFlag('disasm', values.endian), format: values.format === 'dot' ? undefined : formatFlag('disasm', values.format) });
    if (values.format === 'dot') {
      process.stdout.write(toDot(loaded.program, { symbols: archSymbols, defaultArch: arch?.auditArch, fallbackArch: hostArch()?.auditArch, endian: loaded.endian, title: file }));
      return 0;
    }
    const text = disassemble(loaded.program, {
      symbols: archSymbols,
      defaultArch: arch?.auditArch,
      fallbackArch: hostArch()?.auditArch,
      endian: loaded.endian,
      header: !values['no-header'],
    });
    process.stdout.write(text);
    return 0;
  },
};
