"""Invoices and credit notes through the service and the real database: numbers, mentions, totals,
refusals, immutability, documents (PDF/A-3, Factur-X)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_helpers import (
    BUSINESS,
    CONSUMER,
    billing_platform,
    customer,
    embedded,
    invoice,
    item,
    pdfa_identification,
    xml_value,
    xmp,
)
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from entremise.audit.service import Actor, list_entries
from entremise.billing import documents
from entremise.billing import service as billing
from entremise.billing.models import BillableItem, Invoice
from entremise.counters import service as counters
from entremise.kernel.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def bp(runtime):
    return billing_platform(runtime)


def fields(exc: InvalidInput) -> dict[str, str]:
    return {e.field: e.reason for e in exc.errors}


# --- numbering --------------------------------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_invoices_are_numbered_in_sequence_per_series_and_year(runtime, bp, clock):
    c = customer(runtime, bp, CONSUMER)
    first = invoice(runtime, bp, c, [item(runtime, bp, c)])
    second = invoice(runtime, bp, c, [item(runtime, bp, c)])
    assert (first.number, second.number) == ("FA-2026-000001", "FA-2026-000002")
    with runtime.sessions() as db, db.begin():
        note = billing.issue_credit_note(
            db, platform=bp, invoice_id=first.id, reason="trajet annulé", now=clock.now()
        )
    assert note.number == "AV-2026-000001" and note.kind == "credit_note"
    clock.set(clock.now().replace(year=2027, month=1, day=4))
    with runtime.sessions() as db, db.begin():
        assert counters.current_value(db, bp.id, "billing:FA:2027") == 0
    third = invoice(runtime, bp, c, [item(runtime, bp, c, day=date(2026, 12, 20))])
    assert third.number == "FA-2027-000001" and third.issue_date == date(2027, 1, 4)


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_a_rolled_back_issue_leaves_no_gap(runtime, bp):
    c = customer(runtime, bp, CONSUMER)
    invoice(runtime, bp, c, [item(runtime, bp, c)])
    doomed = item(runtime, bp, c)
    with pytest.raises(RuntimeError), runtime.sessions() as db, db.begin():
        v = billing.invoice_items(db, platform=bp, customer_id=c, item_ids=[doomed], now=runtime.clock.now())
        assert v.number == "FA-2026-000002"
        raise RuntimeError("the caller's transaction fails after the issue")
    with runtime.sessions() as db, db.begin():
        assert db.scalar(select(BillableItem.invoice_id).where(BillableItem.id == doomed)) is None
        assert counters.current_value(db, bp.id, "billing:FA:2026") == 1
    again = invoice(runtime, bp, c, [doomed])
    assert again.number == "FA-2026-000002"


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_mandated_providers_have_their_own_series_and_identity(runtime, bp, clock):
    provider = customer(runtime, bp, role="provider")
    identity = {
        "name": "Julie Durand",
        "legal_form": "EI",
        "address_line1": "8 chemin Vert",
        "postcode": "44000",
        "city": "Nantes",
        "siren": "443061841",
        "siret": "44306184100047",
        "registration_exempt": True,
        "vat_franchise": True,
    }
    with runtime.sessions() as db, db.begin():
        billing.set_seller(
            db,
            platform=bp,
            provider_id=provider,
            code="P42",
            identity=identity,
            mandate_reference="MANDAT-2026-17",
            mandate_signed_on=date(2026, 10, 1),
            now=clock.now(),
            actor=Actor.system(),
        )
    c = customer(runtime, bp, CONSUMER)
    with pytest.raises(InvalidInput) as refused:
        item(runtime, bp, c, seller_id=provider, rate="20")
    assert "VAT franchise" in fields(refused.value)["body.vat_rate"]
    v = invoice(runtime, bp, c, [item(runtime, bp, c, seller_id=provider, rate="0", price="30.00")])
    own = invoice(runtime, bp, c, [item(runtime, bp, c)])
    assert v.number == "FA-P42-2026-000001" and own.number == "FA-2026-000001"
    assert v.seller["name"] == "Julie Durand" and v.seller_id == provider
    assert v.mentions["mandate"] == {
        "reference": "MANDAT-2026-17",
        "signed_on": "2026-10-01",
        "issuer": "Trajets Sûrs",
    }
    assert v.mentions["zero_rate"] == "TVA non applicable, art. 293 B du CGI"
    assert (v.vat.amount, v.gross.amount) == (0, 3000)
    with pytest.raises(InvalidInput) as mixed:
        invoice(runtime, bp, c, [item(runtime, bp, c, seller_id=provider, rate="0"), item(runtime, bp, c)])
    assert "different sellers" in fields(mixed.value)["body.item_ids"]


# --- mentions and totals -----------------------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_no_invoice_while_seller_mentions_are_missing(runtime):
    bare = billing_platform(runtime, seller={"name": "Trajets Sûrs"})
    c = customer(runtime, bare, CONSUMER)
    i = item(runtime, bare, c)
    with pytest.raises(InvalidInput) as refused:
        invoice(runtime, bare, c, [i])
    missing = fields(refused.value)
    assert {
        "settings.billing.seller.siren",
        "settings.billing.seller.vat_number",
        "settings.billing.seller.rcs_city",
    } <= set(missing)
    assert refused.value.rules == ("LAW-INVOICE-1",)
    with runtime.sessions() as db, db.begin():
        assert counters.current_value(db, bare.id, "billing:FA:2026") == 0
        assert db.scalar(select(BillableItem.invoice_id).where(BillableItem.id == i)) is None


@pytest.mark.rule("LAW-VAT-1")
@pytest.mark.rule("LAW-LATE-1")
def test_LAW_VAT_1_and_LAW_LATE_1_a_business_invoice_carries_its_totals_and_penalty_terms(runtime, bp):
    c = customer(runtime, bp, BUSINESS)
    ids = [
        item(runtime, bp, c, price="0.34", quantity="3", rate="20"),  # 1.02
        item(runtime, bp, c, price="0.33", quantity="1", rate="20"),  # 0.33
        item(runtime, bp, c, price="10.00", quantity="2.5", rate="5.5", day=date(2026, 11, 20)),  # 25.00
        item(runtime, bp, c, price="12.00", rate="10", mode="gross"),  # 10.91 net
    ]
    v = invoice(runtime, bp, c, ids)
    assert [ln.net.amount for ln in v.lines] == [102, 33, 2500, 1091]
    assert [(str(r.rate), r.taxable.amount, r.vat.amount) for r in v.breakdown] == [
        ("5.5", 2500, 138),  # 1.375 -> 1.38
        ("10", 1091, 109),
        ("20", 135, 27),  # VAT on 1.35 = 0.27
    ]
    assert (v.net.amount, v.vat.amount, v.gross.amount) == (3726, 274, 4000)
    assert v.business and v.einvoice
    assert (v.supply_start, v.supply_end, v.issue_date, v.due_date) == (
        date(2026, 11, 10),
        date(2026, 11, 20),
        date(2026, 11, 23),
        date(2026, 12, 23),
    )
    assert v.mentions["late"] == {
        "penalty_rate": "8.1",
        "legal_rate": "2.70",
        "half_year": "2026-H2",
        "indemnity_cents": 4000,
    }
    assert v.buyer["siren"] == "552100554" and v.seller["siren"] == "732829320"
    assert {"LAW-INVOICE-1", "LAW-VAT-1", "LAW-LATE-1", "LAW-EINVOICE-1"} <= set(v.rules)


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_business_invoice_refused_without_the_half_years_legal_rate(runtime):
    p = billing_platform(runtime, legal_interest_rates={"2026-H1": "2.62"})
    c = customer(runtime, p, BUSINESS)
    with pytest.raises(InvalidInput) as refused:
        invoice(runtime, p, c, [item(runtime, p, c)])
    assert "2026-H2" in fields(refused.value)["settings.billing.legal_interest_rates"]
    consumer = customer(runtime, p, CONSUMER)  # no penalty terms on a consumer invoice
    assert invoice(runtime, p, consumer, [item(runtime, p, consumer)]).mentions["late"] is None


@pytest.mark.rule("LAW-LATE-1")
def test_LAW_LATE_1_payment_terms_over_the_limit_are_refused(runtime, bp):
    c = customer(runtime, bp, BUSINESS)
    i = item(runtime, bp, c)
    for days, eom in ((61, False), (46, True)):
        with pytest.raises(InvalidInput) as refused, runtime.sessions() as db, db.begin():
            billing.invoice_items(
                db,
                platform=bp,
                customer_id=c,
                item_ids=[i],
                now=runtime.clock.now(),
                payment_terms_days=days,
                end_of_month=eom,
            )
        assert refused.value.rules == ("LAW-LATE-1",)
    with runtime.sessions() as db, db.begin():
        v = billing.invoice_items(
            db,
            platform=bp,
            customer_id=c,
            item_ids=[i],
            now=runtime.clock.now(),
            payment_terms_days=45,
            end_of_month=True,
        )
    assert v.due_date == date(2027, 1, 31)


@pytest.mark.rule("LAW-VAT-1")
def test_LAW_VAT_1_bad_items_are_refused_naming_each_field(runtime, bp):
    c = customer(runtime, bp, CONSUMER)
    with pytest.raises(InvalidInput) as refused, runtime.sessions() as db, db.begin():
        billing.record_item(
            db,
            platform=bp,
            key="k1",
            customer_id="no-such-user",
            description="",
            quantity="-2",
            unit_price="1.999",
            vat_rate="19.6",
            supply_date=date(2026, 11, 2),
            cause=("ride", "r1"),
            now=runtime.clock.now(),
        )
    assert fields(refused.value) == {
        "body.description": "1 to 500 characters",
        "body.quantity": "must not be negative",
        "body.unit_price": "at most 2 decimals",
        "body.vat_rate": "one of the VAT rates 20, 10, 5.5, 2.1, 0",
        "body.customer_id": "no such customer on this platform",
    }
    with runtime.sessions() as db, db.begin():
        assert billing.list_items(db, platform_id=bp.id) == []
    assert c


def test_recording_an_item_is_idempotent_on_its_key(runtime, bp, clock):
    c = customer(runtime, bp, CONSUMER)

    def record(price: str):
        with runtime.sessions() as db, db.begin():
            return billing.record_item(
                db,
                platform=bp,
                key="ride:42",
                customer_id=c,
                description="Trajet",
                quantity="1",
                unit_price=price,
                vat_rate="10",
                supply_date=date(2026, 11, 2),
                cause=("ride", "42"),
                now=clock.now(),
            )

    assert record("9.00").id == record("9.00").id
    with pytest.raises(Conflict):
        record("9.50")


def test_invoicing_refuses_unknown_cancelled_or_invoiced_items(runtime, bp, clock):
    c = customer(runtime, bp, CONSUMER)
    other = customer(runtime, bp, CONSUMER)
    done, cancelled, theirs = item(runtime, bp, c), item(runtime, bp, c), item(runtime, bp, other)
    invoice(runtime, bp, c, [done])
    with runtime.sessions() as db, db.begin():
        billing.cancel_item(db, platform_id=bp.id, item_id=cancelled, now=clock.now())
    with pytest.raises(InvalidInput) as refused:
        invoice(runtime, bp, c, [done, cancelled, theirs, "nope"])
    assert fields(refused.value) == {
        "body.item_ids.0": "the item is invoiced already",
        "body.item_ids.1": "the item is cancelled",
        "body.item_ids.2": "no such item for this customer",
        "body.item_ids.3": "no such item for this customer",
    }
    with pytest.raises(Conflict), runtime.sessions() as db, db.begin():
        billing.cancel_item(db, platform_id=bp.id, item_id=done, now=clock.now())


def test_a_customer_without_a_billing_address_cannot_be_invoiced(runtime, bp):
    c = customer(runtime, bp)  # an account with no billing profile and no address
    with pytest.raises(InvalidInput) as refused:
        invoice(runtime, bp, c, [item(runtime, bp, c)])
    assert {"customer.name", "customer.address_line1"} <= set(fields(refused.value))


# --- credit notes ----------------------------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_partial_then_full_credit_notes_never_exceed_the_invoice(runtime, bp, clock):
    c = customer(runtime, bp, CONSUMER)
    v = invoice(
        runtime,
        bp,
        c,
        [item(runtime, bp, c, price="100.00"), item(runtime, bp, c, price="10.00", rate="5.5")],
    )

    def credit(lines=None):
        with runtime.sessions() as db, db.begin():
            return billing.issue_credit_note(
                db, platform=bp, invoice_id=v.id, reason="geste commercial", lines=lines, now=clock.now()
            )

    part = credit([billing.CreditLine("Remise", "1", "40.00", "20")])
    assert (part.net.amount, part.vat.amount, part.credited_invoice_id) == (4000, 800, v.id)
    with pytest.raises(Conflict) as over:
        credit([billing.CreditLine("Remise", "1", "60.01", "20")])
    assert over.value.rules == ("LAW-INVOICE-1",)
    rest = credit()
    assert [(ln.description, ln.net.amount) for ln in rest.lines] == [
        ("Solde de la facture FA-2026-000001", 1000),
        ("Solde de la facture FA-2026-000001", 6000),
    ]
    with pytest.raises(Conflict, match="fully credited"):
        credit()
    with pytest.raises(Conflict, match="not another credit note"), runtime.sessions() as db, db.begin():
        billing.issue_credit_note(db, platform=bp, invoice_id=rest.id, reason="x", now=clock.now())
    with pytest.raises(InvalidInput), runtime.sessions() as db, db.begin():
        billing.issue_credit_note(
            db,
            platform=bp,
            invoice_id=v.id,
            reason="x",
            lines=[billing.CreditLine("x", "1", "1.00", "10")],
            now=clock.now(),
        )
    with runtime.sessions() as db, db.begin():
        assert billing.credited_total(db, invoice_id=v.id) == v.gross.amount


# --- immutability ----------------------------------------------------------------------------------


@pytest.mark.rule("LAW-INVOICE-1")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE billing_invoices SET gross = 1 WHERE id = :id",
        "DELETE FROM billing_invoices WHERE id = :id",
        "UPDATE billing_invoice_lines SET net = 1 WHERE invoice_id = :id",
        "DELETE FROM billing_invoice_lines WHERE invoice_id = :id",
        "UPDATE billing_items SET invoice_id = NULL WHERE invoice_id = :id",
        "UPDATE billing_items SET unit_price = '0' WHERE invoice_id = :id",
        "DELETE FROM billing_items WHERE invoice_id = :id",
        "UPDATE billing_documents SET content = :id WHERE invoice_id = :id",
        "DELETE FROM billing_documents WHERE invoice_id = :id",
    ],
)
def test_LAW_INVOICE_1_the_database_refuses_to_change_an_issued_invoice(runtime, bp, clock, statement):
    c = customer(runtime, bp, CONSUMER)
    v = invoice(runtime, bp, c, [item(runtime, bp, c)])
    documents.ensure_documents(runtime.sessions, platform_id=bp.id, invoice_id=v.id, now=clock.now())
    with pytest.raises((DBAPIError, IntegrityError)), runtime.sessions() as db, db.begin():
        db.execute(text(statement), {"id": v.id})
    with runtime.sessions() as db, db.begin():
        row = db.get(Invoice, v.id)
        assert row is not None and row.gross == v.gross.amount
        assert billing.get_invoice(db, platform_id=bp.id, invoice_id=v.id).lines == v.lines


# --- documents -------------------------------------------------------------------------------------


@pytest.mark.rule("LAW-EINVOICE-1")
def test_LAW_EINVOICE_1_a_business_invoice_is_a_pdf_a3_with_its_factur_x_xml(runtime, bp, clock):
    c = customer(runtime, bp, BUSINESS)
    v = invoice(
        runtime,
        bp,
        c,
        [
            item(runtime, bp, c, price="15.00", quantity="2"),
            item(runtime, bp, c, price="8.00", rate="5.5", day=date(2026, 11, 12)),
        ],
    )
    doc = documents.ensure_documents(runtime.sessions, platform_id=bp.id, invoice_id=v.id, now=clock.now())
    assert doc.content.startswith(b"%PDF-")
    meta = xmp(doc.content)
    assert pdfa_identification(doc.content) == ("3", "B")
    assert b"urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in meta
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in meta
    files = embedded(doc.content)
    xml, relationship = files["factur-x.xml"]
    assert relationship == "/Data" and files["/AF"] == ["factur-x.xml"]
    with runtime.sessions() as db, db.begin():
        stored = documents.get_document(db, platform_id=bp.id, invoice_id=v.id, kind="xml")
    assert stored is not None and stored.content == xml
    assert xml_value(xml, "//rsm:ExchangedDocument/ram:ID/text()") == [v.number]
    assert xml_value(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["380"]
    assert xml_value(xml, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString/text()") == [
        "20261123"
    ]
    assert xml_value(
        xml, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString/text()"
    ) == ["20261223"]
    assert xml_value(xml, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString/text()") == [
        "20261110"
    ]
    sums = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert xml_value(xml, sums + "TaxBasisTotalAmount/text()") == [f"{v.net.to_major():.2f}"] == ["38.00"]
    assert xml_value(xml, sums + "TaxTotalAmount/text()") == [f"{v.vat.to_major():.2f}"] == ["6.44"]
    assert xml_value(xml, sums + "GrandTotalAmount/text()") == [f"{v.gross.to_major():.2f}"] == ["44.44"]
    taxes = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:"
    assert xml_value(xml, taxes + "RateApplicablePercent/text()") == ["5.5", "20"]
    assert xml_value(xml, taxes + "BasisAmount/text()") == ["8.00", "30.00"]
    assert xml_value(xml, taxes + "CalculatedAmount/text()") == ["0.44", "6.00"]
    assert xml_value(xml, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()") == [
        "FR44732829320"
    ]
    assert xml_value(xml, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/text()") == [
        "552100554"
    ]
    again = documents.ensure_documents(runtime.sessions, platform_id=bp.id, invoice_id=v.id, now=clock.now())
    assert again.content == doc.content and again.sha256 == doc.sha256


@pytest.mark.rule("LAW-EINVOICE-1")
def test_LAW_EINVOICE_1_a_credit_note_xml_references_its_invoice_and_consumers_get_a_plain_pdf_a3(
    runtime, bp, clock
):
    b = customer(runtime, bp, BUSINESS)
    v = invoice(runtime, bp, b, [item(runtime, bp, b, price="50.00")])
    with runtime.sessions() as db, db.begin():
        note = billing.issue_credit_note(
            db, platform=bp, invoice_id=v.id, reason="annulation", now=clock.now()
        )
    doc = documents.ensure_documents(runtime.sessions, platform_id=bp.id, invoice_id=note.id, now=clock.now())
    xml = embedded(doc.content)["factur-x.xml"][0]
    assert xml_value(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert xml_value(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [v.number]
    c = customer(runtime, bp, CONSUMER)
    plain = invoice(runtime, bp, c, [item(runtime, bp, c)])
    assert not plain.einvoice
    pdf = documents.ensure_documents(
        runtime.sessions, platform_id=bp.id, invoice_id=plain.id, now=clock.now()
    )
    assert pdfa_identification(pdf.content) == ("3", "B")
    with runtime.sessions() as db, db.begin():
        assert documents.get_document(db, platform_id=bp.id, invoice_id=plain.id, kind="xml") is None


@pytest.mark.rule("LAW-EINVOICE-1")
def test_LAW_EINVOICE_1_business_invoices_before_the_start_date_are_not_factur_x(runtime):
    late_start = billing_platform(runtime, einvoice_from="2027-09-01")
    c = customer(runtime, late_start, BUSINESS)
    v = invoice(runtime, late_start, c, [item(runtime, late_start, c)])
    assert v.business and not v.einvoice and "LAW-EINVOICE-1" in v.rules


def test_issuing_is_audited_with_its_rules(runtime, bp):
    c = customer(runtime, bp, BUSINESS)
    v = invoice(runtime, bp, c, [item(runtime, bp, c)])
    with runtime.sessions() as db, db.begin():
        entries = list_entries(db, platform_id=bp.id, object_type="invoice", object_id=v.id)
    assert [e.action for e in entries] == ["billing.invoice_issued"]
    assert {"LAW-INVOICE-1", "LAW-VAT-1", "LAW-LATE-1", "LAW-EINVOICE-1"} <= set(entries[0].rules)


def test_invoices_of_another_platform_are_not_found(runtime, bp):
    c = customer(runtime, bp, CONSUMER)
    v = invoice(runtime, bp, c, [item(runtime, bp, c)])
    other = billing_platform(runtime)
    stranger = customer(runtime, bp, CONSUMER)
    with runtime.sessions() as db, db.begin():
        with pytest.raises(NotFound):
            billing.get_invoice(db, platform_id=other.id, invoice_id=v.id)
        with pytest.raises(NotFound):
            billing.get_invoice(db, platform_id=bp.id, invoice_id=v.id, customer_id=stranger)
        assert billing.list_invoices(db, platform_id=other.id) == []
    assert Decimal(v.lines[0].vat_rate) == 20


def pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.rule("LAW-INVOICE-1")
@pytest.mark.rule("LAW-LATE-1")
def test_LAW_INVOICE_1_the_printed_invoice_carries_every_mention(runtime, bp, clock):
    c = customer(runtime, bp, BUSINESS)
    v = invoice(
        runtime,
        bp,
        c,
        [item(runtime, bp, c, price="15.00", quantity="2"), item(runtime, bp, c, price="5.00", rate="0")],
    )
    printed = pdf_text(
        documents.ensure_documents(
            runtime.sessions, platform_id=bp.id, invoice_id=v.id, now=clock.now()
        ).content
    )
    for words in (
        "Facture FA-2026-000001",
        "Date d'émission 23 novembre 2026",
        "Date de la prestation 10 novembre 2026",
        "Date d'échéance 23 décembre 2026",
        "Trajets Sûrs, SAS",
        "SIREN 732829320 — SIRET 73282932000074",
        "N° TVA intracommunautaire FR44732829320",
        "Acme Logistique SARL",
        "SIREN 552100554",
        "FR96552100554",
        "Trajet école 2 15,00 20 % 30,00 €",
        "Total HT 35,00 €",
        "Total TVA 6,00 €",
        "Net à payer 41,00 €",
        "TVA non applicable, art. 293 B du CGI",
        "paiement à 30 jours",
        "Pas d'escompte pour paiement anticipé",
        "au taux annuel de 8,1 %",
        "indemnité forfaitaire pour frais de recouvrement de 40,00 €",
        "au capital de 10 000,00 €",
        "RCS Paris 732829320",
    ):
        assert words.replace("\u202f", " ") in printed.replace("\u202f", " ").replace("\xa0", " "), words


def test_the_pdf_can_be_printed_in_english(runtime):
    p = billing_platform(runtime, pdf_locale="en")
    c = customer(runtime, p, CONSUMER)
    v = invoice(runtime, p, c, [item(runtime, p, c)])
    printed = pdf_text(
        documents.ensure_documents(
            runtime.sessions, platform_id=p.id, invoice_id=v.id, now=runtime.clock.now()
        ).content
    )
    assert "Invoice FA-2026-000001" in printed and "Amount due €18.00" in printed
    assert "23 November 2026" in printed and "penalties" not in printed  # a consumer: no penalty terms
