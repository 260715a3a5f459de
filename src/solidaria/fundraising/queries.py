"""Reads of the fundraising app: progress, fund summaries, gift lists. No hidden writes."""

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from solidaria.core.models import Organization
from solidaria.fundraising.models import (
    Allocation,
    Campaign,
    Donation,
    Expense,
    Fund,
    FundraisingSettings,
    PaymentProvider,
    PeerPage,
    RecurringPlan,
    Refund,
)
from solidaria.people.models import Contact

CONFIRMED = Donation.Status.CONFIRMED


@dataclass(frozen=True)
class Progress:
    raised_minor: int  # confirmed gifts in the campaign's currency, net of refunds
    donors: int
    goal_minor: int  # 0: no goal

    def __iter__(self):  # type: ignore[no-untyped-def]
        # `raised, donors, goal = campaign_progress(...)` reads naturally.
        return iter((self.raised_minor, self.donors, self.goal_minor))


def campaign_progress(*, campaign: Campaign) -> Progress:
    """What a campaign raised and from how many donors: one aggregate on the covering index
    `donation_campaign_idx`. Gifts in another currency than the campaign's are not counted."""
    totals = Donation.objects.filter(
        organization_id=campaign.organization_id,
        campaign=campaign,
        status=CONFIRMED,
        currency=campaign.currency,
    ).aggregate(
        raised=Coalesce(Sum(F("amount_minor") - F("refunded_minor")), 0),
        donors=Count("contact", distinct=True),
    )
    return Progress(
        raised_minor=int(totals["raised"]), donors=totals["donors"], goal_minor=campaign.goal_minor
    )


def peer_page_progress(*, peer_page: PeerPage) -> Progress:
    """What gifts through a supporter's page raised, in its campaign's currency."""
    totals = Donation.objects.filter(
        organization_id=peer_page.organization_id,
        peer_page=peer_page,
        status=CONFIRMED,
        currency=peer_page.campaign.currency,
    ).aggregate(
        raised=Coalesce(Sum(F("amount_minor") - F("refunded_minor")), 0),
        donors=Count("contact", distinct=True),
    )
    return Progress(
        raised_minor=int(totals["raised"]), donors=totals["donors"], goal_minor=peer_page.goal_minor
    )


def campaigns_for(*, org: Organization) -> QuerySet[Campaign]:
    """The organization's campaigns, newest first, each annotated with `raised_minor` and
    `donors` (as campaign_progress) and its fund: one query for the whole list."""
    gifts = Donation.objects.filter(
        organization=org, campaign=OuterRef("pk"), status=CONFIRMED, currency=OuterRef("currency")
    ).values("campaign")
    raised = gifts.annotate(total=Sum(F("amount_minor") - F("refunded_minor"))).values("total")
    donors = gifts.annotate(n=Count("contact", distinct=True)).values("n")
    return (
        Campaign.objects.filter(organization=org)
        .select_related("fund")
        .annotate(
            raised_minor=Coalesce(Subquery(raised, output_field=IntegerField()), Value(0)),
            donors=Coalesce(Subquery(donors, output_field=IntegerField()), Value(0)),
        )
        .order_by("-created_at", "-pk")
    )


def funds_for(*, org: Organization, include_archived: bool = True) -> QuerySet[Fund]:
    funds = Fund.objects.filter(organization=org)
    if not include_archived:
        funds = funds.filter(archived_at__isnull=True)
    return funds.order_by("slug")


@dataclass(frozen=True)
class FundSummary:
    fund: Fund
    currency: str
    income_minor: int  # gifts received, net of refunds, plus money allocated in
    spent_minor: int  # expenses (not reversed) plus money allocated out
    balance_minor: int  # what the fund holds: the ledger's balance


def funds_summary_for(*, org: Organization) -> list[FundSummary]:
    """Per fund and currency: income, spent and balance, in a fixed number of queries.

    Income and spending come from the books; the balance is read from the ledger, and the
    books check of `solidaria ledger verify` proves that both agree. A fund without any
    money yet appears once, in the organization's currency.
    """
    from solidaria.ledger.queries import balances_for

    balances = {(row.fund, row.currency): row.amount for row in balances_for(org=org)}
    income: dict[tuple[int, str], int] = defaultdict(int)
    spent: dict[tuple[int, str], int] = defaultdict(int)
    gifts = (
        Donation.objects.filter(organization=org, status=CONFIRMED)
        .values("fund_id", "currency")
        .annotate(total=Sum(F("amount_minor") - F("refunded_minor")))
    )
    for row in gifts:
        income[(row["fund_id"], row["currency"])] += row["total"] or 0
    moves = (
        Allocation.objects.filter(organization=org)
        .values("from_fund_id", "to_fund_id", "currency")
        .annotate(total=Sum("amount_minor"))
    )
    for row in moves:
        income[(row["to_fund_id"], row["currency"])] += row["total"]
        spent[(row["from_fund_id"], row["currency"])] += row["total"]
    expenses = (
        Expense.objects.filter(organization=org, reversal_seq__isnull=True)
        .values("fund_id", "currency")
        .annotate(total=Sum("amount_minor"))
    )
    for row in expenses:
        spent[(row["fund_id"], row["currency"])] += row["total"]
    summaries = []
    for fund in funds_for(org=org):
        currencies = {c for (f, c) in income if f == fund.pk} | {
            c for (f, c) in spent if f == fund.pk
        }
        currencies |= {c for (slug, c) in balances if slug == fund.slug}
        summaries += [
            FundSummary(
                fund=fund,
                currency=currency,
                income_minor=income[(fund.pk, currency)],
                spent_minor=spent[(fund.pk, currency)],
                balance_minor=balances.get((fund.slug, currency), 0),
            )
            for currency in sorted(currencies) or [org.currency]
        ]
    return summaries


@dataclass(frozen=True)
class DonationFilters:
    status: str = ""
    fund: str = ""  # slug
    campaign: str = ""  # slug
    contact_id: int | None = None
    method: str = ""
    currency: str = ""
    received_from: datetime.datetime | None = None
    received_to: datetime.datetime | None = None  # exclusive
    ref: str = ""  # a public reference, payment reference or receipt number


def donations_for(
    *, org: Organization, filters: DonationFilters | None = None
) -> QuerySet[Donation]:
    """The organization's gifts, newest first, with fund and campaign loaded."""
    filters = filters or DonationFilters()
    donations = Donation.objects.filter(organization=org)
    if filters.status:
        donations = donations.filter(status=filters.status)
    if filters.fund:
        donations = donations.filter(fund__slug=filters.fund)
    if filters.campaign:
        donations = donations.filter(campaign__slug=filters.campaign)
    if filters.contact_id is not None:
        donations = donations.filter(contact_id=filters.contact_id)
    if filters.method:
        donations = donations.filter(method=filters.method)
    if filters.currency:
        donations = donations.filter(currency=filters.currency.upper())
    if filters.received_from is not None:
        donations = donations.filter(received_at__gte=filters.received_from)
    if filters.received_to is not None:
        donations = donations.filter(received_at__lt=filters.received_to)
    if filters.ref:
        ref = filters.ref.strip()
        donations = (
            donations.filter(public_ref=ref)
            | donations.filter(payment_reference=ref.replace(" ", "").upper())
            | donations.filter(receipt_number=ref)
        )
    return donations.select_related("fund", "campaign").order_by("-created_at", "-pk")


def gifts_for_contact(*, contact: Contact) -> QuerySet[Donation]:
    """A contact's gifts (all statuses), newest first, with fund and campaign loaded."""
    return (
        Donation.objects.filter(organization_id=contact.organization_id, contact=contact)
        .select_related("fund", "campaign")
        .order_by("-created_at", "-pk")
    )


def refunds_for_donation(*, donation: Donation) -> QuerySet[Refund]:
    return Refund.objects.filter(
        organization_id=donation.organization_id, donation=donation
    ).order_by("at", "pk")


def plans_for(*, org: Organization, contact: Contact | None = None) -> QuerySet[RecurringPlan]:
    """The organization's recurring plans (or one contact's), newest first, with fund."""
    plans = RecurringPlan.objects.filter(organization=org)
    if contact is not None:
        plans = plans.filter(contact=contact)
    return plans.select_related("fund", "campaign").order_by("-created_at", "-pk")


def expenses_for(*, org: Organization, fund: Fund | None = None) -> QuerySet[Expense]:
    expenses = Expense.objects.filter(organization=org)
    if fund is not None:
        expenses = expenses.filter(fund=fund)
    return expenses.select_related("fund").order_by("-spent_at", "-pk")


def providers_for(*, org: Organization) -> QuerySet[PaymentProvider]:
    return PaymentProvider.objects.filter(organization=org).order_by("kind")


def settings_for(*, org: Organization) -> FundraisingSettings:
    """The organization's fundraising settings; unsaved defaults when none were stored."""
    return FundraisingSettings.objects.filter(organization=org).first() or FundraisingSettings(
        organization=org
    )


def mask_iban(iban: str) -> str:
    """`ES91 **** **** **** **** 1332`: the country, check digits and last four only."""
    if not iban:
        return ""
    return f"{iban[:4]} **** {iban[-4:]}" if len(iban) > 8 else "****"


# --- the books against the public log ------------------------------------------------------


@dataclass(frozen=True)
class _Booked:
    seq: int
    what: str  # "gift g-…", "refund of g-…", "allocation a-…", "expense e-…", …
    type: str
    ref: str
    fund: str
    amount: int
    currency: str


def _booked(org: Organization) -> list[Iterator[_Booked]]:
    """Every booked row that posted an entry, as (seq, …) streams each in seq order."""
    gifts = (
        Donation.objects.filter(organization=org, ledger_seq__isnull=False)
        .order_by("ledger_seq")
        .values_list("ledger_seq", "public_ref", "fund__slug", "amount_minor", "currency")
    )
    refunds = (
        Refund.objects.filter(organization=org)
        .order_by("ledger_seq")
        .values_list(
            "ledger_seq", "donation__public_ref", "donation__fund__slug", "amount_minor", "currency"
        )
    )
    allocations = (
        Allocation.objects.filter(organization=org)
        .order_by("ledger_seq")
        .values_list("ledger_seq", "public_ref", "from_fund__slug", "amount_minor", "currency")
    )
    expenses = (
        Expense.objects.filter(organization=org)
        .order_by("ledger_seq")
        .values_list("ledger_seq", "public_ref", "fund__slug", "amount_minor", "currency")
    )
    reversals = (
        Expense.objects.filter(organization=org, reversal_seq__isnull=False)
        .order_by("reversal_seq")
        .values_list("reversal_seq", "public_ref", "fund__slug", "amount_minor", "currency")
    )
    streams = [
        ("income", "gift", gifts),
        ("refund", "refund of", refunds),
        ("allocation", "allocation", allocations),
        ("expense", "expense", expenses),
        ("reversal", "reversal of", reversals),
    ]
    return [_stream(type_, label, rows) for type_, label, rows in streams]


def _stream(type_: str, label: str, rows: Any) -> Iterator[_Booked]:
    for seq, ref, fund, amount, currency in rows.iterator(chunk_size=2000):
        yield _Booked(seq, f"{label} {ref}", type_, ref, fund, amount, currency)


def check_books(org: Organization) -> Iterator[str]:
    """Problems where the books (gifts, refunds, allocations, expenses and their reversals)
    disagree with the public log, in seq order; registered with the ledger's verify.

    Both sides are streamed in seq order side by side, so memory stays flat however long
    the log. Each booked row must find an entry at its seq with the same type, ref, fund,
    amount and currency; two rows claiming one seq is a problem too.
    """
    import heapq

    from solidaria.ledger.models import LedgerEntry

    entries = (
        LedgerEntry.objects.filter(organization=org)
        .order_by("seq")
        .values_list("seq", "type", "ref", "fund", "amount", "currency")
        .iterator(chunk_size=2000)
    )
    entry = next(entries, None)
    previous: _Booked | None = None
    for booked in heapq.merge(*_booked(org), key=lambda row: row.seq):
        if previous is not None and previous.seq == booked.seq:
            yield f"seq {booked.seq}: claimed by both {previous.what} and {booked.what}"
        previous = booked
        while entry is not None and entry[0] < booked.seq:
            entry = next(entries, None)
        if entry is None or entry[0] != booked.seq:
            yield f"seq {booked.seq}: {booked.what} has no entry in the ledger"
            continue
        expected = (booked.type, booked.ref, booked.fund, booked.amount, booked.currency)
        if tuple(entry[1:]) != expected:
            names = ("type", "ref", "fund", "amount", "currency")
            diffs = ", ".join(
                f"{name} {mine!r} in the books, {theirs!r} in the ledger"
                for name, mine, theirs in zip(names, expected, entry[1:], strict=True)
                if mine != theirs
            )
            yield f"seq {booked.seq}: {booked.what} disagrees: {diffs}"


def refunded_under(*, donation: Donation, prefix: str) -> int:
    """What the refunds of `donation` whose provider id starts with `prefix` add up to.

    Providers report refunds as a running total per payment (`<payment>:refunded:<total>`);
    this is our side of that total.
    """
    total = Refund.objects.filter(donation=donation, provider_id__startswith=prefix).aggregate(
        total=Sum("amount_minor")
    )["total"]
    return total or 0
