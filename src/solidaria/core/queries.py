"""Reads of the core app for the staff pages: the audit log, staff and API tokens."""

from dataclasses import dataclass
from datetime import datetime

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef, QuerySet

from solidaria.core.errors import NotFound
from solidaria.core.models import ApiToken, AuditEvent, Membership, Organization, User


@dataclass(frozen=True)
class AuditFilters:
    """What to show of the audit log. Every filter runs on an index of AuditEvent.

    `code` is an exact code (`core.staff.added`) or, ending with a dot, a namespace
    (`people.` or `core.staff.`). `since` is inclusive, `until` exclusive.
    """

    code: str = ""
    actor_id: int | None = None
    subject_type: str = ""
    subject_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_events_for(*, org: Organization, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The organization's audit events matching `filters`, newest first, with their actor."""
    events = AuditEvent.objects.filter(organization=org)
    if filters.code.endswith("."):
        events = events.filter(code__startswith=filters.code)
    elif filters.code:
        events = events.filter(code=filters.code)
    if filters.actor_id is not None:
        events = events.filter(actor_id=filters.actor_id)
    if filters.subject_type:
        events = events.filter(subject_type=filters.subject_type)
        if filters.subject_id:
            events = events.filter(subject_id=filters.subject_id)
    if filters.since is not None:
        events = events.filter(at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(at__lt=filters.until)
    # The id breaks ties between events of the same instant, so pages never overlap.
    return events.select_related("actor").order_by("-at", "-id")


def staff_users_for(*, org: Organization) -> QuerySet[User]:
    """Accounts that are staff of the organization, by name (for pickers such as the actor)."""
    return User.objects.filter(memberships__organization=org).order_by("full_name", "email")


def staff_for(*, org: Organization) -> QuerySet[Membership]:
    """The organization's staff with their accounts, each with `has_mfa` (an app or a key)."""
    second_factor = Authenticator.objects.filter(
        user=OuterRef("user"),
        type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
    )
    return (
        Membership.objects.filter(organization=org)
        .select_related("user")
        .annotate(has_mfa=Exists(second_factor))
        .order_by("user__full_name", "user__email")
    )


def staff_member_for(*, org: Organization, membership_id: int) -> Membership:
    """One staff member of the organization; NotFound for another organization's id too."""
    membership = (
        Membership.objects.select_related("user").filter(organization=org, pk=membership_id).first()
    )
    if membership is None:
        raise NotFound("No such staff member.")
    return membership


def api_tokens_for(*, org: Organization, user: User | None) -> QuerySet[ApiToken]:
    """Tokens of the organization, newest first; only `user`'s own unless `user` is None."""
    tokens = ApiToken.objects.filter(organization=org)
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.select_related("user").order_by("-created_at", "-id")


def api_token_for(*, org: Organization, token_id: int, only_user: User | None) -> ApiToken:
    """One token of the organization (of `only_user` when given); NotFound otherwise."""
    token = api_tokens_for(org=org, user=only_user).filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    return token
