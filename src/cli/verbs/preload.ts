import { buildPreload } from '../../launch/preload.js';
import { UsageError } from '../errors.js';
import { parseFlags, writeOutput } from '../io.js';
import type { Verb } from '../verb.js';
import { POLICY_OPTIONS, policyFilter, policyFlagsSpec } from './exec.js';

const USAGE = `usage: seccomp-ts preload [POLICY OPTIONS] -o FILE [--arch x86_64|aarch64] [--soname NAME] [--no-tsync]

Writes a shared object (the Cloudflare toolkit's libsandbox.so, with the policy built in) whose
initializer installs the filter on every thread of the process and sets no_new_privs before
main() runs; it prints one line and exits 1 if the kernel refuses. Use it with
  LD_PRELOAD=./libsandbox.so ./prog        (dynamically linked programs)
  patchelf --add-needed ./libsandbox.so ./prog   (make it permanent)
The dynamic loader's start-up is done by then, so the policy needs only what the program does
from main() on (for the blog's myos: brk, exit_group, getrandom, newfstatat, uname, write).
Statically linked programs ignore LD_PRELOAD: use 'seccomp-ts exec' for them.

${POLICY_OPTIONS}

Options:
  -o, --output FILE  where to write the object (- for standard output, not a terminal)
  --soname NAME      its DT_SONAME (default libseccomp-ts-sandbox.so)
  --no-tsync         install on the loading thread only (default: all threads, TSYNC)
  --arch ARCH        x86_64 (default) or aarch64; given, the policy is compiled for it alone.
                     The aarch64 object is generated and checked instruction by instruction
                     but has not been run on arm64 hardware by this project's tests.
`;

/** `seccomp-ts preload`: write the preload shared object for a policy. */
export const preloadVerb: Verb = {
  name: 'preload',
  summary: 'write an LD_PRELOAD / patchelf --add-needed library that installs a policy (like libsandbox.so)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('preload', argv, {
      ...policyFlagsSpec, output: { type: 'string', short: 'o' }, soname: { type: 'string' }, 'no-tsync': { type: 'boolean' }, arch: { type: 'string' },
    });
    const arch = values.arch ?? 'x86_64';
    if (arch !== 'x86_64' && arch !== 'aarch64') throw new UsageError(`preload: --arch must be x86_64 or aarch64, not '${arch}'`);
    if (positionals.length) throw new UsageError(`preload: unexpected '${positionals[0]}' (the policy comes from --policy, --allow, --deny or SECCOMP_*)`);
    if (values.output === undefined) throw new UsageError('preload: give -o FILE for the shared object');
    if (values.output === '-' && process.stdout.isTTY) throw new UsageError('preload: refusing to write a binary to a terminal (use -o FILE)');
    if (values.soname !== undefined && !/^[^/\0]+$/.test(values.soname)) throw new UsageError(`preload: --soname must be a file name, not '${values.soname}'`);
    // --arch overrides the policy's architectures; without it the policy's own list must cover x86_64.
    const { filter } = policyFilter('preload', values, process.env, values.arch !== undefined ? [arch] : undefined);
    if (!filter.arches.includes(arch)) throw new UsageError(`preload: the object is for ${arch}, but the policy's architectures are ${filter.arches.join(', ')} (use --arch)`);
    const so = buildPreload(filter.instructions, { ...(values.soname !== undefined ? { soname: values.soname } : {}), tsync: !values['no-tsync'], arch });
    writeOutput(values.output, so);
    return 0;
  },
};
