"""Cgroup logic without containers: resource writers against a folder tree in
tmp_path (files pre-made as cgroupfs has them; a missing file is a missing
kernel feature), stats parsing, conversions, the device rule emulator, CLI
value parsing. Where the host has a cgroup2 hierarchy (v2 or hybrid), the v2
manager, its freezer and the eBPF device filter also run for real on a
cgroup of our own."""
import errno
import os
import time

import pytest

from pyrunc.cgroups import devices as cgdev
from pyrunc.cgroups import mode, own_cgroups, stats, systemd_unit, clean_path
from pyrunc.cgroups import v1, v2
from pyrunc.cgroups.v1_resources import Writer
from pyrunc.cgroups.v2_resources import blkio_to_io_weight, shares_to_weight, swap_v2
from pyrunc.errors import CgroupError

HUGE = "9223372036854771712"

V1_FILES = {
    "memory": {"memory.limit_in_bytes": HUGE, "memory.soft_limit_in_bytes": HUGE,
               "memory.memsw.limit_in_bytes": HUGE, "memory.kmem.limit_in_bytes": HUGE,
               "memory.kmem.tcp.limit_in_bytes": HUGE, "memory.swappiness": "60",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0",
               "memory.usage_in_bytes": "4096", "memory.max_usage_in_bytes": "8192",
               "memory.failcnt": "0", "memory.stat": "cache 0\nrss 4096\n"},
    "cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1",
            "cpu.cfs_burst_us": "0", "cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0",
            "cpu.idle": "0", "cpu.stat": "nr_periods 7\nnr_throttled 3\nthrottled_time 900\n"},
    "cpuacct": {"cpuacct.usage": "5000", "cpuacct.usage_percpu": "3000 2000 ",
                "cpuacct.usage_all": "cpu user system\n0 1000 2000\n1 1500 500\n",
                "cpuacct.stat": "user 2\nsystem 3\n"},
    "cpuset": {"cpuset.cpus": "0-1", "cpuset.mems": "0"},
    "pids": {"pids.max": "max", "pids.current": "3"},
    "blkio": {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "",
              "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
              "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
              "blkio.bfq.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
              "blkio.bfq.io_serviced_recursive": "8:0 Read 1\nTotal 1\n"},
    "devices": {"devices.allow": "", "devices.deny": ""},
    "freezer": {"freezer.state": "THAWED"},
}


class Recorder(Writer):
    """Also keeps every write in order (cgroupfs files keep only the last)."""

    def __init__(self, journal=False):
        super().__init__(journal)
        self.log = []

    def write(self, path, name, value):
        super().write(path, name, value)
        self.log.append((os.path.basename(path), name, str(value)))


def make_v1(tmp_path, skip=()):
    paths = {}
    for ctrl, files in V1_FILES.items():
        if ctrl in skip:
            continue
        d = tmp_path / ctrl / "box"
        d.mkdir(parents=True)
        for n, v in files.items():
            (d / n).write_text(v)
        paths[ctrl] = str(d)
    return v1.Manager(paths)


def rd(mgr, ctrl, name):
    with open(os.path.join(mgr.path(ctrl), name)) as f:
        return f.read()


def apply_v1(mgr, res, devices=False, journal=False):
    from pyrunc.cgroups.v1_resources import apply_resources
    w = Recorder(journal)
    apply_resources(mgr, res, w, devices=devices)
    return w


# --- v1 writers -----------------------------------------------------------------------

def test_v1_memory_cpu_pids_blkio(tmp_path):
    m = make_v1(tmp_path)
    apply_v1(m, {
        "memory": {"limit": 1 << 26, "reservation": 1 << 25, "swap": 1 << 27, "swappiness": 0,
                   "disableOOMKiller": True, "kernelTCP": 1 << 24},
        "cpu": {"shares": 512, "quota": 20000, "period": 50000, "burst": 1000,
                "realtimeRuntime": 900, "realtimePeriod": 1000, "cpus": "1", "mems": "0",
                "idle": 1},
        "pids": {"limit": 9},
        "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 30}]},
    })
    assert rd(m, "memory", "memory.limit_in_bytes") == str(1 << 26)
    assert rd(m, "memory", "memory.soft_limit_in_bytes") == str(1 << 25)
    assert rd(m, "memory", "memory.memsw.limit_in_bytes") == str(1 << 27)
    assert rd(m, "memory", "memory.swappiness") == "0"
    assert rd(m, "memory", "memory.oom_control") == "1"
    assert rd(m, "memory", "memory.kmem.tcp.limit_in_bytes") == str(1 << 24)
    assert rd(m, "cpu", "cpu.shares") == "512"
    assert rd(m, "cpu", "cpu.cfs_quota_us") == "20000"
    assert rd(m, "cpu", "cpu.cfs_period_us") == "50000"
    assert rd(m, "cpu", "cpu.cfs_burst_us") == "1000"
    assert rd(m, "cpu", "cpu.rt_runtime_us") == "900"
    assert rd(m, "cpu", "cpu.rt_period_us") == "1000"
    assert rd(m, "cpu", "cpu.idle") == "1"
    assert rd(m, "cpuset", "cpuset.cpus") == "1"
    assert rd(m, "pids", "pids.max") == "9"
    assert rd(m, "blkio", "blkio.bfq.weight") == "300"  # no CFQ blkio.weight: BFQ's
    assert rd(m, "blkio", "blkio.bfq.weight_device") == "8:0 200"
    assert rd(m, "blkio", "blkio.throttle.read_bps_device") == "8:0 1000"
    assert rd(m, "blkio", "blkio.throttle.write_iops_device") == "8:16 30"


def test_v1_write_order_memsw_before_memory_when_growing(tmp_path):
    m = make_v1(tmp_path)
    (tmp_path / "memory/box/memory.limit_in_bytes").write_text(str(1 << 20))
    w = apply_v1(m, {"memory": {"limit": 1 << 26, "swap": 1 << 27}})
    names = [n for _, n, _ in w.log]
    assert names == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    (tmp_path / "memory/box/memory.limit_in_bytes").write_text(str(1 << 30))
    w = apply_v1(m, {"memory": {"limit": 1 << 26, "swap": 1 << 27}})
    assert [n for _, n, _ in w.log] == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    # unlimited memory means unlimited swap too (runc)
    w = apply_v1(m, {"memory": {"limit": -1}})
    assert rd(m, "memory", "memory.memsw.limit_in_bytes") == "-1"


def test_v1_zero_and_pids_semantics(tmp_path):
    m = make_v1(tmp_path)
    w = apply_v1(m, {"memory": {"limit": 0}, "cpu": {"shares": 0, "quota": 0},
                     "pids": {"limit": 0}})
    assert w.log == []  # zero is "unset", as runc 1.1
    apply_v1(m, {"pids": {"limit": -1}})
    assert rd(m, "pids", "pids.max") == "max"


@pytest.mark.parametrize("res,words", [
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}, "hugetlb cgroup controller"),
    ({"network": {"classID": 7}}, "net_cls"),
    ({"network": {"priorities": [{"name": "eth0", "priority": 1}]}}, "net_prio"),
    ({"rdma": {"mlx": {"hcaHandles": 1}}}, "rdma"),
    ({"unified": {"memory.high": "1"}}, "needs cgroup v2"),
    ({"blockIO": {"leafWeight": 10}}, "blkio.leaf_weight: this kernel has no such"),
    ({"memory": {"swappiness": 101}}, "range is 0-100"),
    ({"memory": {"useHierarchy": False}}, "always hierarchical"),
    ({"cpu": {"quota": 1000, "burst": 5000}}, "larger than quota"),
])
def test_v1_inexpressible_is_an_error(tmp_path, res, words):
    m = make_v1(tmp_path)
    with pytest.raises(CgroupError) as e:
        apply_v1(m, res)
    assert words in str(e.value)


def test_v1_controller_not_mounted(tmp_path):
    m = make_v1(tmp_path, skip=("pids", "cpuset"))
    with pytest.raises(CgroupError, match="pids cgroup controller, which is not mounted"):
        apply_v1(m, {"pids": {"limit": 5}})
    with pytest.raises(CgroupError, match="cpuset"):
        apply_v1(m, {"cpu": {"cpus": "0"}})


def test_v1_kmem_ignored_by_kernel_is_an_error(tmp_path):
    m = make_v1(tmp_path)
    # a regular file keeps what is written: the kernel kept the value
    apply_v1(m, {"memory": {"kernel": 1 << 26}})

    class Ignoring(Recorder):
        def write(self, path, name, value):
            super().write(path, name, value)
            if name == "memory.kmem.limit_in_bytes":
                with open(os.path.join(path, name), "w") as f:
                    f.write(HUGE)
    from pyrunc.cgroups.v1_resources import apply_resources
    with pytest.raises(CgroupError, match="ignores kernel memory limits"):
        apply_resources(m, {"memory": {"kernel": 1 << 26}}, Ignoring(), devices=False)


def test_v1_update_rolls_back_on_failure(tmp_path):
    m = make_v1(tmp_path)
    os.unlink(tmp_path / "pids/box/pids.max")  # the pids write will fail
    with pytest.raises(CgroupError):
        m.set({"memory": {"limit": 1 << 26}, "cpu": {"shares": 100}, "pids": {"limit": 3}},
              update=True)
    assert rd(m, "memory", "memory.limit_in_bytes") == HUGE
    assert rd(m, "cpu", "cpu.shares") == "1024"


def test_v1_devices_written_in_order(tmp_path):
    m = make_v1(tmp_path)
    from pyrunc.cgroups.v1_resources import apply_devices
    w = Recorder()
    apply_devices(m.path("devices"),
                  [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
                   {"allow": False, "type": "b", "major": 8, "access": "m"}],
                  [{"allow": True, "type": "c", "major": 136, "minor": -1, "access": "rwm"}], w)
    assert [(n, v) for _, n, v in w.log] == [
        ("devices.deny", "a"), ("devices.allow", "c 10:229 rw"), ("devices.deny", "b 8:* m"),
        ("devices.allow", "c 136:* rwm")]


def test_v1_update_leaves_devices_alone(tmp_path):
    m = make_v1(tmp_path)
    m.set({"devices": [{"allow": True, "access": "rwm"}]}, update=True)
    assert rd(m, "devices", "devices.allow") == ""


# --- v2 writers (a folder tree) ------------------------------------------------------------

def make_v2(tmp_path, ctrls="cpu memory pids io cpuset", files=None):
    d = tmp_path / "box"
    d.mkdir()
    base = {"cgroup.controllers": ctrls, "cpu.weight": "100", "cpu.max": "max 100000",
            "cpu.max.burst": "0", "cpu.idle": "0", "memory.max": "max", "memory.low": "0",
            "memory.swap.max": "max", "memory.current": "8192", "pids.max": "max",
            "io.bfq.weight": "default 100", "io.max": "", "cpuset.cpus": "", "cpuset.mems": "",
            "memory.high": "max", "cgroup.max.descendants": "max"}
    base.update(files or {})
    for n, v in base.items():
        if v is not None:
            (d / n).write_text(v)
    return v2.Manager(str(d))


def rd2(m, name):
    with open(os.path.join(m.path(), name)) as f:
        return f.read()


def apply_v2(m, res, update=False):
    from pyrunc.cgroups.v2_resources import apply_resources
    apply_resources(m, res, Recorder(), devices=False, update=update)


def test_v2_conversions():
    assert shares_to_weight(2) == 1 and shares_to_weight(262144) == 10000
    assert shares_to_weight(1024) == 39  # runc's value
    assert blkio_to_io_weight(10) == 1 and blkio_to_io_weight(1000) == 10000
    assert swap_v2(200, 100) == 100 and swap_v2(-1, 100) == -1 and swap_v2(0, -1) == -1
    with pytest.raises(CgroupError, match="below the memory"):
        swap_v2(50, 100)
    with pytest.raises(CgroupError, match="needs a memory limit"):
        swap_v2(50, 0)


def test_v2_writes(tmp_path):
    m = make_v2(tmp_path)
    apply_v2(m, {"memory": {"limit": 1 << 26, "swap": 1 << 27, "reservation": 1 << 20},
                 "cpu": {"shares": 1024, "quota": 20000, "burst": 100, "cpus": "0"},
                 "pids": {"limit": 7},
                 "blockIO": {"weight": 500,
                             "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 99}]},
                 "unified": {"memory.high": "12345"}})
    assert rd2(m, "memory.max") == str(1 << 26)
    assert rd2(m, "memory.swap.max") == str(1 << 26)  # memsw - memory
    assert rd2(m, "memory.low") == str(1 << 20)
    assert rd2(m, "cpu.weight") == "39"
    assert rd2(m, "cpu.max") == "20000 100000"  # period kept
    assert rd2(m, "cpu.max.burst") == "100"
    assert rd2(m, "pids.max") == "7"
    assert rd2(m, "io.bfq.weight") == "500"
    assert rd2(m, "io.max") == "8:0 rbps=99"
    assert rd2(m, "memory.high") == "12345"
    apply_v2(m, {"cpu": {"quota": -1, "period": 50000}})
    assert rd2(m, "cpu.max") == "max 50000"


@pytest.mark.parametrize("res,words", [
    ({"memory": {"kernel": 100}}, "no kernel memory limit"),
    ({"memory": {"swappiness": 10}}, "no per-cgroup swappiness"),
    ({"memory": {"disableOOMKiller": True}}, "cannot disable the OOM killer"),
    ({"cpu": {"realtimeRuntime": 10}}, "no realtime"),
    ({"network": {"classID": 1}}, "only in cgroup v1"),
    ({"blockIO": {"leafWeight": 10}}, "no leaf weights"),
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}, "hugetlb controller, which is not "
                                                            "enabled"),
    ({"rdma": {"x": {"hcaHandles": 1}}}, "rdma controller"),
    ({"unified": {"hugetlb.2MB.max": "1"}}, "hugetlb controller"),
    ({"unified": {"../x": "1"}}, "not a cgroup file name"),
    ({"unified": {"memory.nosuchfile": "1"}}, "no such file"),
])
def test_v2_inexpressible_is_an_error(tmp_path, res, words):
    m = make_v2(tmp_path)
    with pytest.raises(CgroupError) as e:
        apply_v2(m, res)
    assert words in str(e.value)


def test_v2_controller_not_enabled(tmp_path):
    m = make_v2(tmp_path, ctrls="cpu")
    with pytest.raises(CgroupError, match="memory controller, which is not enabled"):
        apply_v2(m, {"memory": {"limit": 1 << 20}})


def test_v2_check_before_update(tmp_path):
    m = make_v2(tmp_path, files={"memory.current": str(1 << 22)})
    with pytest.raises(CgroupError, match="unable to set memory limit"):
        apply_v2(m, {"memory": {"limit": 1 << 21, "checkBeforeUpdate": True}}, update=True)
    apply_v2(m, {"memory": {"limit": 1 << 21, "checkBeforeUpdate": True}})  # create: no check


# --- stats ------------------------------------------------------------------------------

def test_v1_stats_shape(tmp_path):
    m = make_v1(tmp_path)
    s = stats.v1_stats(m)
    assert list(s) == ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
                       "network_interfaces"]
    assert s["cpu"]["usage"] == {"total": 5000, "percpu": [3000, 2000],
                                 "percpu_kernel": [2000, 500], "percpu_user": [1000, 1500],
                                 "kernel": 30000000, "user": 20000000}
    assert s["cpu"]["throttling"] == {"periods": 7, "throttledPeriods": 3, "throttledTime": 900}
    assert s["cpuset"]["cpus"] == [0, 1] and s["cpuset"]["mems"] == [0]
    assert s["memory"]["usage"] == {"limit": int(HUGE), "usage": 4096, "max": 8192,
                                    "failcnt": 0}
    assert "cache" not in s["memory"]  # omitempty, as Go
    assert s["memory"]["raw"] == {"cache": 0, "rss": 4096}
    assert s["pids"] == {"current": 3}
    assert s["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "op": "Read", "value": 4096}, {"major": 8, "op": "Write"}]
    assert s["network_interfaces"] is None


def test_v2_stats_and_oom_count(tmp_path):
    m = make_v2(tmp_path, files={
        "cpu.stat": "usage_usec 10\nuser_usec 4\nsystem_usec 6\nnr_periods 0\n",
        "memory.stat": "anon 4096\nfile 8192\n", "memory.events": "max 2\noom 1\noom_kill 1\n",
        "memory.max": "1048576", "pids.current": "2", "pids.max": "10",
        "io.stat": "8:0 rbytes=100 wbytes=0 rios=1 wios=0\n"})
    s = stats.v2_stats(m)
    assert s["cpu"]["usage"] == {"total": 10000, "kernel": 6000, "user": 4000}
    assert s["cpu"]["throttling"] == {}
    assert s["memory"]["cache"] == 8192
    assert s["memory"]["usage"] == {"limit": 1048576, "usage": 8192, "failcnt": 2}
    assert s["pids"] == {"current": 2, "limit": 10}
    assert s["blkio"]["ioServiceBytesRecursive"][0] == {"major": 8, "op": "Read", "value": 100}
    assert stats.oom_count(m) == 1


# --- device rules ----------------------------------------------------------------------------

def test_emulator_matches_kernel_semantics():
    from pyrunc.devices import DEFAULT_ALLOW_RULES
    e = cgdev.Emulator.of([{"allow": False, "access": "rwm"}] + DEFAULT_ALLOW_RULES)
    assert e.allows("c", 1, 3, "rw") and e.allows("c", 136, 4, "rwm")
    assert not e.allows("c", 1, 11, "w") and e.allows("c", 1, 11, "m")
    assert not e.allows("b", 8, 0, "r") and e.allows("b", 8, 0, "m")
    # allow-list mode: a partial rule covers only its bits
    e = cgdev.Emulator.of([{"allow": False}, {"allow": True, "type": "c", "major": 1,
                                              "minor": 11, "access": "w"}])
    assert e.allows("c", 1, 11, "w") and not e.allows("c", 1, 11, "rw")
    # deny-list mode: any shared bit is denied; a later allow punches the hole back
    e = cgdev.Emulator.of([{"allow": True}, {"allow": False, "type": "c", "major": 1,
                                             "minor": 5, "access": "rw"}])
    assert not e.allows("c", 1, 5, "r") and e.allows("c", 1, 5, "m")
    e.apply({"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"})
    assert e.allows("c", 1, 5, "r") and not e.allows("c", 1, 5, "w")
    with pytest.raises(CgroupError):
        cgdev.normalize({"allow": True, "access": "x"})


def test_bpf_program_layout():
    prog = cgdev.bpf_program([{"allow": False}, {"allow": True, "type": "c", "major": 1,
                                                 "minor": 3, "access": "rwm"}])
    assert len(prog) % 8 == 0
    # prologue 6, block: type, major, minor, ret(2) = 5, epilogue 2
    assert len(prog) // 8 == 6 + 5 + 2
    assert prog[-16:] == cgdev._insn(cgdev.MOV64_IMM, 0, imm=0) + cgdev._insn(cgdev.EXIT)


# --- the real kernel: a cgroup2 folder of our own -------------------------------------------

def unified_root():
    m = mode()
    if m == "v1":
        pytest.skip("no cgroup2 hierarchy on this host")
    base = "/sys/fs/cgroup" if m == "v2" else "/sys/fs/cgroup/unified"
    return base + own_cgroups().get("", "/").rstrip("/")


@pytest.fixture
def cg2(request):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    path = "%s/pyrunc-unit-%d-%s" % (unified_root(), os.getpid(), request.node.name[:20])
    m = v2.Manager(path)
    m.create()
    yield m
    m.destroy()
    assert not os.path.exists(path)


def _child_in(m, fn):
    """Fork a child that joins m's cgroup, runs fn() and reports through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            with open(os.path.join(m.path(), "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            out = fn()
        except BaseException as e:
            out = "error %r" % e
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


def _try_open(path, flags):
    try:
        os.close(os.open(path, flags))
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]


def test_ebpf_device_filter_on_the_kernel(cg2):
    from pyrunc.cgroups.v2_resources import apply_devices
    apply_devices(cg2.path(), [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},  # null
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"},    # zero: read
    ])
    got = _child_in(cg2, lambda: " ".join([
        _try_open("/dev/null", os.O_RDWR), _try_open("/dev/zero", os.O_RDONLY),
        _try_open("/dev/zero", os.O_WRONLY), _try_open("/dev/full", os.O_RDONLY)]))
    assert got == "ok ok EPERM EPERM"


def test_ebpf_device_filter_deny_list(cg2):
    from pyrunc.cgroups.v2_resources import apply_devices
    apply_devices(cg2.path(), [{"allow": True, "access": "rwm"},
                               {"allow": False, "type": "c", "major": 1, "minor": 7,
                                "access": "w"}])
    got = _child_in(cg2, lambda: " ".join([
        _try_open("/dev/full", os.O_RDONLY), _try_open("/dev/full", os.O_WRONLY),
        _try_open("/dev/null", os.O_WRONLY)]))
    assert got == "ok EPERM ok"


def test_v2_manager_freeze_thaw_stats_destroy(cg2):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        with open(os.path.join(cg2.path(), "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        os.close(r)
        os.write(w, b"x")
        while True:
            pass
    os.close(w)
    os.read(r, 1)
    os.close(r)
    try:
        assert cg2.pids() == [pid]
        cg2.freeze()
        assert cg2.frozen()
        time.sleep(0.05)
        t0 = stats.v2_stats(cg2)["cpu"]["usage"]["total"]
        time.sleep(0.3)
        assert stats.v2_stats(cg2)["cpu"]["usage"]["total"] == t0
        cg2.thaw()
        assert not cg2.frozen()
        time.sleep(0.3)
        assert stats.v2_stats(cg2)["cpu"]["usage"]["total"] > t0
        # controllers this hierarchy lacks are a clear error, not silence
        from pyrunc.cgroups.v2_resources import controllers
        if "memory" not in controllers(cg2.path()):
            with pytest.raises(CgroupError, match="memory controller"):
                cg2.set({"memory": {"limit": 1 << 26}}, update=True)
        cg2.set({"unified": {"cgroup.max.descendants": "5"}, "devices": []})
        assert open(os.path.join(cg2.path(), "cgroup.max.descendants")).read().strip() == "5"
        cg2.freeze()  # destroy() must cope with a frozen cgroup
    finally:
        cg2.destroy()
        os.waitpid(pid, 0)


# --- paths and CLI values ---------------------------------------------------------------------

def test_paths_and_systemd_form():
    assert clean_path("/a/./b/") == "a/b"
    with pytest.raises(CgroupError):
        clean_path("a/../../b")
    assert systemd_unit("", "c1") == ("system.slice", "pyrunc-c1.scope")
    assert systemd_unit("machine.slice:libpod:abc", "c1") == ("machine.slice",
                                                              "libpod-abc.scope")
    for bad in ("/x/y", "a:b", "notaslice:p:n", "a.slice:p:"):
        with pytest.raises(CgroupError):
            systemd_unit(bad, "c1")


def test_manager_paths_relative_absolute(tmp_path):
    rel = v1.Manager.new("pyrunc-x", False)
    own = own_cgroups()
    for name, p in rel.paths.items():
        assert p.endswith(os.path.join(own.get(name, "/"), "pyrunc-x").replace("//", "/"))
    ab = v1.Manager.new("abs/x", True)
    assert all(p.endswith("/abs/x") and "process_api" not in p for p in ab.paths.values())
    assert v1.Manager.restore(rel.state()).paths == rel.paths


def test_parse_size_and_duration():
    from pyrunc.cli_extra import parse_duration, parse_size
    assert parse_size("100M") == 100 << 20 and parse_size("1g") == 1 << 30
    assert parse_size("512") == 512 and parse_size("1.5k") == 1536 and parse_size("2MiB") == 2 << 20
    with pytest.raises(ValueError, match="invalid size: '10x'"):
        parse_size("10x")
    assert parse_duration("5s") == 5 and parse_duration("100ms") == pytest.approx(0.1)
    assert parse_duration("1m30s") == 90 and parse_duration("1.5h") == 5400
    for bad in ("5", "s", "1x", ""):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_update_flags_to_resources():
    from pyrunc.cli_extra import update_resources
    from pyrunc.errors import UsageError as Usage
    r = update_resources({"memory": "100M", "memory-swap": "-1", "cpu-share": "512",
                          "cpu-quota": "-1", "cpuset-cpus": "0-1", "pids-limit": "20",
                          "blkio-weight": "300"})
    assert r == {"memory": {"limit": 100 << 20, "swap": -1},
                 "cpu": {"shares": 512, "quota": -1, "cpus": "0-1"},
                 "pids": {"limit": 20}, "blockIO": {"weight": 300}}
    with pytest.raises(Usage, match="invalid value for memory"):
        update_resources({"memory": "1q"})
    with pytest.raises(Usage, match="10 to 1000"):
        update_resources({"blkio-weight": "5"})


def test_resources_type_check(tmp_path):
    from pyrunc.cgroups.validate import check
    m = make_v1(tmp_path)
    for bad, words in (({"memory": {"limit": "x"}}, "memory.limit: want an integer"),
                       ({"cpu": {"cpus": 3}}, "cpu.cpus: want a string"),
                       ({"blockIO": {"throttleReadBpsDevice": [{"major": "8"}]}},
                        "blockIO.throttleReadBpsDevice[0].major"),
                       ({"unified": {"memory.high": 5}}, "unified.memory.high"),
                       ({"memory": {"disableOOMKiller": 1}}, "want a boolean"),
                       ([], "LinuxResources object")):
        with pytest.raises(CgroupError, match=words.replace("[", r"\[").replace("]", r"\]")):
            check(bad)
    with pytest.raises(CgroupError, match="want an integer"):
        m.set({"pids": {"limit": 1.5}}, update=True)
    check({"memory": {"limit": -1, "swap": None}, "rdma": {"x": {"hcaHandles": 1}}})


def test_v1_freeze_that_never_settles_thaws_and_fails(tmp_path, monkeypatch):
    import io
    m = make_v1(tmp_path)
    m.freeze_tries = 20
    state = os.path.join(m.path("freezer"), "freezer.state")

    def stuck_open(path, mode="r", *a, **kw):  # a task in D state: FREEZING forever
        if path == state and mode == "r":
            return io.StringIO("FREEZING")
        return open(path, mode, *a, **kw)
    monkeypatch.setattr(v1, "open", stuck_open, raising=False)
    with pytest.raises(CgroupError, match="did not reach FROZEN"):
        m.freeze()
    monkeypatch.undo()
    assert open(state).read() == "THAWED"  # the last write thawed it


def test_v2_update_rolls_back_cpu_max(tmp_path):
    m = make_v2(tmp_path, files={"cpu.max": "50000 100000"})
    os.unlink(os.path.join(m.path(), "pids.max"))
    with pytest.raises(CgroupError):
        m.set({"cpu": {"quota": 10000}, "pids": {"limit": 3}}, update=True)
    assert rd2(m, "cpu.max") == "50000 100000"


@pytest.mark.parametrize("path", ["/", "//", "/./", ".", "./"])
def test_cgroups_path_naming_root_or_own_cgroup_refused(path):
    """cgroupsPath "/" is every hierarchy's root and "." the runtime's own
    cgroup: a manager for it would write the container's limits there and, on
    delete, SIGKILL every process below it (the whole host for "/")."""
    from pyrunc.cgroups import for_config
    with pytest.raises(CgroupError, match="cgroupsPath"):
        for_config({"linux": {"cgroupsPath": path}}, "x")
