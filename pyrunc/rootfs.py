"""root, mounts, pivot_root, maskedPaths, readonlyPaths (roles: init).

Runs in the container's new mount namespace, in this order (each step says
why it is where it is):

  prepare()   make "/" a slave (rootfsPropagation) so nothing we mount
              propagates back to the host; bind the rootfs onto itself so it
              is a mount point pivot_root accepts
  mount_all() every entry of ``mounts``, in order, each destination resolved
              in the root (paths.py), never as a string; then /dev's nodes
  enter()     pivot_root(".", ".") and detach the old root (or, with
              --no-pivot, MS_MOVE + chroot after unmounting every host mount
              the container could otherwise reach again)
  finish()    root.readonly, then (caller) sysctl, then readonlyPaths and
              maskedPaths last: after sysctl, since /proc/sys becomes read-only
"""
import errno
from . import _os as os  # posix without os's import cost (_os.py)
import stat

from . import _native, devices, paths
from . import errors  # errors.X where raised or caught: the classes are made on first use

N = _native

# option -> (set flags, clear flags)
FLAGS = {
    "async": (0, N.MS_SYNCHRONOUS), "atime": (0, N.MS_NOATIME), "bind": (N.MS_BIND, 0),
    "defaults": (0, 0), "dev": (0, N.MS_NODEV), "diratime": (0, N.MS_NODIRATIME),
    "dirsync": (N.MS_DIRSYNC, 0), "exec": (0, N.MS_NOEXEC), "lazytime": (N.MS_LAZYTIME, 0),
    "loud": (0, N.MS_SILENT), "mand": (N.MS_MANDLOCK, 0), "noatime": (N.MS_NOATIME, 0),
    "nodev": (N.MS_NODEV, 0), "nodiratime": (N.MS_NODIRATIME, 0), "noexec": (N.MS_NOEXEC, 0),
    "nolazytime": (0, N.MS_LAZYTIME), "nomand": (0, N.MS_MANDLOCK),
    "norelatime": (0, N.MS_RELATIME), "nostrictatime": (0, N.MS_STRICTATIME),
    "nosuid": (N.MS_NOSUID, 0), "nosymfollow": (N.MS_NOSYMFOLLOW, 0),
    "rbind": (N.MS_BIND | N.MS_REC, 0), "relatime": (N.MS_RELATIME, 0),
    "remount": (N.MS_REMOUNT, 0), "ro": (N.MS_RDONLY, 0), "rw": (0, N.MS_RDONLY),
    "silent": (N.MS_SILENT, 0), "strictatime": (N.MS_STRICTATIME, 0),
    "suid": (0, N.MS_NOSUID), "sync": (N.MS_SYNCHRONOUS, 0),
}
PROPAGATION = {
    "private": N.MS_PRIVATE, "rprivate": N.MS_PRIVATE | N.MS_REC,
    "shared": N.MS_SHARED, "rshared": N.MS_SHARED | N.MS_REC,
    "slave": N.MS_SLAVE, "rslave": N.MS_SLAVE | N.MS_REC,
    "unbindable": N.MS_UNBINDABLE, "runbindable": N.MS_UNBINDABLE | N.MS_REC,
}
# mount_setattr(2) attributes
ATTR_RDONLY, ATTR_NOSUID, ATTR_NODEV, ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8
ATTR_ATIME, ATTR_NOATIME, ATTR_STRICTATIME = 0x70, 0x10, 0x20
ATTR_NODIRATIME, ATTR_NOSYMFOLLOW = 0x80, 0x200000
# recursive options (runc's "r" prefix): option -> (set, clear)
REC_ATTRS = {
    "rro": (ATTR_RDONLY, 0), "rrw": (0, ATTR_RDONLY),
    "rnosuid": (ATTR_NOSUID, 0), "rsuid": (0, ATTR_NOSUID),
    "rnodev": (ATTR_NODEV, 0), "rdev": (0, ATTR_NODEV),
    "rnoexec": (ATTR_NOEXEC, 0), "rexec": (0, ATTR_NOEXEC),
    "rnodiratime": (ATTR_NODIRATIME, 0), "rdiratime": (0, ATTR_NODIRATIME),
    "rrelatime": (0, ATTR_ATIME), "rnorelatime": (0, 0),
    "rnoatime": (ATTR_NOATIME, ATTR_ATIME), "ratime": (0, ATTR_ATIME),
    "rstrictatime": (ATTR_STRICTATIME, ATTR_ATIME), "rnostrictatime": (0, ATTR_ATIME),
    "rnosymfollow": (ATTR_NOSYMFOLLOW, 0), "rsymfollow": (0, ATTR_NOSYMFOLLOW),
}
# Mounts allowed inside /proc (lxcfs-style), security.md technique 3.
PROC_ALLOW = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
              "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
              "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"}


class Options:
    """A mount's ``options`` split into flags, propagation, attrs and data."""

    def __init__(self, options, typ=None):
        self.flags = 0
        self.clear = 0
        self.prop = 0
        self.rec_set = 0
        self.rec_clr = 0
        self.copyup = False
        data = []
        for o in options or ():
            if o in FLAGS:
                s, c = FLAGS[o]
                self.flags = (self.flags | s) & ~c
                self.clear |= c
            elif o in PROPAGATION:
                self.prop |= PROPAGATION[o]
            elif o in REC_ATTRS:
                s, c = REC_ATTRS[o]
                self.rec_set |= s
                self.rec_clr |= c
            elif o in ("idmap", "ridmap"):
                raise errors.SpecError("idmapped mounts (%s) are not supported yet" % o)
            elif o == "tmpcopyup":
                self.copyup = True
            else:
                data.append(o)
        if typ == "bind":
            self.flags |= N.MS_BIND
        self.data = ",".join(data) or None

    @property
    def bind(self):
        return bool(self.flags & N.MS_BIND)

    def attrs(self):
        """mount_setattr (set, clear) for the non-recursive flags of a bind."""
        s = c = 0
        f = self.flags
        for flag, attr in ((N.MS_RDONLY, ATTR_RDONLY), (N.MS_NOSUID, ATTR_NOSUID),
                           (N.MS_NODEV, ATTR_NODEV), (N.MS_NOEXEC, ATTR_NOEXEC),
                           (N.MS_NODIRATIME, ATTR_NODIRATIME),
                           (N.MS_NOSYMFOLLOW, ATTR_NOSYMFOLLOW)):
            if f & flag:
                s |= attr
            elif self.clear & flag:
                c |= attr
        if f & N.MS_NOATIME:
            s, c = s | ATTR_NOATIME, c | ATTR_ATIME
        elif f & N.MS_STRICTATIME:
            s, c = s | ATTR_STRICTATIME, c | ATTR_ATIME
        elif f & N.MS_RELATIME:
            c |= ATTR_ATIME
        return s, c


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _copy_tree(src, dst):
    """Copy the content of folder fd ``src`` into folder fd ``dst``, keeping
    modes, owners and times of what it makes; never following a symlink."""
    for name in os.listdir(src):
        st = os.stat(name, dir_fd=src, follow_symlinks=False)
        m = st.st_mode
        if stat.S_ISDIR(m):
            os.mkdir(name, 0o700, dir_fd=dst)
            s2 = os.open(name, _DIR_FLAGS, dir_fd=src)
            try:
                d2 = os.open(name, _DIR_FLAGS, dir_fd=dst)
                try:
                    _copy_tree(s2, d2)
                finally:
                    os.close(d2)
            finally:
                os.close(s2)
        elif stat.S_ISREG(m):
            s2 = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=src)
            try:
                if not stat.S_ISREG(os.fstat(s2).st_mode):
                    continue  # swapped meanwhile: skipped
                d2 = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600, dir_fd=dst)
                try:
                    while os.sendfile(d2, s2, None, 1 << 30):
                        pass
                finally:
                    os.close(d2)
            finally:
                os.close(s2)
        elif stat.S_ISLNK(m):
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
        else:  # devices, fifos, sockets: the node itself, never opened
            os.mknod(name, stat.S_IFMT(m) | 0o600, st.st_rdev, dir_fd=dst)
        os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        if not stat.S_ISLNK(m):
            os.chmod(name, stat.S_IMODE(m), dir_fd=dst)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst,
                 follow_symlinks=False)


def clean(dest):
    return "/" + "/".join(paths.split(dest))


class Rootfs:
    def __init__(self, rootfs, config, ctx):
        self.rootfs = rootfs.rstrip("/") or "/"
        self.config = config
        self.ctx = ctx  # dict: bundle, userns, cgroupns, cgroup_paths, no_pivot
        self.rootfd = -1
        self.devnull = -1

    # --- before pivot ----------------------------------------------------------
    def prepare(self):
        prop = PROPAGATION.get((self.config.get("linux") or {}).get("rootfsPropagation") or "",
                               N.MS_SLAVE | N.MS_REC)
        N.mount(None, "/", None, prop | N.MS_REC)
        self._parent_private()
        N.mount(self.rootfs, self.rootfs, None, N.MS_BIND | N.MS_REC)
        self.rootfd = os.open(self.rootfs, paths.O_PATH_DIR)

    def _parent_private(self):
        """pivot_root refuses a new root whose parent mount is shared."""
        best = None
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mp = fields[4].replace("\\040", " ")
                if (self.rootfs == mp or self.rootfs.startswith(mp.rstrip("/") + "/")) and \
                        (best is None or len(mp) > len(best[0])):
                    best = (mp, fields[6:fields.index("-")])
        if best and any(o.startswith("shared:") for o in best[1]):
            N.mount(None, best[0], None, N.MS_PRIVATE)

    def mount_all(self):
        setup_dev = True
        for i, m in enumerate(self.config.get("mounts") or ()):
            dest = clean(m["destination"])
            try:
                opts = Options(m.get("options"), m.get("type"))
                if dest == "/dev" and opts.bind:
                    setup_dev = False
                self._mount_one(m, dest, opts)
            except errors.SpecError as e:
                raise errors.SpecError(str(e), "/mounts/%d" % i)
            except OSError as e:
                raise OSError(e.errno, "mount %s to %s: %s" % (
                    m.get("source") or m.get("type"), dest, os.strerror(e.errno) if e.errno
                    else e.strerror))
        if setup_dev:
            devs = [(p, t, ma, mi, mode, None, None) for (p, t, ma, mi, mode) in
                    devices.DEFAULT_DEVICES] + devices.config_devices(self.config)
            devices.create(self.rootfd, self.rootfs, devs, bind=self.ctx.get("userns"))
            devices.symlinks(self.rootfd, self.rootfs)

    def _check_special(self, m, dest):
        typ = m.get("type")
        if dest in ("/proc", "/sys"):
            real = paths.is_real_dir(self.rootfd, dest)
            if real is False:
                raise OSError(errno.ENOTDIR, "%s in the rootfs must be a real folder, "
                                             "not a symlink or file" % dest)
        if dest == "/proc" and typ != "proc":
            raise OSError(errno.EPERM, "only procfs may be mounted on /proc")
        if dest.startswith("/proc/") and dest not in PROC_ALLOW:
            raise OSError(errno.EPERM, "mounts inside /proc are limited to %s"
                          % ", ".join(sorted(PROC_ALLOW)))

    def _mount_one(self, m, dest, opts):
        self._check_special(m, dest)
        typ = m.get("type") or ("bind" if opts.bind else None)
        if typ in ("cgroup", "cgroup2"):
            return self._mount_cgroup(dest, opts)
        source = m.get("source")
        if opts.bind:
            if not source:
                raise errors.SpecError("a bind mount needs a source")
            if not source.startswith("/"):
                source = os.path.join(self.ctx["bundle"], source)
            st = os.stat(source)
            fd = (paths.mkdir_in_root if stat.S_ISDIR(st.st_mode) else paths.mkfile_in_root)(
                self.rootfd, dest)
        else:
            fd = paths.mkdir_in_root(self.rootfd, dest)
        try:
            paths.check_in_root(fd, self.rootfs)
            target = paths.fd_path(fd)
            if opts.bind:
                N.mount(source, target, None, opts.flags & (N.MS_BIND | N.MS_REC))
            else:
                flags = opts.flags & ~(N.MS_BIND | N.MS_REC | N.MS_REMOUNT)
                copyup = opts.copyup and typ == "tmpfs"
                if copyup:
                    flags &= ~N.MS_RDONLY  # made read-only once filled
                N.mount(source or typ, target, typ, flags, opts.data)
                if copyup:
                    self._copy_up(fd, dest, bool(opts.flags & N.MS_RDONLY))
        finally:
            os.close(fd)
        self._post_mount(dest, opts, opts.bind)

    def _copy_up(self, lower, dest, ro):
        """tmpcopyup: what the folder held is copied into the tmpfs now over it
        (as runc). ``lower`` still points at the covered folder; both sides are
        walked by fd and nothing in the image is followed: symlinks are copied
        as symlinks, other nodes re-made with mknod."""
        src = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=lower)
        try:
            top = paths.open_in_root(self.rootfd, dest, paths.O_PATH_DIR)
            try:
                paths.check_in_root(top, self.rootfs)
                dst = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=top)
                try:
                    _copy_tree(src, dst)
                finally:
                    os.close(dst)
                if ro:
                    N.mount_setattr(top, "", N.AT_EMPTY_PATH, ATTR_RDONLY, 0)
            finally:
                os.close(top)
        finally:
            os.close(src)

    def _post_mount(self, dest, opts, bind):
        """Flags, recursive attrs and propagation act on the new mount: re-resolve
        the destination (the fd above points below the mount) and re-check it."""
        a_set, a_clr = opts.attrs() if bind else (0, 0)
        if not (a_set or a_clr or opts.rec_set or opts.rec_clr or opts.prop):
            return
        fd = paths.open_in_root(self.rootfd, dest)
        try:
            paths.check_in_root(fd, self.rootfs)
            if a_set or a_clr:
                N.mount_setattr(fd, "", N.AT_EMPTY_PATH, a_set, a_clr)
            if opts.rec_set or opts.rec_clr:
                N.mount_setattr(fd, "", N.AT_EMPTY_PATH | N.AT_RECURSIVE,
                                opts.rec_set, opts.rec_clr)
            if opts.prop:
                N.mount(None, paths.fd_path(fd), None, opts.prop)
        finally:
            os.close(fd)

    def _mount_cgroup(self, dest, opts):
        """cgroup / cgroup2 at dest, showing only the container's own cgroups.

        With a cgroup namespace the real filesystems are mounted (the kernel
        roots them at the container's cgroup); without one, the container's
        own cgroup folders are bind-mounted, always read-only (security.md
        item 12: a writable host cgroupfs is an escape)."""
        from . import cgroups
        if self.ctx.get("await_cgroup"):  # init: the folders exist once "cgroup(-made)" came
            self.ctx["await_cgroup"]()
        cgns = self.ctx.get("cgroupns")
        ro = bool(opts.flags & N.MS_RDONLY) or not cgns
        base = opts.flags & (N.MS_NOSUID | N.MS_NODEV | N.MS_NOEXEC)
        fd = paths.mkdir_in_root(self.rootfd, dest)
        try:
            paths.check_in_root(fd, self.rootfs)
            if cgroups.mode() == "v2":
                if cgns:
                    N.mount("cgroup2", paths.fd_path(fd), "cgroup2", base)
                else:
                    N.mount(self.ctx["cgroup_paths"][""], paths.fd_path(fd), None,
                            N.MS_BIND | N.MS_REC)
                if ro:
                    self._readonly_fd(fd, dest)
                return
            N.mount("tmpfs", paths.fd_path(fd), "tmpfs", base, "mode=755")
        finally:
            os.close(fd)
        host_paths = self.ctx.get("cgroup_paths") or {}
        hier = self.ctx.get("cgroup_mounts")
        if hier is None:
            from .cgroups.v1 import hierarchy_mounts
            hier = hierarchy_mounts()
        for mnt, opts_list in hier:
            name = os.path.basename(mnt)
            sub = dest + "/" + name
            sfd = paths.mkdir_in_root(self.rootfd, sub)
            try:
                paths.check_in_root(sfd, self.rootfs)
                if cgns:
                    N.mount("cgroup", paths.fd_path(sfd), "cgroup", base, ",".join(opts_list))
                else:
                    src = next((host_paths[c] for c in opts_list if c in host_paths), None)
                    if not src:
                        continue
                    N.mount(src, paths.fd_path(sfd), None, N.MS_BIND)
            finally:
                os.close(sfd)
            if "," in name:  # co-mounted controllers: cpu -> cpu,cpuacct
                self._symlinks_at(dest, name)
        fd = paths.open_in_root(self.rootfd, dest)
        try:
            paths.check_in_root(fd, self.rootfs)
            if ro:
                N.mount_setattr(fd, "", N.AT_EMPTY_PATH | N.AT_RECURSIVE, ATTR_RDONLY, 0)
        finally:
            os.close(fd)

    def _symlinks_at(self, dest, name):
        """part -> name for each part of a co-mounted hierarchy's name, made
        relative to dest resolved in the root (never as a host path string:
        a symlink in the image would redirect it out of the rootfs)."""
        dfd = paths.open_in_root(self.rootfd, dest, paths.O_PATH_DIR)
        try:
            paths.check_in_root(dfd, self.rootfs)
            for part in name.split(","):
                try:
                    os.symlink(name, part, dir_fd=dfd)
                except FileExistsError:
                    pass
        finally:
            os.close(dfd)

    def _readonly_fd(self, fd, dest):
        nfd = paths.open_in_root(self.rootfd, dest)
        try:
            N.mount_setattr(nfd, "", N.AT_EMPTY_PATH | N.AT_RECURSIVE, ATTR_RDONLY, 0)
        finally:
            os.close(nfd)

    # --- pivot ---------------------------------------------------------------
    def enter(self):
        if self.ctx.get("no_pivot"):
            return self._move_root()
        os.fchdir(self.rootfd)
        N.pivot_root(".", ".")
        # The old root is now stacked under "."; keep its unmount from
        # propagating to the host, then detach it.
        N.mount(None, ".", None, N.MS_SLAVE | N.MS_REC)
        N.umount2(".", N.MNT_DETACH)
        os.chdir("/")

    def _move_root(self):
        """--no-pivot: MS_MOVE + chroot. chroot leaves the old root reachable to
        anyone who unshares a new mount namespace, so every host mount outside
        the rootfs is detached first (security.md item 15); a proc or sysfs
        that will not go is covered with an empty tmpfs."""
        mps = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mps.append((fields[4].replace("\\040", " "), fields[fields.index("-") + 1]))
        root = self.rootfs
        for mp, fstype in sorted(mps, key=lambda t: len(t[0]), reverse=True):
            if mp == root or mp.startswith(root + "/") or root.startswith(mp.rstrip("/") + "/") \
                    or mp == "/":
                continue
            try:
                N.umount2(mp, N.MNT_DETACH)
            except OSError:
                if fstype in ("proc", "sysfs"):
                    try:
                        N.mount("tmpfs", mp, "tmpfs", N.MS_RDONLY, "size=0")
                    except OSError:
                        pass
        os.fchdir(self.rootfd)
        N.mount(root, "/", None, N.MS_MOVE)
        os.chroot(".")
        os.chdir("/")

    # --- after pivot -----------------------------------------------------------
    def finish_root(self):
        root = self.config.get("root") or {}
        if root.get("readonly"):
            N.mount_setattr(-100, "/", 0, ATTR_RDONLY, 0)  # AT_FDCWD, not recursive
        prop = (self.config.get("linux") or {}).get("rootfsPropagation")
        if prop in ("shared", "rshared"):
            N.mount(None, "/", None, PROPAGATION[prop] | N.MS_REC)

    def readonly_paths(self):
        top = os.open("/", paths.O_PATH_DIR)
        try:
            for p in (self.config.get("linux") or {}).get("readonlyPaths") or ():
                try:
                    fd = paths.open_in_root(top, p)
                except FileNotFoundError:
                    continue
                try:
                    N.mount(paths.fd_path(fd), paths.fd_path(fd), None, N.MS_BIND | N.MS_REC)
                finally:
                    os.close(fd)
                fd = paths.open_in_root(top, p)
                try:
                    N.mount_setattr(fd, "", N.AT_EMPTY_PATH | N.AT_RECURSIVE,
                                    ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV | ATTR_NOEXEC, 0)
                finally:
                    os.close(fd)
        finally:
            os.close(top)

    def _open_devnull(self, top):
        """The container's /dev/null for masking, after pivot_root: resolved
        without any symlink and checked to be the 1:3 char device (security.md
        technique 5), so a planted dev/null -> /proc/sys/... is refused. (The
        host's /dev/null cannot be used: it sits on the detached old root.)"""
        fd = N.openat2(top, "dev/null", os.O_PATH | os.O_CLOEXEC, 0,
                       N.RESOLVE_IN_ROOT | N.RESOLVE_NO_SYMLINKS)
        st = os.fstat(fd)
        if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
            os.close(fd)
            raise OSError(errno.EINVAL, "/dev/null in the container is not the 1:3 char "
                                        "device: refusing to mask with it")
        return fd

    def masked_paths(self):
        top = os.open("/", paths.O_PATH_DIR)
        try:
            for p in (self.config.get("linux") or {}).get("maskedPaths") or ():
                try:
                    fd = paths.open_in_root(top, p)
                except FileNotFoundError:
                    continue
                try:
                    if stat.S_ISDIR(os.fstat(fd).st_mode):
                        N.mount("tmpfs", paths.fd_path(fd), "tmpfs", N.MS_RDONLY, "size=0")
                    else:
                        if self.devnull < 0:
                            self.devnull = self._open_devnull(top)
                        N.mount(paths.fd_path(self.devnull), paths.fd_path(fd), None, N.MS_BIND)
                finally:
                    os.close(fd)
        finally:
            os.close(top)

    def close(self):
        for fd in (self.rootfd, self.devnull):
            if fd >= 0:
                os.close(fd)
        self.rootfd = self.devnull = -1


def write_sysctls(config):
    """linux.sysctl through a procfs handle we checked (technique 4)."""
    sysctls = (config.get("linux") or {}).get("sysctl") or {}
    if not sysctls:
        return
    base = os.open("/proc/sys", paths.O_PATH_DIR)
    try:
        if N.fs_type(base) != N.PROC_SUPER_MAGIC:
            raise OSError(errno.EXDEV, "/proc/sys is not procfs: refusing to write sysctls")
        for key, value in sysctls.items():
            rel = key.replace(".", "/")
            if ".." in paths.split(rel):
                raise errors.SpecError("bad sysctl name %r" % key, "/linux/sysctl")
            fd = N.openat2(base, rel, os.O_WRONLY | os.O_CLOEXEC, 0,
                           N.RESOLVE_BENEATH | N.RESOLVE_NO_SYMLINKS | N.RESOLVE_NO_XDEV)
            try:
                os.write(fd, str(value).encode())
            except OSError as e:
                raise OSError(e.errno, "sysctl %s=%s: %s" % (key, value, os.strerror(e.errno)))
            finally:
                os.close(fd)
    finally:
        os.close(base)
