"""Signed webhooks: HMAC-SHA256 over a timestamp and the raw body (pure, no I/O).

Every provider port that talks to the engine through webhooks (payments, telephony and video)
signs the same way, so one verifier serves them all:

    Entremise-Signature: t=1764612345,v1=5f0c…(hex HMAC-SHA256 of "1764612345." + raw body)

- The signed text is the decimal Unix timestamp, a dot, then the raw body bytes, exactly as sent:
  a body re-serialised by a proxy no longer verifies.
- `verify` refuses a missing or malformed header, a wrong signature (compared in constant time), and
  a timestamp further than `tolerance` from `now` in either direction (a replay of an old capture,
  or a clock far off). Within the tolerance, a replayed delivery is caught by the receiver, which
  stores each event id once (see the payments and metering modules).
- Several `v1=` values may be present (the sender signs with the old and the new secret while a
  secret is rotated); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HEADER = "Entremise-Signature"
DEFAULT_TOLERANCE = timedelta(minutes=5)
_MAX_HEADER = 1024


class SignatureError(ValueError):
    """The webhook cannot be trusted; `reason` says why in a short sentence (safe to log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedHeader:
    timestamp: int
    signatures: tuple[str, ...]


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The header value for `body` sent at `at`."""
    timestamp = int(at.astimezone(UTC).timestamp())
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def parse_header(value: str | None) -> SignedHeader:
    if not value:
        raise SignatureError("the signature header is missing")
    if len(value) > _MAX_HEADER:
        raise SignatureError("the signature header is too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            raise SignatureError("the signature header is malformed")
        if key == "t":
            if not item.isdigit() or len(item) > 12:
                raise SignatureError("the signature timestamp is malformed")
            timestamp = int(item)
        elif key == "v1":
            if len(item) != 64 or any(c not in "0123456789abcdef" for c in item):
                raise SignatureError("a v1 signature is malformed")
            signatures.append(item)
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp")
    if not signatures:
        raise SignatureError("the signature header has no v1 signature")
    return SignedHeader(timestamp, tuple(signatures))


def verify(
    secrets: str | tuple[str, ...],
    header: str | None,
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> datetime:
    """Check `header` against `body`; returns the signed time. Raises SignatureError.

    `secrets`: the current secret, or a tuple (current first, then secrets being retired).
    """
    parsed = parse_header(header)
    candidates = (secrets,) if isinstance(secrets, str) else secrets
    expected = [_mac(secret, parsed.timestamp, body) for secret in candidates]
    if not any(hmac.compare_digest(e, s) for e in expected for s in parsed.signatures):
        raise SignatureError("the signature does not match the body")
    signed_at = datetime.fromtimestamp(parsed.timestamp, UTC)
    if abs(now.astimezone(UTC) - signed_at) > tolerance:
        raise SignatureError("the signature timestamp is outside the accepted window")
    return signed_at
