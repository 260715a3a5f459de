"""What other apps own about a contact, and show on its page, registered by each app in its
AppConfig.ready().

`people` sits at the bottom of the dependency graph, so it cannot know the apps above it.
Each app that stores data about a contact registers one ContactDataOwner; export, erasure
(and, later, merging) walk the registry instead of knowing every app. Each app that shows
something on the contact page registers a ContactPanel.
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


@dataclass(frozen=True)
class ContactPanel:
    """A section of the staff contact page contributed by another app."""

    name: str
    template: str  # rendered with the page's context plus what `context` returns
    # (request, contact) -> extra template context; None when the viewer may not see it.
    context: Callable[[Any, Any], dict[str, Any] | None]
    order: int = 100


_panels: dict[str, ContactPanel] = {}


def register_panel(panel: ContactPanel) -> None:
    _panels[panel.name] = panel


def panels() -> list[ContactPanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.name))
