"""linux.namespaces, id maps, hostname/domainname, time offsets, cgroup ns."""
import os
import time

import pytest


def run_out(rt, b, c):
    p = rt("run", "--bundle", b, c)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def host_ns(kind):
    return os.readlink("/proc/self/ns/" + kind)


def test_new_namespaces_differ_from_host(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done"])
    out = run_out(rt, b, cid()).split()
    for kind, seen in zip(["pid", "net", "ipc", "uts", "mnt"], out):
        assert seen != host_ns(kind), kind


def test_hostname_and_domainname(rt, make_bundle, cid):
    if rt.is_runc:
        pytest.skip("runc 1.1 ignores the domainname field (added to runc later)")

    def edit(cfg):
        cfg["hostname"] = "box-h"
        cfg["domainname"] = "example.test"
    b = make_bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"], edit=edit)
    assert run_out(rt, b, cid()).split() == ["box-h", "example.test"]


def test_loopback_is_up(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "cat /sys/class/net/lo/operstate /sys/class/net/lo/flags"])
    out = run_out(rt, b, cid()).split()
    assert int(out[1], 16) & 1, "IFF_UP not set on lo"


def test_user_namespace_maps(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
        # sysfs cannot be mounted fresh without owning the netns' userns
        # ancestry; keep the test about id maps
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in
                         ("/sys", "/sys/fs/cgroup")]
    b = make_bundle(["sh", "-c", "id -u; cat /proc/self/uid_map; sleep 5"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    pid = rt.state(c)["pid"]
    with open("/proc/%d/status" % pid) as f:
        uids = [l for l in f if l.startswith("Uid:")][0].split()
    assert uids[1] == "200000"
    with open("/proc/%d/uid_map" % pid) as f:
        assert f.read().split() == ["0", "200000", "65536"]
    assert os.readlink("/proc/%d/ns/user" % pid) != host_ns("user")


def test_join_namespace_by_path(rt, make_bundle, cid):
    a = make_bundle(["sleep", "100"])
    ca = cid()
    rt("run", "-d", "--bundle", a, ca, check=True)
    apid = rt.state(ca)["pid"]

    def edit(cfg):
        for ns in cfg["linux"]["namespaces"]:
            if ns["type"] in ("network", "uts"):
                ns["path"] = "/proc/%d/ns/%s" % (apid, "net" if ns["type"] == "network" else "uts")
        cfg.pop("hostname", None)
    b = make_bundle(["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts"], edit=edit)
    out = run_out(rt, b, cid()).split()
    assert out == [os.readlink("/proc/%d/ns/net" % apid), os.readlink("/proc/%d/ns/uts" % apid)]


def test_cgroup_namespace_root(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["namespaces"].append({"type": "cgroup"})
    b = make_bundle(["cat", "/proc/self/cgroup"], edit=edit)
    for line in run_out(rt, b, cid()).splitlines():
        assert line.split(":", 2)[2] == "/", line


def test_time_namespace_offsets(rt, make_bundle, cid):
    if rt.is_runc:
        pytest.skip("runc 1.1 has no time namespace support")

    def edit(cfg):
        cfg["linux"]["namespaces"].append({"type": "time"})
        cfg["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    b = make_bundle(["cat", "/proc/uptime"], edit=edit)
    up = float(run_out(rt, b, cid()).split()[0])
    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    assert up - host > 86400 * 364


def test_pid_namespace_shared_with_host_when_absent(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    b = make_bundle(["sh", "-c", "readlink /proc/self/ns/pid"], edit=edit)
    assert run_out(rt, b, cid()).strip() == host_ns("pid")


def test_kill_without_pid_ns_kills_whole_cgroup(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    b = make_bundle(["sh", "-c", "sleep 100 & sleep 100 & wait"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    time.sleep(0.3)
    rt("kill", c, "KILL", check=True)
    end = time.time() + 5
    while time.time() < end and rt.state(c)["status"] != "stopped":
        time.sleep(0.02)
    assert rt.state(c)["status"] == "stopped"


@pytest.mark.parametrize("drop,field,value", [
    ("uts", "hostname", "evilhost"),
    ("network", "sysctl", {"net.ipv4.ip_default_ttl": "33"}),
    ("ipc", "sysctl", {"kernel.shmmni": "1234"}),
])
def test_host_namespace_settings_refused(rt, make_bundle, cid, drop, field, value):
    """hostname / sysctl without the container's own namespace for them would
    change the host's: create fails and nothing changes (runc's validator).
    Run under `unshare -u -n -i`, so a runtime that did write hits a
    throwaway namespace, not the host's."""
    import subprocess

    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != drop]
        if field == "sysctl":
            cfg["linux"]["sysctl"] = value
        else:
            cfg[field] = value
    b = make_bundle(["true"], edit=edit)
    c = cid()
    script = ('hostname orig; "$@" >/dev/null 2>&1; echo $?; hostname; '
              'cat /proc/sys/net/ipv4/ip_default_ttl /proc/sys/kernel/shmmni')
    p = subprocess.run(["unshare", "-u", "-n", "-i", "sh", "-c", script, "sh"]
                       + rt.argv("run", "--bundle", b, c),
                       capture_output=True, text=True, timeout=60)
    rc, host, ttl, shmmni = p.stdout.split()
    assert rc != "0"
    assert host == "orig"
    assert ttl != "33" and shmmni != "1234"


def test_kill_all_reaches_processes_outliving_init(rt, make_bundle, cid):
    """Without a pid namespace a child can outlive init: `kill --all` on the
    then-stopped container still signals what is left in its cgroup (runc)."""
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    b = make_bundle(["sh", "-c", "sleep 987 & exit 0"], edit=edit)
    c = cid()
    rt("run", "-d", "--bundle", b, c, check=True)
    end = time.time() + 5
    while time.time() < end and rt.state(c)["status"] != "stopped":
        time.sleep(0.02)
    left = [p for p in os.listdir("/proc") if p.isdigit() and
            open("/proc/%s/cmdline" % p, "rb").read().startswith(b"sleep\x00987")]
    assert left, "the orphan should still be there"
    rt("kill", "--all", c, "KILL", check=True)
    time.sleep(0.3)
    for p in left:
        assert not os.path.exists("/proc/%s" % p) or \
            open("/proc/%s/stat" % p).read().split(") ")[1][0] == "Z"
