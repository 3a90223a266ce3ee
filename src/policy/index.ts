/**
 * The policy layer: policy files (YAML/JSON) and plain objects validated into a Policy, resolved
 * per architecture into a ResolvedPolicy, and the reference evaluator. Uses src/bpf and src/arch.
 */
export * from './types.js';
export { PolicyError, formatPos, type PolicyErrorCode } from './errors.js';
export { parseAction, formatAction, ACTION_WORDS, DATA_ACTION_WORDS } from './actions.js';
export { parsePolicy, loadPolicy, validatePolicy, type ParseOptions } from './parse.js';
export { policyJsonSchema, parseU64, ARG_OPS, U64_MAX } from './schema.js';
export { resolvePolicy, selectArches, type ResolveOptions } from './resolve.js';
export { evaluatePolicy, explainDecision, archOfCall, checkHolds, type Decision } from './evaluate.js';
export { expandGroup, registerGroup, groupNames, groupDescription, isGroup, GROUP_NAMES, type GroupMembers } from './groups.js';
export { policyFromLists, policyFromEnv, POLICY_ENV_VARS, type ListPolicyOptions, type EnvPolicy } from './env.js';
export { compile, generate, toPolicy, Filter, type CompileOptions } from './filter.js';
export { isConstAllow, cacheReport, allowedWhateverArgs, CACHED_ARCHES, type CacheReport } from './cache.js';
export { actionForArch, errnoForArch, hasOwnErrnos } from './errno-arch.js';
export { isOciProfile, policyFromOci, policyToOci, formatOciJson, DOCKER_DEFAULT_CAPS, type OciOptions, type OciResult } from './oci.js';
export { policyFromSystemd, policyToSystemd, SYSTEMD_IMPLICIT_ALLOW, type SystemdOptions } from './systemd.js';
export { SYSTEMD_GROUPS, SYSTEMD_GROUP_NAMES, type SyscallGroupDef } from './systemd-groups.js';
export { parseStraceLog, learnedPolicy, learnedNames, formatLearnedPolicy, shellQuote, type StraceParseOptions, type LearnedTrace, type UnnamedSyscall, type LearnedPolicyOptions, type LearnedPolicyHeader } from './learn.js';
export { lintPolicy, formatFinding, type Finding, type Severity, type LintOptions } from './lint.js';
export { LINT_RULES } from './lint-data.js';
export { checkPolicy, runPolicyTests, type CheckOptions, type CheckResult, type TestRun } from './check.js';
export { diffFilters, blobAudits, formatDifference, type DiffSide, type Difference, type DiffOptions, type DiffResult } from './diff.js';
export { explainFilter, explainProgram, formatExplanation, type ExplainCall, type Explanation } from './explain.js';
