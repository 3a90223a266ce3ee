/**
 * Policy actions: the text and object forms a policy file may use, and their SECCOMP_RET_* values.
 *
 *   allow | log | kill_process | kill | kill_thread | trap | user_notif
 *   errno(EPERM) | errno(1) | trap(3) | trace(7)
 *   {errno: EPERM} | {errno: 1} | {trap: 3} | {trace: 7}
 */
import { ACTIONS, MAX_ERRNO, SECCOMP_RET_DATA, decodeAction, encodeAction, type ActionName } from '../bpf/seccomp.js';
import { ERRNOS, errnoName, errnoNumber } from '../bpf/errno.js';
import { suggest } from '../arch/index.js';
import { PolicyError, describeValue as describe, isPlainObject } from './errors.js';
import type { ActionValue } from './types.js';

/** Action names that take no data, as written in a policy (plus the alias `kill`). */
const PLAIN: ReadonlyMap<string, ActionName> = new Map<string, ActionName>([
  ['allow', 'allow'],
  ['log', 'log'],
  ['kill_process', 'kill_process'],
  ['kill', 'kill_process'],
  ['kill_thread', 'kill_thread'],
  ['trap', 'trap'], // trap without data: SIGSYS with si_errno 0
  ['user_notif', 'user_notif'],
]);

/** Actions that carry 16 bits of data, with the largest value each accepts. */
const WITH_DATA: ReadonlyMap<string, { readonly name: ActionName; readonly max: number }> = new Map([
  ['errno', { name: 'errno' as ActionName, max: MAX_ERRNO }],
  ['trap', { name: 'trap' as ActionName, max: SECCOMP_RET_DATA }],
  ['trace', { name: 'trace' as ActionName, max: SECCOMP_RET_DATA }],
]);

/** Every spelling parseAction accepts for a name, for suggestions and the JSON Schema. */
export const ACTION_WORDS: readonly string[] = Object.freeze([...PLAIN.keys()]);
/** The actions written with data: `errno`, `trap`, `trace`. */
export const DATA_ACTION_WORDS: readonly string[] = Object.freeze([...WITH_DATA.keys()]);

/** Thrown by the helpers below; the callers turn it into a positioned PolicyError. */
function fail(message: string): never {
  throw new PolicyError('ACTION', message);
}

/** The data of `errno`/`trap`/`trace`: a number, a numeric string, or (errno only) an E-name. */
function parseData(word: string, raw: unknown): number {
  const spec = WITH_DATA.get(word)!;
  let n: bigint | undefined;
  if (typeof raw === 'bigint') n = raw;
  else if (typeof raw === 'number' && Number.isInteger(raw)) n = BigInt(raw);
  else if (typeof raw === 'string') {
    const s = raw.trim();
    if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(s)) n = BigInt(s);
    else if (/^-[0-9]+$/.test(s)) n = BigInt(s);
    else if (word === 'errno') {
      const e = errnoNumber(s);
      if (e !== undefined) return e;
      const near = errnoNumber(s.toUpperCase()) !== undefined ? [s.toUpperCase()] : suggest(s, ERRNOS.map(([name]) => name));
      fail(`unknown errno name '${s}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
    }
  }
  if (n === undefined) fail(`${word} needs ${word === 'errno' ? 'an errno number or name' : 'a number'}, not ${describe(raw)}`);
  if (n < 0n || n > BigInt(spec.max)) {
    fail(`${word} value ${n} is out of range 0..${spec.max}${word === 'errno' ? ' (the kernel limit MAX_ERRNO)' : ''}`);
  }
  return Number(n);
}

/**
 * The SECCOMP_RET_* value of an action written in any of the policy forms (see the module
 * comment). Throws PolicyError ACTION (without a position) for anything else, with a suggestion
 * where a name is close to a real one.
 */
export function parseAction(v: unknown): ActionValue {
  if (typeof v === 'string') {
    const s = v.trim();
    const plain = PLAIN.get(s);
    if (plain) return encodeAction(plain);
    const m = /^([a-z_]+)\s*\((.*)\)$/is.exec(s);
    if (m) {
      const word = m[1]!;
      if (WITH_DATA.has(word)) return encodeAction(WITH_DATA.get(word)!.name, parseData(word, m[2]!.trim()));
      if (PLAIN.has(word)) fail(`action '${word}' takes no data: write '${word}'`);
      const near = suggest(word, DATA_ACTION_WORDS);
      fail(`unknown action '${s}'${near.length ? ` (did you mean ${near.map((w) => `${w}(...)`).join(', ')}?)` : ''}`);
    }
    if (PLAIN.has(s.toLowerCase())) fail(`unknown action '${s}' (did you mean ${s.toLowerCase()}? action names are lower case)`);
    if (s === 'errno' || s === 'trace') fail(`action '${s}' needs data: write ${s}(${s === 'errno' ? 'EPERM' : 'N'}) or {${s}: ${s === 'errno' ? 'EPERM' : 'N'}}`);
    const near = suggest(s, [...ACTION_WORDS, ...DATA_ACTION_WORDS.map((w) => `${w}(N)`)]);
    fail(
      `unknown action '${s}' ${near.length ? `(did you mean ${near.join(', ')}?)` : `(expected one of ${ACTION_WORDS.join(', ')}, errno(E...), trap(N), trace(N))`}`,
    );
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length !== 1) {
      fail(`an action mapping has exactly one key (errno, trap or trace), not ${keys.length ? keys.map((k) => `'${k}'`).join(', ') : 'none'}`);
    }
    const word = keys[0]!;
    if (!WITH_DATA.has(word)) {
      const near = suggest(word, DATA_ACTION_WORDS);
      const hint = PLAIN.has(word) ? ` (write it as the string '${word}')` : near.length ? ` (did you mean ${near.join(', ')}?)` : ' (expected errno, trap or trace)';
      fail(`unknown action key '${word}'${hint}`);
    }
    return encodeAction(WITH_DATA.get(word)!.name, parseData(word, (v as Record<string, unknown>)[word]));
  }
  fail(`an action is a name such as allow or kill_process, or {errno: N}, {trap: N}, {trace: N}; not ${describe(v)}`);
}

/**
 * The canonical text of an action value, which parseAction reads back to the same value:
 * `allow`, `kill_process`, `trap`, `trap(3)`, `errno(EPERM)`, `errno(4000)`, `trace(7)`.
 * A value no policy can produce (unknown action, or data on an action without data) is shown in hex.
 */
export function formatAction(v: ActionValue): string {
  const a = decodeAction(v);
  const known = ACTIONS.some((x) => encodeAction(x.name, a.data) === a.value && x.name === a.name);
  if (!known || (a.data !== 0 && !WITH_DATA.has(a.name)) || (a.name === 'errno' && a.data > MAX_ERRNO)) {
    return `0x${a.value.toString(16).padStart(8, '0')}`;
  }
  switch (a.name) {
    case 'errno':
      return `errno(${errnoName(a.data) ?? a.data})`;
    case 'trap':
      return a.data === 0 ? 'trap' : `trap(${a.data})`;
    case 'trace':
      return `trace(${a.data})`;
    default:
      return a.name;
  }
}
