/**
 * Golden disassembly of the examples in examples/: one file for the policy's own architectures
 * and one per supported architecture (test/policy/golden/<example>[.<arch>].txt; an architecture
 * the example cannot compile for records the error). In the same test, the emulated filter must
 * pass the policy's own `tests` and agree with the reference evaluator on every syscall.
 * Regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCHES, getArch, syscallNumber, syscallTable } from '../../src/arch/index.js';
import { formatAction } from '../../src/policy/actions.js';
import { actionForArch } from '../../src/policy/errno-arch.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { compile, type Filter } from '../../src/policy/filter.js';
import { parsePolicy } from '../../src/policy/parse.js';
import { call } from '../_util/policies.js';
import { ROOT } from '../_util/tools.js';

const EXAMPLES = join(ROOT, 'examples');
const GOLDEN = join(ROOT, 'test', 'policy', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function render(f: Filter): string {
  return `# ${f.arches.join(', ')}: ${f.instructions.length} instructions\n${f.toString()}`;
}

/** The policy's tests and every syscall of every architecture, emulated. */
function checkDecisions(f: Filter, label: string): void {
  for (const ra of f.resolved.arches) {
    for (const n of syscallTable(ra.arch).values()) {
      const data = call(ra.arch.auditArch, (n | ra.arch.syscallBit) >>> 0);
      assert.is(f.evaluate(data).value, evaluatePolicy(f.resolved, data), `${label} ${ra.arch.name} nr ${n}`);
    }
  }
}

function runPolicyTests(f: Filter, text: string, label: string): number {
  const policyTests = parsePolicy(text).tests;
  let ran = 0;
  for (const t of policyTests) {
    for (const name of f.arches) {
      if (t.arch !== undefined && t.arch !== name) continue;
      const arch = getArch(name);
      const nr = syscallNumber(arch, t.syscall);
      if (nr === undefined) continue;
      const r = f.evaluate(call(arch.auditArch, (nr | arch.syscallBit) >>> 0, t.args ?? [], t.ip ?? 0n));
      // Policies write generic errno numbers; the filter returns the ABI's own (MIPS differs).
      assert.is(formatAction(r.value), formatAction(actionForArch(t.expect, arch)), `${label}: ${t.syscall} on ${name}`);
      ran++;
    }
  }
  return ran;
}

const examples = existsSync(EXAMPLES) ? readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f)).sort() : [];

test('there are examples', () => {
  assert.ok(examples.length >= 3, `${examples.length} examples`);
});

for (const file of examples) {
  const stem = file.replace(/\.ya?ml$/, '');
  test(`golden: ${file}`, () => {
    const text = readFileSync(join(EXAMPLES, file), 'utf8');
    if (UPDATE) mkdirSync(GOLDEN, { recursive: true });
    let ran = 0;
    for (const arch of [undefined, ...ARCHES]) {
      const name = arch ? `${stem}.${arch.name}.txt` : `${stem}.txt`;
      let out: string;
      try {
        const f = compile(text, { file: `examples/${file}`, ...(arch ? { arches: [arch.name] } : {}) });
        out = render(f);
        checkDecisions(f, name);
        ran += runPolicyTests(f, text, name);
      } catch (e) {
        if ((e as Error).name !== 'PolicyError') throw e;
        out = `# error: ${(e as Error).message}\n`;
      }
      const path = join(GOLDEN, name);
      if (UPDATE) writeFileSync(path, out);
      assert.ok(existsSync(path), `${name} is missing (run with UPDATE_GOLDEN=1)`);
      assert.fixture(out, readFileSync(path, 'utf8'), `${name} differs (UPDATE_GOLDEN=1 to accept)`);
    }
    assert.ok(ran > 0, `${file}: no policy test ran`);
  });
}

test.run();
