"""Files, pure part: the type is sniffed from the bytes, purposes refuse what they do not take,
names and headers are safe."""

from __future__ import annotations

import pytest

from entremise.files import domain
from entremise.files.domain import FileRule

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (JPEG, "image/jpeg"),
        ("Cahier des charges : logo réalisé en deux couleurs.\n".encode(), "text/plain"),
        (EXE, "application/x-msdownload"),
        (b"\x00\x01\x02\x03binary junk", None),
        (b"", None),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, mime: str | None) -> None:
    assert domain.sniff(data) == mime


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    data = ("é" * 5000).encode()  # 10 000 bytes: the 8 KiB sample ends inside a character or not
    assert domain.sniff(data[:8191]) == "text/plain"


def test_a_purpose_refuses_empty_oversize_unknown_and_forbidden_files() -> None:
    rule = FileRule(("image/png", "application/pdf"), max_bytes=100)
    assert domain.check_upload(rule, 40, "image/png").allowed
    assert "empty" in domain.check_upload(rule, 0, None).reason
    assert "larger than the 100 bytes" in domain.check_upload(rule, 101, "image/png").reason
    assert "not recognised" in domain.check_upload(rule, 10, None).reason
    refused = domain.check_upload(rule, 10, "application/x-msdownload")
    assert not refused.allowed and "application/x-msdownload" in refused.reason


def test_names_lose_paths_and_control_characters_and_take_the_real_extension() -> None:
    assert domain.clean_name("../../etc/passwd", "text/plain") == "passwd.txt"
    assert domain.clean_name("C:\\Users\\zoé\\logo final.PNG", "image/png") == "logo final.png"
    assert domain.clean_name("facture.pdf.exe", "application/pdf") == "facture.pdf.pdf"
    assert domain.clean_name("\x00\x1b[31m.", "image/png") == "[31m.png"
    assert domain.clean_name(None, "application/pdf") == "file.pdf"
    assert len(domain.clean_name("a" * 500 + ".pdf", "application/pdf")) == domain.MAX_NAME_LENGTH


def test_content_disposition_is_an_attachment_with_a_quoted_ascii_name_and_the_utf8_name() -> None:
    header = domain.content_disposition('devis "final"; é.pdf')
    assert header.startswith('attachment; filename="devis _final_ e.pdf"')
    assert "filename*=UTF-8''devis%20%22final%22%3B%20%C3%A9.pdf" in header
    assert "\n" not in header and "\r" not in header
