import { verify } from '../../bpf/index.js';
import { archFlag, endianFlag, formatFlag, loadProgram, oneFile, parseFlags } from '../io.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts verify FILE [--arch ARCH] [--endian little|big] [--format bin|text]

Checks a seccomp filter (blob or text) the way the kernel does when it is loaded. Prints
'ok: N instructions' (exit 0) or one line per problem (exit 1). Unreadable input: exit 2.

Options:
  --arch ARCH       architecture whose byte order the blob uses
  --endian ORDER    byte order of the blob; default: the architecture's, else guessed
  --format FORMAT   bin or text; default: detected
`;

/** \`seccomp-ts verify\`: the kernel's load-time checks. */
export const verifyVerb: Verb = {
  name: 'verify',
  summary: 'check a seccomp filter as the kernel would at load time',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('verify', argv, {
      arch: { type: 'string' }, endian: { type: 'string' }, format: { type: 'string' },
    });
    const file = oneFile('verify', positionals);
    const loaded = loadProgram(file, { arch: archFlag(values.arch), endian: endianFlag('verify', values.endian), format: formatFlag('verify', values.format) });
    const problems = verify(loaded.program);
    if (problems.length === 0) {
      process.stdout.write(`ok: ${loaded.program.length} instructions\n`);
      return 0;
    }
    for (const p of problems) process.stdout.write(`${p.pc >= 0 ? String(p.pc).padStart(4, '0') : 'prog'}: ${p.message} [${p.rule}]\n`);
    process.stdout.write(`rejected: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
    return 1;
  },
};
