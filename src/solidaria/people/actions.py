"""Writes of the people app: contacts, their details, timeline, export and erasure."""

import datetime
import re
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Invalid
from solidaria.core.models import Organization
from solidaria.people import registry
from solidaria.people.models import (
    Activity,
    Channel,
    Contact,
    ContactEmail,
    ContactKind,
    ContactPhone,
    ContactRole,
    ContactRoleKind,
    ContactTag,
    Relationship,
    RelationshipKind,
    SearchTerm,
    Tag,
)
from solidaria.people.normalize import (
    clean_spaces,
    fold,
    normalize_email,
    normalize_phone,
    search_terms,
)
from solidaria.people.queries import load_details

_TEXT_FIELDS = {
    "given_name": 100,
    "family_name": 100,
    "name": 200,
    "street": 200,
    "postal_code": 20,
    "city": 100,
    "region": 100,
    "external_id": 100,
}
CONTACT_FIELDS = frozenset(
    {
        *_TEXT_FIELDS,
        "kind",
        "emails",
        "phones",
        "language",
        "preferred_channel",
        "country",
        "birth_date",
        "notes",
        "tags",
        "roles",
    }
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)


def _clean(org: Organization, data: dict[str, Any], *, current: Contact | None) -> dict[str, Any]:
    """Validate and normalize contact fields; raises Invalid listing every bad field."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    unknown = set(data) - CONTACT_FIELDS
    for field in sorted(unknown):
        errors[field] = [_("Unknown field.")]
    for field, limit in _TEXT_FIELDS.items():
        if field in data:
            value = clean_spaces(str(data[field] or ""))
            if len(value) > limit:
                errors[field] = [_("At most %(limit)d characters.") % {"limit": limit}]
            clean[field] = value
    if "notes" in data:
        clean["notes"] = str(data["notes"] or "").strip()
    if "kind" in data:
        if data["kind"] not in ContactKind.values:
            errors["kind"] = [
                _("One of: %(choices)s.") % {"choices": ", ".join(ContactKind.values)}
            ]
        clean["kind"] = data["kind"]
    if "language" in data:
        language = str(data["language"] or "").strip().lower()
        if language and not _LANGUAGE.match(language):
            errors["language"] = [_("An ISO 639 language code such as “es” or “ar”.")]
        clean["language"] = language
    if "preferred_channel" in data:
        channel = data["preferred_channel"] or ""
        if channel and channel not in Channel.values:
            errors["preferred_channel"] = [
                _("One of: %(choices)s.") % {"choices": ", ".join(Channel.values)}
            ]
        clean["preferred_channel"] = channel
    if "country" in data:
        country = str(data["country"] or "").strip().upper()
        if country and country not in _COUNTRIES:
            errors["country"] = [_("An ISO 3166 country code such as “ES”.")]
        clean["country"] = country
    if "birth_date" in data:
        birth_date = data["birth_date"]
        if isinstance(birth_date, str):
            try:
                birth_date = datetime.date.fromisoformat(birth_date) if birth_date else None
            except ValueError:
                errors["birth_date"] = [_("A date as YYYY-MM-DD.")]
                birth_date = None
        if birth_date and birth_date > timezone.localdate():
            errors["birth_date"] = [_("A date of birth cannot be in the future.")]
        clean["birth_date"] = birth_date
    if "emails" in data:
        emails: list[str] = []
        for raw in data["emails"] or []:
            if not str(raw).strip():
                continue
            try:
                email = normalize_email(str(raw))
            except ValueError:
                errors.setdefault("emails", []).append(
                    _("“%(value)s” is not a valid email address.") % {"value": raw}
                )
                continue
            if email not in emails:
                emails.append(email)
        clean["emails"] = emails
    if "phones" in data:
        phones: list[str] = []
        for raw in data["phones"] or []:
            if not str(raw).strip():
                continue
            try:
                phone = normalize_phone(str(raw), region=org.country)
            except ValueError:
                errors.setdefault("phones", []).append(
                    _("“%(value)s” is not a valid phone number.") % {"value": raw}
                )
                continue
            if phone not in phones:
                phones.append(phone)
        clean["phones"] = phones
    if "tags" in data:
        tags: list[str] = []
        for raw in data["tags"] or []:
            tag = clean_spaces(str(raw))[:60]
            if tag and tag not in tags:
                tags.append(tag)
        clean["tags"] = tags
    if "roles" in data:
        roles = list(dict.fromkeys(data["roles"] or []))
        bad = [role for role in roles if role not in ContactRoleKind.values]
        if bad:
            errors["roles"] = [
                _("One of: %(choices)s.") % {"choices": ", ".join(ContactRoleKind.values)}
            ]
        clean["roles"] = roles

    kind = clean.get("kind", current.kind if current else ContactKind.PERSON)
    given = clean.get("given_name", current.given_name if current else "")
    family = clean.get("family_name", current.family_name if current else "")
    name = clean.get("name", "" if current is None else None)
    if kind == ContactKind.PERSON and ("given_name" in clean or "family_name" in clean or not name):
        # Two full-length parts make 201 characters, one more than the column holds.
        name = clean_spaces(f"{given} {family}")[:200] or (name or "")
    if name is not None:
        clean["name"] = name
    final_name = name if name is not None else (current.name if current else "")
    if not final_name:
        field = "given_name" if kind == ContactKind.PERSON else "name"
        errors.setdefault(field, []).append(_("A contact needs a name."))
    if errors:
        first_field = next(iter(errors))
        raise Invalid(errors[first_field][0], field=first_field, errors=errors)
    return clean


def sort_name_for(contact: Contact) -> str:
    if contact.kind == ContactKind.PERSON and contact.family_name:
        return fold(f"{contact.family_name} {contact.given_name}")[:200]
    return fold(contact.name)[:200]


def _set_emails(contact: Contact, emails: list[str]) -> None:
    ContactEmail.objects.filter(contact=contact).delete()
    ContactEmail.objects.bulk_create(
        ContactEmail(organization_id=contact.organization_id, contact=contact, email=e, position=i)
        for i, e in enumerate(emails)
    )


def _set_phones(contact: Contact, phones: list[str]) -> None:
    ContactPhone.objects.filter(contact=contact).delete()
    ContactPhone.objects.bulk_create(
        ContactPhone(organization_id=contact.organization_id, contact=contact, number=p, position=i)
        for i, p in enumerate(phones)
    )


def tags_by_name(org: Organization, names: Iterable[str]) -> dict[str, Tag]:
    """The organization's tags with these names, creating the missing ones."""
    names = list(dict.fromkeys(names))
    found = {tag.name: tag for tag in Tag.objects.filter(organization=org, name__in=names)}
    missing = [Tag(organization=org, name=name) for name in names if name not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        found = {tag.name: tag for tag in Tag.objects.filter(organization=org, name__in=names)}
    return found


def _set_tags(contact: Contact, names: list[str]) -> None:
    ContactTag.objects.filter(contact=contact).delete()
    tags = tags_by_name(contact.organization, names)
    ContactTag.objects.bulk_create(
        ContactTag(organization_id=contact.organization_id, contact=contact, tag=tags[name])
        for name in names
    )


def _set_roles(contact: Contact, roles: list[str]) -> None:
    ContactRole.objects.filter(contact=contact).exclude(role__in=roles).delete()
    existing = set(ContactRole.objects.filter(contact=contact).values_list("role", flat=True))
    ContactRole.objects.bulk_create(
        ContactRole(organization_id=contact.organization_id, contact=contact, role=role)
        for role in roles
        if role not in existing
    )


def search_rows(contact: Contact, emails: list[str], phones: list[str]) -> list[SearchTerm]:
    """The SearchTerm rows for a contact (for bulk loaders that write many contacts at once)."""
    terms = search_terms(
        names=[contact.name, contact.given_name, contact.family_name], emails=emails, phones=phones
    )
    return [
        SearchTerm(organization_id=contact.organization_id, contact=contact, term=term)
        for term in sorted(terms)
    ]


def _reindex(contact: Contact) -> None:
    SearchTerm.objects.filter(contact=contact).delete()
    emails = [e.email for e in ContactEmail.objects.filter(contact=contact)]
    phones = [p.number for p in ContactPhone.objects.filter(contact=contact)]
    SearchTerm.objects.bulk_create(search_rows(contact, emails, phones))


def _check_external_id(org: Organization, external_id: str, exclude_pk: int | None) -> None:
    if not external_id:
        return
    clash = Contact.objects.filter(organization=org, external_id=external_id)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise Invalid(_("Another contact already has this external id."), field="external_id")


def create_contact(*, org: Organization, actor: Actor, **data: Any) -> Contact:
    """Create a contact with its emails, phones, tags and roles.

    Invariants: phones are stored E.164 (read in the organization's country), emails
    lower-cased; a person's name is "given family"; external ids are unique per organization.
    Raises Invalid with every bad field.
    """
    clean = _clean(org, data, current=None)
    with transaction.atomic():
        _check_external_id(org, clean.get("external_id", ""), None)
        related = {
            key: clean.pop(key) for key in ("emails", "phones", "tags", "roles") if key in clean
        }
        contact = Contact(organization=org, **clean)
        contact.sort_name = sort_name_for(contact)
        contact.save()
        _set_emails(contact, related.get("emails", []))
        _set_phones(contact, related.get("phones", []))
        if related.get("tags"):
            _set_tags(contact, related["tags"])
        if related.get("roles"):
            _set_roles(contact, related["roles"])
        _reindex(contact)
        audit.record(org=org, actor=actor, code="people.contact.created", subject=contact)
    return contact


def update_contact(*, org: Organization, actor: Actor, contact: Contact, **changes: Any) -> Contact:
    """Change some fields of a contact (a PATCH): lists given replace the whole list.

    Raises Invalid with every bad field; nothing is written then.
    """
    if contact.erased_at is not None:
        raise Invalid(_("This contact was erased and cannot be changed."))
    clean = _clean(org, changes, current=contact)
    with transaction.atomic():
        if "external_id" in clean:
            _check_external_id(org, clean["external_id"], contact.pk)
        related = {
            key: clean.pop(key) for key in ("emails", "phones", "tags", "roles") if key in clean
        }
        for field, value in clean.items():
            setattr(contact, field, value)
        contact.sort_name = sort_name_for(contact)
        contact.updated_at = timezone.now()
        contact.save()
        if "emails" in related:
            _set_emails(contact, related["emails"])
        if "phones" in related:
            _set_phones(contact, related["phones"])
        if "tags" in related:
            _set_tags(contact, related["tags"])
        if "roles" in related:
            _set_roles(contact, related["roles"])
        _reindex(contact)
        audit.record(
            org=org,
            actor=actor,
            code="people.contact.updated",
            subject=contact,
            extra={"fields": sorted([*clean, *related])},
        )
    return contact


def delete_contact(*, org: Organization, actor: Actor, contact: Contact) -> None:
    """Delete a contact and everything that hangs off it (use erasure to honour a GDPR request)."""
    with transaction.atomic():
        audit.record(org=org, actor=actor, code="people.contact.deleted", subject=contact)
        contact.delete()


def add_contact_role(*, org: Organization, actor: Actor, contact: Contact, role: str) -> bool:
    """Give the contact a role badge (a gift makes a donor); True when it was new.

    Other apps call this when what they record says who the person is for the organization.
    """
    if role not in ContactRoleKind.values:
        raise Invalid(_("Unknown role."), field="role")
    with transaction.atomic():
        created = ContactRole.objects.get_or_create(
            contact=contact, role=role, defaults={"organization_id": contact.organization_id}
        )[1]
        if created:
            audit.record(
                org=org,
                actor=actor,
                code="people.contact.role_added",
                subject=contact,
                extra={"role": role},
            )
    return created


def add_activity(
    *,
    org: Organization,
    actor: Actor,
    contact: Contact,
    kind: str,
    subject: str,
    body: str = "",
    occurred_at: datetime.datetime | None = None,
) -> Activity:
    """Add an entry to the contact's timeline. Other apps call this with their own `kind`."""
    subject = clean_spaces(subject)
    if not subject:
        raise Invalid(_("An activity needs a subject."), field="subject")
    if len(subject) > 200:
        raise Invalid(_("At most %(limit)d characters.") % {"limit": 200}, field="subject")
    if not re.match(r"^[a-z][a-z_.]{1,31}$", kind):
        raise Invalid(_("Unknown kind of activity."), field="kind")
    with transaction.atomic():
        activity = Activity.objects.create(
            organization=org,
            contact=contact,
            kind=kind,
            subject=subject,
            body=body.strip(),
            occurred_at=occurred_at or timezone.now(),
            actor=actor.user,
        )
        audit.record(
            org=org,
            actor=actor,
            code="people.activity.added",
            subject=contact,
            extra={"activity": activity.pk, "kind": kind},
        )
    return activity


def add_relationship(
    *, org: Organization, actor: Actor, from_contact: Contact, to_contact: Contact, kind: str
) -> Relationship:
    """Link two contacts of the same organization (idempotent)."""
    if kind not in RelationshipKind.values:
        raise Invalid(_("Unknown kind of relationship."), field="kind")
    if from_contact.pk == to_contact.pk:
        raise Invalid(_("A contact cannot be related to itself."), field="to_contact")
    with transaction.atomic():
        relationship, created = Relationship.objects.get_or_create(
            organization=org, from_contact=from_contact, to_contact=to_contact, kind=kind
        )
        if created:
            audit.record(
                org=org,
                actor=actor,
                code="people.relationship.added",
                subject=from_contact,
                extra={"to": to_contact.pk, "kind": kind},
            )
    return relationship


# Roles whose records are sensitive: every staff read of one is written to the audit log.
SENSITIVE_ROLES = frozenset({ContactRoleKind.BENEFICIARY})


def view_contact(*, org: Organization, actor: Actor, contact: Contact) -> Contact:
    """Load a contact's details for a staff page, auditing the read of a sensitive record.

    A contact with a sensitive role (a beneficiary) gets one `people.contact.viewed` event per
    read; others, and erased contacts (nothing personal is left), are read silently.
    Returns the contact with its emails, phones, tags and roles prefetched.
    """
    load_details(contact)
    sensitive = sorted({r.role for r in contact.roles.all()} & SENSITIVE_ROLES)
    if sensitive and contact.erased_at is None:
        audit.record(
            org=org,
            actor=actor,
            code="people.contact.viewed",
            subject=contact,
            extra={"roles": sensitive},
        )
    return contact


def export_contact(*, org: Organization, actor: Actor, contact: Contact) -> dict[str, Any]:
    """Everything Solidaria holds about one contact, as JSON-ready data (GDPR art. 15 and 20).

    Audited as a read of a sensitive record.
    """
    emails = list(contact.emails.values_list("email", flat=True))
    phones = list(contact.phones.values_list("number", flat=True))
    data: dict[str, Any] = {
        "format": "solidaria.contact-export/1",
        "exported_at": timezone.now().isoformat(),
        "organization": {"slug": org.slug, "name": org.name},
        "contact": {
            "id": contact.pk,
            "kind": contact.kind,
            "given_name": contact.given_name,
            "family_name": contact.family_name,
            "name": contact.name,
            "emails": emails,
            "phones": phones,
            "language": contact.language,
            "preferred_channel": contact.preferred_channel,
            "address": {
                "street": contact.street,
                "postal_code": contact.postal_code,
                "city": contact.city,
                "region": contact.region,
                "country": contact.country,
            },
            "birth_date": contact.birth_date.isoformat() if contact.birth_date else None,
            "notes": contact.notes,
            "external_id": contact.external_id,
            "tags": list(
                contact.contact_tags.order_by("tag__name").values_list("tag__name", flat=True)
            ),
            "roles": list(contact.roles.order_by("role").values_list("role", flat=True)),
            "created_at": contact.created_at.isoformat(),
            "updated_at": contact.updated_at.isoformat(),
        },
        "relationships": [
            {
                "kind": r.kind,
                "direction": "to",
                "contact_id": r.to_contact_id,
                "name": r.to_contact.name,
            }
            for r in contact.relationships_from.select_related("to_contact")
        ]
        + [
            {
                "kind": r.kind,
                "direction": "from",
                "contact_id": r.from_contact_id,
                "name": r.from_contact.name,
            }
            for r in contact.relationships_to.select_related("from_contact")
        ],
        "activities": [
            {"kind": a.kind, "subject": a.subject, "body": a.body, "at": a.occurred_at.isoformat()}
            for a in contact.activities.order_by("occurred_at", "id")
        ],
    }
    for owner in registry.owners():
        data[owner.name] = owner.export(contact)
    audit.record(org=org, actor=actor, code="people.contact.exported", subject=contact)
    return data


def erase_contact(*, org: Organization, actor: Actor, contact: Contact) -> Contact:
    """Erase a person's personal data (GDPR art. 17), keeping what the law requires.

    The row stays, de-identified, so financial records that point at it keep their link;
    names, addresses, emails, phones, language, notes, tags, roles, relationships, activities
    and search words go (kind and country stay, for aggregate reports); each registered app erases its own part in the same transaction. Idempotent.
    """
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk, organization=org)
        for owner in registry.owners():
            owner.erase(contact)
        ContactEmail.objects.filter(contact=contact).delete()
        ContactPhone.objects.filter(contact=contact).delete()
        ContactTag.objects.filter(contact=contact).delete()
        # A role such as "beneficiary" can itself reveal a person's situation.
        ContactRole.objects.filter(contact=contact).delete()
        Relationship.objects.filter(from_contact=contact).delete()
        Relationship.objects.filter(to_contact=contact).delete()
        Activity.objects.filter(contact=contact).delete()
        SearchTerm.objects.filter(contact=contact).delete()
        contact.given_name = contact.family_name = ""
        contact.name = f"Erased contact #{contact.pk}"
        contact.sort_name = "~"  # erased contacts sort last
        for field in (
            "street",
            "postal_code",
            "city",
            "region",
            "notes",
            "preferred_channel",
            "external_id",
            "language",
        ):
            setattr(contact, field, "")
        contact.birth_date = None
        contact.erased_at = contact.erased_at or timezone.now()
        contact.updated_at = timezone.now()
        contact.save()
        audit.record(org=org, actor=actor, code="people.contact.erased", subject=contact)
    return contact
