"""COMMON-TERMS-2 guard: no state change by a member who has not accepted the terms in force.

Use `TermsAccepted` instead of `CurrentPrincipal` on state-changing endpoints: it authenticates the
caller and answers 403 `terms-acceptance-required`, naming the version to accept with `read_url` and
`accept_url`, when the version in force for the caller's audience has not been accepted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from entremise.accounts.auth import CurrentPrincipal, Principal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.kernel.errors import Forbidden
from entremise.terms import service


class TermsAcceptanceRequired(Forbidden):
    type_ = "https://entremise.dev/problems/terms-acceptance-required"
    title = "Terms acceptance required"


def _terms_accepted(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep
) -> Principal:
    with db.begin():
        pending = service.pending_acceptance(
            db, platform=platform, user_id=principal.user_id, role=principal.role, now=now
        )
    if pending is not None:
        base = runtime.settings.base_url
        raise TermsAcceptanceRequired(
            f"accept version {pending.version} of the {pending.audience} terms to go on",
            rules=["COMMON-TERMS-2"],
            extra={
                "audience": pending.audience,
                "version": pending.version,
                "read_url": service.read_url(base, platform.slug, pending.audience, pending.version),
                "accept_url": service.accept_url(base, platform.slug, pending.audience, pending.version),
            },
        )
    return principal


TermsAccepted = Annotated[Principal, Depends(_terms_accepted)]
