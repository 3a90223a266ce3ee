"""Build seccomp filters with libseccomp (Debian's python3-seccomp) and export them as BPF.

Run with /usr/bin/python3. Reads one JSON document on stdin:

  {"known": {"x86_64": ["read", ...]},          # optional: which names libseccomp resolves
   "jobs": [{"arches": ["x86_64", "x32"],         # seccomp-ts ABI names
             "default": 327681, "badArch": 0,     # SECCOMP_RET_* values
             "optimize": 1,                        # CTL_OPTIMIZE (2 = binary tree); optional
             "rules": [{"name": "read", "action": 2147418112,
                        "args": [{"index": 0, "op": "masked_eq", "value": "6", "mask": "6"}]}],
             "out": "/path/to/file.bpf",
             "lenient": false,                     # skip rules libseccomp refuses (counted)
             "repeat": 1}]}                       # build this many times, report the median

and writes one JSON document on stdout:

  {"known": {"x86_64": [...]}, "results": [{"ok": true, "ms": 0.8, "skipped": 0} | {"ok": false, "error": "..."}]}

64-bit values travel as decimal strings. Used through test/_util/libseccomp.ts by test/policy/libseccomp.test.ts and bench/run.ts.
"""
import json
import sys
import time

import seccomp

ARCH = {
    "x86_64": seccomp.Arch.X86_64, "x32": seccomp.Arch.X32, "i386": seccomp.Arch.X86,
    "aarch64": seccomp.Arch.AARCH64, "arm": seccomp.Arch.ARM, "riscv64": seccomp.Arch.RISCV64,
    "ppc64le": seccomp.Arch.PPC64LE, "ppc64": seccomp.Arch.PPC64, "s390x": seccomp.Arch.S390X,
    "mips64el": seccomp.Arch.MIPSEL64, "mipsel": seccomp.Arch.MIPSEL,
}
OPS = {
    "eq": seccomp.EQ, "ne": seccomp.NE, "lt": seccomp.LT, "le": seccomp.LE,
    "gt": seccomp.GT, "ge": seccomp.GE, "masked_eq": seccomp.MASKED_EQ,
}


def signed32(v):
    """The binding takes actions as C ints: 0x80000000 must arrive as a negative number."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def build(job, skipped):
    f = seccomp.SyscallFilter(signed32(job["default"]))
    # A new filter already holds the native ABI: add the others, then drop native if unwanted.
    # (The binding gives Arch constants as signed and system_arch() as unsigned numbers.)
    native = seccomp.system_arch() & 0xFFFFFFFF
    wanted = [ARCH[n] for n in job["arches"]]
    for a in wanted:
        if a & 0xFFFFFFFF != native:
            f.add_arch(a)
    if native not in [a & 0xFFFFFFFF for a in wanted]:
        f.remove_arch(seccomp.Arch.NATIVE)
    f.set_attr(seccomp.Attr.ACT_BADARCH, signed32(job["badArch"]))
    if "optimize" in job:
        f.set_attr(seccomp.Attr.CTL_OPTIMIZE, job["optimize"])
    for rule in job["rules"]:
        args = []
        for a in rule.get("args", []):
            if a["op"] == "masked_eq":
                args.append(seccomp.Arg(a["index"], OPS["masked_eq"], int(a["mask"]), int(a["value"])))
            else:
                args.append(seccomp.Arg(a["index"], OPS[a["op"]], int(a["value"])))
        if job.get("lenient"):
            try:
                f.add_rule(signed32(rule["action"]), rule["name"], *args)
            except Exception:
                skipped.append(rule["name"])
        else:
            f.add_rule(signed32(rule["action"]), rule["name"], *args)
    return f


def run(job):
    times = []
    skipped = []
    for _ in range(max(1, job.get("repeat", 1))):
        skipped = []
        t0 = time.perf_counter()
        f = build(job, skipped)
        with open(job["out"], "wb") as out:
            f.export_bpf(out)
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return {"ok": True, "ms": times[len(times) // 2], "skipped": len(skipped)}


def known(arch, names):
    out = []
    for n in names:
        try:
            if seccomp.resolve_syscall(ARCH[arch], n) >= 0:
                out.append(n)
        except Exception:
            pass
    return out


def main():
    req = json.load(sys.stdin)
    res = {"known": {}, "results": []}
    for arch, names in req.get("known", {}).items():
        res["known"][arch] = known(arch, names)
    for job in req.get("jobs", []):
        try:
            res["results"].append(run(job))
        except Exception as e:  # reported per job; the caller decides
            res["results"].append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
