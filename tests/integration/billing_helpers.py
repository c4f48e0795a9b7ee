"""Helpers for billing tests: a platform with a complete seller identity, customers, items."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

from accounts_helpers import PASSWORD, email
from lxml import etree
from pypdf import PdfReader

from conftest import make_platform
from entremise.accounts import service as accounts
from entremise.audit.service import Actor
from entremise.billing import service as billing
from entremise.billing.views import InvoiceView
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

SELLER = {
    "name": "Trajets Sûrs",
    "legal_form": "SAS",
    "address_line1": "12 rue des Lilas",
    "postcode": "75011",
    "city": "Paris",
    "country": "FR",
    "siren": "732 829 320",
    "siret": "732 829 320 00074",
    "rcs_city": "Paris",
    "share_capital": "10000",
    "vat_number": "FR44732829320",
    "email": "factures@trajets.example",
}
# the 2026-H1 figure is the published one; 2026-H2 is a test figure (the tests run in November 2026)
LEGAL_RATES = {"2026-H1": "2.62", "2026-H2": "2.70"}
BILLING = {"seller": SELLER, "legal_interest_rates": LEGAL_RATES}
BUSINESS = {
    "kind": "business",
    "name": "Acme Logistique SARL",
    "address_line1": "3 avenue Foch",
    "postcode": "69006",
    "city": "Lyon",
    "country": "FR",
    "siren": "552100554",
    "vat_number": "FR96552100554",
}
CONSUMER = {
    "kind": "consumer",
    "name": "Ada Martin",
    "address_line1": "3 rue Haute",
    "postcode": "67000",
    "city": "Strasbourg",
}
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def billing_platform(runtime: Runtime, **billing_settings: Any) -> PlatformView:
    return make_platform(runtime, {"billing": {**BILLING, **billing_settings}}, prefix="bill")


def customer(
    runtime: Runtime, platform: PlatformView, profile: dict[str, Any] | None = None, *, role: str = "client"
) -> str:
    """A user of the platform, with a billing profile when given."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        user = accounts.register(
            db,
            platform=platform,
            role=role,
            email=email(),
            password=PASSWORD,
            fields={},
            meta=accounts.RequestMeta(),
            now=now,
            created_by=Actor.system(),
            must_change_password=False,
        )
        if profile is not None:
            billing.set_profile(
                db, platform=platform, user_id=user.id, data=profile, now=now, actor=Actor.system()
            )
    return user.id


def item(
    runtime: Runtime,
    platform: PlatformView,
    customer_id: str,
    *,
    price: str = "15.00",
    quantity: str = "1",
    rate: str = "20",
    day: date = date(2026, 11, 10),
    mode: str = "net",
    seller_id: str | None = None,
    description: str = "Trajet école",
) -> str:
    with runtime.sessions() as db, db.begin():
        v = billing.record_item(
            db,
            platform=platform,
            key=f"test:{uuid.uuid4()}",
            customer_id=customer_id,
            description=description,
            quantity=quantity,
            unit_price=price,
            vat_rate=rate,
            price_mode=mode,
            supply_date=day,
            cause=("ride", uuid.uuid4().hex),
            seller_id=seller_id,
            now=runtime.clock.now(),
        )
    return v.id


def invoice(runtime: Runtime, platform: PlatformView, customer_id: str, item_ids: list[str]) -> InvoiceView:
    with runtime.sessions() as db, db.begin():
        return billing.invoice_items(
            db, platform=platform, customer_id=customer_id, item_ids=item_ids, now=runtime.clock.now()
        )


def xmp(pdf: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(pdf))
    meta = reader.trailer["/Root"]["/Metadata"].get_object()
    data: bytes = meta.get_data()
    return data


PDFAID = "http://www.aiim.org/pdfa/ns/id/"


def pdfa_identification(pdf: bytes) -> tuple[str | None, str | None]:
    """(part, conformance) of the PDF/A identification in the XMP metadata, written either as
    attributes (WeasyPrint) or as elements (factur-x) of an rdf:Description."""
    root = etree.fromstring(xmp(pdf).split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    found: dict[str, str] = {}
    for node in root.iter():
        for name in ("part", "conformance"):
            value = node.get(f"{{{PDFAID}}}{name}")
            if value is not None:
                found[name] = value
        if isinstance(node.tag, str) and node.tag.startswith(f"{{{PDFAID}}}") and node.text:
            found[node.tag.split("}")[1]] = node.text.strip()
    return found.get("part"), found.get("conformance")


def embedded(pdf: bytes) -> dict[str, Any]:
    """The embedded files of a PDF: name -> (bytes, AFRelationship), and the catalog's /AF list."""
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    out: dict[str, Any] = {}
    for i in range(0, len(names), 2):
        spec = names[i + 1].get_object()
        out[str(names[i])] = (spec["/EF"]["/F"].get_object().get_data(), str(spec["/AFRelationship"]))
    out["/AF"] = [str(a.get_object()["/F"]) for a in root["/AF"]]
    return out


def xml_value(xml: bytes, path: str) -> list[str]:
    return [str(x) for x in etree.fromstring(xml).xpath(path, namespaces=NS)]
