"""Growth, the pure part: slugs of personal links, the embeddable banner, the referral commission."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection
from decimal import Decimal

from entremise.kernel.decision import Decision
from entremise.kernel.money import Money

KINDS = ("consultation", "inscription")
SLUG_MAX = 80
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# letters NFKD does not split into a base letter and a mark
_LIGATURES = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
    }
)


def slug_base(first_name: str | None, last_name: str | None) -> str:
    """EXPERT-LINK-1: `first-last`, accents folded, lower case: "Zoé Le Gall" -> `zoe-le-gall`."""
    text = " ".join(p for p in (first_name, last_name) if p).translate(_LIGATURES)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", folded).strip("-")[:SLUG_MAX].strip("-")
    return slug or "provider"


def free_slug(base: str, taken: Collection[str]) -> str:
    """The base itself, else the first of `base-2`, `base-3`... nobody has (homonyms)."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def banner_html(link_url: str, image_url: str, label: str) -> str:
    """An HTML snippet to paste on a site or blog: the QR code and a label, linking to the page.
    Every value is escaped for an attribute or text (quotes included)."""
    href, src, text = (html.escape(v, quote=True) for v in (link_url, image_url, label))
    return (
        f'<a href="{href}" target="_blank" rel="noopener" '
        'style="display:inline-flex;align-items:center;gap:8px;padding:8px 12px;border:1px solid #d4d4d8;'
        'border-radius:6px;font-family:Arial,Helvetica,sans-serif;color:#1f2937;text-decoration:none;">'
        f'<img src="{src}" alt="{text}" width="96" height="96" style="display:block;">'
        f"<span>{text}</span></a>"
    )


def referral_commission(base: Money, percent: Decimal, what: str) -> Decision[Money]:
    """EXPERT-REFER-1: the referrer's commission on a referee's consultation."""
    amount = base.percent(percent)
    return Decision(
        amount,
        rules=("EXPERT-REFER-1",),
        reason=f"{percent} % of {base} ({what}) for the provider who referred the consulting provider: {amount}",
    )
