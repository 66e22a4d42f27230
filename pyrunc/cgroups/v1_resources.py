"""linux.resources -> cgroup v1 files (roles: parent)."""
import os

from ..errors import CgroupError


def write(path, name, value):
    try:
        with open(os.path.join(path, name), "w") as f:
            f.write(str(value))
    except OSError as e:
        raise CgroupError("write %s=%s: %s" % (os.path.join(path, name), value, e.strerror))


def _dev_rule(d):
    t = d.get("type", "a")
    major = d.get("major")
    minor = d.get("minor")
    maj = "*" if major is None or major < 0 else str(major)
    mnr = "*" if minor is None or minor < 0 else str(minor)
    if t == "a":
        return "a *:* %s" % d.get("access", "rwm")
    return "%s %s:%s %s" % (t, maj, mnr, d.get("access", "rwm"))


def apply_devices(path, rules, default_allow):
    """Write the device list: everything the spec lists, in order."""
    for d in rules:
        write(path, "devices.allow" if d.get("allow") else "devices.deny", _dev_rule(d))
    for d in default_allow:
        write(path, "devices.allow", _dev_rule(d))


def apply_resources(mgr, res):
    mem = res.get("memory") or {}
    p = mgr.path("memory")
    if p:
        if "limit" in mem:
            write(p, "memory.limit_in_bytes", mem["limit"])
        if "reservation" in mem:
            write(p, "memory.soft_limit_in_bytes", mem["reservation"])
        if "swap" in mem:
            write(p, "memory.memsw.limit_in_bytes", mem["swap"])
    pids = res.get("pids") or {}
    if "limit" in pids and mgr.path("pids"):
        write(mgr.path("pids"), "pids.max", "max" if pids["limit"] <= 0 else pids["limit"])
    cpu = res.get("cpu") or {}
    p = mgr.path("cpu")
    if p:
        if cpu.get("shares"):
            write(p, "cpu.shares", cpu["shares"])
        if cpu.get("period"):
            write(p, "cpu.cfs_period_us", cpu["period"])
        if "quota" in cpu:
            write(p, "cpu.cfs_quota_us", cpu["quota"])
    if "devices" in res and mgr.path("devices"):
        from ..devices import DEFAULT_ALLOW_RULES
        apply_devices(mgr.path("devices"), res["devices"], DEFAULT_ALLOW_RULES)
