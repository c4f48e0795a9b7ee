"""KYC use cases (EXPERT-WALLET-1). Each function runs in the caller's transaction.

A provider says who they are (individual or company, the company's name), records the bank
account they are paid to, and supplies documents: the file is uploaded through the files module
(purpose `kyc_document`: PDF, JPEG or PNG, sniffed, size-limited, stored outside the web root),
then declared with its type and issue date. Staff review each document within 48 hours (a timer
flags those late); an approved document goes to the payment provider, whose webhook validates or
refuses it. The provider is told of every outcome.

Who sees what: a provider sees only their own profile, bank account and documents; staff see
their platform's. Another platform's rows answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.files import service as files
from entremise.files.domain import FileRule
from entremise.files.models import FileGrant, StoredFile
from entremise.files.purposes import register_purpose
from entremise.files.storage import FileStore
from entremise.kernel.decision import Decision
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kyc import domain, notices, review
from entremise.kyc.models import BankAccount, KycDocument, KycProfile
from entremise.kyc.settings import KYC_FILE_TYPES
from entremise.payments.port import (
    EventType,
    KycDocumentType,
    OperationStatus,
    PaymentProvider,
    ProviderEvent,
)
from entremise.payments.webhooks import register_event_handler
from entremise.platforms.service import PlatformView

PURPOSE = "kyc_document"

register_purpose(
    PURPOSE,
    roles=("provider",),
    rule=lambda settings: FileRule(KYC_FILE_TYPES, settings.kyc.file_max_bytes),
)


@dataclass(frozen=True)
class BankAccountView:
    id: str
    iban_masked: str
    bic: str | None
    country: str
    holder_name: str
    created_at: datetime


@dataclass(frozen=True)
class DocumentView:
    id: str
    user_id: str
    type: str
    file_id: str
    issued_on: date | None
    state: str
    submitted_at: datetime
    review_due_at: datetime
    overdue: bool
    decided_at: datetime | None
    reason: str | None
    outcome_at: datetime | None


@dataclass(frozen=True)
class KycStatusView:
    user_id: str
    legal_form: str
    company_name: str | None
    required: tuple[str, ...]
    validated: bool
    reason: str
    rules: tuple[str, ...]
    bank_account: BankAccountView | None
    documents: tuple[DocumentView, ...]


def _doc_view(d: KycDocument) -> DocumentView:
    return DocumentView(
        d.id,
        d.user_id,
        d.type,
        d.file_id,
        d.issued_on,
        d.state,
        d.submitted_at,
        d.review_due_at,
        d.overdue,
        d.decided_at,
        d.reason,
        d.outcome_at,
    )


def _bank_view(b: BankAccount) -> BankAccountView:
    return BankAccountView(b.id, domain.mask_iban(b.iban), b.bic, b.country, b.holder_name, b.created_at)


def _profile(db: Session, platform_id: str, user_id: str, *, lock: bool = False) -> KycProfile | None:
    q = select(KycProfile).where(KycProfile.platform_id == platform_id, KycProfile.user_id == user_id)
    if lock:
        q = q.with_for_update()
    return db.scalar(q)


def ensure_profile(
    db: Session, platform_id: str, user_id: str, now: datetime, *, lock: bool = False
) -> KycProfile:
    row = _profile(db, platform_id, user_id, lock=lock)
    if row is None:
        row = KycProfile(
            id=new_id(),
            platform_id=platform_id,
            user_id=user_id,
            legal_form="individual",
            company_name=None,
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        db.flush()
    return row


def lock_provider(db: Session, platform_id: str, user_id: str, now: datetime) -> KycProfile:
    """Lock the provider's KYC row (serialises their payout requests)."""
    ensure_profile(db, platform_id, user_id, now)
    row = _profile(db, platform_id, user_id, lock=True)
    assert row is not None
    return row


def set_profile(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    legal_form: str,
    company_name: str | None,
    now: datetime,
) -> KycStatusView:
    errors: list[FieldError] = []
    if legal_form not in domain.LEGAL_FORMS:
        errors.append(FieldError("body.legal_form", f"one of {', '.join(domain.LEGAL_FORMS)}"))
    name = (company_name or "").strip() or None
    if legal_form == "company" and name is None:
        errors.append(FieldError("body.company_name", "required for a company (EXPERT-WALLET-1)"))
    if name is not None and len(name) > 200:
        errors.append(FieldError("body.company_name", "at most 200 characters"))
    if errors:
        raise InvalidInput(errors)
    row = ensure_profile(db, platform.id, user_id, now, lock=True)
    row.legal_form = legal_form
    row.company_name = name if legal_form == "company" else None
    row.updated_at = now
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user_id),
        action="kyc.profile.set",
        obj=("kyc_profile", row.id),
        at=now,
        rules=(domain.RULE_KYC,),
        data={"legal_form": legal_form},
    )
    return status(db, platform=platform, user_id=user_id)


def current_bank_account(db: Session, platform_id: str, user_id: str) -> BankAccount | None:
    return db.scalar(
        select(BankAccount).where(
            BankAccount.platform_id == platform_id,
            BankAccount.user_id == user_id,
            BankAccount.replaced_at.is_(None),
        )
    )


def set_bank_account(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    iban: str,
    bic: str | None,
    holder_name: str,
    now: datetime,
) -> BankAccountView:
    """Record the account the provider is paid to. A different IBAN/BIC replaces the current one
    and supersedes every bank-details document: the new account must be validated again."""
    parsed = domain.parse_bank_details(iban, bic)
    errors = parsed if isinstance(parsed, list) else []
    holder = (holder_name or "").strip()
    if not holder or len(holder) > 140:
        errors.append(FieldError("body.holder_name", "required, at most 140 characters"))
    if errors or isinstance(parsed, list):
        raise InvalidInput(errors)
    ensure_profile(db, platform.id, user_id, now, lock=True)
    current = current_bank_account(db, platform.id, user_id)
    if current is not None and (current.iban, current.bic, current.holder_name) == (
        parsed.iban,
        parsed.bic,
        holder,
    ):
        return _bank_view(current)
    superseded: list[str] = []
    if current is not None:
        current.replaced_at = now
        for doc in db.scalars(
            select(KycDocument).where(
                KycDocument.platform_id == platform.id,
                KycDocument.user_id == user_id,
                KycDocument.type == KycDocumentType.BANK_DETAILS.value,
                KycDocument.state.in_((domain.PENDING, domain.SUBMITTED, domain.VALIDATED)),
            )
        ):
            _supersede(db, doc, now)
            superseded.append(doc.id)
    row = BankAccount(
        id=new_id(),
        platform_id=platform.id,
        user_id=user_id,
        iban=parsed.iban,
        bic=parsed.bic,
        country=parsed.country,
        holder_name=holder,
        created_at=now,
        replaced_at=None,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user_id),
        action="kyc.bank_account.set",
        obj=("kyc_bank_account", row.id),
        at=now,
        rules=(domain.RULE_KYC,),
        reason="a new bank account must be validated again" if current is not None else "",
        data={
            "iban": domain.mask_iban(parsed.iban),
            "replaces": current.id if current else None,
            "superseded_documents": superseded,
        },
    )
    return _bank_view(row)


def _supersede(db: Session, doc: KycDocument, now: datetime) -> None:
    doc.state = domain.SUPERSEDED
    doc.outcome_at = now
    review.stop_watch(db, platform_id=doc.platform_id, watch_id=doc.watch_id, now=now)


def submit_document(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    document_type: str,
    file_id: str,
    issued_on: date | None,
    now: datetime,
) -> DocumentView:
    """Declare an uploaded file as a KYC document; staff must review it within the deadline."""
    errors: list[FieldError] = []
    try:
        type_ = KycDocumentType(document_type)
    except ValueError:
        raise InvalidInput(
            [FieldError("body.type", f"one of {', '.join(t.value for t in KycDocumentType)}")]
        ) from None
    settings = platform.settings.kyc
    today = now.date()
    fresh = domain.check_freshness(type_, issued_on, today, settings.max_document_age_months)
    if not fresh.allowed:
        errors.append(FieldError("body.issued_on", f"{fresh.reason} ({', '.join(fresh.rules)})"))
    try:
        files.owned(
            db,
            platform_id=platform.id,
            owner_id=user_id,
            file_ids=[file_id],
            purpose=PURPOSE,
            field="body.file_id",
        )
    except InvalidInput as exc:
        errors += [FieldError("body.file_id", e.reason) for e in exc.errors]
    bank = current_bank_account(db, platform.id, user_id)
    if type_ is KycDocumentType.BANK_DETAILS and bank is None:
        errors.append(FieldError("body.type", "record your bank account (IBAN/BIC) before its statement"))
    if errors:
        raise InvalidInput(errors)
    ensure_profile(db, platform.id, user_id, now, lock=True)
    for old in db.scalars(
        select(KycDocument).where(
            KycDocument.platform_id == platform.id,
            KycDocument.user_id == user_id,
            KycDocument.type == type_.value,
            KycDocument.state.in_(domain.OPEN_STATES),
        )
    ):
        _supersede(db, old, now)
    due = domain.review_due_at(now, settings.review_hours)
    doc = KycDocument(
        id=new_id(),
        platform_id=platform.id,
        user_id=user_id,
        type=type_.value,
        file_id=file_id,
        issued_on=issued_on,
        bank_account_id=bank.id if type_ is KycDocumentType.BANK_DETAILS and bank else None,
        state=domain.PENDING,
        submitted_at=now,
        review_due_at=due,
        overdue=False,
    )
    db.add(doc)
    db.flush()
    doc.watch_id = review.start_watch(db, platform_id=platform.id, document_id=doc.id, due_at=due, now=now)
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user_id),
        action="kyc.document.submitted",
        obj=("kyc_document", doc.id),
        at=now,
        rules=(domain.RULE_KYC,),
        reason=fresh.reason,
        data={"type": type_.value, "file_id": file_id, "review_due_at": due.isoformat()},
    )
    return _doc_view(doc)


def status(db: Session, *, platform: PlatformView, user_id: str) -> KycStatusView:
    profile = _profile(db, platform.id, user_id)
    legal_form = profile.legal_form if profile else "individual"
    company = profile.company_name if profile else None
    docs = list(
        db.scalars(
            select(KycDocument)
            .where(KycDocument.platform_id == platform.id, KycDocument.user_id == user_id)
            .order_by(KycDocument.submitted_at.desc(), KycDocument.id)
        )
    )
    bank = current_bank_account(db, platform.id, user_id)
    required = domain.required_documents(legal_form)
    decision = domain.kyc_status(
        legal_form,
        [domain.DocumentFact(KycDocumentType(d.type), d.state) for d in docs],
        company_name=company,
        bank_account=bank is not None,
    )
    return KycStatusView(
        user_id,
        legal_form,
        company,
        tuple(t.value for t in required.outcome),
        decision.outcome,
        decision.reason,
        decision.rules,
        _bank_view(bank) if bank else None,
        tuple(_doc_view(d) for d in docs),
    )


def is_validated(db: Session, *, platform: PlatformView, user_id: str) -> Decision[bool]:
    """Whether the provider's KYC allows a payout (EXPERT-WALLET-1)."""
    s = status(db, platform=platform, user_id=user_id)
    return Decision(s.validated, s.rules, s.reason)


def review_queue(
    db: Session, *, platform_id: str, now: datetime, overdue_only: bool = False, limit: int = 100
) -> list[DocumentView]:
    """Documents waiting for staff, the oldest deadline first; `overdue_only`: past their deadline."""
    q = select(KycDocument).where(KycDocument.platform_id == platform_id, KycDocument.state == domain.PENDING)
    if overdue_only:
        q = q.where(KycDocument.review_due_at <= now)
    q = q.order_by(KycDocument.review_due_at, KycDocument.id).limit(limit)
    return [_doc_view(d) for d in db.scalars(q)]


def _locked_doc(db: Session, platform_id: str, document_id: str) -> KycDocument:
    doc = db.scalar(
        select(KycDocument)
        .where(KycDocument.platform_id == platform_id, KycDocument.id == document_id)
        .with_for_update()
    )
    if doc is None:
        raise NotFound(f"no KYC document {document_id!r}")
    return doc


def get_document(
    db: Session, *, platform_id: str, document_id: str, user_id: str, is_staff: bool
) -> DocumentView:
    doc = db.scalar(
        select(KycDocument).where(KycDocument.platform_id == platform_id, KycDocument.id == document_id)
    )
    if doc is None or (not is_staff and doc.user_id != user_id):
        raise NotFound(f"no KYC document {document_id!r}")
    return _doc_view(doc)


def approve(
    db: Session,
    store: FileStore,
    provider: PaymentProvider,
    *,
    platform: PlatformView,
    document_id: str,
    staff_id: str,
    now: datetime,
) -> DocumentView:
    """Staff accept a document: it is sent to the payment provider, which validates it (webhook)."""
    doc = _locked_doc(db, platform.id, document_id)
    if doc.state != domain.PENDING:
        raise Conflict(f"this document is {doc.state}, not waiting for review", extra={"state": doc.state})
    view = files.readable(db, platform_id=platform.id, file_id=doc.file_id, user_id=doc.user_id)
    op = provider.submit_kyc_document(
        user_ref=doc.user_id,
        document_type=KycDocumentType(doc.type),
        content=files.content(store, view),
        content_type=view.content_type,
        idempotency_key=f"kyc:{doc.id}",
    )
    doc.decided_at = now
    doc.decided_by = staff_id
    doc.provider_ref = op.provider_ref
    doc.state = domain.SUBMITTED
    review.stop_watch(db, platform_id=platform.id, watch_id=doc.watch_id, now=now)
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", staff_id),
        action="kyc.document.approved",
        obj=("kyc_document", doc.id),
        at=now,
        rules=(domain.RULE_KYC,),
        data={"provider_ref": op.provider_ref, "provider_status": op.status.value},
    )
    if op.status is OperationStatus.SUCCEEDED:
        _outcome(db, doc, validated=True, reason=None, now=now)
    elif op.status in (OperationStatus.FAILED, OperationStatus.CANCELLED):
        _outcome(
            db, doc, validated=False, reason=op.failure_reason or "refused by the payment provider", now=now
        )
    return _doc_view(doc)


def refuse(
    db: Session, *, platform: PlatformView, document_id: str, staff_id: str, reason: str, now: datetime
) -> DocumentView:
    """Staff refuse a document, saying why; the provider is told."""
    text = (reason or "").strip()
    if not text or len(text) > 500:
        raise InvalidInput([FieldError("body.reason", "required, at most 500 characters")])
    doc = _locked_doc(db, platform.id, document_id)
    if doc.state != domain.PENDING:
        raise Conflict(f"this document is {doc.state}, not waiting for review", extra={"state": doc.state})
    doc.decided_at = now
    doc.decided_by = staff_id
    review.stop_watch(db, platform_id=platform.id, watch_id=doc.watch_id, now=now)
    _outcome(db, doc, validated=False, reason=text, now=now, actor=Actor("user", staff_id))
    return _doc_view(doc)


def _outcome(
    db: Session,
    doc: KycDocument,
    *,
    validated: bool,
    reason: str | None,
    now: datetime,
    actor: Actor | None = None,
) -> None:
    doc.state = domain.VALIDATED if validated else domain.REFUSED
    doc.reason = reason
    doc.outcome_at = now
    record(
        db,
        platform_id=doc.platform_id,
        actor=actor or Actor.system(),
        action="kyc.document.validated" if validated else "kyc.document.refused",
        obj=("kyc_document", doc.id),
        at=now,
        rules=(domain.RULE_KYC,),
        reason=reason or "",
        data={"type": doc.type},
    )
    payload: dict[str, Any] = {"type": doc.type, "reason": reason or ""}
    template = "kyc.document_validated" if validated else "kyc.document_refused"
    notices.tell(db, doc.platform_id, doc.user_id, template, payload, now, f"kyc-outcome:{doc.id}")


def handle_provider_event(db: Session, provider_name: str, event: ProviderEvent, now: datetime) -> str | None:
    """A `kyc.validated` / `kyc.refused` webhook: the platform it concerned, or None when unknown.
    A duplicate, or an event about a document no longer submitted, changes nothing."""
    doc = db.scalar(
        select(KycDocument).where(KycDocument.provider_ref == event.provider_ref).with_for_update()
    )
    if doc is None:
        return None
    if doc.state == domain.SUBMITTED:
        validated = event.type.value == "kyc.validated"
        _outcome(
            db,
            doc,
            validated=validated,
            reason=None if validated else (event.reason or "refused by the payment provider"),
            now=now,
        )
    return doc.platform_id


register_event_handler((EventType.KYC_VALIDATED, EventType.KYC_REFUSED), handle_provider_event)


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    profile = _profile(db, platform_id, user_id)
    banks = db.scalars(
        select(BankAccount)
        .where(BankAccount.platform_id == platform_id, BankAccount.user_id == user_id)
        .order_by(BankAccount.created_at)
    )
    docs = db.scalars(
        select(KycDocument)
        .where(KycDocument.platform_id == platform_id, KycDocument.user_id == user_id)
        .order_by(KycDocument.submitted_at)
    )
    return {
        "profile": (
            {"legal_form": profile.legal_form, "company_name": profile.company_name} if profile else None
        ),
        "bank_accounts": [
            {
                "iban": b.iban,
                "bic": b.bic,
                "holder_name": b.holder_name,
                "created_at": b.created_at.isoformat(),
                "replaced_at": b.replaced_at.isoformat() if b.replaced_at else None,
            }
            for b in banks
        ],
        "documents": [
            {
                "id": d.id,
                "type": d.type,
                "file_id": d.file_id,
                "issued_on": d.issued_on.isoformat() if d.issued_on else None,
                "state": d.state,
                "submitted_at": d.submitted_at.isoformat(),
                "reason": d.reason,
            }
            for d in docs
        ],
    }


def purge_documents(
    db: Session, *, platform_id: str, before: datetime, closed_user_ids: list[str]
) -> list[str]:
    """Delete the KYC documents no longer needed: refused or superseded ones whose outcome is older
    than `before`, and every document of an account closed before it. Their file records go too
    (the files are then unreadable). The ids deleted."""
    q = select(KycDocument).where(KycDocument.platform_id == platform_id)
    stale = list(
        db.scalars(
            q.where(
                KycDocument.state.in_((domain.REFUSED, domain.SUPERSEDED)), KycDocument.outcome_at < before
            )
        )
    )
    if closed_user_ids:
        stale += list(db.scalars(q.where(KycDocument.user_id.in_(closed_user_ids))))
    ids: list[str] = []
    for doc in {d.id: d for d in stale}.values():
        file_id = doc.file_id
        ids.append(doc.id)
        db.delete(doc)
        db.flush()
        still_used = db.scalar(select(KycDocument.id).where(KycDocument.file_id == file_id).limit(1))
        if still_used is None:
            db.execute(delete(FileGrant).where(FileGrant.file_id == file_id))
            db.execute(delete(StoredFile).where(StoredFile.id == file_id, StoredFile.purpose == PURPOSE))
    return sorted(ids)
