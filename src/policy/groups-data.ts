/**
 * The built-in syscall groups, as plain data. A member is a syscall name or another `@group`;
 * names unknown on an architecture are skipped there, so one list can span architectures
 * (e.g. `_llseek` exists only on 32-bit ABIs, `lseek` on all).
 *
 * `@basic-io` and `@signal` have the same members as systemd's groups of those names, so a later
 * import of systemd's full set can replace them without changing what policies mean.
 */

/** Group name (with the `@`) -> description and members. */
export const GROUP_DATA: Readonly<Record<string, { readonly description: string; readonly members: readonly string[] }>> = {
  '@basic-io': {
    description: 'reading, writing, seeking and closing file descriptors that are already open',
    members: [
      '_llseek', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'lseek', 'pread64', 'preadv', 'preadv2',
      'pwrite64', 'pwritev', 'pwritev2', 'read', 'readv', 'write', 'writev',
    ],
  },
  '@exit': {
    description: 'ending the calling thread or process',
    members: ['exit', 'exit_group'],
  },
  '@memory': {
    description: 'mapping, unmapping and protecting memory of the calling process',
    members: ['brk', 'madvise', 'mmap', 'mmap2', 'mprotect', 'mremap', 'munmap'],
  },
  '@signal': {
    description: 'installing signal handlers, masking and waiting for signals',
    members: [
      'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
      'sigaction', 'sigaltstack', 'signal', 'signalfd', 'signalfd4', 'sigpending', 'sigprocmask', 'sigsuspend',
    ],
  },
  '@time': {
    description: 'reading clocks and sleeping (not setting clocks)',
    members: [
      'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64', 'clock_nanosleep',
      'clock_nanosleep_time64', 'gettimeofday', 'nanosleep', 'time',
    ],
  },
};
