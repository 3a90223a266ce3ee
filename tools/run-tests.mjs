#!/usr/bin/env node
// The project's test command (`npm test`): builds dist/ (the CLI and register hook tests run the
// built package), type-checks everything (src, tests, tools) with tsc, runs every
// test/**/*.test.ts under uvu, and ends with `N passed, N failed` (the type check counts as one).
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '\\.test\\.ts$';

const build = spawnSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js'), '--silent'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  process.stdout.write('build failed\n0 passed, 1 failed\n');
  process.exit(1);
}

// Type errors in tests and tools are not seen by the build; tsc sees the whole tree.
process.stdout.write('typecheck (tsc --noEmit)... ');
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { cwd: root, encoding: 'utf8' });
const typecheckOk = tsc.status === 0;
process.stdout.write(typecheckOk ? 'ok\n' : `FAILED\n${tsc.stdout}${tsc.stderr}\n`);

// Plain output for the summary parser, and no colour variables for the tests' child processes:
// uvu sets FORCE_COLOR=1 unless --no-color, and Node warns on stderr when FORCE_COLOR and
// NO_COLOR are both set, which breaks tests that compare a child's stderr exactly.
const env = { ...process.env };
delete env.FORCE_COLOR;
delete env.NO_COLOR;
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules/uvu/bin.js'), 'test', filter, '--no-color'], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.on('close', (code, signal) => {
  const num = (label) => Number((out.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm')) ?? [])[1] ?? 0);
  const skipped = num('Skipped');
  let uvuFailed = Math.max(0, num('Total') - num('Passed') - skipped);
  // A file that crashed before reporting still fails the run.
  if ((code !== 0 || signal) && uvuFailed === 0) uvuFailed = 1;
  const passed = num('Passed') + (typecheckOk ? 1 : 0);
  const failed = uvuFailed + (typecheckOk ? 0 : 1);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(failed === 0 ? 0 : 1);
});
