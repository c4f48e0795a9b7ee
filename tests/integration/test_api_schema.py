"""Schemathesis: the API keeps the promises of its own OpenAPI document, for every operation.

It loads /openapi.json from the real app (every router in ROUTERS, so routers added later are
covered without touching this file, plus the test-only notes router, the one write path that
exists before the domain routers) and, for each operation, generates valid and invalid requests
and runs schemathesis' checks: no 5xx, every status code and content type documented, response
bodies and headers conforming to their schemas, invalid input refused, valid input accepted.

The operations are read from the OpenAPI of an app built on a throwaway in-memory database (the
document does not depend on data); every request then goes to an app on the test database, and
the `platform` path parameter is set to this test's platform, so requests reach real handlers.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from notes_api import NOTES
from notes_api import router as notes_router
from schemathesis.specs.openapi.checks import positive_data_acceptance

from entremise.api.app import create_app
from entremise.config import Settings
from entremise.db.engine import make_engine, make_sessionmaker
from entremise.runtime import Runtime


def _app(runtime: Runtime):
    return create_app(runtime, extra_routers=[notes_router])


def _schema_only_runtime() -> Runtime:
    engine = make_engine("sqlite://")
    settings = Settings(DATABASE_URL="sqlite://")
    return Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app(_schema_only_runtime()))


@pytest.fixture
def api_app(runtime):
    NOTES.reset()
    return _app(runtime)


@schema.parametrize()
@settings(
    # 15 generated cases per operation (derandomized, so every run checks the same ones): with
    # some 200 operations the whole check stays within a few minutes of the suite
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_keeps_its_documented_promises(case, api_app, platform):
    if case.path_parameters and "platform" in case.path_parameters:
        case.path_parameters["platform"] = platform.slug
    if case.query and "cursor" in case.query:
        # cursors are opaque: a string matching the schema is still not one the API issued (the
        # 422 for those is tested in test_api_conventions); schemathesis revalidates the case
        del case.query["cursor"]
    # A request valid by the schema can still break a business rule the schema cannot state: the
    # fields a platform's settings require for a role, the list of common passwords, an e-mail
    # already registered. Those answers are 422 problems by design, so the "valid data must be
    # accepted" check is left out; every other check runs.
    case.call_and_validate(app=api_app, excluded_checks=[positive_data_acceptance])
