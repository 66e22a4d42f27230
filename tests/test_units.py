"""Unit tests for pure logic: no container, no root needed except where said."""
import json
import os

import pytest

from pyrunc import cli, jsonio, rootfs, signals, spec, state
from pyrunc.errors import InvalidIdError, SpecError, UsageError


# --- jsonio ---------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {}, [], {"a": [1, 2.5, None, True, False, "é\"\\\n"]}, {"n": {"m": {"o": []}}}, "x", 0,
])
def test_jsonio_roundtrip_matches_stdlib(obj):
    assert json.loads(jsonio.dumps(obj)) == obj
    assert json.loads(jsonio.dumps(obj, 2)) == obj
    assert jsonio.dumps(obj, 2) == json.dumps(obj, indent=2, ensure_ascii=False)
    assert jsonio.loads(json.dumps(obj)) == obj


def test_jsonio_rejects_garbage():
    for bad in ("{", "[1,]", "{} x", "", "nan"):
        with pytest.raises(ValueError):
            jsonio.loads(bad)


# --- signals ----------------------------------------------------------------------

@pytest.mark.parametrize("text,num", [("9", 9), ("KILL", 9), ("SIGKILL", 9), ("sigterm", 15),
                                      ("hup", 1), ("RTMIN", 34), ("RTMIN+2", 36),
                                      ("RTMAX-1", 63), ("SIGWINCH", 28)])
def test_signal_parse(text, num):
    assert signals.parse(text) == num


@pytest.mark.parametrize("text", ["0", "65", "SIGFOO", "RTMIN+40", "-1"])
def test_signal_parse_bad(text):
    with pytest.raises(ValueError):
        signals.parse(text)


# --- ids ---------------------------------------------------------------------------

@pytest.mark.parametrize("good", ["a", "A-b_c.d+e", "0" * 64])
def test_valid_ids(good):
    assert state.validate_id(good) == good


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a b", "a\0b", "ü"])
def test_invalid_ids(bad):
    with pytest.raises(InvalidIdError):
        state.validate_id(bad)


# --- spec ----------------------------------------------------------------------------

def test_schema_errors_carry_pointer():
    c = spec.default_spec()
    c["mounts"][2]["options"] = "nosuid"
    with pytest.raises(SpecError) as e:
        spec.validate(c)
    assert e.value.pointer == "/mounts/2/options"


def test_unknown_fields_listed():
    c = spec.default_spec()
    c["process"]["xyz"] = 1
    c["linux"]["resources"]["bogus"] = {}
    c["annotations"] = {"anything.goes": "x"}  # a free-form map: never warned
    w = spec.validate(c)
    assert "unknown field /process/xyz ignored" in w
    assert "unknown field /linux/resources/bogus ignored" in w
    assert not any("annotations" in x for x in w)


def test_version_check():
    spec.check_version("1.0.2-dev")
    spec.check_version("1.3.0")
    for bad in ("2.0.0", None, 1):
        with pytest.raises(SpecError):
            spec.check_version(bad)


def test_validation_cache_is_keyed_on_content(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "CACHE_DIR", str(tmp_path))
    c = spec.default_spec()
    c["process"]["xyz"] = 1
    data = jsonio.dumps(c).encode()
    assert spec.validate(c, data) == ["unknown field /process/xyz ignored"]
    assert len(os.listdir(tmp_path)) == 1
    # the cached answer (warnings included) comes back without jsonschema
    assert spec.validate(c, data) == ["unknown field /process/xyz ignored"]
    c["process"]["args"] = "bad"
    with pytest.raises(SpecError):
        spec.validate(c, jsonio.dumps(c).encode())


# --- mount options ------------------------------------------------------------------

def test_mount_options_split():
    o = rootfs.Options(["rbind", "ro", "nosuid", "rprivate", "mode=755", "size=1m", "rro"])
    N = rootfs.N
    assert o.flags & N.MS_BIND and o.flags & N.MS_REC and o.flags & N.MS_RDONLY
    assert o.flags & N.MS_NOSUID
    assert o.prop == N.MS_PRIVATE | N.MS_REC
    assert o.data == "mode=755,size=1m"
    assert o.rec_set == rootfs.ATTR_RDONLY
    s, c = o.attrs()
    assert s & rootfs.ATTR_RDONLY and s & rootfs.ATTR_NOSUID


def test_mount_options_later_wins():
    o = rootfs.Options(["ro", "rw"])
    assert not o.flags & rootfs.N.MS_RDONLY
    assert o.attrs()[1] & rootfs.ATTR_RDONLY  # rw clears the read-only attr


def test_idmap_refused():
    with pytest.raises(SpecError):
        rootfs.Options(["idmap"])


# --- CLI parsing ----------------------------------------------------------------------

def test_cli_parse_forms():
    g, cmd, opts, pos = cli.parse(["--root", "/r", "-log=/l", "create", "x", "-b", "/b",
                                   "--preserve-fds=2", "--no-pivot"])
    assert g == {"root": "/r", "log": "/l"}
    assert cmd == "create" and pos == ["x"]
    assert opts == {"bundle": "/b", "preserve-fds": 2, "no-pivot": True}


def test_cli_parse_errors():
    for argv in (["create", "--preserve-fds", "x"], ["nope"], ["list", "--bogus"],
                 ["create", "--bundle"]):
        with pytest.raises(UsageError):
            cli.parse(argv)


def test_cli_bool_values():
    _, _, opts, _ = cli.parse(["run", "--detach=false", "--keep=true", "x"])
    assert opts == {"detach": False, "keep": True}


# --- in-root path resolution (needs openat2; root not required) --------------------------

def test_mkdir_in_root_follows_symlinks_inside(tmp_path):
    from pyrunc import paths
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    os.symlink(str(outside), str(root / "abs"))        # absolute, dangling
    os.symlink("../../../../escape", str(root / "rel"))  # climbs, dangling
    rfd = os.open(str(root), paths.O_PATH_DIR)
    try:
        for p in ("/abs/x/y", "/rel/z"):
            fd = paths.mkdir_in_root(rfd, p)
            real = paths.check_in_root(fd, str(root))
            os.close(fd)
            assert real.startswith(str(root) + "/")
    finally:
        os.close(rfd)
    assert not outside.exists()
    assert (root / str(outside).lstrip("/") / "x" / "y").is_dir()
    assert (root / "escape" / "z").is_dir()


def test_open_in_root_never_leaves(tmp_path):
    from pyrunc import paths
    root = tmp_path / "root"
    root.mkdir()
    os.symlink("/etc", str(root / "etc"))     # inside the root: a loop onto itself
    os.symlink("/usr", str(root / "host"))    # inside the root: /usr, missing
    rfd = os.open(str(root), paths.O_PATH_DIR)
    try:
        with pytest.raises(OSError) as e:
            paths.open_in_root(rfd, "/etc/passwd")
        assert e.value.errno == 40  # ELOOP, never the host's /etc/passwd
        with pytest.raises(FileNotFoundError):
            paths.open_in_root(rfd, "/host/bin")
    finally:
        os.close(rfd)


PATHS = ["", ".", "/", "//", "///", "a", "/a", "a/", "/a/", "//a//b/", "a/b/../c", "/../a",
         "../../a", "a/../..", "/a/./b/.", "/a//b", "a/b/", "x/../../y", "/..", "./a/../b"]


@pytest.mark.parametrize("p", PATHS)
def test_short_os_paths_match_posixpath(p):
    import posixpath
    from pyrunc import _os
    for f in ("dirname", "basename", "normpath", "abspath", "exists", "isdir", "isfile"):
        assert getattr(_os.path, f)(p) == getattr(posixpath, f)(p), (f, p)
    for other in ("", "b", "/b", "b/", "../b"):
        assert _os.path.join(p, other) == posixpath.join(p, other), (p, other)
        assert _os.path.join(p, other, "c") == posixpath.join(p, other, "c"), (p, other)


def test_short_os_walk_matches_os_walk(tmp_path):
    from pyrunc import _os
    for d in ("a/b/c", "a/d", "e"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "a" / "f").write_text("")
    (tmp_path / "a" / "b" / "g").write_text("")

    def norm(w):
        return sorted((d, sorted(ds), sorted(fs)) for d, ds, fs in w)
    assert norm(_os.walk(str(tmp_path))) == norm(os.walk(str(tmp_path)))
    assert list(_os.walk(str(tmp_path / "missing"))) == []
    # top-down: pruning the folder list stops the descent, as with os.walk
    seen = []
    for d, ds, _ in _os.walk(str(tmp_path)):
        seen.append(d)
        ds[:] = [x for x in ds if x != "a"]
    assert seen == [str(tmp_path), str(tmp_path / "e")]
    assert _os.environ == dict(os.environ)  # str, not posix's bytes


def test_namespace_flags_match_the_shim():
    # namespaces.TYPES spells the clone flags out (the parent must not load
    # cffi for them): they must be the kernel's, as the shim has them
    from pyrunc import _native, namespaces
    for t, (flag, _) in namespaces.TYPES.items():
        name = "CLONE_NEW" + {"network": "NET", "mount": "NS"}.get(t, t.upper())
        assert flag == getattr(_native, name), t


def test_short_os_realpath_and_makedirs(tmp_path):
    import posixpath
    from pyrunc import _os
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "link").symlink_to("a/b")
    for p in ("a/b", "link", "link/../b", "missing/x", "a/./b/"):
        full = str(tmp_path / p)
        assert _os.path.realpath(full) == posixpath.realpath(full), p
    _os.makedirs(str(tmp_path / "x" / "y" / "z"), 0o700)
    assert (tmp_path / "x" / "y" / "z").is_dir()
    _os.makedirs(str(tmp_path / "x" / "y"), exist_ok=True)
    with pytest.raises(FileExistsError):
        _os.makedirs(str(tmp_path / "x" / "y"))


def test_short_os_fsencode():
    from pyrunc import _os
    for v in ("a/b", "caf\u00e9", "bad\udcff", b"raw\xff"):
        assert _os.fsencode(v) == os.fsencode(v)


def test_state_save_replaces_atomically(tmp_path):
    """create saves state.json twice; the second save swaps the names
    (RENAME_EXCHANGE) instead of renaming over the first, and leaves no
    temporary file behind."""
    c = state.Container(str(tmp_path), "c").make()
    c.save({"n": 1})
    first = os.stat(os.path.join(c.dir, "state.json")).st_ino
    c.save({"n": 2})
    assert os.listdir(c.dir) == ["state.json"]
    assert os.stat(os.path.join(c.dir, "state.json")).st_ino != first
    assert state.Container(str(tmp_path), "c").load().data == {"n": 2}
    c.remove_dir()
    assert not os.path.exists(c.dir)
