"""Writes of the consent app: purposes and consent events."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from solidaria.consent.defaults import DEFAULT_PURPOSES
from solidaria.consent.models import ConsentEvent, LawfulBasis, Purpose
from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Invalid, NotFound
from solidaria.core.models import Organization
from solidaria.people.models import Channel, Contact


def ensure_default_purposes(*, org: Organization, actor: Actor) -> list[Purpose]:
    """Create the default purposes the organization lacks (idempotent)."""
    with transaction.atomic():
        existing = set(Purpose.objects.filter(organization=org).values_list("code", flat=True))
        created = Purpose.objects.bulk_create(
            Purpose(
                organization=org,
                code=code,
                name=str(name),
                description=str(description),
                position=position,
            )
            for position, (code, (name, description)) in enumerate(DEFAULT_PURPOSES.items())
            if code not in existing
        )
        if created:
            audit.record(
                org=org,
                actor=actor,
                code="consent.purposes.defaults_created",
                extra={"codes": [p.code for p in created]},
            )
    return list(Purpose.objects.filter(organization=org))


def purpose_for(*, org: Organization, code: str) -> Purpose:
    purpose = Purpose.objects.filter(organization=org, code=code, active=True).first()
    if purpose is None:
        raise NotFound(_("No purpose “%(code)s”.") % {"code": code})
    return purpose


def record_consent(
    *,
    org: Organization,
    actor: Actor,
    contact: Contact,
    purpose: str,
    channel: str,
    granted: bool,
    source: str,
    lawful_basis: str = LawfulBasis.CONSENT,
    wording_version: str = "",
    at: datetime.datetime | None = None,
) -> ConsentEvent:
    """Append a grant or withdrawal for one purpose × channel.

    `at` may lie in the past (a paper form signed last week) but never in the future.
    Raises Invalid for an unknown purpose, channel or basis, or an erased contact.
    """
    errors: dict[str, list[str]] = {}
    purpose_row = Purpose.objects.filter(organization=org, code=purpose, active=True).first()
    if purpose_row is None:
        errors["purpose"] = [_("No purpose “%(code)s”.") % {"code": purpose}]
    if channel not in Channel.values:
        errors["channel"] = [_("One of: %(choices)s.") % {"choices": ", ".join(Channel.values)}]
    if lawful_basis not in LawfulBasis.values:
        errors["lawful_basis"] = [
            _("One of: %(choices)s.") % {"choices": ", ".join(LawfulBasis.values)}
        ]
    source = source.strip()[:100]
    if not source:
        errors["source"] = [_("Say where this consent came from.")]
    now = timezone.now()
    if at is not None and at > now + datetime.timedelta(minutes=5):
        errors["at"] = [_("Consent cannot be recorded in the future.")]
    if contact.erased_at is not None:
        errors["contact"] = [_("This contact was erased.")]
    if errors:
        field = next(iter(errors))
        raise Invalid(errors[field][0], field=field, errors=errors)
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            organization=org,
            contact=contact,
            purpose=purpose_row,
            channel=channel,
            granted=granted,
            lawful_basis=lawful_basis,
            source=source,
            wording_version=wording_version.strip()[:50],
            at=at or now,
            actor=actor.user,
            recorded_at=now,
        )
        audit.record(
            org=org,
            actor=actor,
            code="consent.granted" if granted else "consent.withdrawn",
            subject=contact,
            extra={"purpose": purpose, "channel": channel, "event": event.pk},
        )
    return event
