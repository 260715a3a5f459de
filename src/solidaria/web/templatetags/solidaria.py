"""Template helpers shared by every staff page."""

from django import template

from solidaria.core.models import Membership
from solidaria.core.roles import role_allows

register = template.Library()


@register.filter
def can(membership: Membership | None, permission: str) -> bool:
    """`{% if request.membership|can:"audit.view" %}`: show only what the role may use."""
    return membership is not None and role_allows(membership.role, permission)
