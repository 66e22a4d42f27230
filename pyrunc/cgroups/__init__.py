"""Cgroups: layout detection and the manager interface (roles: parent).

Layouts: unified (v2 only), legacy (v1 only) and hybrid (v1 controllers plus
an empty cgroup2, as on Debian 12 hosts of this kind): hybrid is treated as v1.

A manager is made from the container's config (``for_config``) or from the
``cgroup`` dict saved in state.json (``from_state``). Interface:

    create()          make the folders (idempotent)
    join_files()      open the files through which a child of ours moves
                      itself in later (join_self below)
    set(resources)    write linux.resources
    freeze()/thaw()   pause/resume; frozen() tells
    pids()            every pid in the container's cgroup
    stats()           the runc `events --stats` data
    destroy()         kill what lingers, remove every folder we made
    state()           a JSON-able dict for state.json

cgroupsPath: absolute (under each hierarchy's root), relative (under the
runtime's own cgroup, as runc does) or absent (``pyrunc-<id>``, relative).
Paths never escape the hierarchy: ``..`` components are refused.

Modules: v1 / v2 (managers), v1_resources / v2_resources (linux.resources
writers; ``set(res, update=True)`` leaves device rules alone and rolls back on
failure), devices (the v1 rule semantics and the v2 eBPF device program),
stats (runc's `events --stats` shape, OOM counter), validate (types of an
`update` request). None of them is imported by state/list/kill.
"""
from .. import _os as os  # posix without os's import cost (_os.py)

from .. import errors  # errors.X where raised or caught: the classes are made on first use

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
        raise errors.CgroupError("cgroupsPath %r must not contain '..'" % path)
    return "/".join(parts)


def systemd_unit(path, cid):
    """(slice, unit name) of a systemd cgroupsPath ``slice:prefix:name``
    (runc's form; empty means system.slice:runc:<id>)."""
    if not path:
        path = "system.slice:pyrunc:" + cid
    parts = path.split(":")
    if len(parts) != 3 or "/" in path:
        raise errors.CgroupError('expected cgroupsPath to be of format "slice:prefix:name" for '
                          'systemd cgroups, got %r instead' % path)
    slc, prefix, name = parts
    if slc and not slc.endswith(".slice"):
        raise errors.CgroupError("systemd cgroupsPath %r: %r is not a slice name (*.slice)" % (path, slc))
    if not name:
        raise errors.CgroupError("systemd cgroupsPath %r: the name part is empty" % path)
    unit = name if name.endswith(".slice") else "%s-%s.scope" % (prefix, name) if prefix \
        else name + ".scope"
    return slc or "system.slice", unit


def for_config(config, cid, systemd=False):
    path = (config.get("linux") or {}).get("cgroupsPath") or ""
    if systemd:
        if not os.path.isdir("/run/systemd/system"):
            raise errors.CgroupError("systemd cgroup driver: systemd is not running on this host "
                              "(drop --systemd-cgroup to use cgroupfs)")
        systemd_unit(path, cid)
        raise errors.CgroupError("systemd cgroup driver is not supported yet")
    if mode() == "v2":
        from .v2 import Manager
    else:
        from .v1 import Manager
    if not path:
        # The default: pyrunc-<id> under our own cgroup, where runc puts <id>;
        # the prefix keeps an id from naming a cgroup that is not the
        # container's (a sibling such as system.slice). Flat, as runc's: a
        # shared pyrunc/ parent cost a mkdir and an rmdir per hierarchy on
        # every create and delete that found it absent or left it empty.
        return Manager.new("pyrunc-" + cid, False)
    rel = clean_path(path)
    if not rel:
        # the hierarchy's root, or the runtime's own cgroup: not the
        # container's to fill with limits, kill on delete and remove
        raise errors.CgroupError("cgroupsPath %r names %s, not a cgroup of the container's own"
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


# --- joining: a process moves itself ----------------------------------------
# The container's processes are never moved by pid. The parent opens the
# files (join_files) and the child, forked with them, writes "0" (= the
# writer) into each (join_self). Why: a write that names a pid, or that moves
# a whole thread group (cgroup.procs), takes cgroup_threadgroup_rwsem for
# writing, and the first such writer after a quiet spell waits for an RCU
# grace period (~6-13 ms on this VM; runc pays it on every create and exec).
# A thread that moves only itself through a v1 ``tasks`` file needs
# cgroup_mutex alone (kernel/cgroup/cgroup.c, cgroup_procs_write_start: "If
# the thread is `current`... we can skip the global lock"): ~0.1 ms. Our
# children are forked, so single-threaded: the thread is the whole process.
# v2 has no such file for domain cgroups; cgroup.procs with "0" is the same
# move the parent would make. The kernel checks the write with the opener's
# credentials and cgroup namespace (of->file->f_cred), so the child may
# already be in a user namespace of its own.

def open_join_files(version, dirs):
    """[(fd, folder)] opened O_CLOEXEC for join_self; the caller closes them
    (close_join) once its children have their copies."""
    name = "tasks" if version == 1 else "cgroup.procs"
    out = []
    for d in dirs:
        try:
            out.append((os.open(os.path.join(d, name), os.O_WRONLY | os.O_CLOEXEC), d))
        except OSError as e:
            close_join(out)
            raise errors.CgroupError("join cgroup %s: %s" % (d, e.strerror))
    return out


def join_self(files):
    """Move the calling single-threaded process into every cgroup of
    ``files`` (from open_join_files), then close them."""
    try:
        for fd, d in files:
            try:
                os.write(fd, b"0")
            except OSError as e:
                raise errors.CgroupError("join cgroup %s: %s" % (d, e.strerror))
    finally:
        close_join(files)


def close_join(files):
    """Close what open_join_files opened; empties the list (idempotent)."""
    while files:
        os.close(files.pop()[0])
