"""Factories for fundraising rows. Money rows go through the actions, so their ledger entries
exist and `solidaria ledger verify` agrees with them."""

import datetime
from typing import Any

from django.utils import timezone

from solidaria.core.models import Organization
from solidaria.fundraising import actions
from solidaria.fundraising.models import Campaign, Donation, Expense, Fund, RecurringPlan
from solidaria.people.models import Contact
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

_counter = iter(range(1, 10**9))


def make_fund(org: Organization, slug: str = "", **fields: Any) -> Fund:
    slug = slug or f"fund-{next(_counter)}"
    fields.setdefault("name", slug.replace("-", " ").title())
    return actions.create_fund(org=org, actor=TEST_ACTOR, slug=slug, **fields)


def make_campaign(org: Organization, slug: str = "", **fields: Any) -> Campaign:
    slug = slug or f"campaign-{next(_counter)}"
    fields.setdefault("title", slug.replace("-", " ").title())
    return actions.create_campaign(org=org, actor=TEST_ACTOR, slug=slug, **fields)


def make_gift(
    org: Organization,
    *,
    amount_minor: int = 2500,
    contact: Contact | None = None,
    fund: Fund | None = None,
    currency: str = "",
    method: str = "cash",
    received_at: datetime.datetime | None = None,
    **fields: Any,
) -> Donation:
    """A confirmed gift, recorded as staff would: its `income` entry is in the ledger."""
    return actions.record_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact or make_contact(org),
        amount_minor=amount_minor,
        currency=currency or org.currency,
        fund=fund,
        method=method,
        received_at=received_at or timezone.now(),
        **fields,
    )


def make_pending_gift(
    org: Organization,
    *,
    amount_minor: int = 2500,
    contact: Contact | None = None,
    method: str = "bank_transfer",
    **fields: Any,
) -> Donation:
    fields.setdefault("fund", None)
    return actions.start_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact or make_contact(org),
        amount_minor=amount_minor,
        currency=fields.pop("currency", org.currency),
        method=method,
        **fields,
    )


def make_expense(
    org: Organization, *, fund: Fund, amount_minor: int = 1000, **fields: Any
) -> Expense:
    fields.setdefault("description", "Blankets")
    fields.setdefault("category", "supplies")
    fields.setdefault("spent_at", timezone.now())
    return actions.record_expense(
        org=org,
        actor=TEST_ACTOR,
        fund=fund,
        amount_minor=amount_minor,
        currency=fields.pop("currency", org.currency),
        **fields,
    )


SEPA_IBAN = "ES9121000418450200051332"


def make_plan(org: Organization, *, contact: Contact | None = None, **fields: Any) -> RecurringPlan:
    """A monthly SEPA plan with a signed mandate, unless told otherwise."""
    fields.setdefault("method", "sepa")
    if fields["method"] == "sepa":
        fields.setdefault("iban", SEPA_IBAN)
        fields.setdefault("mandate_signed_at", timezone.localdate() - datetime.timedelta(days=1))
    return actions.create_plan(
        org=org,
        actor=TEST_ACTOR,
        contact=contact or make_contact(org),
        amount_minor=fields.pop("amount_minor", 1000),
        currency=fields.pop("currency", org.currency),
        fund=fields.pop("fund", None),
        frequency=fields.pop("frequency", "monthly"),
        **fields,
    )
