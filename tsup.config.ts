import { defineConfig } from 'tsup';

// Two builds: the library (ESM + CommonJS with declarations) and the executables.
// Syscall tables are JSON imported by src/arch and bundled, so dist/ needs no data files at run time.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    sourcemap: false,
    splitting: false,
  },
  {
    // The register hook: CommonJS (--require), and an ESM entry (--import) that loads it.
    entry: { register: 'src/register.ts' },
    format: ['cjs'],
    target: 'node20',
    platform: 'node',
    splitting: false,
  },
  {
    entry: { register: 'src/register-esm.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    splitting: false,
  },
  {
    entry: { cli: 'src/cli/main.ts', sandboxify: 'src/cli/sandboxify.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    splitting: false,
  },
]);
