/**
 * The launch layer: sandbox any native program without touching its code. Generates, in memory,
 * a tiny static x86_64 launcher executable and a preload shared object that install an embedded
 * seccomp filter, and replaces the Node process with a confined program. Uses src/bpf only
 * (plus ffi-rs for the execve).
 */
export { LaunchError, type LaunchErrorCode } from './errors.js';
export { buildLauncher, buildLauncherDetailed, type Launcher, type LauncherOptions } from './stub.js';
export { buildPreload, type PreloadOptions } from './preload.js';
export { execSandboxed, prepareExec, resolveCommand, type ExecOptions, type PreparedExec } from './exec.js';
export { execPreloaded, checkPreloadable, withPreload, type PreloadExecOptions, type PreloadTarget } from './exec-preload.js';
export { wrapForLauncher, policyDeniesExec, type OtherExec, type WrapOptions, type WrappedFilter } from './wrap.js';
export { traceCommand, buildMarkerPreload, checkStartable, type TraceOptions, type TraceResult } from './learn.js';
