"""Identifiers: random, URL-safe, sortable by creation time (UUIDv7-like)."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    """A 128-bit identifier whose first 48 bits are the Unix time in ms (as in UUIDv7)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))
