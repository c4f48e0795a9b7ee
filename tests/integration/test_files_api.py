"""Files over HTTP: types sniffed from the bytes, per-purpose limits, the larger body limit on the
upload route only, access by the owner, the users granted and staff, safe download headers."""

from __future__ import annotations

import hashlib

import pytest
from accounts_helpers import auth, staff_token, url, user_session

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.files import service as files
from entremise.files.domain import FileRule
from entremise.files.purposes import register_purpose

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120

register_purpose(
    "test_evidence",
    roles=("client", "provider"),
    rule=lambda _settings: FileRule(("image/png", "application/pdf", "text/plain"), max_bytes=4096),
)
register_purpose(
    "test_staff_only", roles=("staff",), rule=lambda _settings: FileRule(("text/plain",), max_bytes=100)
)


def upload(
    client, platform, token, data, name="preuve.png", purpose="test_evidence", content_type="image/png"
):
    return client.post(
        url(platform, "/files"),
        data={"purpose": purpose},
        files={"file": (name, data, content_type)},
        headers=auth(token),
    )


def count_files(runtime, platform, owner_id):
    with runtime.sessions() as db, db.begin():
        return len(files.list_owned(db, platform_id=platform.id, owner_id=owner_id, after_id=None, limit=100))


def test_upload_sniffs_the_type_and_stores_the_bytes_outside_the_web_root(client, runtime, platform):
    user_id, _, token = user_session(client, platform)
    # the client claims a harmless text file; the bytes say PNG, and PNG is what is recorded
    r = upload(client, platform, token, PNG, name="../../notes.txt", content_type="text/plain")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/png"
    assert body["name"] == "notes.png"
    assert body["size"] == len(PNG)
    assert body["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert body["owner_id"] == user_id
    stored = files.store_of(runtime.settings).path(platform.id, body["sha256"])
    assert stored.read_bytes() == PNG
    assert str(stored).startswith(runtime.settings.files_dir)
    with runtime.sessions() as db, db.begin():
        entry = list_entries(db, platform_id=platform.id, object_id=body["id"])[0]
    assert entry.action == "file.uploaded" and entry.data["sha256"] == body["sha256"]

    r = client.get(url(platform, f"/files/{body['id']}/content"), headers=auth(token))
    assert r.status_code == 200
    assert r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith('attachment; filename="notes.png"')
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]
    listed = client.get(url(platform, "/files?purpose=test_evidence"), headers=auth(token)).json()
    assert [f["id"] for f in listed["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (EXE, "application/x-msdownload are not accepted"),
        (b"", "empty"),
        (b"\x00\x01\x02 opaque", "not recognised"),
        (b"a" * 4097, "larger than the 4096 bytes"),
    ],
)
def test_forbidden_empty_unknown_and_oversize_files_are_refused_and_nothing_is_kept(
    client, runtime, platform, data, reason
):
    user_id, _, token = user_session(client, platform)
    r = upload(client, platform, token, data, name="x.png")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.file"
    assert reason in r.json()["errors"][0]["reason"]
    assert count_files(runtime, platform, user_id) == 0


def test_bad_multipart_unknown_purpose_and_wrong_role_are_refused(client, runtime, platform):
    user_id, _, token = user_session(client, platform)
    r = upload(client, platform, token, PNG, purpose="holiday_photos")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.purpose"
    r = client.post(url(platform, "/files"), data={"purpose": "test_evidence"}, headers=auth(token))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file"
    r = upload(client, platform, token, PNG, purpose="Bad Purpose!")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.purpose"
    assert upload(client, platform, token, b"hello", purpose="test_staff_only").status_code == 403
    assert client.post(url(platform, "/files"), data={"purpose": "test_evidence"}).status_code == 401
    assert count_files(runtime, platform, user_id) == 0


def test_only_the_upload_route_takes_bodies_above_the_general_limit(client, runtime, platform):
    _, _, token = user_session(client, platform)
    big = b"%PDF-1.7\n" + b"0" * (runtime.settings.max_body_bytes + 10)
    r = upload(client, platform, token, big, name="big.pdf", content_type="application/pdf")
    # the body got through the size limit (the purpose's own 4 KiB limit answers)
    assert r.status_code == 422 and "larger than the 4096 bytes" in r.json()["detail"]
    r = client.post(
        url(platform, "/processes/abc/transitions/cancel"),
        content=b"{" + b" " * (runtime.settings.max_body_bytes + 10) + b"}",
        headers={**auth(token), "content-type": "application/json"},
    )
    assert r.status_code == 413
    too_big = b"0" * (runtime.settings.max_upload_bytes + 128 * 1024)
    r = upload(client, platform, token, too_big, name="huge.pdf")
    assert r.status_code == 413


def test_another_user_another_platform_see_nothing_until_granted_staff_see_all(
    client, runtime, platform, clock
):
    _, _, owner = user_session(client, platform)
    other_id, _, other = user_session(client, platform, role="provider")
    file_id = upload(client, platform, owner, PDF, name="brief.pdf", content_type="application/pdf").json()[
        "id"
    ]
    for path in (f"/files/{file_id}", f"/files/{file_id}/content"):
        assert client.get(url(platform, path), headers=auth(other)).status_code == 404
    assert client.get(url(platform, "/files"), headers=auth(other)).json()["items"] == []
    elsewhere = make_platform(runtime)
    _, _, foreign = user_session(client, elsewhere)
    assert client.get(url(elsewhere, f"/files/{file_id}"), headers=auth(foreign)).status_code == 404

    with runtime.sessions() as db, db.begin():
        files.grant(
            db,
            platform_id=platform.id,
            file_id=file_id,
            user_id=other_id,
            cause=("order", "o-1"),
            now=clock.now(),
        )
        files.grant(  # twice: idempotent
            db,
            platform_id=platform.id,
            file_id=file_id,
            user_id=other_id,
            cause=("order", "o-1"),
            now=clock.now(),
        )
    r = client.get(url(platform, f"/files/{file_id}/content"), headers=auth(other))
    assert r.status_code == 200 and r.content == PDF
    staff = staff_token(client, runtime, platform)
    assert client.get(url(platform, f"/files/{file_id}"), headers=auth(staff)).status_code == 200
    # and the file's record is no one else's to list
    assert client.get(url(platform, "/files"), headers=auth(other)).json()["items"] == []


def test_attaching_files_names_every_id_that_is_not_one_of_yours(client, runtime, platform):
    owner_id, _, owner = user_session(client, platform)
    _, _, other = user_session(client, platform)
    mine = upload(client, platform, owner, PNG).json()["id"]
    theirs = upload(client, platform, other, PNG).json()["id"]
    with runtime.sessions() as db, db.begin():
        assert [
            v.id
            for v in files.owned(
                db,
                platform_id=platform.id,
                owner_id=owner_id,
                file_ids=[mine],
                purpose="test_evidence",
                field="body.files",
            )
        ] == [mine]
        with pytest.raises(files.InvalidInput) as refused:
            files.owned(
                db,
                platform_id=platform.id,
                owner_id=owner_id,
                file_ids=[mine, theirs, "nope"],
                purpose="test_evidence",
                field="body.files",
            )
    assert [e.field for e in refused.value.errors] == ["body.files.1", "body.files.2"]
