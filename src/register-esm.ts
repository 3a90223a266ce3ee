/**
 * The ESM entry of the register hook (`node --import seccomp-ts/register`): it loads the
 * CommonJS build of src/register.ts, so both entries run one copy of the hook. The hook removes
 * the variables it acts on, so `--import` and `--require` together still install one filter.
 */
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./register.cjs');
