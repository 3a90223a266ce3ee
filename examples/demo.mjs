#!/usr/bin/env node
// `npm run demo`: the Cloudflare blog's walkthrough done with seccomp-ts, on the built package.
// Compiles a policy, shows the filter and the emulator's decision, then (on Linux x86_64) runs
// real programs under it: a native one with `seccomp-ts exec`, bash under an execve denylist,
// and a Node program under the register hook.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, getArch, resolveSyscall } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const say = (s) => process.stdout.write(`${s}\n`);
const step = (s) => say(`\n== ${s}`);

step('1. A policy: uname fails with ENETDOWN, everything else is allowed (the blog\'s raw filter)');
const policy = `defaultAction: allow
architectures: [x86_64]
rules:
  - syscalls: [uname]
    action: errno(ENETDOWN)
`;
say(policy.trimEnd());
const filter = compile(policy);
say(`\ncompiled to ${filter.instructions.length} instructions:`);
say(filter.toString().trimEnd());

step('2. The emulator runs it the way the kernel would');
const x86 = getArch('x86_64');
for (const name of ['uname', 'write']) {
  const r = filter.evaluate({ nr: resolveSyscall(x86, name), arch: x86.auditArch, instructionPointer: 0n, args: [] });
  say(`${name.padEnd(6)} -> ${r.action.name}${r.action.name === 'errno' ? `(${r.action.data})` : ''}  (${r.executed} instructions executed)`);
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  say(`\nThe rest of the demo runs programs under real filters and needs Linux x86_64 (this is ${process.platform} ${process.arch}).`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'seccomp-ts-demo-'));
const show = (label, argv, env = {}) => {
  say(`$ ${label}`);
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
  // stderr first: the "adding ..." lines and errors come before anything the program prints.
  const out = `${r.stderr}${r.stdout}`.trimEnd();
  if (out) say(out);
  say(r.signal ? `(killed by ${r.signal})` : `(exit status ${r.status})`);
};
try {
  const file = join(dir, 'uname-enetdown.yaml');
  writeFileSync(file, policy);

  step('3. A native program under the policy, without changing it: seccomp-ts exec (sandboxify)');
  show('seccomp-ts exec -q --policy uname-enetdown.yaml -- uname -s', [process.execPath, cli, 'exec', '-q', '--policy', file, '--', 'uname', '-s']);

  step('4. Deny execve: bash runs, its exec is killed (the blog\'s example)');
  const bash = 'echo I will try to execve something...; exec /usr/bin/echo Doing arbitrary code execution!!!';
  show(`SECCOMP_SYSCALL_DENY=execve sandboxify /bin/bash -c '${bash}'`, [process.execPath, join(root, 'dist', 'sandboxify.js'), '/bin/bash', '-c', bash], { SECCOMP_SYSCALL_DENY: 'execve' });

  step('5. A Node program, unchanged, under the register hook');
  const app = join(dir, 'app.mjs');
  writeFileSync(app, "import os from 'node:os';\nconsole.log('started');\nconsole.log('hostname:', os.hostname());\n");
  show('node app.mjs', [process.execPath, app]);
  show('SECCOMP_SYSCALL_DENY=uname node --import seccomp-ts/register app.mjs', [process.execPath, '--import', join(root, 'dist', 'register.js'), app], { SECCOMP_SYSCALL_DENY: 'uname' });
  show('SECCOMP_SYSCALL_DENY=unamex node --import seccomp-ts/register app.mjs', [process.execPath, '--import', join(root, 'dist', 'register.js'), app], { SECCOMP_SYSCALL_DENY: 'unamex' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
say('\nMore: README.md (policies, exec, preload, learn, check, diff, explain) and `npx seccomp-ts --help`.');
