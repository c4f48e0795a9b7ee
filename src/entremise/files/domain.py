"""Files, the pure part: what a file really is (sniffed from its bytes), whether a purpose accepts
it, and the safe headers to hand it back with. No I/O here.

The type a client declares is never trusted: `sniff` reads the magic numbers of the content (the
`filetype` library knows images, documents, archives, audio and video), and recognises plain text
itself (valid UTF-8 without control characters other than tab, line feed and carriage return).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import filetype

from entremise.kernel.decision import Verdict

TEXT_PLAIN = "text/plain"
MAX_NAME_LENGTH = 200
# the MIME types `sniff` may answer, beyond those of `filetype`, and the extension each one gets
EXTENSIONS = {
    TEXT_PLAIN: "txt",
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_SNIFF_BYTES = 8192
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()\-]+")


@dataclass(frozen=True)
class FileRule:
    """What a purpose accepts: the sniffed MIME types allowed, and the largest size in bytes."""

    allowed_types: tuple[str, ...]
    max_bytes: int

    def __post_init__(self) -> None:
        if not self.allowed_types:
            raise ValueError("a purpose allows at least one type")
        if self.max_bytes < 1:
            raise ValueError("max_bytes must be positive")


def sniff(head: bytes) -> str | None:
    """The MIME type of content starting with `head` (its first 8 KiB suffice), or None if unknown."""
    kind = filetype.guess(head[:_SNIFF_BYTES]) if head else None
    if kind is not None:
        return str(kind.mime)
    if _is_text(head[:_SNIFF_BYTES]):
        return TEXT_PLAIN
    return None


def _is_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # the sample may end inside a multi-byte character: only that tail may be undecodable
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return _TEXT_CONTROL.search(text) is None


def check_upload(rule: FileRule, size: int, sniffed: str | None) -> Verdict:
    """Whether a purpose takes a file of `size` bytes whose content is `sniffed`."""
    if size == 0:
        return Verdict.refuse(reason="the file is empty")
    if size > rule.max_bytes:
        return Verdict.refuse(reason=f"the file is larger than the {rule.max_bytes} bytes allowed")
    if sniffed is None:
        return Verdict.refuse(
            reason=f"the file's type is not recognised; allowed: {', '.join(rule.allowed_types)}"
        )
    if sniffed not in rule.allowed_types:
        return Verdict.refuse(
            reason=f"files of type {sniffed} are not accepted here; allowed: {', '.join(rule.allowed_types)}"
        )
    return Verdict.allow(reason=f"{sniffed}, {size} bytes")


def extension_for(mime: str) -> str:
    kind = filetype.get_type(mime=mime)
    if kind is not None:
        return str(kind.extension)
    return EXTENSIONS.get(mime, "bin")


def clean_name(name: str | None, mime: str) -> str:
    """A file name fit to show and to send back: the client's name without a path, control
    characters or odd punctuation, at most 200 characters, ending with the sniffed type's extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".")
    ext = extension_for(mime)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem.strip() or "file"
    room = MAX_NAME_LENGTH - len(ext) - 1
    return f"{stem[:room].rstrip()}.{ext}"


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the UTF-8 name (RFC 6266 / RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE_NAME.sub("_", ascii_name).strip() or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
