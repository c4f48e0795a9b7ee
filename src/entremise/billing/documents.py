"""The stored documents of an issued invoice: its PDF/A-3 (with the Factur-X XML embedded for a
business invoice, LAW-EINVOICE-1) and that XML on its own, each with its SHA-256.

A document is made once, from the issued invoice alone, and stored in the database: every
download returns the same bytes. Making it takes a while (WeasyPrint), so it happens outside any
transaction: `ensure_documents` reads the invoice, renders, then stores in a short transaction
and queues the e-mail with the PDF attached in that same transaction (once per invoice: the
outbox de-duplicates on the invoice). When two processes render the same invoice at once, the
first to store wins and the other's bytes are discarded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

import structlog
from babel.numbers import format_currency
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from entremise.billing import domain, facturx, pdf
from entremise.billing import service as billing
from entremise.billing.models import Invoice, InvoiceDocument
from entremise.billing.views import InvoiceView
from entremise.notify.outbox import enqueue
from entremise.notify.ports import Attachment
from entremise.platforms import service as platforms

log = structlog.get_logger(__name__)
PDF = "pdf"
XML = "xml"
CONTENT_TYPES = {PDF: "application/pdf", XML: "application/xml"}
EMAIL_TEMPLATE = "billing.document_issued"


@dataclass(frozen=True)
class Document:
    invoice_id: str
    kind: str
    content: bytes
    sha256: str
    created_at: datetime

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


def file_name(invoice: InvoiceView, kind: str) -> str:
    """`FA-2026-000042.pdf`, `FA-2026-000042.xml` (inside the PDF the XML is `factur-x.xml`)."""
    return f"{invoice.number}.{kind}"


def get_document(db: Session, *, platform_id: str, invoice_id: str, kind: str) -> Document | None:
    row = db.scalar(
        select(InvoiceDocument).where(
            InvoiceDocument.platform_id == platform_id,
            InvoiceDocument.invoice_id == invoice_id,
            InvoiceDocument.kind == kind,
        )
    )
    if row is None:
        return None
    return Document(row.invoice_id, row.kind, bytes(row.content), row.sha256, row.created_at)


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    xml: bytes | None


def render(invoice: InvoiceView, credited: tuple[str, date] | None) -> Rendered:
    """PDF/A-3b of the invoice; for a Factur-X invoice, its XML checked and embedded."""
    printed = pdf.render(invoice, credited)
    if not invoice.einvoice:
        return Rendered(printed, None)
    xml = facturx.build_xml(invoice, credited)
    kind = "Avoir" if invoice.kind == domain.CREDIT_NOTE else "Facture"
    seller = str(invoice.seller.get("name") or "")
    combined = facturx.embed(
        printed,
        xml,
        title=f"{seller}: {kind} {invoice.number}",
        author=seller,
        subject=f"{kind} {invoice.number} du {invoice.issue_date.isoformat()} émise par {seller}",
        lang="fr-FR" if invoice.locale == "fr" else "en-GB",
    )
    return Rendered(combined, xml)


def _credited(db: Session, invoice: InvoiceView) -> tuple[str, date] | None:
    if invoice.credited_invoice_id is None:
        return None
    row = db.get(Invoice, invoice.credited_invoice_id)
    return (row.number, row.issue_date) if row is not None else None


def ensure_documents(
    sessions: sessionmaker[Session], *, platform_id: str, invoice_id: str, now: datetime
) -> Document:
    """The invoice's PDF, rendered and stored (with the e-mail queued) the first time."""
    with sessions() as db, db.begin():
        existing = get_document(db, platform_id=platform_id, invoice_id=invoice_id, kind=PDF)
        if existing is not None:
            return existing
        invoice = billing.get_invoice(db, platform_id=platform_id, invoice_id=invoice_id)
        credited = _credited(db, invoice)
    made = render(invoice, credited)  # no transaction, no lock while WeasyPrint works
    with sessions() as db, db.begin():
        try:
            with db.begin_nested():
                _store(db, invoice, PDF, made.pdf, now)
                if made.xml is not None:
                    _store(db, invoice, XML, made.xml, now)
        except IntegrityError:
            log.info("billing.document_race", invoice_id=invoice_id)  # another process stored it first
        else:
            _queue_email(db, invoice, made.pdf, now)
        stored = get_document(db, platform_id=platform_id, invoice_id=invoice_id, kind=PDF)
    assert stored is not None
    return stored


def _store(db: Session, invoice: InvoiceView, kind: str, content: bytes, now: datetime) -> None:
    db.add(
        InvoiceDocument(
            invoice_id=invoice.id,
            kind=kind,
            platform_id=invoice.platform_id,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            created_at=now,
        )
    )
    db.flush()


def _queue_email(db: Session, invoice: InvoiceView, content: bytes, now: datetime) -> None:
    platform = platforms.get(db, invoice.platform_id)
    recipient = invoice.buyer.get("email")
    if not platform.settings.billing.email_documents or not recipient:
        return
    locale = str(invoice.buyer.get("locale") or "fr")
    enqueue(
        db,
        platform_id=invoice.platform_id,
        channel="email",
        template=EMAIL_TEMPLATE,
        recipient=str(recipient),
        locale=locale,
        user_id=invoice.customer_id,
        payload={
            "platform_name": platform.name,
            "seller_name": invoice.seller.get("name"),
            "customer_name": invoice.buyer.get("name"),
            "kind": invoice.kind,
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "gross": format_currency(
                invoice.gross.to_major(), invoice.currency, locale="en_GB" if locale == "en" else "fr_FR"
            ),
            "einvoice": invoice.einvoice,
        },
        now=now,
        dedupe_key=f"billing.document:{invoice.id}",
        attachments=[Attachment(file_name(invoice, PDF), CONTENT_TYPES[PDF], content)],
    )


def without_documents(db: Session, *, limit: int, platform_id: str | None = None) -> list[tuple[str, str]]:
    """(platform, invoice) of issued invoices whose PDF is not made yet, oldest first."""
    q = (
        select(Invoice.platform_id, Invoice.id)
        .outerjoin(
            InvoiceDocument, (InvoiceDocument.invoice_id == Invoice.id) & (InvoiceDocument.kind == PDF)
        )
        .where(InvoiceDocument.invoice_id.is_(None))
    )
    if platform_id is not None:
        q = q.where(Invoice.platform_id == platform_id)
    return [(r[0], r[1]) for r in db.execute(q.order_by(Invoice.id).limit(limit))]
