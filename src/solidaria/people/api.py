"""The contacts API: /contacts, /contacts/{id}, and a person's export and erasure."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from solidaria.core.api import Input, caller_for, errors
from solidaria.people import actions, queries
from solidaria.people.access import contact_for
from solidaria.people.models import Channel, Contact, ContactKind, ContactRoleKind

router = Router(tags=["contacts"])

# Bounds that keep one request cheap; the domain checks each value.
_MAX_ITEMS = 50


class ContactIn(Input):
    """A contact's fields. On PATCH only the fields sent change, and a list sent replaces
    the whole list. A person's `name` is made from `given_name` and `family_name`."""

    kind: ContactKind = ContactKind.PERSON
    given_name: str = Field("", examples=["Ana"])
    family_name: str = Field("", examples=["García"])
    name: str = Field("", description="Required for an organization or household.")
    emails: list[str] = Field(
        [],
        max_length=_MAX_ITEMS,
        description="The first is the primary.",
        examples=[["ana.garcia@example.org"]],
    )
    phones: list[str] = Field(
        [],
        max_length=_MAX_ITEMS,
        description="Any common format; national numbers are read in the organization's "
        "country. Stored and returned as E.164.",
        examples=[["+34 612 34 56 78"]],
    )
    language: str = Field("", description="ISO 639-1 code.", examples=["es"])
    tags: list[str] = Field([], max_length=_MAX_ITEMS)
    roles: list[ContactRoleKind] = Field([], max_length=len(ContactRoleKind.values))
    external_id: str = Field("", description="Your own id for the contact, unique if given.")
    preferred_channel: Channel | None = None
    street: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    country: str = Field("", description="ISO 3166-1 alpha-2 code.", examples=["ES"])
    birth_date: datetime.date | None = None
    notes: str = ""


class ContactOut(Schema):
    id: int
    kind: ContactKind
    given_name: str
    family_name: str
    name: str
    emails: list[str]
    phones: list[str] = Field(description="E.164")
    language: str
    tags: list[str]
    roles: list[ContactRoleKind]
    external_id: str
    preferred_channel: Channel | None
    street: str
    postal_code: str
    city: str
    region: str
    country: str
    birth_date: datetime.date | None
    notes: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    erased: bool

    @staticmethod
    def resolve_emails(contact: Contact) -> list[str]:
        return [row.email for row in contact.emails.all()]

    @staticmethod
    def resolve_phones(contact: Contact) -> list[str]:
        return [row.number for row in contact.phones.all()]

    @staticmethod
    def resolve_tags(contact: Contact) -> list[str]:
        return [row.tag.name for row in contact.contact_tags.all()]

    @staticmethod
    def resolve_roles(contact: Contact) -> list[str]:
        return [row.role for row in contact.roles.all()]

    @staticmethod
    def resolve_preferred_channel(contact: Contact) -> str | None:
        return contact.preferred_channel or None

    @staticmethod
    def resolve_erased(contact: Contact) -> bool:
        return contact.erased_at is not None


class ContactQuery(Input):
    q: str = Field(
        "",
        max_length=200,
        description="Words that start a name, an email or a phone number (with or without "
        "the country code), ignoring case and accents.",
    )
    kind: ContactKind | None = None
    role: ContactRoleKind | None = None
    tag: str = Field("", max_length=60, description="A tag's exact name.")
    language: str = Field("", max_length=8)
    include_erased: bool = False
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class ContactPage(Schema):
    items: list[ContactOut]
    count: int = Field(description="How many contacts match, across all pages.")


@router.post("/contacts", response={201: ContactOut, **errors(400, 401, 403, 409, 422)})
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[Contact]:
    """Create a contact."""
    who = caller_for(request, "contacts.edit")
    contact = actions.create_contact(
        org=who.org, actor=who.actor, **payload.model_dump(exclude_unset=True)
    )
    return Status(201, contact)


@router.get("/contacts", response={200: ContactPage, **errors(400, 401, 403, 422)})
def list_contacts(request: HttpRequest, params: Query[ContactQuery]) -> dict[str, Any]:
    """The organization's contacts, sorted by family name; erased ones only on request."""
    who = caller_for(request, "contacts.view")
    filters = queries.ContactFilters(
        q=params.q,
        kind=params.kind or "",
        role=params.role or "",
        tag=params.tag,
        language=params.language,
        include_erased=params.include_erased,
    )
    contacts = queries.contacts_for(org=who.org, filters=filters)
    page = queries.with_details(contacts)[params.offset : params.offset + params.limit]
    return {"items": list(page), "count": contacts.count()}


@router.get("/contacts/{id}", response={200: ContactOut, **errors(401, 403, 404, 422)})
def get_contact(request: HttpRequest, id: int) -> Contact:
    """One contact. Reading a sensitive record (a beneficiary's) is audited."""
    who = caller_for(request, "contacts.view")
    contact = contact_for(org=who.org, contact_id=id)
    return actions.view_contact(org=who.org, actor=who.actor, contact=contact)


@router.patch("/contacts/{id}", response={200: ContactOut, **errors(400, 401, 403, 404, 409, 422)})
def update_contact(request: HttpRequest, id: int, payload: ContactIn) -> Contact:
    """Change the fields sent; a list sent replaces the whole list."""
    who = caller_for(request, "contacts.edit")
    contact = contact_for(org=who.org, contact_id=id)
    return actions.update_contact(
        org=who.org, actor=who.actor, contact=contact, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/contacts/{id}", response={204: None, **errors(401, 403, 404, 409, 422)})
def delete_contact(request: HttpRequest, id: int) -> Status[None]:
    """Delete a contact and all that hangs off it. To honour a GDPR request, erase instead."""
    who = caller_for(request, "contacts.delete")
    contact = contact_for(org=who.org, contact_id=id)
    actions.delete_contact(org=who.org, actor=who.actor, contact=contact)
    return Status(204, None)


@router.get("/contacts/{id}/export", response={200: dict[str, Any], **errors(401, 403, 404, 422)})
def export_contact(request: HttpRequest, id: int) -> dict[str, Any]:
    """Everything held about the contact (GDPR access and portability), as JSON. Audited."""
    who = caller_for(request, "privacy.export")
    contact = contact_for(org=who.org, contact_id=id)
    return actions.export_contact(org=who.org, actor=who.actor, contact=contact)


@router.post("/contacts/{id}/erase", response={200: ContactOut, **errors(401, 403, 404, 409, 422)})
def erase_contact(request: HttpRequest, id: int) -> Contact:
    """Erase the contact's personal data (GDPR art. 17). The de-identified row stays, so
    records the law requires keep their link; consent events stay as proof. Idempotent."""
    who = caller_for(request, "privacy.erase")
    contact = contact_for(org=who.org, contact_id=id)
    return actions.erase_contact(org=who.org, actor=who.actor, contact=contact)
