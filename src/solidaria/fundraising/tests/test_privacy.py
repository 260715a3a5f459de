"""The fundraising part of a person's export and erasure (GDPR art. 15, 17 and 20)."""

import pytest
from django.test import Client

from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.fundraising import actions
from solidaria.fundraising.models import Donation, PeerPage, RecurringPlan
from solidaria.fundraising.tests.factories import (
    SEPA_IBAN,
    make_campaign,
    make_gift,
    make_plan,
)
from solidaria.ledger.models import LedgerEntry
from solidaria.ledger.verify import verify_ledger
from solidaria.people.actions import erase_contact, export_contact
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db


def _donor():
    org = OrganizationFactory()
    contact = make_contact(org, emails=["ana@example.org"])
    gift = make_gift(org, contact=contact, amount_minor=2500, note="met at the fair")
    plan = make_plan(org, contact=contact, account_holder="Joan Ferrer")
    page = actions.create_peer_page(
        org=org,
        actor=TEST_ACTOR,
        campaign=make_campaign(org, "winter"),
        supporter=contact,
        slug="ana",
        title="Ana runs for the school",
        story="My story",
    )
    return org, contact, gift, plan, page


def test_the_export_holds_gifts_plans_with_a_masked_iban_and_peer_pages():
    # given
    org, contact, gift, plan, _page = _donor()
    make_gift(org, amount_minor=999)  # someone else's

    # when
    data = export_contact(org=org, actor=TEST_ACTOR, contact=contact)["fundraising"]

    # then
    assert [(g["public_ref"], g["amount_minor"], g["currency"]) for g in data["gifts"]] == [
        (gift.public_ref, 2500, "EUR")
    ]
    assert data["gifts"][0]["receipt_number"] == gift.receipt_number
    assert data["recurring_plans"][0]["iban"] == "ES91 **** 1332"
    assert data["recurring_plans"][0]["mandate_reference"] == plan.mandate_reference
    assert data["recurring_plans"][0]["account_holder"] == "Joan Ferrer"
    assert SEPA_IBAN not in str(data)
    assert data["peer_pages"] == [
        {
            "campaign": "winter",
            "slug": "ana",
            "title": "Ana runs for the school",
            "story": "My story",
            "goal_minor": 0,
            "language": "",
            "hidden": False,
            "created_at": data["peer_pages"][0]["created_at"],
        }
    ]


def test_the_export_through_the_api_includes_fundraising():
    org, contact, gift, _plan, _page = _donor()
    raw = make_api_token(MembershipFactory(organization=org))
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get(
        f"/api/v1/contacts/{contact.pk}/export"
    )
    assert response.status_code == 200
    assert response.json()["fundraising"]["gifts"][0]["public_ref"] == gift.public_ref


def test_erasure_keeps_the_gifts_and_clears_plans_and_pages():
    # given
    org, contact, gift, plan, page = _donor()
    ledger_before = list(LedgerEntry.objects.filter(organization=org).values())

    # when
    erase_contact(org=org, actor=TEST_ACTOR, contact=contact)

    # then: the gift is a financial record, kept with its amount and link
    kept = Donation.objects.get(pk=gift.pk)
    assert (kept.contact_id, kept.amount_minor, kept.status) == (contact.pk, 2500, "confirmed")
    assert kept.note == ""
    plan = RecurringPlan.objects.get(pk=plan.pk)
    assert (plan.status, plan.iban, plan.bic, plan.account_holder) == ("cancelled", "", "", "")
    assert plan.cancelled_at is not None
    page = PeerPage.objects.get(pk=page.pk)
    assert page.hidden_at is not None
    assert (page.title, page.story) == ("", "")
    # the public ledger never held personal data: untouched, and it still verifies
    assert list(LedgerEntry.objects.filter(organization=org).values()) == ledger_before
    assert verify_ledger(org=org).ok
    # and the export of the erased contact no longer reveals the plan's account
    export = export_contact(org=org, actor=TEST_ACTOR, contact=contact)["fundraising"]
    assert export["recurring_plans"][0]["iban"] == ""
    assert export["recurring_plans"][0]["account_holder"] == ""


def test_erasure_is_idempotent_and_leaves_other_donors_alone():
    # given
    org, contact, _gift, _plan, _page = _donor()
    other = make_contact(org)
    other_plan = make_plan(org, contact=other)

    # when
    erase_contact(org=org, actor=TEST_ACTOR, contact=contact)
    erase_contact(org=org, actor=TEST_ACTOR, contact=contact)

    # then
    other_plan = RecurringPlan.objects.get(pk=other_plan.pk)
    assert (other_plan.status, other_plan.iban) == ("active", SEPA_IBAN)
    assert verify_ledger(org=org).ok
