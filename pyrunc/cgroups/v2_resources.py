"""linux.resources -> cgroup v2 files (roles: parent).

v1 values are converted as runc converts them (cpu shares -> cpu.weight, blkio
weight -> io.weight, memory+swap -> swap alone); fields v2 cannot express
(kernel memory, swappiness, realtime cpu, leaf weights, net_cls/net_prio) are
a CgroupError unless they ask for nothing. Device rules become an eBPF program
(devices.bpf_program) attached to the cgroup.
"""
import os

from .. import errors  # errors.X where raised or caught: the classes are made on first use
from .v1_resources import Writer, has, rdma_line, read


def controllers(path):
    try:
        with open(os.path.join(path, "cgroup.controllers")) as f:
            return set(f.read().split())
    except OSError:
        return set()


class _Ctx:
    def __init__(self, mgr, w):
        self.path = mgr.path()
        self.w = w
        self._ctrls = None

    def need(self, ctrl, what):
        if self._ctrls is None:
            self._ctrls = controllers(self.path)
        if ctrl not in self._ctrls:
            raise errors.CgroupError("%s needs the %s controller, which is not enabled for %s "
                              "(see the parent's cgroup.subtree_control)" % (what, ctrl, self.path))
        return self.path

    def write(self, name, value):
        self.w.write(self.path, name, value)


def _max(v):
    return "max" if v == -1 else v


def swap_v2(swap, limit):
    """memory+swap (v1 meaning) -> memory.swap.max, as runc converts it."""
    if limit == -1 and not swap:
        return -1
    if swap in (-1, 0):
        return swap
    if not limit:
        raise errors.CgroupError("linux.resources.memory.swap: a swap limit needs a memory limit on v2")
    if limit < 0:
        raise errors.CgroupError("linux.resources.memory.limit %d is invalid" % limit)
    if swap < limit:
        raise errors.CgroupError("linux.resources.memory.swap (memory+swap) %d is below the memory "
                          "limit %d" % (swap, limit))
    return swap - limit


def set_memory(c, mem, update):
    for k in ("kernel", "kernelTCP"):
        if (mem.get(k) or -1) > 0:
            raise errors.CgroupError("linux.resources.memory.%s: cgroup v2 has no kernel memory limit" % k)
    if mem.get("swappiness") not in (None, -1):
        raise errors.CgroupError("linux.resources.memory.swappiness: cgroup v2 has no per-cgroup "
                          "swappiness")
    if mem.get("useHierarchy") is False:
        raise errors.CgroupError("linux.resources.memory.useHierarchy=false: cgroup v2 is always "
                          "hierarchical")
    if mem.get("disableOOMKiller"):
        raise errors.CgroupError("linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable "
                          "the OOM killer")
    limit, swap = mem.get("limit") or 0, mem.get("swap") or 0
    sw = swap_v2(swap, limit)
    if not (limit or sw or mem.get("reservation")):
        return
    c.need("memory", "linux.resources.memory")
    if update and mem.get("checkBeforeUpdate") and limit > 0:
        cur = int(read(c.path, "memory.current"))
        if cur >= limit:
            raise errors.CgroupError("unable to set memory limit to %d (current usage: %d)" % (limit, cur))
    if sw:
        if not has(c.path, "memory.swap.max"):
            raise errors.CgroupError("linux.resources.memory.swap: this kernel has no swap accounting "
                              "(memory.swap.max)")
        c.write("memory.swap.max", _max(sw))
    if limit:
        c.write("memory.max", _max(limit))
    if mem.get("reservation"):
        c.write("memory.low", _max(mem["reservation"]))


def shares_to_weight(shares):
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(w):
    return 1 + (w - 10) * 9999 // 990


def set_cpu(c, cpu):
    if cpu.get("realtimeRuntime") or cpu.get("realtimePeriod"):
        raise errors.CgroupError("linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has "
                          "no realtime cpu controller")
    if cpu.get("shares"):
        c.need("cpu", "linux.resources.cpu.shares")
        s = cpu["shares"]
        if not 2 <= s <= 262144:
            raise errors.CgroupError("linux.resources.cpu.shares %d: the range is 2-262144" % s)
        c.write("cpu.weight", shares_to_weight(s))
    q, per = cpu.get("quota") or 0, cpu.get("period") or 0
    if q or per:
        c.need("cpu", "linux.resources.cpu.quota/period")
        old_q, old_p = read(c.path, "cpu.max").split()
        c.write("cpu.max", "%s %s" % ("max" if q < 0 else (q or old_q), per or old_p))
    if cpu.get("burst") is not None and (cpu["burst"] or has(c.path, "cpu.max.burst")):
        c.need("cpu", "linux.resources.cpu.burst")
        if q > 0 and cpu["burst"] > q:
            raise errors.CgroupError("linux.resources.cpu.burst %d is larger than quota %d"
                              % (cpu["burst"], q))
        c.write("cpu.max.burst", cpu["burst"])
    if cpu.get("idle"):
        c.need("cpu", "linux.resources.cpu.idle")
        c.write("cpu.idle", cpu["idle"])
    if cpu.get("cpus") or cpu.get("mems"):
        c.need("cpuset", "linux.resources.cpu.cpus/mems")
        if cpu.get("cpus"):
            c.write("cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            c.write("cpuset.mems", cpu["mems"])


def set_io(c, bio):
    fields = [k for k, v in bio.items() if v not in (None, 0, [])]
    if not fields:
        return
    if bio.get("leafWeight") or any(d.get("leafWeight") for d in bio.get("weightDevice") or ()):
        raise errors.CgroupError("linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights")
    c.need("io", "linux.resources.blockIO." + fields[0])
    bfq = has(c.path, "io.bfq.weight")
    if bio.get("weight"):
        if bfq:
            c.write("io.bfq.weight", bio["weight"])
        else:
            c.write("io.weight", "default %d" % blkio_to_io_weight(bio["weight"]))
    for d in bio.get("weightDevice") or ():
        if d.get("weight"):
            if bfq:
                c.write("io.bfq.weight", "%d:%d %d" % (d["major"], d["minor"], d["weight"]))
            else:
                c.write("io.weight", "%d:%d %d" % (d["major"], d["minor"],
                                                   blkio_to_io_weight(d["weight"])))
    for key, k in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                   ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
        for d in bio.get(key) or ():
            c.write("io.max", "%d:%d %s=%s" % (d["major"], d["minor"], k,
                                               "max" if d["rate"] == 0 else d["rate"]))


def set_hugetlb(c, limits):
    if not limits:
        return
    c.need("hugetlb", "linux.resources.hugepageLimits")
    for h in limits:
        f = "hugetlb.%s.max" % h["pageSize"]
        if not has(c.path, f):
            raise errors.CgroupError("linux.resources.hugepageLimits: no %s huge pages on this host"
                              % h["pageSize"])
        c.write(f, h["limit"])
        if has(c.path, "hugetlb.%s.rsvd.max" % h["pageSize"]):
            c.write("hugetlb.%s.rsvd.max" % h["pageSize"], h["limit"])


def set_rdma(c, rdma):
    if not rdma:
        return
    c.need("rdma", "linux.resources.rdma")
    for dev, lim in rdma.items():
        c.write("rdma.max", rdma_line(dev, lim))


def set_unified(c, unified):
    for key, value in (unified or {}).items():
        if "/" in key or key.startswith(".") or not key:
            raise errors.CgroupError("linux.resources.unified key %r is not a cgroup file name" % key)
        ctrl = key.split(".", 1)[0]
        if ctrl != "cgroup":
            c.need(ctrl, "linux.resources.unified %s" % key)
        if not has(c.path, key):
            raise errors.CgroupError("linux.resources.unified %s: no such file in %s" % (key, c.path))
        c.write(key, value)


def apply_devices(path, rules):
    """Build and attach the eBPF device program (BPF_CGROUP_DEVICE, multi)."""
    from .devices import bpf_program
    from .. import _native
    prog = bpf_program(rules)
    try:
        pfd = _native.bpf_prog_load_cgroup_device(prog)
    except OSError as e:
        raise errors.CgroupError("load the eBPF device filter: %s" % e.strerror)
    try:
        dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _native.bpf_prog_attach_cgroup_device(dfd, pfd)
        except OSError as e:
            raise errors.CgroupError("attach the eBPF device filter to %s: %s" % (path, e.strerror))
        finally:
            os.close(dfd)
    finally:
        os.close(pfd)


def apply_resources(mgr, res, w=None, devices=True, update=False):
    w = w or Writer()
    c = _Ctx(mgr, w)
    net = res.get("network") or {}
    if net.get("classID") or net.get("priorities"):
        raise errors.CgroupError("linux.resources.network: net_cls/net_prio exist only in cgroup v1")
    set_memory(c, res.get("memory") or {}, update)
    set_cpu(c, res.get("cpu") or {})
    limit = (res.get("pids") or {}).get("limit")
    if limit:  # runc 1.1: 0 leaves the limit alone
        c.need("pids", "linux.resources.pids.limit")
        c.write("pids.max", "max" if limit < 0 else limit)
    set_io(c, res.get("blockIO") or {})
    set_hugetlb(c, res.get("hugepageLimits"))
    set_rdma(c, res.get("rdma"))
    set_unified(c, res.get("unified"))
    if devices:
        set_devices(c.path, res.get("devices") or [])


def set_devices(path, rules):
    """``rules`` and then runc's default allows."""
    from ..devices import DEFAULT_ALLOW_RULES
    apply_devices(path, list(rules) + DEFAULT_ALLOW_RULES)
