import { getArch, type ArchName } from '../../arch/index.js';
import { encodeAction } from '../../bpf/seccomp.js';
import { formatAction } from '../../policy/actions.js';
import { policyFromLists } from '../../policy/env.js';
import { compile, type Filter } from '../../policy/filter.js';
import { formatOciJson, policyToOci } from '../../policy/oci.js';
import { policyFromSystemd, policyToSystemd } from '../../policy/systemd.js';
import type { Policy } from '../../policy/types.js';
import { UsageError } from '../errors.js';
import { compactJson, oneFile, parseFlags, readInput, writeOutput } from '../io.js';
import { OCI_FLAGS_USAGE, ociFlagsSpec, ociSettings, readPolicy, reportFindings, requireOci, type OciSettings, type PolicyText } from '../policy-input.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts compile POLICY [--arch A,B] [--format bpf|json|c|text | --to oci|systemd] [-o FILE]
                          [--strict] [-v] [--caps LIST] [--kernel X.Y]
       seccomp-ts compile --allow a,b | --deny a,b [--default ACTION] [--arch A,B] ...
       seccomp-ts compile --systemd LINE [--systemd LINE ...] | --systemd-unit FILE [--arch A,B] ...

Compiles a policy (YAML or JSON, an OCI/Docker seccomp profile, or systemd's SystemCallFilter=
settings) into a seccomp filter, or with --to writes the policy in another format.
POLICY may be - for standard input. Without a POLICY, --allow/--deny or --systemd/--systemd-unit
build one.

Options:
  --arch A,B        architectures (names or aliases); default: the policy's, else this machine's.
                    OCI profiles: the first is the host Docker runs on (it picks the archMap entry
                    and is matched against includes/excludes arches); the list replaces the
                    profile's architectures. systemd: the machine's ABIs, the first the native one
                    (default: this machine's and its compat ABIs)
  --format FORMAT   bpf:  raw struct sock_filter bytes in the target's byte order
                          (what bwrap --seccomp FD reads; the default with -o)
                    json: {"arches", "endian", "instructions": [{code, jt, jf, k}, ...]}
                    c:    a struct sock_filter array for <linux/filter.h>, with comments
                    text: the disassembly (the default without -o)
  --to FORMAT       write the policy instead of a filter: oci (an OCI/Docker profile, JSON) or
                    systemd (SystemCallFilter= lines for a [Service] section); a policy the format
                    cannot express is refused. Not with --format
  -o, --output FILE write to FILE instead of standard output
  --allow LIST      comma-separated syscalls or @groups to allow (default action kill_process)
  --deny LIST       comma-separated syscalls or @groups to kill the process for (default action allow)
  --default ACTION  the default action for --allow/--deny, e.g. errno(EPERM) or log
  --systemd LINE    a systemd setting, e.g. 'SystemCallFilter=@system-service' (repeatable, applied
                    in order; SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=)
  --systemd-unit FILE  the seccomp settings of a unit file (other keys and sections are ignored)
${OCI_FLAGS_USAGE}
  --strict          a syscall unknown on one of the architectures is an error, not a warning
  -v, --verbose     print each note and warning on its own line (by default names an architecture
                    lacks are summarised in one line per architecture)
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

const TO = ['oci', 'systemd'] as const;

/** The policy in a --to format: an OCI profile (JSON) or systemd unit lines; PolicyError when it has no such form. */
export function renderPolicy(policy: Policy, to: (typeof TO)[number]): string {
  return to === 'oci' ? formatOciJson(policyToOci(policy)) : policyToSystemd(policy).join('\n') + '\n';
}

/** The policy of the command line: a POLICY file, --allow/--deny lists, or --systemd lines / a --systemd-unit file. */
function readCompileInput(
  values: { allow?: string; deny?: string; default?: string; systemd?: string[]; 'systemd-unit'?: string },
  positionals: string[],
  arches: string[] | undefined,
  oci: OciSettings | undefined,
): PolicyText {
  const fromLists = values.allow !== undefined || values.deny !== undefined;
  const unit = values['systemd-unit'];
  const fromSystemd = values.systemd !== undefined || unit !== undefined;
  if (values.default !== undefined && !fromLists) throw new UsageError('compile: --default goes with --allow or --deny (a policy file has its own default action)');
  if (fromSystemd) {
    if (values.systemd !== undefined && unit !== undefined) throw new UsageError('compile: give --systemd lines or a --systemd-unit file, not both');
    if (positionals.length || fromLists) throw new UsageError('compile: --systemd/--systemd-unit build the policy; give no POLICY file or --allow/--deny with them');
    const label = unit === undefined ? '--systemd' : unit === '-' ? '<stdin>' : unit;
    const lines = unit === undefined ? values.systemd! : new TextDecoder().decode(readInput(unit));
    // --arch names the machine's ABIs here; SystemCallArchitectures= then picks among them.
    const policy = policyFromSystemd(lines, { file: label, ...(arches ? { arches } : {}) });
    requireOci('compile', oci, false);
    return { policy, label, oci: false, notes: [] };
  }
  if (fromLists) {
    if (positionals.length) throw new UsageError(`compile: give a POLICY file or --allow/--deny lists, not both`);
    requireOci('compile', oci, false);
    const policy = policyFromLists({
      ...(values.allow !== undefined ? { allow: list('--allow', values.allow) } : {}),
      ...(values.deny !== undefined ? { deny: list('--deny', values.deny) } : {}),
      ...(values.default !== undefined ? { defaultAction: values.default } : {}),
      ...(arches ? { architectures: arches as ArchName[] } : {}),
      source: 'command line',
    });
    return { policy, label: '--allow/--deny', oci: false, notes: [] };
  }
  return readPolicy('compile', oneFile('compile', positionals), { ...(arches ? { arches } : {}), ...(oci ? { oci } : {}) });
}

/** `seccomp-ts compile`: policy -> filter (or, with --to, policy -> policy in another format). */
export const compileVerb: Verb = {
  name: 'compile',
  summary: 'compile a policy into a seccomp filter (raw bytes, JSON, C or text), or convert it (OCI, systemd)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('compile', argv, {
      arch: { type: 'string' }, format: { type: 'string' }, output: { type: 'string', short: 'o' },
      allow: { type: 'string' }, deny: { type: 'string' }, default: { type: 'string' }, strict: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' }, to: { type: 'string' },
      systemd: { type: 'string', multiple: true }, 'systemd-unit': { type: 'string' }, ...ociFlagsSpec,
    });
    const to = values.to as (typeof TO)[number] | undefined;
    if (to !== undefined && values.format !== undefined) throw new UsageError('compile: --to writes the policy, --format the filter; give one of them');
    if (to !== undefined && !TO.includes(to)) throw new UsageError(`compile: --to must be one of ${TO.join(', ')}, not '${values.to}'`);
    const format = (values.format ?? (values.output !== undefined ? 'bpf' : 'text')) as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`compile: --format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
    const arches = values.arch === undefined ? undefined : list('--arch', values.arch).map((a) => getArch(a).name);
    const input = readCompileInput(values, positionals, arches, ociSettings('compile', values));
    // OCI and systemd readers already turned --arch into the policy's architectures; for our policies it overrides theirs.
    const own = arches !== undefined && !input.oci && values.systemd === undefined && values['systemd-unit'] === undefined;
    const filter = compile(input.policy, { ...(own ? { arches } : {}), ...(values.strict ? { strict: true } : {}) });
    // The written policy covers what the filter covers (--arch included); a refusal comes before any warning.
    const converted = to === undefined ? undefined : renderPolicy(own ? { ...input.policy, architectures: filter.arches } : input.policy, to);
    reportFindings(input.notes, filter.warnings, {
      verbose: values.verbose === true,
      source: input.label,
      ...(input.container ? { container: input.container } : {}),
      verboseHint: '-v lists each',
      strictHint: '--strict makes this an error',
    });
    if (to === 'oci' && input.policy.badArchAction !== encodeAction('kill_thread')) {
      process.stderr.write(`seccomp-ts: note: ${input.label}: an OCI profile has no bad-architecture action (runtimes kill the thread); the policy's ${formatAction(input.policy.badArchAction)} is not kept\n`);
    }
    if (converted !== undefined) {
      writeOutput(values.output ?? '-', converted);
      return 0;
    }
    if (format === 'bpf' && values.output === undefined && process.stdout.isTTY) {
      throw new UsageError('compile: refusing to write binary filter bytes to a terminal (use -o FILE, or --format text)');
    }
    writeOutput(values.output ?? '-', render(filter, format));
    return 0;
  },
};
