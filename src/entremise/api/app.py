"""The FastAPI application factory.

Every router in `ROUTERS` gets the API conventions without doing anything (see docs/api.md):
problem documents for every error (`problems`), `X-Request-Id` and one log line per request
(`request_context`), the body size limit (`body_limit`) and `Idempotency-Key` on POST
(`idempotency`); the OpenAPI document lists the problem answers of every operation.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from entremise import __version__
from entremise.api import accounts, audit, health, platforms, problems, processes, terms
from entremise.api import billing as billing_api
from entremise.api import claims as claims_api
from entremise.api import files as files_api
from entremise.api import fraud as fraud_api
from entremise.api import growth as growth_api
from entremise.api import moderation as moderation_api
from entremise.api import orders as orders_api
from entremise.api import payments as payments_api
from entremise.api import payouts as payouts_api
from entremise.api import privacy as privacy_api
from entremise.api import reviews as reviews_api
from entremise.api import sanctions as sanctions_api
from entremise.api import scheduling as scheduling_api
from entremise.api import wallets as wallets_api
from entremise.api.body_limit import BodyLimitMiddleware
from entremise.api.idempotency import IdempotencyMiddleware
from entremise.api.request_context import RequestContextMiddleware
from entremise.logging import configure_logging
from entremise.runtime import Runtime, build_runtime

ROUTERS: list[APIRouter] = [
    health.router,
    platforms.router,
    accounts.router,
    terms.router,
    audit.router,
    processes.router,
    privacy_api.router,
    files_api.router,
    scheduling_api.router,
    orders_api.router,
    growth_api.router,
    growth_api.public_router,
    claims_api.router,
    billing_api.router,
    wallets_api.router,
    payments_api.router,
    payments_api.webhook_router,
    payments_api.sandbox_router,
    moderation_api.router,
    sanctions_api.router,
    reviews_api.router,
    fraud_api.router,
    payouts_api.router,
]


def create_app(runtime: Runtime | None = None, extra_routers: list[APIRouter] | None = None) -> FastAPI:
    """The app; `extra_routers` are mounted after `ROUTERS` (tests mount routers of their own)."""
    runtime = runtime or build_runtime()
    configure_logging(production=runtime.settings.production, level=runtime.settings.log_level)
    app = FastAPI(
        title="entremise",
        version=__version__,
        description="An engine for intermediation platforms whose terms of service are executable.",
    )
    app.state.runtime = runtime
    problems.install(app)
    for router in [*ROUTERS, *(extra_routers or [])]:
        app.include_router(router)
    problems.document_problems(app)
    # the last added is the outermost: request id and logging see everything, then the size limit
    app.add_middleware(IdempotencyMiddleware)
    # multipart framing adds a little to the file itself: allow 64 KiB of it on the upload route
    upload_limit = runtime.settings.max_upload_bytes + 64 * 1024
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=runtime.settings.max_body_bytes,
        larger=[(files_api.UPLOAD_PATH, max(upload_limit, runtime.settings.max_body_bytes))],
    )
    app.add_middleware(RequestContextMiddleware)
    return app
