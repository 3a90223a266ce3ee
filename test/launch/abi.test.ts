// The syscall numbers hard-coded for the generated machine code (src/launch/abi.ts) must be the
// ones in the generated syscall tables.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { syscallNumber } from '../../src/arch/index.js';
import { A64_SYS, X64_SYS } from '../../src/launch/abi.js';

test('x86_64 and aarch64 numbers equal syscall-tables/*.json', () => {
  for (const [name, nr] of Object.entries(X64_SYS)) assert.is(nr, syscallNumber('x86_64', name), `x86_64 ${name}`);
  for (const [name, nr] of Object.entries(A64_SYS)) assert.is(nr, syscallNumber('aarch64', name), `aarch64 ${name}`);
});

test.run();
