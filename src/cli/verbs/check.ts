import { getArch } from '../../arch/index.js';
import { checkPolicy } from '../../policy/check.js';
import { formatFinding, type Finding } from '../../policy/lint.js';
import { LINT_RULES } from '../../policy/lint-data.js';
import { UsageError } from '../errors.js';
import { oneFile, parseFlags } from '../io.js';
import { OCI_FLAGS_USAGE, ociFlagsSpec, ociSettings, readPolicy } from '../policy-input.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts check POLICY [--arch A,B] [--json] [--for bwrap] [--caps LIST] [--kernel X.Y]

Checks a policy (YAML or JSON, or an OCI/Docker seccomp profile) before it is used: resolves and
compiles it for its architectures, runs its tests: section through the emulator on the compiled
filter (a failure prints the instructions executed), and lints it (denylist bypasses, rules that
can never match, argument widths, filter size, ...). POLICY may be - for standard input.

Exit status: 0 no errors (warnings allowed), 1 a failing test or an error finding, 2 bad input.

Options:
  --arch A,B     architectures (names or aliases); default: the policy's, else this machine's
  --json         print {"ok", "tests": {"run", "failed"}, "findings": [{rule, severity, message,
                 pos: {file, line, column}, detail?}]} (detail: a failing test's trace)
  --for bwrap    the filter will be installed by bubblewrap (bwrap --seccomp), which still has to
                 execve the program: warn when execve is denied
${OCI_FLAGS_USAGE}

Findings (rule ids):
${[
  ['test-failed', 'a test expects another action than the filter returns (the trace follows)'],
  ['test-invalid', 'a test names a syscall its architecture lacks'],
  ...Object.entries(LINT_RULES).map(([id, r]) => [id, `${r.severity === 'error' ? '' : '(warning) '}${r.summary}`]),
]
  .map(([id, text]) => `  ${id!.padEnd(24)}${text}`)
  .join('\n')}
`;

function findingJson(f: Finding): Record<string, unknown> {
  return {
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    pos: f.pos ? { file: f.pos.file ?? null, line: f.pos.line, column: f.pos.column } : null,
    ...(f.detail ? { detail: f.detail } : {}),
  };
}

/** \`seccomp-ts check\`: validate, compile, test and lint a policy. */
export const checkVerb: Verb = {
  name: 'check',
  summary: "validate a policy, run its tests on the compiled filter, and lint it",
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseFlags('check', argv, { arch: { type: 'string' }, json: { type: 'boolean' }, for: { type: 'string' }, ...ociFlagsSpec });
    const file = oneFile('check', positionals);
    if (values.for !== undefined && values.for !== 'bwrap') throw new UsageError(`check: --for knows only 'bwrap', not '${values.for}'`);
    const arches = values.arch === undefined ? undefined : values.arch.split(',').map((a) => getArch(a.trim()).name);
    const oci = ociSettings('check', values);
    const { policy, label: name, oci: isOci } = readPolicy('check', file, { ...(arches ? { arches } : {}), ...(oci ? { oci } : {}) });
    // An OCI profile names syscalls of every architecture Docker supports.
    const portable = arches !== undefined || isOci;
    const r = checkPolicy(policy, { portable, ...(arches ? { arches } : {}), ...(values.for === 'bwrap' ? { for: 'bwrap' as const } : {}) });
    const failed = r.runs.filter((x) => !x.passed).length;
    const errors = r.findings.filter((f) => f.severity === 'error').length;
    const warnings = r.findings.length - errors;
    if (values.json) {
      const out = { ok: r.ok, file: name, arches: r.resolved.arches.map((a) => a.arch.name), instructions: r.program.length, tests: { run: r.runs.length, failed }, findings: r.findings.map(findingJson) };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    } else {
      const lines: string[] = [];
      for (const f of r.findings) {
        lines.push(formatFinding(f, name));
        for (const d of f.detail ?? []) lines.push(`    ${d}`);
      }
      const arches = r.resolved.arches.map((a) => a.arch.name).join(', ');
      lines.push(
        `${name}: ${r.ok ? 'ok' : 'FAILED'}: ${r.program.length} instructions for ${arches}; ${r.runs.length ? `${r.runs.length - failed}/${r.runs.length} test runs passed` : 'no tests'}; ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`,
      );
      process.stdout.write(lines.join('\n') + '\n');
    }
    return r.ok ? 0 : 1;
  },
};
