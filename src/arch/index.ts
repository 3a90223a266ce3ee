/**
 * Architecture layer: ABI descriptors and syscall tables. Stands alone (imports no other layer).
 */
export { ArchError, type ArchErrorCode } from './errors.js';
export { ARCHES, ARG_COUNT, X32_SYSCALL_BIT, archByAudit, getArch, hostArch, type Arch, type ArchName, type WordOffsets } from './arches.js';
export {
  allSyscallNames,
  resolveSyscall,
  syscallName,
  syscallNumber,
  syscallTable,
  syscallTableFile,
  type SyscallTableFile,
} from './tables.js';
export { editDistance, suggest } from './suggest.js';
