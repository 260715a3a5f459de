"""The fundraising API through HTTP: shapes of DESIGN.md §5, errors, and no N+1 on lists."""

import pytest
from django.test import Client
from django.utils import timezone

from solidaria.core.models import AuditEvent
from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.fundraising import actions
from solidaria.fundraising.access import campaign_for
from solidaria.fundraising.models import Donation, Expense, PaymentProvider, RecurringPlan
from solidaria.fundraising.tests.factories import (
    SEPA_IBAN,
    make_campaign,
    make_fund,
    make_gift,
    make_plan,
)
from solidaria.ledger.models import LedgerEntry
from solidaria.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _admin(org=None, role=Role.ADMIN) -> tuple[Client, object]:
    org = org or OrganizationFactory()
    raw = make_api_token(MembershipFactory(organization=org, role=role))
    return Client(headers={"Authorization": f"Bearer {raw}"}), org


def _post(client: Client, path: str, body: dict):
    return client.post(API + path, body, content_type="application/json")


def _patch(client: Client, path: str, body: dict):
    return client.patch(API + path, body, content_type="application/json")


# --- funds and campaigns -------------------------------------------------------------------


def test_funds_are_created_and_listed_with_the_general_fund():
    # given
    client, _org = _admin()

    # when
    created = _post(client, "/funds", {"slug": "school", "name": "School", "restricted": True})
    duplicate = _post(client, "/funds", {"slug": "school", "name": "Again"})
    listed = client.get(f"{API}/funds")

    # then
    assert created.status_code == 201
    assert created.json() == {
        "slug": "school",
        "name": "School",
        "restricted": True,
        "description": "",
        "archived": False,
    }
    assert duplicate.status_code == 409
    assert listed.json()["count"] == 2
    assert [(f["slug"], f["restricted"]) for f in listed.json()["items"]] == [
        ("general", False),
        ("school", True),
    ]


def test_a_campaign_is_created_read_and_patched_with_its_progress():
    # given
    client, org = _admin()
    make_fund(org, "school")

    # when
    created = _post(
        client,
        "/campaigns",
        {
            "slug": "winter",
            "title": "Winter",
            "fund": "school",
            "goal": "5000",
            "preset_amounts": ["10", "25.50"],
            "texts": {"es": {"title": "Invierno"}},
        },
    )
    make_gift(org, amount_minor=2500, campaign=campaign_for(org=org, slug="winter"))
    make_gift(org, amount_minor=1000, campaign=make_campaign(org, "other"))
    make_gift(org, amount_minor=700)
    read = client.get(f"{API}/campaigns/winter")
    patched = _patch(client, "/campaigns/winter", {"title": "Cold", "published": True})
    bad = _patch(client, "/campaigns/winter", {"goal": "1.001"})
    missing = client.get(f"{API}/campaigns/nope")

    # then
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "EUR"
    assert created.json()["goal"] == "5000.00"
    assert created.json()["preset_amounts"] == ["10.00", "25.50"]
    assert created.json()["raised"] == "0.00"
    assert created.json()["texts"] == {"es": {"title": "Invierno"}}
    assert (read.json()["raised"], read.json()["donors"]) == ("25.00", 1)
    assert read.json()["fund"] == "school"
    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["published"]) == ("Cold", True)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "goal"]
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No such campaign."}


def test_a_campaign_for_an_unknown_fund_is_a_field_error():
    client, _org = _admin()
    response = _post(client, "/campaigns", {"slug": "w", "title": "W", "fund": "nope"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "fund"], "msg": "No such fund.", "type": "invalid"}
    ]


# --- gifts ---------------------------------------------------------------------------------


def test_a_gift_is_recorded_and_answers_the_design_fields(settings):
    # given
    settings.BASE_URL = "https://give.example.org"
    client, org = _admin()
    contact = make_contact(org)

    # when
    response = _post(
        client,
        "/donations",
        {
            "contact_id": contact.pk,
            "amount": "12.50",
            "currency": "EUR",
            "fund": "general",
            "method": "cash",
            "received_at": "2026-01-05T10:00:00Z",
        },
    )

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    gift = Donation.objects.get(pk=body["id"])
    assert body["amount"] == "12.50"
    assert (body["currency"], body["fund"], body["method"], body["status"]) == (
        "EUR",
        "general",
        "cash",
        "confirmed",
    )
    assert body["tracking_url"] == f"https://give.example.org/t/{gift.tracking_token}"
    assert body["ledger_seq"] == 0
    assert body["public_ref"] == gift.public_ref
    assert body["received_at"] == "2026-01-05T10:00:00Z"
    assert body["receipt_number"] == "2026-000001"
    assert LedgerEntry.objects.get(organization=org).amount == 1250
    assert client.get(f"{API}/donations/{gift.pk}").json() == body


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"amount": "12.345"}, ["body", "amount"]),
        ({"amount": "0"}, ["body", "amount"]),
        ({"amount": "-5"}, ["body", "amount"]),
        ({"amount": "99999999999999"}, ["body", "amount"]),
        ({"amount": "abc"}, ["body", "amount"]),
        ({"currency": "EURO"}, ["body", "currency"]),
        ({"currency": "XYZ"}, ["body", "currency"]),
        ({"fund": "nope"}, ["body", "fund"]),
        ({"campaign": "nope"}, ["body", "campaign"]),
        ({"contact_id": 999999999}, ["body", "contact_id"]),
        ({"method": "bitcoin"}, ["body", "method"]),
        ({"received_at": "2026-01-05T10:00:00"}, ["body", "received_at"]),
        ({"colour": "red"}, ["body", "colour"]),
    ],
)
def test_a_bad_gift_is_refused_by_field_and_changes_nothing(change, loc):
    # given
    client, org = _admin()
    contact = make_contact(org)
    body = {
        "contact_id": contact.pk,
        "amount": "12.50",
        "currency": "EUR",
        "fund": "general",
        "method": "cash",
        **change,
    }

    # when
    response = _post(client, "/donations", body)

    # then
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert not Donation.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_a_numeric_amount_is_accepted_and_yen_have_no_decimals():
    client, org = _admin(OrganizationFactory(currency="JPY"))
    contact = make_contact(org)
    base = {"contact_id": contact.pk, "currency": "JPY", "method": "cash"}
    assert _post(client, "/donations", {**base, "amount": 1500}).json()["amount"] == "1500"
    assert _post(client, "/donations", {**base, "amount": "1500.5"}).status_code == 422


def test_gifts_are_listed_with_filters_and_without_n_plus_one(django_assert_num_queries):
    # given
    client, org = _admin()
    school = make_fund(org, "school")
    campaign = make_campaign(org, "winter", fund=school)
    donor = make_contact(org)
    for _i in range(3):
        make_gift(org, contact=donor, campaign=campaign)
        make_gift(org, amount_minor=100)
    client.get(f"{API}/donations")  # warm the token's last-used write

    # when: auth (token + membership), the page, the count
    with django_assert_num_queries(4):
        everything = client.get(f"{API}/donations", {"limit": 50})
    by_fund = client.get(f"{API}/donations", {"fund": "school"}).json()
    by_donor = client.get(f"{API}/donations", {"contact_id": donor.pk, "limit": 2}).json()
    by_ref = client.get(f"{API}/donations", {"ref": by_fund["items"][0]["receipt_number"]}).json()
    today = timezone.localdate().isoformat()
    by_day = client.get(
        f"{API}/donations", {"received_from": today, "received_to": today, "status": "confirmed"}
    ).json()
    none_yet = client.get(f"{API}/donations", {"received_to": "2000-01-01"}).json()

    # then
    assert everything.json()["count"] == 6
    assert by_fund["count"] == 3
    assert {item["campaign"] for item in by_fund["items"]} == {"winter"}
    assert (by_donor["count"], len(by_donor["items"])) == (3, 2)
    assert by_ref["count"] == 1
    assert by_day["count"] == 6
    assert none_yet["count"] == 0


def test_campaigns_plans_and_funds_lists_take_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    # given
    client, org = _admin()
    for n in range(3):
        campaign = make_campaign(org, f"c{n}", fund=make_fund(org))
        make_gift(org, campaign=campaign)
        make_plan(org)
    client.get(f"{API}/funds")

    # then
    with django_assert_num_queries(3):
        assert client.get(f"{API}/campaigns").json()["count"] == 3
    with django_assert_num_queries(4):
        assert client.get(f"{API}/recurring-plans").json()["count"] == 3
    with django_assert_num_queries(4):
        assert client.get(f"{API}/funds").json()["count"] == 4


def test_a_gift_is_refunded_in_part_then_in_full():
    # given
    client, org = _admin()
    gift = make_gift(org, amount_minor=5000)

    # when
    part = _post(client, f"/donations/{gift.pk}/refund", {"amount": "20.00", "reason": "asked"})
    too_much = _post(client, f"/donations/{gift.pk}/refund", {"amount": "30.01"})
    rest = _post(client, f"/donations/{gift.pk}/refund", {})
    again = _post(client, f"/donations/{gift.pk}/refund", {})

    # then
    assert part.status_code == 201
    assert (part.json()["amount"], part.json()["ledger_seq"]) == ("20.00", 1)
    assert too_much.status_code == 422
    assert rest.json()["amount"] == "30.00"
    assert again.status_code == 409
    assert client.get(f"{API}/donations/{gift.pk}").json()["refunded"] == "50.00"


def test_a_refund_of_spent_money_is_409():
    client, org = _admin()
    gift = make_gift(org, amount_minor=1000)
    _post(
        client,
        "/expenses",
        {
            "fund": "general",
            "amount": "10",
            "currency": "EUR",
            "description": "Rent",
            "category": "rent",
            "spent_at": "2026-01-01T00:00:00Z",
        },
    )
    response = _post(client, f"/donations/{gift.pk}/refund", {})
    assert response.status_code == 409
    assert "general" in response.json()["detail"]


# --- the treasurer's books -----------------------------------------------------------------


def test_allocations_and_expenses_return_their_ledger_seq():
    # given
    client, org = _admin(role=Role.TREASURER)
    make_gift(org, amount_minor=10_000)
    make_fund(org, "school")

    # when
    allocation = _post(
        client,
        "/allocations",
        {"from_fund": "general", "to_fund": "school", "amount": "60", "currency": "EUR"},
    )
    expense = _post(
        client,
        "/expenses",
        {
            "fund": "school",
            "amount": "45.50",
            "currency": "EUR",
            "description": "Books",
            "category": "supplies",
            "spent_at": "2026-02-01T09:00:00+01:00",
            "evidence_sha256": "ab" * 32,
        },
    )
    too_much = _post(
        client,
        "/expenses",
        {
            "fund": "school",
            "amount": "14.51",
            "currency": "EUR",
            "description": "More books",
            "category": "supplies",
            "spent_at": "2026-02-01T09:00:00Z",
        },
    )

    # then
    assert allocation.status_code == 201, allocation.content
    assert allocation.json()["ledger_seq"] == 1
    assert (allocation.json()["from_fund"], allocation.json()["to_fund"]) == ("general", "school")
    assert expense.status_code == 201, expense.content
    assert expense.json()["ledger_seq"] == 2
    assert expense.json()["id"] == Expense.objects.get().pk
    assert expense.json()["spent_at"] == "2026-02-01T08:00:00Z"
    assert expense.json()["evidence_sha256"] == "ab" * 32
    assert too_much.status_code == 409
    assert "school" in too_much.json()["detail"]
    assert Expense.objects.count() == 1


def test_an_allocation_between_unknown_funds_is_422():
    client, _org = _admin()
    response = _post(
        client,
        "/allocations",
        {"from_fund": "general", "to_fund": "nope", "amount": "1", "currency": "EUR"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "to_fund"]


# --- payment providers ---------------------------------------------------------------------


def test_provider_secrets_are_write_only():
    # given
    client, org = _admin()

    # when
    created = _post(
        client,
        "/payment-providers",
        {
            "kind": "stripe",
            "settings": {
                "secret_key": "sk_test_123",
                "webhook_secret": "whsec_456",
                "api_base_url": "http://127.0.0.1:8111",
            },
        },
    )
    kept = _post(
        client,
        "/payment-providers",
        {"kind": "stripe", "settings": {"secret_key": "", "webhook_secret": ""}},
    )
    listed = client.get(f"{API}/payment-providers")

    # then
    assert created.status_code == 200, created.content
    assert created.json() == {
        "kind": "stripe",
        "settings": {"api_base_url": "http://127.0.0.1:8111"},
        "secrets_set": {"secret_key": True, "webhook_secret": True},
        "enabled": True,
    }
    assert kept.json()["settings"] == {"api_base_url": "https://api.stripe.com"}
    assert "sk_test" not in listed.content.decode()
    assert listed.json()["count"] == 1
    assert PaymentProvider.objects.get().secrets["secret_key"] == "sk_test_123"
    audit = str(list(AuditEvent.objects.filter(organization=org).values_list("extra", flat=True)))
    assert "sk_test" not in audit


def test_a_mollie_webhook_secret_is_optional_and_write_only():
    # given
    client, _org = _admin()

    # when
    without = _post(client, "/payment-providers", {"kind": "mollie", "settings": {"api_key": "k1"}})
    with_secret = _post(
        client,
        "/payment-providers",
        {"kind": "mollie", "settings": {"api_key": "", "webhook_secret": "mollie_whsec_9"}},
    )
    listed = client.get(f"{API}/payment-providers")

    # then
    assert without.status_code == with_secret.status_code == 200, without.content
    assert without.json()["secrets_set"] == {"api_key": True, "webhook_secret": False}
    assert with_secret.json()["secrets_set"] == {"api_key": True, "webhook_secret": True}
    assert "mollie_whsec" not in listed.content.decode()
    assert PaymentProvider.objects.get().secrets == {
        "api_key": "k1",
        "webhook_secret": "mollie_whsec_9",
    }


def test_a_sepa_provider_with_a_bad_creditor_id_is_422():
    client, _org = _admin()
    response = _post(
        client,
        "/payment-providers",
        {
            "kind": "sepa",
            "settings": {
                "creditor_name": "Amics",
                "creditor_iban": SEPA_IBAN,
                "creditor_id": "ES99ZZZ47690558N",
            },
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "creditor_id"]


# --- recurring plans -----------------------------------------------------------------------


def test_a_sepa_plan_is_created_listed_masked_and_paused():
    # given
    client, org = _admin()
    contact = make_contact(org)

    # when
    created = _post(
        client,
        "/recurring-plans",
        {
            "contact_id": contact.pk,
            "amount": "10",
            "currency": "EUR",
            "frequency": "monthly",
            "method": "sepa",
            "iban": SEPA_IBAN,
            "account_holder": "Joan Ferrer",
            "mandate_signed_at": "2026-01-02",
            "next_due": "2026-01-31",
        },
    )
    plan_id = created.json()["id"]
    skipped = _patch(client, f"/recurring-plans/{plan_id}", {"skip_next": True})
    paused = _patch(client, f"/recurring-plans/{plan_id}", {"status": "paused", "amount": "15"})
    held = _patch(client, f"/recurring-plans/{plan_id}", {"account_holder": "Anna Weber"})
    listed = client.get(f"{API}/recurring-plans", {"contact_id": contact.pk})

    # then
    assert created.status_code == 201, created.content
    assert created.json()["account_holder"] == "Joan Ferrer"
    assert held.json()["account_holder"] == "Anna Weber"
    assert created.json()["iban"] == "ES91 **** 1332"
    assert created.json()["bic"] == "CAIXESBB"
    assert created.json()["mandate_reference"].startswith("SOL-")
    assert skipped.json()["next_due"] == "2026-02-28"
    assert (paused.json()["status"], paused.json()["amount"]) == ("paused", "15.00")
    assert listed.json()["count"] == 1
    assert SEPA_IBAN not in listed.content.decode()
    assert RecurringPlan.objects.get().iban == SEPA_IBAN


def test_a_sepa_plan_without_a_mandate_date_is_422():
    client, org = _admin()
    response = _post(
        client,
        "/recurring-plans",
        {
            "contact_id": make_contact(org).pk,
            "amount": "10",
            "currency": "EUR",
            "frequency": "monthly",
            "method": "sepa",
            "iban": SEPA_IBAN,
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "mandate_signed_at"]


def test_a_cancelled_plan_cannot_be_resumed():
    client, org = _admin()
    plan = make_plan(org)
    assert _patch(client, f"/recurring-plans/{plan.pk}", {"status": "cancelled"}).status_code == 200
    response = _patch(client, f"/recurring-plans/{plan.pk}", {"status": "active"})
    assert response.status_code == 409


def test_path_ids_that_are_not_rows_are_404_or_422_never_500():
    client, _org = _admin()
    assert client.get(f"{API}/donations/0").status_code == 404
    assert client.get(f"{API}/donations/{2**63}").status_code in {404, 422}
    assert client.get(f"{API}/donations/abc").status_code == 422
    assert _patch(client, f"/recurring-plans/{2**62}", {}).status_code == 404


def test_the_api_choices_are_the_models_choices():
    from typing import get_args

    from solidaria.fundraising import api
    from solidaria.fundraising.models import Frequency, Method

    assert set(get_args(api.GiftMethod)) == set(Method.values)
    assert set(get_args(api.GiftStatus)) == set(Donation.Status.values)
    assert set(get_args(api.PlanStatus)) == set(RecurringPlan.Status.values)
    assert set(get_args(api.PlanFrequency)) == set(Frequency.values) - {"once"}
    assert set(get_args(api.PlanMethod)) == set(actions._PLAN_METHODS)
    assert set(get_args(api.ProviderKind)) == set(PaymentProvider.Kind.values)
