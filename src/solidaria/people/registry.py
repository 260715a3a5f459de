"""What other apps own about a contact, registered by each app in its AppConfig.ready().

`people` sits at the bottom of the dependency graph, so it cannot know the apps above it.
Each app that stores data about a contact registers one ContactDataOwner; export, erasure
(and, later, merging) walk the registry instead of knowing every app.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContactDataOwner:
    name: str  # the key of this app's section in an export, e.g. "consents"
    # Plain JSON-ready data about the contact, for the access/portability export.
    export: Callable[[Any], Any]
    # Remove or de-identify the app's personal data about the contact (inside erasure's
    # transaction); records the law requires (financial ones) are kept without personal data.
    erase: Callable[[Any], None]


_owners: dict[str, ContactDataOwner] = {}


def register(owner: ContactDataOwner) -> None:
    _owners[owner.name] = owner


def owners() -> list[ContactDataOwner]:
    return list(_owners.values())
