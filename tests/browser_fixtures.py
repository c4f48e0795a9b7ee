"""A real browser on the real HTTP app: the app served by uvicorn on a free port in a thread, and
Debian's Chromium driven by Playwright (no downloaded browser).

Loaded by `tests/conftest.py` (`pytest_plugins`): every test may ask for `live_server` and `page`.
Without Chromium the tests are skipped, unless ENTREMISE_REQUIRE_BROWSER=1 (what `.ci/run` sets),
in which case they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from entremise.runtime import Runtime

CHROMIUM = os.environ.get("ENTREMISE_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[str]:
    """The app on http://127.0.0.1:PORT, sharing the test's runtime (database and clock)."""
    from entremise.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "the live server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _chromium_or_skip() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        if os.environ.get("ENTREMISE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (ENTREMISE_REQUIRE_BROWSER=1) and {CHROMIUM} is missing")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    return path


@pytest.fixture
def page() -> Iterator[object]:
    """A fresh Chromium page (headless)."""
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            context = browser.new_context(locale="fr-FR")
            yield context.new_page()
            context.close()
        finally:
            browser.close()
