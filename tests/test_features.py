"""`features`: the runtime-spec features document, truthful about seccomp."""
import json

import pytest


def test_features_document(rt):
    p = rt("features", check=True)
    assert p.stdout.startswith('{\n    "ociVersionMin"'), "4-space indent, like runc"
    d = json.loads(p.stdout)
    assert d["ociVersionMin"] == "1.0.0"
    assert {"prestart", "createRuntime", "poststop"} <= set(d["hooks"])
    assert {"ro", "nosuid", "rbind", "rprivate"} <= set(d["mountOptions"])
    lx = d["linux"]
    assert {"mount", "pid", "user", "cgroup", "network", "ipc", "uts"} <= set(lx["namespaces"])
    assert "CAP_SYS_ADMIN" in lx["capabilities"]
    sc = lx["seccomp"]
    assert sc["enabled"] is True
    assert {"SCMP_ACT_NOTIFY", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"} <= set(sc["actions"])
    assert len(sc["operators"]) == 7
    assert "SCMP_ARCH_X86_64" in sc["archs"]
    assert set(sc.get("supportedFlags", [])) <= set(sc.get("knownFlags", []))


def test_features_flags_are_truthful(rt, make_bundle, cid):
    """Every flag `features` calls supported is accepted by create."""
    d = json.loads(rt("features", check=True).stdout)
    flags = d["linux"]["seccomp"].get("supportedFlags") or []
    if not flags:
        pytest.skip("%s supports no seccomp flags" % rt.name)
    for f in flags:
        def edit(c, f=f):
            c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "flags": [f],
                                     "syscalls": [{"names": ["mkdir", "mkdirat"],
                                                   "action": "SCMP_ACT_ERRNO"}]}
        p = rt("run", "--bundle", make_bundle(["true"], edit=edit), cid())
        assert p.returncode == 0, (f, p.stderr)
