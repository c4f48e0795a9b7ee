"""Every module's tables, imported so that `metadata` is complete (for Alembic and checks)."""

from __future__ import annotations

from entremise.accounts import models as _accounts  # noqa: F401
from entremise.api import models as _api  # noqa: F401
from entremise.audit import models as _audit  # noqa: F401
from entremise.billing import models as _billing  # noqa: F401
from entremise.booking import models as _booking  # noqa: F401
from entremise.claims import models as _claims  # noqa: F401
from entremise.counters import models as _counters  # noqa: F401
from entremise.db.base import Base
from entremise.files import models as _files  # noqa: F401
from entremise.fraud import models as _fraud  # noqa: F401
from entremise.growth import models as _growth  # noqa: F401
from entremise.kyc import models as _kyc  # noqa: F401
from entremise.ledger import models as _ledger  # noqa: F401
from entremise.moderation import models as _moderation  # noqa: F401
from entremise.notify import models as _notify  # noqa: F401
from entremise.orders import models as _orders  # noqa: F401
from entremise.payments import models as _payments  # noqa: F401
from entremise.payouts import models as _payouts  # noqa: F401
from entremise.platforms import models as _platforms  # noqa: F401
from entremise.privacy import models as _privacy  # noqa: F401
from entremise.reviews import models as _reviews  # noqa: F401
from entremise.sanctions import models as _sanctions  # noqa: F401
from entremise.scheduling import models as _scheduling  # noqa: F401
from entremise.terms import models as _terms  # noqa: F401
from entremise.wallets import models as _wallets  # noqa: F401

metadata = Base.metadata
