"""pyrunc: a low-level OCI container runtime in Python, a drop-in for runc.

The library API lives in pyrunc.container (create, start, state, kill, delete,
run, list_containers); the `pyrunc` command (pyrunc.cli) calls it one-to-one.
This file imports nothing: short commands must start fast.
"""
__version__ = "0.1.0"
