import { getArch, type Arch } from '../../arch/index.js';
import { formatAction } from '../../policy/actions.js';
import { blobAudits, diffFilters, formatDifference, type DiffSide } from '../../policy/diff.js';
import { UsageError } from '../errors.js';
import { parseFlags } from '../io.js';
import { OCI_FLAGS_USAGE, ociFlagsSpec, ociSettings, readFilterInput, requireOci, type OciSettings } from '../policy-input.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts diff A B [--arch A,B] [--json] [--all] [--caps LIST] [--kernel X.Y]

Compares what two filters decide, call by call. A and B may each be a policy (YAML or JSON), an
OCI/Docker seccomp profile, a raw filter blob (e.g. exported by libseccomp's
seccomp_export_bpf), or text assembly (seccomp-ts disasm's output). Every syscall number of the architectures involved is tried, with argument
values built from the constants either filter compares arguments with (each value, its
neighbours, as high and low words, and 0, 2^32-1, 2^64-1), and a call from an architecture
neither filter serves.

Exit status: 0 equivalent, 1 different, 2 bad input.

Options:
  --arch A,B   compare calls of these architectures only; a blob is read for them, a policy
               compiled for them. Default: the architectures of either side (a blob's: the ones
               it checks)
  --json       print {"equivalent", "probes", "differences": [{arch, syscall, nr, args, a, b}]}
  --all        list up to 3 differing calls per syscall (default: the first)
${OCI_FLAGS_USAGE}
                    (applied to each operand that is an OCI profile)
`;

function side(file: string, arches: readonly Arch[] | undefined, oci: OciSettings | undefined): DiffSide & { readonly oci: boolean } {
  if (arches && new Set(arches.map((a) => a.endian)).size > 1) throw new UsageError('diff: --arch lists architectures of different byte order');
  const input = readFilterInput(file, arches, oci);
  if (input.kind === 'policy') {
    const f = input.filter;
    return { label: input.label, program: f.instructions, endian: f.endian, audits: f.resolved.arches.map((a) => a.arch.auditArch), oci: input.oci };
  }
  const audits = arches ? arches.map((a) => a.auditArch) : blobAudits(input.program);
  if (audits.length === 0) throw new UsageError(`diff: ${input.label} checks no architecture it names; say which with --arch`);
  return { label: input.label, program: input.program, endian: input.endian, audits, oci: false };
}

/** \`seccomp-ts diff\`: the calls two filters decide differently. */
export const diffVerb: Verb = {
  name: 'diff',
  summary: 'show the calls two filters or policies decide differently',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('diff', argv, { arch: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' }, ...ociFlagsSpec });
    if (positionals.length !== 2) throw new UsageError(`diff: expected two operands A and B, got ${positionals.length}`);
    const arches = values.arch === undefined ? undefined : values.arch.split(',').map((a) => getArch(a.trim()));
    const oci = ociSettings('diff', values);
    const a = side(positionals[0]!, arches, oci);
    const b = side(positionals[1]!, arches, oci);
    requireOci('diff', oci, a.oci || b.oci, 'neither operand is one');
    const r = diffFilters(a, b, { ...(arches ? { arches } : {}), witnesses: values.all ? 3 : 1 });
    if (values.json) {
      const out = {
        equivalent: r.equivalent,
        a: a.label,
        b: b.label,
        probes: r.probes,
        differences: r.differences.map((d) => ({
          arch: d.arch ?? null,
          audit: `0x${d.audit.toString(16).padStart(8, '0')}`,
          syscall: d.syscall ?? null,
          nr: d.nr,
          args: d.args.map((v) => `0x${v.toString(16)}`),
          a: formatAction(d.a),
          b: formatAction(d.b),
        })),
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else if (r.equivalent) {
      process.stdout.write(`${a.label} and ${b.label} are equivalent (${r.probes} calls compared)\n`);
    } else {
      const lines = [`--- ${a.label}`, `+++ ${b.label}`, ...r.differences.map(formatDifference)];
      lines.push(`${r.differences.length} difference${r.differences.length === 1 ? '' : 's'} (${r.probes} calls compared; actions shown as A vs B)`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    return r.equivalent ? 0 : 1;
  },
};
