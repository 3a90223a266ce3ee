import type { Verb } from '../verb.js';
import { syscallsVerb } from './syscalls.js';

/** Every verb of the CLI, in the order `--help` lists them. Add new verbs here. */
export const VERBS: readonly Verb[] = [syscallsVerb];
