/**
 * Kernel ABI numbers the generated machine code uses, in one place: include/uapi/linux/prctl.h,
 * seccomp.h, unistd.h (X_OK), asm-generic/errno-base.h, and the syscall tables (x86_64:
 * arch/x86/entry/syscalls/syscall_64.tbl; aarch64: the generic table). Hard-coded because
 * src/launch may only use src/bpf; test/launch/abi.test.ts checks the syscall numbers against
 * src/arch's generated tables.
 */
export const PR_SET_NO_NEW_PRIVS = 38;
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
/** access(2) mode: executable. */
export const X_OK = 1;
export const ENOENT = 2;

/** x86_64 syscall numbers. */
export const X64_SYS = Object.freeze({ write: 1, access: 21, execve: 59, prctl: 157, exit_group: 231, seccomp: 317 });
/** aarch64 syscall numbers. */
export const A64_SYS = Object.freeze({ faccessat: 48, write: 64, exit_group: 94, prctl: 167, execve: 221, seccomp: 277 });
