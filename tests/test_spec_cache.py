"""The validation cache (spec.py): used only when it is safe, keyed on
everything that decides the verdict, bounded. Unit tests on a temp folder."""
import os

import pytest

from pyrunc import jsonio, spec
from pyrunc.errors import SpecError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    parent = tmp_path / "pyrunc"
    d = parent / "validated"
    monkeypatch.setattr(spec, "CACHE_DIR", str(d))
    if os.geteuid() != 0:
        pytest.skip("the cache is root's only")
    return d


def _cfg(**extra):
    c = spec.default_spec(args=["true"], terminal=False)
    c.update(extra)
    return c, jsonio.dumps(c).encode()


def test_second_validation_is_a_hit(cache):
    c, data = _cfg()
    assert spec.validate(c, data) == []
    key = spec._cache_key(data)
    assert (cache / key).exists()
    assert oct((cache / key).stat().st_mode & 0o777) == oct(0o600)
    assert oct(cache.stat().st_mode & 0o777) == oct(0o700)
    assert spec._cache_load(key) == []


def test_warnings_are_replayed(cache):
    c, data = _cfg(madeUpField=1)
    w = spec.validate(c, data)
    assert w and "madeUpField" in w[0]
    assert spec._cache_load(spec._cache_key(data)) == w


def test_key_covers_bytes_version_and_format(cache, monkeypatch):
    c, data = _cfg()
    k = spec._cache_key(data)
    assert spec._cache_key(data + b" ") != k
    monkeypatch.setattr(spec, "SPEC_VERSION", "9.9.9")
    assert spec._cache_key(data) != k
    monkeypatch.undo()
    monkeypatch.setattr(spec, "CACHE_DIR", str(cache))
    monkeypatch.setattr(spec, "_CACHE_FORMAT", spec._CACHE_FORMAT + 1)
    assert spec._cache_key(data) != k


def test_invalid_configs_are_not_cached(cache):
    c, data = _cfg(process={"args": "not-a-list"})
    with pytest.raises(SpecError):
        spec.validate(c, data)
    assert not cache.exists() or not os.listdir(cache)


@pytest.mark.parametrize("bad", ["group-writable", "symlink", "parent-writable"])
def test_untrusted_cache_is_ignored(cache, tmp_path, bad):
    """A planted 'validated' entry must not let a bad config through."""
    c, data = _cfg(process={"args": "not-a-list"})
    key = spec._cache_key(data)
    if bad == "symlink":
        real = tmp_path / "elsewhere"
        real.mkdir(mode=0o700)
        cache.parent.mkdir(mode=0o755)
        os.symlink(str(real), str(cache))
        (real / key).write_text("[]")
    else:
        cache.parent.mkdir(mode=0o755)
        cache.mkdir(mode=0o700)
        (cache / key).write_text("[]")
        target = cache if bad == "group-writable" else cache.parent
        os.chmod(str(target), 0o775 if bad == "group-writable" else 0o757)
    assert not spec._cache_trusted()
    with pytest.raises(SpecError):
        spec.validate(c, data)


def test_malformed_entry_is_a_miss(cache):
    c, data = _cfg()
    spec.validate(c, data)
    key = spec._cache_key(data)
    (cache / key).write_text('{"not": "a list"}')
    assert spec._cache_load(key) is None
    assert spec.validate(c, data) == []


def test_cache_is_bounded(cache, monkeypatch):
    monkeypatch.setattr(spec, "_CACHE_MAX", 8)
    for i in range(20):
        c, data = _cfg(annotations={"n": str(i)})
        spec.validate(c, data)
    assert len(os.listdir(cache)) <= 8


# --- fast_valid: never accepts what jsonschema rejects ---------------------------

def _rich_config():
    c = spec.default_spec(args=["sh"], terminal=True)
    c["annotations"] = {"a.b/c": "d"}
    c["hooks"] = {"prestart": [{"path": "/bin/true", "args": ["true"], "env": ["A=b"],
                                "timeout": 5}],
                  "poststop": [{"path": "/bin/true"}]}
    c["process"]["rlimits"].append({"type": "RLIMIT_NPROC", "soft": 10, "hard": 20})
    c["process"]["consoleSize"] = {"height": 24, "width": 80}
    c["process"]["oomScoreAdj"] = 100
    c["process"]["user"].update(additionalGids=[5, 6], umask=18)
    c["linux"].update({
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "rootfsPropagation": "slave",
        "cgroupsPath": "/x/y",
        "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                     "fileMode": 438, "uid": 0, "gid": 0}],
        "resources": {
            "devices": [{"allow": False, "access": "rwm"},
                        {"allow": True, "type": "c", "major": 10, "minor": 229,
                         "access": "rw"}],
            "memory": {"limit": 1 << 28, "swap": 1 << 29, "swappiness": 10},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"},
            "pids": {"limit": 100},
            "blockIO": {"weight": 100},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        },
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW",
                                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
    })
    return c


def _mutations(cfg, limit=1500):
    import copy
    import random
    odd = [None, True, 0, -1, 1.5, 2 ** 64, "", "x", [], ["x"], {}, {"x": 1}]
    paths = []

    def walk(v, path):
        paths.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + [k])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + [i])

    walk(cfg, [])
    out = []
    for p in paths[1:]:
        for r in odd + ["delete"]:
            c = copy.deepcopy(cfg)
            t = c
            for k in p[:-1]:
                t = t[k]
            if r == "delete":
                if not isinstance(t, dict):
                    continue
                del t[p[-1]]
            else:
                t[p[-1]] = r
            out.append((p, r, c))
    for k in ("madeUp", "linux", "process"):  # unknown keys at a few levels
        c = copy.deepcopy(cfg)
        (c if k == "madeUp" else c[k])["zzUnknown"] = 1
        out.append(([k], "unknown key", c))
    random.Random(7).shuffle(out)
    return out[:limit]


def test_fast_valid_accepts_the_usual_configs():
    schemas = spec._load_schemas()
    assert spec.fast_valid(spec.default_spec(), schemas)
    assert spec.fast_valid(_rich_config(), schemas)
    assert spec._schema_error(_rich_config(), schemas) is None


def test_fast_valid_never_accepts_what_jsonschema_rejects():
    schemas = spec._load_schemas()
    accepted = rejected_by_both = 0
    for path, repl, c in _mutations(_rich_config()):
        fast = spec.fast_valid(c, schemas)
        err = spec._schema_error(c, schemas)
        if fast:
            accepted += 1
            assert err is None, "fast_valid accepted %s = %r; jsonschema: %s" % (path, repl, err)
        elif err is not None:
            rejected_by_both += 1
    assert accepted > 100 and rejected_by_both > 100  # both kinds were exercised
