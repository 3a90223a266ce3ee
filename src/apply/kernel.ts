/**
 * The kernel side of apply(): prctl(PR_SET_NO_NEW_PRIVS) and seccomp(SECCOMP_SET_MODE_FILTER),
 * with each failure turned into an ApplyError that says what the errno means here.
 * Takes bytes the caller has already checked; tests call it directly to reach the kernel
 * with programs our verifier would refuse.
 */
import { readFileSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { ApplyError, type ApplyErrorCode } from './errors.js';
import { hostAbi, type HostAbi } from './host.js';
import { libc } from './libc.js';

/** prctl option that sets no_new_privs (include/uapi/linux/prctl.h). */
export const PR_SET_NO_NEW_PRIVS = 38;
/** seccomp() operation: install a filter (include/uapi/linux/seccomp.h). */
export const SECCOMP_SET_MODE_FILTER = 1;
/** seccomp() operation: ask whether an action value is implemented. */
export const SECCOMP_GET_ACTION_AVAIL = 2;
/** Filter flag: install on every thread of the process at once. */
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
/** Filter flag: log every action except allow. */
export const SECCOMP_FILTER_FLAG_LOG = 2;
/** Filter flag: do not force the speculative store bypass mitigation. */
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;

// Linux errno numbers: the generic ones, shared by every architecture in host.ts.
const ESRCH = 3;
const ENOMEM = 12;
const EACCES = 13;
const EFAULT = 14;
const EBUSY = 16;
const EINVAL = 22;
const ENOSYS = 38;

/** The host ABI, or ApplyError('UNSUPPORTED') saying why there is none. */
export function requireHost(): HostAbi {
  const host = hostAbi();
  if (host) return host;
  if (process.platform !== 'linux') {
    throw new ApplyError('UNSUPPORTED', `seccomp filters exist only on Linux; this is ${process.platform}`);
  }
  throw new ApplyError('UNSUPPORTED', `installing seccomp filters is not supported on CPU architecture ${process.arch} (supported: x64, arm64, ia32, arm, riscv64, loong64, s390x, ppc64)`);
}

/** A line of /proc/self/status as a number, or undefined when absent (or not Linux). */
export function statusField(field: string): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function errnoName(errno: number): string {
  const e = getSystemErrorMap().get(-errno);
  return e ? `${e[0]} (${e[1]})` : `errno ${errno}`;
}

/**
 * The failure of a kernel call as an ApplyError whose code is the errno's name and whose message
 * says what it means for a seccomp filter. `after` is appended (e.g. the no_new_privs note).
 */
export function errnoError(what: string, errno: number, after = ''): ApplyError {
  let code: ApplyErrorCode;
  let meaning: string;
  switch (errno) {
    case EINVAL:
      code = 'EINVAL';
      meaning = statusField('Seccomp') === 1
        ? 'this process is in strict seccomp mode, which allows no filter'
        : 'the kernel rejected the filter program or a flag (is SECCOMP_FILTER_FLAG_LOG/SPEC_ALLOW supported by this kernel?)';
      break;
    case EACCES:
      code = 'EACCES';
      meaning = 'no_new_privs is not set and the process lacks CAP_SYS_ADMIN; leave noNewPrivs at its default (true)';
      break;
    case EFAULT:
      code = 'EFAULT';
      meaning = 'the kernel could not read the filter from memory (a bug in seccomp-ts)';
      break;
    case ESRCH:
      code = 'ESRCH';
      meaning = 'a thread of this process could not be synchronized (TSYNC)';
      break;
    case ENOMEM:
      code = 'ENOMEM';
      meaning = 'the filters already installed plus this one exceed the kernel limit of 32768 instructions per path (each filter counts its length + 4), or the kernel is out of memory';
      break;
    case EBUSY:
      code = 'EBUSY';
      meaning = 'a user-notification listener is already installed';
      break;
    case ENOSYS:
      return new ApplyError('UNSUPPORTED', `${what} failed with ${errnoName(errno)}: this kernel has no seccomp() system call (Linux 3.17 or later with CONFIG_SECCOMP_FILTER is needed)${after}`, { errno });
    default:
      code = 'ERRNO';
      meaning = 'unexpected failure';
  }
  return new ApplyError(code, `${what} failed with ${errnoName(errno)}: ${meaning}${after}`, { errno });
}

/** Set PR_SET_NO_NEW_PRIVS for this thread (and, through TSYNC, every thread a filter is synced to). */
export function setNoNewPrivs(host: HostAbi): void {
  const r = libc(host).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (r.value !== 0) throw errnoError('prctl(PR_SET_NO_NEW_PRIVS)', r.errno);
}

/**
 * Install host-order sock_filter `bytes` with the given SECCOMP_FILTER_FLAG_* bits, setting
 * no_new_privs first when asked. No checks of the program: callers verify it first.
 */
export function installBytes(host: HostAbi, bytes: Uint8Array, flags: number, noNewPrivs: boolean): void {
  let note = '';
  if (noNewPrivs) {
    const before = statusField('NoNewPrivs');
    setNoNewPrivs(host);
    if (before === 0) note = '; no_new_privs was set before the failure and stays set (it cannot be cleared)';
  }
  const r = libc(host).setModeFilter(flags, bytes);
  if (r.value === 0) return;
  if (r.value > 0 && flags & SECCOMP_FILTER_FLAG_TSYNC) {
    throw new ApplyError('TSYNC', `cannot synchronize thread ${r.value} of this process (TSYNC): it has a seccomp filter of its own that the calling thread does not share (or is in strict mode), so nothing was installed${note}`, { thread: r.value });
  }
  if (r.value !== -1) throw new ApplyError('ERRNO', `seccomp(SECCOMP_SET_MODE_FILTER) returned unexpected value ${r.value}${note}`);
  throw errnoError('seccomp(SECCOMP_SET_MODE_FILTER)', r.errno, note);
}

/** Ask the kernel whether it implements one SECCOMP_RET_* action value (SECCOMP_GET_ACTION_AVAIL). */
export function kernelHasAction(host: HostAbi, value: number): boolean {
  const mem = new Uint8Array(4);
  new DataView(mem.buffer).setUint32(0, value >>> 0, host.endian === 'little');
  const r = libc(host).seccomp(SECCOMP_GET_ACTION_AVAIL, 0, mem);
  if (r.value === 0) return true;
  if (r.errno === 95 /* EOPNOTSUPP */) return false;
  // Kernels before 4.14 lack the operation (EINVAL) and know only the original actions.
  if (r.errno === EINVAL) return [0x00000000, 0x00030000, 0x00050000, 0x7ff00000, 0x7fff0000].includes(value >>> 0);
  throw errnoError('seccomp(SECCOMP_GET_ACTION_AVAIL)', r.errno);
}
