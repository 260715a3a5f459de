"""Factories for consent rows, through the actions so the audit log and checks apply."""

import datetime
from typing import Any

from solidaria.consent.actions import ensure_default_purposes, record_consent
from solidaria.consent.models import ConsentEvent, Purpose
from solidaria.core.audit import Actor
from solidaria.core.models import Organization
from solidaria.people.models import Contact

TEST_ACTOR = Actor.system("test")


def make_purposes(org: Organization) -> list[Purpose]:
    """The default purposes (newsletter, fundraising, project_updates, volunteering, service)."""
    return ensure_default_purposes(org=org, actor=TEST_ACTOR)


def make_consent(
    contact: Contact,
    *,
    purpose: str = "newsletter",
    channel: str = "email",
    granted: bool = True,
    at: datetime.datetime | None = None,
    **extra: Any,
) -> ConsentEvent:
    extra.setdefault("source", "test")
    return record_consent(
        org=contact.organization,
        actor=TEST_ACTOR,
        contact=contact,
        purpose=purpose,
        channel=channel,
        granted=granted,
        at=at,
        **extra,
    )
