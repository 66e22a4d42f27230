"""The library API: create, start, state, kill, delete, run, list (roles: parent).

The CLI (cli.py) calls these one-to-one; tests and Python users import them.
Every function takes the state root first. Errors are PyruncError subclasses
(errors.py) or OSError with a message naming what failed.

create() lives in create.py (the parent side of the process model), loaded
on first use of ``container.create``: the short commands (state, start, kill,
delete) then unmarshal half the code (~0.15 ms a start, with cli_extra.py).
"""
from . import _os as os  # posix without os's import cost (_os.py)
import time

from . import state as state_mod
from . import errors  # errors.X where raised or caught: the classes are made on first use

DEFAULT_ROOT = "/run/pyrunc"


def _noop(msg):
    pass


def __getattr__(name):
    """container.create: from create.py, on first use (see above)."""
    if name == "create":
        from .create import create
        return create
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _poststop(st, warn):
    poststop = (st.data.get("hooks") or {}).get("poststop")
    if poststop:
        from . import hooks  # not on every delete: it costs an import of select
        hooks.run_warn(poststop, st.hook_state("stopped"), "poststop", warn)


def load(root, cid):
    return state_mod.Container(root, cid).load()


def _load_locked(root, cid):
    """The state read once, under the container's lock (start, delete)."""
    st = state_mod.Container(root, cid).lock()
    try:
        return st.load()
    except BaseException:
        st.unlock()
        raise


def start(root, cid, warn=_noop):
    st = _load_locked(root, cid)
    try:
        status = st.status()
        if status == "stopped":
            raise errors.InvalidStateError("cannot start a container that has stopped")
        if status != "created":
            raise errors.InvalidStateError("cannot start an already running container")
        _release_init(st)
        poststart = (st.data.get("hooks") or {}).get("poststart")
        if poststart:
            from . import hooks
            try:
                hooks.run(poststart, st.hook_state("running"), "poststart")
            except errors.PyruncError:
                _signal(st, 9)
                raise
    finally:
        st.unlock()


def _release_init(st):
    """Let init exec, and return once it has.

    Init blocks opening exec.fifo for writing; our open (read side) releases
    it. It then runs the startContainer hooks, writes "0" and keeps its end
    open with O_CLOEXEC, so the end-of-file that follows the byte means
    execve happened (or init died: then the program never started). The
    open is non-blocking (a dead init must not hang us), the reads are
    blocking (no poll: `select` is a module to make on every start). Before
    init's open completes there is no writer and a read returns end-of-file
    at once: those early EOFs are waited out while init lives."""
    fd = os.open(st.fifo_path(), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    got = failed = False
    delay = 0.0002
    try:
        os.set_blocking(fd, True)
        while True:
            data = os.read(fd, 16)
            if data:
                got = got or b"0" in data
                failed = failed or b"1" in data  # init's exec failed (init.py)
                continue
            if got:
                break  # init's end closed at execve (or it died)
            if not st.init_alive():
                raise errors.InvalidStateError("container init exited before start")
            time.sleep(delay)  # init has not opened its end yet (a stopped init: back off)
            delay = min(delay * 2, 0.05)
    finally:
        os.close(fd)
        try:
            os.unlink(st.fifo_path())
        except FileNotFoundError:
            pass
    # Not init_alive(): a fast program (/bin/true) may be gone already.
    if failed:
        raise errors.InvalidStateError("container process failed to start (see its stderr)")


def state(root, cid):
    return load(root, cid).oci_state()


def list_containers(root):
    out = []
    for cid in state_mod.list_ids(root):
        try:
            st = load(root, cid)
        except errors.ContainerNotFoundError:
            continue  # deleted meanwhile
        s = st.oci_state()
        s["owner"] = st.owner()
        out.append(s)
    return out


def _signal(st, sig):
    """Signal the init through a pidfd, so a recycled pid is never hit.

    os.pidfd_open and _signal.pidfd_send_signal (C, already loaded at start-up)
    instead of the native shim: `kill` then loads no cffi module at all."""
    import _signal
    if not st.pid:
        raise errors.NotRunningError()  # still creating, or a create that was killed
    try:
        pfd = os.pidfd_open(st.pid)
    except OSError as e:
        if e.errno == 3:
            raise errors.NotRunningError()
        raise
    try:
        if not st.init_alive():  # checked after the pidfd pins the process
            raise errors.NotRunningError()
        _signal.pidfd_send_signal(pfd, sig)
    finally:
        os.close(pfd)


def kill(root, cid, sig=15, all_procs=False):
    st = load(root, cid)
    status = st.status()
    # --all reaches what is left in the cgroup even once init is gone (a
    # container without its own pid namespace can outlive its init), as runc
    if status == "stopped" and not all_procs:
        raise errors.NotRunningError()
    if all_procs or (sig == 9 and not st.data.get("pidns")):
        from . import cgroups
        cg = cgroups.from_state(st.data.get("cgroup"))
        for p in cg.pids():
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        if status == "paused" and sig == 9:
            cg.thaw()
        return
    _signal(st, sig)
    if status == "paused" and sig == 9:
        from . import cgroups
        cgroups.from_state(st.data.get("cgroup")).thaw()


def delete(root, cid, force=False, warn=_noop):
    try:
        st = _load_locked(root, cid)
    except errors.ContainerNotFoundError:
        if force:
            state_mod.validate_id(cid)
            # a folder without state.json: a create that was killed midway
            state_mod.Container(root, cid).remove_dir()
            return
        raise
    try:
        status = st.status()
        if status in ("running", "paused") and not force:
            raise errors.InvalidStateError("cannot delete container %s that is not stopped: %s"
                                    % (cid, status))
        _destroy(st, status, warn)
    finally:
        st.unlock()


def _destroy(st, status, warn):
    from . import cgroups
    cg = cgroups.from_state(st.data.get("cgroup"))
    if status != "stopped":
        try:
            _signal(st, 9)
        except errors.NotRunningError:
            pass
        if cg and cg.frozen():
            cg.thaw()
        _wait_gone(st.pid, st.data.get("start_time"))
    if cg:
        cg.destroy()
    if st.data.get("network"):
        from . import network
        network.teardown(st.root, st.id, st.data["network"], warn)
    _poststop(st, warn)
    st.remove_dir()


def _wait_gone(pid, start_time, timeout=10.0):
    """Until ``pid`` has exited (zombie or reaped) or is another process now.

    A pidfd turns readable when its process exits, so no polling interval
    adds to `delete --force` or `run`'s cleanup."""
    def gone():
        s = state_mod.proc_stat(pid)
        return s is None or s[0] in ("Z", "X") or bool(start_time and s[1] != start_time)

    if gone():
        return
    try:
        pfd = os.pidfd_open(pid)
    except OSError:
        return  # exited (and reaped) meanwhile
    try:
        if not gone():  # checked again now that the pidfd pins the process
            import select
            select.select([pfd], [], [], timeout)
    finally:
        os.close(pfd)


def run(root, cid, bundle, detach=False, keep=False, pid_file=None, console_socket=None,
        preserve_fds=0, no_pivot=False, no_new_keyring=False, systemd_cgroup=False,
        no_subreaper=False, warn=_noop, listen_fds=0):
    """create + start; in the foreground, wait and return the exit code
    (128+signal when killed), then delete unless ``keep``."""
    console = []
    from .create import create
    st = create(root, cid, bundle, pid_file=pid_file, console_socket=console_socket,
                preserve_fds=preserve_fds, no_pivot=no_pivot, no_new_keyring=no_new_keyring,
                systemd_cgroup=systemd_cgroup, detached=detach, warn=warn,
                _console=None if detach else console, listen_fds=listen_fds, _subreaper=True)
    caught = None
    if not detach:
        # from start on, a signal for us is one for the container: queue it
        # until wait_foreground forwards (else it kills us, not the container)
        from . import tty
        caught = tty.catch_forwarded()
    try:
        start(root, cid, warn)
    except BaseException:
        _delete_quietly(root, cid, warn)
        raise
    if detach:
        return 0
    pid = st.pid
    code = tty.wait_foreground(pid, console[0] if console else -1, caught)
    if not keep:
        _delete_quietly(root, cid, warn)
    return code


def _delete_quietly(root, cid, warn):
    try:
        delete(root, cid, force=True, warn=warn)
    except errors.PyruncError as e:
        warn("delete %s: %s" % (cid, e))


# --- cgroup commands: pause, resume, update, ps, events (issue 3) -------------------

def _cgroup_of(st):
    from . import cgroups
    cg = cgroups.from_state(st.data.get("cgroup"))
    if cg is None:
        raise errors.PyruncError("container %s has no cgroup" % st.id)
    return cg


def pause(root, cid):
    """Freeze every process of a running (or created) container."""
    st = load(root, cid)
    st.lock()
    try:
        if st.status() not in ("running", "created"):
            raise errors.NotRunningError()
        cg = _cgroup_of(st)
        try:
            cg.freeze()
        except BaseException:
            try:  # never leave it frozen (freeze() already thaws on its own errors)
                cg.thaw()
            except Exception:
                pass
            raise
    finally:
        st.unlock()


def resume(root, cid):
    st = load(root, cid)
    st.lock()
    try:
        if st.status() != "paused":
            raise errors.InvalidStateError("container not paused")
        _cgroup_of(st).thaw()
    finally:
        st.unlock()


def update(root, cid, resources):
    """Change a live container's limits (a LinuxResources dict). A failure
    rolls back what was already written; device rules are not changed."""
    st = load(root, cid)
    st.lock()
    try:
        if st.status() == "stopped":
            raise errors.NotRunningError()
        _cgroup_of(st).set(resources or {}, update=True)
    finally:
        st.unlock()


def processes(root, cid):
    """Host pids of every process in the container's cgroup."""
    st = load(root, cid)
    return sorted(_cgroup_of(st).pids())


def ps_table(root, cid, ps_args=()):
    """`ps` output (default ``-ef``) reduced to the header and the container's
    processes, found through the PID column, as runc does."""
    import subprocess
    pids = set(processes(root, cid))
    try:
        p = subprocess.run(["ps"] + list(ps_args or ["-ef"]), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise errors.PyruncError("ps: the ps program is not installed")
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise errors.PyruncError("ps %s: exit status %d: %s" % (" ".join(ps_args or ["-ef"]),
                                                         p.returncode, out.strip()))
    lines = out.split("\n")
    head = lines[0].split()
    if "PID" not in head:
        raise errors.PyruncError("couldn't find PID field in ps output")
    idx = head.index("PID")
    keep = [lines[0]]
    for line in lines[1:]:
        f = line.split()
        if not f:
            continue
        try:
            if int(f[idx]) in pids:
                keep.append(line)
        except (ValueError, IndexError):
            raise errors.PyruncError("unable to parse pid: %r" % line)
    return "".join(l + "\n" for l in keep)


def stats(root, cid):
    """runc's `events --stats` data for a container that is not stopped."""
    st = load(root, cid)
    if st.status() == "stopped":
        raise errors.InvalidStateError("container with id %s is not running" % cid)
    return _cgroup_of(st).stats()


def events(root, cid, emit, interval=5.0, warn=_noop, poll=0.05):
    """Stream events: ``emit(dict)`` gets a stats event every ``interval``
    seconds (the first after one interval, as runc) and an oom event whenever
    the memory cgroup counts a new OOM kill. Returns when the container stops
    or is deleted."""
    from .cgroups.stats import oom_count
    st = load(root, cid)
    if st.status() == "stopped":
        raise errors.InvalidStateError("container with id %s is not running" % cid)
    cg = _cgroup_of(st)
    last = oom_count(cg) or 0
    due = time.monotonic() + interval
    while True:
        n = oom_count(cg)
        if n is not None and n > last:
            emit({"type": "oom", "id": cid})
        if n is not None:
            last = n
        if not st.exists() or not st.init_alive():
            return
        now = time.monotonic()
        if now >= due:
            try:
                data = cg.stats()
            except OSError as e:  # skipped, as runc logs and goes on
                warn("stats: %s" % e)
            else:
                emit({"type": "stats", "id": cid, "data": data})
            due += interval
            if due < now:  # fell behind (a slow stats read): no burst to catch up
                due = now + interval
        time.sleep(max(0.0, min(poll, due - time.monotonic())))
