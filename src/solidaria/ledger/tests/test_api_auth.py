"""The ledger API's doors: bearer tokens (401), roles (403) and tenancy (404).

OPERATIONS lists every ledger operation; core's test_api_auth.py checks that the apps' tables
together cover the whole OpenAPI document, and the first test below that this one covers the
ledger's paths.
"""

from typing import Any

import pytest
from django.test import Client

from solidaria.core.models import Organization
from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.ledger.actions import make_checkpoint
from solidaria.ledger.models import Checkpoint, LedgerEntry
from solidaria.ledger.tests.factories import TEST_ACTOR, expense, income

pytestmark = pytest.mark.django_db
API = "/api/v1"
EVERYONE = set(Role.values)  # ledger.view

# (method, path) -> (the roles allowed, the success status)
OPERATIONS: dict[tuple[str, str], tuple[set[str], int]] = {
    ("get", "/ledger/entries"): (EVERYONE, 200),
    ("get", "/ledger/checkpoint"): (EVERYONE, 200),
    ("get", "/ledger/entries/{seq}/proof"): (EVERYONE, 200),
}
ON_ONE_ROW = [operation for operation in OPERATIONS if "{" in operation[1]]


def _world(entries: int = 3) -> Organization:
    org = OrganizationFactory()
    income(org, 1000)
    for _ in range(entries - 1):
        expense(org, 10)
    make_checkpoint(org=org, actor=TEST_ACTOR)
    return org


def _client(raw: str | None = None) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"} if raw else {})


def _call(client: Client, path: str, seq: int = 0):
    return client.get(API + path.format(seq=seq))


def _snapshot(org: Organization) -> dict[str, Any]:
    return {
        "entries": list(LedgerEntry.objects.filter(organization=org).values_list("seq", "body")),
        "checkpoints": list(Checkpoint.objects.filter(organization=org).values_list("tree_size")),
    }


def test_the_table_covers_every_ledger_operation_of_the_openapi_document():
    # when
    schema = Client().get(f"{API}/openapi.json").json()

    # then
    documented = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation["tags"] == ["ledger"]
    }
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_every_operation_refuses_a_request_without_a_token(method, path):
    # given
    org = _world()

    # when
    response = _call(_client(), path)

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, unknown or revoked bearer token."}
    assert _snapshot(org)["checkpoints"] == [(3,)]


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_each_role_may_do_exactly_what_its_permissions_allow(role, method, path):
    # given
    org = _world()
    raw = make_api_token(MembershipFactory(organization=org, role=role))
    allowed, success = OPERATIONS[(method, path)]
    before = _snapshot(org)

    # when
    response = _call(_client(raw), path)

    # then
    if role in allowed:
        assert response.status_code == success, response.content
    else:
        assert response.status_code == 403
    assert _snapshot(org) == before


@pytest.mark.parametrize(("method", "path"), ON_ONE_ROW)
def test_another_organization_entries_answer_exactly_like_missing_ones(method, path):
    # given: A has 5 entries, B has 2; an admin of B
    _world(entries=5)
    ours = _world(entries=2)
    b = _client(make_api_token(MembershipFactory(organization=ours, role=Role.ADMIN)))

    # when: B names seq 4 (only A has it), a seq nobody has, and its own seq 1
    foreign = _call(b, path, seq=4)
    absent = _call(b, path, seq=10**9)
    own = _call(b, path, seq=1)

    # then
    assert own.status_code == 200, own.content
    assert foreign.status_code == absent.status_code == 404
    assert foreign.content == absent.content


def test_lists_never_show_another_organization_entries():
    # given
    theirs = _world(entries=5)
    ours = _world(entries=2)
    b = _client(make_api_token(MembershipFactory(organization=ours, role=Role.VIEWER)))

    # when
    page = b.get(f"{API}/ledger/entries").json()
    checkpoint = b.get(f"{API}/ledger/checkpoint").json()

    # then
    assert page["count"] == 2
    assert [item["seq"] for item in page["items"]] == [0, 1]
    assert checkpoint["organization"] == ours.slug
    assert checkpoint["tree_size"] == 2
    assert theirs.slug != ours.slug
