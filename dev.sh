#!/usr/bin/env bash
# pyrunc developer set-up, demo and tests: the two commands the README gives.
#   ./dev.sh demo   install what is needed, then run a real container on a
#                   busybox bundle made from the host (no image download)
#   ./dev.sh test   install what is needed, then run the whole test suite
#                   (extra arguments go to pytest, e.g. --runtime=runc)
# Needs root (containers, cgroups, apt-get). Idempotent: a second run only
# checks what is there.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(busybox-static runc crun libseccomp-dev libcap-dev gcc tmux iproute2 nftables
              golang-github-containers-common)

need_root() {
    if [ "$(id -u)" != 0 ]; then echo "dev.sh: run as root (containers need it)" >&2; exit 1; fi
}

python_bin() {
    # Debian's own interpreter when there is one: built with PGO/LTO, it
    # starts ~1 ms faster than a pyenv build, and every pyrunc command pays
    # one interpreter start. Otherwise python3 on PATH, resolved to the real
    # binary (a pyenv shim adds ~90 ms a start).
    local py
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
        echo /usr/bin/python3; return
    fi
    py=$(command -v python3) || { echo "dev.sh: python3 not found" >&2; exit 1; }
    "$py" -c 'import sys; print(sys.executable)'
}

install_system() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    local py; py=$(python_bin)
    if ! "$py" -c 'import ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
    if ! "$py" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
        missing+=(python3-dev)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        echo "dev.sh: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

install_python() {
    local py; py=$(python_bin)
    if [ ! -x .venv/bin/python ]; then "$py" -m venv .venv; fi
    .venv/bin/pip install -q --disable-pip-version-check -e ".[test,net]"
    install_command
}

install_command() {
    # /usr/local/bin/pyrunc: bin/pyrunc with its interpreter and flags in the
    # #! line and the sys.path entries it would look up baked in, so the
    # kernel starts .venv's python -I -S directly: no /bin/sh hop, no
    # `readlink` process (which the shell line needs to follow a symlink),
    # no path search (~1-5 ms on every command). Written aside and renamed:
    # an older install may have left a symlink to .venv/bin/pyrunc here,
    # which must not be written through.
    local paths tmp=/usr/local/bin/.pyrunc.$$
    paths=$(cd / && "$OLDPWD/.venv/bin/python" -c 'import os, sysconfig, pyrunc
p = [sysconfig.get_paths()["purelib"], os.path.dirname(os.path.dirname(os.path.abspath(pyrunc.__file__)))]
print(repr(sorted(set(p), key=p.index)))')
    cat >"$tmp" <<EOF
#!$PWD/.venv/bin/python3 -IS
# pyrunc: written by $PWD/dev.sh (install_command) from bin/pyrunc, with the
# sys.path entries that bin/pyrunc looks up at every start baked in.
import sys
sys.path += $paths
from pyrunc.cli import launch
launch()
EOF
    chmod 755 "$tmp"
    mv -f "$tmp" /usr/local/bin/pyrunc
}

setup() { need_root; install_system; install_python; }

case "${1:-}" in
demo)
    setup
    bundle=$(mktemp -d /tmp/pyrunc-demo.XXXXXX)
    trap 'rm -rf "$bundle"' EXIT
    .venv/bin/python -m pyrunc.bundle "$bundle" sh -c \
        'echo "hello from a pyrunc container"; echo "pid $$, $(id), hostname $(hostname)"; ls /; cat /proc/self/cgroup | head -3' >/dev/null
    echo "+ pyrunc run --bundle $bundle demo-$$"
    pyrunc run --bundle "$bundle" "demo-$$"
    ;;
test)
    shift
    setup
    exec .venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
    ;;
*)
    echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
