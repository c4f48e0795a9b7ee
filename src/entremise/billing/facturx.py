"""The Factur-X (CII, EN 16931 profile) XML of an invoice or credit note (LAW-EINVOICE-1).

`invoice_xml(invoice)` builds the XML from the issued invoice alone (number, dates, parties, lines,
VAT breakdown, totals, payment terms) and checks it against the Factur-X EN 16931 XSD shipped by
the `factur-x` package; `embed(pdf, xml)` attaches it to a PDF/A-3 as `factur-x.xml` with
AFRelationship /Data and the Factur-X XMP extension schema.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from facturx import generate_from_binary, xml_check_xsd
from lxml import etree

from entremise.billing import domain
from entremise.billing.views import InvoiceView
from entremise.kernel.money import Money

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EN16931 = "urn:cen.eu:en16931:2017"
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIREN
UNIT_CODE = "C62"  # UN/ECE rec 20 "one": a unit


class XmlInvalid(Exception):
    """The XML does not pass the Factur-X XSD: a bug in the builder, never the customer's fault."""


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, name = tag.split(":")
    child = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", attrs)
    if text is not None:
        child.text = text
    return child


def _date(parent: etree._Element, tag: str, day: date, qualified: bool = False) -> None:
    holder = _el(parent, tag)
    _el(
        holder,
        "qdt:DateTimeString" if qualified else "udt:DateTimeString",
        day.strftime("%Y%m%d"),
        format="102",
    )


def _amount(money: Money) -> str:
    return f"{money.to_major():.2f}" if money.currency != "JPY" else str(money.to_major())


def _decimal(value: Decimal) -> str:
    """`12.5`, `2`, `8.333333`: plain notation, no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


def _party(parent: etree._Element, tag: str, who: dict[str, Any]) -> None:
    party = _el(parent, tag)
    _el(party, "ram:Name", str(who["name"]))
    siren = who.get("siren")
    if siren:
        legal = _el(party, "ram:SpecifiedLegalOrganization")
        _el(legal, "ram:ID", str(siren), schemeID=SIREN_SCHEME)
    address = _el(party, "ram:PostalTradeAddress")
    if who.get("postcode"):
        _el(address, "ram:PostcodeCode", str(who["postcode"]))
    _el(address, "ram:LineOne", str(who["address_line1"]))
    if who.get("address_line2"):
        _el(address, "ram:LineTwo", str(who["address_line2"]))
    if who.get("city"):
        _el(address, "ram:CityName", str(who["city"]))
    _el(address, "ram:CountryID", str(who.get("country") or "FR"))
    if who.get("email"):
        uri = _el(party, "ram:URIUniversalCommunication")
        _el(uri, "ram:URIID", str(who["email"]), schemeID="EM")
    if who.get("vat_number"):
        tax = _el(party, "ram:SpecifiedTaxRegistration")
        _el(tax, "ram:ID", str(who["vat_number"]), schemeID="VA")


def _tax(
    parent: etree._Element, rate: Decimal, exemption: str | None, *, amounts: tuple[Money, Money] | None
) -> None:
    """One ApplicableTradeTax: on a line (rate only) or in the breakdown (VAT and basis too)."""
    tax = _el(parent, "ram:ApplicableTradeTax")
    category = domain.vat_category(rate)
    if amounts is not None:
        _el(tax, "ram:CalculatedAmount", _amount(amounts[1]))
    _el(tax, "ram:TypeCode", "VAT")
    if amounts is not None and category == "E":
        _el(tax, "ram:ExemptionReason", exemption or "Exonération de TVA")
    if amounts is not None:
        _el(tax, "ram:BasisAmount", _amount(amounts[0]))
    _el(tax, "ram:CategoryCode", category)
    _el(tax, "ram:RateApplicablePercent", _decimal(rate))


def _notes(doc: etree._Element, invoice: InvoiceView) -> None:
    late = invoice.mentions.get("late")
    if late:
        indemnity = Money(int(late["indemnity_cents"]), "EUR").to_major()
        note = _el(doc, "ram:IncludedNote")
        _el(
            note,
            "ram:Content",
            f"Pénalités de retard au taux annuel de {late['penalty_rate']} % à compter du lendemain de "
            f"l'échéance ; indemnité forfaitaire pour frais de recouvrement de {indemnity:.2f} €.",
        )
        _el(note, "ram:SubjectCode", "PMD")
    discount = invoice.mentions.get("early_payment_discount")
    if invoice.kind == domain.INVOICE:
        note = _el(doc, "ram:IncludedNote")
        _el(note, "ram:Content", discount or "Pas d'escompte pour paiement anticipé.")
        _el(note, "ram:SubjectCode", "AAB")
    mandate = invoice.mentions.get("mandate")
    if mandate:
        note = _el(doc, "ram:IncludedNote")
        _el(
            note,
            "ram:Content",
            f"Facture émise par {mandate['issuer']} au nom et pour le compte du vendeur "
            f"(mandat {mandate['reference']}).",
        )
        _el(note, "ram:SubjectCode", "REG")
    if invoice.reason:
        note = _el(doc, "ram:IncludedNote")
        _el(note, "ram:Content", invoice.reason)
        _el(note, "ram:SubjectCode", "ACB")


def build_xml(invoice: InvoiceView, credited: tuple[str, date] | None = None) -> bytes:
    """The CII XML of `invoice`; `credited` is the (number, issue date) a credit note corrects."""
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    guideline = _el(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _el(guideline, "ram:ID", EN16931)
    doc = _el(root, "rsm:ExchangedDocument")
    _el(doc, "ram:ID", invoice.number)
    _el(doc, "ram:TypeCode", domain.TYPE_CODES[invoice.kind])
    _date(doc, "ram:IssueDateTime", invoice.issue_date)
    _notes(doc, invoice)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    exemption = invoice.mentions.get("zero_rate")
    for line in invoice.lines:
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position))
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", _decimal(line.unit_price))
        _el(
            _el(item, "ram:SpecifiedLineTradeDelivery"),
            "ram:BilledQuantity",
            _decimal(line.quantity),
            unitCode=UNIT_CODE,
        )
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        _tax(settlement, line.vat_rate, exemption, amounts=None)
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount", _amount(line.net))
    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", invoice.seller)
    _party(agreement, "ram:BuyerTradeParty", invoice.buyer)
    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    if invoice.supply_start == invoice.supply_end:
        event = _el(delivery, "ram:ActualDeliverySupplyChainEvent")
        _date(event, "ram:OccurrenceDateTime", invoice.supply_start)
    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:InvoiceCurrencyCode", invoice.currency)
    for row in invoice.breakdown:
        _tax(settlement, row.rate, exemption, amounts=(row.taxable, row.vat))
    if invoice.supply_start != invoice.supply_end:
        period = _el(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", invoice.supply_start)
        _date(period, "ram:EndDateTime", invoice.supply_end)
    terms = invoice.mentions.get("payment_terms")
    if invoice.due_date is not None and terms is not None:
        payment = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        how = f"{terms['days']} jours fin de mois" if terms["end_of_month"] else f"{terms['days']} jours"
        _el(
            payment,
            "ram:Description",
            f"Paiement à {how} : échéance le {invoice.due_date.strftime('%d/%m/%Y')}",
        )
        _date(payment, "ram:DueDateDateTime", invoice.due_date)
    sums = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, "ram:LineTotalAmount", _amount(invoice.net))
    _el(sums, "ram:TaxBasisTotalAmount", _amount(invoice.net))
    _el(sums, "ram:TaxTotalAmount", _amount(invoice.vat), currencyID=invoice.currency)
    _el(sums, "ram:GrandTotalAmount", _amount(invoice.gross))
    _el(sums, "ram:DuePayableAmount", _amount(invoice.gross))
    if credited is not None:
        ref = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(ref, "ram:IssuerAssignedID", credited[0])
        _date(ref, "ram:FormattedIssueDateTime", credited[1], qualified=True)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    check(xml)
    return xml


def check(xml: bytes) -> None:
    """Validate against the Factur-X EN 16931 XSD the `factur-x` package ships."""
    try:
        xml_check_xsd(xml, flavor="factur-x", level="en16931")
    except Exception as exc:  # the package raises a bare Exception with the XSD message
        raise XmlInvalid(str(exc)) from exc


def embed(pdf: bytes, xml: bytes, *, title: str, author: str, subject: str, lang: str) -> bytes:
    """The PDF/A-3 with its Factur-X XML attached (AFRelationship /Data) and Factur-X XMP metadata."""
    metadata = {"author": author, "keywords": "Factur-X, invoice", "title": title, "subject": subject}
    result: bytes = generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,  # checked by build_xml already
        pdf_metadata=metadata,
        lang=lang,
        afrelationship="data",
    )
    return result
