"""Core actions and access: organizations, staff, roles, tokens, audit."""

import pytest

from solidaria.core.access import membership_for, require, token_for
from solidaria.core.actions import (
    add_staff,
    change_staff_role,
    create_api_token,
    create_organization,
    remove_staff,
    revoke_api_token,
)
from solidaria.core.audit import Actor
from solidaria.core.errors import Conflict, Forbidden, Invalid, NotFound
from solidaria.core.models import ApiToken, AuditEvent, Organization
from solidaria.core.roles import PERMISSIONS, Role, role_allows
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from solidaria.core.tokens import token_digest

pytestmark = pytest.mark.django_db
CLI = Actor.system("cli")


def test_create_organization_records_an_audit_event():
    # when
    org = create_organization(actor=CLI, slug="coop", name="Coop", country="es", currency="eur")

    # then
    assert (org.country, org.currency) == ("ES", "EUR")
    event = AuditEvent.objects.get(organization=org)
    assert (event.code, event.via, event.subject_id) == (
        "core.organization.created",
        "cli",
        str(org.pk),
    )


@pytest.mark.parametrize("slug", ["api", "app", "static", "t", "me", "webhooks", "accounts"])
def test_organization_slugs_that_clash_with_top_level_paths_are_refused(slug):
    with pytest.raises(Invalid) as error:
        create_organization(actor=CLI, slug=slug, name="X")
    assert error.value.field == "slug"
    assert not Organization.objects.filter(slug=slug).exists()


@pytest.mark.parametrize("slug", ["Coop", "-coop", "coop-", "co op", "c" * 51, ""])
def test_malformed_slugs_are_refused(slug):
    with pytest.raises(Invalid):
        create_organization(actor=CLI, slug=slug, name="X")


def test_a_taken_slug_is_a_conflict():
    create_organization(actor=CLI, slug="coop", name="Coop")
    with pytest.raises(Conflict):
        create_organization(actor=CLI, slug="coop", name="Other")


def test_unknown_time_zone_is_refused():
    with pytest.raises(Invalid) as error:
        create_organization(actor=CLI, slug="coop", name="Coop", time_zone="Mars/Olympus")
    assert error.value.field == "time_zone"


def test_add_staff_creates_the_account_once_and_refuses_a_second_membership():
    # given
    org = OrganizationFactory()
    other = OrganizationFactory()

    # when
    first = add_staff(
        org=org, actor=CLI, email=" Ana@Example.org ", role=Role.ADMIN, password="pw-long-enough"
    )
    second = add_staff(org=other, actor=CLI, email="ana@example.org", role=Role.VIEWER)

    # then
    assert first.user == second.user
    assert first.user.email == "ana@example.org"
    assert first.user.check_password("pw-long-enough")
    with pytest.raises(Conflict):
        add_staff(org=org, actor=CLI, email="ana@example.org", role=Role.VIEWER)


def test_add_staff_refuses_an_unknown_role_and_a_bad_email():
    org = OrganizationFactory()
    with pytest.raises(Invalid):
        add_staff(org=org, actor=CLI, email="a@example.org", role="overlord")
    with pytest.raises(Invalid):
        add_staff(org=org, actor=CLI, email="not-an-email", role=Role.VIEWER)


def test_the_last_admin_can_be_neither_demoted_nor_removed():
    # given
    admin = MembershipFactory(role=Role.ADMIN)
    org = admin.organization

    # then
    with pytest.raises(Conflict):
        change_staff_role(org=org, actor=CLI, membership_id=admin.pk, role=Role.VIEWER)
    with pytest.raises(Conflict):
        remove_staff(org=org, actor=CLI, membership_id=admin.pk)

    # given a second admin, the first may step down
    MembershipFactory(organization=org, role=Role.ADMIN)
    change_staff_role(org=org, actor=CLI, membership_id=admin.pk, role=Role.VIEWER)
    admin.refresh_from_db()
    assert admin.role == Role.VIEWER


def test_membership_of_another_organization_is_not_found():
    # given
    mine = MembershipFactory()
    theirs = OrganizationFactory()

    # then
    assert membership_for(user=mine.user, org_slug=mine.organization.slug) == mine
    with pytest.raises(NotFound):
        membership_for(user=mine.user, org_slug=theirs.slug)
    with pytest.raises(NotFound):
        membership_for(user=mine.user, org_slug="does-not-exist")


def test_staff_ids_of_another_organization_are_not_found():
    mine = MembershipFactory()
    theirs = MembershipFactory()
    with pytest.raises(NotFound):
        change_staff_role(
            org=mine.organization, actor=CLI, membership_id=theirs.pk, role=Role.VIEWER
        )
    with pytest.raises(NotFound):
        remove_staff(org=mine.organization, actor=CLI, membership_id=theirs.pk)


@pytest.mark.parametrize("role", Role.values)
def test_every_permission_names_only_real_roles_and_admins_hold_all(role):
    for permission, roles in PERMISSIONS.items():
        assert roles <= set(Role.values), permission
        assert role_allows(Role.ADMIN, permission)
    assert role_allows(role, "contacts.view")


def test_require_raises_forbidden_for_a_role_without_the_permission():
    viewer = MembershipFactory(role=Role.VIEWER)
    require(viewer, "contacts.view")
    with pytest.raises(Forbidden):
        require(viewer, "contacts.edit")


def test_a_token_is_stored_as_its_digest_and_authenticates_until_revoked():
    # given
    membership = MembershipFactory(role=Role.FUNDRAISER)
    org, user = membership.organization, membership.user

    # when
    token, raw = create_api_token(org=org, actor=CLI, user=user, name="sync")

    # then
    assert raw.startswith("sol_")
    assert len(raw) > 40
    assert token.digest == token_digest(raw)
    assert raw not in {token.prefix, token.digest, token.name}
    found = token_for(raw)
    assert found == token
    assert found.membership == membership
    assert token_for(raw + "x") is None
    assert token_for("Bearer " + raw) is None

    # when revoked
    revoke_api_token(org=org, actor=CLI, token_id=token.pk, only_user=None)

    # then
    assert token_for(raw) is None
    codes = list(AuditEvent.objects.filter(organization=org).values_list("code", flat=True))
    assert "core.token.created" in codes
    assert "core.token.revoked" in codes


def test_a_token_stops_working_when_its_user_leaves_or_is_deactivated():
    # given
    admin = MembershipFactory(role=Role.ADMIN)
    org = admin.organization
    member = MembershipFactory(organization=org, role=Role.VIEWER)
    _, raw = create_api_token(org=org, actor=CLI, user=member.user, name="x")
    _, admin_raw = create_api_token(org=org, actor=CLI, user=admin.user, name="y")

    # when
    remove_staff(org=org, actor=CLI, membership_id=member.pk)
    admin.user.is_active = False
    admin.user.save()

    # then
    assert token_for(raw) is None
    assert token_for(admin_raw) is None
    assert ApiToken.objects.get(user=member.user).revoked_at is not None


def test_a_user_may_revoke_only_their_own_token():
    # given
    org = OrganizationFactory()
    ana = MembershipFactory(organization=org, role=Role.VIEWER).user
    ben = MembershipFactory(organization=org, role=Role.VIEWER).user
    token, raw = create_api_token(org=org, actor=CLI, user=ana, name="x")

    # then
    with pytest.raises(NotFound):
        revoke_api_token(org=org, actor=CLI, token_id=token.pk, only_user=ben)
    assert token_for(raw) is not None


def test_tokens_are_only_made_for_staff_of_the_organization():
    org = OrganizationFactory()
    outsider = UserFactory()
    with pytest.raises(NotFound):
        create_api_token(org=org, actor=CLI, user=outsider, name="x")
