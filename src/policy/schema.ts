/**
 * The policy file format as a zod schema: the one description of what a policy file may contain,
 * used to validate parsed YAML/JSON and to produce the JSON Schema (`seccomp-ts schema`).
 *
 * Values that zod cannot describe directly (actions, 64-bit numbers that YAML gives as BigInt)
 * are validated by this layer's own parsers inside transforms; their JSON Schema form is given
 * as metadata next to them.
 */
import { z } from 'zod';
import { MAX_ERRNO, SECCOMP_RET_DATA } from '../bpf/seccomp.js';
import { ARG_COUNT, ArchError, allSyscallNames, getArch, suggest } from '../arch/index.js';
import { ACTION_WORDS, parseAction } from './actions.js';
import { PolicyError, describeValue, isPlainObject, type PolicyErrorCode } from './errors.js';
import { GROUP_NAME_RE, groupNames, isGroup } from './groups.js';
import type { ArgOp } from './types.js';

/** The largest unsigned 64-bit value. */
export const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;

/** Argument comparison operators, in the order the docs list them. */
export const ARG_OPS: readonly ArgOp[] = Object.freeze(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked_eq']);

function bad(code: PolicyErrorCode, message: string): never {
  throw new PolicyError(code, message);
}

/**
 * An unsigned 64-bit value from a policy: an integer (BigInt from YAML, or a safe JS number) or a
 * string in decimal or 0x hex. Throws PolicyError VALUE.
 */
export function parseU64(v: unknown): bigint {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) bad('VALUE', `value must be an integer, not ${v}`);
    if (!Number.isSafeInteger(v)) bad('VALUE', `value ${v} is beyond 2^53 and has lost precision; write it as a string ("0x...")`);
    n = BigInt(v);
  } else if (typeof v === 'string') {
    const s = v.trim();
    if (/^-\s*(0x[0-9a-f]+|[0-9]+)$/i.test(s)) n = -BigInt(s.slice(1).trim());
    else if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) n = BigInt(s);
    else bad('VALUE', `value must be a decimal or 0x hex integer, not '${v}'`);
  } else bad('VALUE', `value must be an integer or a string holding one, not ${describeValue(v)}`);
  if (n < 0n) bad('VALUE', `value ${n} is negative; argument values are unsigned 64-bit (write -1 as 0xffffffffffffffff)`);
  if (n > U64_MAX) bad('VALUE', `value ${v} does not fit in 64 bits (the largest is 0xffffffffffffffff)`);
  return n;
}

/** A small integer field (YAML gives BigInt) within [min, max]. */
function smallInt(min: number, max: number, allowed?: readonly number[]) {
  return (v: unknown): number => {
    const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
    const range = allowed ? allowed.join(' or ') : `${min}..${max}`;
    if (n === undefined) bad('INVALID', `must be an integer ${range}, not ${describeValue(v)}`);
    if (n < BigInt(min) || n > BigInt(max) || (allowed && !allowed.includes(Number(n)))) bad('INVALID', `must be ${range}, not ${n}`);
    return Number(n);
  };
}

/** A syscall name (or `@group`): syntax, and known on at least one architecture. */
export function checkSyscallName(name: string, groupsAllowed: boolean): string {
  if (name.startsWith('@')) {
    if (!groupsAllowed) bad('INVALID', `a group (${name}) cannot be used here; name one syscall`);
    if (isGroup(name)) return name;
    const near = isGroup(name.toLowerCase()) ? [name.toLowerCase()] : suggest(name, groupNames());
    bad('UNKNOWN_GROUP', `unknown group '${name}' ${near.length ? `(did you mean ${near.join(', ')}?)` : `(groups: ${groupNames().join(', ')})`}`);
  }
  if (allSyscallNames().has(name)) return name;
  if (groupsAllowed && isGroup(`@${name}`)) bad('UNKNOWN_SYSCALL', `unknown syscall '${name}' (did you mean the group @${name}?)`);
  if (!/^[A-Za-z0-9_]+$/.test(name)) bad('UNKNOWN_SYSCALL', `'${name}' is not a syscall name`);
  const near = allSyscallNames().has(name.toLowerCase()) ? [name.toLowerCase()] : suggest(name, allSyscallNames());
  bad('UNKNOWN_SYSCALL', `unknown syscall '${name}' on every architecture${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
}

/** Marks an issue made from a PolicyError, so the reader keeps the error's code. */
export interface PolicyIssueParams {
  readonly policyCode: PolicyErrorCode;
}

/** A zod transform that runs `fn` and turns its PolicyError/ArchError into a zod issue. */
function via<T>(fn: (v: unknown) => T) {
  return (v: unknown, ctx: z.RefinementCtx): T => {
    try {
      // A missing key: the reader words this message itself, knowing the key.
      if (v === undefined) bad('INVALID', 'missing');
      return fn(v);
    } catch (e) {
      if (e instanceof PolicyError) ctx.addIssue({ code: 'custom', message: e.message, params: { policyCode: e.code } satisfies PolicyIssueParams });
      else if (e instanceof ArchError) ctx.addIssue({ code: 'custom', message: e.message, params: { policyCode: 'ARCH' } satisfies PolicyIssueParams });
      else throw e;
      return z.NEVER;
    }
  };
}

const U64_JSON = {
  anyOf: [
    { type: 'integer', minimum: 0, description: 'up to 2^64-1; YAML integers keep full precision' },
    { type: 'string', pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+)\\s*$', description: 'decimal or 0x hex, up to 0xffffffffffffffff' },
  ],
};

/** An unsigned 64-bit value (see parseU64). */
export const U64Schema = z.unknown().transform(via(parseU64)).meta({ id: 'u64', ...U64_JSON });

const dataForm = (key: string, max: number, names: boolean) => ({
  type: 'object',
  properties: {
    [key]: names
      ? { anyOf: [{ type: 'integer', minimum: 0, maximum: max }, { type: 'string', description: 'an errno name such as EPERM, or a number' }] }
      : { anyOf: [{ type: 'integer', minimum: 0, maximum: max }, { type: 'string', pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+)\\s*$' }] },
  },
  required: [key],
  additionalProperties: false,
});

/** An action in any policy form (see actions.ts), as its SECCOMP_RET_* value. */
export const ActionSchema = z
  .unknown()
  .transform(via(parseAction))
  .meta({
    id: 'action',
    description: 'allow, log, kill_process (kill), kill_thread, trap, user_notif, errno(E...), trap(N), trace(N), {errno: N|NAME}, {trap: N}, {trace: N}',
    anyOf: [
      { type: 'string', enum: [...ACTION_WORDS] },
      { type: 'string', pattern: '^\\s*(errno|trap|trace)\\s*\\(\\s*[A-Za-z0-9]+\\s*\\)\\s*$' },
      dataForm('errno', MAX_ERRNO, true),
      dataForm('trap', SECCOMP_RET_DATA, false),
      dataForm('trace', SECCOMP_RET_DATA, false),
    ],
  });

/** A syscall name or `@group`. */
export const SyscallEntrySchema = z
  .string({ error: (iss) => `a syscall name must be a string, not ${describeValue(iss.input)}` })
  .transform(via((v) => checkSyscallName(v as string, true)))
  .meta({ type: 'string', pattern: `^([A-Za-z0-9_]+|${GROUP_NAME_RE.source.slice(1, -1)})$` });

const SingleSyscallSchema = z
  .string({ error: (iss) => `a syscall name must be a string, not ${describeValue(iss.input)}` })
  .transform(via((v) => checkSyscallName(v as string, false)))
  .meta({ type: 'string', pattern: '^[A-Za-z0-9_]+$' });

/** An architecture name or alias, as the canonical name. */
export const ArchNameSchema = z
  .string({ error: (iss) => `an architecture name must be a string, not ${describeValue(iss.input)}` })
  .transform(via((v) => getArch(v as string).name))
  .meta({ type: 'string', description: 'x86_64, i386, x32, aarch64, arm, riscv64, ppc64le, ppc64, s390x, mips64el, mipsel, loongarch64 (or an alias)' });

/** One argument check. */
export const ArgCheckSchema = z
  .strictObject({
    index: z
      .unknown()
      .transform(via(smallInt(0, ARG_COUNT - 1)))
      .meta({ type: 'integer', minimum: 0, maximum: ARG_COUNT - 1 }),
    op: z.enum(ARG_OPS as [ArgOp, ...ArgOp[]]),
    value: U64Schema,
    mask: U64Schema.optional(),
    bits: z
      .unknown()
      .transform(via(smallInt(32, 64, [32, 64])))
      .optional()
      .meta({ enum: [32, 64], description: 'default 64; 32 compares only the low 32 bits' }),
  })
  .superRefine((a, ctx) => {
    const issue = (message: string, path: (string | number)[]) =>
      ctx.addIssue({ code: 'custom', message, path, params: { policyCode: 'INVALID' } satisfies PolicyIssueParams });
    if (a.op !== 'masked_eq' && a.mask !== undefined) issue(`mask is only allowed with op masked_eq, not ${a.op}`, ['mask']);
    if (a.op === 'masked_eq' && a.mask === undefined) issue('op masked_eq needs a mask', []);
    if (a.bits === 32) {
      if (a.value > U32_MAX) issue(`value 0x${a.value.toString(16)} does not fit in 32 bits (bits: 32)`, ['value']);
      if (a.mask !== undefined && a.mask > U32_MAX) issue(`mask 0x${a.mask.toString(16)} does not fit in 32 bits (bits: 32)`, ['mask']);
    }
    if (a.op === 'masked_eq' && a.mask !== undefined && (a.value & ~a.mask) !== 0n) {
      issue(`value 0x${a.value.toString(16)} has bits outside mask 0x${a.mask.toString(16)}, so the check could never hold`, ['value']);
    }
  });

/** One rule. */
export const RuleSchema = z.strictObject({
  syscalls: z
    .array(SyscallEntrySchema, { error: (iss) => `must be a list, not ${describeValue(iss.input)}` })
    .min(1, 'the list is empty; name at least one syscall'),
  action: ActionSchema,
  args: z.array(ArgCheckSchema, { error: (iss) => `must be a list, not ${describeValue(iss.input)}` }).optional(),
  comment: z.string().optional(),
});

/** One expectation for `seccomp-ts check`. */
export const PolicyTestSchema = z.strictObject({
  syscall: SingleSyscallSchema,
  arch: ArchNameSchema.optional(),
  args: z
    .array(U64Schema, { error: (iss) => `must be a list, not ${describeValue(iss.input)}` })
    .max(ARG_COUNT, `at most ${ARG_COUNT} values (a syscall has ${ARG_COUNT} arguments)`)
    .optional(),
  ip: U64Schema.optional(),
  expect: ActionSchema,
});

/** A whole policy document. */
export const PolicySchema = z
  .strictObject({
    defaultAction: ActionSchema,
    badArchAction: ActionSchema.optional(),
    architectures: z
      .array(ArchNameSchema, { error: (iss) => `must be a list, not ${describeValue(iss.input)}` })
      .min(1, 'the list is empty (leave the key out to mean the host architecture)')
      .optional(),
    strict: z.boolean({ error: (iss) => `must be true or false, not ${describeValue(iss.input)}` }).optional(),
    rules: z.array(RuleSchema, { error: (iss) => `must be a list, not ${describeValue(iss.input)}` }).optional(),
    tests: z.array(PolicyTestSchema, { error: (iss) => `must be a list, not ${describeValue(iss.input)}` }).optional(),
  })
  .meta({ title: 'seccomp-ts policy', description: 'A seccomp policy: a default action and rules that give syscalls other actions.' });

/** The keys each kind of mapping accepts, for did-you-mean on unknown keys. */
export const KNOWN_KEYS = {
  policy: Object.keys(PolicySchema.shape),
  rule: Object.keys(RuleSchema.shape),
  arg: Object.keys(ArgCheckSchema.shape),
  test: Object.keys(PolicyTestSchema.shape),
} as const;

/** The output of PolicySchema, before positions are attached. */
export type PolicyDocument = z.output<typeof PolicySchema>;

/**
 * The JSON Schema (draft 2020-12) of policy files, generated from the zod schema. It describes
 * the input forms: 64-bit values as integers or decimal/hex strings, actions in every form.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PolicySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
