/**
 * What the policy linter knows, as data: syscalls that do the same thing, multiplexers that
 * reach socket and IPC calls without naming them, security-sensitive syscalls, and the width
 * of common syscall arguments. lint.ts holds only the logic that reads these tables.
 *
 * Facts come from the Linux 6.12 sources: argument types from the SYSCALL_DEFINEn lines
 * (fs/ioctl.c, fs/fcntl.c, fs/open.c, kernel/sys.c, kernel/signal.c, net/socket.c,
 * kernel/fork.c, mm/*.c), and the multiplexers from net/socket.c sys_socketcall and ipc/syscall.c
 * ksys_ipc. A name absent on an architecture is simply skipped there.
 */

/** A set of syscalls any one of which does what the others do (for denylist checks). */
export interface EquivalentFamily {
  /** Short name used in messages. */
  readonly name: string;
  readonly members: readonly string[];
  /** Whether io_uring can do the same work without any member (IORING_OP_READ, _WRITE, _OPENAT, _STATX...). */
  readonly ioUring: boolean;
}

/** Families for the `denylist-bypass` rule. */
export const EQUIVALENT_FAMILIES: readonly EquivalentFamily[] = Object.freeze([
  { name: 'read', members: ['read', 'pread64', 'readv', 'preadv', 'preadv2'], ioUring: true },
  { name: 'write', members: ['write', 'pwrite64', 'writev', 'pwritev', 'pwritev2', 'sendfile', 'sendfile64'], ioUring: true },
  { name: 'open', members: ['open', 'openat', 'openat2', 'creat'], ioUring: true },
  { name: 'exec', members: ['execve', 'execveat'], ioUring: false },
  { name: 'fork', members: ['clone', 'clone3', 'fork', 'vfork'], ioUring: false },
  {
    name: 'stat',
    members: ['stat', 'lstat', 'fstat', 'newfstatat', 'fstatat64', 'stat64', 'lstat64', 'fstat64', 'statx', 'oldstat', 'oldlstat', 'oldfstat'],
    ioUring: true,
  },
]);

/** The syscalls that give a process an io_uring, which performs file I/O without further syscalls of its own. */
export const IO_URING_SYSCALLS: readonly string[] = Object.freeze(['io_uring_setup', 'io_uring_enter']);

/** A syscall that performs the work of others, selected by its first argument. */
export interface Multiplexer {
  readonly name: string;
  /** The calls it can make; arguments reach them through a pointer the filter cannot read. */
  readonly members: readonly string[];
}

/** Multiplexers for the `multiplexer-bypass` rule (present on i386, mipsel, ppc64, ppc64le, s390x). */
export const MULTIPLEXERS: readonly Multiplexer[] = Object.freeze([
  {
    name: 'socketcall',
    members: [
      'socket', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername', 'socketpair', 'send', 'sendto',
      'recv', 'recvfrom', 'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg', 'recvmmsg', 'sendmmsg',
    ],
  },
  {
    name: 'ipc',
    members: ['semop', 'semget', 'semctl', 'semtimedop', 'msgsnd', 'msgrcv', 'msgget', 'msgctl', 'shmat', 'shmdt', 'shmget', 'shmctl'],
  },
]);

/**
 * Syscalls whose denial should end the process rather than return an error (`errno-for-sensitive`):
 * an exploit that gets EPERM can try another way; a killed one cannot (the cloudflare blog on
 * seccomp sandboxing shows the pattern).
 */
export const SENSITIVE_SYSCALLS: readonly string[] = Object.freeze([
  'execve', 'execveat', 'ptrace', 'process_vm_readv', 'process_vm_writev', 'mount', 'umount', 'umount2', 'pivot_root', 'chroot',
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'bpf', 'perf_event_open', 'keyctl', 'add_key',
  'request_key', 'unshare', 'setns', 'userfaultfd', 'open_by_handle_at', 'reboot', 'swapon', 'swapoff', 'iopl', 'ioperm',
  'io_uring_setup', 'fsopen', 'fsmount', 'move_mount', 'open_tree', 'mount_setattr',
]);

/**
 * Width in bits of each argument the kernel reads, for syscalls whose filters often check
 * arguments (`arg-width`). 32 means the kernel takes a C int/unsigned int (or pid_t, uid_t,
 * umode_t) and ignores the high half of the register; a 64-bit check on such an argument can
 * be defeated by setting high bits. Arguments not listed are not judged.
 */
export const ARG_WIDTHS: Readonly<Record<string, readonly (32 | 64)[]>> = Object.freeze({
  // fs
  read: [32, 64, 64],
  write: [32, 64, 64],
  close: [32],
  ioctl: [32, 32, 64], // unsigned int fd, unsigned int cmd, unsigned long arg
  fcntl: [32, 32, 64],
  fcntl64: [32, 32, 64],
  open: [64, 32, 32],
  openat: [32, 64, 32, 32],
  creat: [64, 32],
  chmod: [64, 32],
  fchmod: [32, 32],
  fchmodat: [32, 64, 32],
  dup3: [32, 32, 32],
  pipe2: [64, 32],
  memfd_create: [64, 32],
  eventfd2: [32, 32],
  umount2: [64, 32],
  // memory (mmap/mprotect take unsigned long prot and flags on 64-bit ABIs)
  mmap: [64, 64, 64, 64, 64, 64],
  mprotect: [64, 64, 64],
  madvise: [64, 64, 32],
  // processes and signals
  kill: [32, 32],
  tkill: [32, 32],
  tgkill: [32, 32, 32],
  pidfd_open: [32, 32],
  pidfd_send_signal: [32, 32, 64, 32],
  prctl: [32, 64, 64, 64, 64],
  personality: [32],
  clone: [64, 64, 64, 64, 64], // unsigned long clone_flags
  unshare: [64],
  setns: [32, 32],
  setuid: [32],
  setgid: [32],
  setresuid: [32, 32, 32],
  setresgid: [32, 32, 32],
  ptrace: [64, 64, 64, 64],
  seccomp: [32, 32, 64],
  bpf: [32, 64, 32],
  keyctl: [32, 64, 64, 64, 64],
  // sockets
  socket: [32, 32, 32],
  socketpair: [32, 32, 32, 64],
  bind: [32, 64, 32],
  connect: [32, 64, 32],
  listen: [32, 32],
  accept4: [32, 64, 64, 32],
  setsockopt: [32, 32, 32, 64, 32],
  getsockopt: [32, 32, 32, 64, 64],
  sendto: [32, 64, 64, 32, 64, 32],
  recvfrom: [32, 64, 64, 32, 64, 64],
  sendmsg: [32, 64, 32],
  recvmsg: [32, 64, 32],
  shutdown: [32, 32],
});

/** Instruction counts for the `filter-size` rule. */
export const FILTER_SIZE = Object.freeze({
  /** BPF_MAXINSNS: the kernel rejects longer programs. */
  max: 4096,
  /** Above this, a few more rules may cross the limit. */
  warn: 3500,
  /** MAX_INSNS_PER_PATH (kernel/seccomp.c): all filters of a process together, plus 4 per filter. */
  perPath: 32768,
});

/** Every lint rule: its id, default severity and one line of documentation. */
export const LINT_RULES: Readonly<Record<string, { readonly severity: 'error' | 'warning'; readonly summary: string }>> = Object.freeze({
  'denylist-bypass': { severity: 'error', summary: 'a default-allow policy denies a syscall but not an equivalent one (or io_uring)' },
  'multiplexer-bypass': { severity: 'error', summary: 'socket or IPC calls are restricted, but socketcall/ipc reaches them unchecked' },
  'io-uring-allowed': { severity: 'warning', summary: 'an allowlist allows io_uring, whose operations (openat, connect, ...) the filter never sees' },
  'allow-by-default': { severity: 'warning', summary: 'the default action allows every syscall not listed' },
  'errno-for-sensitive': { severity: 'warning', summary: 'a security-sensitive syscall is denied with an errno instead of killing' },
  'shadowed-rule': { severity: 'error', summary: 'a rule can never decide: an unconditional, more restrictive rule covers the same syscall' },
  'contradictory-args': { severity: 'error', summary: "a rule's argument checks can never all hold" },
  'syscall-not-on-any-arch': { severity: 'error', summary: 'a syscall of a rule exists on none of the listed architectures (warning for OCI profiles and --arch)' },
  'syscall-not-on-arch': { severity: 'warning', summary: 'a syscall of a rule is missing on some listed architectures' },
  'arg-width': { severity: 'warning', summary: 'a 64-bit check on an argument the kernel reads as 32 bits' },
  'filter-size': { severity: 'error', summary: 'the filter is longer than the kernel accepts (warning when close)' },
  'bwrap-execve': { severity: 'warning', summary: "--for bwrap: the policy denies execve, which bubblewrap needs after installing it" },
  'resolve-warning': { severity: 'warning', summary: 'any other warning of the resolver, passed through' },
});
