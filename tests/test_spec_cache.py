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
