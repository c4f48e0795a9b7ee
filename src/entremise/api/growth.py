"""Personal links over HTTP (EXPERT-LINK-1, EXPERT-REFER-1): a provider's consultation and sign-up
links, their QR codes (SVG, PNG) and embeddable banners; resolving a link to the provider's public
page; the referral commissions a provider earned.

`/consultation/{slug}` and `/inscription/{slug}` (outside the API prefix) are the public addresses
printed in QR codes: they find the platform from the request's host (its `growth.public_base_url`)
or from `?platform=`, and redirect to the API's page data (web pages will take their place).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from entremise.accounts.auth import CurrentPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.scheduling import MoneyOut
from entremise.api.schemas import Page
from entremise.growth import service
from entremise.growth.service import CommissionView, LinkView, ProviderPage
from entremise.kernel.errors import Forbidden, NotFound
from entremise.platforms import service as platforms

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["growth"])
public_router = APIRouter(tags=["growth"])

Kind = Annotated[Literal["consultation", "inscription"], Path(description="which link")]
Slug = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[a-z0-9-]{1,100}$")]


class LinksOut(BaseModel):
    provider_id: str
    slug: str
    consultation_url: str
    signup_url: str
    consultation_qr_svg: str
    consultation_qr_png: str
    signup_qr_svg: str
    signup_qr_png: str
    created_at: datetime


def _api(request: Request, platform_slug: str, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/platforms/{platform_slug}{path}"


@router.get(
    "/growth/me/links", response_model=LinksOut, summary="My consultation and sign-up links (providers)"
)
def my_links(
    request: Request,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
) -> LinksOut:
    if principal.role != "provider":
        raise Forbidden("personal links are the providers'")
    with db.begin():
        v: LinkView = service.my_links(
            db, platform=platform, settings=runtime.settings, provider_id=principal.user_id, now=now
        )
    qr = {
        f"{k}_qr_{fmt}": _api(request, platform.slug, f"/links/{k}/{v.slug}/qr.{fmt}")
        for k in ("consultation", "inscription")
        for fmt in ("svg", "png")
    }
    return LinksOut(
        provider_id=v.provider_id,
        slug=v.slug,
        consultation_url=v.consultation_url,
        signup_url=v.signup_url,
        consultation_qr_svg=qr["consultation_qr_svg"],
        consultation_qr_png=qr["consultation_qr_png"],
        signup_qr_svg=qr["inscription_qr_svg"],
        signup_qr_png=qr["inscription_qr_png"],
        created_at=v.created_at,
    )


class PageOut(BaseModel):
    provider_id: str
    slug: str
    kind: str
    first_name: str | None
    last_name: str | None
    category: str | None
    consultation_url: str
    signup_url: str
    slots: str
    djob_offers: str

    @staticmethod
    def of(request: Request, platform_slug: str, kind: str, p: ProviderPage) -> PageOut:
        return PageOut(
            provider_id=p.provider_id,
            slug=p.slug,
            kind=kind,
            first_name=p.first_name,
            last_name=p.last_name,
            category=p.category,
            consultation_url=p.consultation_url,
            signup_url=p.signup_url,
            slots=_api(request, platform_slug, f"/providers/{p.provider_id}/slots"),
            djob_offers=_api(request, platform_slug, f"/djob-offers?provider_id={p.provider_id}"),
        )


@router.get(
    "/links/{kind}/{slug}", response_model=PageOut, summary="The provider page a personal link leads to"
)
def resolve(
    request: Request, kind: Kind, slug: Slug, platform: CurrentPlatform, db: Db, runtime: RuntimeDep
) -> PageOut:
    with db.begin():
        p = service.page(db, platform=platform, settings=runtime.settings, slug=slug)
    return PageOut.of(request, platform.slug, kind, p)


def _target(p: ProviderPage, kind: str) -> str:
    return p.consultation_url if kind == "consultation" else p.signup_url


SAFE = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"}


@router.get(
    "/links/{kind}/{slug}/qr.svg",
    response_class=Response,
    summary="The link's QR code (SVG)",
    responses={200: {"content": {"image/svg+xml": {}}, "description": "an SVG image"}},
)
def qr_svg(kind: Kind, slug: Slug, platform: CurrentPlatform, db: Db, runtime: RuntimeDep) -> Response:
    with db.begin():
        p = service.page(db, platform=platform, settings=runtime.settings, slug=slug)
    return Response(service.qr_code(_target(p, kind), "svg"), media_type="image/svg+xml", headers=SAFE)


@router.get(
    "/links/{kind}/{slug}/qr.png",
    response_class=Response,
    summary="The link's QR code (PNG)",
    responses={200: {"content": {"image/png": {}}, "description": "a PNG image"}},
)
def qr_png(kind: Kind, slug: Slug, platform: CurrentPlatform, db: Db, runtime: RuntimeDep) -> Response:
    with db.begin():
        p = service.page(db, platform=platform, settings=runtime.settings, slug=slug)
    return Response(service.qr_code(_target(p, kind), "png"), media_type="image/png", headers=SAFE)


class BannerOut(BaseModel):
    kind: str
    url: str
    html: str


@router.get(
    "/links/{kind}/{slug}/banner", response_model=BannerOut, summary="An HTML banner to embed on a site"
)
def banner(
    request: Request, kind: Kind, slug: Slug, platform: CurrentPlatform, db: Db, runtime: RuntimeDep
) -> BannerOut:
    with db.begin():
        p = service.page(db, platform=platform, settings=runtime.settings, slug=slug)
    image = _api(request, platform.slug, f"/links/{kind}/{slug}/qr.png")
    return BannerOut(
        kind=kind, url=_target(p, kind), html=service.banner(platform, runtime.settings, p, kind, image)
    )


class CommissionOut(BaseModel):
    consultation_id: str
    referee_id: str
    base: MoneyOut
    percent: str
    amount: MoneyOut
    reason: str
    created_at: datetime

    @staticmethod
    def of(item: tuple[str, CommissionView]) -> CommissionOut:
        c = item[1]
        return CommissionOut(
            consultation_id=c.consultation_id,
            referee_id=c.referee_id,
            base=MoneyOut.of(c.base),
            percent=c.percent,
            amount=MoneyOut.of(c.amount),
            reason=c.reason,
            created_at=c.created_at,
        )


@router.get(
    "/growth/me/commissions",
    response_model=Page[CommissionOut],
    summary="Referral commissions I earned (EXPERT-REFER-1)",
)
def my_commissions(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[CommissionOut]:
    after = page.position(str)
    with db.begin():
        rows = service.commissions_of(
            db, platform_id=platform.id, referrer_id=principal.user_id, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda r: r[0], shape=CommissionOut.of)


PlatformQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z0-9-]{1,39}$")]


def _public(request: Request, kind: str, slug: str, platform_slug: str | None, db: Db) -> RedirectResponse:
    with db.begin():
        hosted = platforms.list_platforms(db)
    host = (request.headers.get("host") or "").lower()
    chosen = next((p for p in hosted if p.slug == platform_slug), None) if platform_slug else None
    if chosen is None:
        chosen = next(
            (
                p
                for p in hosted
                if p.settings.growth.public_base_url
                and urlsplit(p.settings.growth.public_base_url).netloc.lower() == host
            ),
            None,
        )
    if chosen is None:
        raise NotFound("no platform answers at this address")
    return RedirectResponse(f"/api/v1/platforms/{chosen.slug}/links/{kind}/{slug}", status_code=307)


@public_router.get(
    "/consultation/{slug}",
    response_class=RedirectResponse,
    status_code=307,
    summary="A provider's consultation link (EXPERT-LINK-1): redirects to the page data",
)
def consultation(request: Request, slug: Slug, db: Db, platform: PlatformQuery = None) -> RedirectResponse:
    return _public(request, "consultation", slug, platform, db)


@public_router.get(
    "/inscription/{slug}",
    response_class=RedirectResponse,
    status_code=307,
    summary="A provider's sign-up link (EXPERT-REFER-1): redirects to the page data",
)
def inscription(request: Request, slug: Slug, db: Db, platform: PlatformQuery = None) -> RedirectResponse:
    return _public(request, "inscription", slug, platform, db)
