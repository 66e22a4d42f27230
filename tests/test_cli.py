"""The CLI surface managers depend on: spec, --version, flag forms, help."""
import json
import os

import pytest


def test_version(rt):
    p = rt("--version", check=True)
    lines = p.stdout.splitlines()
    assert lines[0].split()[1] == "version"
    assert lines[1].startswith("commit:")
    assert any(l.startswith("spec: 1.") for l in lines)


def test_spec_writes_default_config(rt, tmp_path):
    rt("spec", "--bundle", str(tmp_path), check=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["process"]["args"] == ["sh"] and cfg["root"]["path"] == "rootfs"
    assert {n["type"] for n in cfg["linux"]["namespaces"]} == {"pid", "network", "ipc", "uts",
                                                                "mount"}
    p = rt("spec", "--bundle", str(tmp_path))
    assert p.returncode != 0 and "exists" in p.stdout + p.stderr


def test_spec_rootless(rt, tmp_path):
    rt("spec", "--rootless", "--bundle", str(tmp_path), check=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert "user" in {n["type"] for n in cfg["linux"]["namespaces"]}
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.getuid()


def test_spec_validates_against_schema(tmp_path):
    from pyrunc import spec
    spec.validate(spec.default_spec())
    spec.validate(spec.default_spec(rootless=True))


def test_flag_forms(rt, make_bundle, cid):
    b = make_bundle(["true"])
    c = cid()
    # single dash, --flag=value, and flags after the positional argument
    rt("create", "-bundle=%s" % b, c, check=True)
    assert rt.state(c)["status"] == "created"
    rt("delete", c, "--force", check=True)


def test_unknown_command_and_flag(rt):
    for args in (["frobnicate"], ["list", "--frobnicate"]):
        p = rt(*args)
        assert p.returncode != 0
        assert "Traceback" not in p.stderr


def test_log_file_text_format(rt, tmp_path):
    log = tmp_path / "log"
    p = rt("--log", str(log), "state", "no-such-container")
    assert p.returncode != 0
    text = log.read_text()
    assert "level=error" in text and "does not exist" in text


def test_bundle_folder_as_id(rt, make_bundle, cid):
    if rt.is_runc:
        pytest.skip("pyrunc's convenient form: a bundle folder where the id goes")
    b = make_bundle(["sleep", "10"])
    c = os.path.basename(b)
    cid.ids.append(c)  # force-deleted at teardown
    rt("create", b, check=True)
    assert rt.state(c)["bundle"] == b
    rt("start", b, check=True)
    rt("kill", b, "KILL", check=True)
    rt("delete", "--force", b, check=True)
    assert rt("state", c).returncode != 0


def test_help(rt):
    if rt.is_runc:
        pytest.skip("help text is runtime specific")
    p = rt("--help", check=True)
    assert "create" in p.stdout and "bundle folder" in p.stdout
    p = rt("create", "--help", check=True)
    assert "--console-socket" in p.stdout
