import { disassemble, type Endian, type Program } from '../../bpf/index.js';
import { toDot } from '../../bpf/dot.js';
import { hostArch } from '../../arch/index.js';
import { archSymbols } from '../../symbols.js';
import { archFlag, endianFlag, formatFlag, loadProgram, oneFile, parseFlags } from '../io.js';
import { readFilterInput, type FilterInput } from '../policy-input.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts disasm FILE|POLICY [--arch ARCH] [--endian little|big] [--format bin|text|dot] [--no-header]

Prints a seccomp filter (a sock_filter blob, text assembly, or a policy or OCI profile, which is
compiled first) as text, one instruction per line:
  0001: 0x15 0x00 0x05 0xc000003e  if (A != ARCH_X86_64) goto 0007
'seccomp-ts asm' turns the text back into the same bytes. FILE may be - for standard input.

Options:
  --arch ARCH       architecture for syscall names where the filter does not prove one;
                    default: the single architecture the filter checks, else the host's.
                    A POLICY is compiled for ARCH (default: the policy's architectures)
  --endian ORDER    byte order of the blob; default: the architecture's (guessed from the
                    blob when no --arch is given)
  --format FORMAT   the input is a blob (bin) or text assembly (text); default: detected, and
                    text that is a policy is compiled. dot: print a Graphviz graph instead
  --no-header       omit the column header
`;

/** The program to print from what {@link readFilterInput} read. */
function programOf(input: FilterInput): { program: Program; endian: Endian } {
  return input.kind === 'policy' ? { program: input.filter.instructions, endian: input.filter.endian } : input;
}

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
    const endian = endianFlag('disasm', values.endian);
    const format = values.format === 'dot' ? undefined : formatFlag('disasm', values.format);
    // An explicit input format reads the file as that; otherwise a policy is compiled first.
    const loaded = format !== undefined || endian !== undefined ? loadProgram(file, { arch, endian, format }) : programOf(readFilterInput(file, arch ? [arch] : undefined));
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
