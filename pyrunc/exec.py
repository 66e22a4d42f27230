"""exec: start a new process inside a running container (roles: parent runs
exec_process(); the joiner and the process are forks of it).

Three processes, as for create (init.py), and the same protocol rules
(sync.py: one JSON object a datagram, children never raise past their role):

- parent (`pyrunc exec`): checks the status, builds the process from the
  container's stored defaults (state.json "exec", written by create) and the
  flags or process.json, forks the joiner, puts it in the container's cgroup
  (or the named sub-cgroup), then relays the console and waits.
- joiner: non-dumpable before it touches any namespace (its /proc/<pid>/exe
  is the HOST python: security.md technique 7), sets the rlimits while it
  still has CAP_SYS_RESOURCE on the host, opens every namespace of the init
  (and its root) while on the host, checks through a pidfd that the init did
  not die meanwhile (so no recycled pid is joined), then joins: user first
  (it decides what we may join next), mount last (host paths vanish).
  A new pid namespace only takes children: it forks the process, reports its
  pid and exits.
- process: chroots to the init's root, setsid, console, user, caps, no new
  privs, umask, LSM label, cwd (checked with getcwd inside the root), env,
  then the native last step (fds >= 3 but the preserved ones close-on-exec,
  seccomp, execve). The protocol socket is close-on-exec: EOF tells the
  parent that execve succeeded.

  (P parent, J joiner, X the process)
  dir  type      fields             meaning
  P>J  go        -                  the joiner is in the container's cgroup
                                    (it imports what X needs and opens the
                                    namespaces meanwhile: a v1 cgroup move
                                    waits for an RCU grace period)
  J>P  pid       pid                the process is forked (host pid); J exits
  X>P  console   (fd: pty master)   terminal: to the console socket or copier
  J/X>P error    stage, errno, msg  failed; the sender _exits(1)
  (EOF)                             the process execve'd

Every module the children use is imported before the joiner calls setns:
after setns(mnt) the host's site-packages are gone.
"""
from . import _os as os  # posix without os's import cost (_os.py)

from . import state as state_mod
from .errors import ChildError, InvalidStateError, PyruncError
from .process import merge_env, set_rlimits


def _noop(msg):
    pass


def parse_user(text):
    """`-u uid[:gid]` (numbers only, as runc) -> (uid, gid or None)."""
    uid, _, gid = text.partition(":")
    try:
        return int(uid), (int(gid) if gid else None)
    except ValueError:
        raise PyruncError("invalid --user %r: want uid[:gid] as numbers" % text)


def build_process(defaults, args=(), tty=None, cwd=None, env=(), user=None,
                  additional_gids=(), caps=(), no_new_privs=None, apparmor=None,
                  process_label=None):
    """The flag form: the container's process with the flags applied (runc's
    getProcess). ``user`` is "uid[:gid]"; ``caps`` are added to the bounding,
    effective and permitted sets only (never inheritable or ambient:
    security.md item 8)."""
    p = _copy(defaults)  # copy.deepcopy costs 1.5 ms of import
    p["args"] = list(args)
    p["terminal"] = bool(tty)  # never the config's: runc allocates a tty only with -t
    if cwd:
        p["cwd"] = cwd
    p["env"] = list(p.get("env") or []) + list(env)
    u = dict(p.get("user") or {})
    if user:
        uid, gid = parse_user(user)
        u["uid"] = uid
        if gid is not None:
            u["gid"] = gid
    if additional_gids:
        try:
            gids = [int(g) for g in additional_gids]
        except ValueError:
            raise PyruncError("invalid --additional-gids %r: want numbers"
                              % (list(additional_gids),))
        u["additionalGids"] = list(u.get("additionalGids") or []) + gids
    p["user"] = u
    if caps:
        c = dict(p.get("capabilities") or {})
        for s in ("bounding", "effective", "permitted"):
            c[s] = list(c.get(s) or []) + [x.upper() if x.upper().startswith("CAP_")
                                            else "CAP_" + x.upper() for x in caps]
        p["capabilities"] = c
    if no_new_privs is not None:
        p["noNewPrivileges"] = bool(no_new_privs)
    if apparmor:
        p["apparmorProfile"] = apparmor
    if process_label:
        p["selinuxLabel"] = process_label
    return p


def _copy(v):
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def complete_process(process, defaults):
    """process.json: taken as is, except the fields libcontainer takes from the
    container when the file leaves them out (caps, rlimits, no new privs,
    apparmor, label)."""
    p = dict(process)
    for k in ("capabilities", "rlimits", "noNewPrivileges", "apparmorProfile",
              "selinuxLabel"):
        if p.get(k) is None and k in defaults:
            p[k] = defaults[k]
    return p


def _ProcessError(msg, pointer):
    """The exec'd process is not config.json's: name it as such."""
    return PyruncError("process %s: %s" % (pointer, msg))


def _check_process(p):
    args = p.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise _ProcessError("args must be a non-empty list of strings", "/args")
    env = p.get("env")
    if env is not None and not (isinstance(env, list) and all(isinstance(e, str) for e in env)):
        raise _ProcessError("env must be a list of strings", "/env")
    cwd = p.get("cwd") or "/"
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise _ProcessError("cwd %r must be an absolute path" % (cwd,), "/cwd")
    u = p.get("user")
    u = {} if u is None else u
    if not isinstance(u, dict):
        raise _ProcessError("user must be an object", "/user")
    for k in ("uid", "gid"):
        if not isinstance(u.get(k, 0), int) or u.get(k, 0) < 0:
            raise _ProcessError("user.%s must be a non-negative number" % k, "/user/" + k)


def _cgroup_targets(cg_state, sub):
    """(cgroup version, [folder]) the joiner moves itself into
    (cgroups.join_self): the container's cgroup, or
    the sub-cgroups named by --cgroup ("path" or, on v1,
    "ctrl[,ctrl]:path"), which must stay inside the container's cgroup."""
    from . import cgroups
    from .errors import CgroupError
    mgr = cgroups.from_state(cg_state)
    if mgr is None:
        return 0, []
    if mgr.version == 2:
        base = {"": mgr.path()}
    else:
        base = dict(mgr.paths)
    chosen = {}
    for item in sub or ():
        ctrls, sep, path = item.rpartition(":")
        if ".." in [x for x in path.split("/")]:
            raise CgroupError("--cgroup %r must stay inside the container's cgroup" % item)
        rel = cgroups.clean_path(path)
        names = ctrls.split(",") if sep else list(base)
        for n in names:
            if n not in base:
                raise CgroupError("--cgroup %r: no %s controller in the container's cgroup"
                                  % (item, n))
            chosen[n] = rel
    out = []
    for n, path in sorted(base.items()):
        d = os.path.join(path, chosen[n]) if chosen.get(n) else path
        if not os.path.isdir(d):
            raise CgroupError("--cgroup: %s does not exist" % d)
        if d not in out:
            out.append(d)
    return mgr.version, out


def _seccomp_filter(ex, warn):
    """(bpf bytes, seccomp(2) flags) of the container's filter for the exec'd
    process: THE one place exec meets seccomp (compiled here, in the parent;
    loaded by the native last step right before execve). Without
    pyrunc/seccomp.py no filter is loaded, like create."""
    spec = ex.get("seccomp")
    if not spec:
        return b"", 0
    try:
        from . import seccomp
    except ImportError:
        return b"", 0
    c = seccomp.compile(spec, warn)
    if c.notify:
        # the listener would have to reach the agent at listenerPath again
        raise PyruncError("exec into a container with a SCMP_ACT_NOTIFY seccomp filter "
                          "is not supported yet")
    return c.bpf, c.flags


def exec_process(root, cid, process=None, args=(), tty=None, cwd=None, env=(), user=None,
                 additional_gids=(), caps=(), no_new_privs=None, apparmor=None,
                 process_label=None, detach=False, pid_file=None, console_socket=None,
                 preserve_fds=0, cgroup=None, ignore_paused=False, warn=_noop):
    """Run a process in container ``cid``; ``process`` is a process.json object
    (then the flag arguments are ignored, as runc does) or None for the flag
    form. Foreground: returns the exit code (128+signal when killed);
    detached: writes ``pid_file`` and returns 0."""
    st = state_mod.Container(root, cid).load()
    status = st.status()
    if status == "stopped":
        raise InvalidStateError("cannot exec in a stopped container")
    if status == "paused" and not ignore_paused:
        raise InvalidStateError("cannot exec in a paused container")
    ex = st.data.get("exec")
    if ex is None:
        ex = _defaults_from_bundle(st.data)
    defaults = ex.get("process") or {}
    if process is not None:
        if not isinstance(process, dict):
            raise PyruncError("process: a JSON object is needed")
        proc = complete_process(process, defaults)
    else:
        if not args:
            raise PyruncError("exec args cannot be empty")
        proc = build_process(defaults, args, tty, cwd, env, user, additional_gids, caps,
                             no_new_privs, apparmor, process_label)
        if caps:  # warned here: the process's stderr may be the container's pty
            from . import capabilities
            capabilities.resolve(caps, warn)
    _check_process(proc)
    if isinstance(proc.get("env"), list):
        proc["env"] = merge_env(proc["env"])
    from .create import _check_terminal, _write_pid_file
    _check_terminal(proc, detach, console_socket)
    if console_socket:
        from . import tty as tty_mod
        console_socket = tty_mod.check_socket(console_socket)
    bpf, bpf_flags = _seccomp_filter(ex, warn)
    from .security import process_problem
    problem = process_problem(proc)
    if problem:
        raise PyruncError(problem[1])
    cg_version, cg_dirs = _cgroup_targets(st.data.get("cgroup"), cgroup)
    plan = {
        "id": cid, "pid": st.pid, "start_time": st.data.get("start_time"),
        "process": proc, "namespaces": ex.get("namespaces"),
        "no_new_keyring": ex.get("no_new_keyring", False),
        "first_cloexec": 3 + preserve_fds, "bpf": bpf, "bpf_flags": bpf_flags,
    }

    from . import _native, sync
    caught = None
    if not detach:
        # the process comes back to us when the joiner exits: we reap it
        _native.prctl(_native.PR_SET_CHILD_SUBREAPER, 1)
        from . import tty as tty_mod
        caught = tty_mod.catch_forwarded()
    psock, csock = _pair_above(sync, plan["first_cloexec"])
    from . import cgroups
    plan["cgroup_join"] = join = cgroups.open_join_files(cg_version, cg_dirs)
    # Everything the joiner and the process need after setns(mnt) (the
    # host's site-packages are gone then) is imported here, before the fork:
    # imported in the forked child it costs copy-on-write faults on our pages
    # (as in container.create).
    from . import capabilities, init, paths, seccomp  # noqa: F401
    import gc
    gc.freeze()
    jpid = -1
    try:
        jpid = os.fork()
    finally:
        if jpid:  # the parent (or a failed fork): the joiner has its copies
            cgroups.close_join(join)
    if jpid == 0:
        psock.close()
        _joiner(csock, plan)
        os._exit(1)
    csock.close()
    pid = 0
    master = -1
    try:
        sync.send(psock, "go")
        while True:
            msg, fds = sync.recv(psock)
            t = msg["t"]
            if t == "pid":
                pid = msg["pid"]
                # the joiner exits now; not waited for here (its exit takes
                # ms): wait_foreground reaps it, a detached exec leaves it to
                # whoever reaps us
                jpid = 0
            elif t == "console":
                if console_socket:
                    from . import tty as tty_mod
                    try:
                        tty_mod.send_console(console_socket, fds[0])
                    finally:
                        os.close(fds[0])
                else:
                    master = fds[0]
            elif t == "error":
                raise ChildError(msg.get("stage"), msg.get("errno"), msg.get("msg"))
            else:  # eof
                if not pid:
                    raise ChildError("exec", 0, "the joining process died")
                break
        psock.close()
        if pid_file:
            _write_pid_file(pid_file, pid)
    except BaseException:
        if pid:
            _kill(pid)
        if jpid:
            _kill(jpid)
        if master >= 0:
            os.close(master)
        psock.close()
        raise
    if detach:
        return 0
    from . import tty as tty_mod
    try:
        return tty_mod.wait_foreground(pid, master, caught)
    finally:
        if master >= 0:
            os.close(master)


def _defaults_from_bundle(data):
    """A container created before state.json had "exec": read its bundle's
    config.json (as runc always does); the namespaces are then compared with
    ours one by one."""
    from . import jsonio
    try:
        with open(os.path.join(data.get("bundle") or "", "config.json"), "rb") as f:
            config = jsonio.loads(f.read())
    except (OSError, ValueError):
        return {}
    from .create import defaults_for_state
    out = defaults_for_state(config, {}, False)
    out.pop("namespaces")
    return out


def _pair_above(sync, low):
    """The protocol socketpair, both ends at fd >= ``low``: an fd below it
    would be one the caller asked to preserve, and would reach the container."""
    a, b = sync.pair()
    if a.fileno() >= low and b.fileno() >= low:
        return a, b
    import _socket
    import fcntl
    out = []
    for s in (a, b):
        fd = fcntl.fcntl(s.fileno(), fcntl.F_DUPFD_CLOEXEC, low)
        s.close()
        out.append(_socket.socket(fileno=fd))
    return out[0], out[1]


def _kill(pid):
    from .create import _kill_and_reap
    _kill_and_reap(pid)


# --- the joiner and the process (children) -------------------------------------

def _joiner(sock, plan):
    import gc
    from . import _native as N, cgroups, namespaces, sync
    gc.disable()
    stage = "exec"
    try:
        # Non-dumpable first, until execve: /proc/<pid>/exe is the host python.
        N.prctl(N.PR_SET_DUMPABLE, 0)
        N.prctl(N.PR_SET_PDEATHSIG, 9)
        # Everything the process needs after setns(mnt) was imported by the
        # parent before it forked us (exec_process).
        proc = plan["process"]
        if proc.get("rlimits"):
            stage = "rlimits"
            set_rlimits(proc["rlimits"])  # before the user ns: raising needs host caps
        stage = "join namespaces"
        # opened before "go", joined after it
        fds, rootfd = _open_namespaces(plan)
        plan["joined_user"] = any(t == "user" for t, _ in fds)
        try:
            msg, _ = sync.recv(sock)
            if msg["t"] != "go":
                os._exit(1)
            stage = "join cgroup"  # ourselves, before any namespace (cgroups.join_self)
            cgroups.join_self(plan["cgroup_join"])
            stage = "join namespaces"
            for t, fd in fds:
                try:
                    N.setns(fd, namespaces.TYPES[t][0])
                except OSError as e:
                    raise OSError(e.errno, "join %s namespace: %s"
                                  % (t, os.strerror(e.errno)))
                if t == "user":
                    # root of the container's user ns (runc's nsexec does the same)
                    os.setresgid(0, 0, 0)
                    os.setresuid(0, 0, 0)
        finally:
            for _, fd in fds:
                os.close(fd)
        gate_r, gate_w = os.pipe2(os.O_CLOEXEC)
        stage = "fork"
        pid = os.fork()
        if pid == 0:
            os.close(gate_w)
            _process(sock, plan, rootfd, gate_r)
        os.close(rootfd)
        sync.send(sock, "pid", pid=pid)
        os._exit(0)
    except BaseException as e:
        sync.fail(sock, stage, e)


def _open_namespaces(plan):
    """[(type, fd)] in join order, and an O_PATH fd of the init's root; all
    opened on the host, then checked against a pidfd of the init so a
    recycled pid is never joined."""
    from . import _native as N, namespaces
    pid = plan["pid"]
    pfd = N.pidfd_open(pid)
    fds = []
    rootfd = -1
    try:
        st = state_mod.proc_stat(pid)
        if st is None or st[1] != plan["start_time"] or st[0] in ("Z", "X"):
            raise InvalidStateError("container init %d is gone" % pid)
        wanted = plan.get("namespaces")
        for t in namespaces.JOIN_ORDER:
            if wanted is not None and t not in wanted:
                continue
            name = namespaces.TYPES[t][1]
            path = "/proc/%d/ns/%s" % (pid, name)
            try:
                theirs = os.stat(path)
            except FileNotFoundError:
                continue  # a kernel without this namespace type
            ours = os.stat("/proc/self/ns/" + name)
            if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
                continue  # shared with us: nothing to join (setns(user) would fail)
            fds.append((t, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        rootfd = os.open("/proc/%d/root" % pid, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        N.pidfd_send_signal(pfd, 0)  # still the same init: the fds are its own
    except BaseException:
        for _, fd in fds:
            os.close(fd)
        if rootfd >= 0:
            os.close(rootfd)
        raise
    finally:
        os.close(pfd)
    return fds, rootfd


def _process(sock, plan, rootfd, gate):
    import errno
    from . import _native as N, capabilities, init, sync
    stage = "exec"
    try:
        os.read(gate, 1)  # EOF once the joiner has reported our pid
        os.close(gate)
        proc = plan["process"]
        # The init's root, whatever it did to get there (pivot_root, or
        # chroot with --no-pivot or without a mount namespace).
        stage = "chroot"
        os.fchdir(rootfd)
        os.chroot(".")
        os.close(rootfd)
        os.chdir("/")
        os.setsid()
        if not plan.get("no_new_keyring"):
            stage = "session keyring"
            try:
                N.join_session_keyring("_ses." + plan["id"])
            except OSError as e:
                if e.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM, errno.EDQUOT):
                    raise
        if proc.get("terminal"):
            stage = "console"
            init.setup_console(sock, proc.get("consoleSize"), bind_console=False)
        stage = "user"
        user = proc.get("user") or {}
        caps = capabilities.parse(proc.get("capabilities"))
        # seccomp(2) without no_new_privs needs CAP_SYS_ADMIN at load time.
        # (A filter means the parent imported seccomp before the fork: no
        # import from the container's root happens here.)
        final_caps = None
        if plan["bpf"]:
            from . import seccomp
            caps, final_caps = seccomp.caps_for_load(caps, plan["bpf"],
                                                     proc.get("noNewPrivileges"))
        init.set_user(user, caps, plan["joined_user"])
        if proc.get("noNewPrivileges"):
            N.prctl(N.PR_SET_NO_NEW_PRIVS, 1)
        umask = user.get("umask")
        os.umask(0o022 if umask is None else umask)
        if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
            stage = "process label"
            _set_exec_label(proc)
        stage = "cwd"
        init.enter_cwd(proc.get("cwd") or "/")
        stage = "exec failed"
        env = init.build_env(proc)
        path = init.lookup(proc["args"][0], env)
        N.exec_final(path, proc["args"], env, plan["first_cloexec"], plan["bpf"],
                     plan["bpf_flags"], -1, caps=final_caps)
    except BaseException as e:
        sync.fail(sock, stage, e)


def _set_exec_label(proc):
    """Write the LSM label for the next execve through a checked procfs handle
    (security.md technique 4)."""
    from . import _native as N
    d = os.open("/proc/self/attr", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if N.fs_type(d) != N.PROC_SUPER_MAGIC:
            raise OSError(0, "/proc/self/attr is not on procfs")
        if proc.get("apparmorProfile"):
            name, text = "apparmor/exec", "exec " + proc["apparmorProfile"]
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CLOEXEC, dir_fd=d)
            except FileNotFoundError:
                name = "exec"
                fd = os.open(name, os.O_WRONLY | os.O_CLOEXEC, dir_fd=d)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        if proc.get("selinuxLabel"):
            fd = os.open("exec", os.O_WRONLY | os.O_CLOEXEC, dir_fd=d)
            try:
                os.write(fd, proc["selinuxLabel"].encode())
            finally:
                os.close(fd)
    finally:
        os.close(d)
