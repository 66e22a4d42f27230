"""pyrunc: a low-level OCI container runtime in Python, a drop-in for runc."""
import glob
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class build_py_with_specs(build_py):
    """Ship the top-level specs/ (the runtime-spec schemas) as pyrunc/specs."""

    def run(self):
        super().run()
        dest = os.path.join(self.build_lib, "pyrunc", "specs")
        os.makedirs(dest, exist_ok=True)
        for f in glob.glob("specs/*.json") + ["specs/LICENSE", "specs/README.md"]:
            shutil.copy(f, dest)


setup(
    name="pyrunc",
    version="0.1.0",
    description="A low-level OCI container runtime in Python, a drop-in for runc",
    python_requires=">=3.9",
    packages=find_packages(include=["pyrunc", "pyrunc.*"]),
    cmdclass={"build_py": build_py_with_specs},
    setup_requires=["cffi>=1.15"],
    cffi_modules=["pyrunc/_native/build.py:ffibuilder"],
    # pyroute2: networking asked for by a config (network.py). Imported only
    # then, so it costs nothing at start-up; a hard dependency so that such a
    # config never fails for want of it. "net" stays for `.[test,net]`.
    install_requires=["cffi>=1.15", "jsonschema>=4", "python-prctl>=1.7", "pyroute2>=0.9"],
    extras_require={
        "net": ["pyroute2>=0.9"],
        "test": ["pytest>=7"],
    },
    # A plain launcher instead of an entry point: no pkg_resources, no
    # importlib.metadata, no `re` at start-up (see bin/pyrunc).
    scripts=["bin/pyrunc"],
    zip_safe=False,
)
