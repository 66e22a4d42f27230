"""The create operation: the parent side of the process model (roles: parent).

create() makes the state folder and the exec.fifo, forks init (or an
intermediate that forks it; init.py, sync.py), makes the cgroup meanwhile,
answers the children's requests (id maps, hooks), and records the init's pid
and start time. Anything it made is undone if any step fails (_Undo). The
library API is container.create (container.py), which loads this module on
first use, so that the short commands never unmarshal it.
"""
from . import _os as os  # posix without os's import cost (_os.py)

from . import state as state_mod
from . import errors  # errors.X where raised or caught: the classes are made on first use
from .container import _noop, _poststop, _wait_gone


class _Undo:
    """Cleanup steps of a create, run in reverse if it fails."""

    def __init__(self):
        self.steps = []

    def add(self, fn, *args):
        self.steps.append((fn, args))

    def run(self):
        stuck = []
        for fn, args in reversed(self.steps):
            try:
                fn(*args)
            except Exception as e:  # keep undoing; report what stuck
                stuck.append(e)
        self.steps = []
        return stuck


def _rootfs_of(config, bundle):
    root = config.get("root") or {}
    path = root.get("path")
    if not path:
        raise errors.SpecError("root.path is required", "/root/path")
    full = path if path.startswith("/") else os.path.join(bundle, path)
    if not os.path.isdir(full):
        raise errors.SpecError("rootfs %s does not exist or is not a folder" % full, "/root/path")
    return os.path.realpath(full)


def _check_terminal(proc, detached, console_socket):
    terminal = bool(proc.get("terminal"))
    if terminal and detached and not console_socket:
        raise errors.PyruncError("cannot allocate tty if pyrunc will detach without setting "
                          "console socket")
    if console_socket and not terminal:
        raise errors.PyruncError("cannot use console socket if pyrunc will not detach or "
                          "allocate tty")


def _write_pid_file(path, pid):
    """Digits only, no newline, written to a temp file and renamed. The temp
    name is ours alone (pid + random) and opened O_EXCL|O_NOFOLLOW: a symlink
    planted where it would go is never followed."""
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), ".%s.%d.%s.tmp" % (
        os.path.basename(path), os.getpid(), os.urandom(4).hex()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    try:
        os.write(fd, str(pid).encode())
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise


def create(root, cid, bundle, pid_file=None, console_socket=None, preserve_fds=0,
           no_pivot=False, no_new_keyring=False, systemd_cgroup=False, detached=True,
           warn=_noop, _console=None, listen_fds=0, _subreaper=False):
    """Create a container; returns its state.Container (status "created").

    ``_console`` (used by run) receives the pty master instead of a socket;
    ``_subreaper`` (run) makes this process the child subreaper, so that init
    stays our child when the intermediate exits.
    ``listen_fds``: how many of the preserved fds are systemd socket-activation
    fds; the program then gets LISTEN_FDS and LISTEN_PID=1, as with runc."""
    state_mod.validate_id(cid)
    # Everything the children run is imported here, before they are forked
    # (init: the native shim, python-prctl, cffi). Importing it in a forked
    # child instead, in parallel with our own work, measured ~1-2 ms slower:
    # a child's imports pay a copy-on-write fault on every page of ours they
    # touch, and ours on every page we write after the fork.
    from . import _native, cgroups, hooks, init, namespaces, process, spec, sync
    undo = _Undo()
    st = None
    init_pid = 0
    try:
        bundle = os.path.abspath(bundle)
        config = spec.load_bundle(bundle, warn)
        proc = config.get("process")
        if not proc or not proc.get("args"):
            raise errors.SpecError("process.args is required to create a container", "/process/args")
        for i, r in enumerate(proc.get("rlimits") or ()):  # set by the child we fork
            if r.get("type") not in process.RLIMITS:
                raise errors.SpecError("unknown rlimit %s" % r.get("type"),
                                "/process/rlimits/%d/type" % i)
        rootfs = _rootfs_of(config, bundle)
        nss = namespaces.parse(config)
        networked = spec.wants_network(config)
        if networked:
            from . import network
            network.parse(config)  # network annotations checked before anything is made
        _check_terminal(proc, detached, console_socket)
        from . import security
        security.check(config)
        if console_socket:
            from . import tty
            console_socket = tty.check_socket(console_socket)

        st = state_mod.Container(root, cid).make()
        undo.add(st.remove_dir)
        st.lock()
        # exec.fifo: init blocks opening it for writing until `start` reads.
        old = os.umask(0)
        try:
            os.mkfifo(st.fifo_path(), 0o622)
        finally:
            os.umask(old)
        fifo_fd = os.open(st.fifo_path(), os.O_PATH | os.O_CLOEXEC)
        undo.add(os.close, fifo_fd)

        cg = cgroups.for_config(config, cid, systemd_cgroup)  # paths only: nothing made yet
        cgroupns = nss.get("cgroup", 1) is None
        # We fork init ourselves unless a user or time namespace is made or
        # joined, or a pid namespace joined: the first process of a new pid
        # namespace need only be a child of the process that unshared it,
        # and unshare(CLONE_NEWPID) moves nothing but our next child (we
        # setns back right after the fork). Else an intermediate unshares
        # and forks init, as runc's nsexec: id maps are written between the
        # user namespace and the others, which it must own. Networking too
        # takes the intermediate: its "init" message means init's network
        # namespace exists (ours would be set up before init unshared it).
        direct = (not ("user" in nss or "time" in nss or networked)
                  and nss.get("pid") is None)
        plan = {
            "id": cid, "config": config, "rootfs": rootfs, "bundle": bundle,
            "fifo_fd": fifo_fd, "parent": os.getpid(), "cgroup_join": None, "direct": direct,
            "namespaces": nss, "preserve_fds": preserve_fds, "listen_fds": listen_fds,
            "no_pivot": no_pivot, "no_new_keyring": no_new_keyring,
            "userns": "user" in nss, "cgroupns": cgroupns,
            "cgroup_paths": getattr(cg, "paths", None) or {"": cg.path()},
            "cgroup_mounts": getattr(cg, "mounts", None),  # v1: init need not parse mountinfo
            "need_hooks": any(hooks.of(config, k) for k in (
                "prestart", "createRuntime", "createContainer", "startContainer")),
        }
        sc = (config.get("linux") or {}).get("seccomp")
        if sc:
            from . import seccomp
            compiled = seccomp.compile(sc, warn)
            plan.update(bpf=compiled.bpf, bpf_flags=compiled.flags,
                        seccomp_notify=compiled.notify)
        if _subreaper:  # before the fork: the intermediate may exit at once
            _native.prctl(_native.PR_SET_CHILD_SUBREAPER, 1)

        # The child (init, or the intermediate) is forked last, with the plan
        # in its memory and exec.fifo as an inherited fd: it starts on the
        # container at once. When the intermediate exits, init goes to the
        # caller's subreaper (a containerd shim, conmon) or pid 1, as with
        # runc (and so does a directly forked init when we exit); `run` made
        # itself the subreaper above, to wait for it. From here on, the
        # intermediate may have made init before a failure lets us read its
        # pid: the undo stops them first (_stop_children).
        psock, csock = sync.pair()
        undo.add(psock.close)
        import gc
        gc.freeze()  # children don't dirty the pages of what we built so far
        cpus = _cpus_aside()  # here: reading it after the fork costs copy-on-write faults
        pidns = -1
        if direct and "pid" in nss:
            pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if pidns >= 0:
                _native.unshare(_native.CLONE_NEWPID)
            mid = os.fork()
            if mid == 0:
                try:
                    psock.close()
                    if pidns >= 0:
                        os.close(pidns)
                    # Our copy of the state folder's lock fd: the flock lives
                    # as long as any fd of its file; init lasts until `start`.
                    st.drop_inherited_lock()
                    init.intermediate(csock, plan)
                finally:
                    os._exit(1)
            if cpus:  # first: until then the child waits for our CPU
                _pin(0, cpus[1])
        finally:
            if pidns >= 0:  # hooks we fork later run in our own pid namespace
                _native.setns(pidns, _native.CLONE_NEWPID)
                os.close(pidns)
        csock.close()
        # Once only: the cgroup's undo calls it first as well (_destroy_cgroup),
        # and a second kill could meet a reused pid.
        stop = _once(_kill_and_reap, mid) if direct else _once(_stop_children, psock, mid)
        undo.add(stop)
        if cpus:  # a library caller keeps its CPU set whatever happens
            undo.add(_pin, 0, cpus[0])

        # The cgroup is made while the child unshares (and forks init, as the
        # intermediate) and init mounts the rootfs. The container's processes
        # move themselves in (cgroups.join_self: no pid is named, so no RCU
        # grace period is waited for) through the files that "cgroup" carries
        # as fds: the child, which waits for it first thing, when it makes a
        # cgroup namespace (rooted where it is made); else init, which waits
        # for it before it mounts cgroupfs and joins once its rootfs is
        # mounted. Less of our own set-up is then charged to the container's
        # memory cgroup. Without a cgroup namespace and with an intermediate,
        # "cgroup" goes to init only once its pid has come: until then the
        # intermediate may be the one reading.
        undo.add(_destroy_cgroup, cg, stop)
        cg.create()
        if direct and not cgroupns:  # init may bind-mount the folders now
            sync.send(psock, "cgroup-made")
        _save_creating(st, cg, config, cid, bundle, rootfs)
        # The device rules, alone of linux.resources, go in before anything
        # of ours can join: v1 takes them as "deny all" and then one allow at
        # a time, and a process in the cgroup meanwhile is refused even
        # /dev/null (init's mknod of the default devices, the console's ptmx).
        cg.set_devices(_device_rules(config))
        join = cg.join_files()
        undo.add(cgroups.close_join, join)

        def send_cgroup():
            sync.send(psock, "cgroup", fds=[fd for fd, _ in join], dirs=[d for _, d in join])
            cgroups.close_join(join)  # the receiver holds its copies; join is [] now

        if cgroupns or direct:  # the reader exists: it need not wait for the limits
            send_cgroup()
        annotations = config.get("annotations") or {}
        data = {
            "ociVersion": config.get("ociVersion"), "id": cid, "pid": 0, "start_time": 0,
            "bundle": bundle, "rootfs": rootfs, "created": state_mod.now_rfc3339nano(),
            "annotations": annotations, "cgroup": cg.state(),
            "pidns": nss.get("pid", 1) is None,
            "hooks": {k: hooks.of(config, k) for k in ("poststart", "poststop")
                      if hooks.of(config, k)},
            # "exec": what `exec` takes from config.json (defaults, namespaces,
            # seccomp), added once "cgroup" is on its way: init waits for that
        }
        st.data = data
        console_fd = -1
        queued = [({"t": "init", "pid": mid}, [])] if direct else []  # our own child
        while True:
            msg, fds = queued.pop() if queued else sync.recv(psock)
            t = msg["t"]
            if t == "userns":
                namespaces.write_id_maps(msg["pid"], config)
                sync.send(psock, "mapped")
            elif t == "init":
                init_pid = msg["pid"]
                if not direct:
                    undo.add(_kill_and_reap, init_pid)
                if join:  # not sent yet (no cgroup namespace): init waits for it
                    send_cgroup()  # the intermediate reads no more: it exits
                # The rest of linux.resources is written now that init exists
                # (a pids.max of 1 would refuse the intermediate's fork of it)
                # and after "cgroup" (init was waiting ~0.5 ms for it while we
                # wrote them), but before anything of the container's runs in
                # the cgroup: hooks wait for our "hooked", the program for
                # `start`. Until then only init's own set-up does, and no limit
                # written meanwhile can refuse it a device. runc too joins
                # first (manager.Apply) and sets the limits later (Set). When we
                # forked init ourselves, this "init" is the first message.
                cg.set((config.get("linux") or {}).get("resources") or {}, devices=False)
                data["pid"] = init_pid
                ps = state_mod.proc_stat(init_pid)  # None: init died (its error follows)
                data["start_time"] = ps[1] if ps else 0
                if not direct:
                    _reap_quietly(mid)
                if cpus:  # before any hook we fork inherits the narrowed set
                    _pin(0, cpus[0])
                    cpus = None
                data["exec"] = defaults_for_state(config, nss, no_new_keyring)
                if networked:  # init's network namespace exists now
                    data["network"] = network.setup(root, cid, config, init_pid, warn)
                    undo.add(network.teardown, root, cid, data["network"], warn)
            elif t == "console":
                console_fd = fds[0]
                if console_socket:
                    from . import tty
                    tty.send_console(console_socket, console_fd)
                    os.close(console_fd)
                    console_fd = -1
                elif _console is not None:
                    _console.append(console_fd)
                else:
                    os.close(console_fd)
            elif t == "hooks":
                hs = st.hook_state("creating")
                try:
                    hooks.run(hooks.of(config, "prestart"), hs, "prestart")
                    hooks.run(hooks.of(config, "createRuntime"), hs, "createRuntime")
                except Exception:
                    undo.add(_poststop, st, warn)
                    raise
                undo.add(_poststop, st, warn)
                sync.send(psock, "hooked", state=st.hook_state("created"))
            elif t == "seccomp":  # SCMP_ACT_NOTIFY: forward the listener (seccomp.py)
                from . import seccomp
                try:
                    seccomp.send_to_listener(sc["listenerPath"], fds[0], init_pid,
                                             st.hook_state("creating"),
                                             sc.get("listenerMetadata"))
                finally:
                    os.close(fds[0])
                sync.send(psock, "seccomped")
            elif t == "ready":
                break
            elif t == "error":
                raise errors.ChildError(msg.get("stage"), msg.get("errno"), msg.get("msg"))
            else:  # eof: a child died without a word
                raise errors.ChildError("init", 0, "container init exited during setup")
        psock.close()
        if cpus:
            _pin(0, cpus[0])
        st.save()
        if pid_file:
            _write_pid_file(pid_file, init_pid)
        os.close(fifo_fd)  # init has its own copy; a library caller keeps none
    except BaseException:
        stuck = undo.run()
        for e in stuck:
            warn("cleanup after failed create: %s" % e)
        raise
    finally:
        if st is not None:
            st.unlock()
    return st


def _stop_children(psock, mid):
    """Undo of a create that failed after the fork: the children get EOF on
    their next read; once the intermediate is gone, an "init" message it may
    have sent names an init we have not read of yet: killed here (one we did
    read of is killed by its own undo step)."""
    import _socket
    try:
        psock.shutdown(_socket.SHUT_WR)
    except OSError:
        pass
    _reap_quietly(mid)
    psock.setblocking(False)
    from . import sync
    while True:
        try:
            msg, fds = sync.recv(psock)
        except OSError:  # nothing more queued
            return
        for fd in fds:
            os.close(fd)
        if msg["t"] == "init":
            _kill_and_reap(msg["pid"])
        elif msg["t"] == "eof":
            return


def _cpus_aside():
    """(the CPUs we may use, those but the one we run on), or None.

    A forked child starts on its parent's CPU and waits there while the
    parent keeps it busy (create's cgroup work): ~2-3 ms on this 2-CPU VM
    with the other CPU idle. So we move to the others right after the fork
    (_pin) and take the whole set back once init's pid has come. Read
    before the fork: after it, reading /proc costs copy-on-write faults
    while the child waits (~0.3 ms). Sending the child away instead was
    slower still: it starts later on an idle CPU, and runs slower there,
    away from the caches that hold the pages it shares with us."""
    try:
        cpus = os.sched_getaffinity(0)
        if len(cpus) < 2:
            return None
        stat = state_mod.read_small("/proc/thread-self/stat")
        now = int(stat.rsplit(b")", 1)[1].split()[36])  # field 39: processor
        return cpus, (cpus - {now}) or cpus
    except (OSError, ValueError, IndexError):
        return None


def _pin(pid, cpus):
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError:
        pass


def _destroy_cgroup(cg, stop):
    """Undo of the cgroup: the children are stopped first (they may have
    joined it: "cgroup" goes before most limits are written, and a cgroup
    with a process left in it cannot be removed), then the folders. The
    children's own undo step is then a no-op (_once)."""
    stop()
    cg.destroy()


def _once(fn, *args):
    done = []

    def run():
        if not done:
            done.append(True)
            fn(*args)
    return run


def _save_creating(st, cg, config, cid, bundle, rootfs):
    """A first state.json (pid 0, status "creating") once the cgroup exists,
    before anything runs in it: if this process is killed midway, `delete
    --force` still finds the cgroup to remove."""
    st.save({"ociVersion": config.get("ociVersion"), "id": cid, "pid": 0,
             "start_time": 0, "bundle": bundle, "rootfs": rootfs,
             "created": state_mod.now_rfc3339nano(), "cgroup": cg.state()})


def _device_rules(config):
    """linux.resources.devices, then an allow for each linux.devices node
    (the cgroup adds runc's default allows after them: set_devices)."""
    from .devices import allow_rules
    res = (config.get("linux") or {}).get("resources") or {}
    return list(res.get("devices") or []) + allow_rules(config)


# What create keeps from config.json for exec (state.json "exec"): the
# process fields runc uses as defaults, the namespace types, the seccomp
# object and no_new_keyring.
DEFAULT_FIELDS = ("env", "cwd", "user", "capabilities", "rlimits", "noNewPrivileges",
                  "apparmorProfile", "selinuxLabel", "terminal", "consoleSize")


def defaults_for_state(config, nss, no_new_keyring):
    """The small "exec" field create() stores in state.json."""
    proc = config.get("process") or {}
    out = {"process": {k: proc[k] for k in DEFAULT_FIELDS if k in proc},
           "namespaces": sorted(nss), "no_new_keyring": bool(no_new_keyring)}
    seccomp = (config.get("linux") or {}).get("seccomp")
    if seccomp:
        out["seccomp"] = seccomp
    return out


def _reap_quietly(pid):
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _kill_and_reap(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        _wait_gone(pid, None)
