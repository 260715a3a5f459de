"""The one way a request reaches a fundraising row: through the acting organization.

Each function answers another organization's row exactly like a missing one (NotFound with
the same message), so an id never confirms that a row exists elsewhere.
"""

from django.utils.translation import gettext as _

from solidaria.core.errors import NotFound
from solidaria.core.models import Organization
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Expense,
    Fund,
    PaymentProvider,
    PeerPage,
    RecurringPlan,
)

# Ids above this are never rows; refusing them early keeps databases from overflowing.
_MAX_ID = 2**63 - 1


def _pk(value: int | str) -> int | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk <= _MAX_ID else None


def donation_for(*, org: Organization, donation_id: int | str) -> Donation:
    """The organization's gift with this id, with its fund and campaign."""
    pk = _pk(donation_id)
    donation = (
        Donation.objects.select_related("fund", "campaign", "organization")
        .filter(organization=org, pk=pk)
        .first()
        if pk
        else None
    )
    if donation is None:
        raise NotFound(_("No such gift."))
    return donation


def donation_by_ref_for(*, org: Organization, public_ref: str) -> Donation:
    """The organization's gift with this public reference (`g-…`)."""
    donation = (
        Donation.objects.select_related("fund", "campaign", "organization")
        .filter(organization=org, public_ref=public_ref)
        .first()
    )
    if donation is None:
        raise NotFound(_("No such gift."))
    return donation


def fund_for(*, org: Organization, slug: str) -> Fund:
    """The organization's fund with this slug."""
    fund = Fund.objects.filter(organization=org, slug=slug).first()
    if fund is None:
        raise NotFound(_("No such fund."))
    return fund


def campaign_for(*, org: Organization, slug: str) -> Campaign:
    """The organization's campaign with this slug, with its fund."""
    campaign = Campaign.objects.select_related("fund").filter(organization=org, slug=slug).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


def peer_page_for(*, org: Organization, campaign: Campaign, slug: str) -> PeerPage:
    """A peer page of the organization's campaign, by its slug."""
    page = (
        PeerPage.objects.select_related("campaign")
        .filter(organization=org, campaign=campaign, slug=slug)
        .first()
    )
    if page is None:
        raise NotFound(_("No such page."))
    return page


def plan_for(*, org: Organization, plan_id: int | str) -> RecurringPlan:
    """The organization's recurring plan with this id, with its fund."""
    pk = _pk(plan_id)
    plan = (
        RecurringPlan.objects.select_related("fund", "campaign", "organization")
        .filter(organization=org, pk=pk)
        .first()
        if pk
        else None
    )
    if plan is None:
        raise NotFound(_("No such recurring gift."))
    return plan


def expense_for(*, org: Organization, expense_id: int | str) -> Expense:
    """The organization's expense with this id, with its fund."""
    pk = _pk(expense_id)
    expense = (
        Expense.objects.select_related("fund").filter(organization=org, pk=pk).first()
        if pk
        else None
    )
    if expense is None:
        raise NotFound(_("No such expense."))
    return expense


def provider_for(*, org: Organization, kind: str) -> PaymentProvider:
    """The organization's account with this payment provider (`stripe`, `mollie`, `sepa`)."""
    provider = PaymentProvider.objects.filter(organization=org, kind=kind).first()
    if provider is None:
        raise NotFound(_("No such payment provider."))
    return provider
