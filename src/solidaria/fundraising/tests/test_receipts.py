import datetime
import io
import re
from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision, parse_decimal
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from solidaria.core.errors import Invalid
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.receipts import (
    Party,
    StatementData,
    StatementLine,
    annual_statement_pdf,
    format_money,
    receipt_pdf,
    render_statement,
)
from solidaria.fundraising.tests.factories import make_fund, make_gift, make_pending_gift
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

UTC = datetime.UTC
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


def pdf_text(data: bytes) -> str:
    """The text of every page, with the spaces Babel uses (no-break, narrow) made plain."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\xa0", " ").replace("\u202f", " ")


def embedded_fonts(data: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(data))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            if "/FontFile2" in descriptor.get_object():
                names.add(str(font["/BaseFont"]).split("+")[-1])
    return names


def make_org(**fields):
    org = OrganizationFactory(**fields)
    actions.update_fundraising_settings(
        org=org,
        actor=TEST_ACTOR,
        legal_name="Asociación Agua Limpia",
        tax_id="G12345678",
        address="Carrer Major 1\n08001 Barcelona",
        texts={"es": {"receipt_footer": "Donativo deducible (Ley 49/2002)."}},
    )
    return org


EXPECTED_AMOUNT = {
    "en": "€12.50",
    "es": "12,50 €",
    "ca": "12,50 €",
    "it": "12,50 €",
    "de": "12,50 €",
    "fr": "12,50 €",
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", sorted(EXPECTED_AMOUNT))
def test_receipt_shows_number_amount_and_tracking_url_in_the_donors_language(settings, language):
    # given
    settings.BASE_URL = "https://give.example.org"
    org = make_org()
    donor = make_contact(org, language=language, street="Calle Luna 3", city="Madrid")
    gift = make_gift(
        org,
        contact=donor,
        amount_minor=1250,
        method="stripe",
        received_at=datetime.datetime(2026, 3, 1, 10, tzinfo=UTC),
    )

    # when
    text = pdf_text(receipt_pdf(gift))

    # then
    assert gift.receipt_number in text
    assert EXPECTED_AMOUNT[language] in text
    assert f"https://give.example.org/t/{gift.tracking_token}" in text
    assert gift.public_ref in text
    assert "Asociación Agua Limpia" in text
    assert "G12345678" in text
    assert "Calle Luna 3" in text
    assert "2026" in text


@pytest.mark.django_db
def test_receipt_dates_and_footer_follow_the_donors_language():
    # given
    org = make_org()
    gift = make_gift(
        org,
        contact=make_contact(org, language="es"),
        received_at=datetime.datetime(2026, 3, 1, 10, tzinfo=UTC),
    )

    # when
    text = pdf_text(receipt_pdf(gift))

    # then
    assert "1 de marzo de 2026" in text
    assert "Donativo deducible (Ley 49/2002)." in text


@pytest.mark.django_db
def test_arabic_receipt_is_shaped_with_the_embedded_arabic_font():
    # given
    org = make_org(language="es")
    donor = make_contact(org, given_name="محمد", family_name="العلي", language="ar")
    gift = make_gift(
        org,
        contact=donor,
        amount_minor=1250,
        received_at=datetime.datetime(2026, 3, 1, 10, tzinfo=UTC),
    )

    # when
    data = receipt_pdf(gift)

    # then
    text = pdf_text(data)
    assert ARABIC_LETTER.search(text)
    assert "مارس" in text  # the month, from Babel's Arabic calendar
    assert "محمد" in text
    assert "12.50" in text
    assert "€" in text
    assert gift.receipt_number in text
    assert {"NotoSans", "NotoSansArabic"} <= embedded_fonts(data)
    assert PdfReader(io.BytesIO(data)).trailer["/Root"]["/Lang"] == "ar"


@pytest.mark.django_db
def test_an_arabic_name_on_a_spanish_receipt_is_written_in_arabic_letters():
    # given
    org = make_org()
    donor = make_contact(org, given_name="محمد", family_name="العلي", language="es")
    gift = make_gift(org, contact=donor, received_at=datetime.datetime(2026, 3, 1, tzinfo=UTC))

    # when
    data = receipt_pdf(gift)

    # then
    assert "محمد" in pdf_text(data)
    assert "1 de marzo de 2026" in pdf_text(data)
    assert "NotoSansArabic" in embedded_fonts(data)


@pytest.mark.django_db
def test_receipt_language_is_the_contacts_then_the_gifts_then_the_organizations():
    # given
    org = make_org(language="de")
    when = datetime.datetime(2026, 3, 1, 10, tzinfo=UTC)
    by_contact = make_gift(
        org, contact=make_contact(org, language="fr"), language="es", received_at=when
    )
    by_gift = make_gift(
        org, contact=make_contact(org, language=""), language="it", received_at=when
    )
    by_org = make_gift(org, contact=make_contact(org, language=""), received_at=when)

    # when
    texts = [pdf_text(receipt_pdf(gift)) for gift in (by_contact, by_gift, by_org)]

    # then
    assert "1 mars 2026" in texts[0]
    assert "1 marzo 2026" in texts[1]
    assert "1. März 2026" in texts[2]


@pytest.mark.django_db
def test_receipt_is_the_same_bytes_every_time_and_dated_by_the_gift():
    # given
    org = make_org()
    gift = make_gift(org, received_at=datetime.datetime(2026, 3, 1, 10, tzinfo=UTC))

    # when
    first, second = receipt_pdf(gift), receipt_pdf(gift)

    # then
    assert first == second
    created = PdfReader(io.BytesIO(first)).metadata.creation_date
    assert created.astimezone(UTC).replace(microsecond=0) == gift.confirmed_at.replace(
        microsecond=0
    )


@pytest.mark.django_db
def test_a_pending_gift_has_no_receipt():
    # given
    org = make_org()
    gift = make_pending_gift(org)

    # when / then
    with pytest.raises(Invalid):
        receipt_pdf(gift)


@pytest.mark.django_db
def test_a_partly_refunded_gift_shows_the_refund_on_its_receipt():
    # given
    org = make_org()
    gift = make_gift(
        org,
        contact=make_contact(org, language="en"),
        amount_minor=5000,
        received_at=datetime.datetime(2026, 3, 1, 10, tzinfo=UTC),
    )
    actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=2000)

    # when
    text = pdf_text(receipt_pdf(gift))

    # then
    assert "€50.00" in text
    assert "€20.00" in text


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.django_db
def test_annual_statement_lists_the_fiscal_years_gifts_net_of_refunds_with_a_total():
    # given a fiscal year from April to March, in Madrid time
    org = make_org(time_zone="Europe/Madrid")
    actions.update_fundraising_settings(org=org, actor=TEST_ACTOR, fiscal_year_start_month=4)
    donor = make_contact(org, language="en")
    fund = make_fund(org, "water", name="Clean water")

    def gift(amount_minor, received_at, **fields):
        return make_gift(
            org,
            contact=donor,
            fund=fund,
            amount_minor=amount_minor,
            received_at=received_at,
            **fields,
        )

    gift(1111, at(2025, 3, 31, 21, 30))  # 23:30 in Madrid: the year before
    first = gift(1000, at(2025, 3, 31, 22, 30))  # 00:30 on 1 April in Madrid
    refunded = gift(5000, at(2025, 9, 1, 12))
    actions.refund_donation(donation=refunded, actor=TEST_ACTOR, amount_minor=1500)
    gone = gift(7777, at(2025, 10, 1, 12))
    actions.refund_donation(donation=gone, actor=TEST_ACTOR)  # in full
    last = gift(2500, at(2026, 3, 31, 21, 59))  # 23:59 on 31 March in Madrid
    gift(3333, at(2026, 3, 31, 22, 0))  # the next fiscal year
    make_gift(org, amount_minor=9999, received_at=at(2025, 6, 1, 12))  # another donor
    make_pending_gift(org, contact=donor, amount_minor=8888)

    # when
    text = pdf_text(annual_statement_pdf(org=org, contact=donor, fiscal_year=2025))

    # then
    assert "April 1, 2025" in text
    assert "March 31, 2026" in text
    assert first.receipt_number in text
    assert last.receipt_number in text
    assert "€10.00" in text
    assert "€35.00" in text  # 50.00 less the 15.00 refunded
    assert "€25.00" in text
    assert "Total €70.00" in text
    for absent in ("11.11", "77.77", "33.33", "99.99", "88.88", "€50.00", gone.receipt_number):
        assert absent not in text


@pytest.mark.django_db
def test_annual_statement_of_a_year_without_gifts_says_so():
    # given
    org = make_org()
    donor = make_contact(org, language="en")

    # when
    text = pdf_text(annual_statement_pdf(org=org, contact=donor, fiscal_year=2020))

    # then
    assert "No gifts in this period." in text


@pytest.mark.django_db
def test_annual_statement_refuses_another_organizations_contact():
    # given
    org, other = make_org(), make_org()

    # when / then
    with pytest.raises(Invalid):
        annual_statement_pdf(org=org, contact=make_contact(other), fiscal_year=2025)


@pytest.mark.slow
def test_a_long_arabic_statement_repeats_its_header_on_every_page():
    """Slow: shapes two pages of right-to-left text with HarfBuzz (about half a second)."""
    # given: plain data, no database
    line = StatementLine(datetime.date(2026, 5, 3), "2026-000001", "صندوق المياه", 1250, "EUR")
    data = StatementData(
        language="ar",
        fiscal_year=2026,
        starts_on=datetime.date(2026, 1, 1),
        ends_on=datetime.date(2026, 12, 31),
        organization=Party("جمعية الماء", ("شارع 1",), "G1"),
        donor=Party("Ana García"),
        lines=(line,) * 45,
        footer="",
        created_at=at(2026, 12, 31, 12),
    )

    # when
    pdf = render_statement(data)

    # then
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 2
    for page in pages:
        assert "الإيصال" in page.extract_text()  # the "Receipt number" column header
    assert data.totals() == {"EUR": 45 * 1250}
    assert "562.50" in pdf_text(pdf)


@given(
    amount_minor=st.integers(min_value=0, max_value=10**11),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CHF"]),
    language=st.sampled_from(["en", "es", "ca", "it", "de", "fr", "ar"]),
)
def test_formatted_money_reads_back_as_the_same_amount(amount_minor, currency, language):
    # when
    shown = format_money(amount_minor, currency, language)

    # then: the digits say exactly the amount, in the currency's minor units
    digits = get_currency_precision(currency)
    # The number alone: digits and separators (fr groups with a narrow no-break space),
    # without the symbol, whose own dots (د.ك.) are not the number's.
    number = re.search(r"\d(?:[\d.,\u066b\u066c\u202f\xa0]*\d)?", shown).group()
    assert parse_decimal(number, locale=language, strict=True) == Decimal(amount_minor).scaleb(
        -digits
    )
