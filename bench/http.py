"""HTTP throughput through the real app, served by uvicorn in a subprocess, and its peak memory.

- GET /api/v1/platforms/{p} (middleware, a DB read) against GET /healthz (same app, no DB);
- GET /healthz against a bare ASGI app under the same uvicorn (the framework's cost);
- peak RSS of the app's server process against the bare app's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.registry import Context, Measurement, benchmark


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    def peak_rss_mib(self) -> float:
        """VmHWM (peak resident set) of the server process, from /proc (Linux)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return float("nan")
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(target: list[str], env: dict[str, str]) -> Iterator[Server]:
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {' '.join(cmd)}")
            try:
                if httpx.get(base_url + "/healthz", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.1)
        yield Server(process, base_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(base_url: str, path: str, requests: int, threads: int) -> tuple[float, int]:
    """Requests per second for `requests` GETs spread over `threads` keep-alive clients; and errors."""
    with httpx.Client(base_url=base_url) as warm:
        for _ in range(50):
            warm.get(path)
    per_thread = [requests // threads + (1 if i < requests % threads else 0) for i in range(threads)]
    errors = [0] * threads
    start = threading.Barrier(threads + 1)

    def worker(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            start.wait()
            for _ in range(per_thread[i]):
                if client.get(path).status_code != 200:
                    errors[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    return requests / elapsed, sum(errors)


def _prepare_database(url: str) -> str:
    from entremise.db import migrate
    from entremise.db.engine import make_engine, make_sessionmaker
    from entremise.kernel.clock import SystemClock
    from entremise.platforms import service

    engine = make_engine(url)
    migrate.upgrade(engine)
    slug = f"bench-{os.getpid()}"
    with make_sessionmaker(engine)() as db, db.begin():
        service.create_platform(db, slug=slug, name="Bench", now=SystemClock().now())
    engine.dispose()
    return slug


@benchmark("http", "requests per second through the real app, and the server's peak memory")
def http(ctx: Context) -> list[Measurement]:
    url = ctx.args.database_url or f"sqlite:///{ctx.workdir / 'http.sqlite3'}"
    slug = _prepare_database(url)
    n, threads = ctx.args.requests, ctx.args.threads
    env = {"DATABASE_URL": url, "ENTREMISE_ENV": "development", "ENTREMISE_LOG_LEVEL": "INFO"}
    with serve(["entremise.api.app:create_app", "--factory"], env) as app_server:
        platform_rps, platform_errors = load(app_server.base_url, f"/api/v1/platforms/{slug}", n, threads)
        health_rps, health_errors = load(app_server.base_url, "/healthz", n, threads)
        app_rss = app_server.peak_rss_mib()
    with serve(["bench.bare_app:app"], {}) as bare_server:
        bare_rps, bare_errors = load(bare_server.base_url, "/healthz", n, threads)
        bare_rss = bare_server.peak_rss_mib()
    errors = platform_errors + health_errors + bare_errors
    if errors:
        ctx.notes.append(f"http: {errors} requests did not answer 200")
    shape = f"{n} GETs, {threads} threads"
    return [
        Measurement(
            "GET /api/v1/platforms/{p}",
            platform_rps,
            "req/s",
            "GET /healthz (same app, no DB)",
            health_rps,
            note=shape,
        ),
        Measurement("GET /healthz", health_rps, "req/s", "bare ASGI app, same uvicorn", bare_rps, note=shape),
        Measurement(
            "app server peak RSS",
            app_rss,
            "MiB",
            "bare ASGI app server peak RSS",
            bare_rss,
            higher_is_better=False,
        ),
    ]
