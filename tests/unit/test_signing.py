from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entremise.kernel.signing import SignatureError, parse_header, sign, verify

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
BODY = b'{"id":"evt_1","type":"payin.succeeded"}'


def test_a_signed_body_verifies_and_returns_the_signed_time():
    header = sign("s3cret", BODY, AT)
    assert header.startswith(f"t={int(AT.timestamp())},v1=")
    assert verify("s3cret", header, BODY, AT + timedelta(seconds=30)) == AT


def test_a_changed_body_or_another_secret_is_refused():
    header = sign("s3cret", BODY, AT)
    with pytest.raises(SignatureError, match="does not match"):
        verify("s3cret", header, BODY + b" ", AT)
    with pytest.raises(SignatureError, match="does not match"):
        verify("other", header, BODY, AT)


def test_an_old_or_future_timestamp_is_refused_even_when_the_signature_matches():
    header = sign("s3cret", BODY, AT)
    with pytest.raises(SignatureError, match="window"):
        verify("s3cret", header, BODY, AT + timedelta(minutes=6))
    with pytest.raises(SignatureError, match="window"):
        verify("s3cret", header, BODY, AT - timedelta(minutes=6))


def test_a_forged_timestamp_breaks_the_signature():
    header = sign("s3cret", BODY, AT)
    forged = header.replace(f"t={int(AT.timestamp())}", f"t={int(AT.timestamp()) + 60}")
    with pytest.raises(SignatureError, match="does not match"):
        verify("s3cret", forged, BODY, AT)


def test_rotation_accepts_a_body_signed_with_a_retiring_secret():
    header = sign("old", BODY, AT)
    assert verify(("new", "old"), header, BODY, AT) == AT
    both = sign("new", BODY, AT) + "," + sign("old", BODY, AT).split(",")[1]
    assert verify("old", both, BODY, AT) == AT


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=" + "a" * 64, "no timestamp"),
        ("t=123", "no v1"),
        ("t=abc,v1=" + "a" * 64, "timestamp is malformed"),
        ("t=123,v1=xyz", "malformed"),
        ("garbage", "malformed"),
        ("t=1," + "v1=" + "a" * 64 + ",x" * 600, "too long"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(header, reason):
    with pytest.raises(SignatureError, match=reason):
        parse_header(header)


def test_an_empty_secret_is_a_programming_error():
    with pytest.raises(ValueError):
        sign("", BODY, AT)
