"""Small OCI bundles built from the host, no image download (roles: library).

make_rootfs() fills a folder with the host's static busybox and a relative
symlink per applet, plus the folders a runtime mounts on; make() writes a
bundle (rootfs + config.json from the default spec). Used by the README's
demo (`python -m pyrunc.bundle`), the test suite, and Python users testing
kernel features in real containers.
"""
import os
import shutil

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


def find_busybox():
    for p in BUSYBOX_CANDIDATES:
        if os.path.isfile(p) and _is_static(p):
            return p
    raise FileNotFoundError("a static busybox is needed (Debian: apt-get install busybox-static)")


def _is_static(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    # a dynamic ELF names its interpreter in a PT_INTERP segment
    return head[:4] == b"\x7fELF" and b"/lib64/ld-linux" not in head and b"/lib/ld-" not in head


def make_rootfs(path, busybox=None):
    busybox = busybox or find_busybox()
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "root", "run", "var"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    dst = os.path.join(path, "bin", "busybox")
    if not os.path.exists(dst):
        shutil.copy2(busybox, dst)
    import subprocess
    applets = subprocess.run([dst, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        link = os.path.join(path, "bin", a)
        if a != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nnogroup:x:65534:\n")
    return path


def make(path, args=None, terminal=False, rootfs=None, **process):
    """A bundle at ``path``; ``rootfs`` (absolute) shares an existing one."""
    from . import jsonio, spec
    os.makedirs(path, exist_ok=True)
    config = spec.default_spec(args=args or ["sh"], terminal=terminal)
    config["process"].update(process)
    if rootfs:
        config["root"]["path"] = os.path.abspath(rootfs)
    else:
        make_rootfs(os.path.join(path, "rootfs"))
    with open(os.path.join(path, "config.json"), "w") as f:
        f.write(jsonio.dumps(config, 4) + "\n")
    return config


if __name__ == "__main__":  # python -m pyrunc.bundle DIR [ARGS...]
    import sys
    if len(sys.argv) < 2:
        sys.exit("usage: python -m pyrunc.bundle DIR [command ...]")
    make(sys.argv[1], args=sys.argv[2:] or None)
    print(sys.argv[1])
