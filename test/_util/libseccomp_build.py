"""libseccomp (Debian's python3-seccomp) as a reference for the tests and the bench: builds filters
from JSON descriptions and exports them as BPF, and resolves names and numbers in its tables.

Run with /usr/bin/python3. Reads one JSON document on stdin:

  {"numbers": {"x86_64": ["read", ...]},       # optional: name -> number where libseccomp knows it
   "names": {"x86_64": [0, 1, ...]},            # optional: number -> libseccomp's name (or null)
   "jobs": [{"arches": ["x86_64", "x32"],         # seccomp-ts ABI names
             "default": 327681,                   # SECCOMP_RET_* values
             "badArch": 0,                        # optional (libseccomp's own when absent)
             "optimize": 1,                        # CTL_OPTIMIZE (2 = binary tree); optional
             "rules": [{"name": "read", "action": 2147418112,
                        "args": [{"index": 0, "op": "masked_eq", "value": "6", "mask": "6"}]}],
             "out": "/path/to/file.bpf",
             "lenient": false,                     # skip rules libseccomp refuses (counted)
             "repeat": 1},                        # build this many times, report the median
            {"oci": PROFILE or its JSON text, "host": "amd64", "caps": ["CAP_CHOWN", ...], "kernel": "6.1",
             "arches": ["x86_64", "i386"],         # optional: else the host's and its archMap's
             "out": "/path/to/file.bpf"}]}

An "oci" job reads an OCI/Docker profile as moby and runc do. moby: a syscalls[] entry is kept
only if its excludes do not trigger and its includes hold (arches compared with the host's moby
name, caps with "caps", minKernel with "kernel" as X.Y). runc: default action with
defaultErrnoRet (EPERM when absent), one rule per name, rules with the default action skipped,
names libseccomp cannot resolve skipped, conditions AND-ed in one rule unless two test the same
argument (then one rule per condition). Bad-arch action: libseccomp's.

Writes one JSON document on stdout:

  {"numbers": {"x86_64": {"read": 0, ...} | null},   # null: this libseccomp lacks the ABI
   "names": {"x86_64": {"0": "read", ...} | null},   # numbers without a name left out
   "results": [{"ok": true, "ms": 0.8, "skipped": ["name", ...], "rules": 12} | {"ok": false, "error": "..."}]}

64-bit values travel as decimal strings. Used only through test/_util/libseccomp.ts.
"""
import errno
import json
import sys
import time

import seccomp

# libseccomp's names (seccomp.Arch attributes) of seccomp-ts's ABIs; an older libseccomp may lack some.
SCMP_ARCH = {
    "x86_64": "X86_64", "x32": "X32", "i386": "X86", "aarch64": "AARCH64", "arm": "ARM",
    "riscv64": "RISCV64", "ppc64le": "PPC64LE", "ppc64": "PPC64", "s390x": "S390X",
    "mips64el": "MIPSEL64", "mipsel": "MIPSEL", "loongarch64": "LOONGARCH64",
}
# A profile's SCMP_ARCH_* strings as seccomp-ts ABI names.
OCI_ARCH = {
    "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X86": "i386", "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_ARM": "arm",
}
# moby's host names and the profile architecture each stands for.
HOST_ARCH = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64"}
OPS = {
    "eq": seccomp.EQ, "ne": seccomp.NE, "lt": seccomp.LT, "le": seccomp.LE,
    "gt": seccomp.GT, "ge": seccomp.GE, "masked_eq": seccomp.MASKED_EQ,
}
# A profile's actions as SECCOMP_RET_* values (errno/trace data from errnoRet, EPERM when absent).
OCI_ACTIONS = {
    "SCMP_ACT_KILL": lambda n: seccomp.KILL,
    "SCMP_ACT_KILL_THREAD": lambda n: seccomp.KILL,
    "SCMP_ACT_KILL_PROCESS": lambda n: seccomp.KILL_PROCESS,
    "SCMP_ACT_TRAP": lambda n: seccomp.TRAP,
    "SCMP_ACT_ERRNO": lambda n: seccomp.ERRNO(errno.EPERM if n is None else n),
    "SCMP_ACT_TRACE": lambda n: seccomp.TRACE(errno.EPERM if n is None else n),
    "SCMP_ACT_ALLOW": lambda n: seccomp.ALLOW,
    "SCMP_ACT_LOG": lambda n: seccomp.LOG,
    "SCMP_ACT_NOTIFY": lambda n: seccomp.NOTIFY,
}


def scmp_arch(name):
    """libseccomp's constant for a seccomp-ts ABI name, or None when this libseccomp lacks it."""
    return getattr(seccomp.Arch, SCMP_ARCH[name], None)


def signed32(v):
    """The binding takes actions as C ints: 0x80000000 must arrive as a negative number."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def new_filter(default, arches):
    f = seccomp.SyscallFilter(signed32(default))
    # A new filter already holds the native ABI: add the others, then drop native if unwanted.
    # (The binding gives Arch constants as signed and system_arch() as unsigned numbers.)
    native = seccomp.system_arch() & 0xFFFFFFFF
    wanted = [scmp_arch(n) for n in arches]
    for a in wanted:
        if a & 0xFFFFFFFF != native:
            f.add_arch(a)
    if native not in [a & 0xFFFFFFFF for a in wanted]:
        f.remove_arch(seccomp.Arch.NATIVE)
    return f


def add_rules(f, rules, lenient, skipped):
    """Adds rules ({name, action, args}); with lenient, a rule libseccomp refuses is skipped and its name noted."""
    count = 0
    for rule in rules:
        args = []
        for a in rule.get("args", []):
            if a["op"] == "masked_eq":
                args.append(seccomp.Arg(a["index"], OPS["masked_eq"], int(a["mask"]), int(a["value"])))
            else:
                args.append(seccomp.Arg(a["index"], OPS[a["op"]], int(a["value"])))
        if lenient:
            try:
                f.add_rule(signed32(rule["action"]), rule["name"], *args)
                count += 1
            except (RuntimeError, ValueError, OSError):
                skipped.append(rule["name"])
        else:
            f.add_rule(signed32(rule["action"]), rule["name"], *args)
            count += 1
    return count


def kernel_tuple(s):
    major, minor = s.split(".")[:2]
    return (int(major), int("".join(c for c in minor if c.isdigit()) or 0))


def keep_entry(e, host, caps, kernel):
    """moby's includes/excludes of one syscalls[] entry."""
    exc = e.get("excludes") or {}
    inc = e.get("includes") or {}
    if exc.get("arches") and host in exc["arches"]:
        return False
    if any(c in caps for c in exc.get("caps") or []):
        return False
    if exc.get("minKernel") and kernel >= kernel_tuple(exc["minKernel"]):
        return False
    if inc.get("arches") and host not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or []):
        return False
    if inc.get("minKernel") and kernel < kernel_tuple(inc["minKernel"]):
        return False
    return True


def oci_job(job):
    """The rules job runc would make of a profile (moby's filtering first)."""
    p = job["oci"]
    if isinstance(p, str):
        p = json.loads(p)
    host = job["host"]
    caps = set(job.get("caps") or [])
    kernel = kernel_tuple(job["kernel"])
    arches = job.get("arches")
    if arches is None:
        own = HOST_ARCH[host]
        arches = [OCI_ARCH[own]]
        for m in p.get("archMap") or []:
            if m["architecture"] == own:
                arches += [OCI_ARCH[a] for a in m.get("subArchitectures") or []]
    default = OCI_ACTIONS[p["defaultAction"]](p.get("defaultErrnoRet")) & 0xFFFFFFFF
    rules = []
    for e in p.get("syscalls") or []:
        if not keep_entry(e, host, caps, kernel):
            continue
        act = OCI_ACTIONS[e["action"]](e.get("errnoRet")) & 0xFFFFFFFF
        if act == default:
            continue
        conds = []
        for c in e.get("args") or []:
            # libseccomp's MASKED_EQ takes the mask first: a profile's value is the mask, valueTwo the datum.
            if c["op"] == "SCMP_CMP_MASKED_EQ":
                conds.append({"index": c["index"], "op": "masked_eq", "mask": c.get("value", 0), "value": c.get("valueTwo", 0)})
            else:
                conds.append({"index": c["index"], "op": c["op"][len("SCMP_CMP_"):].lower(), "value": c.get("value", 0)})
        indexes = [c["index"] for c in conds]
        groups = [[c] for c in conds] if len(set(indexes)) < len(indexes) else [conds]
        for n in e.get("names") or [e["name"]]:
            for g in groups:
                rules.append({"name": n, "action": act, "args": g})
    return {"arches": arches, "default": default, "rules": rules, "out": job["out"], "lenient": True}


def run(job):
    if "oci" in job:
        job = oci_job(job)
    times = []
    skipped = []
    count = 0
    for _ in range(max(1, job.get("repeat", 1))):
        skipped = []
        t0 = time.perf_counter()
        f = new_filter(job["default"], job["arches"])
        if "badArch" in job:
            f.set_attr(seccomp.Attr.ACT_BADARCH, signed32(job["badArch"]))
        if "optimize" in job:
            f.set_attr(seccomp.Attr.CTL_OPTIMIZE, job["optimize"])
        count = add_rules(f, job["rules"], job.get("lenient", False), skipped)
        with open(job["out"], "wb") as out:
            f.export_bpf(out)
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return {"ok": True, "ms": times[len(times) // 2], "skipped": skipped, "rules": count}


def lookup(arch, keys, resolve):
    """{str(key): resolve(abi, key)} for the keys libseccomp resolves on `arch`; None when it lacks the ABI."""
    a = scmp_arch(arch)
    if a is None:
        return None
    out = {}
    for k in keys:
        try:
            v = resolve(a, k)
        except ValueError:
            continue
        if v is not None:
            out[str(k)] = v
    return out


def number_of(a, name):
    nr = seccomp.resolve_syscall(a, name)
    return nr if nr >= 0 else None


def name_of(a, nr):
    return seccomp.resolve_syscall(a, nr).decode()


def main():
    req = json.load(sys.stdin)
    res = {"numbers": {}, "names": {}, "results": []}
    for arch, ns in req.get("numbers", {}).items():
        res["numbers"][arch] = lookup(arch, ns, number_of)
    for arch, nrs in req.get("names", {}).items():
        res["names"][arch] = lookup(arch, nrs, name_of)
    for job in req.get("jobs", []):
        try:
            res["results"].append(run(job))
        except Exception as e:  # reported per job; the caller decides
            res["results"].append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
