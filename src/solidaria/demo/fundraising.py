"""The demo's fundraising: funds, campaigns, three years of gifts, plans, spending, the ledger.

For each demo organization: the general fund and three restricted funds named in every
language, two campaigns (one with supporters' peer pages), the bank account and a SEPA
creditor account that validate, recurring SEPA plans, about 1.5 gifts per contact over
three years (3,000 for the default 2,000 contacts), a few refunds, expenses with categories
and evidence hashes, an allocation between funds and two signed checkpoints.

Every money movement is in the public ledger, in time order, month by month: the month's
gifts as rows written in bulk plus one `ledger.actions.append_entries` call (the ledger's
bulk path; a gift per `record_donation` would cost seconds per organization), then that
month's refunds, expenses and allocation through the domain actions themselves. So
`solidaria ledger verify` agrees with the books. Seeded: the same seed gives the same books
(the tracking tokens and references are random, as in production).
"""

import datetime
import hashlib
import random
import secrets
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from schwifty import IBAN

from solidaria.core.audit import Actor
from solidaria.core.models import Organization
from solidaria.fundraising import actions
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Fund,
    Method,
    PeerPage,
    ReceiptCounter,
    RecurringPlan,
)
from solidaria.ledger.actions import NewEntry, append_entries, make_checkpoint
from solidaria.people.models import Contact, ContactRole, ContactRoleKind

ACTOR = Actor.system("demo")
YEARS = 3
GIFTS_PER_CONTACT = 1.5
PLANS_SHARE = 0.02  # of contacts: 40 plans for 2,000 contacts

FUNDS = {
    "food-bank": {
        "en": "Food bank",
        "es": "Banco de alimentos",
        "ca": "Banc d'aliments",
        "it": "Banco alimentare",
        "de": "Lebensmittelbank",
        "fr": "Banque alimentaire",
        "ar": "بنك الطعام",
    },
    "housing": {
        "en": "Housing support",
        "es": "Apoyo a la vivienda",
        "ca": "Suport a l'habitatge",
        "it": "Sostegno all'abitare",
        "de": "Wohnungshilfe",
        "fr": "Aide au logement",
        "ar": "دعم السكن",
    },
    "youth": {
        "en": "Youth programme",
        "es": "Programa juvenil",
        "ca": "Programa jove",
        "it": "Programma giovani",
        "de": "Jugendprogramm",
        "fr": "Programme jeunesse",
        "ar": "برنامج الشباب",
    },
}
CAMPAIGNS = {
    "winter-appeal": (
        "food-bank",
        500_000,
        {
            "en": "Winter appeal",
            "es": "Campaña de invierno",
            "ca": "Campanya d'hivern",
            "it": "Appello d'inverno",
            "de": "Winteraufruf",
            "fr": "Appel d'hiver",
            "ar": "نداء الشتاء",
        },
    ),
    "summer-camp": (
        "youth",
        300_000,
        {
            "en": "Summer camp for every child",
            "es": "Campamento de verano para cada niño",
            "ca": "Colònies d'estiu per a cada infant",
            "it": "Campo estivo per ogni bambino",
            "de": "Sommerlager für jedes Kind",
            "fr": "Colonie de vacances pour chaque enfant",
            "ar": "مخيم صيفي لكل طفل",
        },
    ),
}
# The organization's own bank account and SEPA creditor identifier (check digits valid).
BANK = {
    "ES": ("ES9121000418450200051332", "CAIXESBBXXX", "ES91ZZZG08123456"),
    "IT": ("IT60X0542811101000000123456", "BLOPIT22XXX", "IT32ZZZ97123450158"),
    "DE": ("DE89370400440532013000", "COBADEFFXXX", "DE32ZZZ00000123456"),
}
DONOR_BANKS = {"ES": ("ES", "21000418"), "IT": ("DE", "37040044"), "DE": ("DE", "37040044")}
EXPENSES = (
    ("food-bank", "food", "Fresh food for the weekly distribution"),
    ("food-bank", "transport", "Van rental and fuel for collections"),
    ("housing", "rent", "Emergency rent support (pooled)"),
    ("housing", "utilities", "Heating and electricity for the shelter"),
    ("youth", "supplies", "School and sports material"),
    ("youth", "activities", "Summer camp: lodging and meals"),
    ("general", "salaries", "Coordinator's salary (part-time)"),
    ("general", "rent", "Office rent"),
)
AMOUNTS = (1000, 1500, 2000, 2500, 3000, 5000, 5000, 7500, 10000, 15000, 25000, 50000)
METHODS = (
    (Method.BANK_TRANSFER, 30),
    (Method.STRIPE, 35),
    (Method.MOLLIE, 15),
    (Method.CASH, 15),
    (Method.CHEQUE, 5),
)


@dataclass
class FundraisingCounts:
    gifts: int = 0
    plans: int = 0
    refunds: int = 0
    expenses: int = 0
    allocations: int = 0
    ledger_entries: int = 0


@dataclass
class _Gift:
    at: datetime.datetime
    contact_id: int
    amount: int
    fund: Fund
    method: str
    campaign: Campaign | None = None
    peer_page: PeerPage | None = None
    plan: RecurringPlan | None = None


def has_fundraising(org: Organization) -> bool:
    return Fund.objects.filter(organization=org, slug__in=list(FUNDS)).exists()


def populate_fundraising(
    *, org: Organization, seed: int, now: datetime.datetime | None = None
) -> FundraisingCounts:
    """Write the organization's demo fundraising; nothing when it already has it.

    Needs the organization's contacts (populate_organization). Run it in a transaction.
    """
    if has_fundraising(org):
        return FundraisingCounts()
    with transaction.atomic(), translation.override(org.language or "en"):
        return _Builder(org=org, seed=seed, now=now or timezone.now()).run()


class _Builder:
    def __init__(self, *, org: Organization, seed: int, now: datetime.datetime) -> None:
        self.org = org
        self.rng = random.Random(seed)  # noqa: S311 (made-up gifts, not secrets)
        self.now = now.replace(microsecond=0)
        self.tz = zoneinfo.ZoneInfo(org.time_zone)
        self.counts = FundraisingCounts()
        self.balances: dict[str, int] = defaultdict(int)
        self.receipts: dict[int, int] = {}
        self.references: set[str] = set()

    # -- setting up

    def run(self) -> FundraisingCounts:
        self._settings()
        self.funds = self._funds()
        contacts = self._donors()
        self.campaigns, self.pages = self._campaigns(contacts)
        self.plans = self._plans(contacts)
        gifts = self._gifts(contacts)
        self._book(gifts)
        ReceiptCounter.objects.bulk_create(
            [
                ReceiptCounter(organization=self.org, year=y, last=n)
                for y, n in self.receipts.items()
            ]
        )
        make_checkpoint(org=self.org, actor=ACTOR)
        return self.counts

    def _settings(self) -> None:
        iban, bic, creditor_id = BANK.get(self.org.country, BANK["ES"])
        actions.update_fundraising_settings(
            org=self.org,
            actor=ACTOR,
            legal_name=self.org.name,
            tax_id="G08123456" if self.org.country == "ES" else "97123450158",
            address="",
            fiscal_year_start_month=1,
            preset_amounts=[1000, 2500, 5000, 10000],
            bank_iban=iban,
            bank_bic=bic,
        )
        actions.configure_payment_provider(
            org=self.org,
            actor=ACTOR,
            kind="sepa",
            settings={
                "creditor_name": _ascii(self.org.name),
                "creditor_iban": iban,
                "creditor_bic": bic,
                "creditor_id": creditor_id,
            },
            secrets={},
        )

    def _funds(self) -> dict[str, Fund]:
        funds = {"general": actions.ensure_general_fund(org=self.org)}
        for slug, names in FUNDS.items():
            funds[slug] = actions.create_fund(
                org=self.org,
                actor=ACTOR,
                slug=slug,
                name=names.get(self.org.language, names["en"]),
                restricted=True,
                texts={lang: {"name": name} for lang, name in names.items()},
            )
        return funds

    def _donors(self) -> list[Contact]:
        """Donors first (their role says so), then everyone else who may give once."""
        donor_ids = set(
            ContactRole.objects.filter(
                organization=self.org, role=ContactRoleKind.DONOR
            ).values_list("contact_id", flat=True)
        )
        contacts = list(
            Contact.objects.filter(organization=self.org, erased_at__isnull=True, kind="person")
            .only("id", "name", "language", "erased_at")
            .order_by("id")
        )
        donors = [c for c in contacts if c.pk in donor_ids]
        return donors + [c for c in contacts if c.pk not in donor_ids]

    def _campaigns(self, contacts: Sequence[Contact]) -> tuple[dict[str, Campaign], list[PeerPage]]:
        today = self.now.astimezone(self.tz).date()
        campaigns = {}
        for slug, (fund_slug, goal, titles) in CAMPAIGNS.items():
            campaigns[slug] = actions.create_campaign(
                org=self.org,
                actor=ACTOR,
                slug=slug,
                title=titles.get(self.org.language, titles["en"]),
                fund=self.funds[fund_slug],
                texts={lang: {"title": title} for lang, title in titles.items()},
                goal_minor=goal,
                starts_on=today - datetime.timedelta(days=365 * YEARS),
                published=True,
            )
        pages = [
            actions.create_peer_page(
                org=self.org,
                actor=ACTOR,
                campaign=campaigns["summer-camp"],
                supporter=supporter,
                slug=f"page-{i + 1}",
                title=_("%(name)s's challenge") % {"name": supporter.name},
                story="",
                goal_minor=50_000,
            )
            for i, supporter in enumerate(contacts[:2])
        ]
        return campaigns, pages

    def _plans(self, contacts: Sequence[Contact]) -> list[tuple[RecurringPlan, datetime.datetime]]:
        """SEPA plans started over the three years; some cancelled since (dates backdated)."""
        country, bank = DONOR_BANKS.get(self.org.country, DONOR_BANKS["ES"])
        count = max(2, round(len(contacts) * PLANS_SHARE))
        start = self.now - datetime.timedelta(days=365 * YEARS)
        today = self.now.astimezone(self.tz).date()
        plans = []
        for i, contact in enumerate(contacts[2 : 2 + count]):
            begun = start + datetime.timedelta(days=self.rng.randint(0, 365 * YEARS - 60))
            begun = begun.replace(hour=9, minute=0, second=0)
            iban = IBAN.generate(country, bank_code=bank, account_code=f"{7_000_000 + i:010d}")
            plan = actions.create_plan(
                org=self.org,
                actor=ACTOR,
                contact=contact,
                amount_minor=self.rng.choice((500, 1000, 1000, 1500, 2000, 3000)),
                currency=self.org.currency,
                fund=self.funds["general"] if i % 3 else self.funds["food-bank"],
                frequency="monthly",
                method=Method.SEPA,
                iban=str(iban),
                mandate_signed_at=begun.astimezone(self.tz).date(),
                next_due=_next_month(today),
            )
            ended = None
            if self.rng.random() < 0.3:
                ended = begun + datetime.timedelta(days=self.rng.randint(60, 700))
                if ended >= self.now:
                    ended = None
            if ended is not None:
                actions.update_plan(plan=plan, actor=ACTOR, status="cancelled")
            # The demo's history: a plan made today is backdated to when its donor signed.
            RecurringPlan.objects.filter(pk=plan.pk).update(
                created_at=begun, cancelled_at=ended, first_collected=True
            )
            plan.created_at = begun
            plans.append((plan, ended or self.now))
        self.counts.plans = len(plans)
        return plans

    # -- the gifts

    def _gifts(self, contacts: Sequence[Contact]) -> list[_Gift]:
        gifts: list[_Gift] = []
        for plan, ended in self.plans:
            at = plan.created_at
            while at < ended:
                gifts.append(
                    _Gift(at, plan.contact_id, plan.amount_minor, plan.fund, Method.SEPA, plan=plan)
                )
                at = _add_month(at)
        one_offs = max(0, round(len(contacts) * GIFTS_PER_CONTACT) - len(gifts))
        span = 365 * YEARS * 86400
        start = self.now - datetime.timedelta(days=365 * YEARS)
        weights = [1 / (1 + i) ** 0.6 for i in range(len(contacts))]  # a few give often
        methods, method_weights = zip(*METHODS, strict=True)
        chosen = self.rng.choices(contacts, weights=weights, k=one_offs)
        winter, summer = self.campaigns["winter-appeal"], self.campaigns["summer-camp"]
        for contact in chosen:
            at = start + datetime.timedelta(seconds=int(self.rng.random() ** 0.8 * span))
            month = at.astimezone(self.tz).month
            campaign = page = None
            fund = self.funds["general"]
            roll = self.rng.random()
            if month in (11, 12, 1) and roll < 0.5:
                campaign, fund = winter, self.funds["food-bank"]
            elif month in (5, 6, 7) and roll < 0.4:
                campaign, fund = summer, self.funds["youth"]
                if self.rng.random() < 0.3:
                    page = self.rng.choice(self.pages)
            elif roll < 0.7:
                fund = self.funds[self.rng.choice(list(FUNDS))]
            gifts.append(
                _Gift(
                    at=at,
                    contact_id=contact.pk,
                    amount=self.rng.choice(AMOUNTS),
                    fund=fund,
                    method=self.rng.choices(methods, weights=method_weights)[0],
                    campaign=campaign,
                    peer_page=page,
                )
            )
        gifts.sort(key=lambda g: g.at)
        return gifts

    def _book(self, gifts: list[_Gift]) -> None:
        """Month by month, in time order: the gifts, then refunds, expenses, an allocation."""
        by_month: dict[tuple[int, int], list[_Gift]] = defaultdict(list)
        for gift in gifts:
            local = gift.at.astimezone(self.tz)
            by_month[local.year, local.month].append(gift)
        months = sorted(by_month)
        for index, month in enumerate(months):
            donations = self._post_gifts(by_month[month])
            end = min(self.now, _month_end(month, self.tz))
            self._refunds(donations, end)
            self._expenses(month, end)
            if index == len(months) // 2:
                self._allocate(end)
                make_checkpoint(org=self.org, actor=ACTOR)

    def _post_gifts(self, gifts: list[_Gift]) -> list[Donation]:
        refs = [actions.new_public_ref("g") for _gift in gifts]
        entries = [
            NewEntry(
                type="income",
                fund=gift.fund.slug,
                amount=gift.amount,
                currency=self.org.currency,
                ref=ref,
                at=gift.at,
            )
            for gift, ref in zip(gifts, refs, strict=True)
        ]
        seqs = append_entries(org=self.org, actor=ACTOR, entries=entries)
        donations = []
        for gift, ref, seq in zip(gifts, refs, seqs, strict=True):
            year = gift.at.astimezone(self.tz).year
            self.receipts[year] = self.receipts.get(year, 0) + 1
            receipt = f"{year}-{self.receipts[year]:06d}"
            donations.append(
                Donation(
                    organization=self.org,
                    contact_id=gift.contact_id,
                    amount_minor=gift.amount,
                    currency=self.org.currency,
                    fund=gift.fund,
                    campaign=gift.campaign,
                    peer_page=gift.peer_page,
                    plan=gift.plan,
                    method=gift.method,
                    status=Donation.Status.CONFIRMED,
                    public_ref=ref,
                    tracking_token=secrets.token_urlsafe(16),
                    payment_reference=self._reference(gift.method),
                    created_at=gift.at,
                    received_at=gift.at,
                    confirmed_at=gift.at,
                    thanked_at=gift.at,  # the demo's donors were thanked long ago
                    ledger_seq=seq,
                    receipt_number=receipt,
                    collection_date=gift.at.date() if gift.plan else None,
                    sepa_sequence="RCUR" if gift.plan else "",
                )
            )
            self.balances[gift.fund.slug] += gift.amount
        Donation.objects.bulk_create(donations, batch_size=500)
        self.counts.gifts += len(donations)
        self.counts.ledger_entries += len(seqs)
        return donations

    def _reference(self, method: str) -> str:
        if method != Method.BANK_TRANSFER:
            return ""
        reference = actions.new_payment_reference()
        while reference in self.references:
            reference = actions.new_payment_reference()
        self.references.add(reference)
        return reference

    def _refunds(self, donations: list[Donation], end: datetime.datetime) -> None:
        for donation in donations:
            if donation.plan_id or self.rng.random() >= 0.01:
                continue
            at = min(end, donation.received_at + datetime.timedelta(days=2))  # type: ignore[operator]
            part = None if self.rng.random() < 0.7 else donation.amount_minor // 2
            actions.refund_donation(
                donation=donation,
                actor=ACTOR,
                amount_minor=part,
                reason=_("Given twice by mistake") if part is None else _("Part refunded"),
                at=at,
            )
            self.balances[donation.fund.slug] -= part or donation.amount_minor
            self.counts.refunds += 1
            self.counts.ledger_entries += 1

    def _expenses(self, month: tuple[int, int], end: datetime.datetime) -> None:
        """One of the typical expenses a month, spending some of what its fund holds."""
        for fund_slug, category, description in self.rng.sample(EXPENSES, 1):
            held = self.balances[fund_slug]
            amount = int(held * self.rng.uniform(0.2, 0.5)) // 100 * 100
            if amount <= 0:
                continue
            evidence = f"invoice {month[0]}-{month[1]:02d} {category} {amount}".encode()
            actions.record_expense(
                org=self.org,
                actor=ACTOR,
                fund=self.funds[fund_slug],
                amount_minor=amount,
                currency=self.org.currency,
                description=description,
                category=category,
                spent_at=end - datetime.timedelta(hours=1),
                evidence_sha256=hashlib.sha256(evidence).hexdigest(),
            )
            self.balances[fund_slug] -= amount
            self.counts.expenses += 1
            self.counts.ledger_entries += 1

    def _allocate(self, end: datetime.datetime) -> None:
        amount = self.balances["general"] // 4 // 100 * 100
        if amount <= 0:
            return
        actions.allocate(
            org=self.org,
            actor=ACTOR,
            from_fund=self.funds["general"],
            to_fund=self.funds["housing"],
            amount_minor=amount,
            currency=self.org.currency,
            note=_("Board decision: a quarter of the general fund to housing support"),
            at=end - datetime.timedelta(minutes=30),
        )
        self.balances["general"] -= amount
        self.balances["housing"] += amount
        self.counts.allocations += 1
        self.counts.ledger_entries += 1


def _ascii(text: str) -> str:
    """SEPA's character set for the creditor name."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")
    return "".join(ch for ch in folded if ch in allowed).strip()[:70] or "Demo"


def _add_month(at: datetime.datetime) -> datetime.datetime:
    year, month = (at.year, at.month + 1) if at.month < 12 else (at.year + 1, 1)
    return at.replace(year=year, month=month, day=min(at.day, 28))


def _next_month(day: datetime.date) -> datetime.date:
    year, month = (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)
    return datetime.date(year, month, 1)


def _month_end(month: tuple[int, int], tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    first = _next_month(datetime.date(month[0], month[1], 1))
    start = datetime.datetime(first.year, first.month, 1, tzinfo=tz)
    return (start - datetime.timedelta(seconds=1)).astimezone(datetime.UTC)
