"""Networking (issue 6): lo, a bridge with veth pairs, addresses (given,
allocated, IPv6), linux.netDevices, nftables masquerade and published ports.

runc does no networking of its own (it leaves it to CNI and the like), so
every test here but the `lo` one is pyrunc-only and skips with
--runtime=runc. Each test uses its own bridge (pyrunc-tN), an IPv4 subnet
10.231.N.0/24 and a ULA fd00:231:N::/64, removed by finalizers. Traffic
stays between the test's containers, their bridge and the host's address on
it; no test enables forwarding.
"""
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import time

import pytest

P = "org.pyrunc.network."


def links():
    """{name: line} of `ip -o link` (stats-free: one line per link)."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                         check=True).stdout
    res = {}
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        res[name] = line
    return res


def nft_tables():
    p = subprocess.run(["nft", "-j", "list", "tables"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return [t["table"]["name"] for t in json.loads(p.stdout)["nftables"] if "table" in t]


def ipr_del(name):
    subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.fixture
def pyrunc_only(rt):
    if rt.is_runc:
        pytest.skip("runc does no networking of its own")


_N = [0]


@pytest.fixture
def net(rt, pyrunc_only, request):
    """A test network: .bridge, .n, .subnet, .sub6, .ip(host), .ann(**extra)."""
    _N[0] += 1
    n = (os.getpid() + _N[0]) % 200 + 1

    class Net:
        bridge = "pyrunc-t%d" % n
        subnet = "10.231.%d.0/24" % n
        sub6 = "fd00:231:%x::/64" % n
        gw = "10.231.%d.1" % n
        gw6 = "fd00:231:%x::1" % n

        def ip(self, host):
            return "10.231.%d.%d" % (n, host)

        def ip6(self, host):
            return "fd00:231:%x::%x" % (n, host)

        def ann(self, **extra):
            a = {P + "mode": "bridge", P + "bridge": self.bridge, P + "subnet": self.subnet}
            a.update({P + k: v for k, v in extra.items()})
            return a

    yield Net()
    ipr_del(Net.bridge)


def net_bundle(make_bundle, args, ann, net_raw=True, **kw):
    def edit(c):
        c["annotations"] = ann
        if net_raw:  # busybox ping needs a raw socket
            for k in ("bounding", "effective", "permitted"):
                c["process"]["capabilities"][k].append("CAP_NET_RAW")
        if kw.get("edit"):
            kw["edit"](c)
    return make_bundle(list(args), edit=edit)


def netstate(rt, c):
    with open(os.path.join(rt.root, c, "state.json")) as f:
        return json.load(f)["network"]


def net_left(rt):
    return os.path.exists(os.path.join(rt.root, ".net"))


def run_detached(rt, b, c, out_path):
    """run -d with the container's stdout/stderr in a file we can read later."""
    with open(out_path, "w") as out:
        p = subprocess.run(rt.argv("run", "-d", "--bundle", b, c), stdout=out,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, open(out_path).read()


def wait_file(path, text, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        with open(path) as f:
            if text in f.read():
                return
        time.sleep(0.05)
    raise AssertionError("%r never appeared in %s: %r" % (text, path, open(path).read()))


# --- both runtimes --------------------------------------------------------------------

def test_new_netns_has_lo_up(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "ip -o link show lo; ip -o addr show lo"])
    p = rt("run", "--bundle", b, cid())
    assert p.returncode == 0, p.stderr
    flags = p.stdout.split("<")[1].split(">")[0].split(",")
    assert "UP" in flags and "LOOPBACK" in flags
    assert "127.0.0.1/8" in p.stdout


# --- pyrunc only ----------------------------------------------------------------------

def test_two_containers_reach_each_other_and_gateway(rt, make_bundle, cid, net, tmp_path,
                                                     no_leaks):
    server_ip = net.ip(10)
    # the server's stdin stays open a moment: busybox nc may stop reading the
    # connection once its stdin is at EOF
    a = net_bundle(make_bundle, ["sh", "-c", "(echo pong; sleep 1) | nc -l -p 5000; "
                                 "echo server-done"],
                   net.ann(address=server_ip))
    client = ("ping -c1 -W3 %s && ping -c1 -W3 %s && "
              "for i in $(seq 100); do echo ping | nc %s 5000 && break; sleep 0.1; done"
              % (net.gw, server_ip, server_ip))
    b = net_bundle(make_bundle, ["sh", "-c", client], net.ann())
    ca, cb = cid(), cid()
    out = str(tmp_path / "server.out")
    run_detached(rt, a, ca, out)
    assert netstate(rt, ca)["addresses"] == [server_ip + "/24"]
    p = rt("run", "--bundle", b, cb, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 packets received" in p.stdout  # the gateway and the other container
    assert p.stdout.count("1 packets received") == 2
    assert "pong" in p.stdout
    wait_file(out, "server-done")
    assert "ping" in open(out).read()
    rt("delete", "--force", ca, check=True)
    no_leaks(cb)
    no_leaks(ca)
    assert net.bridge not in links(), "the bridge outlived its last container"
    assert not net_left(rt)


def test_given_and_allocated_addresses_mtu_mac_ifname(rt, make_bundle, cid, net):
    b1 = net_bundle(make_bundle, ["sleep", "100"], net.ann(address=net.ip(2)))
    b2 = net_bundle(make_bundle, ["sh", "-c", "ip -o link show net0; ip -o addr show net0; "
                                  "ip route; sleep 100"],
                    net.ann(mtu="1280", mac="02:42:0a:e7:00:99", ifname="net0"))
    c1, c2 = cid(), cid()
    rt("create", "--bundle", b1, c1, check=True)
    rt("create", "--bundle", b2, c2, check=True)
    # .2 was taken by c1, .1 is the gateway: c2 gets .3
    assert netstate(rt, c2)["addresses"] == [net.ip(3) + "/24"]
    pid = rt.state(c2)["pid"]
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "addr", "show", "net0"],
                         capture_output=True, text=True).stdout
    assert net.ip(3) + "/24" in out
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "link", "show", "net0"],
                         capture_output=True, text=True).stdout
    assert "mtu 1280" in out and "02:42:0a:e7:00:99" in out and "UP" in out
    route = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "route"],
                           capture_output=True, text=True).stdout
    assert "default via %s dev net0" % net.gw in route
    host_end = links()[netstate(rt, c2)["veth"]]
    assert "mtu 1280" in host_end and "master %s" % net.bridge in host_end
    # the same address again: refused, one line, nothing left behind
    c3 = cid()
    b3 = net_bundle(make_bundle, ["true"], net.ann(address=net.ip(2)))
    p = rt("create", "--bundle", b3, c3)
    assert p.returncode != 0
    assert p.stderr.strip().splitlines() == [
        "pyrunc: network: address %s is in use by container %s" % (net.ip(2), c1)], p.stderr
    assert not os.path.exists(os.path.join(rt.root, c3))
    # outside the subnet: refused before anything is made
    b4 = net_bundle(make_bundle, ["true"], net.ann(address="10.99.0.5"))
    p = rt("create", "--bundle", b4, cid())
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "not a usable host of %s" % net.subnet in p.stderr


def test_ipv6(rt, make_bundle, cid, net, tmp_path):
    a = net_bundle(make_bundle, ["sh", "-c", "echo pong6 | nc -l -p 5006"],
                   net.ann(subnet6=net.sub6, address="%s,%s" % (net.ip(20), net.ip6(20))))
    client = ("ping6 -c1 -W3 %s && ping6 -c1 -W3 %s && "
              "for i in $(seq 100); do sleep 0.5 | nc %s 5006 && break; sleep 0.1; done; "
              "ip -o -6 addr show eth0 scope global"
              % (net.gw6, net.ip6(20), net.ip6(20)))
    b = net_bundle(make_bundle, ["sh", "-c", client], net.ann(ipv6="true", subnet6=net.sub6))
    ca, cb = cid(), cid()
    run_detached(rt, a, ca, str(tmp_path / "a.out"))
    assert sorted(netstate(rt, ca)["addresses"]) == sorted(
        [net.ip(20) + "/24", net.ip6(20) + "/64"])
    p = rt("run", "--bundle", b, cb, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("1 packets received") == 2
    assert "pong6" in p.stdout
    assert net.ip6(2) + "/64" in p.stdout  # allocated: ::1 is the gateway


def test_parallel_creates_get_distinct_addresses(rt, make_bundle, cid, net, no_leaks):
    b = net_bundle(make_bundle, ["sleep", "100"], net.ann(ipv6="true", subnet6=net.sub6))
    ids = [cid() for _ in range(30)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda c: rt("create", "--bundle", b, c, timeout=120), ids))
    for c, p in zip(ids, results):
        assert p.returncode == 0, (c, p.stderr)
    addrs = [netstate(rt, c)["addresses"] for c in ids]
    v4 = [a[0] for a in addrs]
    v6 = [a[1] for a in addrs]
    assert len(set(v4)) == 30 and len(set(v6)) == 30
    assert all(a.startswith("10.231.") and a != net.gw + "/24" for a in v4)
    leases = os.listdir(os.path.join(rt.root, ".net", "leases", net.bridge))
    assert len(leases) == 60
    vethes = [netstate(rt, c)["veth"] for c in ids]
    have = links()
    assert all(v in have for v in vethes)
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda c: rt("delete", "--force", c, timeout=120), ids))
    assert all(p.returncode == 0 for p in results), [(p.returncode, p.stdout, p.stderr) for p in results if p.returncode]
    have = links()
    assert not [v for v in vethes if v in have]
    assert net.bridge not in have
    assert not net_left(rt)
    for c in ids:
        no_leaks(c)


def test_delete_removes_veth_lease_rules_and_bridge(rt, make_bundle, cid, net):
    ports = "18%03d:80,18%03d:53/udp" % (net_n(net), net_n(net))
    b = net_bundle(make_bundle, ["sleep", "100"], net.ann(masquerade="true", ports=ports))
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode == 0, p.stderr
    ns = netstate(rt, c)
    assert ns["veth"] in links() and net.bridge in links()
    assert ns["table"] in nft_tables()
    rules = subprocess.run(["nft", "list", "table", "ip", ns["table"]], capture_output=True,
                           text=True, check=True).stdout
    ip = ns["addresses"][0].split("/")[0]
    assert "ip saddr %s oifname != \"%s\" masquerade" % (ip, net.bridge) in rules
    assert "tcp dport 18%03d dnat to %s:80" % (net_n(net), ip) in rules
    assert "udp dport 18%03d dnat to %s:53" % (net_n(net), ip) in rules
    lease_dir = os.path.join(rt.root, ".net")
    assert sorted(os.listdir(os.path.join(lease_dir, "ports"))) == [
        "tcp-18%03d" % net_n(net), "udp-18%03d" % net_n(net)]
    rt("delete", "--force", c, check=True)
    assert ns["veth"] not in links()
    assert ns["table"] not in nft_tables()
    assert net.bridge not in links()
    assert not net_left(rt)


def net_n(net):
    return int(net.bridge[len("pyrunc-t"):])


def test_published_port_from_the_host(rt, make_bundle, cid, net, tmp_path):
    hp = 19000 + net_n(net)
    b = net_bundle(make_bundle, ["sh", "-c", "echo hello-%d | nc -l -p 8080" % hp],
                   net.ann(ports="%d:8080" % hp))
    c = cid()
    run_detached(rt, b, c, str(tmp_path / "out"))
    # connect to the host's own address on the test bridge: the nat output
    # chain sends it to the container; nothing leaves the host
    data = b""
    end = time.time() + 10
    while time.time() < end and not data:
        try:
            with socket.create_connection((net.gw, hp), timeout=3) as s:
                data = s.recv(100)
        except (ConnectionRefusedError, ConnectionResetError):
            time.sleep(0.1)
    assert data == ("hello-%d\n" % hp).encode()


def test_masquerade_warns_when_forwarding_is_off(rt, make_bundle, cid, net):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        if f.read().strip() != "0":
            pytest.skip("forwarding is on here")
    b = net_bundle(make_bundle, ["true"], net.ann(masquerade="true"))
    p = rt("create", "--bundle", b, cid())
    assert p.returncode == 0
    assert "ip_forward is 0" in p.stderr


def test_no_network_config_touches_no_link(rt, pyrunc_only, make_bundle, cid, tmp_path):
    before = links()
    b = make_bundle(["sh", "-c", "ip -o link"])
    c = cid()
    p = rt("run", "--bundle", b, c)
    assert p.returncode == 0, p.stderr
    assert "eth0" not in p.stdout and "lo" in p.stdout  # only lo in there
    assert links() == before
    assert not net_left(rt)


def test_pyroute2_only_when_asked(rt, pyrunc_only, make_bundle, tmp_path):
    # the library in a fresh interpreter: a plain container must not import it
    b = make_bundle(["true"])
    code = """
import sys
from pyrunc import container
container.create(%r, "nonet-py2", %r)
container.delete(%r, "nonet-py2", force=True)
print("pyroute2" in sys.modules)
""" % (rt.root, b, rt.root)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


def test_delete_needs_no_pyroute2(rt, make_bundle, cid, net):
    b = net_bundle(make_bundle, ["sleep", "100"], net.ann())
    c = cid()
    rt("create", "--bundle", b, c, check=True)
    veth = netstate(rt, c)["veth"]
    code = """
import sys
from pyrunc import container
container.delete(%r, %r, force=True)
print("pyroute2" in sys.modules)
""" % (rt.root, c)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"
    assert veth not in links() and net.bridge not in links()
    assert not net_left(rt)


def test_no_netlink_socket_reaches_the_container(rt, make_bundle, cid, net, tmp_path):
    b = net_bundle(make_bundle, ["sleep", "100"], net.ann())
    c = cid()
    run_detached(rt, b, c, str(tmp_path / "out"))
    pid = rt.state(c)["pid"]
    fds = os.listdir("/proc/%d/fd" % pid)
    targets = [os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in fds]
    assert sorted(fds) == ["0", "1", "2"], targets
    netlink = set()
    for path in ("/proc/self/net/netlink", "/proc/%d/net/netlink" % pid):
        with open(path) as f:
            netlink |= {line.split()[-1] for line in f.readlines()[1:]}
    assert not [t for t in targets if t.startswith("socket:[") and t[8:-1] in netlink]


def test_stale_leases_are_taken_back(rt, make_bundle, cid, net):
    ann = net.ann(address=net.ip(50))
    b = net_bundle(make_bundle, ["sleep", "100"], ann)
    # 1. killed, never deleted: its init is dead, its folder remains
    c1 = cid()
    rt("create", "--bundle", b, c1, check=True)
    rt("kill", c1, "KILL", check=True)
    time.sleep(0.2)
    c2 = cid()
    p = rt("create", "--bundle", b, c2)
    assert p.returncode == 0, p.stderr
    # deleting the dead one must not release the lease c2 now holds
    rt("delete", c1, check=True)
    lease = os.path.join(rt.root, ".net", "leases", net.bridge, net.ip(50))
    assert json.load(open(lease))["id"] == c2
    # 2. gone without delete: init killed, state folder gone (moved aside here,
    # and back afterwards, so that its cgroup is cleaned up by a real delete)
    pid = rt.state(c2)["pid"]
    veth2 = netstate(rt, c2)["veth"]
    os.kill(pid, 9)
    aside = os.path.join(rt.root, ".aside-" + c2)
    os.rename(os.path.join(rt.root, c2), aside)
    try:
        c3 = cid()
        p = rt("create", "--bundle", b, c3)
        assert p.returncode == 0, p.stderr
        assert json.load(open(lease))["id"] == c3
        assert veth2 not in links()
    finally:
        os.rename(aside, os.path.join(rt.root, c2))
    rt("delete", "--force", c2, check=True)
    assert json.load(open(lease))["id"] == c3
    # 3. a lease file nobody can read (a crash mid-write) is taken back too
    junk = os.path.join(rt.root, ".net", "leases", net.bridge, net.ip(77))
    with open(junk, "w") as f:
        f.write("{not json")
    c4 = cid()
    rt("create", "--bundle", net_bundle(make_bundle, ["true"], net.ann()), c4, check=True)
    assert not os.path.exists(junk)
    rt("delete", c4, check=True)
    rt("delete", "--force", c3, check=True)
    assert not net_left(rt)
    assert net.bridge not in links()


def test_net_devices(rt, make_bundle, cid, pyrunc_only):
    k = os.getpid() % 1000
    a, peer, a2, peer2 = ["pyrunc-td%s%d" % (x, k) for x in "ABCD"]
    try:
        for x, y in ((a, peer), (a2, peer2)):
            subprocess.run(["ip", "link", "add", x, "type", "veth", "peer", "name", y],
                           check=True)
        subprocess.run(["ip", "addr", "add", "10.231.250.1/24", "dev", a], check=True)
        subprocess.run(["ip", "addr", "add", "10.231.251.1/24", "dev", a, "scope", "link"],
                       check=True)

        def edit(c):  # both ends of the pair; the second one named by the kernel
            c["linux"]["netDevices"] = {a: {"name": "net1"}, peer: {"name": "net%d"}}
        b = make_bundle(["sh", "-c", "ip -o addr show net1; ip -o link show net0; "
                         "ip -o link show net1"], edit=edit)
        c = cid()
        p = rt("run", "--bundle", b, c)
        assert p.returncode == 0, p.stderr
        assert "10.231.250.1/24" in p.stdout  # permanent, global: carried over
        assert "10.231.251.1" not in p.stdout  # link scope: not
        assert "net0@net1" in p.stdout and "net1@net0" in p.stdout
        assert "UP" in p.stdout.split("<")[-1].split(">")[0].split(",")
        # not moved back (config-linux.md): a virtual device dies with the netns
        assert a not in links() and peer not in links()
        # a name that exists in the container: an error, one line
        b2 = make_bundle(["true"], edit=lambda cfg: cfg["linux"].__setitem__(
            "netDevices", {a2: {"name": "lo"}}))
        c2 = cid()
        p = rt("run", "--bundle", b2, c2)
        assert p.returncode != 0
        assert p.stderr.strip().splitlines() == [
            "pyrunc: network: move %s into the container as lo: File exists" % a2], p.stderr
        assert a2 in links()  # still on the host, untouched
        assert not os.path.exists(os.path.join(rt.root, c2))
        # no such device
        b3 = make_bundle(["true"], edit=lambda cfg: cfg["linux"].__setitem__(
            "netDevices", {"pyrunc-nope": {}}))
        p = rt("run", "--bundle", b3, cid())
        assert p.returncode != 0 and "pyrunc-nope: no such device" in p.stderr
    finally:
        for x in (a, peer, a2, peer2):
            ipr_del(x)


def test_bad_annotations_are_one_line_errors(rt, pyrunc_only, make_bundle, cid):
    for ann, text in [({P + "mode": "bridge", P + "mtuu": "1"}, "unknown network annotation"),
                      ({P + "mode": "bridge", P + "mtu": "big"}, "mtu"),
                      ({P + "mode": "tunnel"}, "unknown network mode"),
                      ({P + "bridge": "x"}, "mode"),
                      ({P + "mode": "bridge", P + "ports": "80"}, "HOSTPORT:PORT")]:
        b = make_bundle(["true"], edit=lambda c: c.__setitem__("annotations", ann))
        c = cid()
        p = rt("create", "--bundle", b, c)
        assert p.returncode != 0
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pyrunc: config.json /annotations/")
        assert text in lines[0]
        assert not os.path.exists(os.path.join(rt.root, c))


def test_spec_network_bridge(rt, pyrunc_only, tmp_path):
    p = rt("spec", "--bundle", str(tmp_path), "--network", "bridge")
    assert p.returncode == 0, p.stderr
    cfg = json.load(open(tmp_path / "config.json"))
    assert cfg["annotations"][P + "mode"] == "bridge"
    assert cfg["annotations"][P + "bridge"] == "pyrunc0"
    assert {"type": "network"} in cfg["linux"]["namespaces"]
    os.mkdir(tmp_path / "x")
    p = rt("spec", "--bundle", str(tmp_path / "x"), "--network", "bogus")
    assert p.returncode != 0


def test_failed_create_leaves_no_network(rt, make_bundle, cid, net, tmp_path):
    # The network is set up as soon as init exists. A createRuntime hook runs
    # later and fails (after writing down the bridge's ports, to prove the
    # veth was there): the undo steps must take the veth, leases, rules and
    # bridge. Then an init that fails on its own (no such program), maybe
    # before the network is set up: its error is the one reported.
    before = links()
    seen = str(tmp_path / "seen")

    def failing_hook(c):
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
            "sh", "-c", "ip -o link show master %s > %s; exit 3" % (net.bridge, seen)]}]}
    ann = net.ann(ports="%d:80" % (20000 + net_n(net)), masquerade="true")
    for args, edit, text in ((["true"], failing_hook, "createRuntime"),
                             (["/no/such/program"], None, "/no/such/program")):
        b = net_bundle(make_bundle, args, ann, edit=edit)
        c = cid()
        p = rt("create", "--bundle", b, c)
        assert p.returncode != 0 and "Traceback" not in p.stderr
        assert text in p.stderr
        assert not os.path.exists(os.path.join(rt.root, c))
        assert links() == before
        assert not [t for t in nft_tables() if t.startswith("pyrunc-")]
        assert not net_left(rt)
    assert "veth" in open(seen).read()


def test_bridge_in_a_user_namespace(rt, make_bundle, cid, net):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b = net_bundle(make_bundle, ["sh", "-c", "ip -o addr show eth0; ping -c1 -W3 %s" % net.gw],
                   net.ann(), edit=edit)
    p = rt("run", "--bundle", b, cid())
    assert p.returncode == 0, p.stdout + p.stderr
    assert net.ip(2) + "/24" in p.stdout and "1 packets received" in p.stdout


def test_one_bridge_one_subnet(rt, make_bundle, cid, net):
    rt("create", "--bundle", net_bundle(make_bundle, ["sleep", "10"], net.ann()), cid(),
       check=True)
    other = dict(net.ann(), **{P + "subnet": "10.232.0.0/24"})
    c = cid()
    p = rt("create", "--bundle", net_bundle(make_bundle, ["true"], other), c)
    assert p.returncode != 0
    assert p.stderr.strip().splitlines() == [
        "pyrunc: network: bridge %s has the subnet %s, not 10.232.0.0/24"
        % (net.bridge, net.subnet)]
    assert not os.path.exists(os.path.join(rt.root, c))


def test_existing_bridge_is_used_and_kept(rt, make_bundle, cid, net):
    # a bridge made by someone else: pyrunc adds its gateway address, and at
    # the last delete takes that address off again but leaves the bridge
    subprocess.run(["ip", "link", "add", net.bridge, "type", "bridge"], check=True)
    b = net_bundle(make_bundle, ["sh", "-c", "ping -c1 -W3 %s" % net.gw], net.ann())
    p = rt("run", "--bundle", b, cid())
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 packets received" in p.stdout
    assert net.bridge in links()
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", net.bridge], capture_output=True,
                         text=True, check=True).stdout
    assert net.gw not in out
    assert not net_left(rt)
