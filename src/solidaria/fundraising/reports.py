"""Fundraising reports: income, retention, lapsed donors, recurring revenue, RFM segments.

Rules every report follows:
- only confirmed gifts count, each net of what was refunded (`amount_minor - refunded_minor`);
  a gift refunded in full counts for nothing, not even as a gift;
- months, days and fiscal years are the organization's, in its time zone: the boundaries are
  computed here in Python (zoneinfo, so daylight saving is right) and compared in SQL with the
  stored UTC times; nothing converts time zones row by row (SQLite would call Python per row);
- a "year" is a fiscal year starting in `FundraisingSettings.fiscal_year_start_month`
  (default January), named by the calendar year it starts in ("2025", or "2025–26");
- money is summed per currency; per-donor money (lifetime, RFM) is in the organization's
  currency, while gifts in other currencies still count for dates and frequency.

Everything is grouped in SQL on two covering indexes (`donation_report_idx` and
`donation_donor_report_idx`, see `models.Donation`), so a report reads an index range and
never the table, in a fixed number of queries whatever the number of gifts. Only RFM cuts
its quintiles in Python, over one row per donor (not per gift). `bench/fundraising.py`
times every report on 1,000,000 gifts, on SQLite and PostgreSQL.
"""

import bisect
import datetime
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from solidaria.core.errors import Invalid
from solidaria.core.models import Organization
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Frequency,
    Fund,
    FundraisingSettings,
    Method,
    RecurringPlan,
)
from solidaria.people.models import Contact

PAGE_SIZE = 50
# Dates a report accepts: far enough apart for any books, and clear of datetime's limits
# (year 1 shifted to UTC, or 9999-12-31 plus a day, would overflow).
EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2999, 12, 31)
MONTHS = 24
RETENTION_YEARS = 5
RFM_YEARS = 3
CHURN_MONTHS = 12
CONFIRMED = Donation.Status.CONFIRMED.value
DIMENSIONS = {"campaign": "campaign_id", "fund": "fund_id", "method": "method"}
LAPSED_KINDS = ("lybunt", "sybunt")

# Ordered: a donor falls in the first segment whose rule matches its (R, F, M) quintiles.
SEGMENTS: dict[str, Any] = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "new": _("New"),
    "promising": _("Promising"),
    "at_risk": _("At risk"),
    "lost": _("Lost"),
    "need_attention": _("Need attention"),
}
SEGMENT_RULES = {
    "champions": _("gave recently, often and the most (R ≥ 4, F ≥ 4, M ≥ 4)"),
    "loyal": _("give often, not long ago (R ≥ 3, F ≥ 4)"),
    "new": _("a first gift, very recently (R = 5, F = 1)"),
    "promising": _("recent, not yet frequent (R ≥ 4, F ≤ 2)"),
    "at_risk": _("gave often, but long ago (R ≤ 2, F ≥ 3)"),
    "lost": _("gave rarely, long ago (R ≤ 2, F ≤ 2)"),
    "need_attention": _("everyone else"),
}


def _segment_of(r: int, f: int, m: int) -> str:
    """The first segment whose rule (SEGMENT_RULES, in order) the scores match."""
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r >= 3 and f >= 4:
        return "loyal"
    if r == 5 and f == 1:
        return "new"
    if r >= 4 and f <= 2:
        return "promising"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r <= 2:
        return "lost"
    return "need_attention"


_SEGMENT_OF = {
    (r, f, m): _segment_of(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)
}
# Per-month plan amount: monthly 12/12, quarterly 4/12, yearly 1/12 (summed, then / 12).
_PER_YEAR = {Frequency.MONTHLY.value: 12, Frequency.QUARTERLY.value: 4, Frequency.YEARLY.value: 1}


# -- calendar: the organization's months and fiscal years


@dataclass(frozen=True)
class Calendar:
    """An organization's time zone and fiscal year, read once per report."""

    tz: zoneinfo.ZoneInfo
    fiscal_start_month: int
    currency: str

    def today(self) -> datetime.date:
        return timezone.now().astimezone(self.tz).date()

    def midnight(self, day: datetime.date) -> datetime.datetime:
        """The UTC instant a local day starts."""
        local = datetime.datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return local.astimezone(datetime.UTC)

    def month_start(self, year: int, month: int) -> datetime.datetime:
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return self.midnight(datetime.date(year, month, 1))

    def fiscal_year_of(self, day: datetime.date) -> int:
        return day.year if day.month >= self.fiscal_start_month else day.year - 1

    def fiscal_year_start(self, year: int) -> datetime.datetime:
        return self.month_start(year, self.fiscal_start_month)

    def fiscal_year_label(self, year: int) -> str:
        if self.fiscal_start_month == 1:
            return str(year)
        return f"{year}–{(year + 1) % 100:02d}"


def calendar_for(*, org: Organization) -> Calendar:
    month = (
        FundraisingSettings.objects.filter(organization=org)
        .values_list("fiscal_year_start_month", flat=True)
        .first()
    )
    if month is None or not 1 <= month <= 12:
        month = 1
    return Calendar(tz=_zone(org), fiscal_start_month=month, currency=org.currency)


def _zone(org: Organization) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_today(*, org: Organization) -> datetime.date:
    return timezone.now().astimezone(_zone(org)).date()


def fiscal_year_of(*, org: Organization, day: datetime.date) -> int:
    return calendar_for(org=org).fiscal_year_of(day)


def fiscal_year_start(*, org: Organization, year: int) -> datetime.datetime:
    return calendar_for(org=org).fiscal_year_start(year)


# -- SQL helpers


def _db_time(value: datetime.datetime) -> Any:
    """A UTC instant as the database compares it (SQLite: the stored text form)."""
    return connection.ops.adapt_datetimefield_value(value)


def _from_db_time(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        at = value
    elif isinstance(value, int):  # seconds since 1970 (see _per_donor_sql)
        at = datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    else:  # SQLite hands MAX(received_at) back as text
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        at = parsed
    if timezone.is_naive(at):
        at = at.replace(tzinfo=datetime.UTC)
    return at


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


_D = Donation._meta.db_table
_DONOR_INDEX = "donation_donor_report_idx"
_P = RecurringPlan._meta.db_table
_NET = "amount_minor - refunded_minor"
# A gift counts when it is confirmed and not refunded in full.
_COUNTED = "organization_id = %s AND status = %s AND amount_minor > refunded_minor"


def _donor_table() -> str:
    """Donations, read through the donor index: rows come in contact order, so grouping per
    donor streams. SQLite prefers the received_at index when there is a date range, then
    sorts a million rows; it is told which index to use.
    """
    if connection.vendor == "sqlite":
        return f"{_D} INDEXED BY {_DONOR_INDEX}"
    return _D


def _rate(part: int, whole: int) -> Decimal | None:
    """`part / whole` as a percentage with one decimal; None when there is nothing to divide."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


# -- income


@dataclass(frozen=True)
class MonthIncome:
    month: datetime.date  # the first day of the month, local
    currency: str
    gifts: int
    amount_minor: int


def income_by_month(
    *, org: Organization, months: int = MONTHS, today: datetime.date | None = None
) -> list[MonthIncome]:
    """Net income per local month, the last `months` months up to the current one.

    Every month appears in the organization's currency, even without gifts; another
    currency appears only in the months it was received. One query.
    """
    cal = calendar_for(org=org)
    today = today or cal.today()
    firsts = [
        datetime.date(*_add_months(today.year, today.month, i - months + 1), 1)
        for i in range(months + 1)
    ]
    boundaries = [_db_time(cal.midnight(day)) for day in firsts]
    # One range per month, glued with UNION ALL: each reads its slice of the index in
    # order; a CASE bucket with GROUP BY would sort every row first (3x slower on SQLite).
    month_sql = (
        "SELECT {i}, currency, COUNT(*), SUM(" + _NET + ") FROM " + _D  # noqa: S608
        + " WHERE " + _COUNTED + " AND received_at >= %s AND received_at < %s GROUP BY currency"
    )  # fmt: skip
    params: list[Any] = []
    for i in range(months):
        params += [org.pk, CONFIRMED, boundaries[i], boundaries[i + 1]]
    rows = _fetch(" UNION ALL ".join(month_sql.format(i=i) for i in range(months)), params)
    found = {(int(b), cur): (int(n), int(total)) for b, cur, n, total in rows}
    currencies = [cal.currency, *sorted({cur for _, cur in found} - {cal.currency})]
    result = []
    for currency in currencies:
        for i in range(months):
            if (i, currency) in found or currency == cal.currency:
                gifts, total = found.get((i, currency), (0, 0))
                result.append(MonthIncome(firsts[i], currency, gifts, total))
    return result


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class IncomeRow:
    key: str  # a fund or campaign id, a method code; "" for gifts without a campaign
    label: str
    currency: str
    gifts: int
    amount_minor: int


def income_by(
    *,
    org: Organization,
    dimension: Literal["campaign", "fund", "method"],
    start: datetime.date,
    end: datetime.date,
) -> list[IncomeRow]:
    """Net income per campaign, fund or method for the local days `start` to `end` inclusive.

    Largest first. Raises Invalid when the range is backwards. Two queries.
    """
    if dimension not in DIMENSIONS:
        raise Invalid(gettext("Unknown report dimension."), field="dimension")
    if start > end:
        raise Invalid(gettext("The start date is after the end date."), field="start")
    if start < EARLIEST or end > LATEST:
        raise Invalid(
            gettext("Choose dates between %(first)s and %(last)s.")
            % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
            field="start",
        )
    cal = calendar_for(org=org)
    column = DIMENSIONS[dimension]
    rows = _fetch(
        f"SELECT {column}, currency, COUNT(*), SUM({_NET}) FROM {_D} "  # noqa: S608 (column from DIMENSIONS)
        f"WHERE {_COUNTED} AND received_at >= %s AND received_at < %s "
        f"GROUP BY {column}, currency",
        [
            org.pk,
            CONFIRMED,
            _db_time(cal.midnight(start)),
            _db_time(cal.midnight(end + datetime.timedelta(days=1))),
        ],
    )
    labels = _labels(org=org, dimension=dimension, keys=[key for key, *_ in rows])
    result = [
        IncomeRow(
            key="" if key is None else str(key),
            label=labels.get(key, str(key)),
            currency=currency,
            gifts=int(gifts),
            amount_minor=int(total),
        )
        for key, currency, gifts, total in rows
    ]
    result.sort(key=lambda row: (row.currency != cal.currency, row.currency, -row.amount_minor))
    return result


def _labels(*, org: Organization, dimension: str, keys: Sequence[Any]) -> dict[Any, str]:
    if dimension == "method":
        return {code: str(label) for code, label in Method.choices}
    ids = [key for key in keys if key is not None]
    if dimension == "fund":
        found = Fund.objects.filter(organization=org, pk__in=ids).values_list("pk", "name")
        return dict(found)
    found = Campaign.objects.filter(organization=org, pk__in=ids).values_list("pk", "title")
    return {None: gettext("No campaign"), **dict(found)}


# -- retention


@dataclass(frozen=True)
class RetentionYear:
    year: int  # the calendar year the fiscal year starts in
    label: str
    donors: int
    previous_donors: int  # donors of the year before
    retained: int  # donors of the year before who gave again this year
    rate: Decimal | None  # retained / previous_donors, percent
    to_date: bool  # the current fiscal year, not over yet


def retention(
    *, org: Organization, years: int = RETENTION_YEARS, today: datetime.date | None = None
) -> list[RetentionYear]:
    """Donor retention for each of the last `years` fiscal years, the current one included.

    One pass over the donor index: a flag per donor and year, summed. One query (+ settings).
    """
    cal = calendar_for(org=org)
    today = today or cal.today()
    current = cal.fiscal_year_of(today)
    first = current - years  # the year before the first reported one
    boundaries = [cal.fiscal_year_start(first + i) for i in range(years + 2)]
    # Per donor, the set of years it gave in as a bit mask (year i: bit i), then counted.
    year_bit = " ".join(
        ["CASE"]
        + [f"WHEN received_at < %s THEN {1 << i}" for i in range(years)]
        + [f"ELSE {1 << years} END"]
    )
    sums = ", ".join(
        [f"SUM((years >> {i}) & 1)" for i in range(years + 1)]
        + [f"SUM((years >> {i}) & (years >> {i + 1}) & 1)" for i in range(years)]
    )
    rows = _fetch(
        f"SELECT {sums} FROM (SELECT contact_id, SUM(DISTINCT {year_bit}) AS years "  # noqa: S608
        f"FROM {_donor_table()} WHERE {_COUNTED} AND received_at >= %s AND received_at < %s "
        "GROUP BY contact_id) AS per_donor",
        [
            *[_db_time(b) for b in boundaries[1:-1]],
            org.pk,
            CONFIRMED,
            _db_time(boundaries[0]),
            _db_time(boundaries[-1]),
        ],
    )
    values = [int(v or 0) for v in rows[0]]
    donors, both = values[: years + 1], values[years + 1 :]
    return [
        RetentionYear(
            year=first + i,
            label=cal.fiscal_year_label(first + i),
            donors=donors[i],
            previous_donors=donors[i - 1],
            retained=both[i - 1],
            rate=_rate(both[i - 1], donors[i - 1]),
            to_date=first + i == current,
        )
        for i in range(1, years + 1)
    ]


# -- donor lists: LYBUNT, SYBUNT, RFM segments


@dataclass(frozen=True)
class DonorRow:
    contact_id: int
    name: str
    last_gift_at: datetime.datetime
    gifts: int
    total_minor: int  # in the organization's currency: lifetime (lapsed) or the RFM window
    recency: int | None = None  # RFM quintiles, 1 (lowest) to 5
    frequency: int | None = None
    monetary: int | None = None


@dataclass(frozen=True)
class DonorPage:
    rows: list[DonorRow]
    count: int
    page: int
    pages: int
    currency: str

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _names(contact_ids: list[int]) -> dict[int, str]:
    contacts = Contact.objects.filter(pk__in=contact_ids).only("pk", "name", "erased_at")
    return {contact.pk: contact.display_name for contact in contacts}


def _page(sql: str, params: list[Any], *, page: int, page_size: int, currency: str) -> DonorPage:
    """Run a donor query ordered by total; `COUNT(*) OVER ()` brings the count in one go."""
    page = max(1, page)
    paged = (
        f"SELECT *, COUNT(*) OVER () AS total_count FROM ({sql}) AS found "  # noqa: S608
        "ORDER BY total_minor DESC, contact_id LIMIT %s OFFSET %s"
    )
    rows = _fetch(paged, [*params, page_size, (page - 1) * page_size])
    if not rows and page > 1:  # past the end: the last page instead
        count = _fetch(f"SELECT COUNT(*) FROM ({sql}) AS found", params)[0][0]  # noqa: S608
        last = max(1, math.ceil(count / page_size))
        if last < page:
            return _page(sql, params, page=last, page_size=page_size, currency=currency)
    count = int(rows[0][-1]) if rows else 0
    names = _names([row[0] for row in rows])
    donors = [
        DonorRow(
            contact_id=row[0],
            name=names.get(row[0], ""),
            last_gift_at=_from_db_time(row[1]),
            gifts=int(row[2]),
            total_minor=int(row[3] or 0),
        )
        for row in rows
    ]
    return DonorPage(
        rows=donors,
        count=count,
        page=page,
        pages=max(1, math.ceil(count / page_size)),
        currency=currency,
    )


def _per_donor_sql(where: str = "", having: str = "", *, compact: bool = False) -> str:
    """One row per donor: contact_id, last_at, gifts, total_minor.

    `compact`: for every donor at once, last_at as whole seconds since 1970 on PostgreSQL,
    where building 170,000 aware datetimes costs the client more than the query itself.
    """
    last_at = "MAX(received_at)"
    if compact and connection.vendor == "postgresql":
        last_at = "CAST(EXTRACT(EPOCH FROM MAX(received_at)) AS BIGINT)"
    return (
        f"SELECT contact_id, {last_at} AS last_at, COUNT(*) AS gifts, "  # noqa: S608
        f"SUM(CASE WHEN currency = %s THEN {_NET} ELSE 0 END) AS total_minor "
        f"FROM {_donor_table()} WHERE {_COUNTED} {where} GROUP BY contact_id {having}"
    )


def lapsed_donors(
    *,
    org: Organization,
    kind: Literal["lybunt", "sybunt"],
    page: int = 1,
    page_size: int = PAGE_SIZE,
    today: datetime.date | None = None,
) -> DonorPage:
    """LYBUNT: gave last fiscal year but not this one; SYBUNT: gave some year before last,
    neither last year nor this one (the two lists never overlap).

    With the last gift's date and the lifetime total; most valuable first. Three queries
    (settings, the page with its count, the names).
    """
    if kind not in LAPSED_KINDS:
        raise Invalid(gettext("Unknown donor list."), field="kind")
    cal = calendar_for(org=org)
    today = today or cal.today()
    current = cal.fiscal_year_of(today)
    this_start = _db_time(cal.fiscal_year_start(current))
    last_start = _db_time(cal.fiscal_year_start(current - 1))
    if kind == "lybunt":
        having = "HAVING MAX(received_at) >= %s AND MAX(received_at) < %s"
        having_params = [last_start, this_start]
    else:
        having = "HAVING MAX(received_at) < %s"
        having_params = [last_start]
    sql = _per_donor_sql(having=having)
    params = [cal.currency, org.pk, CONFIRMED, *having_params]
    return _page(sql, params, page=page, page_size=page_size, currency=cal.currency)


def _quintile_cuts(values: list[Any]) -> list[Any]:
    """The four values a score must exceed to reach 2, 3, 4 and 5.

    A donor's score is 1 + floor(5 × (donors with a smaller value) / donors): which fifth of
    donors ranks below it. Ties share a score, so when most donors gave once they all get
    F = 1 rather than being split arbitrarily. Score ≥ k exactly when the value exceeds the
    value at sorted position ceil((k - 1) × n / 5) - 1.
    """
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[-(-(k - 1) * n // 5) - 1] for k in range(2, 6)]


def _rfm_scored(
    cal: Calendar, org: Organization, today: datetime.date
) -> list[tuple[int, Any, int, int, int, int, int, str]]:
    """Each donor of the last RFM_YEARS years: (contact, last gift, gifts, total, R, F, M,
    segment).

    The per-donor sums come from SQL (one pass over the donor index); the quintiles are cut
    here: SQL window functions would sort the donors three times, which costs more than
    sorting three plain lists (measured in bench/fundraising.py).
    """
    until = cal.midnight(today + datetime.timedelta(days=1))
    since = cal.midnight(today.replace(year=today.year - RFM_YEARS, day=min(today.day, 28)))
    rows = _fetch(
        _per_donor_sql(where="AND received_at >= %s AND received_at < %s", compact=True),
        [cal.currency, org.pk, CONFIRMED, _db_time(since), _db_time(until)],
    )
    if not rows:
        return []
    cuts = [_quintile_cuts([row[i] for row in rows]) for i in (1, 2, 3)]
    r_cuts, f_cuts, m_cuts = cuts
    segment_of = _SEGMENT_OF
    scored = []
    for contact_id, last_at, gifts, total in rows:
        r = 1 + bisect.bisect_left(r_cuts, last_at)
        f = 1 + bisect.bisect_left(f_cuts, gifts)
        m = 1 + bisect.bisect_left(m_cuts, total)
        scored.append((contact_id, last_at, gifts, total, r, f, m, segment_of[r, f, m]))
    return scored


@dataclass(frozen=True)
class Segment:
    code: str
    label: str
    rule: str
    donors: int
    total_minor: int


def rfm_segments(*, org: Organization, today: datetime.date | None = None) -> list[Segment]:
    """How many donors of the last three years fall in each RFM segment. One query (+ settings)."""
    cal = calendar_for(org=org)
    counts = dict.fromkeys(SEGMENTS, 0)
    totals = dict.fromkeys(SEGMENTS, 0)
    for row in _rfm_scored(cal, org, today or cal.today()):
        counts[row[7]] += 1
        totals[row[7]] += int(row[3] or 0)
    return [
        Segment(
            code=code,
            label=str(label),
            rule=str(SEGMENT_RULES[code]),
            donors=counts[code],
            total_minor=totals[code],
        )
        for code, label in SEGMENTS.items()
    ]


def rfm_donors(
    *,
    org: Organization,
    segment: str,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    today: datetime.date | None = None,
) -> DonorPage:
    """The donors of one RFM segment, largest total first. Raises Invalid for an unknown one.

    Two queries (+ settings): the donors, the names of the page.
    """
    if segment not in SEGMENTS:
        raise Invalid(gettext("Unknown segment."), field="segment")
    cal = calendar_for(org=org)
    found = [row for row in _rfm_scored(cal, org, today or cal.today()) if row[7] == segment]
    found.sort(key=lambda row: (-int(row[3] or 0), row[0]))
    pages = max(1, math.ceil(len(found) / page_size))
    page = min(max(1, page), pages)
    rows = found[(page - 1) * page_size : page * page_size]
    names = _names([row[0] for row in rows])
    return DonorPage(
        rows=[
            DonorRow(
                contact_id=row[0],
                name=names.get(row[0], ""),
                last_gift_at=_from_db_time(row[1]),
                gifts=int(row[2]),
                total_minor=int(row[3] or 0),
                recency=row[4],
                frequency=row[5],
                monetary=row[6],
            )
            for row in rows
        ],
        count=len(found),
        page=page,
        pages=pages,
        currency=cal.currency,
    )


# -- recurring revenue


@dataclass(frozen=True)
class CurrencyMrr:
    currency: str
    plans: int
    mrr_minor: int  # monthly-equivalent revenue of the active plans, rounded to the minor unit


@dataclass(frozen=True)
class RecurringMonth:
    month: datetime.date
    active_at_start: int
    new: int
    cancelled: int  # of the plans active at the start of the month
    churn_rate: Decimal | None  # cancelled / active_at_start, percent
    mrr_minor_at_start: int  # in the organization's currency


@dataclass(frozen=True)
class RecurringReport:
    currency: str
    mrr: list[CurrencyMrr]
    months: list[RecurringMonth]


def _monthly(per_year_minor: int) -> int:
    return int((Decimal(per_year_minor) / 12).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def recurring_revenue(
    *, org: Organization, months: int = CHURN_MONTHS, today: datetime.date | None = None
) -> RecurringReport:
    """MRR of the active plans now, and per month: plans active at its start, new ones,
    cancellations, churn and MRR at its start.

    History is read from `created_at` and `cancelled_at`; a paused plan counts as active in
    past months (pauses leave no dates). Two queries (+ settings).
    """
    cal = calendar_for(org=org)
    today = today or cal.today()
    per_year = (
        "CASE frequency "
        + " ".join(f"WHEN '{code}' THEN {n}" for code, n in _PER_YEAR.items())
        + " ELSE 0 END * amount_minor"
    )
    now_rows = _fetch(
        f"SELECT currency, COUNT(*), SUM({per_year}) FROM {_P} "  # noqa: S608
        # One-off SEPA mandates are plans too, but nothing recurs.
        "WHERE organization_id = %s AND status = %s AND frequency <> %s GROUP BY currency",
        [org.pk, RecurringPlan.Status.ACTIVE.value, Frequency.ONCE.value],
    )
    mrr = [
        CurrencyMrr(currency=cur, plans=int(n), mrr_minor=_monthly(int(total or 0)))
        for cur, n, total in now_rows
    ]
    mrr.sort(key=lambda row: (row.currency != cal.currency, row.currency))
    firsts = [
        datetime.date(*_add_months(today.year, today.month, i - months + 1), 1)
        for i in range(months + 1)
    ]
    starts = [_db_time(cal.midnight(day)) for day in firsts]
    columns: list[str] = []
    params: list[Any] = []
    active = "created_at < %s AND (cancelled_at IS NULL OR cancelled_at >= %s)"
    for i in range(months):
        columns += [
            f"SUM(CASE WHEN {active} THEN 1 ELSE 0 END)",
            "SUM(CASE WHEN created_at >= %s AND created_at < %s THEN 1 ELSE 0 END)",
            "SUM(CASE WHEN created_at < %s AND cancelled_at >= %s AND cancelled_at < %s "
            "THEN 1 ELSE 0 END)",
            f"SUM(CASE WHEN {active} AND currency = %s THEN {per_year} ELSE 0 END)",
        ]
        params += [starts[i], starts[i]]
        params += [starts[i], starts[i + 1]]
        params += [starts[i], starts[i], starts[i + 1]]
        params += [starts[i], starts[i], cal.currency]
    history = _fetch(
        f"SELECT {', '.join(columns)} FROM {_P} WHERE organization_id = %s",  # noqa: S608
        [*params, org.pk],
    )[0]
    values = [int(v or 0) for v in history]
    result = []
    for i in range(months):
        active_n, new_n, cancelled_n, per_year_minor = values[4 * i : 4 * i + 4]
        result.append(
            RecurringMonth(
                month=firsts[i],
                active_at_start=active_n,
                new=new_n,
                cancelled=cancelled_n,
                churn_rate=_rate(cancelled_n, active_n),
                mrr_minor_at_start=_monthly(per_year_minor),
            )
        )
    return RecurringReport(currency=cal.currency, mrr=mrr, months=result)
