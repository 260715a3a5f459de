"""The contacts API through HTTP: /api/v1/contacts, its search, export and erasure."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from solidaria.core.models import AuditEvent, Membership, Organization
from solidaria.core.roles import Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory, make_api_token
from solidaria.people.models import Contact, ContactEmail, ContactPhone, SearchTerm
from solidaria.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db
URL = "/api/v1/contacts"


def _staff(role: str = Role.ADMIN, org: Organization | None = None) -> tuple[Client, Membership]:
    membership = MembershipFactory(role=role, organization=org or OrganizationFactory())
    client = Client(headers={"Authorization": f"Bearer {make_api_token(membership)}"})
    return client, membership


def _post(client: Client, url: str, data: object):
    return client.post(url, data, content_type="application/json")


def _patch(client: Client, url: str, data: object):
    return client.patch(url, data, content_type="application/json")


def _fields(response) -> dict[str, list[str]]:
    """The 422 body as {field: [messages]}."""
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for error in response.json()["detail"]:
        assert error["loc"][0] == "body"
        found.setdefault(error["loc"][1] if len(error["loc"]) > 1 else "", []).append(error["msg"])
    return found


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# --- create, read, update, delete ---------------------------------------------------------


def test_create_contact_normalizes_and_answers_201_with_the_resource():
    # given
    client, membership = _staff()

    # when
    response = _post(
        client,
        URL,
        {
            "given_name": "  Ana ",
            "family_name": "García  Núñez",
            "emails": ["Ana.Garcia@Example.ORG", "ana.garcia@example.org"],
            "phones": ["612 34 56 78"],
            "language": "ES",
            "tags": ["donor 2024", "  newsletter "],
            "roles": ["donor", "volunteer"],
            "external_id": "crm-1",
            "preferred_channel": "email",
            "city": "Madrid",
            "country": "es",
            "birth_date": "1980-02-29",
        },
    )

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "person"
    assert (body["given_name"], body["family_name"], body["name"]) == (
        "Ana",
        "García Núñez",
        "Ana García Núñez",
    )
    assert body["emails"] == ["ana.garcia@example.org"]
    assert body["phones"] == ["+34612345678"]
    assert (body["language"], body["country"], body["birth_date"]) == ("es", "ES", "1980-02-29")
    assert body["tags"] == ["donor 2024", "newsletter"]
    assert body["roles"] == ["donor", "volunteer"]
    assert (body["external_id"], body["preferred_channel"], body["erased"]) == (
        "crm-1",
        "email",
        False,
    )
    contact = Contact.objects.get(pk=body["id"])
    assert contact.organization == membership.organization
    event = AuditEvent.objects.get(code="people.contact.created", subject_id=str(contact.pk))
    assert (event.actor, event.via) == (membership.user, "api")


def test_an_organization_needs_its_name_and_gets_no_person_name_parts():
    # given
    client, _ = _staff()

    # when
    without_name = _post(client, URL, {"kind": "organization"})
    with_name = _post(client, URL, {"kind": "household", "name": "The García household"})

    # then
    assert "name" in _fields(without_name)
    assert with_name.status_code == 201
    assert with_name.json()["name"] == "The García household"


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("ES", "612 34 56 78", "+34612345678"),
        ("ES", "+34 612-345-678", "+34612345678"),
        ("ES", "0034 612 345 678", "+34612345678"),
        ("GB", "07911 123456", "+447911123456"),
        ("US", "(201) 555-0123", "+12015550123"),
        ("GB", "+34 612 34 56 78", "+34612345678"),
        ("MA", "0612-345678", "+212612345678"),
    ],
)
def test_phones_are_stored_in_e164_reading_national_numbers_in_the_organization_country(
    country, typed, stored
):
    # given
    client, _ = _staff(org=OrganizationFactory(country=country))

    # when
    response = _post(client, URL, {"given_name": "Ana", "phones": [typed]})

    # then
    assert response.status_code == 201, response.content
    assert response.json()["phones"] == [stored]
    assert list(ContactPhone.objects.values_list("number", flat=True)) == [stored]


def test_the_longest_given_and_family_names_still_fit_the_display_name():
    client, _ = _staff()
    response = _post(client, URL, {"given_name": "A" * 100, "family_name": "B" * 100})
    assert response.status_code == 201
    body = response.json()
    assert (len(body["given_name"]), len(body["family_name"]), len(body["name"])) == (100, 100, 200)


def test_get_contact_returns_the_same_shape_as_create():
    # given
    client, _ = _staff()
    created = _post(client, URL, {"given_name": "Ana", "emails": ["ana@example.org"]}).json()

    # when
    response = client.get(f"{URL}/{created['id']}")

    # then
    assert response.status_code == 200
    assert response.json() == created


def test_reading_a_beneficiary_is_audited_and_reading_others_is_not():
    # given
    client, membership = _staff(role=Role.CASE_WORKER)
    beneficiary = make_contact(membership.organization, roles=["beneficiary"])
    donor = make_contact(membership.organization, given_name="Bea", roles=["donor"])

    # when
    client.get(f"{URL}/{beneficiary.pk}")
    client.get(f"{URL}/{donor.pk}")

    # then
    [event] = AuditEvent.objects.filter(code="people.contact.viewed")
    assert (event.subject_id, event.actor, event.via) == (
        str(beneficiary.pk),
        membership.user,
        "api",
    )


def test_patch_changes_only_the_fields_sent_and_lists_replace_whole():
    # given
    client, membership = _staff()
    contact = make_contact(
        membership.organization,
        emails=["ana@example.org", "old@example.org"],
        phones=["612345678"],
        tags=["a", "b"],
        city="Madrid",
        preferred_channel="sms",
    )

    # when
    response = _patch(
        client,
        f"{URL}/{contact.pk}",
        {
            "family_name": "López",
            "emails": ["new@example.org"],
            "tags": [],
            "preferred_channel": None,
        },
    )

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["given_name"], body["family_name"], body["name"]) == ("Ana", "López", "Ana López")
    assert body["emails"] == ["new@example.org"]
    assert body["phones"] == ["+34612345678"]
    assert body["tags"] == []
    assert body["city"] == "Madrid"
    assert body["preferred_channel"] is None
    event = AuditEvent.objects.get(code="people.contact.updated")
    assert event.extra == {"fields": ["emails", "family_name", "name", "preferred_channel", "tags"]}


def test_patch_keeps_search_words_in_step():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization, family_name="García")

    # when
    _patch(client, f"{URL}/{contact.pk}", {"family_name": "Okafor"})

    # then
    assert _ids(client.get(URL, {"q": "okafor"})) == [contact.pk]
    assert _ids(client.get(URL, {"q": "garcia"})) == []


def test_delete_contact_answers_204_then_404():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization, emails=["ana@example.org"])

    # when
    response = client.delete(f"{URL}/{contact.pk}")

    # then
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"{URL}/{contact.pk}").status_code == 404
    assert not ContactEmail.objects.exists()
    assert not SearchTerm.objects.exists()
    assert AuditEvent.objects.filter(code="people.contact.deleted").count() == 1


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"given_name": "Ana", "emails": ["not-an-email"]}, "emails"),
        ({"given_name": "Ana", "emails": ["ana@"]}, "emails"),
        ({"given_name": "Ana", "phones": ["12"]}, "phones"),
        ({"given_name": "Ana", "phones": ["+34 123"]}, "phones"),
        ({"given_name": "Ana", "phones": ["call me"]}, "phones"),
        ({"given_name": "Ana", "kind": "robot"}, "kind"),
        ({"given_name": "Ana", "roles": ["king"]}, "roles"),
        ({"given_name": "Ana", "preferred_channel": "pigeon"}, "preferred_channel"),
        ({"given_name": "Ana", "language": "Spanish"}, "language"),
        ({"given_name": "Ana", "country": "XX"}, "country"),
        ({"given_name": "Ana", "birth_date": "1980-13-01"}, "birth_date"),
        ({"given_name": "Ana", "birth_date": "2999-01-01"}, "birth_date"),
        ({"given_name": "A" * 101}, "given_name"),
        ({"given_name": "Ana", "emails": "ana@example.org"}, "emails"),
        ({"given_name": "Ana", "email": "ana@example.org"}, "email"),
        ({"given_name": "Ana\x00"}, "given_name"),
        ({"given_name": "Ana", "tags": ["\ud800"]}, "tags"),
        ({"family_name": ""}, "given_name"),
    ],
)
def test_bad_contact_input_is_422_naming_the_field_and_writes_nothing(data, field):
    # given
    client, _ = _staff()

    # when
    response = _post(client, URL, data)

    # then
    errors = _fields(response)
    assert field in errors
    assert all(isinstance(message, str) and message for message in errors[field])
    assert not Contact.objects.exists()


def test_every_bad_field_is_reported_at_once():
    # given
    client, _ = _staff()

    # when
    response = _post(
        client, URL, {"given_name": "Ana", "emails": ["a@", "b@"], "phones": ["1"], "country": "ZZ"}
    )

    # then
    errors = _fields(response)
    assert len(errors["emails"]) == 2
    assert set(errors) == {"emails", "phones", "country"}


def test_a_taken_external_id_is_422_and_a_failed_patch_changes_nothing():
    # given
    client, membership = _staff()
    make_contact(membership.organization, external_id="crm-1")
    other = make_contact(membership.organization, given_name="Bea", emails=["bea@example.org"])

    # when
    create = _post(client, URL, {"given_name": "Ana", "external_id": "crm-1"})
    patch = _patch(
        client,
        f"{URL}/{other.pk}",
        {"emails": ["carla@example.org"], "given_name": "Carla", "external_id": "crm-1"},
    )

    # then
    assert "external_id" in _fields(create)
    assert "external_id" in _fields(patch)
    other.refresh_from_db()
    assert other.given_name == "Bea"
    assert list(other.emails.values_list("email", flat=True)) == ["bea@example.org"]


def test_losing_a_uniqueness_race_is_409_and_writes_nothing(monkeypatch):
    # given: another request took the external id between our check and our insert
    client, membership = _staff()
    make_contact(membership.organization, external_id="crm-1")
    monkeypatch.setattr("solidaria.people.actions._check_external_id", lambda *args: None)
    before = (Contact.objects.count(), AuditEvent.objects.count())

    # when
    response = _post(client, URL, {"given_name": "Bea", "external_id": "crm-1", "tags": ["x"]})

    # then
    assert response.status_code == 409
    assert isinstance(response.json()["detail"], str)
    assert (Contact.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize("body", [b"{", b"not json", b"\xff\xfe", b'{"a": NaN'])
def test_a_body_that_is_not_json_is_400_json(body):
    # given
    client, _ = _staff()

    # when
    response = client.post(URL, body, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("body", ["[]", "1", '"text"', "null", ""])
def test_a_body_that_is_not_a_json_object_is_422(body):
    client, _ = _staff()
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


@pytest.mark.parametrize(
    ("contact_id", "status"),
    [("abc", 422), ("1.5", 422), ("-1", 404), ("0", 404), (str(2**63), 404), ("9" * 40, 404)],
)
def test_odd_ids_are_422_or_404_never_500(contact_id, status):
    client, _ = _staff()
    response = client.get(f"{URL}/{contact_id}")
    assert response.status_code == status
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 201},
        {"limit": 0},
        {"limit": "many"},
        {"limit": "9" * 40},
        {"offset": -1},
        {"offset": "9" * 40},
        {"kind": "robot"},
        {"role": "king"},
        {"q": "x" * 201},
        {"q": "ana\x00"},
        {"include_erased": "perhaps"},
    ],
)
def test_bad_list_parameters_are_422(params):
    client, _ = _staff()
    response = client.get(URL, params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


# --- list, search, pagination -------------------------------------------------------------


def test_list_pages_through_contacts_sorted_by_family_name_with_the_total_count():
    # given
    client, membership = _staff()
    org = membership.organization
    names = ["Zapata", "Álvarez", "Bermúdez", "Castro", "Durán"]
    by_name = {name: make_contact(org, family_name=name).pk for name in names}
    order = [by_name[name] for name in ["Álvarez", "Bermúdez", "Castro", "Durán", "Zapata"]]

    # when
    first = client.get(URL, {"limit": 2})
    second = client.get(URL, {"limit": 2, "offset": 2})
    past_the_end = client.get(URL, {"limit": 2, "offset": 10})

    # then
    assert _ids(first) == order[:2]
    assert _ids(second) == order[2:4]
    assert _ids(past_the_end) == []
    assert {first.json()["count"], second.json()["count"], past_the_end.json()["count"]} == {5}


def test_list_answers_50_by_default_and_up_to_200_on_request():
    # given
    client, membership = _staff()
    org = membership.organization
    Contact.objects.bulk_create(
        Contact(organization=org, name=f"Contact {i:03}", sort_name=f"contact {i:03}")
        for i in range(51)
    )

    # when
    default = client.get(URL)
    most = client.get(URL, {"limit": 200})
    too_many = client.get(URL, {"limit": 201})

    # then
    assert len(_ids(default)) == 50
    assert len(_ids(most)) == 51
    assert default.json()["count"] == most.json()["count"] == 51
    assert too_many.status_code == 422


def test_list_query_count_does_not_grow_with_the_number_of_contacts(
    django_assert_max_num_queries,
):
    # given
    client, membership = _staff()
    org = membership.organization
    client.get(URL)  # the token's last use is written once a minute; take that write now

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    make_contact(org, emails=["a@example.org"], phones=["612345678"], tags=["x"], roles=["donor"])
    with_one = queries_for_list()
    for i in range(12):
        make_contact(
            org,
            given_name=f"Ana{i}",
            emails=[f"a{i}@example.org", f"b{i}@example.org"],
            phones=[f"61234567{i % 10}"],
            tags=["x", f"t{i}"],
            roles=["donor", "member"],
        )

    # when / then: auth (token, membership), count, page, and one query per prefetched list
    with django_assert_max_num_queries(8):
        response = client.get(URL)
    assert len(_ids(response)) == 13
    assert queries_for_list() == with_one
    item = response.json()["items"][0]
    assert item["emails"]
    assert item["tags"]
    assert item["roles"]


@pytest.mark.parametrize("query", ["garcia", "GARC", "garcía", "García", "ana garc", "Garcia Ana"])
def test_search_ignores_case_and_accents(query):
    # given
    client, membership = _staff()
    org = membership.organization
    garcia = make_contact(org, given_name="Ana", family_name="García")
    make_contact(org, given_name="Bea", family_name="Gómez")

    # when / then
    assert _ids(client.get(URL, {"q": query})) == [garcia.pk]


def test_search_folds_accents_stored_in_the_names_too():
    client, membership = _staff()
    nunez = make_contact(membership.organization, given_name="josé", family_name="NÚÑEZ")
    assert _ids(client.get(URL, {"q": "Jose Nunez"})) == [nunez.pk]
    assert _ids(client.get(URL, {"q": "núñ"})) == [nunez.pk]


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("محمد", "محمد"),
        ("مُحَمَّد", "محمد"),
        ("محمد", "مُحَمَّد"),
        ("أحمد", "احمد"),
        ("فاطمة", "فاطمه"),
        ("محمد", "مح"),
    ],
)
def test_arabic_names_are_found_without_diacritics_or_alef_variants(stored, query):
    # given
    client, membership = _staff(org=OrganizationFactory(country="MA"))
    found = make_contact(membership.organization, given_name=stored, family_name="")
    make_contact(membership.organization, given_name="Ana", family_name="García")

    # when / then
    assert _ids(client.get(URL, {"q": query})) == [found.pk]


@pytest.mark.parametrize("query", ["ana.garcia@", "ana.garcia@example", "ana.gar", "ANA.GARCIA"])
def test_search_by_email_prefix(query):
    client, membership = _staff()
    ana = make_contact(membership.organization, given_name="Bea", emails=["ana.garcia@example.org"])
    make_contact(membership.organization, given_name="Carla", emails=["carla@example.org"])
    assert _ids(client.get(URL, {"q": query})) == [ana.pk]


@pytest.mark.parametrize(
    "query", ["612345678", "612 34 56 78", "+34 612 345 678", "0034612345678", "34612", "6123"]
)
def test_search_by_phone_with_or_without_country_code(query):
    client, membership = _staff()
    ana = make_contact(membership.organization, phones=["+34 612 34 56 78"])
    make_contact(membership.organization, given_name="Bea", phones=["+34 699 00 00 00"])
    assert _ids(client.get(URL, {"q": query})) == [ana.pk]


def test_filters_by_tag_kind_role_and_language():
    # given
    client, membership = _staff()
    org = membership.organization
    ana = make_contact(org, tags=["board"], roles=["member"], language="es")
    bea = make_contact(org, given_name="Bea", tags=["board"], roles=["donor"], language="ar")
    coop = make_contact(org, kind="organization", name="Coop", language="es")

    # when / then
    assert _ids(client.get(URL, {"tag": "board"})) == [ana.pk, bea.pk]
    assert _ids(client.get(URL, {"tag": "boa"})) == []
    assert _ids(client.get(URL, {"kind": "organization"})) == [coop.pk]
    assert _ids(client.get(URL, {"role": "donor"})) == [bea.pk]
    assert _ids(client.get(URL, {"language": "es", "tag": "board"})) == [ana.pk]
    assert client.get(URL, {"language": "es"}).json()["count"] == 2


# --- export and erasure -------------------------------------------------------------------


def test_export_returns_everything_held_and_is_audited():
    # given
    client, membership = _staff()
    contact = make_contact(
        membership.organization, emails=["ana@example.org"], notes="Prefers mornings."
    )

    # when
    response = client.get(f"{URL}/{contact.pk}/export")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["format"] == "solidaria.contact-export/1"
    assert body["contact"]["id"] == contact.pk
    assert body["contact"]["emails"] == ["ana@example.org"]
    assert body["contact"]["notes"] == "Prefers mornings."
    event = AuditEvent.objects.get(code="people.contact.exported")
    assert (event.subject_id, event.actor, event.via) == (str(contact.pk), membership.user, "api")


def test_erase_de_identifies_keeps_the_row_and_is_idempotent():
    # given
    client, membership = _staff()
    org = membership.organization
    contact = make_contact(
        org,
        emails=["ana@example.org"],
        phones=["612345678"],
        notes="Lives with her sister.",
        street="Calle Mayor 1",
        tags=["donor"],
        external_id="crm-1",
        birth_date="1980-01-01",
    )

    # when
    first = client.post(f"{URL}/{contact.pk}/erase")
    second = client.post(f"{URL}/{contact.pk}/erase")

    # then
    assert first.status_code == second.status_code == 200
    body = second.json()
    assert body["erased"] is True
    assert body["id"] == contact.pk
    assert (body["given_name"], body["family_name"]) == ("", "")
    assert "Ana" not in body["name"]
    assert body["emails"] == body["phones"] == body["tags"] == []
    assert (body["notes"], body["street"], body["external_id"], body["birth_date"]) == (
        "",
        "",
        "",
        None,
    )
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert not SearchTerm.objects.filter(contact=contact).exists()
    events = AuditEvent.objects.filter(code="people.contact.erased", subject_id=str(contact.pk))
    assert events.count() == 2
    assert {(e.actor, e.via) for e in events} == {(membership.user, "api")}


def test_erased_contacts_leave_lists_and_cannot_be_changed():
    # given
    client, membership = _staff()
    contact = make_contact(membership.organization)
    client.post(f"{URL}/{contact.pk}/erase")

    # when
    listed = client.get(URL)
    listed_with_erased = client.get(URL, {"include_erased": "true"})
    searched = client.get(URL, {"q": "garcia", "include_erased": "true"})
    patched = _patch(client, f"{URL}/{contact.pk}", {"given_name": "Ana"})

    # then
    assert _ids(listed) == []
    assert _ids(listed_with_erased) == [contact.pk]
    assert _ids(searched) == []
    assert patched.status_code == 422
    assert client.get(f"{URL}/{contact.pk}").json()["given_name"] == ""


@pytest.mark.parametrize(
    ("role", "method", "path", "status"),
    [
        (Role.VIEWER, "post", "", 403),
        (Role.TREASURER, "post", "", 403),
        (Role.FUNDRAISER, "post", "", 201),
        (Role.VIEWER, "patch", "/{id}", 403),
        (Role.CASE_WORKER, "patch", "/{id}", 200),
        (Role.FUNDRAISER, "delete", "/{id}", 403),
        (Role.FUNDRAISER, "get", "/{id}/export", 403),
        (Role.FUNDRAISER, "post", "/{id}/erase", 403),
        (Role.COMMUNICATIONS, "post", "/{id}/erase", 403),
        (Role.VIEWER, "get", "/{id}", 200),
        (Role.VIEWER, "get", "", 200),
    ],
)
def test_roles_decide_who_may_write_export_and_erase(role, method, path, status):
    # given
    client, membership = _staff(role=role)
    contact = make_contact(membership.organization)
    before = AuditEvent.objects.count()

    # when
    data = {"given_name": "Bea"} if method in {"post", "patch"} else None
    response = getattr(client, method)(
        URL + path.format(id=contact.pk), data, content_type="application/json"
    )

    # then
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json() == {"detail": "Your role does not allow this."}
        assert AuditEvent.objects.count() == before
        contact.refresh_from_db()
        assert (contact.given_name, contact.erased_at) == ("Ana", None)
