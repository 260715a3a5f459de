"""The consent API through HTTP, and the rule every sender relies on (`may_contact`)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from solidaria.consent.models import ConsentEvent, Purpose
from solidaria.consent.queries import may_contact, reachable_contacts
from solidaria.consent.tests.factories import make_consent, make_purposes
from solidaria.core.models import AuditEvent, Membership, Organization
from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.people.models import Contact
from solidaria.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
NOW = timezone.now


def _staff(role: str = Role.ADMIN, org: Organization | None = None) -> tuple[Client, Membership]:
    membership = MembershipFactory(role=role, organization=org or OrganizationFactory())
    make_purposes(membership.organization)
    client = Client(headers={"Authorization": f"Bearer {make_api_token(membership)}"})
    return client, membership


def _url(contact: Contact) -> str:
    return f"/api/v1/contacts/{contact.pk}/consents"


def _record(client: Client, contact: Contact, **data: object):
    data = {"purpose": "newsletter", "channel": "email", "granted": True, "source": "api"} | data
    return client.post(_url(contact), data, content_type="application/json")


def _state(client: Client, contact: Contact, purpose: str, channel: str) -> bool:
    response = client.get(_url(contact))
    assert response.status_code == 200, response.content
    [state] = [
        item
        for item in response.json()["items"]
        if (item["purpose"], item["channel"]) == (purpose, channel)
    ]
    return state["granted"]


def test_record_consent_then_read_the_state_per_purpose_and_channel():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)

    # when
    response = _record(
        client,
        contact,
        purpose="fundraising",
        channel="whatsapp",
        source="donation form",
        wording_version="2024-03",
    )
    states = client.get(_url(contact))

    # then
    assert response.status_code == 201, response.content
    event = response.json()
    assert (event["purpose"], event["channel"], event["granted"]) == (
        "fundraising",
        "whatsapp",
        True,
    )
    assert (event["source"], event["wording_version"], event["lawful_basis"]) == (
        "donation form",
        "2024-03",
        "consent",
    )
    body = states.json()
    purposes = Purpose.objects.filter(organization=membership.organization, active=True).count()
    assert body["count"] == len(body["items"]) == purposes * 5
    assert body["history"] is None
    granted = [(s["purpose"], s["channel"]) for s in body["items"] if s["granted"]]
    assert granted == [("fundraising", "whatsapp")]
    [state] = [s for s in body["items"] if s["granted"]]
    assert state["purpose_name"] == "Fundraising appeals"
    assert (state["source"], state["lawful_basis"]) == ("donation form", "consent")
    silent = next(s for s in body["items"] if not s["granted"])
    assert (silent["source"], silent["at"], silent["lawful_basis"]) == (None, None, None)
    audit = AuditEvent.objects.get(code="consent.granted")
    assert (audit.actor, audit.via, audit.subject_id) == (membership.user, "api", str(contact.pk))


def test_history_lists_every_event_newest_first():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)
    _record(client, contact, at=(NOW() - datetime.timedelta(days=2)).isoformat())
    _record(client, contact, granted=False, source="unsubscribe link")

    # when
    response = client.get(_url(contact), {"history": "true"})

    # then
    history = response.json()["history"]
    assert [(e["granted"], e["source"]) for e in history] == [
        (False, "unsubscribe link"),
        (True, "api"),
    ]
    assert _state(client, contact, "newsletter", "email") is False


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"purpose": "astrology"}, "purpose"),
        ({"purpose": ""}, "purpose"),
        ({"lawful_basis": "because"}, "lawful_basis"),
        ({"source": "   "}, "source"),
        ({"granted": "maybe"}, "granted"),
        ({"granted": None}, "granted"),
        ({"at": "2024-01-01T10:00:00"}, "at"),
        ({"at": "next tuesday"}, "at"),
        ({"at": "2999-01-01T10:00:00+00:00"}, "at"),
        ({"at": "0001-01-01T00:00:00+01:00"}, "at"),
        ({"wording_version": "v\x00"}, "wording_version"),
        ({"note": "extra"}, "note"),
    ],
)
def test_bad_consent_input_is_422_naming_the_field_and_writes_nothing(data, field):
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)

    # when
    response = _record(client, contact, **data)

    # then
    assert response.status_code == 422, response.content
    assert field in [error["loc"][1] for error in response.json()["detail"]]
    assert not ConsentEvent.objects.exists()


def test_required_consent_fields_are_named_when_missing():
    client, membership = _staff()
    contact = make_contact(membership.organization)
    response = client.post(_url(contact), {}, content_type="application/json")
    assert response.status_code == 422
    missing = {error["loc"][1] for error in response.json()["detail"]}
    assert missing == {"purpose", "channel", "granted", "source"}


def test_an_inactive_purpose_is_refused():
    client, membership = _staff()
    contact = make_contact(membership.organization)
    Purpose.objects.filter(code="newsletter").update(active=False)
    response = _record(client, contact)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "purpose"]


def test_a_purpose_of_another_organization_is_not_known_here():
    # given
    client, membership = _staff()
    other = OrganizationFactory()
    Purpose.objects.create(organization=other, code="gala", name="Gala dinner")
    contact = make_contact(membership.organization)

    # when
    response = _record(client, contact, purpose="gala")

    # then
    assert response.status_code == 422


# --- may_contact: what a sender will be told ----------------------------------------------


def test_silence_is_no():
    client, membership = _staff()
    contact = make_contact(membership.organization)
    assert _state(client, contact, "newsletter", "email") is False
    assert may_contact(contact=contact, purpose="newsletter", channel="email") is False


def test_consent_is_per_purpose_and_channel():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)

    # when
    _record(client, contact, purpose="newsletter", channel="email")

    # then
    assert may_contact(contact=contact, purpose="newsletter", channel="email") is True
    assert may_contact(contact=contact, purpose="newsletter", channel="sms") is False
    assert may_contact(contact=contact, purpose="fundraising", channel="email") is False
    assert _state(client, contact, "newsletter", "sms") is False


def test_withdrawal_after_a_grant_wins():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)
    _record(client, contact, granted=True)

    # when
    _record(client, contact, granted=False, source="unsubscribe link")

    # then
    assert _state(client, contact, "newsletter", "email") is False
    assert may_contact(contact=contact, purpose="newsletter", channel="email") is False
    assert (
        list(reachable_contacts(org=membership.organization, purpose="newsletter", channel="email"))
        == []
    )


def test_the_latest_event_by_its_moment_wins_not_the_latest_recorded():
    # given: withdrawn online today; a paper form signed last week is typed in afterwards
    client, membership = _staff()
    contact = make_contact(membership.organization)
    _record(client, contact, granted=False, source="unsubscribe link")

    # when
    last_week = (NOW() - datetime.timedelta(days=7)).isoformat()
    _record(client, contact, granted=True, source="paper form", at=last_week)

    # then
    assert _state(client, contact, "newsletter", "email") is False
    assert may_contact(contact=contact, purpose="newsletter", channel="email") is False
    # and a grant given after the withdrawal does win
    _record(client, contact, granted=True, source="event stand")
    assert _state(client, contact, "newsletter", "email") is True
    assert may_contact(contact=contact, purpose="newsletter", channel="email") is True
    assert list(
        reachable_contacts(org=membership.organization, purpose="newsletter", channel="email")
    ) == [contact]


def test_an_erased_contact_is_never_reachable_and_its_consent_events_stay():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)
    _record(client, contact, purpose="newsletter", channel="email")
    _record(client, contact, purpose="fundraising", channel="sms")

    # when
    erased = client.post(f"/api/v1/contacts/{contact.pk}/erase")

    # then
    assert erased.status_code == 200
    contact.refresh_from_db()
    assert ConsentEvent.objects.filter(contact=contact).count() == 2
    assert may_contact(contact=contact, purpose="newsletter", channel="email") is False
    assert (
        list(reachable_contacts(org=membership.organization, purpose="newsletter", channel="email"))
        == []
    )
    states = client.get(_url(contact), {"history": "true"}).json()
    assert not any(state["granted"] for state in states["items"])
    assert len(states["history"]) == 2
    refused = _record(client, contact)
    assert refused.status_code == 422
    assert ConsentEvent.objects.filter(contact=contact).count() == 2


def test_export_contains_the_consent_record_and_is_audited():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)
    make_consent(contact, purpose="newsletter", channel="email", granted=True)
    make_consent(contact, purpose="newsletter", channel="email", granted=False)

    # when
    response = client.get(f"/api/v1/contacts/{contact.pk}/export")

    # then
    assert response.status_code == 200
    consents = response.json()["consents"]
    assert [(c["purpose"], c["channel"], c["granted"]) for c in consents] == [
        ("newsletter", "email", True),
        ("newsletter", "email", False),
    ]
    assert AuditEvent.objects.filter(
        code="people.contact.exported", subject_id=str(contact.pk), via="api"
    ).exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.VIEWER, 403), (Role.TREASURER, 403), (Role.COMMUNICATIONS, 201), (Role.ADMIN, 201)],
)
def test_roles_that_may_record_consent(role, status):
    # given
    client, membership = _staff(role=role)
    contact = make_contact(membership.organization)

    # when
    response = _record(client, contact)

    # then
    assert response.status_code == status
    assert ConsentEvent.objects.count() == (1 if status == 201 else 0)
    assert client.get(_url(contact)).status_code == 200
