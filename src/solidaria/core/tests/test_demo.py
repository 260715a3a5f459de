"""The demo network: `solidaria demo --no-serve` and the generator behind it."""

from io import StringIO

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from solidaria.consent.actions import ensure_default_purposes
from solidaria.consent.models import ConsentEvent
from solidaria.core.audit import Actor
from solidaria.core.models import AuditEvent, Membership, Network, Organization, User
from solidaria.core.roles import Role
from solidaria.core.tests.factories import OrganizationFactory, UserFactory
from solidaria.demo.build import load_demo, populate_organization
from solidaria.demo.data import (
    BERLIN,
    COORDINATOR_EMAIL,
    DEMO_PASSWORD,
    NETWORK_SLUG,
    PROFILES,
)
from solidaria.people.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactKind,
    ContactPhone,
    ContactRole,
    ContactTag,
    Relationship,
    RelationshipKind,
    SearchTerm,
)
from solidaria.people.queries import ContactFilters, contacts_for

pytestmark = pytest.mark.django_db

SMALL = 60


def _row_counts() -> dict[str, int]:
    models = (
        Network,
        Organization,
        User,
        Membership,
        Contact,
        ContactEmail,
        ContactPhone,
        ContactTag,
        ContactRole,
        Relationship,
        Activity,
        ConsentEvent,
        SearchTerm,
        AuditEvent,
    )
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.slow
def test_demo_network_has_three_organizations_with_staff_in_every_role() -> None:
    """Slow (0.4 s, 1.5 s when Faker loads its locales): writes the small demo network."""
    # when
    result = load_demo(contacts_per_org=SMALL)

    # then
    assert result.created
    network = Network.objects.get(slug=NETWORK_SLUG)
    orgs = {org.slug: org for org in Organization.objects.filter(network=network)}
    assert set(orgs) == {"coop-barcelona", "assoc-milano", "verein-berlin"}
    assert {(o.country, o.language, o.time_zone) for o in orgs.values()} == {
        ("ES", "ca", "Europe/Madrid"),
        ("IT", "it", "Europe/Rome"),
        ("DE", "de", "Europe/Berlin"),
    }
    for org in orgs.values():
        roles = set(Membership.objects.filter(organization=org).values_list("role", flat=True))
        assert roles == set(Role.values)
        admin = User.objects.get(email=f"admin@{org.slug}.demo")
        assert admin.check_password(DEMO_PASSWORD)
    coordinator = Membership.objects.filter(user__email=COORDINATOR_EMAIL)
    assert sorted(coordinator.values_list("role", flat=True)) == ["admin", "viewer", "viewer"]
    assert User.objects.get(email=COORDINATOR_EMAIL).check_password(DEMO_PASSWORD)
    assert {(login.email, login.org) for login in result.logins} >= {
        ("admin@coop-barcelona.demo", "coop-barcelona"),
        ("case-worker@verein-berlin.demo", "verein-berlin"),
        (COORDINATOR_EMAIL, "assoc-milano"),
    }


@pytest.mark.slow
def test_demo_contacts_fit_their_country_and_community() -> None:
    """Slow (0.4 s, 1.5 s when Faker loads its locales): writes the small demo network."""
    # when
    load_demo(contacts_per_org=SMALL)

    # then
    for profile in PROFILES:
        org = Organization.objects.get(slug=profile.slug)
        contacts = Contact.objects.filter(organization=org)
        assert contacts.count() == SMALL
        phones = list(
            ContactPhone.objects.filter(organization=org).values_list("number", flat=True)
        )
        assert len(phones) > SMALL // 2
        for number in phones:
            parsed = phonenumbers.parse(number)
            assert phonenumbers.is_valid_number(parsed), number
            assert phonenumbers.region_code_for_number(parsed) == profile.country, number
            assert number == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        people = contacts.filter(kind=ContactKind.PERSON)
        assert people.exclude(street="").count() == people.count()
        postal_codes = {pc for district in profile.districts for pc in district.postal_codes}
        assert set(contacts.values_list("postal_code", flat=True)) <= postal_codes
        assert contacts.filter(language=profile.language).count() > SMALL // 3
        # without email or phone, and with two emails
        assert people.filter(emails__isnull=True).exists()
        assert people.filter(phones__isnull=True).exists()
        assert ContactEmail.objects.filter(organization=org, position=1).exists()
        households = contacts.filter(kind=ContactKind.HOUSEHOLD)
        assert households.exists()
        for household in households:
            members = Relationship.objects.filter(
                to_contact=household, kind=RelationshipKind.HOUSEHOLD_MEMBER
            )
            assert members.count() >= 2
        partners = contacts.filter(kind=ContactKind.ORGANIZATION)
        assert partners.exists()
        for partner in partners:
            assert Relationship.objects.filter(
                to_contact=partner, kind=RelationshipKind.WORKS_FOR
            ).exists()
        assert ContactTag.objects.filter(organization=org).exists()
        assert set(ContactRole.objects.filter(organization=org).values_list("role", flat=True)) >= {
            "donor",
            "member",
            "partner",
        }
        activities = Activity.objects.filter(organization=org)
        assert set(activities.values_list("kind", flat=True)) == {"note", "call", "meeting"}
        assert activities.filter(actor__memberships__organization=org).count() == activities.count()
    # About 8 % speak Arabic; some are written in Arabic script, some in Latin letters.
    arabic = Contact.objects.filter(language="ar")
    assert 0.03 * 3 * SMALL <= arabic.count() <= 0.16 * 3 * SMALL
    names = list(arabic.values_list("family_name", flat=True))
    assert any(_is_arabic(name) for name in names)
    assert any(name and not _is_arabic(name) for name in names)


@pytest.mark.slow
def test_demo_consents_mix_grants_and_later_withdrawals() -> None:
    """Slow (0.4 s, 1.5 s when Faker loads its locales): writes the small demo network."""
    # when
    load_demo(contacts_per_org=SMALL)

    # then
    events = ConsentEvent.objects.all()
    assert events.filter(granted=True).exists()
    assert set(events.values_list("source", flat=True)) == {"web form", "paper form", "import"}
    assert len(set(events.values_list("purpose__code", flat=True))) >= 3
    assert len(set(events.values_list("channel", flat=True))) >= 3
    later_withdrawals = [
        w
        for w in events.filter(granted=False).select_related("purpose")
        if events.filter(
            contact=w.contact_id,
            purpose=w.purpose,
            channel=w.channel,
            granted=True,
            at__lt=w.at,
        ).exists()
    ]
    assert later_withdrawals


@pytest.mark.slow
def test_demo_loads_once() -> None:
    """Slow (0.4 s): writes the small demo network, then asks again."""
    # given
    load_demo(contacts_per_org=SMALL)
    before = _row_counts()

    # when
    again = load_demo(contacts_per_org=SMALL)

    # then
    assert not again.created
    assert _row_counts() == before
    assert len(again.logins) == 3 * len(Role.values) + 3


def test_generator_is_seeded_and_its_search_words_work() -> None:
    # given
    org_a = OrganizationFactory(country="DE", language="de")
    org_b = OrganizationFactory(country="DE", language="de")
    staff = UserFactory()
    for org in (org_a, org_b):
        ensure_default_purposes(org=org, actor=Actor.system("test"))

    # when
    populate_organization(org=org_a, profile=BERLIN, contacts=40, seed=7, staff=[staff])
    populate_organization(org=org_b, profile=BERLIN, contacts=40, seed=7, staff=[staff])

    # then
    names_a = list(Contact.objects.filter(organization=org_a).order_by("id").values_list("name"))
    names_b = list(Contact.objects.filter(organization=org_b).order_by("id").values_list("name"))
    assert names_a == names_b
    someone = Contact.objects.filter(organization=org_a, kind=ContactKind.PERSON).first()
    found = contacts_for(org=org_a, filters=ContactFilters(q=someone.given_name[:3]))
    assert someone in found


def test_demo_command_prints_logins_and_loads_once() -> None:
    # given
    first = StringIO()

    # when
    call_command("demo", "--no-serve", "--contacts", "12", stdout=first)
    counts = _row_counts()
    second = StringIO()
    call_command("demo", "--no-serve", "--contacts", "12", stdout=second)

    # then
    assert "admin@coop-barcelona.demo" in first.getvalue()
    assert "volunteer-coordinator@verein-berlin.demo" in first.getvalue()
    assert f"password: {DEMO_PASSWORD}" in first.getvalue()
    assert Contact.objects.count() == 36
    assert "already loaded" in second.getvalue()
    assert "admin@assoc-milano.demo" in second.getvalue()
    assert _row_counts() == counts


def test_demo_command_refuses_a_database_where_a_demo_slug_is_taken() -> None:
    # given
    OrganizationFactory(slug="assoc-milano")

    # when / then
    with pytest.raises(CommandError, match="assoc-milano"):
        call_command("demo", "--no-serve", "--contacts", "12", stdout=StringIO())
    assert not Network.objects.filter(slug=NETWORK_SLUG).exists()


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)
