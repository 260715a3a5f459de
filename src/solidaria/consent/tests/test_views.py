"""The consent panel of the contact page, recording an answer, and the consent history."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from solidaria.consent.models import ConsentEvent
from solidaria.consent.queries import may_contact
from solidaria.consent.tests.factories import make_consent, make_purposes
from solidaria.core.models import AuditEvent, Membership, Organization
from solidaria.core.tests.factories import MembershipFactory
from solidaria.people.actions import erase_contact
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def staff(role: str = "admin") -> tuple[Client, Membership]:
    membership = MembershipFactory(role=role)
    make_purposes(membership.organization)
    client = Client()
    client.force_login(membership.user)
    return client, membership


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(name, args=[org.slug, *args])


def answer(**overrides: str) -> dict[str, str]:
    data = {
        "purpose": "fundraising",
        "channel": "sms",
        "granted": "yes",
        "source": "staff",
        "lawful_basis": "consent",
        "wording_version": "2024-01",
        "at": "",
    }
    data.update(overrides)
    return data


def test_the_contact_page_shows_consent_by_purpose_and_channel():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    ana = make_contact(org)
    make_consent(ana, purpose="newsletter", channel="email", source="donation form")
    make_consent(ana, purpose="newsletter", channel="sms", granted=True)
    make_consent(ana, purpose="newsletter", channel="sms", granted=False, source="STOP reply")

    # when
    response = client.get(url("people:contact_detail", org, ana.pk))

    # then
    html = response.content.decode()
    panel = html[html.index('<section id="consent-panel"') :]
    panel = panel[: panel.index("</section>")]
    assert '<th scope="col">WhatsApp</th>' in panel
    assert '<th scope="row">Newsletter</th>' in panel
    assert '<th scope="row">Fundraising appeals</th>' in panel
    newsletter_row = panel[panel.index('<th scope="row">Newsletter</th>') :].split("</tr>")[0]
    cells = newsletter_row.split("<td>")[1:]
    assert "Yes" in cells[0]
    assert "donation form" in cells[0]
    assert "No" in cells[1]
    assert "STOP reply" in cells[1]
    assert "No" in cells[2]
    assert "·" not in cells[2]
    assert url("consent:history", org, ana.pk) in panel
    # a viewer has consent.view but not consent.edit: no form
    assert "Record an answer" not in panel


def test_an_editor_gets_the_form_prefilled_with_staff_as_source():
    # given
    client, membership = staff("communications")
    org = membership.organization
    ana = make_contact(org)

    # when
    html = client.get(url("people:contact_detail", org, ana.pk)).content.decode()

    # then
    record_url = url("consent:record", org, ana.pk)
    assert f'<form method="post" action="{record_url}" hx-post="{record_url}"' in html
    assert 'hx-target="#consent-panel"' in html
    assert 'name="source" value="staff"' in html
    assert '<label for="consent-purpose">Purpose</label>' in html
    assert "<legend>Answer</legend>" in html


def test_recording_with_htmx_returns_the_panel_with_the_new_state():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.post(url("consent:record", org, ana.pk), answer(), **HTMX)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="consent-panel"')
    assert "<html" not in html
    assert "Consent recorded." in html
    assert may_contact(contact=ana, purpose="fundraising", channel="sms")
    event = ConsentEvent.objects.get(contact=ana)
    assert (event.source, event.wording_version, event.actor_id) == (
        "staff",
        "2024-01",
        membership.user.pk,
    )
    assert AuditEvent.objects.filter(code="consent.granted", subject_id=str(ana.pk)).exists()


def test_recording_without_javascript_redirects_to_the_panel_with_a_message():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)
    make_consent(ana, purpose="fundraising", channel="sms")

    # when
    response = client.post(url("consent:record", org, ana.pk), answer(granted="no"), follow=True)

    # then
    assert response.redirect_chain == [
        (url("people:contact_detail", org, ana.pk) + "#consent-panel", 302)
    ]
    assert "Consent recorded." in response.content.decode()
    assert not may_contact(contact=ana, purpose="fundraising", channel="sms")


def test_a_paper_form_signed_earlier_is_recorded_at_its_date_in_the_organizations_time():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    client.post(url("consent:record", org, ana.pk), answer(at="2024-07-01T12:00", source="paper"))

    # then
    event = ConsentEvent.objects.get(contact=ana)
    assert event.at == datetime.datetime(2024, 7, 1, 10, 0, tzinfo=datetime.UTC)  # Madrid, summer
    assert event.source == "paper"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"source": ""}, "source"),
        ({"purpose": "no-such-purpose"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"granted": ""}, "granted"),
        ({"at": "2999-01-01T10:00"}, "at"),
    ],
)
def test_a_bad_answer_shows_the_error_and_records_nothing(overrides, field):
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    partial = client.post(url("consent:record", org, ana.pk), answer(**overrides), **HTMX)
    page = client.post(url("consent:record", org, ana.pk), answer(**overrides))

    # then
    assert partial.status_code == page.status_code == 200
    assert f'id="consent-{field}_error"' in partial.content.decode()
    assert '<details class="add-form" open>' in partial.content.decode()
    assert "<html" in page.content.decode()
    assert f'href="#consent-{field}' in page.content.decode()
    assert not ConsentEvent.objects.exists()


def test_the_record_page_works_on_its_own_without_javascript():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.get(url("consent:record", org, ana.pk))

    # then
    assert response.status_code == 200
    assert "Record consent for Ana García" in response.content.decode()


def test_a_viewer_may_see_but_not_record():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    ana = make_contact(org)

    # when
    post = client.post(url("consent:record", org, ana.pk), answer())
    history = client.get(url("consent:history", org, ana.pk))

    # then
    assert post.status_code == 403
    assert history.status_code == 200
    assert not ConsentEvent.objects.exists()


def test_the_history_lists_every_answer_newest_first():
    # given
    client, membership = staff("treasurer")
    org = membership.organization
    ana = make_contact(org)
    now = timezone.now()
    make_consent(ana, channel="email", source="web form", at=now - datetime.timedelta(days=9))
    make_consent(ana, channel="email", granted=False, source="unsubscribe link", at=now)

    # when
    response = client.get(url("consent:history", org, ana.pk))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Consent history of Ana García" in html
    assert html.index("unsubscribe link") < html.index("web form")
    assert "Withdrawn" in html
    assert "Granted" in html
    assert response.context["nav"] == "contacts"
    assert "Record an answer" not in html  # a treasurer may not change consent


def test_the_history_of_a_beneficiary_is_an_audited_read():
    # given
    client, membership = staff("case_worker")
    org = membership.organization
    fatima = make_contact(org, given_name="Fatima", roles=["beneficiary"])

    # when
    client.get(url("consent:history", org, fatima.pk))

    # then
    event = AuditEvent.objects.get(code="people.contact.viewed")
    assert (event.subject_id, event.actor_id) == (str(fatima.pk), membership.user.pk)


def test_an_erased_contact_shows_no_consent_and_no_form():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)
    make_consent(ana, purpose="newsletter", channel="email")
    erase_contact(org=org, actor=TEST_ACTOR, contact=ana)

    # when
    html = client.get(url("people:contact_detail", org, ana.pk)).content.decode()

    # then
    assert "nobody may contact them" in html
    assert "consent-yes" not in html
    assert url("consent:record", org, ana.pk) not in html
