"""Factories for contacts. `make_contact` goes through the action, so search words exist."""

from typing import Any

from solidaria.core.audit import Actor
from solidaria.core.models import Organization
from solidaria.people.actions import create_contact
from solidaria.people.models import Contact

TEST_ACTOR = Actor.system("test")


def make_contact(org: Organization, **data: Any) -> Contact:
    data.setdefault("given_name", "Ana")
    data.setdefault("family_name", "García")
    return create_contact(org=org, actor=TEST_ACTOR, **data)
