"""What the sandbox provider does with each test card, IBAN and KYC document (pure, no I/O).

Cards (`CardDetails.token` is the number; spaces are ignored):

| number               | behaviour                                                            |
|----------------------|----------------------------------------------------------------------|
| 4242 4242 4242 4242  | succeeds, no 3-D Secure                                              |
| 4000 0000 0000 0002  | declined (`card_declined`)                                           |
| 4000 0000 0000 3220  | asks for 3-D Secure; succeeds if the payer approves, fails otherwise |
| 4000 0000 0000 3063  | asks for 3-D Secure, which always fails (`3ds_failed`)               |
| 4000 0000 0000 0259  | succeeds, then charged back for `fraud` after `chargeback_after_days`; a contest is lost |
| 4000 0000 0000 2685  | succeeds, then charged back for `fraud` after 80 days; a contest is won |
| 4000 0000 0000 1976  | succeeds, then charged back for `product_not_received` after `chargeback_after_days`; a contest is won |

Any other number is declined (`unknown_test_card`).

IBANs (any valid IBAN not listed behaves like the first):

| IBAN                          | behaviour                                                 |
|-------------------------------|-----------------------------------------------------------|
| FR7630006000011234567890189   | payouts paid, mandates active, debits paid                |
| FR1130006000011234567890001   | payouts bounce (`account_closed`)                         |
| FR8130006000011234567890002   | mandates fail (`mandate_refused`)                         |
| FR5430006000011234567890003   | mandates active, debits fail (`insufficient_funds`)       |

KYC documents: validated, unless their content contains the ASCII marker `SANDBOX-REFUSE`, then
refused (`document_unreadable`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class CardScenario:
    declined: str | None = None  # the decline reason, at once
    three_ds: bool = False  # the payer passes through the 3-D Secure page
    three_ds_always_fails: bool = False
    chargeback_reason: str | None = None
    chargeback_after_days: int | None = None  # None: the platform's sandbox setting
    contest_won: bool = False


CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_3DS = "4000000000003220"
CARD_3DS_FAILS = "4000000000003063"
CARD_CHARGEBACK_FRAUD = "4000000000000259"
CARD_CHARGEBACK_LATE = "4000000000002685"
CARD_CHARGEBACK_OTHER = "4000000000001976"

CARDS: dict[str, CardScenario] = {
    CARD_SUCCEEDS: CardScenario(),
    CARD_DECLINED: CardScenario(declined="card_declined"),
    CARD_3DS: CardScenario(three_ds=True),
    CARD_3DS_FAILS: CardScenario(three_ds=True, three_ds_always_fails=True),
    CARD_CHARGEBACK_FRAUD: CardScenario(chargeback_reason="fraud"),
    CARD_CHARGEBACK_LATE: CardScenario(chargeback_reason="fraud", chargeback_after_days=80, contest_won=True),
    CARD_CHARGEBACK_OTHER: CardScenario(chargeback_reason="product_not_received", contest_won=True),
}
UNKNOWN_CARD = CardScenario(declined="unknown_test_card")

IBAN_OK = "FR7630006000011234567890189"
IBAN_PAYOUT_BOUNCES = "FR1130006000011234567890001"
IBAN_MANDATE_FAILS = "FR8130006000011234567890002"
IBAN_DEBIT_FAILS = "FR5430006000011234567890003"

KYC_REFUSE_MARKER = b"SANDBOX-REFUSE"


def normalize_card(token: str) -> str:
    return "".join(token.split())


def card_scenario(token: str) -> CardScenario:
    return CARDS.get(normalize_card(token), UNKNOWN_CARD)


def card_fingerprint(token: str) -> str:
    """The sandbox's instrument fingerprint of a card: the same card always gives the same value."""
    return "sbxcard_" + hashlib.sha256(b"sandbox-card:" + normalize_card(token).encode()).hexdigest()[:32]


def normalize_iban(iban: str) -> str:
    return "".join(iban.split()).upper()


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 check: 15 to 34 letters and digits, country letters, mod-97 of the rearranged text is 1."""
    value = normalize_iban(iban)
    if not 15 <= len(value) <= 34 or not value.isalnum() or not value.isascii():
        return False
    if not value[:2].isalpha() or not value[2:4].isdigit():
        return False
    digits = "".join(str(int(c, 36)) for c in value[4:] + value[:4])
    return int(digits) % 97 == 1


def iban_fingerprint(iban: str) -> str:
    """The fingerprint of a bank account: a hash of the normalised IBAN (never the IBAN itself)."""
    return "iban_" + hashlib.sha256(b"iban:" + normalize_iban(iban).encode()).hexdigest()[:32]


def payout_bounce_reason(iban: str) -> str | None:
    return "account_closed" if normalize_iban(iban) == IBAN_PAYOUT_BOUNCES else None


def mandate_failure_reason(iban: str) -> str | None:
    return "mandate_refused" if normalize_iban(iban) == IBAN_MANDATE_FAILS else None


def debit_failure_reason(iban: str) -> str | None:
    return "insufficient_funds" if normalize_iban(iban) == IBAN_DEBIT_FAILS else None


def kyc_refusal_reason(content: bytes) -> str | None:
    return "document_unreadable" if KYC_REFUSE_MARKER in content else None
