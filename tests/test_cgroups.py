"""Cgroups end to end: limits, stats, events, pause/resume, update, ps, devices.

Real containers on this kernel; each test also runs with --runtime=runc. The
cgroup files are found through /proc/<init>/cgroup, so the tests do not
depend on where a runtime puts its cgroups (under its own cgroup, runc: <id>,
pyrunc: pyrunc-<id>).
"""
import json
import os
import subprocess
import threading
import time

import pytest

from test_lifecycle import wait_status

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cg_dir(pid, controller):
    """The host folder of ``pid``'s cgroup for ``controller``."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if V2 and ctrls == "":
                return "/sys/fs/cgroup" + path
            if not V2 and controller in ctrls.split(","):
                d = "/sys/fs/cgroup/%s%s" % (ctrls, path)
                return d if os.path.isdir(d) else "/sys/fs/cgroup/%s%s" % (controller, path)
    raise AssertionError("no %s cgroup for pid %d" % (controller, pid))


def cg_read(pid, controller, name):
    with open(os.path.join(cg_dir(pid, controller), name)) as f:
        return f.read().strip()


def cpu_usage_ns(pid):
    if V2:
        for line in cg_read(pid, "cpu", "cpu.stat").splitlines():
            k, v = line.split()
            if k == "usage_usec":
                return int(v) * 1000
    return int(cg_read(pid, "cpuacct", "cpuacct.usage"))


def with_resources(res, caps=()):
    def edit(config):
        config["linux"]["resources"] = dict(config["linux"].get("resources") or {}, **res)
        for c in caps:
            for k in ("bounding", "effective", "permitted"):
                config["process"]["capabilities"].setdefault(k, []).append(c)
    return edit


def run_detached(rt, make_bundle, cid, args, res=None, caps=()):
    b = make_bundle(args, edit=with_resources(res or {}, caps))
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    return c, rt.state(c)["pid"], b


def test_memory_limit_oom_kill_reported_by_events(rt, make_bundle, cid, no_leaks):
    limit = 32 << 20
    # the init waits for a go file, so `events` is watching before the OOM
    script = ("while [ ! -e /dev/shm/go ]; do sleep 0.05; done; "
              "sh -c 'a=xxxxxxxx; while :; do a=$a$a; done'; echo survived; sleep 1")
    c, pid, b = run_detached(rt, make_bundle, cid, ["sh", "-c", script],
                             {"memory": {"limit": limit, "swap": limit}})
    want = limit if V2 else limit - limit % 4096
    key = "memory.max" if V2 else "memory.limit_in_bytes"
    assert int(cg_read(pid, "memory", key)) == want
    ev = subprocess.Popen(rt.argv("events", "--interval", "200ms", c), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(ev.stdout), daemon=True)
    reader.start()
    try:
        time.sleep(1.0)
        open("/proc/%d/root/dev/shm/go" % pid, "w").close()
        end = time.time() + 20
        while time.time() < end and not any('"oom"' in l for l in lines):
            time.sleep(0.05)
        events = [json.loads(l) for l in list(lines)]
        assert {"type": "oom", "id": c} in events, events[-3:]
        stats = [e for e in events if e["type"] == "stats"]
        assert stats and stats[0]["data"]["memory"]["usage"]["limit"] == want
    finally:
        if ev.poll() is None:
            ev.terminate()
        ev.wait(timeout=10)
    oc = dict(l.split() for l in cg_read(pid, "memory", "memory.events" if V2 else
                                         "memory.oom_control").splitlines())
    assert int(oc["oom_kill"]) >= 1
    wait_status(rt, c, "stopped")
    rt("delete", c, check=True)
    no_leaks(c, b)


def test_events_stop_when_container_stops(rt, make_bundle, cid):
    if rt.is_runc:
        pytest.skip("runc keeps streaming until the cgroup is removed (delete); pyrunc stops "
                    "when the container stops, as the task asks")
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sleep", "1"])
    t = time.time()
    p = rt("events", "--interval", "100ms", c, timeout=20)
    assert p.returncode == 0, p.stderr
    assert time.time() - t < 10
    evs = [json.loads(l) for l in p.stdout.splitlines()]
    assert evs and all(e["type"] == "stats" and e["id"] == c for e in evs)


def test_pids_limit_stops_fork_bomb(rt, make_bundle, cid):
    # bounded: at most 80 children, each a sleep
    # (a failed fork ends that sh, so the bomb runs in a child sh)
    script = ("sh -c 'i=0; while [ $i -lt 80 ]; do sleep 100 & i=$((i+1)); done' 2>/dev/null; "
              "exec sleep 100")
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sh", "-c", script], {"pids": {"limit": 16}})
    assert cg_read(pid, "pids", "pids.max") == "16"
    time.sleep(1.5)
    p = rt("ps", "--format", "json", c, check=True)
    pids = json.loads(p.stdout)
    assert 8 <= len(pids) <= 16, pids
    events = dict(l.split() for l in cg_read(pid, "pids", "pids.events").splitlines())
    assert int(events["max"]) > 0  # forks were refused
    st = json.loads(rt("events", "--stats", c, check=True).stdout)
    assert st["data"]["pids"]["limit"] == 16
    assert st["data"]["pids"]["current"] == len(pids)


def test_cpu_quota_shows_in_cpu_time(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sh", "-c", "while :; do :; done"],
                             {"cpu": {"quota": 20000, "period": 100000}})
    if V2:
        assert cg_read(pid, "cpu", "cpu.max") == "20000 100000"
    else:
        assert cg_read(pid, "cpu", "cpu.cfs_quota_us") == "20000"
    time.sleep(0.3)
    u0, t0 = cpu_usage_ns(pid), time.monotonic()
    time.sleep(1.5)
    used = (cpu_usage_ns(pid) - u0) / 1e9 / (time.monotonic() - t0)
    assert 0.05 < used < 0.3, "a 20%% quota used %.2f cpu" % used
    st = json.loads(rt("events", "--stats", c, check=True).stdout)
    thr = st["data"]["cpu"]["throttling"]
    assert thr["throttledPeriods"] > 0 and thr["periods"] >= thr["throttledPeriods"]
    assert thr["throttledTime"] > 0
    # raising the quota live lets it run faster
    rt("update", "--cpu-quota", "80000", c, check=True)
    if V2:
        assert cg_read(pid, "cpu", "cpu.max") == "80000 100000"
    else:
        assert cg_read(pid, "cpu", "cpu.cfs_quota_us") == "80000"
    u0, t0 = cpu_usage_ns(pid), time.monotonic()
    time.sleep(1.0)
    used2 = (cpu_usage_ns(pid) - u0) / 1e9 / (time.monotonic() - t0)
    # (other tests may share the cpus: well above the old cap, not a full 0.8)
    assert used2 > used * 1.25, (used, used2)


def test_pause_stops_progress_and_resume_restores_it(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sh", "-c", "while :; do :; done"])
    p = rt("resume", c)
    assert p.returncode != 0 and "container not paused" in p.stderr
    rt("pause", c, check=True)
    assert rt.state(c)["status"] == "paused"
    time.sleep(0.1)
    u0 = cpu_usage_ns(pid)
    time.sleep(0.5)
    assert cpu_usage_ns(pid) == u0, "a paused container made progress"
    p = rt("pause", c)
    assert p.returncode != 0 and "container not running" in p.stderr
    # stats and ps still work while paused
    assert json.loads(rt("ps", "--format", "json", c, check=True).stdout) == [pid]
    rt("resume", c, check=True)
    assert rt.state(c)["status"] == "running"
    u0 = cpu_usage_ns(pid)
    time.sleep(0.3)
    assert cpu_usage_ns(pid) > u0 + 50_000_000


def test_delete_force_of_paused_container(rt, make_bundle, cid, no_leaks):
    c, pid, b = run_detached(rt, make_bundle, cid,
                             ["sh", "-c", "sleep 100 & sleep 100 & wait"])
    rt("pause", c, check=True)
    rt("delete", "--force", c, check=True)
    no_leaks(c, b)
    assert not os.path.exists("/proc/%d" % pid) or \
        open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_update_changes_live_limits(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sleep", "100"],
                             {"memory": {"limit": 64 << 20}, "pids": {"limit": 40}})
    rt("update", "--memory", "100M", "--pids-limit", "50", "--cpu-share", "512",
       "--cpu-period", "50000", "--cpu-quota", "25000", c, check=True)
    if V2:
        assert cg_read(pid, "memory", "memory.max") == str(100 << 20)
        assert cg_read(pid, "cpu", "cpu.max") == "25000 50000"
    else:
        assert cg_read(pid, "memory", "memory.limit_in_bytes") == str(100 << 20)
        assert cg_read(pid, "cpu", "cpu.shares") == "512"
        assert cg_read(pid, "cpu", "cpu.cfs_period_us") == "50000"
        assert cg_read(pid, "cpu", "cpu.cfs_quota_us") == "25000"
    assert cg_read(pid, "pids", "pids.max") == "50"
    # LinuxResources JSON on stdin
    res = {"memory": {"limit": 80 << 20}, "pids": {"limit": 60}}
    rt("update", "--resources", "-", c, input=json.dumps(res), check=True)
    assert cg_read(pid, "memory", "memory.max" if V2 else "memory.limit_in_bytes") == \
        str(80 << 20)
    assert cg_read(pid, "pids", "pids.max") == "60"
    # bad values: runc's words, nothing changed
    p = rt("update", "--memory", "10x", c)
    assert p.returncode == 1 and "invalid value for memory: invalid size: '10x'" in p.stderr
    if not V2:
        p = rt("update", "--memory", "4k", c)  # below what the container uses
        assert p.returncode == 1 and "unable to set memory limit to 4096" in p.stderr
        assert cg_read(pid, "memory", "memory.limit_in_bytes") == str(80 << 20)
    assert "Traceback" not in p.stderr


def test_update_stopped_container_fails(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sleep", "0.3"])
    wait_status(rt, c, "stopped")
    p = rt("update", "--memory", "100M", c)
    assert p.returncode == 1 and "container not running" in p.stderr
    p = rt("events", "--stats", c)
    assert p.returncode == 1 and "is not running" in p.stderr


def test_devices_allow_null_deny_mknod_node(rt, make_bundle, cid, no_leaks):
    script = ("echo hi > /dev/null && echo null-ok; "
              "mknod /dev/xkmsg c 1 11 && echo mknod-ok; "
              "true > /dev/xkmsg && echo kmsg-open; "
              "mknod /dev/xnull c 1 3 && echo x > /dev/xnull && echo xnull-ok")
    b = make_bundle(["sh", "-c", script], edit=with_resources({}, ["CAP_MKNOD"]))
    c = cid()
    p = rt("run", "--bundle", b, c)
    out = p.stdout + p.stderr
    assert "null-ok" in out and "mknod-ok" in out and "xnull-ok" in out, out
    assert "kmsg-open" not in out and "Operation not permitted" in out, out
    no_leaks(c, b)
    # the same node with a config rule that allows writing to it
    rule = {"devices": [{"allow": False, "access": "rwm"},
                        {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}]}
    b = make_bundle(["sh", "-c", script], edit=with_resources(rule, ["CAP_MKNOD"]))
    c = cid()
    p = rt("run", "--bundle", b, c)
    assert "kmsg-open" in p.stdout, p.stdout + p.stderr
    no_leaks(c, b)


def test_ps_lists_exactly_the_container(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid,
                             ["sh", "-c", "sleep 100 & sleep 100 & wait"])
    want = {pid}
    end = time.time() + 10
    while time.time() < end and len(want) < 3:
        want = {pid} | {int(d) for d in os.listdir("/proc") if d.isdigit()
                        and _ppid(int(d)) == pid}
        time.sleep(0.05)
    p = rt("ps", "--format", "json", c, check=True)
    assert p.stdout.endswith("]\n")
    assert sorted(json.loads(p.stdout)) == sorted(want) and len(want) == 3
    p = rt("ps", c, check=True)
    lines = p.stdout.splitlines()
    idx = lines[0].split().index("PID")
    assert sorted(int(l.split()[idx]) for l in lines[1:]) == sorted(want)
    p = rt("ps", c, "-o", "pid,comm", check=True)  # options pass through to ps
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"] and len(lines) == 4
    assert sorted(l.split()[1] for l in lines[1:]) == ["sh", "sleep", "sleep"]
    p = rt("ps", c, "-o", "comm")
    assert p.returncode == 1 and "couldn't find PID field in ps output" in p.stderr


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return None


def test_kill_all_and_delete_leave_no_cgroup(rt, make_bundle, cid, no_leaks):
    # no pid namespace: the children outlive the init unless the cgroup is used
    def edit(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "pid"]
    b = make_bundle(["sh", "-c", "sleep 100 & sleep 100 & exec sleep 100"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    time.sleep(0.3)
    pids = json.loads(rt("ps", "--format", "json", c, check=True).stdout)
    assert len(pids) == 3
    rt("kill", "--all", c, "KILL", check=True)
    wait_status(rt, c, "stopped")
    end = time.time() + 5
    while time.time() < end and any(os.path.exists("/proc/%d" % p) and _ppid(p) for p in pids):
        time.sleep(0.05)
    rt("delete", c, check=True)
    no_leaks(c, b)


def test_stats_shape_matches_runc(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sleep", "100"],
                             {"memory": {"limit": 64 << 20}, "pids": {"limit": 20}})
    p = rt("events", "--stats", c, check=True)
    assert p.stdout.endswith("}\n") and p.stdout.count("\n") == 1
    e = json.loads(p.stdout)
    assert e["type"] == "stats" and e["id"] == c
    d = e["data"]
    for k in ("cpu", "memory", "pids", "blkio", "hugetlb"):
        assert k in d
    assert set(d["cpu"]) >= {"usage", "throttling"}
    assert d["cpu"]["usage"]["total"] > 0 and "kernel" in d["cpu"]["usage"]
    assert d["memory"]["usage"]["limit"] == 64 << 20
    assert d["memory"]["usage"]["usage"] > 0 and "failcnt" in d["memory"]["usage"]
    assert d["memory"]["raw"] and isinstance(d["memory"]["raw"], dict)
    assert d["pids"] == {"current": 1, "limit": 20}
    if not V2:
        assert len(d["cpu"]["usage"]["percpu"]) == os.cpu_count()
        assert set(d["memory"]) >= {"swap", "kernel", "kernelTCP"}


@pytest.mark.parametrize("res,words", [
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 21}]}, "hugetlb"),
    ({"network": {"classID": 1048577}}, "net_cls"),
    ({"rdma": {"mlx5_1": {"hcaHandles": 3}}}, "rdma"),
    ({"unified": {"memory.high": "10000000"}}, "cgroup v2"),
    ({"memory": {"swappiness": 500}}, "swappiness"),
])
def test_inexpressible_resource_is_a_clear_error(rt, make_bundle, cid, no_leaks, res, words):
    if rt.is_runc:
        pytest.skip("runc 1.1 silently skips controllers that are not mounted")
    if V2 or os.path.isdir("/sys/fs/cgroup/" + words):
        pytest.skip("this host has the %s controller" % words)
    b = make_bundle(["true"], edit=with_resources(res))
    c = cid()
    p = rt("run", "--bundle", b, c)
    assert p.returncode == 1
    assert words in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.startswith("pyrunc: ") and p.stderr.count("\n") == 1, p.stderr
    no_leaks(c, b)


@pytest.mark.parametrize("ns", ["plain", "userns", "cgroupns"])
def test_failed_set_leaves_no_process(rt, make_bundle, cid, no_leaks, ns):
    """The intermediate is forked first and may have forked init before the
    resources are written (container.create): when they fail, both are gone
    by the time the runtime returns, whether the intermediate waits for the
    cgroup (cgroup namespace), for its id maps (user namespace) or neither.
    Forks keep the runtime's argv, so no process may carry the container id
    in its command line."""
    if rt.is_runc:
        pytest.skip("pyrunc's create order")
    if V2 or os.path.isdir("/sys/fs/cgroup/hugetlb"):
        pytest.skip("this host has the hugetlb controller")
    def edit(config):
        with_resources({"hugepageLimits": [{"pageSize": "2MB", "limit": 1 << 21}]})(config)
        if ns == "cgroupns":
            config["linux"]["namespaces"].append({"type": "cgroup"})
        elif ns == "userns":
            config["linux"]["namespaces"].append({"type": "user"})
            m = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            config["linux"].update(uidMappings=m, gidMappings=m)
    b = make_bundle(["true"], edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode == 1 and "hugetlb" in p.stderr, p.stderr
    no_leaks(c, b)
    left = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if c.encode() in f.read():
                        left.append(d)
            except OSError:
                pass  # gone meanwhile
    assert not left, left


def test_cgroup_mount_is_readonly_and_own(rt, make_bundle, cid):
    script = ("cat /proc/self/cgroup | head -3; ls /sys/fs/cgroup; "
              "touch /sys/fs/cgroup/memory/x 2>&1; "
              "cat /sys/fs/cgroup/pids/pids.max")
    b = make_bundle(["sh", "-c", script],
                    edit=with_resources({"pids": {"limit": 33}}))
    c = cid()
    p = rt("run", "--bundle", b, c)
    out = p.stdout + p.stderr
    assert "Read-only file system" in out, out
    if not V2:
        # the container's own pids cgroup sits at /sys/fs/cgroup/pids
        assert out.strip().splitlines()[-1] == "33", out


def test_delete_kills_lingering_processes_and_removes_cgroup(rt, make_bundle, cid, no_leaks):
    # no pid namespace: the init exits, a background child lingers in the cgroup
    def edit(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "pid"]
    b = make_bundle(["sh", "-c", "sleep 100 > /dev/null 2>&1 & sleep 0.3; exit 0"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    wait_status(rt, c, "stopped")
    left = json.loads(rt("ps", "--format", "json", c, check=True).stdout)
    assert len(left) == 1, left
    rt("delete", c, check=True)
    no_leaks(c, b)
    end = time.time() + 5
    while time.time() < end and os.path.exists("/proc/%d" % left[0]) and _ppid(left[0]):
        time.sleep(0.05)
    assert not os.path.exists("/proc/%d" % left[0]) or \
        open("/proc/%d/stat" % left[0]).read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.skipif(not V2, reason="the host is not cgroup v2 (hybrid or legacy): its cgroup2 "
                                   "hierarchy has no controllers to limit with")
def test_v2_unified_keys_and_converted_values(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sleep", "100"],
                             {"unified": {"memory.high": "50000000"},
                              "cpu": {"shares": 1024}, "memory": {"limit": 1 << 26}})
    assert cg_read(pid, "memory", "memory.high") == "49999872" or \
        cg_read(pid, "memory", "memory.high") == "50000000"
    assert cg_read(pid, "cpu", "cpu.weight") == "39"
    assert cg_read(pid, "memory", "memory.max") == str(1 << 26)


def test_cgroupns_rw_mount_shows_own_cgroup_and_sub_cgroups_are_removed(rt, make_bundle, cid,
                                                                        no_leaks):
    # with a cgroup namespace and no "ro" option the container may manage its
    # own subtree; delete must remove what it made there
    def edit(config):
        config["linux"]["namespaces"].append({"type": "cgroup"})
        config["linux"]["resources"] = {"pids": {"limit": 44}}
        for m in config["mounts"]:
            if m["type"] == "cgroup":
                m["options"] = [o for o in m["options"] if o != "ro"]
    ctrl = "" if V2 else "pids/"
    script = ("cat /proc/self/cgroup; cat /sys/fs/cgroup/%spids.max; "
              "mkdir /sys/fs/cgroup/%ssub && echo mkdir-ok" % (ctrl, ctrl))
    b = make_bundle(["sh", "-c", script], edit=edit)
    c = cid()
    p = rt("run", "--bundle", b, c)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert all(l.endswith(":/") for l in lines if l.count(":") >= 2), lines
    assert "44" in lines and "mkdir-ok" in lines
    assert "warning" not in p.stderr
    no_leaks(c, b)


def test_events_end_when_the_reader_goes_away(rt, make_bundle, cid):
    c, pid, _ = run_detached(rt, make_bundle, cid, ["sleep", "100"])
    ev = subprocess.Popen(rt.argv("events", "--interval", "50ms", c), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    try:
        line = ev.stdout.readline()
        assert json.loads(line)["type"] == "stats"
        ev.stdout.close()
        ev.wait(timeout=10)  # runc dies of SIGPIPE; pyrunc ends quietly
        if not rt.is_runc:
            assert ev.returncode == 0 and b"Traceback" not in ev.stderr.read()
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()


def _own_cgroup(controller):
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if (V2 and ctrls == "") or (not V2 and controller in ctrls.split(",")):
                return path.rstrip("/")
    return ""


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_cgroups_path_relative_and_absolute(rt, make_bundle, cid, no_leaks, kind):
    c = cid()
    top = "cgt-" + c
    path = ("/" if kind == "absolute" else "") + top + "/box"

    def edit(config):
        config["linux"]["cgroupsPath"] = path
    b = make_bundle(["sleep", "100"], edit=edit)
    rt("run", "-d", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    # relative paths are under the runtime's own cgroup (ours: memory is not /)
    want = ("" if kind == "absolute" else _own_cgroup("memory")) + "/" + top + "/box"
    with open("/proc/%d/cgroup" % pid) as f:
        mem = [l.rstrip("\n").split(":", 2)[2] for l in f
               if (V2 and l.startswith("0::")) or (not V2 and ":memory:" in l)]
    assert mem == [want]
    leaf = cg_dir(pid, "memory")
    rt("delete", "--force", c, check=True)
    no_leaks(c, b)
    assert not os.path.exists(leaf)
    parent = os.path.dirname(leaf)
    if rt.is_runc:
        # runc 1.1 removes only the leaf; the parent it made stays: clean it up
        for d in cgroup_dirs_named(top):
            os.rmdir(d)
    assert not cgroup_dirs_named(top), "pyrunc removes the parents it made"
    assert not os.path.exists(parent)


def cgroup_dirs_named(name):
    from conftest import cgroup_dirs
    return cgroup_dirs(name)


def test_preexisting_cgroups_path_is_not_removed(rt, make_bundle, cid):
    """A cgroupsPath that existed before the container (a pod's, a manager's)
    is shared: delete leaves it (and whatever else runs in it) alone, as runc."""
    import uuid
    from pyrunc.cgroups import v1
    if not v1.hierarchies():
        pytest.skip("no v1 hierarchy mounted")
    name = "pyrunc-pre-%s" % uuid.uuid4().hex[:8]
    made = []
    for mnt in sorted(set(v1.hierarchies().values())):
        d = os.path.join(mnt, name)
        os.mkdir(d)
        made.append(d)
        if mnt.endswith("/cpuset"):
            for f in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(mnt, f)) as src, open(os.path.join(d, f), "w") as dst:
                    dst.write(src.read().strip())
    # an outside process of ours shares the cgroup (pids hierarchy)
    other = subprocess.Popen(["sleep", "60"])
    pids_dir = [d for d in made if "/pids/" in d]
    try:
        if pids_dir:
            with open(os.path.join(pids_dir[0], "cgroup.procs"), "w") as f:
                f.write(str(other.pid))
        b = make_bundle(["true"], edit=lambda cfg: cfg["linux"].__setitem__(
            "cgroupsPath", "/" + name))
        c = cid()
        rt("run", "--bundle", b, c, check=True)
        assert other.poll() is None, "delete killed a process that was not the container's"
        assert all(os.path.isdir(d) for d in pids_dir), "a shared cgroup was removed"
    finally:
        other.kill()
        other.wait()
        for d in made:
            try:
                os.rmdir(d)
            except OSError:
                pass


@pytest.mark.parametrize("cgroupns", [False, True], ids=["host-cgroupns", "own-cgroupns"])
def test_init_is_in_its_cgroup_before_hooks_and_start(rt, make_bundle, cid, tmp_path, no_leaks,
                                                      cgroupns):
    # The container's processes move themselves in (pyrunc: cgroups.join_self),
    # so check the moment: createRuntime (host, by the state's pid) and
    # createContainer (in the container, its own /proc/self/cgroup) already see
    # every hierarchy of the container's cgroup; so does `exec` after create.
    log = tmp_path / "log"

    def edit(config):
        if cgroupns:
            config["linux"]["namespaces"].append({"type": "cgroup"})
        sh = "/bin/sh"
        config["hooks"] = {
            "createRuntime": [{"path": sh, "args": [
                "sh", "-c", 'read s; p=$(echo "$s" | tr -d " \\n" | sed "s/.*\\"pid\\":\\([0-9]*\\).*/\\1/"); '
                'cat /proc/$p/cgroup > %s.rt' % log]}],
            "createContainer": [{"path": sh, "args": [
                "sh", "-c", "cat /proc/self/cgroup > %s.ctr" % log]}],  # before pivot_root
        }
    b = make_bundle(["sleep", "100"], edit=edit)
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    with open("/proc/%d/cgroup" % pid) as f:
        init_cg = f.read()
    own = open("/proc/self/cgroup").read()
    v1 = [l.split(":", 2) for l in init_cg.splitlines() if l.split(":")[1]]
    own_v1 = {l.split(":", 2)[1]: l.split(":", 2)[2] for l in own.splitlines()}
    assert V2 or v1
    for _, ctrls, path in v1:  # every v1 hierarchy: not the runtime's own cgroup
        assert path != own_v1[ctrls], (ctrls, path)
    assert (tmp_path / "log.rt").read_text() == init_cg
    ctr = (tmp_path / "log.ctr").read_text()
    if cgroupns:  # the namespace is rooted at the container's cgroup
        assert all(l.endswith(":/") for l in ctr.splitlines() if l.split(":")[1]), ctr
    else:
        assert ctr == init_cg
    p = rt("exec", c, "cat", "/proc/self/cgroup")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (ctr if cgroupns else init_cg)
    rt("delete", "--force", c, check=True)
    no_leaks(c, b)


@pytest.mark.parametrize("cgroupns", [False, True], ids=["host-cgroupns", "own-cgroupns"])
def test_device_rules_are_whole_before_anything_joins(rt, make_bundle, cid, no_leaks, cgroupns):
    """v1 device rules go in as "deny all", then one allow at a time: a
    process in the cgroup meanwhile is refused even /dev/null. They are
    written before any of ours joins, so init's own set-up (the mknod of the
    default devices, the console's ptmx) never meets a half-written list; a
    long list widens the window that a wrong order would leave."""
    rules = [{"allow": False, "access": "rwm"}] + [
        {"allow": True, "type": "c", "major": 240, "minor": i, "access": "r"} for i in range(600)]

    def edit(config):
        with_resources({"devices": rules})(config)
        if cgroupns:
            config["linux"]["namespaces"].append({"type": "cgroup"})
    b = make_bundle(["sh", "-c", "echo x > /dev/null && echo null-ok"], edit=edit)
    for _ in range(3):
        c = cid()
        p = rt("run", "--bundle", b, c)
        assert p.returncode == 0 and "null-ok" in p.stdout, p.stdout + p.stderr
        no_leaks(c, b)


@pytest.mark.parametrize("ns", ["plain", "cgroupns", "userns+cgroupns"])
def test_pids_limit_of_one_leaves_room_for_init(rt, make_bundle, cid, no_leaks, ns):
    """pids.max counts the processes of set-up too: with a user namespace
    the runtime's intermediate joins the cgroup (first, with a cgroup
    namespace) and forks init there. The limit is written once init exists,
    as runc's: a limit of 1 is init alone, and it can still exec."""
    def edit(config):
        with_resources({"pids": {"limit": 1}})(config)
        if "cgroupns" in ns:
            config["linux"]["namespaces"].append({"type": "cgroup"})
        if "userns" in ns:
            config["linux"]["namespaces"].append({"type": "user"})
            m = [{"containerID": 0, "hostID": 200000, "size": 65536}]
            config["linux"].update(uidMappings=m, gidMappings=m)
            config["mounts"] = [m for m in config["mounts"] if m["destination"] not in
                                ("/sys", "/sys/fs/cgroup")]
    b = make_bundle(["sh", "-c", "echo ok; cat /dev/null; echo cat=$?"], edit=edit)
    c = cid()
    p = rt("run", "--bundle", b, c)
    # the limit holds for the program: sh ends at its first refused fork
    assert p.stdout == "ok\n" and p.returncode == 2, p.stdout + p.stderr
    assert "can't fork" in p.stderr, p.stderr
    no_leaks(c, b)
