"""Personal links and referral, pure part (EXPERT-LINK-1, EXPERT-REFER-1)."""

from __future__ import annotations

from decimal import Decimal

from entremise.growth import domain
from entremise.kernel.money import Money


def test_EXPERT_LINK_1_slugs_are_first_last_with_accents_folded_in_lower_case() -> None:
    assert domain.slug_base("Zoé", "Durand") == "zoe-durand"
    assert domain.slug_base("Jean-François", "Le Gall") == "jean-francois-le-gall"
    assert domain.slug_base("Anne  Sophie", "D'Aubigné") == "anne-sophie-d-aubigne"
    assert domain.slug_base("Æsa", "Straße") == "aesa-strasse"
    assert domain.slug_base("Łucja", "Øberg") == "lucja-oberg"
    assert domain.slug_base(None, None) == "provider"
    assert domain.slug_base("李", "王") == "provider"
    assert len(domain.slug_base("a" * 60, "b" * 60)) <= domain.SLUG_MAX


def test_EXPERT_LINK_1_homonyms_get_the_next_free_suffix() -> None:
    assert domain.free_slug("zoe-durand", set()) == "zoe-durand"
    assert domain.free_slug("zoe-durand", {"zoe-durand"}) == "zoe-durand-2"
    assert domain.free_slug("zoe-durand", {"zoe-durand", "zoe-durand-2", "zoe-durand-4"}) == "zoe-durand-3"


def test_EXPERT_LINK_1_the_banner_escapes_every_value() -> None:
    snippet = domain.banner_html(
        'https://x.example/consultation/a?b=1&c="2"',
        "https://x.example/qr.png",
        '<script>alert("x")</script> & Cie',
    )
    assert "<script>" not in snippet
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Cie" in snippet
    assert 'href="https://x.example/consultation/a?b=1&amp;c=&quot;2&quot;"' in snippet
    assert snippet.startswith("<a ") and snippet.endswith("</a>")


def test_EXPERT_REFER_1_the_commission_is_a_share_of_its_base() -> None:
    d = domain.referral_commission(Money(333), Decimal("10"), "the platform's fee")
    assert d.outcome == Money(33) and d.rules == ("EXPERT-REFER-1",)
    assert domain.referral_commission(Money(335), Decimal("10"), "x").outcome == Money(34)  # half-up
