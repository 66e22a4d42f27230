"""root, mounts, /dev, maskedPaths, readonlyPaths, sysctl, --no-pivot."""
import os
import stat

import pytest


def run_out(rt, b, c, *flags):
    p = rt("run", *flags, "--bundle", b, c)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def mountinfo_of(text, dest):
    for line in text.splitlines():
        f = line.split()
        if len(f) > 5 and f[4] == dest:
            return f
    return None


def test_readonly_root(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro"])
    assert run_out(rt, b, cid()).strip() == "ro"


def test_writable_root(rt, make_bundle, cid):
    def edit(cfg):
        cfg["root"]["readonly"] = False
    b = make_bundle(["sh", "-c", "touch /tmp/x && echo rw"], own_rootfs=True, edit=edit)
    assert run_out(rt, b, cid()).strip() == "rw"


def test_relative_root_path(rt, make_bundle, cid):
    b = make_bundle(["true"], own_rootfs=True)  # root.path is "rootfs", relative
    assert rt("run", "--bundle", b, cid()).returncode == 0


def test_bind_mounts_ro_rw_and_file(rt, make_bundle, cid, tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "hello").write_text("hi\n")
    f = tmp_path / "single"
    f.write_text("file\n")

    def edit(cfg):
        cfg["mounts"] += [
            {"destination": "/data-ro", "type": "bind", "source": str(src),
             "options": ["bind", "ro"]},
            {"destination": "/data-rw", "type": "bind", "source": str(src),
             "options": ["rbind", "rw"]},
            {"destination": "/etc/single", "type": "bind", "source": str(f),
             "options": ["bind", "ro", "nosuid", "nodev"]},
            {"destination": "/deep/new/dir", "type": "tmpfs", "source": "tmpfs",
             "options": ["size=1m", "mode=700"]},
        ]
    b = make_bundle(["sh", "-c",
                     "cat /data-ro/hello; touch /data-ro/x 2>/dev/null || echo ro-ok; "
                     "touch /data-rw/y && echo rw-ok; cat /etc/single; "
                     "stat -c %a /deep/new/dir; cat /proc/self/mountinfo"], edit=edit)
    out = run_out(rt, b, cid())
    lines = out.splitlines()
    assert lines[:5] == ["hi", "ro-ok", "rw-ok", "file", "700"]
    assert (src / "y").exists()
    single = mountinfo_of(out, "/etc/single")
    assert single and "ro" in single[5].split(",") and "nosuid" in single[5].split(",")


def test_bind_destination_symlink_stays_inside_root(rt, make_bundle, cid, tmp_path):
    """security.md item 3: a destination through (dangling) symlinks is
    created inside the rootfs, nothing appears outside it."""
    outside = tmp_path / "outside"
    src = tmp_path / "src"
    src.mkdir()
    b = make_bundle(["true"], own_rootfs=True, edit=lambda cfg: cfg["mounts"].append(
        {"destination": "/evil/sub", "type": "bind", "source": str(src), "options": ["bind"]}))
    rootfs = os.path.join(b, "rootfs")
    os.symlink(str(outside), os.path.join(rootfs, "evil"))  # absolute, dangling
    p = rt("run", "--bundle", b, cid())
    assert not outside.exists(), "a folder was created outside the rootfs"
    if p.returncode == 0:
        assert os.path.isdir(os.path.join(rootfs, str(outside).lstrip("/"), "sub"))


def test_proc_symlink_refused(rt, make_bundle, cid, tmp_path):
    """security.md item 1: rootfs /proc is a symlink -> create fails."""
    b = make_bundle(["true"], own_rootfs=True)
    rootfs = os.path.join(b, "rootfs")
    os.rmdir(os.path.join(rootfs, "proc"))
    os.symlink(str(tmp_path), os.path.join(rootfs, "proc"))
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0
    assert not os.path.exists(os.path.join(rt.root, c))


def test_non_procfs_on_proc_refused(rt, make_bundle, cid):
    """security.md item 2."""
    def edit(cfg):
        cfg["mounts"].append({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"})
    b = make_bundle(edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode != 0


def test_dev_defaults(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "for d in null zero full random urandom tty; do "
                                 "stat -c '%n %t:%T %a' /dev/$d; done; readlink /dev/ptmx; "
                                 "readlink /dev/fd; readlink /dev/stdin; ls -d /dev/shm /dev/pts"])
    out = run_out(rt, b, cid()).splitlines()
    assert out[0] == "/dev/null 1:3 666"
    assert out[1] == "/dev/zero 1:5 666"
    assert out[5] == "/dev/tty 5:0 666"
    assert out[6] == "pts/ptmx"
    assert out[7] == "/proc/self/fd"
    assert out[8] == "/proc/self/fd/0"


def test_linux_devices(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                    "fileMode": 0o666, "uid": 7, "gid": 8}]
        cfg["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"})
    b = make_bundle(["sh", "-c", "stat -c '%t:%T %a %u %g' /dev/mynull; echo x > /dev/mynull && echo w"],
                    edit=edit)
    assert run_out(rt, b, cid()).splitlines() == ["1:3 666 7 8", "w"]


def test_planted_dev_null_symlink(rt, make_bundle, cid, tmp_path):
    """security.md item 5: a non-fresh /dev with dev/null -> a host file:
    the target is unchanged and masked paths are the 1:3 device."""
    canary = tmp_path / "canary"
    canary.write_text("untouched\n")

    def edit(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/dev"]
    b = make_bundle(["sh", "-c", "stat -c '%t:%T' /proc/keys; echo pwned > /dev/null"],
                    own_rootfs=True, edit=edit)
    os.symlink(str(canary), os.path.join(b, "rootfs", "dev", "null"))
    rt("run", "--bundle", b, cid())
    assert canary.read_text() == "untouched\n"


def test_masked_and_readonly_paths(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "stat -c '%t:%T' /proc/keys; ls /sys/firmware | wc -l; "
                                 "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo ro"])
    out = run_out(rt, b, cid()).split()
    assert out == ["1:3", "0", "ro"]


def test_sysctl(rt, make_bundle, cid):
    def edit(cfg):
        cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
    b = make_bundle(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shm_rmid_forced"],
                    edit=edit)
    assert run_out(rt, b, cid()).split() == ["1", "1"]


def test_mount_propagation_flags(rt, make_bundle, cid, tmp_path):
    src = tmp_path / "p"
    src.mkdir()

    def edit(cfg):
        cfg["mounts"].append({"destination": "/p", "type": "bind", "source": str(src),
                              "options": ["rbind", "rprivate"]})
        cfg["linux"]["rootfsPropagation"] = "slave"
    b = make_bundle(["cat", "/proc/self/mountinfo"], edit=edit)
    info = mountinfo_of(run_out(rt, b, cid()), "/p")
    assert info is not None
    assert not any(x.startswith(("shared:", "master:")) for x in info[6:info.index("-")])


def test_no_pivot(rt, make_bundle, cid):
    b = make_bundle(["sh", "-c", "ls /; cat /proc/self/mountinfo | wc -l"])
    out = run_out(rt, b, cid(), "--no-pivot").split()
    assert "bin" in out and "proc" in out


def test_no_pivot_host_proc_unreachable(rt, make_bundle, cid):
    """security.md item 15: with --no-pivot, a new mount namespace must not
    reveal the host's bare /proc. CAP_SYS_ADMIN is given so unshare works;
    we look for host mount points the container should not see."""
    def edit(cfg):
        caps = cfg["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = caps[k] + ["CAP_SYS_ADMIN"]
    b = make_bundle(["unshare", "-m", "sh", "-c", "umount -l / 2>/dev/null; cat /proc/self/mountinfo"],
                    edit=edit)
    p = rt("run", "--no-pivot", "--bundle", b, cid())
    if rt.is_runc and p.returncode != 0:
        pytest.skip("runc refused: %s" % p.stderr.strip())
    for line in p.stdout.splitlines():
        mp = line.split()[4]
        assert not mp.startswith("/work"), "host mount visible: %s" % line


def test_no_mount_namespace_leaves_no_mount(rt, make_bundle, cid, no_leaks):
    """security.md item 17."""
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "mount"]
        cfg["mounts"] = []
        cfg["linux"].pop("maskedPaths", None)
        cfg["linux"].pop("readonlyPaths", None)
        cfg["root"]["readonly"] = False
    b = make_bundle(["true"], edit=edit)
    c = cid()
    before = open("/proc/self/mountinfo").read().count("\n")
    p = rt("run", "--bundle", b, c)
    if rt.is_runc and "/proc/self/fd" in p.stderr:
        pytest.skip("runc 1.1 needs /proc inside the container to close fds: %s" % p.stderr)
    assert p.returncode == 0, p.stderr
    after = open("/proc/self/mountinfo").read().count("\n")
    assert after == before, p.stderr
    no_leaks(c, b)


def test_cgroup_mount_readonly_without_cgroupns(rt, make_bundle, cid):
    """security.md item 12."""
    b = make_bundle(["sh", "-c", "grep /sys/fs/cgroup /proc/self/mountinfo"])
    for line in run_out(rt, b, cid()).splitlines():
        if rt.is_runc and " - tmpfs " in line:
            continue  # runc 1.1 leaves the tmpfs holding the hierarchies rw
        assert "ro" in line.split()[5].split(","), line


def test_cgroup_comount_symlinks_stay_inside_root(rt, make_bundle, cid, tmp_path,
                                                  monkeypatch):
    """The cpu -> cpu,cpuacct links of co-mounted v1 hierarchies are made in the
    root, not through a host path string: an image whose /sys is a symlink to
    an absolute path must not get them written into that host folder."""
    if rt.is_runc:
        pytest.skip("drives pyrunc's library with a faked co-mounted hierarchy")
    from pyrunc import cgroups, container
    from pyrunc.cgroups import v1
    if cgroups.mode() == "v2":
        pytest.skip("v1 hierarchies only")
    victim = tmp_path / "victim"
    (victim / "fs" / "cgroup").mkdir(parents=True)

    def edit(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/sys"]
    b = make_bundle(["sleep", "100"], own_rootfs=True, edit=edit)
    os.rmdir(os.path.join(b, "rootfs", "sys"))
    os.symlink(str(victim), os.path.join(b, "rootfs", "sys"))
    monkeypatch.setattr(v1, "hierarchy_mounts",
                        lambda hier=None: [("/sys/fs/cgroup/cpu,cpuacct", ["cpu", "cpuacct"])])
    c = cid()
    st = container.create(rt.root, c, b)
    inside = "/proc/%d/root%s/fs/cgroup" % (st.pid, victim)
    assert sorted(os.listdir(inside)) == ["cpu", "cpu,cpuacct", "cpuacct"]
    assert os.readlink(inside + "/cpu") == "cpu,cpuacct"
    container.delete(rt.root, c, force=True)
    assert os.listdir(victim / "fs" / "cgroup") == []


@pytest.mark.parametrize("ro", [False, True])
def test_tmpfs_tmpcopyup(rt, make_bundle, cid, ro):
    """tmpcopyup: the tmpfs starts with what the folder it covers held
    (folders, files with their owner and mode, symlinks copied, not
    followed); with ro it is filled first, then read-only."""
    def edit(cfg):
        cfg["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                              "options": ["tmpcopyup", "mode=755"] + (["ro"] if ro else [])})
    b = make_bundle(["sh", "-c", "cat /etc/sub/f; stat -c '%u:%g %a' /etc/sub/f; "
                     "readlink /etc/lnk; touch /etc/new 2>/dev/null && echo rw || echo ro"],
                    own_rootfs=True, edit=edit)
    etc = os.path.join(b, "rootfs", "etc")
    os.makedirs(os.path.join(etc, "sub"))
    with open(os.path.join(etc, "sub", "f"), "w") as f:
        f.write("deep\n")
    os.chown(os.path.join(etc, "sub", "f"), 7, 8)
    os.chmod(os.path.join(etc, "sub", "f"), 0o604)
    os.symlink("/etc/shadow", os.path.join(etc, "lnk"))
    out = run_out(rt, b, cid()).splitlines()
    assert out == ["deep", "7:8 604", "/etc/shadow", "ro" if ro else "rw"]
    assert not os.path.exists(os.path.join(etc, "new"))
