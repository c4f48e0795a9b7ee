"""Use cases of reviews: write, edit, list (with aggregates), release double-blind reviews, and the
moderation actions (remove, restrict, restore, publish). The caller opens the transaction.

- One review per party per transaction (a unique constraint; a second one is a 409 naming the first,
  which the author edits instead: the edit is its last change, CONSULT-REVIEW-2).
- A text the content filter flags is held, never published, and sent to human review; the filter
  decides nothing (COMMON-MODERATION-1, LAW-DSA-16).
- The provider has no way to stop a review's publication (EXPERT-RATING-1): only moderation, after a
  report, restricts or removes it (CONSULT-REVIEW-2).
- Aggregates move by one atomic upsert per change (a published rating added, changed or withdrawn),
  so they stay exact under concurrent writers on SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.contentfilter.domain import scan
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.notify.outbox import enqueue
from entremise.platforms.service import PlatformView
from entremise.reviews import domain
from entremise.reviews.domain import RATINGS, Aggregate, Eligibility
from entremise.reviews.eligibility import POLICIES, policy_for
from entremise.reviews.models import Review, ReviewAggregate, ReviewedTransaction

log = logging.getLogger("entremise.reviews")

FILTER_RULES = ("COMMON-MODERATION-1", "LAW-DSA-16")
MODERATION_ACTIONS = ("remove", "restrict", "restore", "publish")
Sort = Literal["newest", "oldest"]


class NotEligible(Conflict):
    """The author is a party to the transaction but may not review it (not completed, too late...)."""


@dataclass(frozen=True)
class ReviewView:
    id: str
    subject_kind: str
    transaction_id: str
    author_id: str
    author_role: str
    reviewee_id: str
    offer_id: str | None
    rating: int
    text: str | None
    status: str
    rules: list[str]
    automated_flag: bool  # the content filter flagged the text: a person reviews it (LAW-DSA-16)
    created_at: datetime
    published_at: datetime | None
    updated_at: datetime  # the last change (CONSULT-REVIEW-2)
    window_ends_at: datetime | None
    blind_until: datetime | None


@dataclass(frozen=True)
class AggregateView:
    about_kind: str
    about_id: str
    count: int
    total: int
    average: Decimal | None
    distribution: dict[int, int]


def _view(r: Review) -> ReviewView:
    return ReviewView(
        r.id,
        r.subject_kind,
        r.transaction_id,
        r.author_id,
        r.author_role,
        r.reviewee_id,
        r.offer_id,
        r.rating,
        r.text,
        r.status,
        list(r.rules),
        bool(r.filter_hits),
        r.created_at,
        r.published_at,
        r.updated_at,
        r.window_ends_at,
        r.blind_until,
    )


def subject_kinds() -> list[str]:
    """The kinds of transactions a review can be about (those with a registered policy)."""
    return sorted(POLICIES)


# --- aggregates -----------------------------------------------------------------------------------


def _targets(r: Review) -> list[tuple[str, str]]:
    targets = [("user", r.reviewee_id)]
    if r.offer_id:
        targets.append(("offer", r.offer_id))
    return targets


def _bump(db: Session, platform_id: str, review: Review, rating: int, delta: int) -> None:
    """Add (`delta` 1) or withdraw (-1) one published rating from the aggregates it counts in."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    col = f"r{rating}"
    for about_kind, about_id in _targets(review):
        values: dict[str, Any] = {
            "platform_id": platform_id,
            "about_kind": about_kind,
            "about_id": about_id,
            "count": delta,
            "total": rating * delta,
            **{f"r{n}": (delta if n == rating else 0) for n in RATINGS},
        }
        stmt = insert(ReviewAggregate).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                ReviewAggregate.platform_id,
                ReviewAggregate.about_kind,
                ReviewAggregate.about_id,
            ],
            set_={
                "count": ReviewAggregate.count + delta,
                "total": ReviewAggregate.total + rating * delta,
                col: getattr(ReviewAggregate, col) + delta,
            },
        )
        db.execute(stmt)


def aggregate(db: Session, *, platform_id: str, about_kind: str, about_id: str) -> AggregateView:
    row = db.get(ReviewAggregate, (platform_id, about_kind, about_id))
    if row is None:
        agg = Aggregate(0, 0, dict.fromkeys(RATINGS, 0))
    else:
        agg = Aggregate(row.count, row.total, {n: int(getattr(row, f"r{n}")) for n in RATINGS})
    return AggregateView(about_kind, about_id, agg.count, agg.total, agg.average, dict(agg.distribution))


def recompute_aggregate(db: Session, *, platform_id: str, about_kind: str, about_id: str) -> Aggregate:
    """The aggregate recomputed from the published reviews (a check of the stored one)."""
    column = Review.reviewee_id if about_kind == "user" else Review.offer_id
    ratings = db.scalars(
        select(Review.rating).where(
            Review.platform_id == platform_id, column == about_id, Review.status == domain.VISIBLE
        )
    )
    return Aggregate.of(int(r) for r in ratings)


# --- publication ----------------------------------------------------------------------------------


def _publish(db: Session, platform_id: str, r: Review, now: datetime, why: str, rules: list[str]) -> None:
    r.status = domain.VISIBLE
    if r.published_at is None:
        r.published_at = now
    r.blind_until = None
    _bump(db, platform_id, r, r.rating, +1)
    record(
        db,
        platform_id=platform_id,
        actor=Actor.system(),
        action="review.published",
        obj=("review", r.id),
        at=now,
        rules=rules,
        reason=why,
    )


def _counterpart(db: Session, r: Review) -> Review | None:
    return db.scalar(
        select(Review).where(
            Review.platform_id == r.platform_id,
            Review.subject_kind == r.subject_kind,
            Review.transaction_id == r.transaction_id,
            Review.author_id != r.author_id,
        )
    )


def _release(db: Session, platform: PlatformView, r: Review, now: datetime) -> None:
    """A review cleared to appear: published now, or (double-blind) kept hidden until the other side's
    review is in or the window ends; the other side's blind review is published together with it."""
    rules = [*r.rules]
    if r.blind_until is None or now >= r.blind_until:
        _publish(db, platform.id, r, now, "published", rules)
        return
    other = _counterpart(db, r)
    if other is not None and other.status == "blind":
        _publish(db, platform.id, r, now, "double-blind: both sides have reviewed", rules)
        _publish(db, platform.id, other, now, "double-blind: both sides have reviewed", [*other.rules])
        return
    if other is not None and other.status in (domain.VISIBLE, "restricted", "removed"):
        _publish(db, platform.id, r, now, "double-blind: the other side's review is already out", rules)
        return
    r.status = "blind"


def _lock_transaction(db: Session, platform_id: str, subject_kind: str, transaction_id: str) -> None:
    """Serialize the writers of one transaction's reviews (the double-blind pair)."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(
        insert(ReviewedTransaction)
        .values(platform_id=platform_id, subject_kind=subject_kind, transaction_id=transaction_id, reviews=1)
        .on_conflict_do_update(
            index_elements=[
                ReviewedTransaction.platform_id,
                ReviewedTransaction.subject_kind,
                ReviewedTransaction.transaction_id,
            ],
            set_={"reviews": ReviewedTransaction.reviews + 1},
        )
    )


# --- moderation -----------------------------------------------------------------------------------


def _moderation() -> Any | None:
    """The moderation module's service, once it exists in this installation."""
    try:
        return importlib.import_module("entremise.moderation.service")
    except ModuleNotFoundError:
        return None


def _tell_author(
    db: Session,
    platform: PlatformView,
    r: Review,
    template: str,
    extra: dict[str, Any],
    now: datetime,
    key: str,
) -> None:
    """E-mail the review's author (a held review, a decision on it), when they have an address."""
    try:
        contact = accounts.contact_of(db, platform.id, r.author_id)
    except NotFound:  # no such account (any more): nobody to tell
        return
    if not contact.email:
        return
    enqueue(
        db,
        platform_id=platform.id,
        channel="email",
        template=template,
        recipient=contact.email,
        payload={
            "platform_name": platform.name,
            "review_id": r.id,
            "rating": r.rating,
            "created_at": r.created_at.isoformat(),
            **extra,
        },
        now=now,
        locale=contact.locale,
        user_id=r.author_id,
        dedupe_key=f"review:{r.id}:{key}",
    )


def _hold(db: Session, platform: PlatformView, r: Review, evidence: dict[str, Any], now: datetime) -> None:
    """A flagged review is held and sent to human review, its hits disclosed as automated means."""
    r.status = "held"
    moderation = _moderation()
    if moderation is not None:
        r.moderation_item_id = moderation.submit_for_review(
            db,
            platform_id=platform.id,
            kind="review",
            content_id=r.id,
            author_id=r.author_id,
            source="content_filter",
            automated=True,
            evidence=evidence,
            now=now,
        )
    record(
        db,
        platform_id=platform.id,
        actor=Actor.system(),
        action="review.held",
        obj=("review", r.id),
        at=now,
        rules=list(FILTER_RULES),
        reason="the content filter flagged the text; a person decides (automated means)",
        data=evidence,
    )
    excerpts = [str(h["excerpt"]) for h in evidence.get("hits", []) if isinstance(h, dict)]
    _tell_author(
        db,
        platform,
        r,
        "reviews.held",
        {"excerpts": excerpts[:5], "rules": list(FILTER_RULES)},
        now,
        f"held:{now.isoformat()}",
    )


def _scan(platform: PlatformView, text: str | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    if not text or not platform.settings.reviews.content_filter:
        return [], None
    result = scan(text)
    if not result.flagged:
        return [], None
    evidence = result.evidence()
    hits = evidence["hits"]
    assert isinstance(hits, list)
    return hits, evidence


# --- writing --------------------------------------------------------------------------------------


def _clean_text(text: str | None) -> str | None:
    body = (text or "").strip()
    return body or None


def _check(platform: PlatformView, rating: object, text: str | None) -> None:
    s = platform.settings.reviews
    errors = domain.check_review(
        rating, text, text_rule=s.text, min_chars=s.text_min_chars, max_chars=s.text_max_chars
    )
    if errors:
        raise InvalidInput(errors)


def _eligibility(
    db: Session, platform: PlatformView, subject_kind: str, transaction_id: str, author_id: str, now: datetime
) -> tuple[Eligibility, tuple[str, ...]]:
    policy = policy_for(subject_kind)
    if policy is None:
        raise InvalidInput(
            [
                FieldError(
                    "body.subject_kind", f"one of {', '.join(subject_kinds()) or '(none on this platform)'}"
                )
            ]
        )
    decision = policy(db, platform, transaction_id, author_id, now)
    e = decision.outcome
    if not e.found:
        raise NotFound(f"no {subject_kind} {transaction_id!r}")
    if not e.allowed:
        raise NotEligible(decision.reason, rules=decision.rules)
    return e, decision.rules


def create_review(
    db: Session,
    *,
    platform: PlatformView,
    author_id: str,
    subject_kind: str,
    transaction_id: str,
    rating: int,
    text: str | None,
    now: datetime,
) -> ReviewView:
    """A party's review of a transaction: checked, eligible, filtered, then published (or held, or
    kept blind). Bad input and refusals change nothing."""
    _check(platform, rating, text)
    e, rules = _eligibility(db, platform, subject_kind, transaction_id, author_id, now)
    assert e.reviewee_id is not None and e.author_role is not None
    _lock_transaction(db, platform.id, subject_kind, transaction_id)
    existing = db.scalar(
        select(Review.id).where(
            Review.platform_id == platform.id,
            Review.subject_kind == subject_kind,
            Review.transaction_id == transaction_id,
            Review.author_id == author_id,
        )
    )
    if existing is not None:
        raise Conflict(
            "you have reviewed this already: edit that review instead",
            rules=["CONSULT-REVIEW-2"],
            extra={"review_id": existing},
        )
    s = platform.settings.reviews
    body = _clean_text(text)
    hits, evidence = _scan(platform, body)
    r = Review(
        id=new_id(),
        platform_id=platform.id,
        subject_kind=subject_kind,
        transaction_id=transaction_id,
        author_id=author_id,
        author_role=e.author_role,
        reviewee_id=e.reviewee_id,
        offer_id=e.offer_id,
        rating=rating,
        text=body,
        status="held",
        rules=list(rules),
        filter_hits=hits,
        window_ends_at=e.window_ends_at,
        blind_until=domain.blind_release_at(e, blind_window_days=s.blind_window_days)
        if s.double_blind
        else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with db.begin_nested():
            db.add(r)
            db.flush()
    except IntegrityError as exc:  # the same party, at the same instant, in another transaction
        raise Conflict(
            "you have reviewed this already: edit that review instead", rules=["CONSULT-REVIEW-2"]
        ) from exc
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", author_id),
        action="review.created",
        obj=("review", r.id),
        at=now,
        rules=list(rules),
        data={"subject_kind": subject_kind, "transaction_id": transaction_id, "rating": rating},
    )
    if evidence is not None:
        _hold(db, platform, r, evidence, now)
    else:
        _release(db, platform, r, now)
    db.flush()
    return _view(r)


def _own(db: Session, platform_id: str, review_id: str, author_id: str) -> Review:
    r = db.scalar(
        select(Review)
        .where(Review.platform_id == platform_id, Review.id == review_id, Review.author_id == author_id)
        .with_for_update()
    )
    if r is None:
        raise NotFound(f"no review {review_id!r}")
    return r


def edit_review(
    db: Session,
    *,
    platform: PlatformView,
    author_id: str,
    review_id: str,
    rating: int | None,
    text: str | None,
    text_given: bool,
    now: datetime,
) -> ReviewView:
    """The author changes the rating or the text (its last change is shown, CONSULT-REVIEW-2), while
    the review window is open. A new text goes through the filter again."""
    r = _own(db, platform.id, review_id, author_id)
    new_rating = r.rating if rating is None else rating
    new_text = _clean_text(text) if text_given else r.text
    _check(platform, new_rating, new_text)
    if r.window_ends_at is not None and now >= r.window_ends_at:
        raise NotEligible(
            f"the review window ended on {r.window_ends_at.isoformat()}: the review can no longer change",
            rules=list(r.rules),
        )
    if r.status in ("removed", "restricted"):
        raise Conflict(
            f"this review was {r.status} by moderation and cannot be edited", rules=["CONSULT-REVIEW-2"]
        )
    _lock_transaction(db, platform.id, r.subject_kind, r.transaction_id)
    was_visible = r.status == domain.VISIBLE
    old_rating = r.rating
    hits, evidence = _scan(platform, new_text) if text_given else ([], None)
    if was_visible:
        _bump(db, platform.id, r, old_rating, -1)
    r.rating = new_rating
    r.text = new_text
    r.updated_at = now
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", author_id),
        action="review.edited",
        obj=("review", r.id),
        at=now,
        rules=["CONSULT-REVIEW-2"],
        data={"rating": [old_rating, new_rating], "text_changed": text_given},
    )
    if evidence is not None:
        r.filter_hits = hits
        _hold(db, platform, r, evidence, now)
    elif was_visible:
        _bump(db, platform.id, r, new_rating, +1)
    db.flush()
    return _view(r)


# --- reading --------------------------------------------------------------------------------------


def list_reviews(
    db: Session,
    *,
    platform_id: str,
    about_kind: str,
    about_id: str,
    sort: Sort = "newest",
    rating: int | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[ReviewView]:
    """The published reviews about a user or an offer, newest first by default (CONSULT-REVIEW-2)."""
    column = Review.reviewee_id if about_kind == "user" else Review.offer_id
    q = select(Review).where(
        Review.platform_id == platform_id, column == about_id, Review.status == domain.VISIBLE
    )
    if rating is not None:
        q = q.where(Review.rating == rating)
    published = Review.published_at
    if after is not None:
        at, rid = after
        if sort == "newest":
            q = q.where(or_(published < at, and_(published == at, Review.id < rid)))
        else:
            q = q.where(or_(published > at, and_(published == at, Review.id > rid)))
    order = (published.desc(), Review.id.desc()) if sort == "newest" else (published.asc(), Review.id.asc())
    return [_view(r) for r in db.scalars(q.order_by(*order).limit(limit))]


def my_reviews(
    db: Session, *, platform_id: str, author_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[ReviewView]:
    """Every review the user wrote, whatever its status (held and blind ones included), newest first."""
    q = select(Review).where(Review.platform_id == platform_id, Review.author_id == author_id)
    if after is not None:
        at, rid = after
        q = q.where(or_(Review.created_at < at, and_(Review.created_at == at, Review.id < rid)))
    return [_view(r) for r in db.scalars(q.order_by(Review.created_at.desc(), Review.id.desc()).limit(limit))]


def get_review(
    db: Session, *, platform_id: str, review_id: str, viewer_id: str | None, is_staff: bool
) -> ReviewView:
    """A published review for anyone; an unpublished one for its author and staff only."""
    r = db.scalar(select(Review).where(Review.platform_id == platform_id, Review.id == review_id))
    if r is None or (r.status != domain.VISIBLE and not is_staff and r.author_id != viewer_id):
        raise NotFound(f"no review {review_id!r}")
    return _view(r)


def held_reviews(
    db: Session, *, platform_id: str, status: str, after: tuple[datetime, str] | None, limit: int
) -> list[ReviewView]:
    """For staff: reviews in one status (held ones wait for a person), oldest first."""
    q = select(Review).where(Review.platform_id == platform_id, Review.status == status)
    if after is not None:
        at, rid = after
        q = q.where(or_(Review.created_at > at, and_(Review.created_at == at, Review.id > rid)))
    return [_view(r) for r in db.scalars(q.order_by(Review.created_at, Review.id).limit(limit))]


# --- moderation and the double-blind window --------------------------------------------------------


def locate(db: Session, platform_id: str, content_id: str) -> dict[str, Any] | None:
    """Where a review is and who wrote it (for the moderation queue); None when there is none."""
    r = db.scalar(select(Review).where(Review.platform_id == platform_id, Review.id == content_id))
    if r is None:
        return None
    return {
        "kind": "review",
        "id": r.id,
        "author_id": r.author_id,
        "about": {"user": r.reviewee_id, "offer": r.offer_id},
        "excerpt": (r.text or "")[:500],
        "status": r.status,
    }


def apply_moderation(
    db: Session,
    platform: PlatformView,
    content_id: str,
    action: str,
    now: datetime,
    *,
    actor: Actor | None = None,
    reason: str = "",
) -> ReviewView:
    """A human moderation decision on a review: remove, restrict (hidden from lists), restore (back
    to published after a reversed decision) or publish (a held review cleared by a person)."""
    if action not in MODERATION_ACTIONS:
        raise InvalidInput([FieldError("body.action", f"one of {', '.join(MODERATION_ACTIONS)}")])
    r = db.scalar(
        select(Review).where(Review.platform_id == platform.id, Review.id == content_id).with_for_update()
    )
    if r is None:
        raise NotFound(f"no review {content_id!r}")
    _lock_transaction(db, platform.id, r.subject_kind, r.transaction_id)
    before = r.status
    if action in ("remove", "restrict"):
        if before == domain.VISIBLE:
            _bump(db, platform.id, r, r.rating, -1)
        r.status = "removed" if action == "remove" else "restricted"
    elif action == "restore":
        if before not in ("removed", "restricted"):
            raise Conflict(f"only a removed or restricted review is restored (this one is {before})")
        _publish(db, platform.id, r, now, "restored by moderation", ["CONSULT-REVIEW-2"])
    else:  # publish
        if before != "held":
            raise Conflict(f"only a held review is published by moderation (this one is {before})")
        _release(db, platform, r, now)
    r.updated_at = now if action != "publish" else r.updated_at
    record(
        db,
        platform_id=platform.id,
        actor=actor or Actor.system(),
        action=f"review.moderation.{action}",
        obj=("review", r.id),
        at=now,
        rules=["CONSULT-REVIEW-2", "COMMON-MODERATION-1"],
        reason=reason,
        data={"from": before, "to": r.status},
    )
    db.flush()
    return _view(r)


def staff_decide(
    db: Session,
    *,
    platform: PlatformView,
    staff_id: str,
    review_id: str,
    action: str,
    reason: str,
    now: datetime,
) -> ReviewView:
    """Staff decide a review directly (held reviews, while no moderation queue is installed); the
    author is told the decision, its reasons and grounds, whether automated means flagged the text,
    and, for a removal or restriction, how to contest it (LAW-DSA-17)."""
    if not reason.strip():
        raise InvalidInput([FieldError("body.reason", "a decision states its reasons")])
    view = apply_moderation(
        db, platform, review_id, action, now, actor=Actor("staff", staff_id), reason=reason
    )
    row = db.get(Review, view.id)
    assert row is not None
    _tell_author(
        db,
        platform,
        row,
        "reviews.decided",
        {
            "action": action,
            "reason": reason.strip(),
            "rules": ["CONSULT-REVIEW-2", "COMMON-MODERATION-1", "LAW-DSA-17"],
            "automated": bool(row.filter_hits),
        },
        now,
        f"decided:{action}:{now.isoformat()}",
    )
    return view


def release_due(db: Session, *, now: datetime, limit: int = 200, platform_id: str | None = None) -> int:
    """Publish the double-blind reviews whose window has ended (the worker's timer); how many."""
    q = (
        select(Review)
        .where(Review.status == "blind", Review.blind_until.is_not(None), Review.blind_until <= now)
        .order_by(Review.blind_until, Review.id)
        .limit(limit)
    )
    if platform_id is not None:
        q = q.where(Review.platform_id == platform_id)
    if db.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    n = 0
    for r in list(db.scalars(q)):
        _publish(db, r.platform_id, r, now, "double-blind: the review window ended", [*r.rules])
        n += 1
    db.flush()
    return n


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    """The reviews a user wrote and the reviews about them, as JSON values (COMMON-PRIVACY-1)."""

    def shape(r: Review) -> dict[str, Any]:
        v = _view(r)
        return {
            "id": v.id,
            "subject_kind": v.subject_kind,
            "transaction_id": v.transaction_id,
            "author_id": v.author_id,
            "reviewee_id": v.reviewee_id,
            "offer_id": v.offer_id,
            "rating": v.rating,
            "text": v.text,
            "status": v.status,
            "created_at": v.created_at.isoformat(),
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "updated_at": v.updated_at.isoformat(),
        }

    written = db.scalars(
        select(Review)
        .where(Review.platform_id == platform_id, Review.author_id == user_id)
        .order_by(Review.id)
    )
    about = db.scalars(
        select(Review)
        .where(
            Review.platform_id == platform_id, Review.reviewee_id == user_id, Review.status == domain.VISIBLE
        )
        .order_by(Review.id)
    )
    return {"written": [shape(r) for r in written], "about_me": [shape(r) for r in about]}


def _register_content_kind() -> None:
    """Make reviews a kind of content the moderation queue handles, once that module is installed."""
    try:
        registry = importlib.import_module("entremise.moderation.registry")
    except ModuleNotFoundError:
        return

    def apply(db: Session, platform_id: str, content_id: str, action: str, now: datetime) -> None:
        from entremise.platforms import service as platforms

        apply_moderation(db, platforms.get(db, platform_id), content_id, action, now)

    registry.register_content_kind("review", locate=locate, apply=apply)


_register_content_kind()
