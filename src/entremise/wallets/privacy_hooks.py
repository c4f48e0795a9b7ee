"""Wallets in the privacy export (COMMON-PRIVACY-1): pack purchases, promo redemptions, balances.

The entries on the wallet's ledger accounts are exported by the ledger's own section. Nothing here is
purged by retention: purchases and redemptions are accounting records, kept with the ledger."""

from __future__ import annotations

from entremise.privacy.registry import register_exporter
from entremise.wallets import service

register_exporter("wallets", lambda db, p, uid: service.export_data(db, platform_id=p.id, client_id=uid))
