"""The PDF of an invoice: HTML from a Jinja2 template, printed by WeasyPrint as PDF/A-3b.

French by default, English when the platform's `billing.pdf_locale` is `en` (the legal mentions
that the law words in French stay in French in both). Fonts are DejaVu, embedded (PDF/A).
"""

from __future__ import annotations

import logging
import warnings
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from entremise.billing import domain
from entremise.billing.views import InvoiceView
from entremise.kernel.money import Money

TEMPLATES = Path(__file__).resolve().parent / "templates"
# WeasyPrint, fontTools and factur-x log every step of every document at INFO: keep warnings only,
# and drop the notice that fonts are subset with fontTools rather than the optional HarfBuzz-Subset
for _name in ("weasyprint", "weasyprint.progress", "fontTools", "factur-x", "facturx"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class _NoSubsetNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz-Subset" not in record.getMessage()


logging.getLogger("weasyprint").addFilter(_NoSubsetNotice())
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "number": "Numéro",
        "issue_date": "Date d'émission",
        "supply": "Date de la prestation",
        "period": "Période de la prestation",
        "due_date": "Date d'échéance",
        "seller": "Vendeur",
        "buyer": "Client",
        "description": "Désignation",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire HT",
        "vat_rate": "TVA",
        "line_net": "Total HT",
        "vat_breakdown": "Détail de la TVA",
        "rate": "Taux",
        "taxable": "Base HT",
        "vat": "TVA",
        "total_net": "Total HT",
        "total_vat": "Total TVA",
        "total_gross": "Total TTC",
        "to_pay": "Net à payer",
        "to_refund": "Montant de l'avoir TTC",
        "payment_terms": "Conditions de paiement",
        "terms_days": "paiement à {days} jours",
        "terms_eom": "paiement à {days} jours fin de mois",
        "terms_now": "paiement à réception",
        "no_discount": "Pas d'escompte pour paiement anticipé.",
        "late": (
            "En cas de retard de paiement, des pénalités sont exigibles dès le lendemain de la date "
            "d'échéance au taux annuel de {rate} % (au moins trois fois le taux d'intérêt légal), ainsi "
            "qu'une indemnité forfaitaire pour frais de recouvrement de {indemnity} (art. L441-10 du "
            "Code de commerce)."
        ),
        "credits": "Avoir sur la facture {number} du {date}",
        "reason": "Motif",
        "mandate": "Facture émise par {issuer} au nom et pour le compte de {seller}, mandat de facturation {reference} du {date}.",
        "capital": "au capital de {capital}",
        "exempt": "Dispensé d'immatriculation au registre du commerce et des sociétés (RCS) et au répertoire des métiers (RM)",
        "vat_number": "N° TVA intracommunautaire",
        "siren": "SIREN",
        "facturx": "Facture électronique Factur-X (EN 16931) : le fichier factur-x.xml joint fait foi.",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "number": "Number",
        "issue_date": "Issue date",
        "supply": "Date of supply",
        "period": "Period of supply",
        "due_date": "Due date",
        "seller": "Seller",
        "buyer": "Customer",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit price (net)",
        "vat_rate": "VAT",
        "line_net": "Net",
        "vat_breakdown": "VAT breakdown",
        "rate": "Rate",
        "taxable": "Taxable amount",
        "vat": "VAT",
        "total_net": "Total net",
        "total_vat": "Total VAT",
        "total_gross": "Total including VAT",
        "to_pay": "Amount due",
        "to_refund": "Credit note total",
        "payment_terms": "Payment terms",
        "terms_days": "payment within {days} days",
        "terms_eom": "payment within {days} days end of month",
        "terms_now": "payment on receipt",
        "no_discount": "No discount for early payment.",
        "late": (
            "Late payment incurs penalties from the day after the due date at {rate} % a year (at least "
            "three times the French legal interest rate) and a fixed recovery indemnity of {indemnity} "
            "(French Commercial Code, art. L441-10)."
        ),
        "credits": "Credit note on invoice {number} of {date}",
        "reason": "Reason",
        "mandate": "Invoice issued by {issuer} in the name and on behalf of {seller}, billing mandate {reference} of {date}.",
        "capital": "share capital {capital}",
        "exempt": "Exempt from registration with the RCS and the RM",
        "vat_number": "EU VAT number",
        "siren": "SIREN",
        "facturx": "Factur-X electronic invoice (EN 16931): the attached factur-x.xml is authoritative.",
    },
}


@lru_cache(maxsize=2)
def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    babel = BABEL_LOCALES[locale]
    env.filters["money"] = lambda m: format_currency(m.to_major(), m.currency, locale=babel)
    env.filters["day"] = lambda d: format_date(
        d, format="long" if locale == "en" else "d MMMM y", locale=babel
    )
    env.filters["quantity"] = lambda d: format_decimal(d, format="#,##0.##", locale=babel)
    env.filters["price"] = lambda d: format_decimal(d, format="#,##0.00####", locale=babel)
    env.filters["rate"] = lambda d: format_decimal(d, format="0.##", locale=babel) + " %"
    return env


def html(invoice: InvoiceView, credited: tuple[str, date] | None = None) -> str:
    """The invoice as an HTML page (what WeasyPrint prints)."""
    locale = invoice.locale if invoice.locale in LABELS else "fr"
    labels = LABELS[locale]
    late = invoice.mentions.get("late")
    terms = invoice.mentions.get("payment_terms")
    context: dict[str, Any] = {
        "invoice": invoice,
        "t": labels,
        "lang": locale,
        "is_credit": invoice.kind == domain.CREDIT_NOTE,
        "credited": credited,
        "late": late,
        "late_indemnity": Money(int(late["indemnity_cents"]), "EUR") if late else None,
        "late_rate": Decimal(late["penalty_rate"]) if late else None,
        "terms": terms,
        "mandate": invoice.mentions.get("mandate"),
        "zero_rate": invoice.mentions.get("zero_rate"),
        "discount": invoice.mentions.get("early_payment_discount"),
        "capital": Money.from_major(Decimal(str(invoice.seller["share_capital"])).quantize(Decimal("0.01")))
        if invoice.seller.get("share_capital") is not None
        else None,
    }
    return _environment(locale).get_template("invoice.html.j2").render(context)


def render(invoice: InvoiceView, credited: tuple[str, date] | None = None) -> bytes:
    """PDF/A-3b bytes of the invoice (without the Factur-X XML: see `facturx.embed`)."""
    from weasyprint import HTML  # heavy import, only where a PDF is made

    with warnings.catch_warnings():
        # without the optional HarfBuzz-Subset library WeasyPrint subsets fonts with fontTools and
        # says so on stderr at every document; the PDF is the same, so the notice is not repeated
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        pdf: bytes = HTML(string=html(invoice, credited)).write_pdf(pdf_variant="pdf/a-3b")
    return pdf
