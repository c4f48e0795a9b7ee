"""Where the bytes of uploaded files live: a directory outside the web root, one file per content.

A file's bytes are written once under `<root>/<platform id>/<first two hex digits>/<sha256>`
(content-addressed: the same content uploaded twice is stored once per platform), written to a
temporary name then renamed, so a reader never sees half a file. Nothing under the root is ever
served directly: downloads go through the API, which checks who may read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

HEX = frozenset("0123456789abcdef")


class FileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, platform_id: str, sha256: str) -> Path:
        if len(sha256) != 64 or not set(sha256) <= HEX:
            raise ValueError("not a SHA-256 hex digest")
        if not platform_id or not all(c.isalnum() or c == "-" for c in platform_id):
            raise ValueError("not a platform id")
        return self.root / platform_id / sha256[:2] / sha256

    def put(self, platform_id: str, data: bytes) -> str:
        """Store `data`; its SHA-256 (hex). Idempotent: existing content is not written again."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(platform_id, digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def read(self, platform_id: str, sha256: str) -> bytes:
        return self.path(platform_id, sha256).read_bytes()
