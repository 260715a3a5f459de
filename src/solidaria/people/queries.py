"""Reads of the people app: contact search and lists, a contact's timeline."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from solidaria.core.models import Organization
from solidaria.people.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactRole,
    ContactTag,
    Relationship,
    SearchTerm,
    Tag,
)
from solidaria.people.normalize import query_terms

# Upper bound for a prefix range scan: every term starting with `t` sorts below t + this.
_PREFIX_END = "\U0010ffff"


@dataclass(frozen=True)
class ContactFilters:
    q: str = ""
    kind: str = ""
    role: str = ""
    tag: str = ""
    language: str = ""
    include_erased: bool = False


def contacts_for(*, org: Organization, filters: ContactFilters) -> QuerySet[Contact]:
    """The organization's contacts matching the filters, sorted by family name.

    Each search word must prefix-match a word of the name, an email or a phone number,
    ignoring case and accents; a phone query matches with or without the country code.
    """
    contacts = Contact.objects.filter(organization=org)
    for term in query_terms(filters.q, region=org.country):
        matching = SearchTerm.objects.filter(
            organization=org, term__gte=term, term__lt=term + _PREFIX_END
        ).values("contact_id")
        contacts = contacts.filter(pk__in=matching)
    if filters.kind:
        contacts = contacts.filter(kind=filters.kind)
    if filters.role:
        contacts = contacts.filter(
            pk__in=ContactRole.objects.filter(organization=org, role=filters.role).values(
                "contact_id"
            )
        )
    if filters.tag:
        contacts = contacts.filter(
            pk__in=ContactTag.objects.filter(organization=org, tag__name=filters.tag).values(
                "contact_id"
            )
        )
    if filters.language:
        contacts = contacts.filter(language=filters.language)
    if not filters.include_erased:
        contacts = contacts.filter(erased_at__isnull=True)
    return contacts.order_by("sort_name", "id")


def _detail_prefetches() -> list[Prefetch]:
    return [
        Prefetch("emails", queryset=ContactEmail.objects.order_by("position", "id")),
        Prefetch("phones", queryset=ContactPhone.objects.order_by("position", "id")),
        Prefetch(
            "contact_tags", queryset=ContactTag.objects.select_related("tag").order_by("tag__name")
        ),
        Prefetch("roles", queryset=ContactRole.objects.order_by("role")),
    ]


def with_details(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Prefetch what a list row or API item shows, in a fixed number of queries."""
    return contacts.prefetch_related(*_detail_prefetches())


def load_details(contact: Contact) -> Contact:
    """The same details as `with_details`, for a contact already in hand (a detail page)."""
    prefetch_related_objects([contact], *_detail_prefetches())
    return contact


def tags_for(*, org: Organization) -> QuerySet[Tag]:
    return Tag.objects.filter(organization=org).order_by("name")


@dataclass(frozen=True)
class RelatedContact:
    """One relationship seen from a contact: `outgoing` reads "this contact <kind> other"."""

    relationship: Relationship
    other: Contact
    outgoing: bool


def relationships_for(*, contact: Contact) -> list[RelatedContact]:
    """The contact's relationships in both directions, in two queries."""
    outgoing = (
        Relationship.objects.filter(organization_id=contact.organization_id, from_contact=contact)
        .select_related("to_contact")
        .order_by("kind", "to_contact__sort_name", "id")
    )
    incoming = (
        Relationship.objects.filter(organization_id=contact.organization_id, to_contact=contact)
        .select_related("from_contact")
        .order_by("kind", "from_contact__sort_name", "id")
    )
    return [RelatedContact(r, r.to_contact, outgoing=True) for r in outgoing] + [
        RelatedContact(r, r.from_contact, outgoing=False) for r in incoming
    ]


def timeline_for(*, contact: Contact, limit: int = 50) -> list[Activity]:
    return list(
        Activity.objects.filter(organization_id=contact.organization_id, contact=contact)
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:limit]
    )
