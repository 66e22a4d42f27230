"""The container side of create (roles: intermediate, init).

Both run in processes forked from the parent (`pyrunc create`/`run`); neither
ever returns or raises into the parent's code: an error is reported with
sync.fail() (stage, errno, text) and the process _exits. The message
protocol is in sync.py.

intermediate(): joins namespaces given by path, unshares a new user
namespace (the parent writes its id maps), unshares the rest, forks init
(the first process of a new pid/time namespace must be a child), reports the
init's pid and exits. When the plan says "direct" (no user or time
namespace, no joined pid namespace, no networking: container.create), the
parent has forked us into the new pid namespace already: the same steps, no
second fork, and we go on as init.

container_init(): sets up the rootfs and the process, says `ready`, blocks
opening exec.fifo until `start`, then execs the user's program through the
native last step (no Python runs after the seccomp filter is loaded).

Every module used here is imported at the top of this file, and this file
by create's parent before it forks: the host's site-packages are unreachable
after pivot_root, and an import in a forked child costs copy-on-write faults.
The one exception is seccomp.py, used only with a filter: the parent imports
it to compile the filter, so it is loaded before the fork then (as in exec).
"""
import _socket
import errno
import fcntl
import gc
from . import _os as os  # posix without os's import cost (_os.py)
import stat as _stat
import sys

from . import _native, capabilities, cgroups, hooks, namespaces, paths, rootfs, security, sync
from . import errors  # errors.X where raised or caught: the classes are made on first use
from .process import merge_env, set_oom_score_adj, set_rlimits  # here: nothing is importable after pivot_root

N = _native
TIOCGPTPEER = 0x5441
TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414
TIOCSPTLCK = 0x40045431
DEVPTS_SUPER_MAGIC = 0x1CD1


def _await_cgroup(sock, plan, made=False):
    """Wait for "cgroup": the container's cgroup exists and its limits are
    set; the files to join it by come as fds (cgroups.join_self). Once.
    With ``made``, "cgroup-made" (the folders exist, for cgroupfs mounts;
    sent ahead when create forked us directly) is enough."""
    if plan["cgroup_join"] is not None or (made and plan.get("cgroup_made")):
        return
    msg, fds = sync.recv(sock)
    if msg["t"] == "cgroup-made":
        plan["cgroup_made"] = True
        if made:
            return
        msg, fds = sync.recv(sock)
    if msg["t"] != "cgroup":
        os._exit(1)
    dirs = msg["dirs"]
    if len(fds) != len(dirs):  # a cut control message: never go on half-joined
        raise OSError(errno.EBADMSG, "cgroup: %d fds for %d files" % (len(fds), len(dirs)))
    plan["cgroup_join"] = list(zip(fds, dirs))


def intermediate(sock, plan):
    gc.disable()
    stage = "intermediate"
    try:
        # Non-dumpable before touching any namespace of the container: our
        # /proc/<pid>/exe is the host python (security.md technique 7).
        # Where runc re-execs a sealed copy of itself, pyrunc forks, so the
        # window is longer: from here (inherited by init through fork) until
        # init's execve replaces the exe. It is closed by this flag alone:
        # our mm belongs to the HOST user namespace (even after unshare(USER)),
        # so /proc/<pid>/exe, fd/, root/, environ and ptrace need
        # CAP_SYS_PTRACE there, which no container process has, not even root
        # of a container user namespace (tests/test_security.py item 10). A
        # write through exe would also meet ETXTBSY while python runs.
        N.prctl(N.PR_SET_DUMPABLE, 0)
        N.prctl(N.PR_SET_PDEATHSIG, 9)  # the parent died: don't linger
        ppid = os.getppid()  # 0 as pid 1 of a new pid namespace (create forked us)
        if ppid and ppid != plan["parent"]:  # it died before the line above
            os._exit(1)  # (init's next read of the socket would see EOF as well)
        # rlimits and oomScoreAdj on ourselves, for init to inherit: here,
        # still host root and before any namespace (raising a hard limit
        # needs CAP_SYS_RESOURCE in the host's user namespace), after our
        # imports (a small RLIMIT_AS must not break them).
        proc = plan["config"]["process"]
        if proc.get("rlimits"):
            stage = "rlimits"
            set_rlimits(proc["rlimits"])
        if proc.get("oomScoreAdj") is not None:
            stage = "oom_score_adj"
            set_oom_score_adj(proc["oomScoreAdj"])
        if plan["cgroupns"]:
            # a new cgroup namespace is rooted at the cgroup we are in: join
            # first (init, forked below, inherits it)
            stage = "join cgroup"
            _await_cgroup(sock, plan)
            cgroups.join_self(plan["cgroup_join"])
        nss = plan["namespaces"]
        stage = "join namespaces"
        namespaces.join(nss)
        if nss.get("user", 1) is None:
            stage = "user namespace"
            N.unshare(N.CLONE_NEWUSER)
            sync.send(sock, "userns", pid=os.getpid())
            msg, _ = sync.recv(sock)
            if msg["t"] != "mapped":
                os._exit(1)
        if "user" in nss:
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        stage = "unshare namespaces"
        flags = namespaces.new_flags(nss)
        if plan["direct"]:
            flags &= ~N.CLONE_NEWPID  # create unshared it and forked us into it
        if flags:
            N.unshare(flags)
        if plan["direct"]:  # we are init (container.create): no second fork
            container_init(sock, plan, -1)
        if flags & N.CLONE_NEWTIME:
            namespaces.write_time_offsets(plan["config"])
        gate_r, gate_w = os.pipe2(os.O_CLOEXEC)
        stage = "fork init"
        pid = os.fork()
        if pid == 0:
            os.close(gate_w)
            container_init(sock, plan, gate_r)
        # Report init's pid first; init waits on the gate so that the parent
        # never reads one of init's messages before this one. The gate is
        # closed by hand: at _exit it would close only after our address
        # space is torn down (~0.5 ms on init's path).
        try:
            sync.send(sock, "init", pid=pid)
        except BaseException:
            os.kill(pid, 9)  # the parent cannot know of it: take it with us
            raise
        os.close(gate_w)
        os._exit(0)
    except BaseException as e:
        sync.fail(sock, stage, e)


def container_init(sock, plan, gate):
    stage = "init"
    try:
        if gate >= 0:
            os.read(gate, 1)  # EOF once the intermediate has reported our pid
            os.close(gate)
        config = plan["config"]
        proc = config["process"]
        nss = plan["namespaces"]
        os.setsid()
        # exec.fifo is reopened through a procfs fd folder. The container's
        # own procfs when the config mounts one (checked, and the reopened
        # file checked to be our fifo: _open_fifo). Only without one is the
        # host's held across pivot_root: that is a host procfs handle in init
        # until `start` (security.md item 9), reachable through
        # /proc/<init>/fd by anyone allowed to ptrace init.
        procfd = -1
        if not _has_procfs(config, nss):
            procfd = os.open("/proc/self/fd", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        if nss.get("network", 1) is None:
            stage = "loopback"
            loopback_up()
        stage = "rootfs"
        plan["await_cgroup"] = lambda: _await_cgroup(sock, plan, made=True)  # before cgroupfs
        rf = rootfs.Rootfs(plan["rootfs"], config, plan)
        if "mount" in nss:
            rf.prepare()
            rf.mount_all()
        else:
            rf.rootfd = os.open(plan["rootfs"], paths.O_PATH_DIR)
        stage = "join cgroup"
        _await_cgroup(sock, plan)
        if plan["cgroup_join"]:  # not joined by the intermediate (container.create)
            cgroups.join_self(plan["cgroup_join"])
        hook_state = None
        if plan.get("need_hooks"):
            stage = "createRuntime hooks"
            sync.send(sock, "hooks")
            msg, _ = sync.recv(sock)
            if msg["t"] != "hooked":
                os._exit(1)
            hook_state = msg["state"]
            stage = "createContainer hooks"
            hooks.run(hooks.of(config, "createContainer"), hook_state, "createContainer")
        stage = "pivot_root"
        if "mount" in nss:
            rf.enter()
            rf.finish_root()
        else:
            os.fchdir(rf.rootfd)
            os.chroot(".")
            os.chdir("/")
        stage = "hostname"
        if config.get("hostname"):
            _socket.sethostname(config["hostname"])
        if config.get("domainname"):
            N.setdomainname(config["domainname"])
        stage = "sysctl"
        rootfs.write_sysctls(config)
        stage = "readonly and masked paths"
        if "mount" in nss:
            rf.readonly_paths()
            rf.masked_paths()
        rf.close()
        if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
            stage = "lsm label"
            security.apply_exec_labels(proc)
        if not plan.get("no_new_keyring"):
            stage = "session keyring"
            try:
                N.join_session_keyring("_ses." + plan["id"])
            except OSError as e:
                if e.errno not in (errno.ENOSYS, errno.EACCES, errno.EPERM):
                    raise
        if proc.get("terminal"):
            stage = "console"
            setup_console(sock, proc.get("consoleSize"))
        stage = "user"
        caps = capabilities.parse(proc.get("capabilities"))
        nnp = proc.get("noNewPrivileges")
        bpf, final_caps = plan.get("bpf") or b"", None
        # Seccomp load ordering: see the seccomp.py docstring.
        if bpf and plan.get("seccomp_notify") and not nnp:
            stage = "seccomp"
            _seccomp_notify(sock, plan)  # still holding CAP_SYS_ADMIN
            bpf = b""
        elif bpf:
            from . import seccomp  # loaded by the parent: it compiled the filter
            caps, final_caps = seccomp.caps_for_load(caps, bpf, nnp)
        stage = "user"
        set_user(proc.get("user") or {}, caps, "user" in nss)
        if nnp:
            N.prctl(N.PR_SET_NO_NEW_PRIVS, 1)
        if bpf and plan.get("seccomp_notify"):
            stage = "seccomp"
            _seccomp_notify(sock, plan)
            bpf = b""
        umask = (proc.get("user") or {}).get("umask")
        os.umask(0o022 if umask is None else umask)
        stage = "cwd"
        enter_cwd(proc.get("cwd") or "/")
        stage = "exec"
        env = build_env(proc)
        if plan.get("listen_fds"):  # socket activation passed through (runc)
            env = merge_env(env + ["LISTEN_FDS=%d" % plan["listen_fds"], "LISTEN_PID=1"])
        path = lookup(proc["args"][0], env)
        first_cloexec = 3 + plan.get("preserve_fds", 0)
        if plan["direct"]:  # create's parent exits after "ready": we must not
            N.prctl(N.PR_SET_PDEATHSIG, 0)
        sync.send(sock, "ready")
        sock.close()
    except BaseException as e:
        sync.fail(sock, stage, e)

    # After "ready" nobody listens on the socket: errors go to stderr, and a
    # "1" on exec.fifo tells `start` the program never ran.
    fd = -1
    try:
        stage = "exec.fifo"
        fd = _open_fifo(plan["fifo_fd"], procfd)
        os.close(plan["fifo_fd"])
        stage = "startContainer hooks"
        start_hooks = hooks.of(config, "startContainer")
        if start_hooks:
            hooks.run(start_hooks, hook_state, "startContainer")
        # "0", and the fifo stays open until execve closes it (O_CLOEXEC):
        # `start` takes that end-of-file as "the program runs" (poststart).
        os.write(fd, b"0")
        stage = "exec"
        N.exec_final(path, proc["args"], env, first_cloexec, bpf,
                     plan.get("bpf_flags", 0), plan.get("notify_fd", -1), caps=final_caps)
    except BaseException as e:
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        try:
            os.write(2, ("pyrunc: %s: %s\n" % (stage, msg)).encode())
            if fd >= 0:
                os.write(fd, b"1")
        finally:
            os._exit(127 if stage == "exec" else 1)


def _has_procfs(config, nss):
    return "mount" in nss and any(
        m.get("type") == "proc" and rootfs.clean(m.get("destination") or "") == "/proc"
        for m in config.get("mounts") or ())


def _open_fifo(fifo_fd, procfd):
    """Open exec.fifo for writing (blocks until `start`) from its O_PATH fd."""
    if procfd < 0:  # the container's procfs: checked, then used by path (no fd held
        # while the open blocks), the result checked below
        d = os.open("/proc/self/fd", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if N.fs_type(d) != N.PROC_SUPER_MAGIC:
                raise OSError(errno.EXDEV, "/proc/self/fd is not on procfs")
        finally:
            os.close(d)
        fd = os.open("/proc/self/fd/%d" % fifo_fd, os.O_WRONLY | os.O_CLOEXEC)
    else:
        try:
            fd = os.open(str(fifo_fd), os.O_WRONLY | os.O_CLOEXEC, dir_fd=procfd)
        finally:
            os.close(procfd)
    a, b = os.fstat(fd), os.fstat(fifo_fd)
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        os.close(fd)
        raise OSError(errno.EXDEV, "reopened exec.fifo is another file")
    return fd


def _seccomp_notify(sock, plan):
    """Load the filter now and hand the listener to the parent, which passes
    it on to listenerPath; wait for its ack (runc: syncParentSeccomp)."""
    from . import seccomp  # loaded by the parent: it compiled the filter
    fd = seccomp.load_now(plan)
    sync.send(sock, "seccomp", fds=[fd])
    os.close(fd)
    msg, _ = sync.recv(sock)
    if msg["t"] != "seccomped":
        os._exit(1)


def loopback_up():
    """Bring lo up with one ioctl: pyroute2 costs ~100 ms to import."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        # struct ifreq: the name (16 bytes), then ifr_flags, a native short
        # (bytes, not the struct module: one module less on create's path)
        name = b"lo".ljust(16, b"\0")
        out = fcntl.ioctl(s.fileno(), 0x8913, name + bytes(16))  # SIOCGIFFLAGS
        flags = int.from_bytes(out[16:18], sys.byteorder) | 1  # IFF_UP
        fcntl.ioctl(s.fileno(), 0x8914, name + flags.to_bytes(2, sys.byteorder) + bytes(14))
    finally:
        s.close()


def setup_console(sock, size, bind_console=True):
    """Allocate the pty in the container's own devpts and make it our stdio.

    The peer is taken with TIOCGPTPEER from the master fd, never by opening
    /dev/pts/N by path (security.md technique 5). The master goes to the
    parent (console socket or the run copier). ``bind_console``: make
    /dev/console this pty (init only; an exec'd process must not touch the
    container's mounts)."""
    top = os.open("/", paths.O_PATH_DIR)
    try:
        master = paths.open_in_root(top, "/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY)
    finally:
        os.close(top)
    if N.fs_type(master) != DEVPTS_SUPER_MAGIC:
        raise OSError(errno.EXDEV, "/dev/pts/ptmx is not on devpts")
    fcntl.ioctl(master, TIOCSPTLCK, bytes(4))  # int 0: unlock
    peer = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if size:
        ws = (size.get("height", 0), size.get("width", 0), 0, 0)  # struct winsize: 4 shorts
        fcntl.ioctl(peer, TIOCSWINSZ, b"".join(v.to_bytes(2, sys.byteorder) for v in ws))
    sync.send(sock, "console", fds=[master])
    os.close(master)
    for i in (0, 1, 2):
        os.dup2(peer, i)
    fcntl.ioctl(0, TIOCSCTTY, 0)
    os.close(peer)
    if not bind_console:
        return
    # /dev/console is this pty (bind-mounted over whatever the image has)
    planted = False
    try:
        top = os.open("/", paths.O_PATH_DIR)
        try:
            # An image may plant /dev/console -> /dev/pts/0 or a file: a symlink
            # (or anything but a file or device) is removed, so the bind below
            # lands on /dev/console itself (security.md item 6).
            dfd = paths.mkdir_in_root(top, "/dev")
            try:
                st = os.stat("console", dir_fd=dfd, follow_symlinks=False)
                if not (_stat.S_ISREG(st.st_mode) or _stat.S_ISCHR(st.st_mode)):
                    planted = True
                    os.unlink("console", dir_fd=dfd)
            except FileNotFoundError:
                pass
            finally:
                os.close(dfd)
            cfd = paths.mkfile_in_root(top, "/dev/console", 0o600)
        finally:
            os.close(top)
        try:
            N.mount("/proc/self/fd/0", paths.fd_path(cfd), None, N.MS_BIND)
        finally:
            os.close(cfd)
    except OSError as e:
        if planted:  # never leave the image's symlink as the console (runc fails too)
            raise OSError(e.errno, "cannot replace the image's /dev/console symlink with "
                          "the pty: %s" % os.strerror(e.errno))
        # a read-only /dev: the console is still our stdio


def set_user(user, caps, userns):
    """Bounding set, then keepcaps + setgroups/setgid/setuid, then capset."""
    uid, gid = user.get("uid", 0), user.get("gid", 0)
    capabilities.drop_bounding(caps["bounding"])
    capabilities.set_keepcaps(True)
    groups = user.get("additionalGids") or []
    if not userns or _setgroups_allowed():
        os.setgroups(groups)
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    capabilities.set_keepcaps(False)
    try:
        capabilities.apply(caps)
    except OSError as e:
        if e.errno != errno.EPERM:
            raise
        # ambient caps not in permitted+inheritable: runc warns and goes on
        pass


def _setgroups_allowed():
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() == "allow"
    except OSError:
        return True


def enter_cwd(cwd):
    """chdir to the process's cwd, which must resolve inside the root (init
    and exec's process): getcwd says "(unreachable)/..." when it does not."""
    os.chdir(cwd)
    if not os.getcwd().startswith("/"):
        raise OSError(errno.EPERM, "cwd %s resolves outside the container root" % cwd)


def build_env(proc):
    env = merge_env(list(proc.get("env") or []))
    if not any(e.startswith("HOME=") for e in env):
        env.append("HOME=" + _home_of((proc.get("user") or {}).get("uid", 0)))
    return env


def _home_of(uid):
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5] or "/"
    except OSError:
        pass
    return "/"


def lookup(name, env):
    """Resolve argv[0] against the container's PATH, as Go's exec.LookPath."""
    if "/" in name:
        if _executable(name):
            return name
        raise errors.PyruncError('exec: "%s": %s' % (name, _why(name)))
    path = next((e[5:] for e in env if e.startswith("PATH=")), "")
    for d in path.split(":"):
        cand = os.path.join(d or ".", name)
        if _executable(cand):
            return cand
    raise errors.PyruncError('exec: "%s": executable file not found in $PATH' % name)


def _executable(p):
    try:
        st = os.stat(p)
    except OSError:
        return False
    return (st.st_mode & 0o170000) == 0o100000 and os.access(p, os.X_OK)


def _why(p):
    try:
        os.stat(p)
        return "permission denied"
    except OSError as e:
        return e.strerror.lower()
