"""The API's doors: bearer tokens (401), roles (403), tenancy (404), its OpenAPI and docs.

The operation tables below are checked against /api/v1/openapi.json, so a new endpoint
cannot join the API without joining these matrices.
"""

import base64
import importlib
import importlib.util
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from solidaria.consent.models import ConsentEvent
from solidaria.consent.tests.factories import make_consent, make_purposes
from solidaria.core.actions import remove_staff, revoke_api_token
from solidaria.core.audit import Actor
from solidaria.core.models import ApiToken, AuditEvent, Membership, Organization
from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.core.tokens import new_token
from solidaria.people.models import Contact
from solidaria.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
API = "/api/v1"
CONSENT = {"purpose": "newsletter", "channel": "sms", "granted": False, "source": "test"}
EDITORS = {
    Role.ADMIN,
    Role.FUNDRAISER,
    Role.COMMUNICATIONS,
    Role.VOLUNTEER_COORDINATOR,
    Role.CASE_WORKER,
}
EVERYONE = set(Role.values)

# (method, path) -> (a valid body or None, the roles allowed, the success status)
OPERATIONS: dict[tuple[str, str], tuple[dict[str, Any] | None, set[str], int]] = {
    ("get", "/contacts"): (None, EVERYONE, 200),
    ("post", "/contacts"): ({"given_name": "Mallory"}, EDITORS, 201),
    ("get", "/contacts/{id}"): (None, EVERYONE, 200),
    ("patch", "/contacts/{id}"): ({"given_name": "Mallory"}, EDITORS, 200),
    ("delete", "/contacts/{id}"): (None, {Role.ADMIN}, 204),
    ("get", "/contacts/{id}/consents"): (None, EVERYONE, 200),
    ("post", "/contacts/{id}/consents"): (CONSENT, EDITORS, 201),
    ("get", "/contacts/{id}/export"): (None, {Role.ADMIN}, 200),
    ("post", "/contacts/{id}/erase"): (None, {Role.ADMIN}, 200),
}
# A concurrent write can lose a uniqueness race; a deletion can meet rows that must stay.
CONTACT_WRITES = {
    ("post", f"{API}/contacts"),
    ("patch", f"{API}/contacts/{{id}}"),
    ("delete", f"{API}/contacts/{{id}}"),
}
ON_ONE_CONTACT = [operation for operation in OPERATIONS if "{id}" in operation[1]]


def _client(raw: str | None = None, header: str | None = None) -> Client:
    if header is None and raw is not None:
        header = f"Bearer {raw}"
    return Client(headers={"Authorization": header} if header is not None else {})


def _call(client: Client, method: str, path: str, contact_id: int | None = None):
    body = OPERATIONS[(method, path)][0]
    url = API + path.format(id=contact_id)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


def _organization_with_a_contact() -> tuple[Organization, Contact]:
    org = OrganizationFactory()
    make_purposes(org)
    contact = make_contact(org, emails=["ana@example.org"], phones=["612345678"], tags=["vip"])
    make_consent(contact, purpose="newsletter", channel="email", granted=True)
    return org, contact


def _snapshot(org: Organization) -> dict[str, Any]:
    """Everything a request could change or leave behind in the organization."""
    return {
        "contacts": list(Contact.objects.filter(organization=org).order_by("pk").values()),
        "emails": list(Contact.objects.filter(organization=org).values_list("emails__email")),
        "consents": ConsentEvent.objects.filter(organization=org).count(),
        "audit": list(AuditEvent.objects.filter(organization=org).values_list("pk", flat=True)),
        "tokens": list(ApiToken.objects.filter(organization=org).values("revoked_at")),
    }


def _owned(path: str) -> bool:
    """The paths this file's tables answer for; other apps keep their own tables."""
    return path.removeprefix(API).startswith("/contacts")


def test_the_operation_tables_cover_the_paths_they_own():
    # when
    schema = Client().get(f"{API}/openapi.json").json()

    # then
    documented = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        for method in operations
        if _owned(path)
    }
    assert documented == set(OPERATIONS)


def _apps_tables() -> dict[str, dict[tuple[str, str], Any]]:
    """OPERATIONS of every app's tests/test_api_auth.py (this file's for people and consent)."""
    tables = {}
    for config in apps.get_app_configs():
        module = f"{config.name}.tests.test_api_auth"
        if config.name.startswith("solidaria.") and importlib.util.find_spec(module) is not None:
            tables[config.label] = importlib.import_module(module).OPERATIONS
    return tables


def test_the_apps_tables_together_cover_the_whole_openapi_document():
    # given: every app's operation table (each app's test_api_auth.py proves its own rows)
    tables = _apps_tables()

    # when
    schema = Client().get(f"{API}/openapi.json").json()

    # then: every documented operation is in exactly one table, and no table invents one
    documented = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        for method in operations
    }
    union = [operation for table in tables.values() for operation in table]
    assert len(union) == len(set(union)), "an operation is in two apps' tables"
    assert sorted(documented - set(union)) == [], "operations in no app's test_api_auth.py"
    assert sorted(set(union) - documented) == [], "tables name operations the API lacks"
    assert {"core", "fundraising"} <= set(tables)


# --- 401 -----------------------------------------------------------------------------------


def _assert_401(response) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, unknown or revoked bearer token."}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_every_operation_refuses_a_request_without_a_token(method, path):
    # given
    org, contact = _organization_with_a_contact()
    before = _snapshot(org)

    # when
    response = _call(_client(), method, path, contact.pk)

    # then
    _assert_401(response)
    assert _snapshot(org) == before


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_every_operation_refuses_a_revoked_token(method, path):
    # given
    org, contact = _organization_with_a_contact()
    membership = MembershipFactory(organization=org)
    raw = make_api_token(membership)
    token = ApiToken.objects.get(user=membership.user)
    revoke_api_token(org=org, actor=Actor.system("test"), token_id=token.pk, only_user=None)
    before = _snapshot(org)

    # when
    response = _call(_client(raw), method, path, contact.pk)

    # then
    _assert_401(response)
    assert _snapshot(org) == before


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        f"Bearer {new_token()}",
        "Bearer sol_",
        "Bearer sol_\u00e9\u00e9",
        "Token {raw}",
        "{raw}",
        "Bearer  {raw}",
        "Bearer {raw}x",
        "Basic {basic}",
    ],
)
def test_malformed_and_unknown_tokens_are_401(header):
    # given
    org, _ = _organization_with_a_contact()
    raw = make_api_token(MembershipFactory(organization=org))
    basic = base64.b64encode(f"user:{raw}".encode()).decode()

    # when
    response = _client(header=header.format(raw=raw, basic=basic)).get(f"{API}/contacts")

    # then
    _assert_401(response)


def test_the_bearer_scheme_is_case_insensitive():
    raw = make_api_token()
    assert _client(header=f"bearer {raw}").get(f"{API}/contacts").status_code == 200
    assert _client(header=f"BEARER {raw}").get(f"{API}/contacts").status_code == 200


def test_a_staff_member_removed_from_the_organization_loses_access_at_once():
    # given
    org, _ = _organization_with_a_contact()
    MembershipFactory(organization=org, role=Role.ADMIN)  # someone must stay admin
    leaving = MembershipFactory(organization=org, role=Role.ADMIN)
    raw = make_api_token(leaving)
    assert _client(raw).get(f"{API}/contacts").status_code == 200

    # when
    remove_staff(org=org, actor=Actor.system("test"), membership_id=leaving.pk)

    # then
    _assert_401(_client(raw).get(f"{API}/contacts"))


def test_a_token_whose_membership_is_gone_is_401_even_if_not_revoked():
    # given: the membership row disappears without the token being revoked
    org, _ = _organization_with_a_contact()
    membership = MembershipFactory(organization=org)
    raw = make_api_token(membership)

    # when
    Membership.objects.filter(pk=membership.pk).delete()

    # then
    assert ApiToken.objects.get(user=membership.user).revoked_at is None
    _assert_401(_client(raw).get(f"{API}/contacts"))


def test_a_deactivated_user_token_is_401():
    membership = MembershipFactory()
    raw = make_api_token(membership)
    membership.user.is_active = False
    membership.user.save()
    _assert_401(_client(raw).get(f"{API}/contacts"))


def test_a_token_is_bound_to_its_own_organization_only():
    # given: one person on the staff of two organizations, with a token in the first
    first, _ = _organization_with_a_contact()
    second, theirs = _organization_with_a_contact()
    membership = MembershipFactory(organization=first)
    MembershipFactory(organization=second, user=membership.user)
    raw = make_api_token(membership)

    # when
    listed = _client(raw).get(f"{API}/contacts")
    fetched = _client(raw).get(f"{API}/contacts/{theirs.pk}")

    # then
    assert listed.json()["count"] == 1
    assert listed.json()["items"][0]["id"] != theirs.pk
    assert fetched.status_code == 404


# --- 403 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_each_role_may_do_exactly_what_its_permissions_allow(role, method, path):
    # given
    org, contact = _organization_with_a_contact()
    raw = make_api_token(MembershipFactory(organization=org, role=role))
    _body, allowed, success = OPERATIONS[(method, path)]
    before = _snapshot(org)

    # when
    response = _call(_client(raw), method, path, contact.pk)

    # then
    if role in allowed:
        assert response.status_code == success, response.content
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": "Your role does not allow this."}
        assert _snapshot(org) == before


# --- 404: tenancy ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ON_ONE_CONTACT)
def test_another_organization_rows_answer_exactly_like_missing_ones(method, path):
    # given: org A with a contact and consent; an admin of org B, who has a contact too
    org_a, theirs = _organization_with_a_contact()
    org_b, ours = _organization_with_a_contact()
    b = _client(make_api_token(MembershipFactory(organization=org_b, role=Role.ADMIN)))
    missing = Contact.objects.order_by("-pk").first().pk + 1000
    before = _snapshot(org_a)

    # when
    foreign = _call(b, method, path, theirs.pk)
    absent = _call(b, method, path, missing)
    own = _call(b, method, path, ours.pk)

    # then: the request is sound (it works on B's own contact), and A's row is invisible
    assert own.status_code == OPERATIONS[(method, path)][2], own.content
    assert foreign.status_code == absent.status_code == 404
    assert foreign.content == absent.content
    assert foreign.json() == {"detail": "No such contact."}
    assert sorted(foreign.headers.items()) == sorted(absent.headers.items())
    assert _snapshot(org_a) == before


def test_lists_and_search_never_show_another_organization_rows():
    # given
    _org_a, theirs = _organization_with_a_contact()
    org_b, ours = _organization_with_a_contact()
    Contact.objects.filter(pk=theirs.pk).update(external_id="shared-1")
    b = _client(make_api_token(MembershipFactory(organization=org_b)))

    # when
    everyone = b.get(f"{API}/contacts", {"include_erased": "true"})
    by_email = b.get(f"{API}/contacts", {"q": "ana@example.org"})
    by_phone = b.get(f"{API}/contacts", {"q": "612345678"})
    by_tag = b.get(f"{API}/contacts", {"tag": "vip"})
    same_external_id = b.post(
        f"{API}/contacts",
        {"given_name": "Bea", "external_id": "shared-1"},
        content_type="application/json",
    )

    # then
    for response in (everyone, by_email, by_phone, by_tag):
        assert [item["id"] for item in response.json()["items"]] == [ours.pk]
        assert response.json()["count"] == 1
    assert same_external_id.status_code == 201


# --- errors that are not the caller's identity ---------------------------------------------


def test_unknown_paths_under_the_api_answer_json_404():
    raw = make_api_token()
    for url in (f"{API}/nope", f"{API}/contacts/", f"{API}/contacts/1/nope"):
        response = _client(raw).get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_the_api_root_points_to_the_schema_and_the_docs():
    response = Client().get(f"{API}/")
    assert response.status_code == 200
    assert response.json() == {"openapi": f"{API}/openapi.json", "docs": f"{API}/docs"}


# --- OpenAPI and docs -----------------------------------------------------------------------


def test_openapi_declares_every_status_each_operation_can_answer():
    # when
    response = Client().get(f"{API}/openapi.json")

    # then
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"] == {
        "BearerToken": {"type": "http", "scheme": "bearer"}
    }
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    field_error = schema["components"]["schemas"]["FieldError"]
    assert set(field_error["required"]) == {"loc", "msg", "type"}
    operation_ids = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            if not _owned(path):
                continue
            statuses = set(operation["responses"])
            success = str(OPERATIONS[(method, path.removeprefix(API))][2])
            assert success in statuses, (method, path)
            assert {"401", "403"} <= statuses, (method, path)
            assert operation["security"] == [{"BearerToken": []}]
            takes_input = "requestBody" in operation or operation["parameters"]
            if takes_input:
                assert "422" in statuses, (method, path)
            if "{id}" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in operation or any(
                p["in"] == "query" for p in operation["parameters"]
            ):
                assert "400" in statuses, (method, path)
            if (method, path) in CONTACT_WRITES:
                assert "409" in statuses, (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    expected = "ValidationErrors" if status == "422" else "Error"
                    assert ref == f"#/components/schemas/{expected}"
                    assert answer["description"]
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_names_the_design_paths_and_fields():
    schema = Client().get(f"{API}/openapi.json").json()
    components = schema["components"]["schemas"]
    contact = components["ContactOut"]["properties"]
    design = ["id", "kind", "given_name", "family_name", "name", "emails", "phones"]
    assert {*design, "language", "tags", "external_id"} <= set(contact)
    assert components["ContactKind"]["enum"] == ["person", "organization", "household"]
    assert components["Channel"]["enum"] == ["email", "sms", "whatsapp", "phone", "post"]
    assert set(components["ContactPage"]["properties"]) == {"items", "count"}
    parameters = {p["name"] for p in schema["paths"][f"{API}/contacts"]["get"]["parameters"]}
    assert {"q", "tag", "limit", "offset"} <= parameters


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(found["src"] or "")
            elif found.get("type") != "application/json":
                self.inline_scripts += 1
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"] or "")


def test_docs_load_only_from_our_own_origin_under_the_content_security_policy():
    # when
    page = Client().get(f"{API}/docs")

    # then
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assets = _Assets()
    assets.feed(page.content.decode())
    assert assets.inline_scripts == 0
    assert len(assets.urls) == 4
    for url in assets.urls:
        assert re.match(r"^/api/v1/docs/assets/[\w.-]+$", url), url
        response = Client().get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].split(";")[0] in {
            "text/javascript",
            "text/css",
            "image/svg+xml",
        }
    assert f'"url": "{API}/openapi.json"' in page.content.decode()
    assert Client().get(f"{API}/docs/assets/settings.py").status_code == 404
    assert Client().get(f"{API}/docs/assets/..%2Fapi.py").status_code == 404
