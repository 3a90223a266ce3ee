/**
 * The built package (dist/, rebuilt by `npm test` before the tests): importing it never loads
 * ffi-rs; apply() loads it on first use, from the ESM and from the CommonJS build; elsewhere
 * than Linux on a known CPU, import still works and apply() says UNSUPPORTED.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../_util/tools.js';
import { X86_64_LINUX } from './_child.js';

const ESM = join(ROOT, 'dist', 'index.js');
const CJS = join(ROOT, 'dist', 'index.cjs');

/** Run `body` in a child that has the package as `m` (ESM or CJS) and prints one JSON line. */
function run(format: 'esm' | 'cjs', body: string, fake: { platform?: string; arch?: string } = {}) {
  const pre = Object.entries(fake).map(([k, v]) => `Object.defineProperty(process, ${JSON.stringify(k)}, { value: ${JSON.stringify(v)} });`).join('');
  const load = format === 'esm'
    ? `const { createRequire } = await import('node:module'); const req = createRequire(${JSON.stringify(ESM)}); const m = await import(${JSON.stringify(ESM)});`
    : `const req = require; const m = require(${JSON.stringify(CJS)});`;
  const ffiLoaded = `() => Object.keys(req.cache).some((k) => k.includes('ffi-rs'))`;
  const code = `(async () => { ${pre} ${load} const ffiLoaded = ${ffiLoaded}; const out = {}; ${body}; console.log(JSON.stringify(out)); })().catch((e) => { console.log(JSON.stringify({ crash: String(e && e.stack || e) })); });`;
  const args = format === 'esm' ? ['--input-type=module', '-e', code] : ['-e', code];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30000, killSignal: 'SIGKILL' });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw new Error(`child printed no JSON (status ${r.status}, signal ${r.signal}): ${r.stdout}\n${r.stderr}`);
  }
  assert.is(parsed.crash, undefined, String(parsed.crash));
  return parsed;
}

const TRY = (expr: string, key: string) => `try { ${expr}; out.${key} = 'ok'; } catch (e) { out.${key} = [e.name, e.code, e.message]; }`;

const built = existsSync(ESM) && existsSync(CJS);
if (!built) process.stdout.write('  ! dist/ is missing: run `npx tsup` (npm test builds it first)\n');

for (const [name, fake] of [['macOS', { platform: 'darwin' }], ['Windows', { platform: 'win32' }], ['Linux on an unknown CPU', { arch: 'mips' }]] as const) {
  for (const format of ['esm', 'cjs'] as const) {
    test(`${format}: on ${name}, import works and apply() throws UNSUPPORTED without loading ffi-rs`, () => {
      assert.ok(built, 'dist/ must be built');
      const o = run(format, `${TRY('m.apply([{ code: 6, jt: 0, jf: 0, k: 0x7fff0000 }])', 'apply')} out.ffi = ffiLoaded(); out.supported = m.applySupported();`, fake);
      const [errName, code, message] = o.apply as string[];
      assert.equal([errName, code], ['ApplyError', 'UNSUPPORTED']);
      assert.match(message, 'platform' in fake ? /only on Linux/ : /not supported on CPU architecture mips/);
      assert.is(o.ffi, false);
      assert.is(o.supported, false);
    });
  }
}

test('off Linux, getSeccompMode() is UNSUPPORTED and actionsAvailable() is empty', () => {
  assert.ok(built, 'dist/ must be built');
  const o = run('esm', `${TRY('m.getSeccompMode()', 'mode')} out.actions = [...m.actionsAvailable()];`, { platform: 'darwin' });
  assert.equal((o.mode as string[]).slice(0, 2), ['ApplyError', 'UNSUPPORTED']);
  assert.equal(o.actions, []);
});

for (const format of ['esm', 'cjs'] as const) {
  (X86_64_LINUX ? test : test.skip)(`${format}: ffi-rs is loaded only by apply(), which then works`, () => {
    assert.ok(built, 'dist/ must be built');
    // ld nr; jeq getppid(110) -> ERRNO(ENETDOWN); ret allow
    const filter = '[{ code: 0x20, jt: 0, jf: 0, k: 0 }, { code: 0x15, jt: 0, jf: 1, k: 110 }, { code: 6, jt: 0, jf: 0, k: 0x50064 }, { code: 6, jt: 0, jf: 0, k: 0x7fff0000 }]';
    const o = run(format, `out.before = ffiLoaded(); m.apply(${filter}); out.after = ffiLoaded(); out.mode = m.getSeccompMode(); out.actions = [...m.actionsAvailable()].includes('errno');`);
    assert.equal([o.before, o.after, o.mode, o.actions], [false, true, 2, true]);
  });
}

test.run();
