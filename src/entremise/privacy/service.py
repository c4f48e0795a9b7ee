"""The privacy module's use cases, for entry points and other modules (docs/privacy.md).

Import this (`from entremise.privacy import service as privacy`) rather than the files behind it:
importing it registers the hooks privacy plugs into accounts and notify. Every function runs inside
the caller's transaction (`with db.begin(): ...`).
"""

from __future__ import annotations

from entremise.privacy import hooks as _hooks  # noqa: F401 (registers the accounts and notify hooks)
from entremise.privacy.consent import (
    ConsentEventView,
    ConsentView,
    LimitView,
    MarketingQueued,
    consent_history,
    consents_of,
    enqueue_marketing,
    excluded_from,
    lift_own_limit,
    limits_of,
    may_send_marketing,
    processing_allowed,
    read_link,
    set_consent,
    unsubscribe,
    unsubscribe_url,
)
from entremise.privacy.directives import DirectiveView, get_directives, revoke_directives, set_directives
from entremise.privacy.export import build_export, render_summary
from entremise.privacy.registry import PurgeResult, register_exporter, register_purger
from entremise.privacy.requests import RequestView, answer, extend, file_request, get_request, list_requests
from entremise.privacy.retention import PurgeReport, purge_platform

__all__ = [
    "ConsentEventView",
    "ConsentView",
    "DirectiveView",
    "LimitView",
    "MarketingQueued",
    "PurgeReport",
    "PurgeResult",
    "RequestView",
    "answer",
    "build_export",
    "consent_history",
    "consents_of",
    "enqueue_marketing",
    "excluded_from",
    "extend",
    "file_request",
    "get_directives",
    "get_request",
    "lift_own_limit",
    "limits_of",
    "list_requests",
    "may_send_marketing",
    "processing_allowed",
    "purge_platform",
    "read_link",
    "register_exporter",
    "register_purger",
    "render_summary",
    "revoke_directives",
    "set_consent",
    "set_directives",
    "unsubscribe",
    "unsubscribe_url",
]
