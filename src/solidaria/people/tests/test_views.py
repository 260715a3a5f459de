"""The staff contact pages, through the HTTP interface as a browser (with or without htmx) uses them."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from solidaria.consent.tests.factories import make_consent, make_purposes
from solidaria.core.models import AuditEvent, Membership, Organization
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory
from solidaria.people import registry
from solidaria.people.actions import add_activity, add_relationship
from solidaria.people.models import Activity, Contact, ContactEmail, Relationship
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def staff(role: str = "admin", org: Organization | None = None) -> tuple[Client, Membership]:
    membership = MembershipFactory(role=role, **({"organization": org} if org else {}))
    client = Client()
    client.force_login(membership.user)
    return client, membership


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(name, args=[org.slug, *args])


def contact_form_data(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "person",
        "given_name": "Núria",
        "family_name": "Puig",
        "name": "",
        "email_0": "Nuria@Example.org",
        "email_1": "",
        "email_2": "",
        "phone_0": "612 34 56 78",
        "phone_1": "",
        "phone_2": "",
        "preferred_channel": "email",
        "language": "ca",
        "street": "Carrer Major 1",
        "postal_code": "08001",
        "city": "Barcelona",
        "region": "",
        "country": "ES",
        "birth_date": "1980-05-17",
        "tags": "newsletter, vip",
        "roles": ["donor", "volunteer"],
        "notes": "Met at the spring fair.",
        "external_id": "",
    }
    data.update(overrides)
    return data


# --- the list ---------------------------------------------------------------------------


def test_list_shows_contacts_with_roles_primary_email_phone_and_tags():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_contact(
        org,
        given_name="Ana",
        family_name="García",
        emails=["ana@example.org", "ana.work@example.org"],
        phones=["+34612345678"],
        tags=["vip"],
        roles=["donor", "volunteer"],
    )
    make_contact(org, kind="organization", given_name="", family_name="", name="Banco de Alimentos")

    # when
    response = client.get(url("people:contact_list", org))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 contacts" in html
    assert "García" in html
    assert "Banco de Alimentos" in html
    assert 'class="badge badge-donor"' in html
    assert 'class="badge badge-volunteer"' in html
    assert "ana@example.org" in html
    assert "ana.work@example.org" not in html
    assert "612 34 56 78" in html  # a Spanish number in a Spanish organization, as people write it
    assert 'href="tel:+34612345678"' in html
    assert '<bdi class="tag">vip</bdi>' in html
    assert response.context["nav"] == "contacts"


def test_list_search_ignores_case_and_accents_and_finds_emails_and_phones():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_contact(org, given_name="José", family_name="Núñez", emails=["jose@example.org"])
    make_contact(org, given_name="Marta", family_name="Soler", phones=["+34699111222"])

    # when
    by_name = client.get(url("people:contact_list", org), {"q": "NUNEZ"})
    by_email = client.get(url("people:contact_list", org), {"q": "jose@example.org"})
    by_phone = client.get(url("people:contact_list", org), {"q": "699 111 222"})

    # then
    assert [c.family_name for c in by_name.context["page"]] == ["Núñez"]
    assert [c.family_name for c in by_email.context["page"]] == ["Núñez"]
    assert [c.family_name for c in by_phone.context["page"]] == ["Soler"]
    assert "1 contact" in by_name.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "organization"}, ["Red Cross"]),
        ({"role": "volunteer"}, ["Soler"]),
        ({"tag": "vip"}, ["Núñez"]),
        ({"language": "ar"}, ["Soler"]),
        ({"role": "volunteer", "language": "es"}, []),
    ],
)
def test_list_filters_by_kind_role_tag_and_language(params, expected):
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_contact(org, given_name="José", family_name="Núñez", tags=["vip"], language="es")
    make_contact(org, given_name="Marta", family_name="Soler", roles=["volunteer"], language="ar")
    make_contact(org, kind="organization", given_name="", family_name="", name="Red Cross")

    # when
    response = client.get(url("people:contact_list", org), params)

    # then
    assert response.status_code == 200
    shown = [c.family_name or c.name for c in response.context["page"]]
    assert shown == expected


def test_list_offers_the_organizations_tags_and_a_fixed_list_of_languages_as_filters():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_contact(org, tags=["vip", "newsletter"], language="ar")
    make_contact(OrganizationFactory(), tags=["secret-tag-of-another-org"], language="xh")

    # when
    html = client.get(url("people:contact_list", org)).content.decode()
    filtered = client.get(url("people:contact_list", org), {"language": "xh"}).content.decode()

    # then
    assert '<option value="vip">vip</option>' in html
    assert '<option value="newsletter">newsletter</option>' in html
    assert '<option value="ar">Arabic</option>' in html
    assert "secret-tag-of-another-org" not in html
    # languages come from a fixed list, not from anyone's contacts; an unlisted code that
    # is asked for stays selectable
    assert '<option value="xh"' not in html
    assert '<option value="xh" selected>xh</option>' in filtered


def test_list_paginates_by_50_and_keeps_the_filters_in_the_page_links():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    for i in range(51):
        make_contact(org, given_name=f"Person{i:02d}", family_name="Vidal", tags=["batch"])

    # when
    first = client.get(url("people:contact_list", org), {"tag": "batch"})
    second = client.get(url("people:contact_list", org), {"tag": "batch", "page": "2"})

    # then
    assert len(first.context["page"].object_list) == 50
    assert "51 contacts" in first.content.decode()
    assert "?tag=batch&amp;page=2" in first.content.decode()
    assert len(second.context["page"].object_list) == 1


def test_list_query_count_does_not_grow_with_the_number_of_contacts(
    django_assert_max_num_queries,
):
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_contact(
        org, emails=["a@example.org"], phones=["+34612345678"], tags=["x"], roles=["donor"]
    )
    client.get(url("people:contact_list", org))  # the session and the like, once
    with django_assert_max_num_queries(12) as few:
        client.get(url("people:contact_list", org))
    for i in range(30):
        make_contact(
            org,
            given_name=f"P{i}",
            emails=[f"p{i}@example.org"],
            phones=[f"+3461234{i:04d}"],
            tags=[f"t{i}"],
            roles=["donor", "member"],
        )

    # when
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url("people:contact_list", org))

    # then
    assert len(response.context["page"].object_list) == 31


def test_list_answers_htmx_with_the_results_partial_only():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_contact(org, given_name="José", family_name="Núñez")
    make_contact(org, given_name="Marta", family_name="Soler")

    # when
    response = client.get(url("people:contact_list", org), {"q": "soler"}, **HTMX)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<form" not in html
    assert 'id="contact-results"' in html
    assert 'id="contact-count"' in html
    assert 'hx-swap-oob="innerHTML"' in html
    assert "Soler" in html
    assert "Núñez" not in html
    assert "HX-Request" in response["Vary"]


def test_list_page_has_a_search_form_that_works_with_and_without_javascript():
    # given
    client, membership = staff("viewer")
    org = membership.organization

    # when
    html = client.get(url("people:contact_list", org)).content.decode()

    # then
    list_url = url("people:contact_list", org)
    assert f'<form method="get" action="{list_url}"' in html
    assert 'hx-trigger="input changed delay:300ms, search, submit"' in html
    assert 'hx-target="#contact-results"' in html
    assert 'hx-push-url="true"' in html
    assert '<label for="filter-q">' in html
    assert '<button type="submit">' in html


def test_the_whole_page_has_no_out_of_band_marker_that_would_move_the_count_on_history_restore():
    # given
    client, membership = staff("viewer")

    # when
    html = client.get(url("people:contact_list", membership.organization)).content.decode()

    # then
    assert '<p class="count" id="contact-count" role="status">' in html
    assert "hx-swap-oob" not in html


def test_a_history_restore_gets_the_whole_page():
    # given
    client, membership = staff("viewer")

    # when
    response = client.get(
        url("people:contact_list", membership.organization),
        **HTMX,
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    # then
    assert "<html" in response.content.decode()


def test_list_never_shows_another_organizations_contacts():
    # given
    client, membership = staff("admin")
    make_contact(membership.organization, given_name="Ours", family_name="Contact")
    other = OrganizationFactory()
    make_contact(other, given_name="Theirs", family_name="Secret", emails=["theirs@example.org"])

    # when
    everything = client.get(url("people:contact_list", membership.organization))
    searched = client.get(url("people:contact_list", membership.organization), {"q": "secret"})

    # then
    assert "Theirs" not in everything.content.decode()
    assert "1 contact" in everything.content.decode()
    assert list(searched.context["page"]) == []


# --- the contact page ---------------------------------------------------------------------


def test_contact_page_shows_details_badges_relationships_timeline_and_consent():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_purposes(org)
    ana = make_contact(
        org,
        emails=["ana@example.org"],
        phones=["+33612345678"],
        tags=["vip"],
        roles=["donor"],
        language="ca",
        preferred_channel="sms",
        street="Carrer Major 1",
        city="Girona",
        notes="Prefers evenings.",
        external_id="CRM-7",
    )
    acme = make_contact(org, kind="organization", given_name="", family_name="", name="Acme Coop")
    add_relationship(org=org, actor=TEST_ACTOR, from_contact=ana, to_contact=acme, kind="works_for")
    add_activity(org=org, actor=TEST_ACTOR, contact=ana, kind="call", subject="Thanked her")
    make_consent(ana, purpose="newsletter", channel="email", source="paper form")

    # when
    response = client.get(url("people:contact_detail", org, ana.pk))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Ana García</h1>" in html
    assert '<span class="badge badge-donor">Donor</span>' in html
    assert "ana@example.org" in html
    assert "+33 6 12 34 56 78" in html  # a French number in a Spanish organization
    assert "Catalan" in html
    assert "SMS" in html
    assert "Carrer Major 1" in html
    assert "Prefers evenings." in html
    assert "CRM-7" in html
    assert f'href="{url("people:contact_detail", org, acme.pk)}">Acme Coop</a>' in html
    assert "Works for" in html
    assert "Thanked her" in html
    assert "Call" in html
    assert 'id="consent-panel"' in html
    assert "paper form" in html
    # a viewer sees, but is offered no form to change anything
    assert "Add an activity" not in html
    assert "Record an answer" not in html
    assert "Download data (JSON)" not in html
    assert "Erase personal data" not in html


def test_contact_page_offers_the_forms_and_privacy_actions_to_an_admin():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    html = client.get(url("people:contact_detail", org, ana.pk)).content.decode()

    # then
    assert url("people:contact_edit", org, ana.pk) in html
    assert f'hx-post="{url("people:activity_add", org, ana.pk)}"' in html
    assert f'hx-post="{url("people:relationship_add", org, ana.pk)}"' in html
    assert url("people:contact_export", org, ana.pk) in html
    assert url("people:contact_erase", org, ana.pk) in html
    assert url("people:contact_delete", org, ana.pk) in html


def test_contact_page_shows_the_organizations_contacts_only_in_the_relationship_picker():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization
    ana = make_contact(org)
    make_contact(org, given_name="Pau", family_name="Roca", emails=["pau@example.org"])
    make_contact(OrganizationFactory(), given_name="Foreign", family_name="Person")

    # when
    html = client.get(url("people:contact_detail", org, ana.pk)).content.decode()

    # then
    assert "Pau Roca · pau@example.org" in html
    assert "Foreign" not in html


def test_panels_are_rendered_in_order_and_skipped_when_their_context_is_none(monkeypatch):
    # given
    client, membership = staff("viewer")
    org = membership.organization
    make_purposes(org)
    ana = make_contact(org)
    panels = dict(registry._panels)
    # A missing template proves the panel is skipped, not rendered empty.
    panels["hidden"] = registry.ContactPanel(
        name="hidden", template="no/such/template.html", context=lambda request, contact: None
    )
    panels["first"] = registry.ContactPanel(
        name="first",
        template="people/_field.html",
        context=lambda request, contact: {"field": "FIRST-PANEL-MARK"},
        order=1,
    )
    monkeypatch.setattr(registry, "_panels", panels)

    # when
    html = client.get(url("people:contact_detail", org, ana.pk)).content.decode()

    # then
    assert "FIRST-PANEL-MARK" in html
    assert html.index("FIRST-PANEL-MARK") < html.index('id="consent-panel"')


def test_viewing_a_beneficiary_is_audited_and_viewing_a_donor_is_not():
    # given
    client, membership = staff("case_worker")
    org = membership.organization
    beneficiary = make_contact(org, given_name="Fatima", roles=["beneficiary"])
    donor = make_contact(org, given_name="Jordi", roles=["donor"])

    # when
    client.get(url("people:contact_detail", org, beneficiary.pk))
    client.get(url("people:contact_detail", org, donor.pk))

    # then
    viewed = AuditEvent.objects.filter(organization=org, code="people.contact.viewed")
    assert [(e.subject_id, e.actor_id, e.via) for e in viewed] == [
        (str(beneficiary.pk), membership.user.pk, "web")
    ]
    assert viewed.get().extra == {"roles": ["beneficiary"]}


def test_a_missing_contact_is_404():
    # given
    client, membership = staff("admin")

    # when
    response = client.get(url("people:contact_detail", membership.organization, 999999))

    # then
    assert response.status_code == 404


# --- timeline and relationships -------------------------------------------------------------


def test_adding_an_activity_with_htmx_returns_the_timeline_partial():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.post(
        url("people:activity_add", org, ana.pk),
        {
            "kind": "meeting",
            "subject": "Coffee at the office",
            "body": "Talked about legacy giving.",
            "occurred_at": "2024-03-05T10:30",
        },
        **HTMX,
    )

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="timeline"')
    assert "<html" not in html
    assert "Coffee at the office" in html
    assert "Activity added." in html
    activity = Activity.objects.get(contact=ana)
    assert (activity.kind, activity.actor_id) == ("meeting", membership.user.pk)
    # 10:30 in Madrid (the organization's time zone) in March is 09:30 UTC
    assert activity.occurred_at.isoformat() == "2024-03-05T09:30:00+00:00"


def test_the_activity_page_works_on_its_own_without_javascript():
    # given
    client, membership = staff("case_worker")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.get(url("people:activity_add", org, ana.pk))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Add an activity for Ana García" in html
    assert f'<form method="post" action="{url("people:activity_add", org, ana.pk)}"' in html
    assert '<label for="activity-subject">Subject</label>' in html


def test_adding_an_activity_without_javascript_redirects_to_the_timeline():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.post(
        url("people:activity_add", org, ana.pk), {"kind": "note", "subject": "Called back"}
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == url("people:contact_detail", org, ana.pk) + "#timeline"
    assert Activity.objects.get(contact=ana).subject == "Called back"


def test_an_activity_without_subject_shows_the_error_and_writes_nothing():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization
    ana = make_contact(org)

    # when
    partial = client.post(
        url("people:activity_add", org, ana.pk),
        {"kind": "note", "subject": "", "body": "kept"},
        **HTMX,
    )
    page = client.post(url("people:activity_add", org, ana.pk), {"kind": "note", "subject": " "})

    # then
    assert partial.status_code == 200
    assert 'aria-describedby="activity-subject_error"' in partial.content.decode()
    assert ">\nkept</textarea>" in partial.content.decode()
    assert "<html" in page.content.decode()
    assert "activity-subject_error" in page.content.decode()
    assert not Activity.objects.filter(contact=ana).exists()


def test_a_viewer_cannot_add_an_activity():
    # given
    client, membership = staff("viewer")
    ana = make_contact(membership.organization)

    # when
    response = client.post(
        url("people:activity_add", membership.organization, ana.pk),
        {"kind": "note", "subject": "x"},
    )

    # then
    assert response.status_code == 403
    assert not Activity.objects.exists()


def test_adding_a_relationship_with_htmx_returns_the_relationships_partial():
    # given
    client, membership = staff("communications")
    org = membership.organization
    ana = make_contact(org)
    household = make_contact(
        org, kind="household", given_name="", family_name="", name="García household"
    )

    # when
    response = client.post(
        url("people:relationship_add", org, ana.pk),
        {"kind": "household_member", "to_contact": str(household.pk)},
        **HTMX,
    )

    # then
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="relationships"')
    assert "Member of household" in html
    assert "García household" in html
    assert Relationship.objects.filter(from_contact=ana, to_contact=household).exists()


def test_a_relationship_to_another_organizations_contact_is_refused_like_a_missing_one():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)
    foreign = make_contact(OrganizationFactory(), given_name="Foreign")

    # when
    foreign_response = client.post(
        url("people:relationship_add", org, ana.pk), {"kind": "parent_of", "to_contact": foreign.pk}
    )
    missing_response = client.post(
        url("people:relationship_add", org, ana.pk), {"kind": "parent_of", "to_contact": 999999}
    )

    # then
    assert foreign_response.status_code == missing_response.status_code == 200
    assert "Choose a contact of this organization." in foreign_response.content.decode()
    assert foreign_response.context["relationship_form"].errors == (
        missing_response.context["relationship_form"].errors
    )
    assert not Relationship.objects.exists()


def test_a_relationship_to_itself_shows_the_domain_error():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.post(
        url("people:relationship_add", org, ana.pk), {"kind": "parent_of", "to_contact": ana.pk}
    )

    # then
    assert "A contact cannot be related to itself." in response.content.decode()
    assert not Relationship.objects.exists()


def test_relationship_candidates_answer_htmx_with_the_matching_contacts_of_the_organization():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)
    make_contact(org, given_name="Pau", family_name="Roca")
    make_contact(org, given_name="Laia", family_name="Serra")
    make_contact(OrganizationFactory(), given_name="Pau", family_name="Foreign")

    # when
    partial = client.get(
        url("people:relationship_candidates", org, ana.pk), {"find": "pau"}, **HTMX
    )
    plain = client.get(url("people:relationship_candidates", org, ana.pk), {"find": "pau"})
    page = client.get(url("people:relationship_add", org, ana.pk), {"find": "pau"})

    # then
    html = partial.content.decode()
    assert html.strip().startswith('<select name="to_contact"')
    assert 'id="relationship-to_contact"' in html
    assert "Pau Roca" in html
    assert "Laia" not in html
    assert "Foreign" not in html
    assert plain.status_code == 302
    assert plain["Location"] == url("people:relationship_add", org, ana.pk) + "?find=pau"
    assert "Pau Roca" in page.content.decode()
    assert "Laia" not in page.content.decode()


# --- create and edit ----------------------------------------------------------------------


def test_create_page_renders_an_accessible_empty_form():
    # given
    client, membership = staff("volunteer_coordinator")

    # when
    response = client.get(url("people:contact_create", membership.organization))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    for field in (
        "id_given_name",
        "id_email_0",
        "id_email_2",
        "id_phone_0",
        "id_language",
        "id_country",
    ):
        assert f'<label for="{field}">' in html
    assert "<legend>Roles</legend>" in html
    assert 'value="ES"' in html  # the organization's country is the default


def test_creating_a_contact_normalizes_and_redirects_to_its_page():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization

    # when
    response = client.post(url("people:contact_create", org), contact_form_data())

    # then
    contact = Contact.objects.get(organization=org)
    assert response.status_code == 302
    assert response["Location"] == url("people:contact_detail", org, contact.pk)
    assert contact.name == "Núria Puig"
    assert [e.email for e in contact.emails.all()] == ["nuria@example.org"]
    assert [p.number for p in contact.phones.all()] == ["+34612345678"]
    assert sorted(ct.tag.name for ct in contact.contact_tags.all()) == ["newsletter", "vip"]
    assert sorted(r.role for r in contact.roles.all()) == ["donor", "volunteer"]
    assert (contact.language, contact.city, str(contact.birth_date)) == (
        "ca",
        "Barcelona",
        "1980-05-17",
    )


def test_creating_with_a_bad_email_and_phone_shows_field_errors_keeps_the_input_and_writes_nothing():
    # given
    client, membership = staff("fundraiser")
    org = membership.organization

    # when
    response = client.post(
        url("people:contact_create", org),
        contact_form_data(email_1="not-an-email", phone_0="12", given_name="Kept Name"),
    )

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert 'aria-invalid="true"' in html
    assert 'id="id_email_1_error"' in html
    assert 'aria-describedby="id_email_1_error"' in html
    assert 'id="id_phone_0_error"' in html
    assert "id_phone_0_helptext id_phone_0_error" in html
    assert 'id="id_email_0_error"' not in html  # the good address is not blamed
    assert 'value="not-an-email"' in html
    assert 'value="Kept Name"' in html
    assert 'href="#id_email_1"' in html  # the error summary links to the field
    assert not response.context["form"].non_field_errors()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"external_id": "CRM-1"}, "external_id", "Another contact already has this external id."),
        ({"country": "XX"}, "country", "An ISO 3166 country code such as “ES”."),
        ({"birth_date": "2999-01-01"}, "birth_date", "A date of birth cannot be in the future."),
    ],
)
def test_an_error_the_action_finds_is_shown_next_to_its_field(overrides, field, message):
    # given
    client, membership = staff("admin")
    org = membership.organization
    make_contact(org, external_id="CRM-1")

    # when
    response = client.post(url("people:contact_create", org), contact_form_data(**overrides))

    # then
    assert response.context["form"].errors[field] == [message]
    assert f'aria-describedby="id_{field}' in response.content.decode()
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Contact.objects.filter(organization=org).count() == 1


def test_a_person_needs_a_name():
    # given
    client, membership = staff("admin")

    # when
    response = client.post(
        url("people:contact_create", membership.organization),
        contact_form_data(given_name="", family_name="", name=""),
    )

    # then
    assert response.context["form"].errors["given_name"] == ["A contact needs a name."]
    assert not Contact.objects.exists()


def test_edit_form_shows_current_values_and_saves_changes():
    # given
    client, membership = staff("case_worker")
    org = membership.organization
    ana = make_contact(
        org, emails=["ana@example.org"], phones=["+34612345678"], tags=["vip"], roles=["donor"]
    )
    edit_url = url("people:contact_edit", org, ana.pk)

    # when
    form_html = client.get(edit_url).content.decode()
    response = client.post(
        edit_url,
        contact_form_data(
            given_name="Ana María",
            family_name="García",
            email_0="ana@example.org",
            email_1="ana.m@example.org",
            phone_0="+33 6 12 34 56 78",
            tags="",
            roles=["member"],
        ),
    )

    # then
    assert 'value="ana@example.org"' in form_html
    assert 'value="612 34 56 78"' in form_html  # stored E.164, shown for humans
    assert 'value="vip"' in form_html
    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.name == "Ana María García"
    assert [e.email for e in ana.emails.all()] == ["ana@example.org", "ana.m@example.org"]
    assert [p.number for p in ana.phones.all()] == ["+33612345678"]
    assert list(ana.contact_tags.all()) == []
    assert [r.role for r in ana.roles.all()] == ["member"]


def test_edit_keeps_more_emails_than_the_default_three():
    # given
    client, membership = staff("admin")
    org = membership.organization
    emails = [f"a{i}@example.org" for i in range(5)]
    ana = make_contact(org, emails=emails)
    edit_url = url("people:contact_edit", org, ana.pk)
    form = client.get(edit_url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["roles"] = []

    # when
    response = client.post(edit_url, data)

    # then
    assert len(form.email_names) == 6
    assert response.status_code == 302
    assert [e.email for e in ana.emails.all()] == emails


def test_editing_with_a_bad_phone_writes_nothing():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org, phones=["+34612345678"])

    # when
    response = client.post(
        url("people:contact_edit", org, ana.pk),
        contact_form_data(given_name="Changed", phone_1="abc"),
    )

    # then
    assert response.status_code == 200
    assert "id_phone_1_error" in response.content.decode()
    ana.refresh_from_db()
    assert ana.given_name == "Ana"
    assert [p.number for p in ana.phones.all()] == ["+34612345678"]


def test_a_viewer_cannot_edit_or_create():
    # given
    client, membership = staff("viewer")
    org = membership.organization
    ana = make_contact(org)

    # when
    edit = client.post(url("people:contact_edit", org, ana.pk), contact_form_data(given_name="X"))
    create = client.get(url("people:contact_create", org))

    # then
    assert edit.status_code == create.status_code == 403
    ana.refresh_from_db()
    assert ana.given_name == "Ana"


# --- privacy -------------------------------------------------------------------------------


def test_export_is_a_json_download_with_the_consents():
    # given
    client, membership = staff("admin")
    org = membership.organization
    make_purposes(org)
    ana = make_contact(org, emails=["ana@example.org"])
    make_consent(ana, purpose="newsletter", channel="email")

    # when
    response = client.get(url("people:contact_export", org, ana.pk))

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="contact-{ana.pk}.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["contact"]["emails"] == ["ana@example.org"]
    assert data["contact"]["family_name"] == "García"
    assert [(c["purpose"], c["channel"], c["granted"]) for c in data["consents"]] == [
        ("newsletter", "email", True)
    ]
    assert AuditEvent.objects.filter(
        code="people.contact.exported", subject_id=str(ana.pk)
    ).exists()


@pytest.mark.parametrize("role", ["fundraiser", "case_worker", "viewer"])
def test_only_admins_may_export_erase_or_delete(role):
    # given
    client, membership = staff(role)
    org = membership.organization
    ana = make_contact(org)

    # when
    responses = [
        client.get(url("people:contact_export", org, ana.pk)),
        client.get(url("people:contact_erase", org, ana.pk)),
        client.post(url("people:contact_erase", org, ana.pk)),
        client.post(url("people:contact_delete", org, ana.pk)),
    ]

    # then
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    ana.refresh_from_db()
    assert ana.erased_at is None


def test_erase_asks_first_explaining_what_is_removed_and_what_is_kept():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    response = client.get(url("people:contact_erase", org, ana.pk))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "What is removed" in html
    assert "What is kept" in html
    assert "Financial records" in html
    assert f'<form method="post" action="{url("people:contact_erase", org, ana.pk)}">' in html
    ana.refresh_from_db()
    assert ana.erased_at is None


def test_erasing_removes_personal_data_is_audited_and_redirects_with_a_message():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org, emails=["ana@example.org"], notes="Private")

    # when
    response = client.post(url("people:contact_erase", org, ana.pk), follow=True)

    # then
    ana.refresh_from_db()
    assert ana.erased_at is not None
    assert ana.name == f"Erased contact #{ana.pk}"
    assert not ContactEmail.objects.filter(contact=ana).exists()
    event = AuditEvent.objects.get(code="people.contact.erased")
    assert (event.subject_id, event.actor_id) == (str(ana.pk), membership.user.pk)
    assert response.redirect_chain == [(url("people:contact_detail", org, ana.pk), 302)]
    html = response.content.decode()
    assert "The personal data of this contact was erased." in html
    assert "ana@example.org" not in html
    assert url("people:contact_edit", org, ana.pk) not in html


def test_deleting_asks_first_then_deletes_and_goes_back_to_the_list():
    # given
    client, membership = staff("admin")
    org = membership.organization
    ana = make_contact(org)

    # when
    confirm = client.get(url("people:contact_delete", org, ana.pk))
    response = client.post(url("people:contact_delete", org, ana.pk))

    # then
    assert confirm.status_code == 200
    assert "erase their personal data instead" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == url("people:contact_list", org)
    assert not Contact.objects.filter(pk=ana.pk).exists()
    assert AuditEvent.objects.filter(code="people.contact.deleted", subject_id=str(ana.pk)).exists()


# --- tenancy: another organization's contacts answer exactly like missing ones --------------

CONTACT_PAGES = [
    ("people:contact_detail", "get"),
    ("people:contact_edit", "get"),
    ("people:contact_edit", "post"),
    ("people:activity_add", "get"),
    ("people:activity_add", "post"),
    ("people:relationship_add", "get"),
    ("people:relationship_add", "post"),
    ("people:relationship_candidates", "get"),
    ("people:contact_export", "get"),
    ("people:contact_erase", "get"),
    ("people:contact_erase", "post"),
    ("people:contact_delete", "get"),
    ("people:contact_delete", "post"),
    ("consent:record", "get"),
    ("consent:record", "post"),
    ("consent:history", "get"),
]
ORG_PAGES = [
    ("people:contact_list", "get"),
    ("people:contact_create", "get"),
    ("people:contact_create", "post"),
]

POSTED = {
    "people:contact_edit": contact_form_data(given_name="Intruder"),
    "people:activity_add": {"kind": "note", "subject": "Intruder"},
    "people:relationship_add": {"kind": "parent_of", "to_contact": "1"},
    "people:contact_create": contact_form_data(given_name="Intruder"),
    "consent:record": {
        "purpose": "newsletter",
        "channel": "email",
        "granted": "yes",
        "source": "intruder",
        "lawful_basis": "consent",
    },
}


def _request(client: Client, method: str, name: str, path: str, **headers: str):
    if method == "post":
        return client.post(path, POSTED.get(name, {}), **headers)
    return client.get(path, **headers)


@pytest.fixture
def two_orgs():
    """Org A with a beneficiary who has consents; an admin of org B (not a member of A)."""
    org_a = OrganizationFactory()
    make_purposes(org_a)
    victim = make_contact(
        org_a,
        given_name="Victim",
        family_name="Secret",
        roles=["beneficiary"],
        emails=["victim@example.org"],
    )
    make_consent(victim)
    client_b, membership_b = staff("admin")
    make_purposes(membership_b.organization)
    return org_a, victim, client_b, membership_b.organization


def _nothing_changed(org_a: Organization, victim: Contact) -> None:
    victim.refresh_from_db()
    assert victim.given_name == "Victim"
    assert victim.erased_at is None
    assert Contact.objects.filter(given_name="Intruder").count() == 0
    assert not Activity.objects.exists()
    assert not Relationship.objects.exists()
    assert victim.consent_events.count() == 1
    assert (
        not AuditEvent.objects.filter(organization=org_a, subject_id=str(victim.pk))
        .exclude(code__in=["people.contact.created", "consent.granted"])
        .exists()
    )


@pytest.mark.parametrize(("name", "method"), CONTACT_PAGES)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_staff_of_another_org_get_404_for_a_contact_id_through_their_own_urls(
    two_orgs, name, method, htmx
):
    # given
    org_a, victim, client_b, org_b = two_orgs
    headers = HTMX if htmx else {}

    # when
    foreign = _request(client_b, method, name, url(name, org_b, victim.pk), **headers)
    missing = _request(client_b, method, name, url(name, org_b, 999999), **headers)

    # then
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert b"Victim" not in foreign.content
    _nothing_changed(org_a, victim)


@pytest.mark.parametrize(("name", "method"), CONTACT_PAGES)
def test_staff_of_another_org_get_404_for_that_orgs_urls(two_orgs, name, method):
    # given
    org_a, victim, client_b, _org_b = two_orgs

    # when
    foreign = _request(client_b, method, name, url(name, org_a, victim.pk))
    missing_id = _request(client_b, method, name, url(name, org_a, 999999))
    missing_org = _request(client_b, method, name, reverse(name, args=["no-such-org", victim.pk]))

    # then
    assert foreign.status_code == missing_id.status_code == missing_org.status_code == 404
    assert foreign.content == missing_id.content == missing_org.content
    assert b"Victim" not in foreign.content
    _nothing_changed(org_a, victim)


@pytest.mark.parametrize(("name", "method"), ORG_PAGES)
def test_staff_of_another_org_get_404_for_that_orgs_list_and_create(two_orgs, name, method):
    # given
    org_a, victim, client_b, _org_b = two_orgs

    # when
    foreign = _request(client_b, method, name, url(name, org_a))
    missing = _request(client_b, method, name, reverse(name, args=["no-such-org"]))

    # then
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert b"Victim" not in foreign.content
    _nothing_changed(org_a, victim)


def test_anonymous_visitors_are_sent_to_log_in(two_orgs):
    # given
    org_a, victim, _client_b, _org_b = two_orgs

    # when
    response = Client().get(url("people:contact_detail", org_a, victim.pk))

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
