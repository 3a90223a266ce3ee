import { policyJsonSchema } from '../../policy/index.js';
import { parseFlags } from '../io.js';
import { UsageError } from '../errors.js';
import type { Verb } from '../verb.js';

const USAGE = `usage: seccomp-ts schema

Prints the JSON Schema (draft 2020-12) of seccomp-ts policy files, for editors and validators.
64-bit argument values may be integers or decimal/0x hex strings; actions may be names such as
allow, strings such as errno(EPERM), or mappings such as {errno: EPERM}.
`;

/** `seccomp-ts schema`: print the policy file format as JSON Schema. */
export const schemaVerb: Verb = {
  name: 'schema',
  summary: 'print the JSON Schema of policy files',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { positionals } = parseFlags('schema', argv, {});
    if (positionals.length) throw new UsageError(`schema: unexpected operand '${positionals[0]}'`);
    process.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
    return 0;
  },
};
