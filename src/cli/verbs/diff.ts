import { getArch, type Arch } from '../../arch/index.js';
import { blobAudits, diffFilters, formatDifference, type DiffSide } from '../../policy/diff.js';
import { compile, toPolicy } from '../../policy/filter.js';
import { formatAction } from '../../policy/actions.js';
import { UsageError } from '../errors.js';
import { loadProgram, looksLikeText, parseFlags, readInput } from '../io.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts diff A B [--arch A,B] [--json] [--all]

Compares what two filters decide, call by call. A and B may each be a policy (YAML or JSON), an
OCI/Docker seccomp profile, or a raw filter blob (e.g. exported by libseccomp's
seccomp_export_bpf). Every syscall number of the architectures involved is tried, with argument
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
`;

function side(file: string, arches: readonly Arch[] | undefined): DiffSide {
  const label = file === '-' ? '<stdin>' : file;
  const bytes = readInput(file);
  if (looksLikeText(bytes)) {
    const names = arches?.map((a) => a.name);
    const policy = toPolicy(new TextDecoder().decode(bytes), { file: label, ...(names ? { arches: names } : {}) });
    const f = compile(policy, names ? { arches: names } : {});
    return { label, program: f.instructions, endian: f.endian, audits: f.resolved.arches.map((a) => a.arch.auditArch) };
  }
  if (arches && new Set(arches.map((a) => a.endian)).size > 1) throw new UsageError('diff: --arch lists architectures of different byte order');
  const loaded = loadProgram(file, { format: 'bin', ...(arches ? { arch: arches[0] } : {}) });
  const audits = arches ? arches.map((a) => a.auditArch) : blobAudits(loaded.program);
  if (audits.length === 0) throw new UsageError(`diff: ${label} checks no architecture it names; say which with --arch`);
  return { label, program: loaded.program, endian: loaded.endian, audits };
}

/** \`seccomp-ts diff\`: the calls two filters decide differently. */
export const diffVerb: Verb = {
  name: 'diff',
  summary: 'show the calls two filters or policies decide differently',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('diff', argv, { arch: { type: 'string' }, json: { type: 'boolean' }, all: { type: 'boolean' } });
    if (positionals.length !== 2) throw new UsageError(`diff: expected two operands A and B, got ${positionals.length}`);
    const arches = values.arch === undefined ? undefined : values.arch.split(',').map((a) => getArch(a.trim()));
    const a = side(positionals[0]!, arches);
    const b = side(positionals[1]!, arches);
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
