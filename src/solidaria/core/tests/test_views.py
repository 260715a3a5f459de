"""Administration pages: audit log, staff, API tokens, settings — through the HTTP interface."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from solidaria.core import urls as core_urls
from solidaria.core.access import token_for
from solidaria.core.actions import create_api_token
from solidaria.core.audit import Actor
from solidaria.core.models import ApiToken, AuditEvent, Membership, Organization, User
from solidaria.core.roles import Role
from solidaria.core.tests.factories import (
    PASSWORD,
    MembershipFactory,
    OrganizationFactory,
)
from solidaria.core.tokens import token_digest

pytestmark = pytest.mark.django_db
CLI = Actor.system("cli")
NO_SUCH_ID = 987654321


def url(name: str, org: Organization, **kwargs: object) -> str:
    return reverse(f"core:{name}", kwargs={"org_slug": org.slug, **kwargs})


def logged_in(client, membership: Membership):
    client.force_login(membership.user)
    return client


def make_token(membership: Membership, name: str = "sync") -> tuple[ApiToken, str]:
    return create_api_token(org=membership.organization, actor=CLI, user=membership.user, name=name)


def events(org: Organization, code: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=org, code=code))


# --- every page, every role -------------------------------------------------------------


@pytest.fixture
def admin() -> Membership:
    return MembershipFactory(role=Role.ADMIN)


@pytest.mark.parametrize("name", ["audit", "audit_csv", "staff", "tokens", "settings"])
def test_every_page_answers_200_for_an_admin(client, admin, name):
    # when
    response = logged_in(client, admin).get(url(name, admin.organization))

    # then
    assert response.status_code == 200


def test_confirmation_pages_answer_200_for_an_admin(client, admin):
    # given
    other = MembershipFactory(organization=admin.organization, role=Role.VIEWER)
    token, _ = make_token(other)
    logged_in(client, admin)

    # then
    assert (
        client.get(url("staff_remove", admin.organization, membership_id=other.pk)).status_code
        == 200
    )
    assert client.get(url("token_revoke", admin.organization, token_id=token.pk)).status_code == 200


def test_the_navigation_links_an_admin_to_every_page(client, admin):
    # when
    html = logged_in(client, admin).get(url("staff", admin.organization)).content.decode()

    # then
    for name in ["audit", "staff", "tokens", "settings"]:
        assert f'href="{url(name, admin.organization)}"' in html
    assert 'aria-current="page">Staff<' in html


@pytest.mark.parametrize(
    ("name", "method", "kind"),
    [
        ("audit", "get", None),
        ("audit_csv", "get", None),
        ("staff", "get", None),
        ("staff", "post", None),
        ("staff_role", "post", "membership"),
        ("staff_remove", "get", "membership"),
        ("staff_remove", "post", "membership"),
        ("settings", "get", None),
        ("settings", "post", None),
    ],
)
@pytest.mark.parametrize("role", [role for role in Role.values if role != Role.ADMIN])
def test_roles_without_the_permission_get_403_and_change_nothing(client, role, name, method, kind):
    # given
    member = MembershipFactory(role=role)
    org = member.organization
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    kwargs = {"membership_id": admin.pk} if kind else {}
    before = snapshot(org)

    # when
    response = getattr(logged_in(client, member), method)(
        url(name, org, **kwargs), POST_DATA if method == "post" else {}
    )

    # then
    assert response.status_code == 403
    assert snapshot(org) == before


def test_every_role_may_open_its_own_tokens_page_but_not_the_admin_links(client):
    # given
    viewer = MembershipFactory(role=Role.VIEWER)

    # when
    response = logged_in(client, viewer).get(url("tokens", viewer.organization))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert url("audit", viewer.organization) not in html
    assert url("staff", viewer.organization) not in html


def test_pages_need_a_login(client, admin):
    response = client.get(url("staff", admin.organization))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- the tenancy matrix ------------------------------------------------------------------

# Every URL of core/urls.py, every method it answers, and which row its id names.
ROUTES = [
    ("audit", "get", None),
    ("audit_csv", "get", None),
    ("staff", "get", None),
    ("staff", "post", None),
    ("staff_role", "post", "membership"),
    ("staff_remove", "get", "membership"),
    ("staff_remove", "post", "membership"),
    ("tokens", "get", None),
    ("tokens", "post", None),
    ("token_revoke", "get", "token"),
    ("token_revoke", "post", "token"),
    ("settings", "get", None),
    ("settings", "post", None),
]
POST_DATA = {
    "email": "intruder@example.org",
    "role": Role.VIEWER,
    "name": "stolen",
    "require_mfa": "on",
}


def snapshot(org: Organization) -> tuple:
    """Everything these pages could change about an organization."""
    return (
        sorted(Membership.objects.filter(organization=org).values_list("id", "user_id", "role")),
        sorted(ApiToken.objects.filter(organization=org).values_list("id", "name", "revoked_at")),
        Organization.objects.values_list("require_mfa", flat=True).get(pk=org.pk),
        AuditEvent.objects.filter(organization=org).count(),
        User.objects.count(),
    )


@pytest.fixture
def two_orgs():
    """Org A with an admin, a second admin and a viewer holding a token; org B with its admin."""
    org_a = OrganizationFactory()
    a_admin = MembershipFactory(organization=org_a, role=Role.ADMIN)
    a_other_admin = MembershipFactory(organization=org_a, role=Role.ADMIN)
    a_viewer = MembershipFactory(organization=org_a, role=Role.VIEWER)
    a_token, _ = make_token(a_viewer)
    b_admin = MembershipFactory(role=Role.ADMIN)
    b_token, _ = make_token(b_admin)
    return {
        "org_a": org_a,
        "a_ids": {"membership": a_other_admin.pk, "token": a_token.pk},
        "b_admin": b_admin,
        "b_ids": {"membership": b_admin.pk, "token": b_token.pk},
        "a_admin": a_admin,
    }


def _kwargs(kind: str | None, ids: dict[str, int] | int) -> dict[str, int]:
    if kind is None:
        return {}
    value = ids if isinstance(ids, int) else ids[kind]
    return {f"{kind}_id": value}


def test_the_matrix_covers_every_url_of_the_app():
    names = {p.name for p in core_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {name for name, _, _ in ROUTES}


@pytest.mark.parametrize(("name", "method", "kind"), ROUTES)
def test_staff_of_org_b_get_404_for_org_a_pages_like_for_a_missing_org(
    client, two_orgs, name, method, kind
):
    # given
    org_a, b_admin = two_orgs["org_a"], two_orgs["b_admin"]
    kwargs = _kwargs(kind, two_orgs["a_ids"])
    send = getattr(logged_in(client, b_admin), method)
    data = POST_DATA if method == "post" else {}
    before = snapshot(org_a), snapshot(b_admin.organization)

    # when
    theirs = send(url(name, org_a, **kwargs), data)
    missing = send(reverse(f"core:{name}", kwargs={"org_slug": "no-such-org", **kwargs}), data)

    # then
    assert theirs.status_code == 404
    assert (theirs.status_code, theirs.content) == (missing.status_code, missing.content)
    assert (snapshot(org_a), snapshot(b_admin.organization)) == before


@pytest.mark.parametrize(("name", "method", "kind"), [r for r in ROUTES if r[2]])
def test_org_a_ids_through_org_b_pages_get_404_like_a_missing_id(
    client, two_orgs, name, method, kind
):
    # given
    org_a, b_admin = two_orgs["org_a"], two_orgs["b_admin"]
    org_b = b_admin.organization
    send = getattr(logged_in(client, b_admin), method)
    data = POST_DATA if method == "post" else {}
    before = snapshot(org_a), snapshot(org_b)

    # when
    theirs = send(url(name, org_b, **_kwargs(kind, two_orgs["a_ids"])), data)
    missing = send(url(name, org_b, **_kwargs(kind, NO_SUCH_ID)), data)

    # then
    assert theirs.status_code == 404
    assert (theirs.status_code, theirs.content) == (missing.status_code, missing.content)
    assert (snapshot(org_a), snapshot(org_b)) == before


@pytest.mark.parametrize(("name", "method", "kind"), [r for r in ROUTES if r[2]])
def test_the_same_ids_work_for_their_own_organization(client, two_orgs, name, method, kind):
    """The other side of the matrix: the 404s above come from tenancy, not from the route."""
    # given
    org_a, a_admin = two_orgs["org_a"], two_orgs["a_admin"]
    send = getattr(logged_in(client, a_admin), method)

    # when
    response = send(url(name, org_a, **_kwargs(kind, two_orgs["a_ids"])), POST_DATA)

    # then
    assert response.status_code in {200, 302}


def test_the_audit_log_of_org_b_never_shows_org_a_events_even_filtered_by_their_ids(
    client, two_orgs
):
    # given
    org_a, a_admin, b_admin = two_orgs["org_a"], two_orgs["a_admin"], two_orgs["b_admin"]
    org_b = b_admin.organization
    membership_id = str(two_orgs["a_ids"]["membership"])
    logged_in(client, b_admin)

    # when
    by_subject = client.get(
        url("audit", org_b),
        {"subject_type": "core.membership", "subject_id": membership_id},
    )
    by_actor = client.get(url("audit", org_b), {"actor": a_admin.user.pk})
    csv_rows = b"".join(
        client.get(url("audit_csv", org_b), {"code": "core."}).streaming_content
    ).decode()

    # then
    assert list(by_subject.context["page"]) == []
    assert by_actor.context["page"] is None
    assert "actor" in by_actor.context["form"].errors
    assert org_a.slug not in csv_rows
    assert a_admin.user.email not in csv_rows


# --- audit log ---------------------------------------------------------------------------


def _event(org, code, *, at, actor=None, subject=("", ""), extra=None) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=org,
        code=code,
        at=at,
        actor=actor,
        via="web" if actor else "cli",
        subject_type=subject[0],
        subject_id=subject[1],
        extra=extra or {},
    )


def _listed(response) -> list[int]:
    return [event.pk for event in response.context["page"]]


@pytest.fixture
def audit_world(admin):
    org = admin.organization  # Europe/Madrid: UTC+1 in March
    ana, ben = admin.user, MembershipFactory(organization=org, role=Role.FUNDRAISER).user
    e1 = _event(
        org,
        "people.contact.created",
        at=datetime(2025, 3, 9, 12, tzinfo=UTC),
        actor=ana,
        subject=("people.contact", "1"),
    )
    e2 = _event(
        org,
        "people.contact.updated",
        at=datetime(2025, 3, 10, 12, tzinfo=UTC),
        actor=ben,
        subject=("people.contact", "2"),
    )
    # 23:30 UTC on the 10th is already the 11th in Madrid.
    e3 = _event(
        org,
        "core.staff.added",
        at=datetime(2025, 3, 10, 23, 30, tzinfo=UTC),
        actor=ana,
        subject=("core.membership", "5"),
        extra={"role": "viewer"},
    )
    e4 = _event(org, "people.contactx.done", at=datetime(2025, 3, 12, tzinfo=UTC))
    _event(OrganizationFactory(), "people.contact.created", at=datetime(2025, 3, 10, tzinfo=UTC))
    return {"admin": admin, "org": org, "ben": ben, "e": [e1, e2, e3, e4]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [4, 3, 2, 1]),
        ({"code": "people.contact.created"}, [1]),
        ({"code": "people.contact."}, [2, 1]),
        ({"code": "people."}, [4, 2, 1]),
        ({"code": "people.contact"}, []),
        ({"subject_type": "people.contact"}, [2, 1]),
        ({"subject_type": "people.contact", "subject_id": "2"}, [2]),
        ({"date_from": "2025-03-11", "date_to": "2025-03-11"}, [3]),
        ({"date_from": "2025-03-10", "date_to": "2025-03-10"}, [2]),
        ({"date_to": "2025-03-09"}, [1]),
        ({"date_from": "2025-03-11"}, [4, 3]),
        ({"code": "people.", "date_from": "2025-03-10"}, [4, 2]),
    ],
)
def test_audit_filters(client, audit_world, query, expected):
    # when
    response = logged_in(client, audit_world["admin"]).get(url("audit", audit_world["org"]), query)

    # then
    assert response.status_code == 200
    by_number = {n: e.pk for n, e in enumerate(audit_world["e"], start=1)}
    assert _listed(response) == [by_number[n] for n in expected]


def test_audit_filter_by_staff_member(client, audit_world):
    # when
    response = logged_in(client, audit_world["admin"]).get(
        url("audit", audit_world["org"]), {"actor": audit_world["ben"].pk}
    )

    # then
    assert _listed(response) == [audit_world["e"][1].pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"subject_id": "2"}, "subject_type"),
        ({"date_from": "2025-03-11", "date_to": "2025-03-10"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"actor": "999999"}, "actor"),
    ],
)
def test_invalid_audit_filters_are_shown_as_errors(client, audit_world, query, field):
    # when
    response = logged_in(client, audit_world["admin"]).get(url("audit", audit_world["org"]), query)
    csv_response = client.get(url("audit_csv", audit_world["org"]), query)

    # then
    assert response.status_code == 200
    assert response.context["page"] is None
    assert field in response.context["form"].errors
    assert re.search(f'aria-describedby="[^"]*id_{field}_error"', response.content.decode())
    assert csv_response.status_code == 400


def test_the_audit_page_shows_times_in_the_organization_time_zone(client, audit_world):
    # when
    html = (
        logged_in(client, audit_world["admin"])
        .get(url("audit", audit_world["org"]))
        .content.decode()
    )

    # then
    assert "2025-03-11 00:30:00" in html
    assert "role=viewer" in html


def test_the_audit_log_is_paginated_by_50_without_a_query_per_row(client, admin):
    # given
    org = admin.organization
    actors = [MembershipFactory(organization=org).user for _ in range(5)]
    for i in range(3):
        _event(org, "core.test", at=datetime(2025, 1, 1, i, tzinfo=UTC), actor=actors[i])
    logged_in(client, admin)
    client.get(url("audit", org))  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        client.get(url("audit", org))
    for i in range(57):
        _event(org, "core.test", at=datetime(2025, 1, 2, tzinfo=UTC), actor=actors[i % 5])

    # when
    with CaptureQueriesContext(connection) as many:
        first = client.get(url("audit", org))
    second = client.get(url("audit", org), {"page": "2"})

    # then
    assert len(many) == len(few)
    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 10
    assert 'rel="next"' in first.content.decode()


def test_the_audit_csv_holds_the_filtered_rows_in_local_time(client, audit_world):
    # given
    _event(
        audit_world["org"],
        "core.evil",
        at=datetime(2025, 3, 1, tzinfo=UTC),
        subject=("=cmd|' /C calc'!A0", "1"),
    )
    logged_in(client, audit_world["admin"])

    # when
    response = client.get(url("audit_csv", audit_world["org"]), {"code": "people.contact."})
    evil = client.get(url("audit_csv", audit_world["org"]), {"code": "core.evil"})

    # then
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "code", "actor", "via", "subject_type", "subject_id", "extra"]
    assert [row[1] for row in rows[1:]] == ["people.contact.updated", "people.contact.created"]
    assert rows[1][0] == "2025-03-10T13:00:00+01:00"
    assert rows[1][2] == audit_world["ben"].email
    evil_rows = list(csv.reader(io.StringIO(b"".join(evil.streaming_content).decode())))
    assert evil_rows[1][4].startswith("'=")


# --- staff -------------------------------------------------------------------------------


def test_the_staff_page_lists_roles_and_two_factor_status(client, admin):
    # given
    org = admin.organization
    secured = MembershipFactory(organization=org, role=Role.TREASURER)
    Authenticator.objects.create(user=secured.user, type=Authenticator.Type.TOTP, data={})
    plain = MembershipFactory(organization=org, role=Role.VIEWER)
    MembershipFactory(role=Role.VIEWER)  # someone else's staff

    # when
    response = logged_in(client, admin).get(url("staff", org))

    # then
    rows = {member.pk: (member.role, member.has_mfa) for member, _ in response.context["rows"]}
    assert rows == {
        admin.pk: (Role.ADMIN, False),
        secured.pk: (Role.TREASURER, True),
        plain.pk: (Role.VIEWER, False),
    }
    html = response.content.decode()
    assert '<th scope="col">' in html
    assert '<th scope="row">' in html
    assert f'<label for="role-{plain.pk}-role" class="visually-hidden">' in html


def test_adding_staff_creates_the_account_and_its_audit_event(client, admin):
    # given
    org = admin.organization

    # when
    response = logged_in(client, admin).post(
        url("staff", org),
        {
            "email": "Nuria@Example.org",
            "full_name": "Núria Vidal",
            "role": Role.FUNDRAISER,
            "password": "a-long-initial-passphrase",
        },
    )

    # then
    assert response.status_code == 302
    membership = Membership.objects.get(organization=org, user__email="nuria@example.org")
    assert membership.role == Role.FUNDRAISER
    assert membership.user.full_name == "Núria Vidal"
    assert membership.user.check_password("a-long-initial-passphrase")
    (event,) = events(org, "core.staff.added")
    assert (event.actor, event.via, event.subject_id) == (admin.user, "web", str(membership.pk))


def test_staff_added_without_a_password_can_set_one_with_a_reset_email(client, admin):
    # given
    logged_in(client, admin).post(
        url("staff", admin.organization), {"email": "new@example.org", "role": Role.VIEWER}
    )
    client.logout()

    # when
    client.post(reverse("account_reset_password"), {"email": "new@example.org"})

    # then
    assert not User.objects.get(email="new@example.org").has_usable_password()
    assert [message.to for message in mail.outbox] == [["new@example.org"]]


def test_adding_an_existing_account_keeps_its_password(client, admin):
    """An admin of one organization must not be able to take over another's staff account."""
    # given
    elsewhere = MembershipFactory(role=Role.ADMIN)

    # when
    response = logged_in(client, admin).post(
        url("staff", admin.organization),
        {"email": elsewhere.user.email, "role": Role.VIEWER, "password": "attacker-chosen-pass"},
    )

    # then
    assert response.status_code == 302
    elsewhere.user.refresh_from_db()
    assert elsewhere.user.check_password(PASSWORD)
    assert not elsewhere.user.check_password("attacker-chosen-pass")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email", "role": Role.VIEWER}, "email"),
        ({"email": "x@example.org", "role": "overlord"}, "role"),
        ({"email": "x@example.org", "role": Role.VIEWER, "password": "short"}, "password"),
        ({"email": "x@example.org", "role": Role.VIEWER, "password": "password123"}, "password"),
    ],
)
def test_adding_staff_with_bad_input_shows_field_errors(client, admin, data, field):
    # when
    response = logged_in(client, admin).post(url("staff", admin.organization), data)

    # then
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert re.search(f'aria-describedby="[^"]*id_{field}_error"', response.content.decode())
    assert not User.objects.filter(email="x@example.org").exists()


def test_adding_someone_already_on_staff_is_an_email_error(client, admin):
    # given
    existing = MembershipFactory(organization=admin.organization, role=Role.VIEWER)

    # when
    response = logged_in(client, admin).post(
        url("staff", admin.organization), {"email": existing.user.email, "role": Role.ADMIN}
    )

    # then
    assert response.status_code == 400
    assert "already staff" in response.context["form"].errors["email"][0]
    existing.refresh_from_db()
    assert existing.role == Role.VIEWER
    assert events(admin.organization, "core.staff.added") == []


def test_changing_a_role_records_from_and_to(client, admin):
    # given
    member = MembershipFactory(organization=admin.organization, role=Role.VIEWER)

    # when
    response = logged_in(client, admin).post(
        url("staff_role", admin.organization, membership_id=member.pk), {"role": Role.TREASURER}
    )

    # then
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.TREASURER
    (event,) = events(admin.organization, "core.staff.role_changed")
    assert event.extra == {"from": Role.VIEWER, "to": Role.TREASURER}
    assert event.actor == admin.user


def test_the_role_change_refuses_an_unknown_role_and_answers_get_with_405(client, admin):
    # given
    member = MembershipFactory(organization=admin.organization, role=Role.VIEWER)
    target = url("staff_role", admin.organization, membership_id=member.pk)
    logged_in(client, admin)

    # when
    bad = client.post(target, {"role": "overlord"}, follow=True)
    get = client.get(target)

    # then
    assert "Choose one of the roles." in bad.content.decode()
    assert get.status_code == 405
    member.refresh_from_db()
    assert member.role == Role.VIEWER


def test_the_last_admin_can_be_neither_demoted_nor_removed_through_the_pages(client, admin):
    # given
    org = admin.organization
    logged_in(client, admin)
    before = snapshot(org)

    # when
    demote = client.post(
        url("staff_role", org, membership_id=admin.pk), {"role": Role.VIEWER}, follow=True
    )
    remove = client.post(url("staff_remove", org, membership_id=admin.pk), follow=True)

    # then
    for response in (demote, remove):
        assert response.status_code == 200
        assert "at least one admin" in response.content.decode()
    assert snapshot(org) == before


def test_removing_staff_revokes_their_tokens(client, admin):
    # given
    org = admin.organization
    member = MembershipFactory(organization=org, role=Role.FUNDRAISER)
    _, raw = make_token(member)
    logged_in(client, admin)

    # when
    confirm = client.get(url("staff_remove", org, membership_id=member.pk))
    response = client.post(url("staff_remove", org, membership_id=member.pk))

    # then
    assert member.user.email in confirm.content.decode()
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert token_for(raw) is None
    assert ApiToken.objects.get(user=member.user).revoked_at is not None
    (event,) = events(org, "core.staff.removed")
    assert (event.actor, event.subject_id) == (admin.user, str(member.pk))


def test_an_admin_who_removes_themselves_is_sent_home(client, admin):
    # given
    MembershipFactory(organization=admin.organization, role=Role.ADMIN)

    # when
    response = logged_in(client, admin).post(
        url("staff_remove", admin.organization, membership_id=admin.pk)
    )

    # then
    assert response["Location"] == reverse("web:home")
    assert not Membership.objects.filter(pk=admin.pk).exists()


def test_an_admin_who_steps_down_is_sent_to_the_dashboard(client, admin):
    # given
    MembershipFactory(organization=admin.organization, role=Role.ADMIN)

    # when
    response = logged_in(client, admin).post(
        url("staff_role", admin.organization, membership_id=admin.pk), {"role": Role.VIEWER}
    )

    # then
    assert response["Location"] == reverse("web:dashboard", args=[admin.organization.slug])


# --- API tokens --------------------------------------------------------------------------

SECRET = re.compile(r"sol_[A-Za-z0-9_-]{40}")


def test_a_new_token_is_shown_once_and_only_its_digest_is_stored(client):
    # given
    member = MembershipFactory(role=Role.FUNDRAISER)
    org = member.organization
    logged_in(client, member)

    # when
    created = client.post(url("tokens", org), {"name": "Website sync"})
    later = client.get(url("tokens", org))

    # then
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    html = created.content.decode()
    (secret,) = set(SECRET.findall(html))
    assert "will not be shown again" in html
    token = ApiToken.objects.get(organization=org, user=member.user)
    assert token.digest == token_digest(secret)
    assert secret not in {token.name, token.prefix, token.digest}
    assert secret.startswith(token.prefix)
    assert token_for(secret) == token
    (event,) = events(org, "core.token.created")
    assert secret not in str(event.extra)
    assert secret not in str(dict(client.session))
    later_html = later.content.decode()
    assert SECRET.findall(later_html) == []
    assert "Website sync" in later_html
    assert token.prefix in later_html


def test_a_token_needs_a_name(client):
    # given
    member = MembershipFactory(role=Role.VIEWER)

    # when
    response = logged_in(client, member).post(url("tokens", member.organization), {"name": ""})

    # then
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_staff_see_and_revoke_only_their_own_tokens(client):
    # given
    org = OrganizationFactory()
    ana = MembershipFactory(organization=org, role=Role.VIEWER)
    ben = MembershipFactory(organization=org, role=Role.COMMUNICATIONS)
    anas, _ = make_token(ana, "ana's")
    bens, bens_raw = make_token(ben, "ben's")
    logged_in(client, ana)

    # when
    page = client.get(url("tokens", org))
    get_other = client.get(url("token_revoke", org, token_id=bens.pk))
    post_other = client.post(url("token_revoke", org, token_id=bens.pk))
    post_missing = client.post(url("token_revoke", org, token_id=NO_SUCH_ID))
    post_own = client.post(url("token_revoke", org, token_id=anas.pk))

    # then
    assert [token.pk for token in page.context["page"]] == [anas.pk]
    assert get_other.status_code == post_other.status_code == 404
    assert post_other.content == post_missing.content
    assert token_for(bens_raw) is not None
    assert post_own.status_code == 302
    anas.refresh_from_db()
    assert anas.revoked_at is not None
    (event,) = events(org, "core.token.revoked")
    assert (event.actor, event.subject_id) == (ana.user, str(anas.pk))


def test_admins_see_and_revoke_everyones_tokens(client, admin):
    # given
    org = admin.organization
    other = MembershipFactory(organization=org, role=Role.VIEWER)
    theirs, raw = make_token(other)
    mine, _ = make_token(admin)
    make_token(MembershipFactory(role=Role.VIEWER))  # another organization's

    # when
    page = logged_in(client, admin).get(url("tokens", org))
    revoke = client.post(url("token_revoke", org, token_id=theirs.pk))

    # then
    assert {token.pk for token in page.context["page"]} == {theirs.pk, mine.pk}
    assert other.user.email in page.content.decode()
    assert revoke.status_code == 302
    assert token_for(raw) is None
    (event,) = events(org, "core.token.revoked")
    assert event.actor == admin.user


def test_revoking_twice_records_one_event(client):
    # given
    member = MembershipFactory(role=Role.VIEWER)
    token, _ = make_token(member)
    target = url("token_revoke", member.organization, token_id=token.pk)
    logged_in(client, member)

    # when
    client.post(target)
    again = client.post(target)
    confirm = client.get(target)

    # then
    assert again.status_code == 302
    assert "already revoked" in confirm.content.decode()
    assert len(events(member.organization, "core.token.revoked")) == 1


# --- settings ----------------------------------------------------------------------------


def test_the_settings_page_shows_the_organization(client, admin):
    # when
    html = logged_in(client, admin).get(url("settings", admin.organization)).content.decode()

    # then
    org = admin.organization
    for value in (org.name, org.slug, "ES", "EUR", "Europe/Madrid", "Spanish"):
        assert value in html
    assert 'name="require_mfa"' in html


def test_requiring_two_factor_authentication_is_saved_audited_and_enforced(client, admin):
    # given
    org = admin.organization
    logged_in(client, admin)

    # when
    response = client.post(url("settings", org), {"require_mfa": "on"})
    unchanged = client.post(url("settings", org), {"require_mfa": "on"})
    next_page = client.get(url("staff", org))

    # then
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.require_mfa is True
    (event,) = events(org, "core.organization.settings_changed")
    assert (event.actor, event.extra) == (admin.user, {"require_mfa": True})
    assert unchanged.status_code == 302  # already required: nothing written, no second event
    assert next_page["Location"] == reverse("mfa_index")


def test_an_admin_with_two_factor_authentication_may_turn_the_requirement_off(client, admin):
    # given
    org = admin.organization
    org.require_mfa = True
    org.save()
    Authenticator.objects.create(user=admin.user, type=Authenticator.Type.TOTP, data={})

    # when
    response = logged_in(client, admin).post(url("settings", org), {})

    # then
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.require_mfa is False
    (event,) = events(org, "core.organization.settings_changed")
    assert event.extra == {"require_mfa": False}


def test_the_two_factor_status_links_to_the_setup_page(client, admin):
    # when
    html = logged_in(client, admin).get(url("staff", admin.organization)).content.decode()

    # then
    assert f'href="{reverse("mfa_index")}"' in html
    assert "not set up two-factor authentication" in html
