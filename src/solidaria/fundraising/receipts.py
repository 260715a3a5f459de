"""Receipts: one numbered PDF per confirmed gift, and each donor's annual statement.

Rendering (`render_receipt`, `render_statement`) is a pure function of plain data, so the
PDFs can be tested without a database; the loaders (`receipt_data`, `statement_data`) read
the models. Everything is written in the donor's language (en, es, ca, it, de, fr, ar):
money and dates formatted by Babel, words through gettext, Arabic shaped by HarfBuzz and
laid out right to left. The fonts ship inside the package (`fonts/`, subsets of Noto Sans
and Noto Sans Arabic under the OFL), so a fresh machine without system fonts can render.
The creation date is taken from the gift, so the same gift always gives the same bytes.
"""

import datetime
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision
from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, TextDirection, XPos, YPos

from solidaria.core.errors import Invalid
from solidaria.core.models import Organization
from solidaria.fundraising.models import Donation, Fund, FundraisingSettings, Method
from solidaria.people.models import Contact

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
RIGHT_TO_LEFT = frozenset({"ar"})
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")

# A4 in millimetres; fpdf2's default unit.
_MARGIN = 20.0
_LABEL_WIDTH = 52.0
_LINE = 5.5


# --- plain data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """Who gives or receives: a name, address lines, and (for the organization) a tax id."""

    name: str
    address_lines: tuple[str, ...] = ()
    tax_id: str = ""


@dataclass(frozen=True)
class ReceiptData:
    language: str
    number: str
    organization: Party
    donor: Party
    amount_minor: int
    refunded_minor: int
    currency: str
    received_on: datetime.date
    fund: str
    method: str  # a Method value
    public_ref: str
    ledger_seq: int | None
    tracking_url: str
    footer: str
    created_at: datetime.datetime  # the PDF's creation date: the gift's, for stable bytes


@dataclass(frozen=True)
class StatementLine:
    received_on: datetime.date
    receipt_number: str
    fund: str
    net_minor: int
    currency: str


@dataclass(frozen=True)
class StatementData:
    language: str
    fiscal_year: int
    starts_on: datetime.date
    ends_on: datetime.date  # the last day, inclusive
    organization: Party
    donor: Party
    lines: tuple[StatementLine, ...]
    footer: str
    created_at: datetime.datetime

    def totals(self) -> dict[str, int]:
        """Net total per currency (almost always one), in minor units."""
        totals: dict[str, int] = {}
        for line in self.lines:
            totals[line.currency] = totals.get(line.currency, 0) + line.net_minor
        return totals


# --- formatting ------------------------------------------------------------------------------


def supported_language(*candidates: str | None) -> str:
    """The first candidate that is one of our languages (`es-ES` counts as `es`)."""
    codes = {code for code, _name in settings.LANGUAGES}
    for candidate in candidates:
        code = (candidate or "").strip().lower().replace("_", "-").split("-")[0]
        if code in codes:
            return code
    return settings.LANGUAGE_CODE


def format_money(amount_minor: int, currency: str, language: str) -> str:
    """`1250, "EUR"` → "€12.50" in en, "12,50 €" in es; Decimal all the way, never float."""
    precision = get_currency_precision(currency)
    amount = Decimal(amount_minor).scaleb(-precision)
    return format_currency(amount, currency, locale=language)


def format_day(day: datetime.date, language: str) -> str:
    return format_date(day, format="long", locale=language)


def country_name(country: str, language: str) -> str:
    if not country:
        return ""
    return Locale.parse(language).territories.get(country.upper(), country.upper())


# --- loaders ---------------------------------------------------------------------------------


def settings_for(org: Organization) -> FundraisingSettings:
    """The organization's fundraising settings, or unsaved defaults while it has none."""
    found = FundraisingSettings.objects.filter(organization=org).first()
    return found or FundraisingSettings(organization=org)


def _org_party(org: Organization, fundraising: FundraisingSettings) -> Party:
    lines = tuple(line.strip() for line in fundraising.address.splitlines() if line.strip())
    return Party(
        name=fundraising.legal_name or org.name, address_lines=lines, tax_id=fundraising.tax_id
    )


def _donor_party(contact: Contact, language: str) -> Party:
    if contact.erased_at is not None:
        return Party(name=contact.display_name)
    locality = " ".join(part for part in (contact.postal_code, contact.city) if part)
    lines = (
        contact.street,
        locality,
        contact.region,
        country_name(contact.country, language),
    )
    return Party(name=contact.name, address_lines=tuple(line for line in lines if line))


def organization_text(
    fundraising: FundraisingSettings, key: str, language: str, fallback: str
) -> str:
    """One of the organization's own texts (`thanks`, `receipt_footer`…) in the donor's
    language, else in the organization's; empty when it wrote none."""
    texts = fundraising.texts if isinstance(fundraising.texts, dict) else {}
    for lang in (language, fallback):
        value = (texts.get(lang) or {}).get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def fund_name(fund: Fund, language: str) -> str:
    texts = fund.texts if isinstance(fund.texts, dict) else {}
    name = (texts.get(language) or {}).get("name")
    return name if isinstance(name, str) and name.strip() else fund.name


def tracking_url(donation: Donation) -> str:
    return f"{settings.BASE_URL}/t/{donation.tracking_token}"


def receipt_language(donation: Donation) -> str:
    return supported_language(
        donation.contact.language, donation.language, donation.organization.language
    )


def local_day(moment: datetime.datetime, org: Organization) -> datetime.date:
    return moment.astimezone(zoneinfo.ZoneInfo(org.time_zone)).date()


def receipt_data(donation: Donation) -> ReceiptData:
    """What the receipt of a confirmed, numbered gift shows. Invalid for any other gift."""
    if donation.status != Donation.Status.CONFIRMED or not donation.receipt_number:
        raise Invalid(_("Only a confirmed gift with a receipt number has a receipt."))
    org = donation.organization
    fundraising = settings_for(org)
    language = receipt_language(donation)
    received = donation.received_at or donation.confirmed_at or donation.created_at
    return ReceiptData(
        language=language,
        number=donation.receipt_number,
        organization=_org_party(org, fundraising),
        donor=_donor_party(donation.contact, language),
        amount_minor=donation.amount_minor,
        refunded_minor=donation.refunded_minor,
        currency=donation.currency,
        received_on=local_day(received, org),
        fund=fund_name(donation.fund, language),
        method=donation.method,
        public_ref=donation.public_ref,
        ledger_seq=donation.ledger_seq,
        tracking_url=tracking_url(donation),
        footer=organization_text(fundraising, "receipt_footer", language, org.language),
        created_at=donation.confirmed_at or received,
    )


def fiscal_year_bounds(
    *, org: Organization, fiscal_year: int, start_month: int
) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of fiscal year N (the one that starts in year N), in the org's time zone."""
    if not 1 <= start_month <= 12:
        raise Invalid(_("The fiscal year must start in a month from 1 to 12."))
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int):
        raise Invalid(_("Enter a fiscal year such as 2026."), field="fiscal_year")
    if not 1900 <= fiscal_year <= 9998:
        raise Invalid(_("Enter a fiscal year such as 2026."), field="fiscal_year")
    zone = zoneinfo.ZoneInfo(org.time_zone)
    start = datetime.datetime(fiscal_year, start_month, 1, tzinfo=zone)
    end = datetime.datetime(fiscal_year + 1, start_month, 1, tzinfo=zone)
    return start, end


def gifts_in_fiscal_year(*, org: Organization, fiscal_year: int) -> QuerySet[Donation]:
    """Confirmed gifts received in the fiscal year (`refunded_minor` says what went back)."""
    fundraising = settings_for(org)
    start, end = fiscal_year_bounds(
        org=org, fiscal_year=fiscal_year, start_month=fundraising.fiscal_year_start_month
    )
    return Donation.objects.filter(organization=org, status=Donation.Status.CONFIRMED).filter(
        Q(received_at__gte=start, received_at__lt=end)
        | Q(received_at__isnull=True, confirmed_at__gte=start, confirmed_at__lt=end)
    )


def donor_ids_with_gifts(*, org: Organization, fiscal_year: int) -> list[int]:
    """Contacts with at least one gift in the fiscal year that refunds did not cancel."""
    ids = set()
    for contact_id, amount, refunded in gifts_in_fiscal_year(
        org=org, fiscal_year=fiscal_year
    ).values_list("contact_id", "amount_minor", "refunded_minor"):
        if amount - refunded > 0:
            ids.add(contact_id)
    return sorted(ids)


def statement_data(*, org: Organization, contact: Contact, fiscal_year: int) -> StatementData:
    """Every confirmed gift of `contact` in the fiscal year, net of refunds, oldest first."""
    if contact.organization_id != org.pk:
        raise Invalid(_("This contact belongs to another organization."))
    fundraising = settings_for(org)
    language = supported_language(contact.language, org.language)
    start, end = fiscal_year_bounds(
        org=org, fiscal_year=fiscal_year, start_month=fundraising.fiscal_year_start_month
    )
    gifts = (
        gifts_in_fiscal_year(org=org, fiscal_year=fiscal_year)
        .filter(contact=contact)
        .select_related("fund")
        .order_by(Coalesce("received_at", "confirmed_at"), "pk")
    )
    lines = []
    last_change = start
    for gift in gifts:
        net = gift.amount_minor - gift.refunded_minor
        if net <= 0:
            continue  # refunded in full: not a gift any more
        received = gift.received_at or gift.confirmed_at
        lines.append(
            StatementLine(
                received_on=local_day(received, org),
                receipt_number=gift.receipt_number,
                fund=fund_name(gift.fund, language),
                net_minor=net,
                currency=gift.currency,
            )
        )
        last_change = max(last_change, gift.confirmed_at or received)
    return StatementData(
        language=language,
        fiscal_year=fiscal_year,
        starts_on=start.date(),
        ends_on=end.date() - datetime.timedelta(days=1),
        organization=_org_party(org, fundraising),
        donor=_donor_party(contact, language),
        lines=tuple(lines),
        footer=organization_text(fundraising, "receipt_footer", language, org.language),
        created_at=last_change,
    )


def receipt_pdf(donation: Donation) -> bytes:
    """The receipt of a confirmed gift, in the donor's language. Invalid for other gifts."""
    return render_receipt(receipt_data(donation))


def annual_statement_pdf(*, org: Organization, contact: Contact, fiscal_year: int) -> bytes:
    """A donor's statement of gifts for fiscal year `fiscal_year`, in their language."""
    return render_statement(statement_data(org=org, contact=contact, fiscal_year=fiscal_year))


def receipt_file_name(number: str) -> str:
    return f"receipt-{number}.pdf"


def statement_file_name(fiscal_year: int) -> str:
    return f"statement-{fiscal_year}.pdf"


# --- rendering -------------------------------------------------------------------------------


class Cell(NamedTuple):
    text: str
    width: float
    kind: str = "free"  # see _Document._direction
    bold: bool = False
    end: bool = False  # aligned to the far side, as amounts are


class _Document:
    """An A4 page set up for one language: fonts, shaping, direction and metadata."""

    def __init__(
        self,
        *,
        language: str,
        title: str,
        author: str,
        created_at: datetime.datetime,
        arabic: bool,
    ):
        self.language = language
        self.rtl = language in RIGHT_TO_LEFT
        pdf = FPDF(format="A4")
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(auto=True, margin=_MARGIN)
        pdf.add_font("noto", "", FONTS_DIR / "NotoSans-Regular.ttf")
        pdf.add_font("noto", "B", FONTS_DIR / "NotoSans-Bold.ttf")
        if arabic:
            # Arabic letters (names, funds, the Arabic interface) come from the Arabic font,
            # in every language; its regular weight also stands in for bold. Only loaded
            # when needed: it is a third of the rendering time.
            pdf.add_font("noto-arabic", "", FONTS_DIR / "NotoSansArabic-Regular.ttf")
            pdf.set_fallback_fonts(["noto-arabic"], exact_match=False)
        pdf.set_text_shaping(True)
        pdf.set_lang(language)
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_creator("Solidaria")
        pdf.set_producer("Solidaria")
        pdf.set_creation_date(created_at.astimezone(datetime.UTC))
        pdf.add_page()
        self.pdf = pdf
        self.width = pdf.w - 2 * _MARGIN

    def _direction(self, kind: str) -> TextDirection | None:
        """`words`: our translated text; `data`: numbers, references and URLs; `free`: names.

        Interface words follow the page's direction; references and URLs always read left
        to right (inside Arabic text the bidi rules would flip "2026-000123"); names and
        addresses take the direction of their first strong letter.
        """
        if kind == "data":
            return TextDirection.LTR
        if kind == "words":
            return TextDirection.RTL if self.rtl else TextDirection.LTR
        return None

    @property
    def align(self) -> str:
        return "R" if self.rtl else "L"

    def text(
        self,
        text: str,
        *,
        size: float = 10,
        bold: bool = False,
        kind: str = "words",
        gap: float = 0,
    ) -> None:
        if not text:
            return
        pdf = self.pdf
        pdf.set_font("noto", "B" if bold else "", size)
        pdf.set_text_shaping(True, direction=self._direction(kind))
        pdf.set_x(_MARGIN)
        pdf.multi_cell(
            self.width, size * 0.5, text, align=self.align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        if gap:
            pdf.ln(gap)

    def row(self, cells: list["Cell"], *, repeat: list["Cell"] | None = None) -> None:
        """One line of a table, cells in reading order: right to left, the first is rightmost.

        On a new page, `repeat` (the table's header) is drawn again first.
        """
        pdf = self.pdf
        # A row is never split across pages: measure it first (the tallest cell).
        height = max(self._draw(cell, 0, 0, dry_run=True) for cell in cells)
        if pdf.get_y() + height > pdf.page_break_trigger and pdf.get_y() > pdf.t_margin:
            pdf.add_page()
            if repeat:
                self.row(repeat)
        top = pdf.get_y()
        x = pdf.w - _MARGIN if self.rtl else _MARGIN
        for cell in cells:
            left = x - cell.width if self.rtl else x
            self._draw(cell, left, top)
            x = left if self.rtl else x + cell.width
        pdf.set_xy(_MARGIN, top + height + 1)

    def _draw(self, cell: "Cell", left: float, top: float, *, dry_run: bool = False) -> float:
        """Draw one cell at (left, top), or only measure it; returns its height."""
        pdf = self.pdf
        # Bold Latin runs inside right-to-left pages come out as wrong glyphs with fpdf2's
        # shaping (amounts vanished from Arabic receipts), so Arabic pages use regular weight.
        pdf.set_font("noto", "B" if cell.bold and not self.rtl else "", 10)
        pdf.set_text_shaping(True, direction=self._direction(cell.kind))
        if not dry_run:
            pdf.set_xy(left, top)
        # Amounts line up on their far side: the right edge, or the left one in Arabic.
        align = ("L" if self.rtl else "R") if cell.end else self.align
        return float(
            pdf.multi_cell(
                cell.width,
                _LINE,
                cell.text,
                align=align,
                dry_run=dry_run,
                output=MethodReturnValue.HEIGHT,
            )
        )

    def field(self, label: str, value: str, *, kind: str = "free", bold: bool = False) -> None:
        if value:
            self.row(
                [
                    Cell(label, _LABEL_WIDTH, "words", bold=True),
                    Cell(value, self.width - _LABEL_WIDTH, kind, bold=bold),
                ]
            )

    def rule(self) -> None:
        pdf = self.pdf
        pdf.ln(2)
        pdf.set_draw_color(160, 160, 160)
        pdf.line(_MARGIN, pdf.get_y(), pdf.w - _MARGIN, pdf.get_y())
        pdf.ln(4)

    def party(self, party: Party, *, heading: str) -> None:
        self.text(heading, size=8, gap=1)
        self.text(party.name, size=11, bold=True, kind="free")
        for line in party.address_lines:
            self.text(line, kind="free")
        if party.tax_id:
            self.row(
                [
                    Cell(_("Tax id"), _LABEL_WIDTH / 2, "words"),
                    Cell(party.tax_id, self.width - _LABEL_WIDTH / 2, "data"),
                ]
            )
        self.pdf.ln(3)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _needs_arabic(data: "ReceiptData | StatementData") -> bool:
    """Whether the page shows Arabic letters: the Arabic interface, or a name, fund or text
    written in Arabic (every text of the data is in its repr)."""
    return data.language == "ar" or bool(_ARABIC_SCRIPT.search(repr(data)))


def render_receipt(data: ReceiptData) -> bytes:
    """The PDF of one gift's receipt."""
    lang = data.language
    with translation.override(lang):
        title = _("Donation receipt %(number)s") % {"number": data.number}
        doc = _Document(
            language=lang,
            title=title,
            author=data.organization.name,
            created_at=data.created_at,
            arabic=_needs_arabic(data),
        )
        doc.party(data.organization, heading=_("Received by"))
        doc.text(_("Donation receipt"), size=16, bold=True, gap=2)
        doc.field(_("Receipt number"), data.number, kind="data", bold=True)
        doc.field(_("Date"), format_day(data.received_on, lang))
        doc.field(_("Amount"), format_money(data.amount_minor, data.currency, lang), bold=True)
        if data.refunded_minor:
            doc.field(_("Refunded"), format_money(data.refunded_minor, data.currency, lang))
        doc.field(_("Fund"), data.fund)
        doc.field(_("Payment method"), str(Method(data.method).label))
        reference = data.public_ref
        if data.ledger_seq is not None:
            reference = f"{data.public_ref} (#{data.ledger_seq})"
        doc.field(_("Public ledger reference"), reference, kind="data")
        doc.rule()
        doc.party(data.donor, heading=_("Given by"))
        doc.text(
            _(
                "You can follow your gift at this address: what it paid for, and its "
                "entry in our public ledger."
            ),
            gap=1,
        )
        doc.text(data.tracking_url, kind="data", gap=4)
        doc.text(_("Thank you for your support."), bold=True, gap=4)
        doc.text(data.footer, size=8, kind="free")
        return doc.output()


def render_statement(data: StatementData) -> bytes:
    """The PDF of a donor's annual statement: one line per gift, net of refunds, and totals."""
    lang = data.language
    with translation.override(lang):
        title = _("Statement of gifts %(year)s") % {"year": data.fiscal_year}
        doc = _Document(
            language=lang,
            title=title,
            author=data.organization.name,
            created_at=data.created_at,
            arabic=_needs_arabic(data),
        )
        doc.party(data.organization, heading=_("Received by"))
        doc.party(data.donor, heading=_("Given by"))
        doc.text(title, size=16, bold=True, gap=1)
        doc.text(
            _("From %(start)s to %(end)s")
            % {"start": format_day(data.starts_on, lang), "end": format_day(data.ends_on, lang)},
            gap=4,
        )
        widths = (40.0, 36.0, doc.width - 40.0 - 36.0 - 34.0, 34.0)
        header = [
            Cell(_("Date"), widths[0], "words", bold=True),
            Cell(_("Receipt number"), widths[1], "words", bold=True),
            Cell(_("Fund"), widths[2], "words", bold=True),
            Cell(_("Amount"), widths[3], "words", bold=True, end=True),
        ]
        doc.row(header)
        for line in data.lines:
            doc.row(
                [
                    Cell(format_day(line.received_on, lang), widths[0]),
                    Cell(line.receipt_number, widths[1], "data"),
                    Cell(line.fund, widths[2]),
                    Cell(format_money(line.net_minor, line.currency, lang), widths[3], end=True),
                ],
                repeat=header,
            )
        if not data.lines:
            doc.text(_("No gifts in this period."))
        doc.rule()
        for currency, total in sorted(data.totals().items()):
            doc.row(
                [
                    Cell(_("Total"), widths[0] + widths[1] + widths[2], "words", bold=True),
                    Cell(format_money(total, currency, lang), widths[3], bold=True, end=True),
                ]
            )
        doc.pdf.ln(4)
        doc.text(_("Amounts are net of any refunds."), size=8, gap=2)
        doc.text(_("Thank you for your support."), bold=True, gap=4)
        doc.text(data.footer, size=8, kind="free")
        return doc.output()
