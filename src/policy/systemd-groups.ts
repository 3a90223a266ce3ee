/**
 * Syscall groups named like systemd's `SystemCallFilter=` sets (`@file-system`, `@network-io`,
 * `@system-service`, ...), as data. Each group has the same intent as systemd's set of the same
 * name (see systemd.exec(5), "SystemCallFilter="); the membership below is this project's own,
 * written from what each syscall does. It is not systemd's list, so a unit file interpreted here
 * and by systemd may differ at the edges (a syscall one side files under another group).
 *
 * Rules of the data:
 * - A member is a syscall name or another `@group`. Groups may nest; cycles are a bug (tested).
 * - Members are names, not numbers: a name that an architecture does not have (`mmap2` on x86_64,
 *   `arch_prctl` on aarch64) is skipped on that architecture when the group is expanded.
 * - Every member name exists on at least one architecture of src/arch (tested), so a typo
 *   cannot hide here.
 * - Groups marked "seccomp-ts addition" have no systemd counterpart: they split @system-service
 *   into parts, so a computed set can be written back as whole groups (see systemd.ts).
 *
 * The policy front end's group registry (groups.ts) serves these groups to policies; the systemd
 * reader (systemd.ts) expands them when it computes a unit's allow or deny set.
 */
import { syscallNumber, type Arch, type ArchName } from '../arch/index.js';

/** One named syscall group: a purpose line and its members (syscall names or `@group`s). */
export interface SyscallGroupDef {
  /** `@name`, as written in policies and unit files. */
  readonly name: string;
  /** One line: what the group is for. */
  readonly purpose: string;
  readonly members: readonly string[];
}

const g = (name: string, purpose: string, members: string): SyscallGroupDef =>
  Object.freeze({ name, purpose, members: Object.freeze(members.trim().split(/\s+/)) });

/** Every systemd-style group, in alphabetical order. */
export const SYSTEMD_GROUPS: readonly SyscallGroupDef[] = Object.freeze([
  g('@aio', 'Asynchronous I/O: the POSIX AIO kernel interface and io_uring.', `
    io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit
    io_uring_enter io_uring_register io_uring_setup`),
  g('@basic-io', 'Reading, writing, seeking and closing descriptors that are already open.', `
    _llseek close close_range dup dup2 dup3 lseek pread64 preadv preadv2 pwrite64 pwritev pwritev2
    read readv write writev`),
  g('@chown', 'Changing the owner or group of files.', `
    chown chown32 fchown fchown32 fchownat lchown lchown32`),
  g('@clock', 'Setting or adjusting the system clocks.', `
    adjtimex clock_adjtime clock_adjtime64 clock_settime clock_settime64 settimeofday stime`),
  g('@cpu-emulation', 'Running code in another CPU mode or byte order (vm86, LDT changes, endian switch).', `
    modify_ldt subpage_prot switch_endian vm86 vm86old`),
  g('@debug', 'Observing or controlling other processes for debugging, tracing and profiling.', `
    perf_event_open pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace rtas
    s390_runtime_instr`),
  g('@default', 'What every process needs to start, exit, handle signals, and read time or sleep (systemd allows these implicitly in allow lists).', `
    clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
    clock_nanosleep_time64 execve exit exit_group getrlimit gettimeofday nanosleep restart_syscall
    rt_sigreturn sigreturn time ugetrlimit`),
  g('@file-hints', 'Advising the kernel about file access patterns (seccomp-ts addition, part of @system-service).', `
    arm_fadvise64_64 fadvise64 fadvise64_64 readahead`),
  g('@file-system', 'Opening, inspecting and changing files, directories, links and their attributes by path or descriptor.', `
    access chdir chmod close creat faccessat faccessat2 fallocate fchdir fchmod fchmodat fchmodat2
    fcntl fcntl64 fgetxattr file_getattr file_setattr flistxattr fremovexattr fsetxattr fstat fstat64
    fstatat64 fstatfs fstatfs64 ftruncate ftruncate64 futimesat getcwd getdents getdents64 getxattr
    getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch lgetxattr link linkat
    listmount listxattr listxattrat llistxattr lremovexattr lsetxattr lstat lstat64 mkdir mkdirat
    mmap mmap2 munmap newfstatat oldfstat oldlstat oldstat open openat openat2 readdir readlink
    readlinkat removexattr removexattrat rename renameat renameat2 rmdir setxattr setxattrat stat
    stat64 statfs statfs64 statmount statx symlink symlinkat truncate truncate64 unlink unlinkat
    utime utimensat utimensat_time64 utimes`),
  g('@futex', 'Futexes and the robust-futex list, which threads and locks are built on (seccomp-ts addition, part of @system-service).', `
    futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake get_robust_list set_robust_list`),
  g('@identity', 'Reading process, session, user and group identities (seccomp-ts addition, part of @system-service).', `
    getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid
    getppid getresgid getresgid32 getresuid getresuid32 getsid getuid getuid32`),
  g('@io-event', 'Waiting for events on descriptors: select, poll, epoll, eventfd.', `
    _newselect epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 epoll_wait eventfd
    eventfd2 poll ppoll ppoll_time64 pselect6 pselect6_time64 select`),
  g('@ipc', 'Inter-process communication: pipes, SysV and POSIX message queues, semaphores and shared memory.', `
    ipc memfd_create mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
    mq_timedsend mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd pipe pipe2 semctl semget
    semop semtimedop semtimedop_time64 shmat shmctl shmdt shmget`),
  g('@keyring', 'The kernel key retention service.', `
    add_key keyctl request_key`),
  g('@memlock', 'Locking memory into RAM.', `
    mlock mlock2 mlockall munlock munlockall`),
  g('@module', 'Loading and unloading kernel modules.', `
    delete_module finit_module init_module`),
  g('@mount', 'Mounting, unmounting and changing the root directory.', `
    chroot fsconfig fsmount fsopen fspick mount mount_setattr move_mount open_tree open_tree_attr
    pivot_root umount umount2`),
  g('@network-io', 'Sockets: creating, connecting, sending and receiving.', `
    accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
    recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socket socketcall
    socketpair`),
  g('@obsolete', 'Calls that current C libraries no longer use: old uname and signal-mask forms, uselib, ustat, sysfs.', `
    oldolduname olduname sgetmask ssetmask sysfs uselib ustat`),
  g('@pkey', 'Memory protection keys.', `
    pkey_alloc pkey_free pkey_mprotect`),
  g('@privileged', 'Calls that need superuser capabilities to do their work.', `
    @chown @clock @module @mount @raw-io @reboot @setuid @swap acct bpf capset fanotify_init
    kexec_file_load kexec_load open_by_handle_at quotactl quotactl_fd setdomainname sethostname
    vhangup`),
  g('@process', 'Creating, running, waiting for and signalling processes and threads.', `
    arch_prctl capget clone clone3 execveat fork getrusage gettid kcmp kill pidfd_open
    pidfd_send_signal prctl rt_sigqueueinfo rt_tgsigqueueinfo set_tid_address setns tgkill times
    tkill unshare vfork wait4 waitid waitpid`),
  g('@raw-io', 'Direct access to I/O ports and PCI configuration space.', `
    ioperm iopl pciconfig_iobase pciconfig_read pciconfig_write s390_pci_mmio_read
    s390_pci_mmio_write`),
  g('@reboot', 'Rebooting or replacing the running kernel.', `
    kexec_file_load kexec_load reboot`),
  g('@resources', 'Changing resource limits, scheduling, CPU affinity and memory placement.', `
    ioprio_set mbind migrate_pages move_pages nice prlimit64 sched_setaffinity sched_setattr
    sched_setparam sched_setscheduler set_mempolicy set_mempolicy_home_node setpriority setrlimit`),
  g('@sandbox', 'Sandboxing oneself: seccomp and Landlock.', `
    landlock_add_rule landlock_create_ruleset landlock_restrict_self seccomp`),
  g('@sched-query', 'Reading scheduling and I/O priorities and CPU placement, and yielding (seccomp-ts addition, part of @system-service).', `
    getcpu getpriority ioprio_get sched_get_priority_max sched_get_priority_min sched_getaffinity
    sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
    sched_yield`),
  g('@setuid', 'Changing user and group identities.', `
    setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setregid
    setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setuid setuid32`),
  g('@signal', 'Handling signals: handlers, masks, waiting, signalfd.', `
    rt_sigaction rt_sigpending rt_sigprocmask rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
    sigaction sigaltstack signal signalfd signalfd4 sigpending sigprocmask sigsuspend`),
  g('@splice', 'Moving data between descriptors inside the kernel: sendfile, splice, tee, copy_file_range (seccomp-ts addition, part of @system-service).', `
    copy_file_range sendfile sendfile64 splice tee vmsplice`),
  g('@swap', 'Enabling and disabling swap.', `
    swapoff swapon`),
  g('@sync', 'Flushing file data and metadata to storage.', `
    arm_sync_file_range fdatasync fsync msync sync sync_file_range sync_file_range2 syncfs`),
  g('@system-service', 'What a typical system service needs; combine with ~@privileged and ~@resources to tighten it.', `
    @aio @basic-io @chown @default @file-hints @file-system @futex @identity @io-event @ipc @keyring
    @memlock @network-io @process @resources @sched-query @setuid @signal @splice @sync @timer @tls
    brk cachestat capget capset get_mempolicy getrandom ioctl madvise membarrier mincore mprotect
    mremap name_to_handle_at pause personality remap_file_pages rseq setpgid setsid sysinfo umask
    uname`),
  g('@timer', 'Interval timers, POSIX timers, timerfd and alarm.', `
    alarm getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime
    timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64
    timerfd_settime timerfd_settime64`),
  g('@tls', 'Thread-local storage setup on ABIs that do it by syscall (seccomp-ts addition, part of @system-service).', `
    get_thread_area get_tls set_thread_area set_tls`),
]);

const BY_NAME: ReadonlyMap<string, SyscallGroupDef> = new Map(SYSTEMD_GROUPS.map((d) => [d.name, d]));

/** The names of every systemd-style group (`@aio`, ...), alphabetical. */
export const SYSTEMD_GROUP_NAMES: readonly string[] = Object.freeze(SYSTEMD_GROUPS.map((d) => d.name));

/** The group named `name` (with its `@`), or undefined. */
export function systemdGroup(name: string): SyscallGroupDef | undefined {
  return BY_NAME.get(name);
}

/**
 * The syscall names of group `name` with nested groups expanded, deduplicated and sorted; with
 * `arch`, only the names that architecture has. Undefined for an unknown group. Throws on a
 * cycle, which would be a bug in the data above.
 */
export function expandSystemdGroup(name: string, arch?: Arch | ArchName): string[] | undefined {
  if (!BY_NAME.has(name)) return undefined;
  const out = new Set<string>();
  const visit = (group: string, stack: readonly string[]): void => {
    if (stack.includes(group)) throw new Error(`syscall group cycle: ${[...stack, group].join(' -> ')}`);
    const def = BY_NAME.get(group);
    if (!def) throw new Error(`syscall group ${stack.at(-1)} names unknown group ${group}`);
    for (const m of def.members) {
      if (m.startsWith('@')) visit(m, [...stack, group]);
      else if (arch === undefined || syscallNumber(arch, m) !== undefined) out.add(m);
    }
  };
  visit(name, []);
  return [...out].sort();
}

/**
 * The syscalls systemd allows in every allow-list (`SystemCallFilter=` without `~`) without their
 * being listed: the members of `@default` here. systemd.exec(5) names execve, exit, exit_group,
 * getrlimit, rt_sigreturn, sigreturn and the calls that read the time or sleep; the set also holds
 * the other-ABI spellings of those (ugetrlimit, *_time64) and restart_syscall, which the kernel
 * uses to resume an interrupted sleep.
 */
export const SYSTEMD_IMPLICIT_ALLOW: readonly string[] = Object.freeze(expandSystemdGroup('@default')!);
