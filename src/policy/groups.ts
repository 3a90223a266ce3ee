/**
 * The registry of `@group` names: named sets of syscalls a policy can list like one syscall.
 * Built-in groups come from groups-data.ts; other modules (format readers, the Node runtime
 * profile) add theirs with registerGroup.
 */
import { syscallNumber, type Arch } from '../arch/index.js';
import { GROUP_DATA } from './groups-data.js';
import { NODE_RUNTIME_GROUP } from './node-runtime.js';
import { SYSTEMD_GROUPS } from './systemd-groups.js';

/** A group's members: a fixed list, or one computed per architecture. */
export type GroupMembers = readonly string[] | ((arch: Arch) => readonly string[]);

interface GroupDef {
  readonly description: string;
  readonly members: GroupMembers;
}

const registry = new Map<string, GroupDef>();
for (const [name, def] of Object.entries(GROUP_DATA)) registry.set(name, def);
registry.set('@node-runtime', NODE_RUNTIME_GROUP);
// systemd's group names (systemd-groups.ts); they take over @basic-io and @signal, which have the same members.
for (const d of SYSTEMD_GROUPS) registry.set(d.name, Object.freeze({ description: d.purpose, members: d.members }));

/** Group names are `@` followed by lower-case letters, digits, `-` and `_`. */
export const GROUP_NAME_RE = /^@[a-z0-9][a-z0-9_-]*$/;

/**
 * Adds a group to the registry. `name` must start with `@`; members are syscall names or other
 * groups. Throws if the name is taken, unless `replace` is set (for systemd's definitions).
 */
export function registerGroup(name: string, members: GroupMembers, description = '', replace = false): void {
  if (!GROUP_NAME_RE.test(name)) throw new RangeError(`group name '${name}' must match ${GROUP_NAME_RE}`);
  if (registry.has(name) && !replace) throw new RangeError(`group ${name} is already defined`);
  registry.set(name, Object.freeze({ description, members }));
  names = undefined;
}

let names: readonly string[] | undefined;

/** The names of every registered group (with the `@`), sorted. */
export function groupNames(): readonly string[] {
  names ??= Object.freeze([...registry.keys()].sort());
  return names;
}

/** The names of the built-in groups, sorted (a snapshot of the registry at import time). */
export const GROUP_NAMES: readonly string[] = groupNames();

/** A group's one-line description, or undefined for an unknown group. */
export function groupDescription(name: string): string | undefined {
  return registry.get(name)?.description;
}

/** Whether `name` is a registered group. */
export function isGroup(name: string): boolean {
  return registry.has(name);
}

/**
 * The syscalls group `name` stands for on `arch`, nested groups expanded, without duplicates and
 * without names the arch does not have; undefined when no such group is registered.
 * Throws RangeError for a group that includes itself or an unknown group (a data bug).
 */
export function expandGroup(name: string, arch: Arch): readonly string[] | undefined {
  if (!registry.has(name)) return undefined;
  const out = new Set<string>();
  const walk = (g: string, stack: readonly string[]): void => {
    const def = registry.get(g);
    if (!def) throw new RangeError(`group ${stack[stack.length - 1]} includes unknown group ${g}`);
    if (stack.includes(g)) throw new RangeError(`group ${g} includes itself (${[...stack, g].join(' -> ')})`);
    const members = typeof def.members === 'function' ? def.members(arch) : def.members;
    for (const m of members) {
      if (m.startsWith('@')) walk(m, [...stack, g]);
      else if (syscallNumber(arch, m) !== undefined) out.add(m);
    }
  };
  walk(name, []);
  return Object.freeze([...out]);
}
