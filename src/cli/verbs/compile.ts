import { getArch } from '../../arch/index.js';
import { policyFromLists } from '../../policy/env.js';
import { compile, type Filter } from '../../policy/filter.js';
import { UsageError } from '../errors.js';
import { compactJson, oneFile, parseFlags, readInput, writeOutput } from '../io.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts compile POLICY [--arch A,B] [--format bpf|json|c|text] [-o FILE] [--strict]
       seccomp-ts compile --allow a,b | --deny a,b [--default ACTION] [--arch A,B] ...

Compiles a policy (YAML or JSON, or an OCI/Docker seccomp profile) into a seccomp filter.
POLICY may be - for standard input. Without a POLICY, --allow/--deny build one from lists.

Options:
  --arch A,B        architectures (names or aliases); default: the policy's, else this machine's
  --format FORMAT   bpf:  raw struct sock_filter bytes in the target's byte order
                          (what bwrap --seccomp FD reads; the default with -o)
                    json: {"arches", "endian", "instructions": [{code, jt, jf, k}, ...]}
                    c:    a struct sock_filter array for <linux/filter.h>, with comments
                    text: the disassembly (the default without -o)
  -o, --output FILE write to FILE instead of standard output
  --allow LIST      comma-separated syscalls or @groups to allow (default action kill_process)
  --deny LIST       comma-separated syscalls or @groups to kill the process for (default action allow)
  --default ACTION  the default action for --allow/--deny, e.g. errno(EPERM) or log
  --strict          a syscall unknown on one of the architectures is an error, not a warning
`;

const FORMATS = ['bpf', 'json', 'c', 'text'] as const;
type Format = (typeof FORMATS)[number];

function list(flag: string, v: string): string[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((s) => s === '')) throw new UsageError(`compile: ${flag} has an empty entry ('${v}')`);
  return parts;
}

/** The compiled filter in the requested output format. */
export function render(filter: Filter, format: Format): Uint8Array | string {
  switch (format) {
    case 'bpf':
      return filter.toBuffer();
    case 'text':
      return filter.toString();
    case 'json':
      return (
        compactJson({
          arches: filter.arches,
          endian: filter.endian,
          instructions: filter.instructions.map((i) => ({ code: i.code, jt: i.jt, jf: i.jf, k: i.k })),
        }) + '\n'
      );
    case 'c':
      return filter.toC();
  }
}

/** `seccomp-ts compile`: policy -> filter. */
export const compileVerb: Verb = {
  name: 'compile',
  summary: 'compile a policy into a seccomp filter (raw bytes, JSON, C or text)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('compile', argv, {
      arch: { type: 'string' }, format: { type: 'string' }, output: { type: 'string', short: 'o' },
      allow: { type: 'string' }, deny: { type: 'string' }, default: { type: 'string' }, strict: { type: 'boolean' },
    });
    const format = (values.format ?? (values.output !== undefined ? 'bpf' : 'text')) as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`compile: --format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
    const arches = values.arch === undefined ? undefined : list('--arch', values.arch).map((a) => getArch(a).name);
    const fromLists = values.allow !== undefined || values.deny !== undefined;
    if (values.default !== undefined && !fromLists) throw new UsageError('compile: --default goes with --allow or --deny (a policy file has its own default action)');
    let filter: Filter;
    if (fromLists) {
      if (positionals.length) throw new UsageError(`compile: give a POLICY file or --allow/--deny lists, not both`);
      const policy = policyFromLists({
        ...(values.allow !== undefined ? { allow: list('--allow', values.allow) } : {}),
        ...(values.deny !== undefined ? { deny: list('--deny', values.deny) } : {}),
        ...(values.default !== undefined ? { defaultAction: values.default } : {}),
        ...(arches ? { architectures: arches } : {}),
        source: 'command line',
      });
      filter = compile(policy, { ...(arches ? { arches } : {}), ...(values.strict ? { strict: true } : {}) });
    } else {
      const file = oneFile('compile', positionals);
      const text = new TextDecoder().decode(readInput(file));
      filter = compile(text, { file: file === '-' ? '<stdin>' : file, ...(arches ? { arches } : {}), ...(values.strict ? { strict: true } : {}) });
    }
    for (const w of filter.warnings) process.stderr.write(`seccomp-ts: warning: ${w.message}\n`);
    if (format === 'bpf' && values.output === undefined && process.stdout.isTTY) {
      throw new UsageError('compile: refusing to write binary filter bytes to a terminal (use -o FILE, or --format text)');
    }
    writeOutput(values.output ?? '-', render(filter, format));
    return 0;
  },
};
