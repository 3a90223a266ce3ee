import { assembleWithInfo, encode } from '../../bpf/index.js';
import { hostArch } from '../../arch/index.js';
import { archSymbols } from '../../symbols.js';
import { UsageError } from '../errors.js';
import { archFlag, endianFlag, oneFile, parseFlags, readInput, writeOutput } from '../io.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts asm FILE -o OUT [--arch ARCH] [--endian little|big]

Assembles text (the language 'seccomp-ts disasm' prints, with optional named labels) into a
sock_filter blob written to OUT in the architecture's byte order. FILE and OUT may be -.

Options:
  -o, --output OUT  where to write the blob (required)
  --arch ARCH       architecture for syscall names and args[i] where the text does not check
                    one; default: the single architecture the text checks, else the host's
  --endian ORDER    byte order of the blob and of args[i] words; default: the architecture's
`;

/** \`seccomp-ts asm\`: text to a filter blob. */
export const asmVerb: Verb = {
  name: 'asm',
  summary: 'assemble text into a seccomp filter blob',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('asm', argv, {
      output: { type: 'string', short: 'o' }, arch: { type: 'string' }, endian: { type: 'string' },
    });
    const file = oneFile('asm', positionals);
    if (values.output === undefined) throw new UsageError('asm: missing -o OUT (use -o - for standard output)');
    const arch = archFlag(values.arch);
    const endian = endianFlag('asm', values.endian);
    const source = new TextDecoder().decode(readInput(file));
    const r = assembleWithInfo(source, { symbols: archSymbols, defaultArch: arch?.auditArch, fallbackArch: hostArch()?.auditArch, endian });
    writeOutput(values.output, encode(r.program, r.endian));
    return 0;
  },
};
