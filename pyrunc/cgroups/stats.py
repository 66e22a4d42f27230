"""Cgroup statistics in the shape `runc events --stats` prints (roles: parent).

The data object of runc's types.Stats: cpu, cpuset, memory, pids, blkio,
hugetlb, intel_rdt, network_interfaces. Go's omitempty is copied where runc
has it (a zero counter disappears), so the two outputs compare key for key.
oom_count() is the counter `events` watches for OOM kills.
"""
import os

USER_HZ = 100
_NS = 10 ** 9
U64_MAX = 2 ** 64 - 1


def _read(path, name):
    try:
        with open(os.path.join(path, name)) as f:
            return f.read()
    except OSError:
        return None


def _int(path, name, default=0):
    v = _read(path, name)
    if v is None:
        return default
    v = v.strip()
    if v == "max":
        return U64_MAX
    try:
        return int(v)
    except ValueError:
        return default


def _kv(path, name):
    out = {}
    for line in (_read(path, name) or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def _omit(d, keys):
    for k in keys:
        if not d.get(k):
            d.pop(k, None)
    return d


def _throttling(cpu_stat, scale=1):
    return _omit({"periods": cpu_stat.get("nr_periods", 0),
                  "throttledPeriods": cpu_stat.get("nr_throttled", 0),
                  "throttledTime": cpu_stat.get("throttled_time",
                                                cpu_stat.get("throttled_usec", 0) * scale)},
                 ("periods", "throttledPeriods", "throttledTime"))


def _cpu_list(s):
    out = []
    for part in (s or "").strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _empty():
    return {"cpu": {"usage": {"kernel": 0, "user": 0}, "throttling": {}},
            "cpuset": {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0,
                       "memory_migrate": 0, "memory_spread_page": 0, "memory_spread_slab": 0,
                       "memory_pressure": 0, "sched_load_balance": 0,
                       "sched_relax_domain_level": 0},
            "memory": {"usage": {"limit": 0, "failcnt": 0}, "swap": {"limit": 0, "failcnt": 0},
                       "kernel": {"limit": 0, "failcnt": 0},
                       "kernelTCP": {"limit": 0, "failcnt": 0}},
            "pids": {}, "blkio": {}, "hugetlb": {}, "intel_rdt": {}, "network_interfaces": None}


def _mem_entry(path, prefix):
    return _omit({"limit": _int(path, prefix + "limit_in_bytes"),
                  "usage": _int(path, prefix + "usage_in_bytes"),
                  "max": _int(path, prefix + "max_usage_in_bytes"),
                  "failcnt": _int(path, prefix + "failcnt")}, ("usage", "max"))


def _blkio_v1(path, name):
    out = []
    for line in (_read(path, name) or "").splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        ma, mi = parts[0].split(":")
        out.append(_omit({"major": int(ma), "minor": int(mi), "op": parts[1],
                          "value": int(parts[2])}, ("major", "minor", "op", "value")))
    return out


def v1_stats(mgr):
    s = _empty()
    p = mgr.path("cpuacct")
    if p:
        pk, pu = [], []
        for line in (_read(p, "cpuacct.usage_all") or "").splitlines()[1:]:
            f = line.split()
            if len(f) == 3:
                pu.append(int(f[1]))
                pk.append(int(f[2]))
        st = _kv(p, "cpuacct.stat")
        s["cpu"]["usage"] = _omit({
            "total": _int(p, "cpuacct.usage"),
            "percpu": [int(x) for x in (_read(p, "cpuacct.usage_percpu") or "").split()],
            "percpu_kernel": pk, "percpu_user": pu,
            "kernel": st.get("system", 0) * (_NS // USER_HZ),
            "user": st.get("user", 0) * (_NS // USER_HZ)},
            ("total", "percpu", "percpu_kernel", "percpu_user"))
    p = mgr.path("cpu")
    if p:
        s["cpu"]["throttling"] = _throttling(_kv(p, "cpu.stat"))
    p = mgr.path("cpuset")
    if p:
        c = s["cpuset"]
        c["cpus"] = _cpu_list(_read(p, "cpuset.cpus"))
        c["mems"] = _cpu_list(_read(p, "cpuset.mems"))
        for k in ("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
                  "memory_spread_page", "memory_spread_slab", "memory_pressure",
                  "sched_load_balance", "sched_relax_domain_level"):
            c[k] = _int(p, "cpuset." + k)
        _omit(c, ("cpus", "mems"))
        s["cpuset"] = {k: c[k] for k in ("cpus", "cpu_exclusive", "mems", "mem_hardwall",
                                         "mem_exclusive", "memory_migrate", "memory_spread_page",
                                         "memory_spread_slab", "memory_pressure",
                                         "sched_load_balance", "sched_relax_domain_level")
                       if k in c}
    p = mgr.path("memory")
    if p:
        m = s["memory"]
        raw = _kv(p, "memory.stat")
        m["usage"] = _mem_entry(p, "memory.")
        m["swap"] = _mem_entry(p, "memory.memsw.")
        m["kernel"] = _mem_entry(p, "memory.kmem.")
        m["kernelTCP"] = _mem_entry(p, "memory.kmem.tcp.")
        m["raw"] = dict(sorted(raw.items()))
        if raw.get("cache"):
            s["memory"] = dict({"cache": raw["cache"]}, **m)
    p = mgr.path("pids")
    if p:
        lim = _int(p, "pids.max")
        s["pids"] = _omit({"current": _int(p, "pids.current"),
                           "limit": 0 if lim == U64_MAX else lim}, ("current", "limit"))
    p = mgr.path("blkio")
    if p:
        b = {}
        # CFQ's files first, then BFQ's, then the throttle layer's (runc's order)
        for pre in ("blkio.", "blkio.bfq.", "blkio.throttle."):
            if _read(p, pre + "io_service_bytes_recursive") is None:
                continue
            b["ioServiceBytesRecursive"] = _blkio_v1(p, pre + "io_service_bytes_recursive")
            b["ioServicedRecursive"] = _blkio_v1(p, pre + "io_serviced_recursive")
            break
        s["blkio"] = _omit(b, list(b))
    p = mgr.path("hugetlb")
    if p:
        for name in sorted(os.listdir(p)):
            if name.startswith("hugetlb.") and name.endswith(".usage_in_bytes") \
                    and ".rsvd." not in name:
                size = name.split(".")[1]
                s["hugetlb"][size] = _omit({
                    "usage": _int(p, name),
                    "max": _int(p, "hugetlb.%s.max_usage_in_bytes" % size),
                    "failcnt": _int(p, "hugetlb.%s.failcnt" % size)}, ("usage", "max"))
    return s


def v2_stats(mgr):
    s = _empty()
    p = mgr.path()
    cs = _kv(p, "cpu.stat")
    s["cpu"]["usage"] = _omit({"total": cs.get("usage_usec", 0) * 1000,
                               "kernel": cs.get("system_usec", 0) * 1000,
                               "user": cs.get("user_usec", 0) * 1000}, ("total",))
    s["cpu"]["throttling"] = _throttling(cs, 1000)
    raw = _kv(p, "memory.stat")
    if raw:
        m = s["memory"]
        ev = _kv(p, "memory.events")
        cur, lim = _int(p, "memory.current"), _int(p, "memory.max", U64_MAX)
        m["usage"] = _omit({"limit": lim, "usage": cur, "max": _int(p, "memory.peak"),
                            "failcnt": ev.get("max", 0)}, ("usage", "max"))
        if _read(p, "memory.swap.current") is not None:
            sl = _int(p, "memory.swap.max", U64_MAX)
            m["swap"] = _omit({"limit": U64_MAX if U64_MAX in (sl, lim) else sl + lim,
                               "usage": _int(p, "memory.swap.current") + cur,
                               "failcnt": 0}, ("usage",))
        m["raw"] = dict(sorted(raw.items()))
        if raw.get("file"):
            s["memory"] = dict({"cache": raw["file"]}, **m)
    if _read(p, "pids.current") is not None:
        lim = _int(p, "pids.max")
        s["pids"] = _omit({"current": _int(p, "pids.current"),
                           "limit": 0 if lim == U64_MAX else lim}, ("current", "limit"))
    sb, sd = [], []
    for line in (_read(p, "io.stat") or "").splitlines():
        f = line.split()
        if not f or ":" not in f[0]:
            continue
        ma, mi = (int(x) for x in f[0].split(":"))
        kv = dict(x.split("=", 1) for x in f[1:] if "=" in x)
        for key, op, out in (("rbytes", "Read", sb), ("wbytes", "Write", sb),
                             ("rios", "Read", sd), ("wios", "Write", sd)):
            if key in kv:
                out.append(_omit({"major": ma, "minor": mi, "op": op, "value": int(kv[key])},
                                 ("major", "minor", "op", "value")))
    s["blkio"] = _omit({"ioServiceBytesRecursive": sb, "ioServicedRecursive": sd},
                       ("ioServiceBytesRecursive", "ioServicedRecursive"))
    try:
        names = sorted(os.listdir(p))
    except OSError:
        names = []
    for name in names:
        if name.startswith("hugetlb.") and name.endswith(".current") and ".rsvd." not in name:
            size = name.split(".")[1]
            s["hugetlb"][size] = _omit({
                "usage": _int(p, name),
                "failcnt": _kv(p, "hugetlb.%s.events" % size).get("max", 0)}, ("usage",))
    return s


def oom_count(mgr):
    """OOM kills so far in the container's memory cgroup (None: no counter)."""
    if mgr.version == 2:
        ev = _kv(mgr.path(), "memory.events")
        return ev.get("oom_kill") if ev else None
    p = mgr.path("memory")
    if not p:
        return None
    oc = _kv(p, "memory.oom_control")
    if not oc:
        return None
    # oom_kill counts kills; under_oom covers a disabled OOM killer
    return oc.get("oom_kill", 0) + oc.get("under_oom", 0)
