"""Bad input: one clear line, no traceback, nothing left behind."""
import os

import pytest


def check_clean_failure(rt, p, container_id, words=()):
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "Traceback" not in out
    if not rt.is_runc:
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("pyrunc: "), p.stderr
    for w in words:
        assert w in out, out
    assert not os.path.exists(os.path.join(rt.root, container_id)), "state left behind"


def test_broken_json(rt, make_bundle, cid):
    b = make_bundle()
    with open(os.path.join(b, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {')
    c = cid()
    check_clean_failure(rt, rt("create", "--bundle", b, c), c)


def test_schema_error_names_json_path(rt, make_bundle, cid):
    def edit(cfg):
        cfg["process"]["args"] = "not-a-list"
    b = make_bundle(edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    # runc 1.1 does not validate against the schema; it fails later on the
    # type while decoding. pyrunc names the JSON pointer.
    check_clean_failure(rt, p, c, () if rt.is_runc else ("/process/args",))


def test_missing_config(rt, tmp_path, cid):
    c = cid()
    check_clean_failure(rt, rt("create", "--bundle", str(tmp_path), c), c)


def test_missing_rootfs(rt, make_bundle, cid):
    def edit(cfg):
        cfg["root"]["path"] = "/nonexistent/rootfs"
    b = make_bundle(edit=edit)
    c = cid()
    check_clean_failure(rt, rt("create", "--bundle", b, c), c)


def test_missing_binary_reported_at_create(rt, make_bundle, cid, no_leaks):
    b = make_bundle(["no-such-binary"])
    c = cid()
    p = rt("create", "--bundle", b, c)
    check_clean_failure(rt, p, c, ("no-such-binary",))
    no_leaks(c, b)


def test_unsupported_oci_version(rt, make_bundle, cid):
    def edit(cfg):
        cfg["ociVersion"] = "2.0.0"
    b = make_bundle(edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    if rt.is_runc:
        pytest.skip("runc 1.1 accepts any ociVersion")
    check_clean_failure(rt, p, c, ("ociVersion",))


def test_unknown_fields_warned_not_fatal(rt, make_bundle, cid, tmp_path):
    def edit(cfg):
        cfg["process"]["frobnicate"] = 1
    b = make_bundle(["true"], edit=edit)
    log = str(tmp_path / "log.json")
    p = rt("--log", log, "--log-format", "json", "run", "--bundle", b, cid())
    assert p.returncode == 0
    if not rt.is_runc:
        with open(log) as f:
            text = f.read()
        assert "/process/frobnicate" in text and '"level":"warning"' in text


def test_error_goes_to_json_log(rt, make_bundle, cid, tmp_path):
    import json
    b = make_bundle(["no-such-binary"])
    log = str(tmp_path / "log.json")
    p = rt("--log", log, "--log-format", "json", "create", "--bundle", b, cid())
    assert p.returncode != 0
    with open(log) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    errors = [l for l in lines if l["level"] == "error"]
    assert errors and "no-such-binary" in errors[-1]["msg"]
    assert "time" in errors[-1]


def test_bad_mount_leaves_nothing(rt, make_bundle, cid, no_leaks):
    def edit(cfg):
        cfg["mounts"].append({"destination": "/mnt", "type": "bind",
                              "source": "/nonexistent/source", "options": ["bind"]})
    b = make_bundle(edit=edit)
    c = cid()
    check_clean_failure(rt, rt("create", "--bundle", b, c), c)
    no_leaks(c, b)


def test_failing_prestart_hook_leaves_nothing(rt, make_bundle, cid, no_leaks, tmp_path):
    marker = tmp_path / "poststop-ran"

    def edit(cfg):
        cfg["hooks"] = {
            "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}],
            "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "touch %s" % marker]}],
        }
    b = make_bundle(edit=edit)
    c = cid()
    p = rt("create", "--bundle", b, c)
    check_clean_failure(rt, p, c)
    no_leaks(c, b)


def test_lone_surrogate_escape_in_config(rt, make_bundle, cid):
    """A lone \\ud800 escape is valid JSON: decoded to U+FFFD (as Go does), not
    kept as a surrogate that cannot be written out as UTF-8 again."""
    b = make_bundle(["true"])
    path = os.path.join(b, "config.json")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("{", '{"annotations": {"a": "x\\ud800y"}, ', 1))
    c = cid()
    p = rt("create", "--bundle", b, c)
    assert p.returncode == 0, p.stderr
    assert rt.state(c)["annotations"] == {"a": "x\ufffdy"}
