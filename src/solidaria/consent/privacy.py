"""The consent app's part in a person's export and erasure."""

from typing import Any

from solidaria.consent.models import ConsentEvent
from solidaria.people.models import Contact
from solidaria.people.registry import ContactDataOwner


def _export(contact: Contact) -> list[dict[str, Any]]:
    return [
        {
            "purpose": event.purpose.code,
            "channel": event.channel,
            "granted": event.granted,
            "lawful_basis": event.lawful_basis,
            "source": event.source,
            "wording_version": event.wording_version,
            "at": event.at.isoformat(),
        }
        for event in ConsentEvent.objects.filter(contact=contact)
        .select_related("purpose")
        .order_by("at", "id")
    ]


def _erase(contact: Contact) -> None:
    # The events hold no personal data once the contact is de-identified, and they are the
    # proof that every past message was lawful, so they stay; an erased contact is never
    # reachable (see `may_contact`).
    return None


OWNER = ContactDataOwner(name="consents", export=_export, erase=_erase)
