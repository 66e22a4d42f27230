"""Container networking, only when the config asks for it (roles: parent).

runc leaves networking to its caller (CNI, netavark, ...). pyrunc does too,
unless the config asks: with no ``org.pyrunc.network.*`` annotation and no
``linux.netDevices`` nothing here runs, no host link is touched and pyroute2
is never imported. A new network namespace always gets ``lo`` up, but that is
the container init's job (init.loopback_up(), one ioctl, no pyroute2).

Annotations (all under ``org.pyrunc.network.``; `pyrunc spec --network
bridge` writes the first three)::

  mode        "bridge" (or "none": nothing but linux.netDevices)
  bridge      host bridge name (default pyrunc0); created when absent
  subnet      IPv4 subnet of the bridge (default 10.117.0.0/24)
  gateway     the bridge's address in it (default: the subnet's first host)
  address     comma-separated addresses for the container, IPv4 and/or IPv6,
              each inside its subnet; a family not given is allocated
  ipv6        "true": IPv6 too (implied by subnet6 or an IPv6 address)
  subnet6     IPv6 subnet (default fd70:7972:756e::/64, a ULA)
  gateway6    the bridge's IPv6 address (default: the subnet's ::1)
  mtu         MTU of both veth ends
  mac         MAC address of the container end
  ifname      name of the container end (default eth0)
  masquerade  "true": source NAT of the container's outbound traffic
  ports       published ports, "HOSTPORT:PORT[/tcp|udp],..." (DNAT of
              connections to any local address of the host, from outside
              and from the host itself)

Bridge mode needs a new network namespace. What create does, right after the
intermediate reports the init's pid (container.create):
  - under the network lock: sweep stale leases, create the bridge if absent
    (gateway addresses, up), take address leases (given or allocated),
  - a veth pair: the host end ``veth<hash>`` on the bridge, the peer created
    straight inside the container's netns (/proc/<init>/ns/net) under its
    final name (so ``eth0`` never clashes with the host's), MTU and MAC,
  - in the container: addresses (IPv6 with NODAD: usable at once), link up,
    default routes via the gateways,
  - masquerade/ports: one nftables table per container and family.
The result (``netstate``) is saved in state.json; teardown() undoes it at
delete and after a failed create.

Leases live under ``<root>/.net`` (the state root's listing skips dot
names)::

  .net/lock                      flock(2), taken for every change below
  .net/bridges/<bridge>.json     subnets, gateways, whether pyrunc made it
  .net/leases/<bridge>/<addr>    {"id", "pid", "start", ...} of the owner
  .net/ports/<proto>-<port>      the same, for a published host port

A lease is written atomically (temp file + link). A lease whose owner is gone
(its state folder removed, or its init dead: a container killed without
delete, a create that was SIGKILLed) is taken back by the next create or
delete on the same root; the stale container's rules go with it. When the
last lease of a bridge goes, the bridge goes too if pyrunc created it (a
bridge that existed before is left, minus the gateway addresses pyrunc added);
when no lease remains at all, ``.net`` itself is removed.

linux.netDevices: each named host interface is moved into the container's
namespace (renamed when ``name`` is given; ``%d`` templates are the kernel's),
its permanent global addresses are carried over (moving drops them) and it is
set up. As config-linux.md requires, it is NOT moved back at delete: when the
namespace dies the kernel returns physical devices to the host and destroys
virtual ones.

Netfilter: the ``nft`` command's JSON input (``nft -j -f -``, see
libnftables-json(5)), not pyroute2.nftables: the JSON schema is nftables' own
maintained, documented interface, a batch is applied as one atomic
transaction, and values from the config (interface names, addresses) are JSON
strings, never parsed as nft syntax. pyroute2's nftables module is marked
experimental and builds expressions at the netlink level. Each container gets
tables ``ip pyrunc-<hash>`` (and ``ip6 ...`` with IPv6), so teardown is one
``delete table``. pyrunc never changes net.ipv4.ip_forward: masquerade and
published ports reached from outside need forwarding, which is the host's
policy (a warning says so when it is off).

pyroute2 is imported only in setup(), so only in the parent (`create`) of a
container that asked, after the container init was forked: its netlink
sockets (close-on-exec, closed before we return) never exist in the
container. teardown() (`delete`) deletes links with one RTM_DELLINK message
of its own (_link_del) and imports no pyroute2 (except to take the gateway
addresses off a bridge pyrunc adopted rather than made). The netlink socket
inside the container's namespace is made by a setns(CLONE_NEWNET) there and
back around socket creation (a socket stays in the namespace it was created
in), instead of pyroute2's netns= option, which forks a helper.

Measured here (median of 8, busy machine): `create` 43 ms plain, ~170-250
ms with a bridge (pyroute2's import is ~125 ms of it); `delete` 18-22 ms
plain, ~34 ms networked, ~90 ms when it also removes the bridge.
"""
import fcntl
import os

from .errors import PyruncError, SpecError
from .spec import NETWORK_PREFIX as PREFIX

KEYS = ("mode", "bridge", "subnet", "gateway", "address", "ipv6", "subnet6", "gateway6",
        "mtu", "mac", "ifname", "masquerade", "ports")
DEFAULT_BRIDGE = "pyrunc0"
DEFAULT_SUBNET = "10.117.0.0/24"
DEFAULT_SUBNET6 = "fd70:7972:756e::/64"
NETDIR = ".net"
IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80
_V6_SCAN = 65536  # addresses tried when allocating from an IPv6 subnet


class NetworkError(PyruncError):
    pass


def _ann(config):
    return config.get("annotations") or {}


def spec_annotations(mode):
    """The annotations `pyrunc spec --network MODE` writes."""
    if mode == "none":
        return {}
    if mode != "bridge":
        raise ValueError("unknown network mode %r (bridge or none)" % mode)
    return {PREFIX + "mode": "bridge", PREFIX + "bridge": DEFAULT_BRIDGE,
            PREFIX + "subnet": DEFAULT_SUBNET}


# --- the plan: annotations checked before anything is made ------------------------

def _ptr(key):
    return "/annotations/" + PREFIX + key


def _bool(ann, key):
    v = ann.get(PREFIX + key)
    if v is None:
        return False
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no", ""):
        return False
    raise SpecError("%r is not a boolean (true or false)" % v, _ptr(key))


def check_ifname(name, where, template=False):
    bad = (not name or len(name) > 15 or name in (".", "..")
           or any(c in name for c in "/: \t\n") or (not template and "%" in name))
    if bad:
        raise SpecError("invalid interface name %r" % (name,), where)
    return name


def parse(config):
    """Check the network part of a config; returns the plan (a dict)."""
    import ipaddress
    ann = _ann(config)
    for k in ann:
        if k.startswith(PREFIX) and k[len(PREFIX):] not in KEYS:
            raise SpecError("unknown network annotation (known: %s)" % ", ".join(KEYS),
                            "/annotations/" + k)
    nss = {n.get("type"): n.get("path") for n in
           (config.get("linux") or {}).get("namespaces") or ()}
    devices = (config.get("linux") or {}).get("netDevices") or {}
    plan = {"mode": None, "devices": {}}
    for host_name, d in devices.items():
        check_ifname(host_name, "/linux/netDevices")
        new = (d or {}).get("name") or host_name
        check_ifname(new, "/linux/netDevices/%s/name" % host_name, template=True)
        plan["devices"][host_name] = new
    if devices and "network" not in nss:
        raise SpecError("netDevices need a network namespace", "/linux/netDevices")
    mode = ann.get(PREFIX + "mode")
    if mode in (None, "none"):
        if mode is None and any(k.startswith(PREFIX) for k in ann):
            raise SpecError("set %smode (bridge or none)" % PREFIX, _ptr("mode"))
        return plan
    if mode != "bridge":
        raise SpecError("unknown network mode %r (bridge or none)" % mode, _ptr("mode"))
    if "network" not in nss or nss["network"]:
        raise SpecError("bridge networking needs a new network namespace "
                        "(a linux.namespaces entry of type network without a path)",
                        _ptr("mode"))
    plan["mode"] = "bridge"
    plan["bridge"] = check_ifname(ann.get(PREFIX + "bridge") or DEFAULT_BRIDGE, _ptr("bridge"))
    plan["ifname"] = check_ifname(ann.get(PREFIX + "ifname") or "eth0", _ptr("ifname"))

    def net(key, default):
        v = ann.get(PREFIX + key)
        if v is None:
            return default
        try:
            n = ipaddress.ip_network(v, strict=False)
        except ValueError as e:
            raise SpecError(str(e), _ptr(key))
        if n.version != (6 if key.endswith("6") else 4):
            raise SpecError("%s is not an IPv%d subnet" % (v, 6 if key.endswith("6") else 4),
                            _ptr(key))
        if n.num_addresses < 4:
            raise SpecError("%s is too small for a gateway and a container" % v, _ptr(key))
        return str(n)

    def addr(key, subnet):
        v = ann.get(PREFIX + key)
        if v is None:
            return None
        try:
            a = ipaddress.ip_address(v)
        except ValueError as e:
            raise SpecError(str(e), _ptr(key))
        if subnet and a not in ipaddress.ip_network(subnet):
            raise SpecError("%s is not in the subnet %s" % (v, subnet), _ptr(key))
        return str(a)

    plan["subnet"] = net("subnet", None)  # None: the bridge's, or the default
    plan["gateway"] = addr("gateway", plan["subnet"])
    plan["subnet6"] = net("subnet6", None)
    plan["gateway6"] = addr("gateway6", plan["subnet6"])
    addresses = []
    for a in (ann.get(PREFIX + "address") or "").split(","):
        a = a.strip()
        if not a:
            continue
        try:
            addresses.append(str(ipaddress.ip_interface(a).ip))
        except ValueError as e:
            raise SpecError(str(e), _ptr("address"))
    for a in addresses:
        subnet = plan["subnet6"] if ":" in a else plan["subnet"]
        if subnet and ipaddress.ip_address(a) not in ipaddress.ip_network(subnet):
            raise SpecError("address %s is not a usable host of %s" % (a, subnet),
                            _ptr("address"))
    plan["addresses"] = addresses
    plan["ipv6"] = (_bool(ann, "ipv6") or bool(plan["subnet6"])
                    or any(":" in a for a in addresses))
    mtu = ann.get(PREFIX + "mtu")
    if mtu is not None:
        if not mtu.isdigit() or not 68 <= int(mtu) <= 65535:
            raise SpecError("mtu %r: a number from 68 to 65535" % mtu, _ptr("mtu"))
        mtu = int(mtu)
    plan["mtu"] = mtu
    mac = ann.get(PREFIX + "mac")
    if mac is not None:
        parts = mac.split(":")
        if len(parts) != 6 or not all(len(p) == 2 and
                                      all(c in "0123456789abcdefABCDEF" for c in p)
                                      for p in parts) or int(parts[0], 16) & 1:
            raise SpecError("mac %r: six hex pairs, not multicast" % mac, _ptr("mac"))
        mac = mac.lower()
    plan["mac"] = mac
    plan["masquerade"] = _bool(ann, "masquerade")
    ports = []
    for p in (ann.get(PREFIX + "ports") or "").split(","):
        p = p.strip()
        if not p:
            continue
        spec_, _, proto = p.partition("/")
        proto = proto or "tcp"
        hp, _, cp = spec_.partition(":")
        if proto not in ("tcp", "udp") or not (hp.isdigit() and cp.isdigit()) or \
                not (0 < int(hp) < 65536 and 0 < int(cp) < 65536):
            raise SpecError("port %r: HOSTPORT:PORT[/tcp|udp]" % p, _ptr("ports"))
        ports.append([proto, int(hp), int(cp)])
    plan["ports"] = ports
    return plan


# --- netlink, through pyroute2 -----------------------------------------------------

class _Step:
    """Turn a netlink error into one line: "network: <what>: <why>"."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, typ, e, tb):
        if e is None or not isinstance(e, Exception) or isinstance(e, PyruncError):
            return False
        code = getattr(e, "code", None) or getattr(e, "errno", None) or 0
        why = os.strerror(code) if code else str(e)
        raise NetworkError("network: %s: %s" % (self.what, why)) from e


def _iproute():
    try:
        from pyroute2 import IPRoute  # ~100-200 ms: only for containers that ask
    except ImportError:
        raise NetworkError("network: pyroute2 is not installed (pip install pyroute2)")
    return IPRoute()


def _iproute_in(nsfd):
    """A netlink socket in the namespace nsfd: setns there, create, setns back."""
    from . import _native
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _native.setns(nsfd, _native.CLONE_NEWNET)
        try:
            return _iproute()
        finally:
            _native.setns(here, _native.CLONE_NEWNET)
    finally:
        os.close(here)


def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _link_del(name):
    """RTM_DELLINK by name on a plain netlink socket, so that delete needs no
    pyroute2 (~120 ms of imports). False when there is no such link (a veth
    also goes away with the container's namespace)."""
    import errno
    import socket
    import struct
    nm = name.encode() + b"\0"
    attr = struct.pack("HH", 4 + len(nm), 3) + nm  # IFLA_IFNAME
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("BxHiII", 0, 0, 0, 0, 0) + attr  # struct ifinfomsg
    hdr = struct.pack("IHHII", 16 + len(body), 17, 0x1 | 0x4, 1, 0)  # RTM_DELLINK, REQUEST|ACK
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0) as s:
        s.send(hdr + body)
        data = s.recv(65536)
    if struct.unpack_from("H", data, 4)[0] == 2:  # NLMSG_ERROR: the ack
        err = -struct.unpack_from("i", data, 16)[0]
        if err == errno.ENODEV:
            return False
        if err:
            raise OSError(err, "delete link %s: %s" % (name, os.strerror(err)))
    return True


def _names(root, cid):
    import hashlib
    h = hashlib.sha256((os.path.realpath(root) + "\0" + cid).encode()).hexdigest()
    return "veth" + h[:11], "pyrunc-" + h[:16]


# --- leases --------------------------------------------------------------------------

class _Lock:
    """flock on <root>/.net/lock. The file is removed (under the lock) with .net
    when the last lease goes, so after locking we check that the path still
    names the file we hold; if not, someone tidied it away: start over."""

    def __init__(self, root):
        self.dir = os.path.join(root, NETDIR)
        self.fd = -1

    def __enter__(self):
        path = os.path.join(self.dir, "lock")
        while True:
            try:
                os.mkdir(self.dir, 0o700)
            except FileExistsError:
                pass
            except FileNotFoundError:  # no state root yet
                os.makedirs(os.path.dirname(self.dir), 0o711, exist_ok=True)
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:  # tidied away between the two: again
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return self
            os.close(fd)

    def __exit__(self, *a):
        os.close(self.fd)
        self.fd = -1

    def sub(self, *parts):
        return os.path.join(self.dir, *parts)


def _read_json(path):
    from . import jsonio
    try:
        with open(path, "rb") as f:
            return jsonio.loads(f.read())
    except (OSError, ValueError):
        return None


def _write_json(path, data, exclusive=False):
    """Atomically: a temp file, then link (exclusive) or rename over."""
    from . import jsonio
    d = os.path.dirname(path)
    os.makedirs(d, 0o700, exist_ok=True)
    tmp = os.path.join(d, ".tmp.%d" % os.getpid())
    with open(tmp, "w") as f:
        f.write(jsonio.dumps(data))
    try:
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _entries(d):
    try:
        return [n for n in os.listdir(d) if not n.startswith(".")]
    except FileNotFoundError:
        return []


def _all_leases(lk):
    """[(path, owner dict)] of every address and port lease."""
    out = []
    for b in _entries(lk.sub("leases")):
        for a in _entries(lk.sub("leases", b)):
            out.append(lk.sub("leases", b, a))
    out += [lk.sub("ports", p) for p in _entries(lk.sub("ports"))]
    return [(p, _read_json(p) or {}) for p in out]


def _owner(root, lease):
    """alive, gone (state folder removed), stopped (its init died, folder
    still there), other (the folder is a newer container's with that id)."""
    from . import state as state_mod
    cid = lease.get("id")
    try:
        state_mod.validate_id(cid)
    except Exception:
        return "gone"
    if not os.path.isdir(os.path.join(root, cid)):
        return "gone"
    s = state_mod.proc_stat(lease.get("pid") or 0) if lease.get("pid") else None
    if s is not None and s[0] not in ("Z", "X") and s[1] == lease.get("start"):
        return "alive"
    data = _read_json(os.path.join(root, cid, state_mod.STATE_FILE)) or {}
    return "stopped" if data.get("pid") == lease.get("pid") else "other"


def _sweep(root, lk, warn):
    """Take back the leases of containers that died without delete."""
    done = set()
    for path, lease in _all_leases(lk):
        how = _owner(root, lease)
        if how == "alive":
            continue
        cid = lease.get("id")
        if how in ("gone", "stopped") and isinstance(cid, str) and cid not in done:
            done.add(cid)
            veth, table = _names(root, cid)
            try:
                _link_del(veth)
                if lease.get("rules"):
                    _nft_delete(table)
            except Exception as e:
                _warn(warn, "network: cleaning up after dead container %s: %s" % (cid, e))
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _tidy(lk):
    """Remove empty lease folders; .net itself when no lease remains."""
    for b in _entries(lk.sub("leases")):
        try:
            os.rmdir(lk.sub("leases", b))
        except OSError:
            pass
    if _entries(lk.sub("leases")) or _entries(lk.sub("ports")):
        return
    import shutil
    for d in ("leases", "ports", "bridges"):
        shutil.rmtree(lk.sub(d), ignore_errors=True)
    for n in os.listdir(lk.dir):
        if n != "lock":
            try:
                os.unlink(lk.sub(n))
            except OSError:
                pass
    os.unlink(lk.sub("lock"))  # waiters notice the inode is gone and start over
    try:
        os.rmdir(lk.dir)
    except OSError:
        pass


def _warn(warn, msg):
    if warn:
        warn(msg)


# --- the bridge and its addresses ------------------------------------------------------

def _ensure_bridge(lk, ipr, plan):
    """Make the bridge (or adopt an existing one); returns its record."""
    import ipaddress
    name = plan["bridge"]
    mpath = lk.sub("bridges", name + ".json")
    meta = _read_json(mpath)
    idx = _index(ipr, name)
    if meta is None:
        meta = {"created": idx is None, "added": []}
    elif idx is None:
        meta["created"], meta["added"] = True, []  # removed behind our back: again
    if idx is None:
        with _Step("create bridge %s" % name):
            ipr.link("add", ifname=name, kind="bridge")
            idx = _index(ipr, name)
    else:
        info = ipr.get_links(idx)[0].get_attr("IFLA_LINKINFO")
        if info is None or info.get_attr("IFLA_INFO_KIND") != "bridge":
            raise NetworkError("network: %s exists and is not a bridge" % name)
    families = [("", plan["subnet"], plan["gateway"], DEFAULT_SUBNET, 4)]
    if plan["ipv6"]:
        families.append(("6", plan["subnet6"], plan["gateway6"], DEFAULT_SUBNET6, 6))
    have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx)}
    for suffix, subnet, gateway, default, version in families:
        known = meta.get("subnet" + suffix)
        if known and subnet and subnet != known:
            raise NetworkError("network: bridge %s has the subnet %s, not %s"
                               % (name, known, subnet))
        if known and gateway and gateway != meta.get("gateway" + suffix):
            raise NetworkError("network: bridge %s has the gateway %s, not %s"
                               % (name, meta.get("gateway" + suffix), gateway))
        subnet = known or subnet or default
        net = ipaddress.ip_network(subnet)
        gateway = meta.get("gateway" + suffix) or gateway or str(net.network_address + 1)
        meta["subnet" + suffix], meta["gateway" + suffix] = subnet, gateway
        if (gateway, net.prefixlen) not in have:
            with _Step("add address %s/%d to bridge %s" % (gateway, net.prefixlen, name)):
                ipr.addr("add", index=idx, address=gateway, prefixlen=net.prefixlen,
                         **({"flags": IFA_F_NODAD} if version == 6 else {}))
            if not meta["created"]:
                meta["added"].append([gateway, net.prefixlen])
    with _Step("set bridge %s up" % name):
        ipr.link("set", index=idx, state="up")
    _write_json(mpath, meta)
    return meta, idx


def _gc_bridges(lk, warn, keep=None):
    for n in _entries(lk.sub("bridges")):
        if n.endswith(".json") and n[:-5] != keep:
            _remove_bridge_if_unused(lk, n[:-5], warn)


def _remove_bridge_if_unused(lk, name, warn):
    if _entries(lk.sub("leases", name)):
        return
    mpath = lk.sub("bridges", name + ".json")
    meta = _read_json(mpath)
    if meta is None:
        return
    try:
        if meta.get("created"):
            _link_del(name)
        elif meta.get("added"):  # a bridge we adopted: only our addresses go
            ipr = _iproute()
            try:
                idx = _index(ipr, name)
                for a, plen in meta["added"] if idx is not None else ():
                    try:
                        ipr.addr("del", index=idx, address=a, prefixlen=plen)
                    except Exception:
                        pass
            finally:
                ipr.close()
    except Exception as e:
        _warn(warn, "network: remove bridge %s: %s" % (name, e))
    try:
        os.unlink(mpath)
    except FileNotFoundError:
        pass


def _take_addresses(lk, plan, meta, owner, netstate):
    """Lease the given addresses, allocate the missing families; returns
    [(address, prefixlen)]."""
    import ipaddress
    d = lk.sub("leases", plan["bridge"])
    out = []
    families = [(4, meta["subnet"], meta["gateway"])]
    if plan["ipv6"]:
        families.append((6, meta["subnet6"], meta["gateway6"]))
    for version, subnet, gateway in families:
        net = ipaddress.ip_network(subnet)
        given = [ipaddress.ip_address(a) for a in plan["addresses"]
                 if ipaddress.ip_address(a).version == version]
        for a in given:
            if a not in net or a in (net.network_address, ipaddress.ip_address(gateway)) or \
                    (version == 4 and a == net.broadcast_address):
                raise NetworkError("network: address %s is not a usable host of %s"
                                   % (a, subnet))
        if not given:
            gw = ipaddress.ip_address(gateway)
            hosts = net.hosts() if version == 4 else _v6_hosts(net)
            for a in hosts:
                if a != gw and not os.path.exists(os.path.join(d, str(a))):
                    given = [a]
                    break
            else:
                raise NetworkError("network: no free address left in %s" % subnet)
        for a in given:
            path = os.path.join(d, str(a))
            try:
                _write_json(path, owner, exclusive=True)
            except FileExistsError:
                other = (_read_json(path) or {}).get("id")
                raise NetworkError("network: address %s is in use by container %s"
                                   % (a, other))
            netstate.setdefault("leases", []).append(os.path.relpath(path, lk.dir))
            out.append((str(a), net.prefixlen))
    return out


def _v6_hosts(net):
    first = int(net.network_address) + 1
    last = min(int(net.broadcast_address), first + _V6_SCAN)
    import ipaddress
    return (ipaddress.IPv6Address(i) for i in range(first, last + 1))


def _take_ports(lk, plan, owner, netstate):
    for proto, hp, cp in plan["ports"]:
        path = lk.sub("ports", "%s-%d" % (proto, hp))
        try:
            _write_json(path, owner, exclusive=True)
        except FileExistsError:
            other = (_read_json(path) or {}).get("id")
            raise NetworkError("network: host port %d/%s is published by container %s"
                               % (hp, proto, other))
        netstate.setdefault("leases", []).append(os.path.relpath(path, lk.dir))


# --- nftables --------------------------------------------------------------------------

def _nft(batch):
    import shutil
    import subprocess
    from . import jsonio
    nft = shutil.which("nft") or "/usr/sbin/nft"
    if not os.path.exists(nft):
        raise NetworkError("network: masquerade and ports need the nft command "
                           "(Debian: apt-get install nftables)")
    p = subprocess.run([nft, "-j", "-f", "-"], input=jsonio.dumps({"nftables": batch}),
                       capture_output=True, text=True, close_fds=True)
    if p.returncode:
        raise NetworkError("network: nft: %s" % (p.stderr.strip().splitlines() or ["failed"])[0])


def _nft_rules(table, bridge, addrs, masquerade, ports):
    batch = []
    for family, proto in (("ip", "ip"), ("ip6", "ip6")):
        mine = [a for a, _ in addrs if (":" in a) == (family == "ip6")]
        if not mine:
            continue
        T = {"family": family, "table": table}
        batch.append({"add": {"table": {"family": family, "name": table}}})
        chains = []
        if masquerade:
            chains.append(("postrouting", "postrouting", 100))
        if ports:
            chains += [("prerouting", "prerouting", -100), ("output", "output", -100)]
        for name, hook, prio in chains:
            batch.append({"add": {"chain": dict(T, name=name, type="nat", hook=hook,
                                                prio=prio, policy="accept")}})
        if masquerade:
            for a in mine:
                batch.append({"add": {"rule": dict(T, chain="postrouting", expr=[
                    {"match": {"op": "==", "left": {"payload": {"protocol": proto,
                                                                "field": "saddr"}},
                               "right": a}},
                    {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}},
                               "right": bridge}},
                    {"masquerade": None}])}})
        for l4, hp, cp in ports:
            for chain in ("prerouting", "output"):
                batch.append({"add": {"rule": dict(T, chain=chain, expr=[
                    {"match": {"op": "==", "left": {"fib": {"result": "type",
                                                            "flags": ["daddr"]}},
                               "right": "local"}},
                    {"match": {"op": "==", "left": {"payload": {"protocol": l4,
                                                                "field": "dport"}},
                               "right": hp}},
                    {"dnat": {"addr": mine[0], "port": cp}}])}})
    return batch


def _nft_delete(table):
    import subprocess
    import shutil
    nft = shutil.which("nft") or "/usr/sbin/nft"
    if not os.path.exists(nft):
        return
    from . import jsonio
    p = subprocess.run([nft, "-j", "list", "tables"], capture_output=True, text=True,
                       close_fds=True)
    if p.returncode:
        raise NetworkError("network: nft list tables: %s" % p.stderr.strip())
    batch = []
    for item in jsonio.loads(p.stdout).get("nftables", ()):
        t = item.get("table")
        if t and t.get("name") == table:
            batch.append({"delete": {"table": {"family": t["family"], "name": table}}})
    if batch:
        _nft(batch)


def _forwarding_off():
    try:
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            return f.read().strip() == "0"
    except OSError:
        return False


# --- setup and teardown ------------------------------------------------------------------

def setup(root, cid, config, init_pid, warn=None):
    """Network the container whose init is ``init_pid``; returns the netstate
    that teardown() takes. On failure, undoes what it did and raises."""
    from . import state as state_mod
    plan = parse(config)
    if not plan["devices"] and plan["mode"] is None:
        return {}  # mode=none: nothing to do, no pyroute2
    # If the init died already (it failed early), there is nothing to network:
    # create goes on to read and report the init's own error.
    st = state_mod.proc_stat(init_pid)
    if st is None or st[0] in ("Z", "X"):
        return {}
    netstate = {"pid": init_pid, "start": st[1]}
    host = ctr = None
    try:
        nsfd = os.open("/proc/%d/ns/net" % init_pid, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError):
        return {}
    try:
        with _Step("netlink"):
            host = _iproute()
            ctr = _iproute_in(nsfd)
        if plan["devices"]:
            _move_devices(host, ctr, nsfd, plan["devices"], netstate)
        if plan["mode"] == "bridge":
            _bridge_setup(root, cid, plan, host, ctr, nsfd, netstate, warn)
        return netstate
    except BaseException as e:
        try:
            teardown(root, cid, netstate, warn)
        except Exception as e2:
            _warn(warn, "network: cleanup after failed setup: %s" % e2)
        s = state_mod.proc_stat(init_pid)
        if isinstance(e, Exception) and (s is None or s[0] in ("Z", "X")):
            return {}  # the init died under us: its error is the one to report
        raise
    finally:
        for s in (ctr, host):
            if s is not None:
                s.close()
        os.close(nsfd)


def _move_devices(host, ctr, nsfd, devices, netstate):
    for name, new in devices.items():
        idx = _index(host, name)
        if idx is None:
            raise NetworkError("network: netDevices %s: no such device on the host" % name)
        # Moving drops the addresses: keep the permanent, global ones.
        keep = []
        for a in host.get_addr(index=idx):
            flags = a.get_attr("IFA_FLAGS") or a["flags"]
            if a["scope"] == 0 and flags & IFA_F_PERMANENT:
                keep.append((a.get_attr("IFA_ADDRESS"), a["prefixlen"]))
        # The kernel moves first and renames after: a clash would leave the
        # device in the container under its host name. Check before moving.
        if "%" not in new and _index(ctr, new) is not None:
            raise NetworkError("network: move %s into the container as %s: %s"
                               % (name, new, os.strerror(17)))
        before = {l["index"] for l in ctr.get_links()}
        with _Step("move %s into the container as %s" % (name, new)):
            host.link("set", index=idx, net_ns_fd=nsfd, ifname=new)
        # the one new link there (its index may change, a %d name is the kernel's)
        found = [l for l in ctr.get_links() if l["index"] not in before]
        if len(found) != 1:
            raise NetworkError("network: %s: not found in the container after the move" % name)
        cidx = found[0]["index"]
        got = found[0].get_attr("IFLA_IFNAME")
        netstate.setdefault("devices", []).append({"host": name, "name": got})
        for a, plen in keep:
            with _Step("add address %s/%d to %s" % (a, plen, got)):
                ctr.addr("add", index=cidx, address=a, prefixlen=plen,
                         **({"flags": IFA_F_NODAD} if ":" in a else {}))
        with _Step("set %s up" % got):
            ctr.link("set", index=cidx, state="up")


def _bridge_setup(root, cid, plan, host, ctr, nsfd, netstate, warn):
    veth, table = _names(root, cid)
    bridge = plan["bridge"]
    rules = plan["masquerade"] or bool(plan["ports"])
    owner = {"id": cid, "pid": netstate["pid"], "start": netstate["start"], "rules": rules}
    netstate.update(bridge=bridge, ifname=plan["ifname"])
    # Under the lock from the sweep to the veth on the bridge: a delete of the
    # bridge's last other container must not remove the bridge meanwhile.
    # (A failure here is undone by teardown(), which takes the lock again.)
    with _Lock(root) as lk:
        _sweep(root, lk, warn)
        _gc_bridges(lk, warn, keep=bridge)
        meta, bidx = _ensure_bridge(lk, host, plan)
        addrs = _take_addresses(lk, plan, meta, owner, netstate)
        _take_ports(lk, plan, owner, netstate)
        netstate["addresses"] = ["%s/%d" % a for a in addrs]
        peer = {"ifname": plan["ifname"], "net_ns_fd": nsfd}
        if plan["mtu"]:
            peer["mtu"] = plan["mtu"]
        if plan["mac"]:
            peer["address"] = plan["mac"]
        with _Step("create veth %s (%s in the container)" % (veth, plan["ifname"])):
            host.link("add", ifname=veth, kind="veth", peer=peer)
        netstate["veth"] = veth
        with _Step("attach %s to %s" % (veth, bridge)):
            hidx = _index(host, veth)
            kw = {"mtu": plan["mtu"]} if plan["mtu"] else {}
            host.link("set", index=hidx, master=bidx, state="up", **kw)
    cidx = _index(ctr, plan["ifname"])
    for a, plen in addrs:
        with _Step("add address %s/%d to %s" % (a, plen, plan["ifname"])):
            ctr.addr("add", index=cidx, address=a, prefixlen=plen,
                     **({"flags": IFA_F_NODAD} if ":" in a else {}))
    with _Step("set %s up" % plan["ifname"]):
        ctr.link("set", index=cidx, state="up")
    for gw in {meta["gateway6"] if ":" in a else meta["gateway"] for a, _ in addrs}:
        with _Step("default route via %s" % gw):
            ctr.route("add", gateway=gw, oif=cidx)
    if rules:
        netstate["table"] = table
        _nft(_nft_rules(table, bridge, addrs, plan["masquerade"], plan["ports"]))
        if _forwarding_off():
            _warn(warn, "network: net.ipv4.ip_forward is 0: masqueraded and published "
                        "traffic from outside the host is not forwarded")


def teardown(root, cid, netstate, warn=None):
    """Undo setup(): host veth, nftables tables, leases; the bridge when its
    last lease goes (if pyrunc made it). Best effort: failures are warned
    about, so that delete always finishes. netDevices are left to the kernel.
    No pyroute2 here (but for an adopted bridge's addresses): see _link_del."""
    if not netstate or not (netstate.get("bridge") or netstate.get("leases")):
        return
    if netstate.get("veth"):
        try:
            _link_del(netstate["veth"])
        except OSError as e:
            _warn(warn, "network: %s" % e.strerror)
    if netstate.get("table"):
        try:
            _nft_delete(netstate["table"])
        except Exception as e:
            _warn(warn, "network: delete rules: %s" % e)
    with _Lock(root) as lk:
        for rel in netstate.get("leases") or ():
            path = lk.sub(rel)
            lease = _read_json(path) or {}
            if lease.get("id") == cid and lease.get("pid") == netstate.get("pid"):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        _sweep(root, lk, warn)
        _gc_bridges(lk, warn)
        _tidy(lk)
