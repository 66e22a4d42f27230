"""linux.resources -> cgroup v1 files (roles: parent).

Every field of the spec that v1 can express; a field whose controller is not
mounted, or whose file this kernel lacks, is a CgroupError naming both, never
silence. Zero values mean "unset", as in runc (the spec's Go types are
pointers, and runc 1.1 writes nothing for 0). Memory, swap and cpu periods
are written in the order the kernel accepts whatever the old values were
(runc's ordering).
"""
import errno
from .. import _os as os  # posix without os's import cost (_os.py)

from .. import errors  # errors.X where raised or caught: the classes are made on first use


class Writer:
    """Writes cgroup files; with ``journal`` it remembers each scalar file's old
    value first, so a failed update can be rolled back (``undo``)."""

    def __init__(self, journal=False):
        self.journal = [] if journal else None

    def write(self, path, name, value):
        full = os.path.join(path, name)
        if self.journal is not None:
            try:
                with open(full) as f:
                    old = f.read().strip()
                if old and "\n" not in old:  # one line reads back as it is written
                    self.journal.append((full, old))
            except OSError:
                pass
        # One write(2) per value on a plain fd, no buffered file object: a
        # create writes ~25 of these (device rules among them). No O_CREAT:
        # cgroupfs files are never made, a missing one is ENOENT below.
        try:
            fd = os.open(full, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
            try:
                os.write(fd, str(value).encode())
            finally:
                os.close(fd)
        except OSError as e:
            raise _write_error(full, value, e)

    def undo(self):
        for full, old in reversed(self.journal or []):
            try:
                with open(full, "w") as f:
                    f.write(old)
            except OSError:
                pass
        self.journal = [] if self.journal is not None else None


def _write_error(full, value, e):
    if e.errno == errno.ENOENT:
        return errors.CgroupError("%s: this kernel has no such cgroup file" % full)
    return errors.CgroupError("write %s=%s: %s" % (full, str(value).strip(), e.strerror))


def write(path, name, value):
    Writer().write(path, name, value)


def read(path, name):
    with open(os.path.join(path, name)) as f:
        return f.read().strip()


def need(mgr, controller, what):
    p = mgr.path(controller)
    if not p:
        raise errors.CgroupError("%s needs the %s cgroup controller, which is not mounted on this host"
                          % (what, controller))
    return p


def has(path, name):
    return os.path.exists(os.path.join(path, name))


def apply_devices(path, rules, default_allow, w=None):
    """Deny everything, then each rule in order, then runc's default allows:
    the kernel applies each line with the semantics devices.Emulator copies."""
    from .devices import normalize, v1_string
    w = w or Writer()
    w.write(path, "devices.deny", "a")
    for d in list(rules) + list(default_allow):
        allow, t, ma, mi, bits = normalize(d)
        w.write(path, "devices.allow" if allow else "devices.deny", v1_string(t, ma, mi, bits))


def set_memory(mgr, mem, w):
    keys = [k for k in ("limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
                        "disableOOMKiller", "useHierarchy") if mem.get(k) not in (None, 0)]
    if mem.get("swappiness") == 0:
        keys.append("swappiness")
    if mem.get("useHierarchy") is False:
        # v1 on current kernels is always hierarchical; 0 is refused.
        raise errors.CgroupError("linux.resources.memory.useHierarchy=false: this kernel's memory "
                          "controller is always hierarchical")
    if not keys:
        return
    p = need(mgr, "memory", "linux.resources.memory." + keys[0])
    limit, swap = mem.get("limit") or 0, mem.get("swap") or 0
    if limit == -1 and not swap and has(p, "memory.memsw.limit_in_bytes"):
        swap = -1  # unlimited memory means unlimited swap too (runc)
    if swap and not has(p, "memory.memsw.limit_in_bytes"):
        raise errors.CgroupError("linux.resources.memory.swap: this kernel has no swap accounting "
                          "(memory.memsw.limit_in_bytes)")
    # memsw must stay >= memory: raise memsw first when growing.
    if limit and swap and (swap == -1 or int(read(p, "memory.limit_in_bytes")) < swap):
        w.write(p, "memory.memsw.limit_in_bytes", swap)
        _set_limit(p, limit, w)
    else:
        if limit:
            _set_limit(p, limit, w)
        if swap:
            w.write(p, "memory.memsw.limit_in_bytes", swap)
    if mem.get("reservation"):
        w.write(p, "memory.soft_limit_in_bytes", mem["reservation"])
    if mem.get("kernel"):
        _write_checked(p, "memory.kmem.limit_in_bytes", mem["kernel"], w,
                       "linux.resources.memory.kernel")
    if mem.get("kernelTCP"):
        w.write(p, "memory.kmem.tcp.limit_in_bytes", mem["kernelTCP"])
    sw = mem.get("swappiness")
    if sw is not None and sw != -1:
        if not 0 <= sw <= 100:
            raise errors.CgroupError("linux.resources.memory.swappiness %d: the range is 0-100" % sw)
        w.write(p, "memory.swappiness", sw)
    if mem.get("disableOOMKiller"):
        w.write(p, "memory.oom_control", 1)


def _set_limit(p, limit, w):
    try:
        w.write(p, "memory.limit_in_bytes", limit)
    except errors.CgroupError:
        try:
            usage, peak = read(p, "memory.usage_in_bytes"), read(p, "memory.max_usage_in_bytes")
        except OSError:
            raise
        if limit != -1 and int(usage) > limit:
            raise errors.CgroupError("unable to set memory limit to %d (current usage: %s, peak usage: %s)"
                              % (limit, usage, peak))
        raise


def _write_checked(p, name, value, w, what):
    """Kernels >= 6.1 accept and ignore kmem limits: read back to tell."""
    w.write(p, name, value)
    got = int(read(p, name))
    if value > 0 and abs(got - value) >= 4096 * 4:
        raise errors.CgroupError("%s: this kernel ignores kernel memory limits (%s stays %d)"
                          % (what, name, got))


def set_cpu(mgr, cpu, w):
    cfs = {k: cpu.get(k) for k in ("shares", "quota", "period", "burst", "realtimeRuntime",
                                   "realtimePeriod", "idle") if cpu.get(k) not in (None, 0)}
    if cpu.get("burst") == 0 and "burst" in cpu:
        cfs["burst"] = 0
    if cfs:
        p = need(mgr, "cpu", "linux.resources.cpu." + next(iter(cfs)))
        # realtime: period before runtime (runtime must fit in the period)
        try:
            if cfs.get("realtimePeriod"):
                w.write(p, "cpu.rt_period_us", cfs["realtimePeriod"])
            if cfs.get("realtimeRuntime"):
                w.write(p, "cpu.rt_runtime_us", cfs["realtimeRuntime"])
        except errors.CgroupError as e:
            raise errors.CgroupError("%s (the parent cgroup's cpu.rt_runtime_us must leave room for "
                              "it, and the runtime fit in the period)" % e)
        if cfs.get("shares"):
            w.write(p, "cpu.shares", cfs["shares"])
            got = int(read(p, "cpu.shares"))
            if got != cfs["shares"]:
                raise errors.CgroupError("linux.resources.cpu.shares %d: the kernel keeps it within "
                                  "2-262144 (it set %d)" % (cfs["shares"], got))
        period_pending = False
        if cfs.get("period"):
            try:
                w.write(p, "cpu.cfs_period_us", cfs["period"])
            except errors.CgroupError:
                # a shorter period can be refused until the new quota is in
                if not cfs.get("quota"):
                    raise
                period_pending = True
        if cfs.get("quota"):
            q = cfs["quota"]
            if q > 0 and cfs.get("burst") and cfs["burst"] > q:
                raise errors.CgroupError("linux.resources.cpu.burst %d is larger than quota %d"
                                  % (cfs["burst"], q))
            w.write(p, "cpu.cfs_quota_us", q)
            if period_pending:
                w.write(p, "cpu.cfs_period_us", cfs["period"])
        if "burst" in cfs:
            w.write(p, "cpu.cfs_burst_us", cfs["burst"])
        if cfs.get("idle"):
            w.write(p, "cpu.idle", cfs["idle"])
    if cpu.get("cpus") or cpu.get("mems"):
        p = need(mgr, "cpuset", "linux.resources.cpu.cpus/mems")
        if cpu.get("cpus"):
            w.write(p, "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            w.write(p, "cpuset.mems", cpu["mems"])


def set_blkio(mgr, bio, w):
    fields = [k for k, v in bio.items() if v not in (None, 0, [])]
    if not fields:
        return
    p = need(mgr, "blkio", "linux.resources.blockIO." + fields[0])
    # CFQ's blkio.weight is gone from current kernels; BFQ's is the same knob.
    wfile = "blkio.weight" if has(p, "blkio.weight") else "blkio.bfq.weight"
    wdev = "blkio.weight_device" if has(p, "blkio.weight_device") else "blkio.bfq.weight_device"
    if bio.get("weight"):
        w.write(p, wfile, bio["weight"])
    if bio.get("leafWeight"):
        w.write(p, "blkio.leaf_weight", bio["leafWeight"])
    for d in bio.get("weightDevice") or ():
        if d.get("weight"):
            w.write(p, wdev, "%d:%d %d" % (d["major"], d["minor"], d["weight"]))
        if d.get("leafWeight"):
            w.write(p, "blkio.leaf_weight_device", "%d:%d %d" % (d["major"], d["minor"],
                                                               d["leafWeight"]))
    for key, f in (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                   ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                   ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                   ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device")):
        for d in bio.get(key) or ():
            w.write(p, f, "%d:%d %d" % (d["major"], d["minor"], d["rate"]))


def set_hugetlb(mgr, limits, w):
    if not limits:
        return
    p = need(mgr, "hugetlb", "linux.resources.hugepageLimits")
    for h in limits:
        size = h["pageSize"]
        rsvd = "hugetlb.%s.rsvd.limit_in_bytes" % size
        plain = "hugetlb.%s.limit_in_bytes" % size
        if not has(p, plain):
            raise errors.CgroupError("linux.resources.hugepageLimits: no %s huge pages on this host" % size)
        w.write(p, plain, h["limit"])
        if has(p, rsvd):
            w.write(p, rsvd, h["limit"])


def set_network(mgr, net, w):
    if net.get("classID"):
        p = need(mgr, "net_cls", "linux.resources.network.classID")
        w.write(p, "net_cls.classid", net["classID"])
    for pr in net.get("priorities") or ():
        p = need(mgr, "net_prio", "linux.resources.network.priorities")
        w.write(p, "net_prio.ifpriomap", "%s %d" % (pr["name"], pr["priority"]))


def set_rdma(mgr, rdma, w):
    if not rdma:
        return
    p = need(mgr, "rdma", "linux.resources.rdma")
    for dev, lim in rdma.items():
        w.write(p, "rdma.max", rdma_line(dev, lim))


def rdma_line(dev, lim):
    """One rdma.max line (the same on v1 and v2)."""
    parts = [dev]
    if lim.get("hcaHandles") is not None:
        parts.append("hca_handle=%d" % lim["hcaHandles"])
    if lim.get("hcaObjects") is not None:
        parts.append("hca_object=%d" % lim["hcaObjects"])
    return " ".join(parts)


def set_pids(mgr, pids, w):
    limit = pids.get("limit")
    if not limit:  # runc 1.1: 0 leaves the limit alone
        return
    p = need(mgr, "pids", "linux.resources.pids.limit")
    w.write(p, "pids.max", "max" if limit < 0 else limit)


def apply_resources(mgr, res, w=None, devices=True):
    """Write ``res`` (linux.resources). ``devices=False`` on update: runc never
    rewrites device rules of a live container (containerd sends them back)."""
    w = w or Writer()
    if res.get("unified"):
        raise errors.CgroupError("linux.resources.unified needs cgroup v2; this host uses v1 "
                          "controllers")
    set_memory(mgr, res.get("memory") or {}, w)
    set_cpu(mgr, res.get("cpu") or {}, w)
    set_pids(mgr, res.get("pids") or {}, w)
    set_blkio(mgr, res.get("blockIO") or {}, w)
    set_hugetlb(mgr, res.get("hugepageLimits"), w)
    set_network(mgr, res.get("network") or {}, w)
    set_rdma(mgr, res.get("rdma"), w)
    if devices:
        set_devices(mgr, res.get("devices") or [], w)


def set_devices(mgr, rules, w=None):
    from ..devices import DEFAULT_ALLOW_RULES
    p = need(mgr, "devices", "device rules (linux.resources.devices)")
    apply_devices(p, rules, DEFAULT_ALLOW_RULES, w)
