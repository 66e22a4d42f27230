"""The error tree (roles: all). Syscall failures stay plain OSError.

Every error carries a one-line message; the CLI prints ``pyrunc: <message>``.
The words that managers match ("does not exist", "container not running",
"no such process") are in the messages here and nowhere else.

The classes are made on first use (a module __getattr__, PEP 562): making a
class costs ~25 us on this interpreter (80-110 k instructions counted with
callgrind), and the short commands, which raise none of these on their
happy path, would otherwise make all eleven at every start (~0.3 ms of a
~6 ms `state`). So the modules on those paths name them as ``errors.X`` where
they raise or catch (an ``except`` clause is evaluated only when something
is raised); ``from .errors import X`` works too, and makes the tree then.
"""


def _tree():
    class PyruncError(Exception):
        """Base of every error pyrunc raises on purpose."""

    class SpecError(PyruncError):
        """config.json is unreadable or invalid; ``pointer`` is a JSON pointer."""

        def __init__(self, message, pointer=""):
            self.pointer = pointer
            if pointer:
                message = "config.json %s: %s" % (pointer, message)
            super().__init__(message)

    class InvalidIdError(PyruncError):
        pass

    class ContainerExistsError(PyruncError):
        def __init__(self, cid):
            super().__init__("container with id exists: %s" % cid)

    class ContainerNotFoundError(PyruncError):
        def __init__(self, cid):
            super().__init__("container %s does not exist" % cid)

    class InvalidStateError(PyruncError):
        pass

    class NotRunningError(InvalidStateError):
        def __init__(self, cid=None):
            super().__init__("container not running")

    class HookError(PyruncError):
        pass

    class CgroupError(PyruncError):
        pass

    class UsageError(PyruncError):
        """Bad command-line use: printed with a hint, exit status 1."""

    class ChildError(PyruncError):
        """A container-side process (intermediate or init) failed at ``stage``."""

        def __init__(self, stage, errno_, text):
            self.stage = stage
            self.errno = errno_
            super().__init__("%s: %s" % (stage, text) if stage else text)
    return {n: c for n, c in locals().items() if isinstance(c, type)}


def __getattr__(name):
    g = globals()
    if "PyruncError" not in g:
        for n, c in _tree().items():
            c.__qualname__ = n  # not "_tree.<locals>.n": tracebacks, repr, pickle
            g[n] = c
        if name in g:
            return g[name]
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
