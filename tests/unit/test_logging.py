"""Structured logs: secrets never reach the output, production writes JSON lines."""

from __future__ import annotations

import io
import json
import logging

import structlog

from entremise.logging import configure_logging, redact


def test_redaction_removes_every_key_named_like_a_secret_at_any_depth():
    event = {
        "event": "login",
        "email": "a@example.org",
        "password": "hunter2",
        "new_Password": "x",
        "access_token": "t",
        "client_secret": "s",
        "Authorization": "Bearer abc",
        "headers": {"cookie": "sid=1", "accept": "json", "nested": [{"api_key": "k", "ok": 1}]},
    }
    out = redact(None, "info", dict(event))
    assert out == {
        "event": "login",
        "email": "a@example.org",
        "headers": {"accept": "json", "nested": [{"ok": 1}]},
    }
    assert "hunter2" not in json.dumps(out)


def test_production_logs_are_json_lines_without_secrets():
    stream = io.StringIO()
    try:
        configure_logging(production=True, level="INFO", stream=stream, force=True)
        structlog.get_logger("test").info("user_signed_in", user_id="u1", password="hunter2")
        logging.getLogger("stdlib.test").warning("from the standard library")
    finally:
        configure_logging(production=False, force=True)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "user_signed_in"
    assert lines[0]["user_id"] == "u1"
    assert lines[0]["level"] == "info"
    assert "timestamp" in lines[0]
    assert "password" not in lines[0]
    assert "hunter2" not in stream.getvalue()
    assert lines[1]["event"] == "from the standard library"
    assert lines[1]["logger"] == "stdlib.test"


def test_development_logs_are_console_lines():
    stream = io.StringIO()
    try:
        configure_logging(production=False, level="INFO", stream=stream, force=True)
        structlog.get_logger("test").info("hello", secret="s3cr3t", who="me")
    finally:
        configure_logging(production=False, force=True)
    text = stream.getvalue()
    assert "hello" in text and "who=me" in text
    assert "s3cr3t" not in text
    assert not text.lstrip().startswith("{")
