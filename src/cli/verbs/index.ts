import type { Verb } from '../verb.js';
import { syscallsVerb } from './syscalls.js';
import { disasmVerb } from './disasm.js';
import { asmVerb } from './asm.js';
import { verifyVerb } from './verify.js';
import { emulateVerb } from './emulate.js';
import { schemaVerb } from './schema.js';
import { compileVerb } from './compile.js';
import { checkVerb } from './check.js';
import { diffVerb } from './diff.js';
import { explainVerb } from './explain.js';
import { execVerb } from './exec.js';
import { preloadVerb } from './preload.js';
import { learnVerb } from './learn.js';

/** Every verb of the CLI, in the order `--help` lists them. Add new verbs here. */
export const VERBS: readonly Verb[] = [compileVerb, syscallsVerb, disasmVerb, asmVerb, verifyVerb, emulateVerb, schemaVerb, checkVerb, execVerb, preloadVerb, diffVerb, explainVerb, learnVerb];
