"""The only ways a request reaches an organization: by membership, or by API token.

Another organization answers exactly like a missing one (NotFound), so nothing confirms
that it exists.
"""

from datetime import timedelta

from django.utils import timezone

from solidaria.core.errors import Forbidden, NotFound
from solidaria.core.models import ApiToken, Membership, User
from solidaria.core.roles import role_allows
from solidaria.core.tokens import TOKEN_PREFIX, token_digest


def membership_for(*, user: User, org_slug: str) -> Membership:
    """The user's membership in the organization `org_slug`; NotFound if there is none."""
    if not user.is_authenticated or not user.is_active:
        raise NotFound("No such organization.")
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(organization__slug=org_slug, user=user)
        .first()
    )
    if membership is None:
        raise NotFound("No such organization.")
    return membership


def require(membership: Membership, permission: str) -> None:
    """Raise Forbidden unless the membership's role holds `permission`."""
    if not role_allows(membership.role, permission):
        raise Forbidden("Your role does not allow this.")


def token_for(raw: str) -> ApiToken | None:
    """The active token matching `raw`, with its user's current membership; None otherwise.

    A token stops working when it is revoked, when its user is deactivated, or when the user
    leaves the organization.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("organization", "user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    membership = Membership.objects.filter(organization=token.organization, user=token.user).first()
    if membership is None:
        return None
    token.membership = membership  # type: ignore[attr-defined]
    now = timezone.now()
    # Write at most once a minute per token, so a busy client does not turn reads into writes.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def user_has_mfa(user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()
