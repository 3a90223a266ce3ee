/**
 * Reading policies: YAML or JSON text (with file:line:column in every error), files, and plain
 * JavaScript objects, all validated by the zod schema in schema.ts into a frozen Policy.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { suggest } from '../arch/index.js';
import { encodeAction } from '../bpf/seccomp.js';
import { PolicyError, describeValue, formatPos, type PolicyErrorCode } from './errors.js';
import { KNOWN_KEYS, PolicySchema, type PolicyDocument, type PolicyIssueParams } from './schema.js';
import type { ArgCheck, Policy, PolicyRule, PolicyTest, SourcePos } from './types.js';

type Path = readonly PropertyKey[];
/** Finds the source position of a path in the document; `key` asks for the key of the last segment. */
type Locate = (path: Path, key?: string) => SourcePos | undefined;

/** Options of parsePolicy and validatePolicy. */
export interface ParseOptions {
  /** The file name used in messages and stored as Policy.source. */
  readonly file?: string;
}

/** `rules[0].args[1].value` */
function pathText(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Which mapping a path points at, for did-you-mean on unknown keys. */
function keysFor(path: Path): readonly string[] {
  if (path.length === 0) return KNOWN_KEYS.policy;
  if (path.length === 2 && path[0] === 'rules') return KNOWN_KEYS.rule;
  if (path.length === 4 && path[0] === 'rules' && path[2] === 'args') return KNOWN_KEYS.arg;
  if (path.length === 2 && path[0] === 'tests') return KNOWN_KEYS.test;
  return [];
}

/** The one-line message for a zod issue (without position). */
function issueMessage(issue: z.core.$ZodIssue, root: unknown): { code: PolicyErrorCode; text: string; key?: string; missing?: boolean } {
  const path = issue.path;
  const where = path.length ? `${pathText(path)}: ` : '';
  const last = path[path.length - 1];
  const parent = valueAt(root, path.slice(0, -1));
  const missing =
    typeof last === 'string' && parent !== null && typeof parent === 'object' && !Array.isArray(parent) && !Object.hasOwn(parent, last);
  if (missing && (issue.code === 'invalid_type' || issue.code === 'custom')) {
    return { code: 'INVALID', text: `${pathText(path.slice(0, -1)) || 'policy'}: missing required key '${last}'`, missing: true };
  }
  const policyCode = (issue as { params?: Partial<PolicyIssueParams> }).params?.policyCode;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const near = suggest(key, keysFor(path));
      const hint = near.length ? ` (did you mean '${near[0]}'?)` : keysFor(path).length ? ` (expected ${keysFor(path).join(', ')})` : '';
      return { code: 'INVALID', text: `${where}unknown key '${key}'${hint}`, key };
    }
    case 'invalid_value': {
      const got = valueAt(root, path);
      const allowed = issue.values.map(String);
      const near = typeof got === 'string' ? suggest(got, allowed, 1) : [];
      return {
        code: 'INVALID',
        text: `${where}${describeValue(got)} is not one of ${allowed.join(', ')}${near.length ? ` (did you mean ${near[0]}?)` : ''}`,
      };
    }
    case 'invalid_type':
      if (issue.expected === 'object') {
        const got = valueAt(root, path);
        if (path.length === 0) {
          return {
            code: 'INVALID',
            text: got == null ? 'the policy is empty' : `a policy is a mapping with defaultAction and rules, not ${describeValue(got)}`,
          };
        }
        return { code: 'INVALID', text: `${where}expected a mapping, not ${describeValue(got)}` };
      }
      if (issue.expected === 'array') return { code: 'INVALID', text: `${where}expected a list, not ${describeValue(valueAt(root, path))}` };
      return { code: 'INVALID', text: `${where}${issue.message}` };
    default:
      return { code: policyCode ?? 'INVALID', text: `${where}${issue.message}` };
  }
}

/** Validates `obj` and builds the Policy; `locate` gives positions (absent for plain objects). */
function build(obj: unknown, file: string | undefined, locate: Locate): Policy {
  const r = PolicySchema.safeParse(obj);
  if (!r.success) {
    // Report the issue that comes first in the source (zod's order when positions are unknown).
    // A missing key ranks last: a misspelt key (reported as unknown) usually explains it.
    let best: { pos?: SourcePos; code: PolicyErrorCode; text: string; missing: boolean } | undefined;
    for (const issue of r.error.issues) {
      const m = issueMessage(issue, obj);
      const pos = locate(issue.path, m.key);
      const missing = m.missing === true;
      if (!best || (best.missing && !missing)) best = { pos, ...m, missing };
      else if (best.missing === missing && pos && (!best.pos || pos.line < best.pos.line || (pos.line === best.pos.line && pos.column < best.pos.column))) {
        best = { pos, ...m, missing };
      }
    }
    throw new PolicyError(best!.code, formatPos(best!.pos, file) + best!.text, best!.pos);
  }
  return freezePolicy(r.data, file, locate);
}

function freezePolicy(d: PolicyDocument, file: string | undefined, locate: Locate): Policy {
  const rules: PolicyRule[] = (d.rules ?? []).map((r, i) => {
    const args: ArgCheck[] = (r.args ?? []).map((a, j) =>
      Object.freeze({
        index: a.index,
        op: a.op,
        value: a.value,
        ...(a.mask !== undefined ? { mask: a.mask } : {}),
        bits: (a.bits ?? 64) as 32 | 64,
        ...withPos(locate(['rules', i, 'args', j])),
      }),
    );
    const syscallPos = r.syscalls.map((_, j) => locate(['rules', i, 'syscalls', j]));
    return Object.freeze({
      syscalls: Object.freeze([...r.syscalls]),
      action: r.action,
      args: Object.freeze(args),
      ...withPos(locate(['rules', i])),
      ...(syscallPos.some((p) => p) ? { syscallPos: Object.freeze(syscallPos) } : {}),
      ...(r.comment !== undefined ? { comment: r.comment } : {}),
    });
  });
  const tests: PolicyTest[] = (d.tests ?? []).map((t, i) =>
    Object.freeze({
      syscall: t.syscall,
      ...(t.arch !== undefined ? { arch: t.arch } : {}),
      ...(t.args !== undefined ? { args: Object.freeze([...t.args]) } : {}),
      ...(t.ip !== undefined ? { ip: t.ip } : {}),
      expect: t.expect,
      ...withPos(locate(['tests', i])),
    }),
  );
  return Object.freeze({
    defaultAction: d.defaultAction,
    badArchAction: d.badArchAction ?? encodeAction('kill_process'),
    ...(d.architectures !== undefined ? { architectures: Object.freeze([...new Set(d.architectures)]) } : {}),
    ...(d.architectures !== undefined && locate(['architectures']) ? { architecturesPos: locate(['architectures'])! } : {}),
    ...(d.strict !== undefined ? { strict: d.strict } : {}),
    rules: Object.freeze(rules),
    tests: Object.freeze(tests),
    ...(file !== undefined ? { source: file } : {}),
  });
}

function withPos(pos: SourcePos | undefined): { pos?: SourcePos } {
  return pos ? { pos } : {};
}

/** A Locate over a parsed YAML document. */
function locator(doc: Document, lc: LineCounter, file: string | undefined): Locate {
  const posOf = (offset: number): SourcePos => {
    const { line, col } = lc.linePos(offset);
    return Object.freeze({ ...(file !== undefined ? { file } : {}), line, column: col });
  };
  const deref = (n: unknown): unknown => (isAlias(n) ? n.resolve(doc) : n);
  return (path, key) => {
    let node = deref(doc.contents) as Node | null | undefined;
    let best: Node | null | undefined = node;
    for (const seg of path) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === seg);
        next = pair?.value;
      } else if (isSeq(node) && typeof seg === 'number') next = node.items[seg];
      node = deref(next) as Node | undefined;
      if (!node) break;
      best = node;
    }
    if (key !== undefined && node && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      const k = pair?.key as Node | undefined;
      if (k?.range) return posOf(k.range[0]);
    }
    if (best?.range) return posOf(best.range[0]);
    return posOf(0);
  };
}

/**
 * A Policy from YAML or JSON text (JSON is read as YAML, which it is a subset of for this purpose;
 * integers keep full 64-bit precision). Throws PolicyError whose message starts with
 * `file:line:column: `.
 */
export function parsePolicy(text: string, opts: ParseOptions = {}): Policy {
  const file = opts.file;
  const lc = new LineCounter();
  // logLevel 'error': the yaml package must not print warnings of its own; problems become PolicyErrors.
  const doc = parseDocument(text, { lineCounter: lc, intAsBigInt: true, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const err = doc.errors[0];
  if (err) {
    const { line, col } = lc.linePos(err.pos[0]);
    const pos: SourcePos = { ...(file !== undefined ? { file } : {}), line, column: col };
    throw new PolicyError('SYNTAX', `${formatPos(pos, file)}${err.message.split('\n')[0]}`, pos);
  }
  // Keys must be plain scalars: YAML allows lists and mappings as keys, which no policy key is.
  let badKey: Node | undefined;
  visit(doc, {
    Pair(_k, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        badKey = pair.key as Node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (badKey) {
    const { line, col } = lc.linePos(badKey.range?.[0] ?? 0);
    const pos: SourcePos = { ...(file !== undefined ? { file } : {}), line, column: col };
    throw new PolicyError('INVALID', `${formatPos(pos, file)}a mapping key must be a name, not a ${isSeq(badKey) ? 'list' : 'mapping'} (is a ':' misplaced?)`, pos);
  }
  let obj: unknown;
  try {
    obj = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // An alias expansion bomb: report it at the first alias.
    let at: SourcePos | undefined;
    visit(doc, {
      Alias(_k, n) {
        if (n.range) {
          const { line, col } = lc.linePos(n.range[0]);
          at = { ...(file !== undefined ? { file } : {}), line, column: col };
        }
        return visit.BREAK;
      },
    });
    throw new PolicyError('SYNTAX', `${formatPos(at, file)}${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, at);
  }
  return build(obj, file, locator(doc, lc, file));
}

/** A Policy from a YAML or JSON file. Throws PolicyError READ when the file cannot be read. */
export function loadPolicy(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PolicyError('READ', `${path}: cannot read policy file${code ? ` (${code})` : ''}`);
  }
  return parsePolicy(text, { file: path });
}

/**
 * A Policy from a plain JavaScript object of the same shape as a policy file (values may be
 * numbers, BigInts or strings). Errors name the path (`rules[0].action`) instead of a position.
 */
export function validatePolicy(obj: unknown, opts: ParseOptions = {}): Policy {
  return build(obj, opts.file, () => undefined);
}
