"""API conventions: every error is an RFC 9457 problem document, bad input changes nothing,
request ids and request logs, cursor pagination, and an OpenAPI that documents all of it."""

from __future__ import annotations

import json

import pytest
from notes_api import count_notes, notes_client_for
from structlog.testing import capture_logs

PROBLEM = "application/problem+json"


@pytest.fixture
def notes_client(runtime):
    with notes_client_for(runtime) as c:
        yield c


def assert_problem(r, status: int, path: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["instance"] == path
    assert body["type"] and body["title"] and body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]
    return body


def notes_path(platform) -> str:
    return f"/api/v1/platforms/{platform.slug}/test-notes"


def test_unknown_route_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "/api/v1/nothing-here")


def test_wrong_method_is_a_405_problem_with_allow(client, platform):
    path = f"/api/v1/platforms/{platform.slug}"
    r = client.delete(path)
    assert_problem(r, 405, path)
    assert r.headers["allow"] == "GET"


def test_405_allow_lists_the_methods_of_every_route_on_the_path(notes_client, platform):
    r = notes_client.put(notes_path(platform), json={})
    assert_problem(r, 405, notes_path(platform))
    assert r.headers["allow"] == "GET, POST"


def test_malformed_json_is_a_400_problem_and_creates_nothing(notes_client, runtime, platform):
    r = notes_client.post(
        notes_path(platform), content=b'{"title": "x", ', headers={"content-type": "application/json"}
    )
    body = assert_problem(r, 400, notes_path(platform))
    assert "JSON" in body["detail"]
    assert count_notes(runtime, platform.id) == 0


def test_validation_names_every_invalid_field_and_creates_nothing(notes_client, runtime, platform):
    r = notes_client.post(
        notes_path(platform), json={"title": "", "amount": "12", "colour": "red", "tags": ["a" * 21]}
    )
    body = assert_problem(r, 422, notes_path(platform))
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"body.title", "body.amount", "body.colour", "body.tags.0"}
    assert all(e["reason"] for e in body["errors"])
    assert count_notes(runtime, platform.id) == 0


@pytest.mark.parametrize("amount", ["12", True, 1.5, 2**63, 1e300, -1, 1_000_001])
def test_strict_int_refuses_strings_booleans_fractions_and_out_of_range(
    notes_client, runtime, platform, amount
):
    r = notes_client.post(notes_path(platform), json={"title": "t", "amount": amount})
    body = assert_problem(r, 422, notes_path(platform))
    assert [e["field"] for e in body["errors"]] == ["body.amount"]
    assert count_notes(runtime, platform.id) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "a\x00b", "amount": 1}, "body.title"),
        ({"title": "ok", "amount": 1, "tags": ["fine", "nu\x00l"]}, "body.tags.1"),
    ],
)
def test_nul_in_a_body_string_is_refused_and_creates_nothing(notes_client, runtime, platform, payload, field):
    r = notes_client.post(notes_path(platform), json=payload)
    body = assert_problem(r, 422, notes_path(platform))
    assert [e["field"] for e in body["errors"]] == [field]
    assert "NUL" in body["errors"][0]["reason"]
    assert count_notes(runtime, platform.id) == 0


def test_nul_in_path_or_query_is_refused_before_any_handler(client, platform):
    r = client.get("/api/v1/platforms/a%00b")
    body = assert_problem(r, 422, "/api/v1/platforms/a\x00b")
    assert body["errors"] == [{"field": "path", "reason": "must not contain NUL characters"}]
    r = client.get(f"/api/v1/platforms/{platform.slug}?x=1&cursor=a%00")
    body = assert_problem(r, 422, f"/api/v1/platforms/{platform.slug}")
    assert body["errors"] == [{"field": "query.cursor", "reason": "must not contain NUL characters"}]


def test_apimodel_refuses_nul_in_every_field_of_any_subclass():
    from pydantic import ValidationError

    from entremise.api.schemas import ApiModel

    class Anything(ApiModel):
        name: str
        data: dict[str, list[str]]

    with pytest.raises(ValidationError) as err:
        Anything.model_validate({"name": "ok", "data": {"k": ["v", "x\x00"]}})
    assert [e["loc"] for e in err.value.errors()] == [("data",)]


def test_unexpected_error_is_a_500_problem_without_any_trace(notes_client, platform):
    path = f"/api/v1/platforms/{platform.slug}/test-boom"
    with capture_logs() as logs:
        r = notes_client.get(path)
    body = assert_problem(r, 500, path)
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text and "RuntimeError" not in r.text
    errors = [e for e in logs if e["event"] == "unhandled_error"]
    assert errors and errors[0]["request_id"] == body["request_id"]


def test_oversize_body_is_a_413_problem_and_creates_nothing(notes_client, runtime, platform):
    r = notes_client.post(
        notes_path(platform),
        content=b'{"title": "' + b"x" * (1024 * 1024) + b'", "amount": 1}',
        headers={"content-type": "application/json"},
    )
    assert_problem(r, 413, notes_path(platform))
    assert count_notes(runtime, platform.id) == 0


def test_unknown_platform_is_404_and_creates_nothing(notes_client, runtime, platform):
    r = notes_client.post("/api/v1/platforms/no-such-one/test-notes", json={"title": "t", "amount": 1})
    assert_problem(r, 404, "/api/v1/platforms/no-such-one/test-notes")
    assert count_notes(runtime, platform.id) == 0


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"content": b'{"title": "t", "amount": 1}', "headers": {"content-type": "text/plain"}},
        {"content": b"[]", "headers": {"content-type": "application/json"}},
    ],
)
def test_a_body_that_is_not_a_json_object_is_422_and_creates_nothing(
    notes_client, runtime, platform, request_kwargs
):
    r = notes_client.post(notes_path(platform), **request_kwargs)
    body = assert_problem(r, 422, notes_path(platform))
    assert body["errors"] == [
        {"field": "body", "reason": "must be a JSON object, sent with Content-Type: application/json"}
    ]
    assert count_notes(runtime, platform.id) == 0


def test_valid_post_creates_exactly_one_row(notes_client, runtime, platform):
    r = notes_client.post(notes_path(platform), json={"title": "t", "amount": 5})
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 5
    assert count_notes(runtime, platform.id) == 1


def test_an_integral_json_number_is_an_integer(notes_client, runtime, platform):
    """JSON Schema counts 5.0 as an integer, so the API does too (and stores the int 5)."""
    r = notes_client.post(
        notes_path(platform),
        content=b'{"title": "t", "amount": 5.0}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 5
    assert count_notes(runtime, platform.id) == 1


# -- request ids and request logs ---------------------------------------------------------------


def test_request_id_is_echoed_or_generated(client):
    r = client.get("/healthz", headers={"X-Request-Id": "abc-123.x"})
    assert r.headers["x-request-id"] == "abc-123.x"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    # an unusable id is replaced, not echoed
    assert client.get("/healthz", headers={"X-Request-Id": "a b"}).headers["x-request-id"] != "a b"


def test_each_request_is_logged_with_method_path_status_duration_and_id(client, platform):
    with capture_logs() as logs:
        r = client.get(f"/api/v1/platforms/{platform.slug}", headers={"X-Request-Id": "req-1"})
    assert r.status_code == 200
    [entry] = [e for e in logs if e["event"] == "request"]
    assert entry["method"] == "GET"
    assert entry["path"] == f"/api/v1/platforms/{platform.slug}"
    assert entry["status"] == 200
    assert entry["request_id"] == "req-1"
    assert entry["duration_ms"] >= 0


# -- cursor pagination ---------------------------------------------------------------------------


def test_cursor_pagination_walks_every_item_once(notes_client, platform):
    for i in range(5):
        assert (
            notes_client.post(notes_path(platform), json={"title": f"n{i}", "amount": i}).status_code == 201
        )
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = notes_client.get(notes_path(platform), params=params).json()
        seen += [n["title"] for n in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"n{i}" for i in range(5)]
    assert pages == 3
    assert notes_client.get(notes_path(platform)).json()["next_cursor"] is None  # default limit 50


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "query.limit"),
        ("limit=101", "query.limit"),
        ("limit=abc", "query.limit"),
        ("limit=99999999999999999999999", "query.limit"),
        ("cursor=not*base64", "query.cursor"),
        ("cursor=bm90IGpzb24", "query.cursor"),  # base64 of "not json"
        ("cursor=ImEi", "query.cursor"),  # a JSON string where an id is expected
    ],
)
def test_bad_page_parameters_are_422_naming_the_parameter(notes_client, platform, query, field):
    r = notes_client.get(f"{notes_path(platform)}?{query}")
    body = assert_problem(r, 422, notes_path(platform))
    assert [e["field"] for e in body["errors"]] == [field]


# -- OpenAPI -------------------------------------------------------------------------------------


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_openapi_documents_problem_answers_on_every_operation(notes_client):
    schema = notes_client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in json.dumps(schema)
    for path, method, op in _operations(schema):
        for status in ("400", "401", "403", "404", "409", "413", "422", "429"):
            content = op["responses"][status]["content"]
            assert content == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}, (path, method)


def test_every_integer_parameter_and_body_field_is_bounded(notes_client):
    """Unbounded integers overflow the database: every integer the API accepts has both bounds."""
    schema = notes_client.get("/openapi.json").json()

    def integers(node, where):
        if isinstance(node, dict):
            if node.get("type") == "integer":
                yield where, node
            for k, v in node.items():
                yield from integers(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from integers(v, f"{where}[{i}]")

    found = []
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            found += integers(param.get("schema", {}), f"{method} {path} {param['name']}")
    for name, component in schema["components"]["schemas"].items():
        if name in ("Problem", "FieldError") or not name.endswith("In"):
            continue
        found += integers(component, name)
    assert found, "the test router has integer inputs"
    unbounded = [w for w, node in found if "minimum" not in node or "maximum" not in node]
    assert unbounded == []
