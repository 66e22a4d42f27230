"""The `features` document (runtime-spec features.md / features-linux.md; roles: parent).

Everything here is read from the tables the runtime actually uses (mount
options from rootfs.py, namespaces, capabilities, seccomp probed through
libseccomp and the kernel), so the document cannot claim more than the code
does. Features pyrunc does not implement are reported as disabled.
"""
from . import capabilities, namespaces, rootfs, seccomp, security
from .spec import SPEC_VERSION


def document():
    sc = seccomp.features()
    linux = {
        "namespaces": sorted(namespaces.TYPES),
        "capabilities": list(capabilities.NAMES),
        "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                   "rdma": False},
        "seccomp": sc,
        "apparmor": {"enabled": True},
        "selinux": {"enabled": True},
        "intelRdt": {"enabled": False},
        "mountExtensions": {"idmap": {"enabled": False}},
    }
    annotations = {}
    if sc.get("enabled"):
        from ._native import lib
        v = lib.pyrunc_scmp_version()
        annotations["io.github.seccomp.libseccomp.version"] = "%d.%d.%d" % (
            v // 10000, v // 100 % 100, v % 100)
    annotations["pyrunc.lsm.host"] = ",".join(security.host_lsms()) or "none"
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": sorted(set(rootfs.FLAGS) | set(rootfs.PROPAGATION)
                               | set(rootfs.REC_ATTRS)),
        "linux": linux,
        "annotations": annotations,
    }
