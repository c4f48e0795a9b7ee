"""Kernel: value objects and primitives every module shares (pure, no I/O)."""
