"""cffi builder for pyrunc's native shim (out-of-line API mode).

Run at install time through ``cffi_modules`` in setup.py; never imported at run
time (pycparser alone costs ~24 ms). The cdef is shim.h with its preprocessor
lines removed, so the header is the one contract for both sides.
"""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _cdef():
    with open(os.path.join(HERE, "shim.h")) as f:
        lines = [l for l in f if not l.lstrip().startswith("#")]
    return "".join(lines)


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "pyrunc._native._shim",
    '#include "shim.h"',
    # Relative to setup.py, which is where setuptools runs the build.
    sources=[os.path.relpath(os.path.join(HERE, "shim.c"))],
    include_dirs=[os.path.relpath(HERE)],
    extra_compile_args=["-O2", "-Wall"],
    libraries=["seccomp"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
