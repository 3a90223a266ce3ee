import { getArch, hostArch, type Arch } from '../../arch/index.js';
import { explainFilter, explainProgram, formatExplanation } from '../../policy/explain.js';
import { primaryArch } from '../../symbols.js';
import { UsageError } from '../errors.js';
import { oneFile, parseFlags, parseUnsigned } from '../io.js';
import { OCI_FLAGS_USAGE, ociFlagsSpec, ociSettings, readFilterInput, requireOci } from '../policy-input.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts explain POLICY|FILE --syscall NAME|NR [--args A0,A1,...] [--arch ARCH] [--ip N]
                       [--caps LIST] [--kernel X.Y]

Explains the decision for one call: the action, the policy rule that produced it (file:line:col)
and the path through the compiled filter (the instructions executed, with the registers before
each). POLICY is a policy (YAML or JSON) or an OCI/Docker profile; FILE a raw filter blob or text
assembly, for which only the action and the path are shown.

Options:
  --syscall NAME|NR  syscall name on ARCH, or its number (decimal or 0x hex)
  --args LIST        up to six comma-separated argument values (decimal or 0x, each up to 2^64-1)
  --arch ARCH        the calling ABI; default: the policy's first architecture, or the single
                     one a blob checks, else this machine's
  --ip N             instruction pointer
${OCI_FLAGS_USAGE}
`;

/** \`seccomp-ts explain\`: why a filter decides what it does for one call. */
export const explainVerb: Verb = {
  name: 'explain',
  summary: 'explain the decision for one call: action, rule and path through the filter',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('explain', argv, {
      syscall: { type: 'string' }, args: { type: 'string' }, arch: { type: 'string' }, ip: { type: 'string' }, ...ociFlagsSpec,
    });
    const file = oneFile('explain', positionals);
    if (values.syscall === undefined) throw new UsageError('explain: missing --syscall NAME|NR');
    const syscall = /^[0-9]/.test(values.syscall) ? Number(parseUnsigned(values.syscall, '--syscall', 0xffffffffn)) : values.syscall;
    const args = values.args === undefined ? [] : values.args.split(',').map((s, i) => parseUnsigned(s, `--args value ${i}`));
    if (args.length > 6) throw new UsageError(`explain: --args has ${args.length} values; a syscall has at most 6`);
    const ip = values.ip === undefined ? 0n : parseUnsigned(values.ip, '--ip');
    const given = values.arch === undefined ? undefined : getArch(values.arch);
    // The policy is compiled for its own architectures; --arch only says where the call comes from.
    const oci = ociSettings('explain', values);
    const input = readFilterInput(file, undefined, oci);
    requireOci('explain', oci, input.kind === 'policy' && input.oci);
    let text: string;
    if (input.kind === 'policy') {
      const arch: Arch = given ?? input.filter.resolved.arches[0]!.arch;
      text = formatExplanation(explainFilter(input.filter, { syscall, arch, args, ip }));
    } else {
      const arch = given ?? (input.arch !== undefined ? primaryArch(input.arch) : undefined) ?? hostArch();
      if (!arch) throw new UsageError('explain: cannot tell which architecture the call is from; pass --arch');
      text = formatExplanation(explainProgram(input.program, input.endian, { syscall, arch, args, ip }));
    }
    process.stdout.write(text);
    return 0;
  },
};
