"""Cgroups: layout detection and the manager interface (roles: parent).

Layouts: unified (v2 only), legacy (v1 only) and hybrid (v1 controllers plus
an empty cgroup2, as on Debian 12 hosts of this kind): hybrid is treated as v1.

A manager is made from the container's config (``for_config``) or from the
``cgroup`` dict saved in state.json (``from_state``). Interface:

    create()          make the folders (idempotent)
    apply(pid)        move a process we created into the container's cgroup
    set(resources)    write linux.resources
    freeze()/thaw()   pause/resume; frozen() tells
    pids()            every pid in the container's cgroup
    stats()           the runc `events --stats` data
    destroy()         kill what lingers, remove every folder we made
    state()           a JSON-able dict for state.json

cgroupsPath: absolute (under each hierarchy's root), relative (under the
runtime's own cgroup, as runc does) or absent (``pyrunc/<id>``, relative).
Paths never escape the hierarchy: ``..`` components are refused.

Modules: v1 / v2 (managers), v1_resources / v2_resources (linux.resources
writers; ``set(res, update=True)`` leaves device rules alone and rolls back on
failure), devices (the v1 rule semantics and the v2 eBPF device program),
stats (runc's `events --stats` shape, OOM counter), validate (types of an
`update` request). None of them is imported by state/list/kill.
"""
import os

from ..errors import CgroupError

ROOT = "/sys/fs/cgroup"


def mode():
    """'v2', 'v1', or 'hybrid' (v1 with an extra cgroup2 mount)."""
    if os.path.exists(ROOT + "/cgroup.controllers"):
        return "v2"
    if os.path.exists(ROOT + "/unified/cgroup.controllers"):
        return "hybrid"
    return "v1"


def own_cgroups():
    """{controller-or-hierarchy-name: path} of this process (/proc/self/cgroup)."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "":
                out[""] = path
            for c in ctrls.split(","):
                if c:
                    out[c] = path
    return out


def clean_path(path):
    """Normalise a cgroupsPath, refusing any '..' that would climb out."""
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise CgroupError("cgroupsPath %r must not contain '..'" % path)
    return "/".join(parts)


def systemd_unit(path, cid):
    """(slice, unit name) of a systemd cgroupsPath ``slice:prefix:name``
    (runc's form; empty means system.slice:runc:<id>)."""
    if not path:
        path = "system.slice:pyrunc:" + cid
    parts = path.split(":")
    if len(parts) != 3 or "/" in path:
        raise CgroupError('expected cgroupsPath to be of format "slice:prefix:name" for '
                          'systemd cgroups, got %r instead' % path)
    slc, prefix, name = parts
    if slc and not slc.endswith(".slice"):
        raise CgroupError("systemd cgroupsPath %r: %r is not a slice name (*.slice)" % (path, slc))
    if not name:
        raise CgroupError("systemd cgroupsPath %r: the name part is empty" % path)
    unit = name if name.endswith(".slice") else "%s-%s.scope" % (prefix, name) if prefix \
        else name + ".scope"
    return slc or "system.slice", unit


def for_config(config, cid, systemd=False):
    path = (config.get("linux") or {}).get("cgroupsPath") or ""
    if systemd:
        if not os.path.isdir("/run/systemd/system"):
            raise CgroupError("systemd cgroup driver: systemd is not running on this host "
                              "(drop --systemd-cgroup to use cgroupfs)")
        systemd_unit(path, cid)
        raise CgroupError("systemd cgroup driver is not supported yet")
    if mode() == "v2":
        from .v2 import Manager
    else:
        from .v1 import Manager
    if not path:
        # The default: pyrunc/<id> under our own cgroup; pyrunc/ is shared by
        # every container and removed by whichever leaves it empty.
        return Manager.new("pyrunc/" + cid, False, shared_parent=True)
    rel = clean_path(path)
    if not rel:
        # the hierarchy's root, or the runtime's own cgroup: not the
        # container's to fill with limits, kill on delete and remove
        raise CgroupError("cgroupsPath %r names %s, not a cgroup of the container's own"
                          % (path, "the root cgroup" if path.startswith("/")
                             else "pyrunc's own cgroup"))
    return Manager.new(rel, path.startswith("/"))


def from_state(d):
    if not d:
        return None
    if d.get("version") == 2:
        from .v2 import Manager
    else:
        from .v1 import Manager
    return Manager.restore(d)
