"""The fundraising API's doors: bearer tokens (401), roles (403) and tenancy (404).

OPERATIONS lists every fundraising operation; core's test_api_auth.py checks that the apps'
tables together cover the whole OpenAPI document, and the test below that this one covers
the fundraising paths.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from solidaria.core.models import ApiToken, AuditEvent, Organization
from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.fundraising.models import (
    Allocation,
    Campaign,
    Donation,
    Expense,
    Fund,
    PaymentProvider,
    RecurringPlan,
    Refund,
)
from solidaria.fundraising.tests.factories import make_campaign, make_fund, make_gift, make_plan
from solidaria.ledger.models import LedgerEntry
from solidaria.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
API = "/api/v1"
EVERYONE = set(Role.values)
EDIT = {Role.ADMIN, Role.FUNDRAISER}  # fundraising.edit
RECORD = {Role.ADMIN, Role.FUNDRAISER, Role.TREASURER}  # donations.record
BOOK = {Role.ADMIN, Role.TREASURER}  # finance.book
PAYMENTS = {Role.ADMIN, Role.TREASURER}  # payments.manage


@dataclass
class World:
    org: Organization
    contact_id: int
    donation_id: int
    plan_id: int
    campaign: str


Body = Callable[[World], dict[str, Any]] | None

# (method, path) -> (a valid body for the world, or None; the roles allowed; success status)
OPERATIONS: dict[tuple[str, str], tuple[Body, set[str], int]] = {
    ("get", "/funds"): (None, EVERYONE, 200),
    ("post", "/funds"): (lambda w: {"slug": "new-fund", "name": "New"}, EDIT, 201),
    ("get", "/campaigns"): (None, EVERYONE, 200),
    ("post", "/campaigns"): (lambda w: {"slug": "new-campaign", "title": "New"}, EDIT, 201),
    ("get", "/campaigns/{slug}"): (None, EVERYONE, 200),
    ("patch", "/campaigns/{slug}"): (lambda w: {"title": "Renamed"}, EDIT, 200),
    ("post", "/donations"): (
        lambda w: {
            "contact_id": w.contact_id,
            "amount": "12.50",
            "currency": "EUR",
            "fund": "general",
            "method": "cash",
        },
        RECORD,
        201,
    ),
    ("get", "/donations"): (None, EVERYONE, 200),
    ("get", "/donations/{id}"): (None, EVERYONE, 200),
    ("post", "/donations/{id}/refund"): (lambda w: {"amount": "1.00"}, BOOK, 201),
    ("post", "/allocations"): (
        lambda w: {"from_fund": "general", "to_fund": "school", "amount": "1", "currency": "EUR"},
        BOOK,
        201,
    ),
    ("post", "/expenses"): (
        lambda w: {
            "fund": "general",
            "amount": "1.00",
            "currency": "EUR",
            "description": "Blankets",
            "category": "supplies",
            "spent_at": "2026-01-02T10:00:00Z",
        },
        BOOK,
        201,
    ),
    ("get", "/payment-providers"): (None, PAYMENTS, 200),
    ("post", "/payment-providers"): (
        lambda w: {"kind": "mollie", "settings": {"api_key": "test_abc"}},
        PAYMENTS,
        200,
    ),
    ("get", "/recurring-plans"): (None, EVERYONE, 200),
    ("post", "/recurring-plans"): (
        lambda w: {
            "contact_id": w.contact_id,
            "amount": "5",
            "currency": "EUR",
            "frequency": "monthly",
            "method": "bank_transfer",
        },
        RECORD,
        201,
    ),
    ("patch", "/recurring-plans/{id}"): (lambda w: {"status": "paused"}, RECORD, 200),
}
ON_ONE_ROW = [operation for operation in OPERATIONS if "{" in operation[1]]


def _world() -> World:
    org = OrganizationFactory()
    contact = make_contact(org, emails=["ana@example.org"])
    make_fund(org, "school")
    gift = make_gift(org, contact=contact, amount_minor=10_000)
    plan = make_plan(org, contact=contact)
    campaign = make_campaign(org, "winter")
    return World(org, contact.pk, gift.pk, plan.pk, campaign.slug)


def _client(raw: str | None = None) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"} if raw else {})


def _call(client: Client, method: str, path: str, world: World, **path_values: Any):
    body = OPERATIONS[(method, path)][0]
    values = {"id": None, "slug": world.campaign, **path_values}
    if values["id"] is None:
        values["id"] = world.plan_id if "recurring-plans" in path else world.donation_id
    url = API + path.format(**values)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body(world), content_type="application/json")


def _snapshot(org: Organization) -> dict[str, Any]:
    """Everything a fundraising request could change or leave behind in the organization."""
    rows = {
        model.__name__: list(model.objects.filter(organization=org).order_by("pk").values())
        for model in (
            Fund,
            Campaign,
            Donation,
            Refund,
            Allocation,
            Expense,
            RecurringPlan,
            PaymentProvider,
            LedgerEntry,
        )
    }
    rows["audit"] = list(AuditEvent.objects.filter(organization=org).values_list("pk", flat=True))
    rows["tokens"] = list(ApiToken.objects.filter(organization=org).values("revoked_at"))
    return rows


def test_the_table_covers_every_fundraising_operation_of_the_openapi_document():
    # when
    schema = Client().get(f"{API}/openapi.json").json()

    # then
    documented = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation["tags"] == ["fundraising"]
    }
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_every_operation_refuses_a_request_without_a_token(method, path):
    # given
    world = _world()
    before = _snapshot(world.org)

    # when
    response = _call(_client(), method, path, world)

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, unknown or revoked bearer token."}
    assert _snapshot(world.org) == before


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_each_role_may_do_exactly_what_its_permissions_allow(role, method, path):
    # given
    world = _world()
    raw = make_api_token(MembershipFactory(organization=world.org, role=role))
    _body, allowed, success = OPERATIONS[(method, path)]
    before = _snapshot(world.org)

    # when
    response = _call(_client(raw), method, path, world)

    # then
    if role in allowed:
        assert response.status_code == success, response.content
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": "Your role does not allow this."}
        assert _snapshot(world.org) == before


@pytest.mark.parametrize(("method", "path"), ON_ONE_ROW)
def test_another_organization_rows_answer_exactly_like_missing_ones(method, path):
    # given: two organizations with the same kind of rows; an admin of B
    theirs = _world()
    ours = _world()
    b = _client(make_api_token(MembershipFactory(organization=ours.org, role=Role.ADMIN)))
    missing_id = max(Donation.objects.order_by("-pk")[0].pk, RecurringPlan.objects.count()) + 1000
    before = _snapshot(theirs.org)

    # when: B names A's row (A's id, or A's slug that B does not have), a missing one, its own
    foreign = _call(
        b,
        method,
        path,
        ours,
        id=theirs.plan_id if "recurring-plans" in path else theirs.donation_id,
        slug="only-in-a",
    )
    make_campaign(theirs.org, "only-in-a")
    foreign_slug_again = _call(b, method, path, ours, slug="only-in-a")
    absent = _call(b, method, path, ours, id=missing_id, slug="no-such-campaign")
    own = _call(b, method, path, ours)

    # then: the request is sound (it works on B's own row), and A's row is invisible
    assert own.status_code == OPERATIONS[(method, path)][2], own.content
    assert foreign.status_code == absent.status_code == 404
    assert foreign.content == absent.content
    assert sorted(foreign.headers.items()) == sorted(absent.headers.items())
    if "{slug}" in path:
        assert foreign_slug_again.content == absent.content
    theirs_now = _snapshot(theirs.org)
    theirs_now["Campaign"] = [c for c in theirs_now["Campaign"] if c["slug"] != "only-in-a"]
    theirs_now["audit"] = theirs_now["audit"][: len(before["audit"])]
    assert theirs_now == before


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("post", "/donations", "contact_id"),
        ("post", "/recurring-plans", "contact_id"),
    ],
)
def test_another_organization_contact_in_a_body_is_refused_like_a_missing_one(method, path, field):
    # given
    theirs = _world()
    ours = _world()
    b = _client(make_api_token(MembershipFactory(organization=ours.org, role=Role.ADMIN)))
    body = OPERATIONS[(method, path)][0]
    assert body is not None

    # when
    foreign = b.post(
        API + path, {**body(ours), field: theirs.contact_id}, content_type="application/json"
    )
    absent = b.post(API + path, {**body(ours), field: 10**9}, content_type="application/json")

    # then
    assert foreign.status_code == absent.status_code == 422
    assert foreign.content == absent.content


def test_lists_never_show_another_organization_rows():
    # given
    theirs = _world()
    ours = _world()
    b = _client(make_api_token(MembershipFactory(organization=ours.org, role=Role.ADMIN)))

    # when
    donations = b.get(f"{API}/donations").json()
    by_contact = b.get(f"{API}/donations", {"contact_id": theirs.contact_id}).json()
    plans = b.get(f"{API}/recurring-plans").json()
    campaigns = b.get(f"{API}/campaigns").json()

    # then
    assert [item["id"] for item in donations["items"]] == [ours.donation_id]
    assert by_contact == {"items": [], "count": 0}
    assert [item["id"] for item in plans["items"]] == [ours.plan_id]
    assert [item["slug"] for item in campaigns["items"]] == ["winter"]
    assert campaigns["count"] == 1
