"""Reads of the consent app, above all the one question every sender must ask."""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from solidaria.consent.defaults import purpose_label
from solidaria.consent.models import ConsentEvent, Purpose
from solidaria.core.models import Organization
from solidaria.people.models import Channel, Contact


def may_contact(
    *, contact: Contact, purpose: str, channel: str, at: datetime.datetime | None = None
) -> bool:
    """May we contact this person for this purpose on this channel now (or at `at`)?

    Yes only when the latest consent event for that purpose × channel, at or before the
    moment, is a grant, the purpose is active and the contact has not been erased. Silence is
    a no. Every sender calls this (or `reachable_contacts` for many) at send time.
    """
    if contact.erased_at is not None:
        return False
    latest = (
        ConsentEvent.objects.filter(
            organization_id=contact.organization_id,
            contact=contact,
            purpose__code=purpose,
            purpose__active=True,
            channel=channel,
            at__lte=at or timezone.now(),
        )
        .order_by("-at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return bool(latest)


def reachable_contacts(
    *, org: Organization, purpose: str, channel: str, at: datetime.datetime | None = None
) -> QuerySet[Contact]:
    """The organization's contacts for whom `may_contact` is true: the same rule, in one query."""
    moment = at or timezone.now()
    latest_granted = Subquery(
        ConsentEvent.objects.filter(
            organization=org,
            contact=OuterRef("pk"),
            purpose__code=purpose,
            purpose__active=True,
            channel=channel,
            at__lte=moment,
        )
        .order_by("-at", "-id")
        .values("granted")[:1]
    )
    has_event = Exists(
        ConsentEvent.objects.filter(organization=org, contact=OuterRef("pk"), purpose__code=purpose)
    )
    return (
        Contact.objects.filter(organization=org, erased_at__isnull=True)
        .filter(has_event)
        .annotate(_granted=latest_granted)
        .filter(_granted=True)
    )


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    purpose_name: str
    channel: str
    granted: bool
    event: ConsentEvent | None


def consent_states_for(*, contact: Contact) -> list[ConsentState]:
    """The current state of every active purpose × channel for one contact (unknown = no).

    `granted` agrees with `may_contact`: an erased contact's kept events grant nothing.
    """
    purposes = list(Purpose.objects.filter(organization_id=contact.organization_id, active=True))
    latest: dict[tuple[int, str], ConsentEvent] = {}
    events = ConsentEvent.objects.filter(
        organization_id=contact.organization_id, contact=contact, at__lte=timezone.now()
    ).order_by("at", "id")
    for event in events:
        latest[(event.purpose_id, event.channel)] = event
    return [
        ConsentState(
            purpose=purpose.code,
            purpose_name=purpose_label(purpose.code, purpose.name),
            channel=channel,
            granted=bool(
                contact.erased_at is None
                and latest.get((purpose.pk, channel))
                and latest[(purpose.pk, channel)].granted
            ),
            event=latest.get((purpose.pk, channel)),
        )
        for purpose in purposes
        for channel in Channel.values
    ]


def consent_history_for(*, contact: Contact) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(organization_id=contact.organization_id, contact=contact)
        .select_related("purpose", "actor")
        .order_by("-at", "-id")
    )


def purposes_for(*, org: Organization) -> QuerySet[Purpose]:
    return Purpose.objects.filter(organization=org, active=True)
