/**
 * The register hook: zero-code sandboxing of a Node program, the Node counterpart of the
 * Cloudflare toolkit's libsandbox.so. Loaded before the program with
 *
 *   node --import seccomp-ts/register app.js       (ESM entry, dist/register.js)
 *   node --require seccomp-ts/register app.js      (CommonJS entry, dist/register.cjs)
 *   NODE_OPTIONS="--import seccomp-ts/register" node app.js
 *
 * it reads SECCOMP_SYSCALL_ALLOW, SECCOMP_SYSCALL_DENY, SECCOMP_DEFAULT_ACTION and SECCOMP_POLICY
 * (see src/policy/env.ts), prints `adding <entry> to the process seccomp filter` on stderr for
 * every syscall or @group listed (SECCOMP_QUIET=1 silences it), removes those variables from the
 * environment and installs the filter on every thread (TSYNC) before the program's first line.
 *
 * Node's own start-up (loading the binary, V8, the module loaders, the thread pool) has already
 * happened by then, so an allowlist needs only what the program does from now on: see the
 * `@node-runtime` group (src/policy/node-runtime.ts).
 *
 * Fail closed: when a variable is set but the filter cannot be built or installed, the process
 * writes one line `seccomp-ts: ...` and exits with status 1; the program never runs unconfined.
 * When none of the variables is set the hook does nothing.
 *
 * Children: the variables are removed so a child does not see a policy it is not running under
 * the hook's control, but the filter itself is inherited across fork and execve, as always.
 */
import { close, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { apply, ApplyError } from './apply/index.js';
import { PolicyError } from './policy/errors.js';
import { POLICY_ENV_VARS, policyFromEnv } from './policy/env.js';
import { compile } from './policy/filter.js';
import type { Policy } from './policy/types.js';

/** How long to wait at most for the thread pool to go idle before installing anyway. */
const SETTLE_MS = 1000;

function say(line: string): void {
  // writeSync on fd 2: no stream object is created, nothing is left buffered if we exit next.
  writeSync(2, `${line}\n`);
}

/** Every syscall or @group entry the policy lists, once each, in order of appearance. */
function listedEntries(policy: Policy): string[] {
  const seen = new Set<string>();
  for (const rule of policy.rules) for (const s of rule.syscalls) seen.add(s);
  return [...seen];
}

/** Whether every thread except the calling one is blocked in a system call (idle). */
function othersBlocked(): boolean {
  const self = String(process.pid);
  for (const tid of readdirSync('/proc/self/task')) {
    if (tid === self) continue;
    let line: string;
    try {
      line = readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8');
    } catch {
      continue; // the thread just exited, or the kernel does not offer the file
    }
    // "<nr> <args...>" while blocked in syscall nr; "running" or "-1 ..." otherwise.
    if (!/^\d+ /.test(line)) return false;
  }
  return true;
}

/**
 * Finish libuv's lazy start-up now and wait until its threads are idle. On the first
 * asynchronous fs request libuv starts its thread pool (clone3, and each new thread's own
 * start-up calls) and asks the kernel for its version (uname) to decide about io_uring. Under
 * `--import` Node's ESM loader has made such requests already; under `--require` nobody has, and
 * the program's first fs callback would need those calls under the filter. Closing a descriptor
 * of /dev/null asynchronously is such a request, with nothing to undo.
 */
function settleThreadPool(): void {
  try {
    close(openSync('/dev/null', 'r'), () => {});
  } catch {
    // No /dev/null: nothing to start the pool with; the filter goes on regardless.
  }
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + SETTLE_MS;
  for (let calm = 0; calm < 2 && Date.now() < end; ) {
    let idle: boolean;
    try {
      idle = othersBlocked();
    } catch {
      return; // no /proc: install without waiting (threads started later inherit the filter anyway)
    }
    calm = idle ? calm + 1 : 0;
    if (calm < 2) Atomics.wait(cell, 0, 0, 1);
  }
}

function message(e: unknown): string {
  if (e instanceof PolicyError) return e.message;
  if (e instanceof ApplyError) return `cannot install the seccomp filter: ${e.message}`;
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `internal error while setting up the seccomp filter: ${text.split('\n')[0]}`;
}

/** Build and install the filter the environment asks for (nothing when no variable is set). */
function install(env: NodeJS.ProcessEnv): void {
  const found = policyFromEnv(env);
  if (found === undefined) return;
  const filter = compile(found.policy); // for this machine's architecture
  const quiet = env.SECCOMP_QUIET !== undefined && env.SECCOMP_QUIET !== '' && env.SECCOMP_QUIET !== '0';
  if (!quiet) {
    for (const w of filter.warnings) say(`seccomp-ts: warning: ${w.message}`);
    for (const v of found.ignored) say(`seccomp-ts: warning: ${v} is ignored (SECCOMP_SYSCALL_ALLOW is set)`);
    // Printed before installing, like libsandbox.so: an allowlist may not allow write() afterwards.
    for (const name of listedEntries(found.policy)) say(`adding ${name} to the process seccomp filter`);
  }
  for (const v of POLICY_ENV_VARS) delete env[v];
  settleThreadPool();
  apply(filter, { tsync: true });
}

// Workers run preloaded modules too; the filter already covers them (threads inherit it), and a
// TSYNC from inside a running program would be a different thing from what the hook promises.
if (isMainThread) {
  try {
    install(process.env);
  } catch (e) {
    say(`seccomp-ts: ${message(e)}`);
    process.exit(1);
  }
}
