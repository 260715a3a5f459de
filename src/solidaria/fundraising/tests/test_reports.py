"""Fundraising reports: their numbers on small hand-made books, their pages and CSV files.

The gifts are written straight into the table: the reports only read it, and a hand-made
row makes each boundary (time zone, fiscal year, refund, status) explicit.
"""

import csv
import datetime
import io
import itertools
import re
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from solidaria.core.models import Organization
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory
from solidaria.fundraising import reports
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Fund,
    FundraisingSettings,
    RecurringPlan,
)
from solidaria.fundraising.report_views import to_decimal
from solidaria.people.models import Contact
from solidaria.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
UTC = datetime.UTC
_refs = itertools.count()


def utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=MADRID).astimezone(UTC)  # type: ignore[misc]


def fund(org: Organization, slug: str = "general") -> Fund:
    return Fund.objects.get_or_create(
        organization=org, slug=slug, defaults={"name": slug.title(), "restricted": False}
    )[0]


def gift(
    org: Organization,
    contact: Contact,
    amount: int,
    at: datetime.datetime | None,
    *,
    status: str = "confirmed",
    refunded: int = 0,
    to: Fund | None = None,
    campaign: Campaign | None = None,
    method: str = "bank_transfer",
    currency: str = "EUR",
) -> Donation:
    n = next(_refs)
    return Donation.objects.create(
        organization=org,
        contact=contact,
        amount_minor=amount,
        currency=currency,
        fund=to or fund(org),
        campaign=campaign,
        method=method,
        status=status,
        public_ref=f"R{n}",
        tracking_token=f"T{n}",
        received_at=at,
        refunded_minor=refunded,
    )


def plan(
    org: Organization,
    contact: Contact,
    amount: int,
    frequency: str,
    created: datetime.datetime,
    cancelled: datetime.datetime | None = None,
    *,
    status: str = "",
) -> RecurringPlan:
    return RecurringPlan.objects.create(
        organization=org,
        contact=contact,
        amount_minor=amount,
        currency="EUR",
        fund=fund(org),
        frequency=frequency,
        method="sepa",
        status=status or ("cancelled" if cancelled else "active"),
        created_at=created,
        cancelled_at=cancelled,
    )


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory(time_zone="Europe/Madrid", currency="EUR")


# -- income by month


def test_income_by_month_uses_local_months_nets_refunds_and_skips_unconfirmed(org):
    # given gifts either side of local month boundaries (winter +1, summer +2)
    ana = make_contact(org)
    gift(org, ana, 1000, utc(2025, 1, 31, 22, 30))  # 23:30 in Madrid: January
    gift(org, ana, 2000, utc(2025, 1, 31, 23, 30))  # 00:30 on 1 February in Madrid
    gift(org, ana, 3000, utc(2025, 3, 31, 22, 30))  # 00:30 on 1 April (summer time)
    gift(org, ana, 5000, utc(2025, 4, 10), refunded=1500)  # partly refunded: 35.00
    gift(org, ana, 9000, utc(2025, 4, 11), refunded=9000)  # refunded in full: nothing
    gift(org, ana, 7000, utc(2025, 4, 12), status="pending")
    gift(org, ana, 7000, utc(2025, 4, 13), status="failed")
    gift(org, ana, 4000, utc(2023, 5, 31, 23))  # 1 June 2023: the oldest month shown
    gift(org, ana, 4000, utc(2023, 5, 31, 21))  # 31 May 2023: just too old

    # when
    rows = reports.income_by_month(org=org, today=datetime.date(2025, 5, 20))

    # then 24 months, June 2023 to May 2025, in EUR
    assert len(rows) == 24
    assert rows[0].month == datetime.date(2023, 6, 1)
    assert rows[-1].month == datetime.date(2025, 5, 1)
    by_month = {row.month: (row.gifts, row.amount_minor) for row in rows}
    assert by_month[datetime.date(2023, 6, 1)] == (1, 4000)
    assert by_month[datetime.date(2025, 1, 1)] == (1, 1000)
    assert by_month[datetime.date(2025, 2, 1)] == (1, 2000)
    assert by_month[datetime.date(2025, 3, 1)] == (0, 0)
    assert by_month[datetime.date(2025, 4, 1)] == (2, 6500)
    assert sum(row.amount_minor for row in rows) == 4000 + 1000 + 2000 + 6500


def test_income_by_month_keeps_other_currencies_apart(org):
    # given
    ana = make_contact(org)
    gift(org, ana, 1000, utc(2025, 5, 2))
    gift(org, ana, 700, utc(2025, 5, 3), currency="USD")

    # when
    rows = reports.income_by_month(org=org, today=datetime.date(2025, 5, 20))

    # then every month in EUR, USD only where received
    assert [(r.currency, r.amount_minor) for r in rows if r.gifts] == [("EUR", 1000), ("USD", 700)]
    assert len(rows) == 25


# -- income by campaign, fund and method


def test_income_by_campaign_fund_and_method_for_local_days(org):
    # given
    ana, joan = make_contact(org), make_contact(org, given_name="Joan")
    water = fund(org, "water")
    spring = Campaign.objects.create(
        organization=org, slug="spring", title="Spring", fund=water, currency="EUR"
    )
    gift(org, ana, 1000, local(2025, 3, 1, 0, 10), to=water, campaign=spring, method="stripe")
    gift(org, joan, 2500, local(2025, 3, 31, 23, 50), to=water, campaign=spring)
    gift(org, joan, 4000, local(2025, 3, 15), refunded=1000, method="stripe")
    gift(org, ana, 8000, local(2025, 2, 28, 23, 59))  # the day before the range
    gift(org, ana, 8000, local(2025, 4, 1, 0, 0))  # the day after
    gift(org, ana, 8000, local(2025, 3, 10), status="pending", campaign=spring)
    start, end = datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)

    # when
    by_campaign = reports.income_by(org=org, dimension="campaign", start=start, end=end)
    by_fund = reports.income_by(org=org, dimension="fund", start=start, end=end)
    by_method = reports.income_by(org=org, dimension="method", start=start, end=end)

    # then
    assert [(r.label, r.gifts, r.amount_minor) for r in by_campaign] == [
        ("Spring", 2, 3500),
        ("No campaign", 1, 3000),
    ]
    assert [(r.label, r.amount_minor) for r in by_fund] == [("Water", 3500), ("General", 3000)]
    assert [(r.key, r.gifts, r.amount_minor) for r in by_method] == [
        ("stripe", 2, 4000),
        ("bank_transfer", 1, 2500),
    ]


def test_income_by_refuses_a_backwards_range(org):
    with pytest.raises(reports.Invalid):
        reports.income_by(
            org=org,
            dimension="fund",
            start=datetime.date(2025, 3, 2),
            end=datetime.date(2025, 3, 1),
        )


# -- retention


def test_retention_counts_donors_who_gave_again_by_fiscal_year(org):
    # given fiscal years starting in July: "2023–24" runs 1 July 2023 to 30 June 2024
    FundraisingSettings.objects.create(organization=org, fiscal_year_start_month=7)
    a, b, c, d = (make_contact(org, given_name=n) for n in "ABCD")
    gift(org, a, 1000, local(2023, 7, 1, 0, 5))  # FY 2023
    gift(org, a, 1000, local(2024, 7, 1, 0, 5))  # FY 2024
    gift(org, b, 1000, local(2024, 6, 30, 23, 55))  # FY 2023, five minutes before FY 2024
    gift(org, b, 1000, local(2025, 3, 1), refunded=1000)  # refunded in full: not a gift
    gift(org, c, 1000, local(2023, 9, 1))  # FY 2023
    gift(org, c, 1000, local(2025, 1, 1), status="failed")
    gift(org, d, 1000, local(2024, 12, 1))  # FY 2024, new

    # when
    rows = reports.retention(org=org, today=datetime.date(2025, 3, 20))

    # then five years, the last (2024–25) to date
    assert [r.label for r in rows] == ["2020–21", "2021–22", "2022–23", "2023–24", "2024–25"]
    last = rows[-1]
    assert (last.donors, last.previous_donors, last.retained) == (2, 3, 1)
    assert last.rate == Decimal("33.3")
    assert last.to_date
    assert rows[-2].donors == 3
    assert rows[-2].rate is None  # nobody gave the year before


# -- lapsed donors


def test_lybunt_and_sybunt_with_last_gift_and_lifetime_total(org):
    # given today is in fiscal (calendar) year 2025
    today = datetime.date(2025, 2, 10)
    lapsed = make_contact(org, given_name="Lapsed")
    gift(org, lapsed, 1000, local(2022, 5, 1))
    gift(org, lapsed, 3000, local(2024, 12, 31, 23, 30), refunded=500)  # last day of 2024
    loyal = make_contact(org, given_name="Loyal")
    gift(org, loyal, 1000, local(2024, 5, 1))
    gift(org, loyal, 1000, local(2025, 1, 1, 0, 30))  # gave this year already
    older = make_contact(org, given_name="Older")
    gift(org, older, 9000, local(2023, 12, 31, 23, 30))
    gift(org, older, 9000, local(2024, 6, 1), status="failed")
    refunded = make_contact(org, given_name="Refunded")
    gift(org, refunded, 2000, local(2022, 1, 5))
    gift(org, refunded, 5000, local(2024, 6, 1), refunded=5000)  # does not count

    # when
    lybunt = reports.lapsed_donors(org=org, kind="lybunt", today=today)
    sybunt = reports.lapsed_donors(org=org, kind="sybunt", today=today)

    # then
    assert [(r.name, r.gifts, r.total_minor) for r in lybunt.rows] == [("Lapsed García", 2, 3500)]
    assert lybunt.rows[0].last_gift_at == local(2024, 12, 31, 23, 30)
    assert [(r.name, r.total_minor) for r in sybunt.rows] == [
        ("Older García", 9000),
        ("Refunded García", 2000),
    ]
    assert sybunt.count == 2


def test_lapsed_donors_are_paginated(org):
    # given three lapsed donors
    for amount in (1000, 3000, 2000):
        gift(org, make_contact(org), amount, local(2024, 3, 1))

    # when
    second = reports.lapsed_donors(
        org=org, kind="lybunt", page=2, page_size=2, today=datetime.date(2025, 3, 1)
    )
    beyond = reports.lapsed_donors(
        org=org, kind="lybunt", page=9, page_size=2, today=datetime.date(2025, 3, 1)
    )

    # then largest first: page 2 holds the smallest; past the end shows the last page
    assert [r.total_minor for r in second.rows] == [1000]
    assert (second.count, second.page, second.pages) == (3, 2, 2)
    assert (beyond.page, [r.total_minor for r in beyond.rows]) == (2, [1000])


# -- recurring revenue


def test_recurring_revenue_mrr_and_churn(org):
    # given
    ana = make_contact(org)
    plan(org, ana, 1000, "monthly", local(2024, 1, 10))
    plan(org, ana, 3000, "quarterly", local(2024, 2, 1))
    plan(org, ana, 12000, "yearly", local(2024, 3, 1))
    plan(org, ana, 500, "monthly", local(2024, 1, 1), status="paused")
    plan(org, ana, 2000, "monthly", local(2024, 1, 5), cancelled=local(2025, 4, 30, 23, 30))
    plan(org, ana, 700, "monthly", local(2025, 4, 2), cancelled=local(2025, 4, 20))

    # when
    result = reports.recurring_revenue(org=org, today=datetime.date(2025, 5, 15))

    # then MRR now: 10 + 30/3 + 120/12 (the paused and cancelled plans do not count)
    assert [(m.currency, m.plans, m.mrr_minor) for m in result.mrr] == [("EUR", 3, 3000)]
    months = {m.month: m for m in result.months}
    april, may = months[datetime.date(2025, 4, 1)], months[datetime.date(2025, 5, 1)]
    assert (april.active_at_start, april.new, april.cancelled) == (5, 1, 1)
    assert april.churn_rate == Decimal("20.0")
    assert april.mrr_minor_at_start == 1000 + 1000 + 1000 + 500 + 2000
    assert (may.active_at_start, may.cancelled, may.churn_rate) == (4, 0, Decimal("0.0"))
    assert len(result.months) == 12


# -- RFM


def test_rfm_scores_and_segments(org):
    # given five donors, each ranking the same on recency, frequency and amount
    today = datetime.date(2025, 6, 1)
    donors = []
    for rank in range(1, 6):  # rank 5: the most recent, most frequent, largest
        donor = make_contact(org, given_name=f"D{rank}")
        for i in range(rank):
            gift(org, donor, 1000 * rank, local(2025, rank, 1) - datetime.timedelta(days=30 * i))
        donors.append(donor)
    gift(org, donors[0], 99999, local(2021, 1, 1))  # older than three years: not counted

    # when
    segments = {s.code: s.donors for s in reports.rfm_segments(org=org, today=today)}
    champions = reports.rfm_donors(org=org, segment="champions", today=today)
    lost = reports.rfm_donors(org=org, segment="lost", today=today)

    # then
    assert segments == {
        "champions": 2,
        "loyal": 0,
        "new": 0,
        "promising": 0,
        "at_risk": 0,
        "lost": 2,
        "need_attention": 1,
    }
    assert [(r.name, r.recency, r.frequency, r.monetary) for r in champions.rows] == [
        ("D5 García", 5, 5, 5),
        ("D4 García", 4, 4, 4),
    ]
    assert [r.total_minor for r in lost.rows] == [2000 * 2, 1000]


def test_rfm_ties_share_a_score(org):
    # given two donors with one gift each, one with three
    today = datetime.date(2025, 6, 1)
    for _ in range(2):
        gift(org, make_contact(org), 1000, local(2025, 5, 1))
    often = make_contact(org, given_name="Often")
    for month in (1, 2, 3):
        gift(org, often, 1000, local(2025, month, 1))

    # when
    rows = [
        row
        for code in reports.SEGMENTS
        for row in reports.rfm_donors(org=org, segment=code, today=today).rows
    ]

    # then the two single gifts score F = 1 alike
    assert sorted(r.frequency for r in rows) == [1, 1, 4]


def test_unknown_report_arguments_are_refused(org):
    with pytest.raises(reports.Invalid):
        reports.rfm_donors(org=org, segment="nope")
    with pytest.raises(reports.Invalid):
        reports.lapsed_donors(org=org, kind="nope")  # type: ignore[arg-type]


# -- query counts


def _books(org: Organization, donors: int) -> None:
    """Regular donors, one who gave only last year and one who gave three years ago."""
    year = timezone.localdate().year
    for i in range(donors):
        contact = make_contact(org, given_name=f"N{i}")
        gift(org, contact, 1000 + i, timezone.now() - datetime.timedelta(days=400 + i))
        gift(org, contact, 1000, timezone.now() - datetime.timedelta(days=10 * i))
        plan(org, contact, 1000, "monthly", timezone.now() - datetime.timedelta(days=100))
    gift(org, make_contact(org, given_name="Last"), 2550, local(year - 1, 6, 1))
    gift(org, make_contact(org, given_name="Some"), 7525, local(year - 3, 6, 1))


def _later(years: int) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year + years, day=min(today.day, 28))


CALLS = {
    "month": (lambda org: reports.income_by_month(org=org), 2),
    "fund": (
        lambda org: reports.income_by(
            org=org,
            dimension="fund",
            start=datetime.date(2000, 1, 1),
            end=datetime.date(2100, 1, 1),
        ),
        3,
    ),
    "retention": (lambda org: reports.retention(org=org), 2),
    "sybunt": (lambda org: reports.lapsed_donors(org=org, kind="sybunt", today=_later(3)), 3),
    "recurring": (lambda org: reports.recurring_revenue(org=org), 3),
    "rfm": (lambda org: reports.rfm_segments(org=org), 2),
    "rfm_list": (lambda org: reports.rfm_donors(org=org, segment="lost", today=_later(2)), 3),
}


@pytest.mark.parametrize("name", CALLS)
def test_query_count_does_not_grow_with_the_books(org, django_assert_num_queries, name):
    # given
    call, expected = CALLS[name]
    small = OrganizationFactory()
    _books(small, 1)
    _books(org, 6)

    # when / then
    with django_assert_num_queries(expected):
        call(small)
    with django_assert_num_queries(expected):
        call(org)


# -- pages and CSV


def staff(org: Organization, role: str = "viewer") -> Client:
    membership = MembershipFactory(organization=org, role=role)
    client = Client()
    client.force_login(membership.user)
    return client


def url(name: str, org: Organization, *args: Any) -> str:
    return reverse(f"fundraising:report_{name}", args=[org.slug, *args])


REPORT_PAGES = ["month", "campaign", "fund", "method", "retention", "lybunt", "sybunt"]
REPORT_PAGES += ["recurring", "rfm"]


@pytest.mark.parametrize("name", REPORT_PAGES)
def test_pages_run_as_many_queries_for_a_small_and_a_larger_organization(name):
    # given two organizations, one with six times the donors
    small, larger = OrganizationFactory(), OrganizationFactory()
    _books(small, 1)
    _books(larger, 6)
    clients = {org.pk: staff(org) for org in (small, larger)}

    # when
    counts = []
    for org in (small, larger):
        clients[org.pk].get(url(name, org))  # the session is warm
        with CaptureQueriesContext(connection) as queries:
            assert clients[org.pk].get(url(name, org) + "?format=csv").status_code == 200
        counts.append(len(queries))

    # then
    assert counts[0] == counts[1]


@pytest.mark.parametrize("name", [*REPORT_PAGES, "index"])
def test_a_viewer_sees_every_report_and_another_organization_gets_404(org, name):
    # given
    _books(org, 2)
    viewer = staff(org)
    outsider = staff(OrganizationFactory(), role="admin")

    # when
    mine = viewer.get(url(name, org))
    theirs = outsider.get(url(name, org))
    anonymous = Client().get(url(name, org))

    # then
    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert anonymous.status_code == 302


@pytest.mark.parametrize("name", REPORT_PAGES)
def test_csv_has_the_numbers_the_page_shows(org, name):
    # given
    _books(org, 3)
    client = staff(org)

    # when
    page = client.get(url(name, org)).content.decode()
    response = client.get(url(name, org) + "?format=csv")

    # then every amount of the CSV is on the page, formatted for the reader
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, body = rows[0], rows[1:]
    assert body
    money = [i - 1 for i, h in enumerate(header) if h == "Currency"]
    for row in body:
        for i, cell in enumerate(row):
            if i in money and cell:
                assert f"€{Decimal(cell):,.2f}" in page
            elif re.fullmatch(r"\d{1,3}(\.\d)?", cell):  # counts and percentages
                assert f">{cell}" in page


def test_csv_amounts_are_raw_decimals_and_the_page_uses_the_readers_language(org):
    # given
    ana = make_contact(org)
    gift(org, ana, 123456, timezone.now() - datetime.timedelta(days=1))
    client = staff(org)

    # when
    csv_text = client.get(url("month", org) + "?format=csv").content.decode()
    spanish = client.get(url("month", org), HTTP_ACCEPT_LANGUAGE="es").content.decode()

    # then
    assert "1234.56,EUR" in csv_text
    assert "1234,56\xa0€" in spanish or "1.234,56\xa0€" in spanish


def test_lapsed_list_links_to_the_contact_and_csv_escapes_formulas(org):
    # given
    sly = make_contact(org, given_name="=HYPERLINK(1)", family_name="")
    gift(org, sly, 1000, timezone.now() - datetime.timedelta(days=800))
    client = staff(org)

    # when
    page = client.get(url("sybunt", org)).content.decode()
    csv_text = client.get(url("sybunt", org) + "?format=csv").content.decode()

    # then
    assert reverse("people:contact_detail", args=[org.slug, sly.pk]) in page
    assert "'=HYPERLINK(1)" in csv_text


def test_bad_dates_and_pages_are_answered_not_crashed(org):
    # given
    client = staff(org)
    backwards = {"start": "2025-03-02", "end": "2025-03-01"}

    # when
    page = client.get(url("fund", org), backwards)
    csv_answer = client.get(url("fund", org), {**backwards, "format": "csv"})
    nonsense = client.get(url("campaign", org), {"start": "yesterday", "end": "2025-13-01"})
    extreme = client.get(url("campaign", org), {"start": "0001-01-01", "end": "9999-12-31"})
    bad_page = client.get(url("lybunt", org), {"page": "x"})
    segment = client.get(url("rfm_segment", org, "nope"))

    # then
    assert page.status_code == 200
    assert "The start date is after the end date." in page.content.decode()
    assert csv_answer.status_code == 400
    assert nonsense.status_code == 200
    assert extreme.status_code == 200
    assert "Choose dates between 1900-01-01 and 2999-12-31." in extreme.content.decode()
    assert bad_page.status_code == 200
    assert segment.status_code == 404


def test_a_chosen_range_is_reported(org):
    # given
    ana = make_contact(org)
    gift(org, ana, 4200, local(2024, 3, 5), method="cash")
    gift(org, ana, 1000, local(2024, 4, 5), method="cash")
    client = staff(org)

    # when
    response = client.get(
        url("method", org), {"start": "2024-03-01", "end": "2024-03-31", "format": "csv"}
    )

    # then
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["Cash", "1", "42.00", "EUR"]


def test_rfm_segment_page_lists_its_donors(org):
    # given
    ana = make_contact(org, given_name="Solo")
    gift(org, ana, 1000, timezone.now() - datetime.timedelta(days=1))
    client = staff(org)
    segments = {s.code: s.donors for s in reports.rfm_segments(org=org)}
    code = next(code for code, n in segments.items() if n)

    # when
    response = client.get(url("rfm_segment", org, code))

    # then
    assert response.status_code == 200
    assert "Solo García" in response.content.decode()


def test_to_decimal_knows_each_currencys_minor_unit():
    assert to_decimal(1250, "EUR") == Decimal("12.50")
    assert to_decimal(1250, "JPY") == Decimal(1250)
    assert to_decimal(-5, "EUR") == Decimal("-0.05")


# -- the demo's fundraising


@pytest.mark.slow
def test_the_demo_books_load_verify_and_report():
    """Slow (about 2 s): loads the small demo network with its three years of gifts."""
    from django.core.management import call_command

    from solidaria.demo.build import load_demo
    from solidaria.fundraising.models import Expense, PaymentProvider, PeerPage
    from solidaria.ledger.models import Checkpoint, LedgerEntry

    # when
    result = load_demo(contacts_per_org=60)
    again = load_demo(contacts_per_org=60)

    # then every organization has its funds, campaigns, gifts and a verified ledger
    assert not again.created
    for org in result.organizations:
        funds = set(Fund.objects.filter(organization=org).values_list("slug", flat=True))
        assert funds == {"general", "food-bank", "housing", "youth"}
        assert Fund.objects.get(organization=org, slug="youth").texts["ar"]["name"]
        assert Campaign.objects.filter(organization=org).count() == 2
        assert PeerPage.objects.filter(organization=org).count() == 2
        sepa = PaymentProvider.objects.get(organization=org, kind="sepa")
        assert sepa.settings["creditor_id"]
        assert FundraisingSettings.objects.get(organization=org).bank_iban
        gifts = Donation.objects.filter(organization=org, status="confirmed")
        assert gifts.count() >= 80
        assert gifts.filter(plan__isnull=False).exists()
        assert Expense.objects.filter(organization=org).exists()
        assert RecurringPlan.objects.filter(organization=org).exists()
        entries = LedgerEntry.objects.filter(organization=org)
        assert entries.count() == gifts.count() + entries.exclude(type="income").count()
        assert Checkpoint.objects.filter(organization=org).count() == 2
        out = io.StringIO()
        call_command("ledger", "verify", "--org", org.slug, stdout=out)
        assert "ok" in out.getvalue()
        assert sum(row.amount_minor for row in reports.income_by_month(org=org)) > 0
        assert sum(s.donors for s in reports.rfm_segments(org=org)) > 0
