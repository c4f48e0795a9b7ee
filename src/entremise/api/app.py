"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from entremise import __version__
from entremise.api import accounts, audit, health, platforms, problems, terms
from entremise.api.body_limit import BodyLimitMiddleware
from entremise.runtime import Runtime, build_runtime

ROUTERS = [health.router, platforms.router, accounts.router, terms.router, audit.router]


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or build_runtime()
    app = FastAPI(
        title="entremise",
        version=__version__,
        description="An engine for intermediation platforms whose terms of service are executable.",
    )
    app.state.runtime = runtime
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_body_bytes)
    return app
