"""The fundraising API: funds, campaigns, gifts, refunds, allocations, expenses, payment
providers and recurring plans (DESIGN.md §5).

Amounts are decimal strings in major units (`"12.50"`; numbers are accepted), with at most
the currency's minor digits; rows named in a body (contact, fund, campaign) that do not exist
in the organization are refused with 422, ids in the path with 404.
"""

import datetime
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

from solidaria.core.api import Input, caller_for, errors
from solidaria.core.errors import Invalid, NotFound
from solidaria.core.models import Organization
from solidaria.fundraising import actions, queries
from solidaria.fundraising.access import (
    campaign_for,
    donation_for,
    fund_for,
    plan_for,
)
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Expense,
    Fund,
    PaymentProvider,
    RecurringPlan,
)
from solidaria.people.access import contact_for
from solidaria.people.models import Contact

router = Router(tags=["fundraising"])

# Literal choices rather than the models' enums: OpenAPI names an enum by its class name, and
# several models have a `Status` or a `Kind`.
GiftMethod = Literal["bank_transfer", "sepa", "stripe", "mollie", "cash", "cheque"]
GiftStatus = Literal["pending", "confirmed", "failed", "cancelled"]
PlanStatus = Literal["active", "paused", "cancelled"]
PlanFrequency = Literal["monthly", "quarterly", "yearly"]
PlanMethod = Literal["sepa", "stripe", "mollie", "bank_transfer"]
ProviderKind = Literal["stripe", "mollie", "sepa"]

Amount = Decimal
_AMOUNT = {"description": 'In major units, as a string: "12.50".', "examples": ["12.50"]}
_SLUG = {"max_length": 50}


def _iso_date(value: Any) -> Any:
    # Pydantic would also read a number as a Unix time; the schema promises ISO 8601 text.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise PydanticCustomError("date_format", "A date as YYYY-MM-DD.")
    if not isinstance(value, str | datetime.date):
        raise PydanticCustomError("date_type", "A date as YYYY-MM-DD.")
    return value


def _iso_moment(value: Any) -> Any:
    if not isinstance(value, str | datetime.datetime):
        raise PydanticCustomError("datetime_type", "A moment as ISO 8601 text with its offset.")
    return value


IsoDate = Annotated[datetime.date, BeforeValidator(_iso_date)]
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]


# --- helpers: body references and money ----------------------------------------------------


def _fund(org: Organization, slug: str, field: str = "fund") -> Fund:
    if slug == actions.GENERAL_FUND:
        # Every organization has it, even before its first gift.
        return actions.ensure_general_fund(org=org)
    try:
        return fund_for(org=org, slug=slug)
    except NotFound as error:
        raise Invalid(error.message, field=field) from None


def _campaign(org: Organization, slug: str | None) -> Campaign | None:
    if not slug:
        return None
    try:
        return campaign_for(org=org, slug=slug)
    except NotFound as error:
        raise Invalid(error.message, field="campaign") from None


def _contact(org: Organization, contact_id: int) -> Contact:
    try:
        return contact_for(org=org, contact_id=contact_id)
    except NotFound as error:
        raise Invalid(error.message, field="contact_id") from None


def _minor(amount: Decimal, currency: str, field: str = "amount") -> int:
    return actions.to_minor(amount, currency, field=field)


def _major(amount_minor: int, currency: str) -> Decimal:
    return actions.from_minor(amount_minor, currency)


# --- funds ---------------------------------------------------------------------------------


class FundIn(Input):
    slug: str = Field(description="Shown in the public ledger; never changes.", **_SLUG)
    name: str = Field(max_length=200)
    restricted: bool = True
    description: str = Field("", max_length=5000)


class FundOut(Schema):
    slug: str
    name: str
    restricted: bool
    description: str
    archived: bool

    @staticmethod
    def resolve_archived(fund: Fund) -> bool:
        return fund.archived_at is not None


class FundPage(Schema):
    items: list[FundOut]
    count: int


@router.post("/funds", response={201: FundOut, **errors(400, 401, 403, 409, 422)})
def create_fund(request: HttpRequest, payload: FundIn) -> Status[Fund]:
    """Create a fund (restricted unless said otherwise)."""
    who = caller_for(request, "fundraising.edit")
    fund = actions.create_fund(org=who.org, actor=who.actor, **payload.model_dump())
    return Status(201, fund)


@router.get("/funds", response={200: FundPage, **errors(401, 403)})
def list_funds(request: HttpRequest) -> dict[str, Any]:
    """The organization's funds, by slug; the general fund always exists."""
    who = caller_for(request, "fundraising.view")
    actions.ensure_general_fund(org=who.org)
    funds = list(queries.funds_for(org=who.org))
    return {"items": funds, "count": len(funds)}


# --- campaigns -----------------------------------------------------------------------------


class CampaignIn(Input):
    slug: str = Field(**_SLUG)
    title: str = Field(max_length=200)
    fund: str = Field("", description="A fund's slug; the general fund if empty.", **_SLUG)
    texts: dict[str, dict[str, str]] = Field(
        {}, description='Per language: {"es": {"title": …, "summary": …, "body": …}}.'
    )
    goal: Amount | None = Field(None, description="In the campaign's currency; none if empty.")
    currency: str = Field("", description="ISO 4217; the organization's if empty.", max_length=3)
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    preset_amounts: list[Amount] = Field([], max_length=8)
    published: bool = False


class CampaignPatch(Input):
    slug: str | None = Field(None, **_SLUG)
    title: str | None = Field(None, max_length=200)
    fund: str | None = Field(None, **_SLUG)
    texts: dict[str, dict[str, str]] | None = None
    goal: Amount | None = None
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    preset_amounts: list[Amount] | None = Field(None, max_length=8)
    published: bool | None = None


class CampaignOut(Schema):
    slug: str
    title: str
    fund: str
    texts: dict[str, Any]
    goal: Amount | None
    currency: str
    starts_on: datetime.date | None
    ends_on: datetime.date | None
    preset_amounts: list[Amount]
    published: bool
    raised: Amount = Field(
        description="Confirmed gifts in the campaign's currency, net of refunds."
    )
    donors: int

    @staticmethod
    def resolve_fund(campaign: Campaign) -> str:
        return campaign.fund.slug

    @staticmethod
    def resolve_goal(campaign: Campaign) -> Decimal | None:
        return _major(campaign.goal_minor, campaign.currency) if campaign.goal_minor else None

    @staticmethod
    def resolve_preset_amounts(campaign: Campaign) -> list[Decimal]:
        return [_major(v, campaign.currency) for v in campaign.preset_amounts]

    @staticmethod
    def resolve_raised(campaign: Campaign) -> Decimal:
        return _major(campaign.raised_minor, campaign.currency)  # type: ignore[attr-defined]


class CampaignPage(Schema):
    items: list[CampaignOut]
    count: int


def _campaign_changes(org: Organization, data: dict[str, Any], currency: str) -> dict[str, Any]:
    if "fund" in data:
        data["fund"] = _fund(org, data["fund"]) if data["fund"] else None
    if "goal" in data:
        goal = data.pop("goal")
        data["goal_minor"] = _minor(goal, currency, "goal") if goal else 0
    if "preset_amounts" in data:
        data["preset_amounts"] = [
            _minor(v, currency, "preset_amounts") for v in data["preset_amounts"] or []
        ]
    return data


def _with_progress(org: Organization, slug: str) -> Campaign:
    campaign = queries.campaigns_for(org=org).filter(slug=slug).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


@router.post("/campaigns", response={201: CampaignOut, **errors(400, 401, 403, 409, 422)})
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status[Campaign]:
    """Create a campaign raising money for one fund."""
    who = caller_for(request, "fundraising.edit")
    currency = actions.check_currency(payload.currency or who.org.currency)
    data = _campaign_changes(who.org, payload.model_dump(), currency)
    data["currency"] = currency
    campaign = actions.create_campaign(org=who.org, actor=who.actor, **data)
    return Status(201, _with_progress(who.org, campaign.slug))


@router.get("/campaigns", response={200: CampaignPage, **errors(401, 403)})
def list_campaigns(request: HttpRequest) -> dict[str, Any]:
    """The organization's campaigns, newest first, with what each raised."""
    who = caller_for(request, "fundraising.view")
    campaigns = list(queries.campaigns_for(org=who.org))
    return {"items": campaigns, "count": len(campaigns)}


@router.get("/campaigns/{slug}", response={200: CampaignOut, **errors(401, 403, 404, 422)})
def get_campaign(request: HttpRequest, slug: str) -> Campaign:
    """One campaign and its progress."""
    who = caller_for(request, "fundraising.view")
    return _with_progress(who.org, slug)


@router.patch(
    "/campaigns/{slug}", response={200: CampaignOut, **errors(400, 401, 403, 404, 409, 422)}
)
def update_campaign(request: HttpRequest, slug: str, payload: CampaignPatch) -> Campaign:
    """Change the fields sent; gifts already made keep their fund."""
    who = caller_for(request, "fundraising.edit")
    campaign = campaign_for(org=who.org, slug=slug)
    changes = _campaign_changes(who.org, payload.model_dump(exclude_unset=True), campaign.currency)
    for field in ("slug", "title", "texts", "published", "preset_amounts"):
        if field in changes and changes[field] is None:
            raise Invalid(_("This field cannot be empty."), field=field)
    if "fund" in changes and changes["fund"] is None:
        changes.pop("fund")
    campaign = actions.update_campaign(org=who.org, actor=who.actor, campaign=campaign, **changes)
    return _with_progress(who.org, campaign.slug)


# --- gifts ---------------------------------------------------------------------------------


class DonationIn(Input):
    contact_id: int = Field(ge=1, le=2**63 - 1)
    amount: Amount = Field(**_AMOUNT)
    currency: str = Field(description="ISO 4217.", max_length=3, examples=["EUR"])
    fund: str = Field(
        "", description="A fund's slug; the campaign's or the general fund if empty.", **_SLUG
    )
    method: GiftMethod
    received_at: Moment | None = Field(None, description="When the money came; now if empty.")
    campaign: str | None = Field(None, description="A campaign's slug.", **_SLUG)
    note: str = Field("", max_length=2000)


class DonationOut(Schema):
    id: int
    contact_id: int
    amount: Amount
    currency: str
    fund: str
    campaign: str | None
    method: GiftMethod
    status: GiftStatus
    public_ref: str = Field(description="The gift's opaque reference in the public ledger.")
    tracking_url: str = Field(description="The donor's tracking page (a secret link).")
    ledger_seq: int | None
    payment_reference: str = Field(description="What the donor quotes on a bank transfer.")
    receipt_number: str
    refunded: Amount
    created_at: datetime.datetime
    received_at: datetime.datetime | None
    confirmed_at: datetime.datetime | None

    @staticmethod
    def resolve_amount(donation: Donation) -> Decimal:
        return _major(donation.amount_minor, donation.currency)

    @staticmethod
    def resolve_refunded(donation: Donation) -> Decimal:
        return _major(donation.refunded_minor, donation.currency)

    @staticmethod
    def resolve_fund(donation: Donation) -> str:
        return donation.fund.slug

    @staticmethod
    def resolve_campaign(donation: Donation) -> str | None:
        return donation.campaign.slug if donation.campaign_id else None

    @staticmethod
    def resolve_tracking_url(donation: Donation) -> str:
        return f"{settings.BASE_URL}/t/{donation.tracking_token}"


class DonationQuery(Input):
    status: GiftStatus | None = None
    fund: str = Field("", **_SLUG)
    campaign: str = Field("", **_SLUG)
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)
    method: GiftMethod | None = None
    currency: str = Field("", max_length=3)
    received_from: IsoDate | None = Field(
        None, description="From this day on, in the organization's time zone."
    )
    received_to: IsoDate | None = Field(None, description="Up to this day, included.")
    ref: str = Field(
        "", max_length=40, description="A public reference, payment reference or receipt number."
    )
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class DonationPage(Schema):
    items: list[DonationOut]
    count: int


def _day_start(org: Organization, day: datetime.date | None) -> datetime.datetime | None:
    if day is None:
        return None
    return datetime.datetime.combine(day, datetime.time(), tzinfo=actions._zone(org))


@router.post("/donations", response={201: DonationOut, **errors(400, 401, 403, 409, 422)})
def record_donation(request: HttpRequest, payload: DonationIn) -> Status[Donation]:
    """Record a gift whose money has arrived (cash, cheque, a transfer seen on the account):
    it is posted to the public ledger at once, and numbered for its receipt."""
    who = caller_for(request, "donations.record")
    currency = actions.check_currency(payload.currency)
    campaign = _campaign(who.org, payload.campaign)
    donation = actions.record_donation(
        org=who.org,
        actor=who.actor,
        contact=_contact(who.org, payload.contact_id),
        amount_minor=_minor(payload.amount, currency),
        currency=currency,
        fund=_fund(who.org, payload.fund) if payload.fund else None,
        method=payload.method,
        received_at=payload.received_at or timezone.now(),
        campaign=campaign,
        note=payload.note,
    )
    return Status(201, donation_for(org=who.org, donation_id=donation.pk))


@router.get("/donations", response={200: DonationPage, **errors(400, 401, 403, 422)})
def list_donations(request: HttpRequest, params: Query[DonationQuery]) -> dict[str, Any]:
    """The organization's gifts, newest first."""
    who = caller_for(request, "fundraising.view")
    filters = queries.DonationFilters(
        status=params.status or "",
        fund=params.fund,
        campaign=params.campaign,
        contact_id=params.contact_id,
        method=params.method or "",
        currency=params.currency,
        received_from=_day_start(who.org, params.received_from),
        received_to=_day_start(
            who.org,
            params.received_to + datetime.timedelta(days=1)
            if params.received_to and params.received_to < datetime.date.max
            else None,
        ),
        ref=params.ref,
    )
    donations = queries.donations_for(org=who.org, filters=filters)
    page = donations[params.offset : params.offset + params.limit]
    return {"items": list(page), "count": donations.count()}


@router.get("/donations/{id}", response={200: DonationOut, **errors(401, 403, 404, 422)})
def get_donation(request: HttpRequest, id: int) -> Donation:
    """One gift."""
    who = caller_for(request, "fundraising.view")
    return donation_for(org=who.org, donation_id=id)


class RefundIn(Input):
    amount: Amount | None = Field(None, description="What is left of the gift if empty.")
    reason: str = Field("", max_length=200)


class RefundOut(Schema):
    id: int
    donation_id: int
    amount: Amount
    currency: str
    ledger_seq: int
    at: datetime.datetime

    @staticmethod
    def resolve_amount(refund: Any) -> Decimal:
        return _major(refund.amount_minor, refund.currency)


@router.post(
    "/donations/{id}/refund", response={201: RefundOut, **errors(400, 401, 403, 404, 409, 422)}
)
def refund_donation(request: HttpRequest, id: int, payload: RefundIn) -> Status[Any]:
    """Give back all or part of a confirmed gift; 409 when the fund no longer holds it."""
    who = caller_for(request, "finance.book")
    donation = donation_for(org=who.org, donation_id=id)
    amount = _minor(payload.amount, donation.currency) if payload.amount is not None else None
    refund = actions.refund_donation(
        donation=donation, actor=who.actor, amount_minor=amount, reason=payload.reason
    )
    return Status(201, refund)


# --- the treasurer's books -----------------------------------------------------------------


class AllocationIn(Input):
    from_fund: str = Field(**_SLUG)
    to_fund: str = Field(**_SLUG)
    amount: Amount = Field(**_AMOUNT)
    currency: str = Field(max_length=3)
    note: str = Field("", max_length=200)


class AllocationOut(Schema):
    id: int
    from_fund: str
    to_fund: str
    amount: Amount
    currency: str
    public_ref: str
    ledger_seq: int
    at: datetime.datetime

    @staticmethod
    def resolve_from_fund(allocation: Any) -> str:
        return allocation.from_fund.slug

    @staticmethod
    def resolve_to_fund(allocation: Any) -> str:
        return allocation.to_fund.slug

    @staticmethod
    def resolve_amount(allocation: Any) -> Decimal:
        return _major(allocation.amount_minor, allocation.currency)


@router.post("/allocations", response={201: AllocationOut, **errors(400, 401, 403, 409, 422)})
def allocate(request: HttpRequest, payload: AllocationIn) -> Status[Any]:
    """Move money between funds; 409 when the first holds less than the amount."""
    who = caller_for(request, "finance.book")
    currency = actions.check_currency(payload.currency)
    allocation = actions.allocate(
        org=who.org,
        actor=who.actor,
        from_fund=_fund(who.org, payload.from_fund, "from_fund"),
        to_fund=_fund(who.org, payload.to_fund, "to_fund"),
        amount_minor=_minor(payload.amount, currency),
        currency=currency,
        note=payload.note,
    )
    return Status(201, allocation)


class ExpenseIn(Input):
    fund: str = Field(**_SLUG)
    amount: Amount = Field(**_AMOUNT)
    currency: str = Field(max_length=3)
    description: str = Field(
        max_length=200, description="Public: what was bought, never who was helped."
    )
    category: str = Field(max_length=50, examples=["supplies"])
    spent_at: Moment
    evidence_sha256: str = Field("", max_length=64, description="SHA-256 of the evidence (hex).")


class ExpenseOut(Schema):
    id: int
    fund: str
    amount: Amount
    currency: str
    description: str
    category: str
    spent_at: datetime.datetime
    evidence_sha256: str
    public_ref: str
    ledger_seq: int
    reversal_seq: int | None

    @staticmethod
    def resolve_fund(expense: Expense) -> str:
        return expense.fund.slug

    @staticmethod
    def resolve_amount(expense: Expense) -> Decimal:
        return _major(expense.amount_minor, expense.currency)


@router.post("/expenses", response={201: ExpenseOut, **errors(400, 401, 403, 409, 422)})
def record_expense(request: HttpRequest, payload: ExpenseIn) -> Status[Expense]:
    """Book money spent from a fund; 409 when the fund holds less than the amount."""
    who = caller_for(request, "finance.book")
    currency = actions.check_currency(payload.currency)
    expense = actions.record_expense(
        org=who.org,
        actor=who.actor,
        fund=_fund(who.org, payload.fund),
        amount_minor=_minor(payload.amount, currency),
        currency=currency,
        description=payload.description,
        category=payload.category,
        spent_at=payload.spent_at,
        evidence_sha256=payload.evidence_sha256,
    )
    return Status(201, expense)


# --- payment providers ---------------------------------------------------------------------


class ProviderIn(Input):
    kind: ProviderKind
    settings: dict[str, str] = Field(
        description="stripe: secret_key, webhook_secret, api_base_url; mollie: api_key, "
        "webhook_secret (optional: then only signed webhooks are accepted), api_base_url; sepa: creditor_name, creditor_iban, creditor_bic, creditor_id. "
        "Secrets are write-only: an empty one keeps the stored value.",
        max_length=10,
    )
    enabled: bool = True


class ProviderOut(Schema):
    kind: ProviderKind
    settings: dict[str, str] = Field(description="The public settings; never the secrets.")
    secrets_set: dict[str, bool] = Field(description="Which secrets are stored.")
    enabled: bool

    @staticmethod
    def resolve_secrets_set(provider: PaymentProvider) -> dict[str, bool]:
        return {
            name: bool(provider.secrets.get(name))
            for name in sorted(actions.PROVIDER_SECRETS[provider.kind])
        }


class ProviderPage(Schema):
    items: list[ProviderOut]
    count: int


@router.post("/payment-providers", response={200: ProviderOut, **errors(400, 401, 403, 409, 422)})
def configure_provider(request: HttpRequest, payload: ProviderIn) -> PaymentProvider:
    """Set up (or replace) the organization's account with a payment provider."""
    who = caller_for(request, "payments.manage")
    secret_names = actions.PROVIDER_SECRETS[payload.kind]
    return actions.configure_payment_provider(
        org=who.org,
        actor=who.actor,
        kind=payload.kind,
        settings={k: v for k, v in payload.settings.items() if k not in secret_names},
        secrets={k: v for k, v in payload.settings.items() if k in secret_names},
        enabled=payload.enabled,
    )


@router.get("/payment-providers", response={200: ProviderPage, **errors(401, 403)})
def list_providers(request: HttpRequest) -> dict[str, Any]:
    """The organization's payment providers, without their secrets."""
    who = caller_for(request, "payments.manage")
    providers = list(queries.providers_for(org=who.org))
    return {"items": providers, "count": len(providers)}


# --- recurring plans -----------------------------------------------------------------------


class PlanIn(Input):
    contact_id: int = Field(ge=1, le=2**63 - 1)
    amount: Amount = Field(**_AMOUNT)
    currency: str = Field(max_length=3)
    fund: str = Field("", description="A fund's slug; the general fund if empty.", **_SLUG)
    frequency: PlanFrequency
    method: PlanMethod
    iban: str = Field("", max_length=50, description="SEPA: the donor's IBAN.")
    bic: str = Field("", max_length=11)
    account_holder: str = Field(
        "", max_length=70, description="SEPA: the account holder, if not the donor."
    )
    mandate_reference: str = Field("", max_length=35, description="SEPA; generated if empty.")
    mandate_signed_at: IsoDate | None = Field(None, description="SEPA: required.")
    next_due: IsoDate | None = Field(None, description="Today if empty.")
    campaign: str | None = Field(None, **_SLUG)


class PlanPatch(Input):
    amount: Amount | None = None
    fund: str | None = Field(None, **_SLUG)
    status: PlanStatus | None = None
    iban: str | None = Field(None, max_length=50)
    bic: str | None = Field(None, max_length=11)
    account_holder: str | None = Field(None, max_length=70)
    next_due: IsoDate | None = None
    skip_next: bool = Field(False, description="Move the next date on by one period.")


class PlanOut(Schema):
    id: int
    contact_id: int
    amount: Amount
    currency: str
    fund: str
    frequency: PlanFrequency
    method: PlanMethod
    status: PlanStatus
    iban: str = Field(description="Masked: country, check digits and last four.")
    bic: str
    account_holder: str
    mandate_reference: str
    mandate_signed_at: datetime.date | None
    next_due: datetime.date | None
    created_at: datetime.datetime
    cancelled_at: datetime.datetime | None

    @staticmethod
    def resolve_amount(plan: RecurringPlan) -> Decimal:
        return _major(plan.amount_minor, plan.currency)

    @staticmethod
    def resolve_fund(plan: RecurringPlan) -> str:
        return plan.fund.slug

    @staticmethod
    def resolve_iban(plan: RecurringPlan) -> str:
        return queries.mask_iban(plan.iban)


class PlanQuery(Input):
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class PlanPage(Schema):
    items: list[PlanOut]
    count: int


@router.post("/recurring-plans", response={201: PlanOut, **errors(400, 401, 403, 409, 422)})
def create_plan(request: HttpRequest, payload: PlanIn) -> Status[RecurringPlan]:
    """Start a recurring gift; SEPA needs the IBAN and the date the mandate was signed."""
    who = caller_for(request, "donations.record")
    currency = actions.check_currency(payload.currency)
    plan = actions.create_plan(
        org=who.org,
        actor=who.actor,
        contact=_contact(who.org, payload.contact_id),
        amount_minor=_minor(payload.amount, currency),
        currency=currency,
        fund=_fund(who.org, payload.fund) if payload.fund else None,
        frequency=payload.frequency,
        method=payload.method,
        iban=payload.iban,
        bic=payload.bic,
        account_holder=payload.account_holder,
        mandate_reference=payload.mandate_reference,
        mandate_signed_at=payload.mandate_signed_at,
        next_due=payload.next_due,
        campaign=_campaign(who.org, payload.campaign),
    )
    return Status(201, plan)


@router.get("/recurring-plans", response={200: PlanPage, **errors(400, 401, 403, 422)})
def list_plans(request: HttpRequest, params: Query[PlanQuery]) -> dict[str, Any]:
    """The organization's recurring gifts, newest first."""
    who = caller_for(request, "fundraising.view")
    contact = None
    if params.contact_id is not None:
        contact = Contact.objects.filter(organization=who.org, pk=params.contact_id).first()
        if contact is None:
            return {"items": [], "count": 0}
    plans = queries.plans_for(org=who.org, contact=contact)
    page = plans[params.offset : params.offset + params.limit]
    return {"items": list(page), "count": plans.count()}


@router.patch(
    "/recurring-plans/{id}", response={200: PlanOut, **errors(400, 401, 403, 404, 409, 422)}
)
def update_plan(request: HttpRequest, id: int, payload: PlanPatch) -> RecurringPlan:
    """Change the amount, fund, account or next date; pause, resume, cancel or skip one."""
    who = caller_for(request, "donations.record")
    plan = plan_for(org=who.org, plan_id=id)
    return actions.update_plan(
        plan=plan,
        actor=who.actor,
        amount_minor=_minor(payload.amount, plan.currency) if payload.amount is not None else None,
        fund=_fund(who.org, payload.fund) if payload.fund else None,
        status=payload.status,
        iban=payload.iban,
        bic=payload.bic,
        account_holder=payload.account_holder,
        next_due=payload.next_due,
        skip_next=payload.skip_next,
    )
