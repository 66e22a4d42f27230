"""The parent <-> intermediate/init protocol (roles: all three).

One SOCK_SEQPACKET socketpair, made by the parent right before it forks the
intermediate (the last step of create's checks); the intermediate and init
inherit the child end, and the plan (config, namespaces, exec.fifo as an fd)
as memory. One JSON object per datagram, ``{"t": <type>, ...}``; fds ride
along as SCM_RIGHTS. The whole conversation of a create, in order (P parent,
M intermediate, I init; when create forks init itself, "direct", M's rows
are init's and there is no "init" message: the parent has the pid):

  dir  type         fields              meaning
  P>I  cgroup-made  -                   direct only, without a cgroup
                                        namespace: the folders exist (init
                                        may bind-mount them; "cgroup" follows)
  P>M  cgroup       dirs (fds: the      the cgroup is ready (made while the
  or P>I            file to join each   children work): with a new cgroup
                    by)                 namespace, to the intermediate, which
                                        waits for it first and joins before
                                        unsharing; else to init, once its pid
                                        has come, which waits for it before it
                                        mounts cgroupfs and joins after its
                                        mounts (cgroups.join_self)
  M>P  userns       pid                 new user namespace made: write id maps
  P>M  mapped       -                   uid_map/gid_map written
  M>P  init         pid                 init forked (pid in the parent's pid ns);
                                        the intermediate (which set rlimits and
                                        oom_score_adj on itself first, for init
                                        to inherit) exits; init goes on
  I>P  console      (fd: pty master)    terminal: the parent hands it to the
                                        console socket or the tty copier
  I>P  hooks        -                   mounts done, before pivot_root: run
                                        prestart + createRuntime now
  P>I  hooked       state               done; ``state`` is for createContainer
  I>P  seccomp      (fd: listener)      SCMP_ACT_NOTIFY filter loaded: the parent
                                        sends it to listenerPath (seccomp.py)
  P>I  seccomped    -                   sent; init goes on
  I>P  ready        -                   all set up, about to wait on exec.fifo
  M/I>P  error      stage, errno, msg   failed; the sender _exits(1)

Children never raise past their role: they send ``error`` and os._exit(1).
The parent turns it into ChildError. EOF without ``ready`` means a child died.
"""
import _socket
from . import _os as os  # posix without os's import cost (_os.py)
import sys

from . import jsonio

_MAX = 65536
_SCM_RIGHTS = _socket.SCM_RIGHTS
_SOL_SOCKET = _socket.SOL_SOCKET


_SO_SNDBUFFORCE = 32
_BUF = 1 << 22  # a datagram is bounded by the sender's buffer: annotations can be large


def pair():
    """(parent end, child end), both close-on-exec."""
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    for s in (a, b):
        try:  # root may exceed net.core.wmem_max; anyone else gets the default
            s.setsockopt(_SOL_SOCKET, _SO_SNDBUFFORCE, _BUF)
        except OSError:
            pass
    return a, b


def _pack_fds(fds):
    # int.to_bytes, not struct: struct is one more import on every create
    return b"".join(int(fd).to_bytes(4, sys.byteorder, signed=True) for fd in fds)


def send(sock, t, fds=(), **fields):
    fields["t"] = t
    data = jsonio.dumps(fields).encode()
    if fds:
        sock.sendmsg([data], [(_SOL_SOCKET, _SCM_RIGHTS, _pack_fds(fds))])
    else:
        sock.send(data)


def recv(sock):
    """(message dict, [fds]); ({"t": "eof"}, []) when the peer is gone."""
    fds = []
    # the datagram's real size first (MSG_TRUNC reports it), so a large one
    # (big annotations in a hook state) is never cut short
    try:  # recv_into returns the syscall's value: with MSG_TRUNC, the full length
        size = max(sock.recv_into(bytearray(1), 1, _socket.MSG_PEEK | _socket.MSG_TRUNC), _MAX)
    except OSError:
        size = _MAX
    data, anc, _, _ = sock.recvmsg(size, _socket.CMSG_SPACE(64 * 4))
    for level, typ, payload in anc:
        if level == _SOL_SOCKET and typ == _SCM_RIGHTS:
            fds.extend(int.from_bytes(payload[i:i + 4], sys.byteorder, signed=True)
                       for i in range(0, len(payload) // 4 * 4, 4))
    for fd in fds:
        os.set_inheritable(fd, False)
    if not data:
        return {"t": "eof"}, fds
    return jsonio.loads(data), fds


def fail(sock, stage, exc):
    """Report an error from a child and exit; never returns."""
    try:
        err = getattr(exc, "errno", None) or 0
        msg = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
            msg = "%s: %s" % (exc.filename, msg)
        send(sock, "error", stage=stage, errno=err, msg=msg)
    except BaseException:
        pass
    os._exit(1)
