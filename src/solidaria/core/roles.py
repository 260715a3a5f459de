"""Staff roles (DESIGN.md §3) and what each may do.

One table, read top to bottom: a permission is granted to the roles listed against it.
Every page and endpoint asks `role_allows(role, permission)` through `core.access`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    FUNDRAISER = "fundraiser", _("Fundraiser")
    COMMUNICATIONS = "communications", _("Communications")
    VOLUNTEER_COORDINATOR = "volunteer_coordinator", _("Volunteer coordinator")
    CASE_WORKER = "case_worker", _("Case worker")
    TREASURER = "treasurer", _("Treasurer")
    VIEWER = "viewer", _("Viewer")


_EVERYONE = frozenset(Role.values)
_EDITORS = frozenset(
    {
        Role.ADMIN,
        Role.FUNDRAISER,
        Role.COMMUNICATIONS,
        Role.VOLUNTEER_COORDINATOR,
        Role.CASE_WORKER,
    }
)

PERMISSIONS: dict[str, frozenset[str]] = {
    "contacts.view": _EVERYONE,
    "contacts.edit": _EDITORS,
    "contacts.delete": frozenset({Role.ADMIN}),
    "consent.view": _EVERYONE,
    "consent.edit": _EDITORS,
    "privacy.export": frozenset({Role.ADMIN}),
    "privacy.erase": frozenset({Role.ADMIN}),
    "activities.add": _EDITORS,
    "audit.view": frozenset({Role.ADMIN}),
    "staff.manage": frozenset({Role.ADMIN}),
    "tokens.own": _EVERYONE,
    "tokens.manage": frozenset({Role.ADMIN}),
    # Fundraising: funds, campaigns and gifts are the fundraiser's; money going out
    # (expenses, allocations, refunds) and the bank side are the treasurer's.
    "fundraising.view": _EVERYONE,
    "fundraising.edit": frozenset({Role.ADMIN, Role.FUNDRAISER}),
    "donations.record": frozenset({Role.ADMIN, Role.FUNDRAISER, Role.TREASURER}),
    "finance.book": frozenset({Role.ADMIN, Role.TREASURER}),
    "payments.manage": frozenset({Role.ADMIN, Role.TREASURER}),
    "ledger.view": _EVERYONE,
    "ledger.checkpoint": frozenset({Role.ADMIN, Role.TREASURER}),
}


def role_allows(role: str, permission: str) -> bool:
    """True when `role` holds `permission`; an unknown permission is a programming error."""
    return role in PERMISSIONS[permission]
