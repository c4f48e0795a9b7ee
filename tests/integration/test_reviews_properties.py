"""Property: whatever sequence of reviews, edits and moderation decisions happens, the stored
aggregates (count, sum, distribution, average) equal a recomputation from the published reviews."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reviews_helpers import deal, make_platform

from entremise.kernel.errors import AppError
from entremise.reviews import service as reviews

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 5), st.integers(1, 5), st.booleans()),
        st.tuples(st.just("edit"), st.integers(0, 5), st.integers(1, 5), st.booleans()),
        st.tuples(
            st.just("moderate"),
            st.integers(0, 5),
            st.sampled_from(reviews.MODERATION_ACTIONS),
            st.just(False),
        ),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_aggregates_match_a_recomputation_after_any_sequence(runtime, ops) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(runtime)
    now = runtime.clock.now()
    provider = str(uuid.uuid4())
    offer = str(uuid.uuid4())
    authors = [str(uuid.uuid4()) for _ in range(6)]
    deals = [deal(platform, a, provider, now, offer_id=offer) for a in authors]
    written: dict[int, str] = {}
    for op, i, value, rude in ops:
        text = "Un vrai connard" if rude else "Très bien"
        try:
            with runtime.sessions() as db, db.begin():
                if op == "write":
                    v = reviews.create_review(
                        db,
                        platform=platform,
                        author_id=authors[i],
                        subject_kind="test-deal",
                        transaction_id=deals[i],
                        rating=int(value),
                        text=text,
                        now=now,
                    )
                    written[i] = v.id
                elif op == "edit" and i in written:
                    reviews.edit_review(
                        db,
                        platform=platform,
                        author_id=authors[i],
                        review_id=written[i],
                        rating=int(value),
                        text=text,
                        text_given=True,
                        now=now,
                    )
                elif op == "moderate" and i in written:
                    reviews.apply_moderation(db, platform, written[i], str(value), now)
        except AppError:
            pass  # refused operations (a second review, restoring a published one...) change nothing  # refused operations (a second review, restoring a published one...) change nothing
    with runtime.sessions() as db:
        for kind, about in (("user", provider), ("offer", offer)):
            stored = reviews.aggregate(db, platform_id=platform.id, about_kind=kind, about_id=about)
            again = reviews.recompute_aggregate(db, platform_id=platform.id, about_kind=kind, about_id=about)
            assert stored.count == again.count and stored.total == again.total
            assert stored.distribution == dict(again.distribution) and stored.average == again.average
