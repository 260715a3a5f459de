"""Writes of the core app: organizations, networks, staff and API tokens."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Conflict, Invalid, NotFound
from solidaria.core.models import ApiToken, Membership, Network, Organization, User
from solidaria.core.roles import Role
from solidaria.core.tokens import new_token, token_digest


def _full_clean(obj: object) -> None:
    from django.core.exceptions import ValidationError

    try:
        obj.full_clean()  # type: ignore[attr-defined]
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise Invalid(f"{field}: {' '.join(messages)}", field=field) from error


def create_network(*, actor: Actor, slug: str, name: str) -> Network:
    """Create a network of organizations. Raises Conflict when the slug is taken."""
    with transaction.atomic():
        if Network.objects.filter(slug=slug).exists():
            raise Conflict(_("A network “%(slug)s” already exists.") % {"slug": slug}, field="slug")
        network = Network(slug=slug, name=name)
        _full_clean(network)
        network.save()
        audit.record(org=None, actor=actor, code="core.network.created", subject=network)
    return network


def create_organization(
    *,
    actor: Actor,
    slug: str,
    name: str,
    country: str = "ES",
    currency: str = "EUR",
    language: str = "en",
    time_zone: str = "UTC",
    network: Network | None = None,
) -> Organization:
    """Create an organization.

    Invariants: the slug is unique and does not clash with a top-level path.
    Raises Conflict for a taken slug, Invalid for a bad field.
    Callers add what other apps need (default consent purposes) right after.
    """
    with transaction.atomic():
        if Organization.objects.filter(slug=slug).exists():
            raise Conflict(
                _("An organization “%(slug)s” already exists.") % {"slug": slug}, field="slug"
            )
        org = Organization(
            slug=slug,
            name=name,
            country=country.upper(),
            currency=currency.upper(),
            language=language.lower(),
            time_zone=time_zone,
            network=network,
        )
        _full_clean(org)
        org.save()
        audit.record(org=org, actor=actor, code="core.organization.created", subject=org)
    return org


def update_organization_settings(
    *, org: Organization, actor: Actor, require_mfa: bool
) -> Organization:
    """Change the organization's security settings."""
    with transaction.atomic():
        org.require_mfa = require_mfa
        org.save(update_fields=["require_mfa"])
        audit.record(
            org=org,
            actor=actor,
            code="core.organization.settings_changed",
            subject=org,
            extra={"require_mfa": require_mfa},
        )
    return org


def add_staff(
    *,
    org: Organization,
    actor: Actor,
    email: str,
    role: str,
    password: str | None = None,
    full_name: str = "",
) -> Membership:
    """Give a person (new or existing account) a role in the organization.

    `password` (and `full_name`) only apply to a new account: an existing account may belong
    to staff of other organizations, and an admin here must not be able to take it over.
    A new account without a password cannot log in until one is set.
    Raises Invalid for an unknown role, Conflict when already a member.
    """
    if role not in Role.values:
        raise Invalid(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, full_name=full_name)
            _full_clean_user(user)
            user.set_password(password) if password else user.set_unusable_password()
            user.save()
        if Membership.objects.filter(organization=org, user=user).exists():
            raise Conflict(_("%(email)s is already staff here.") % {"email": email}, field="email")
        membership = Membership.objects.create(organization=org, user=user, role=role)
        audit.record(
            org=org, actor=actor, code="core.staff.added", subject=membership, extra={"role": role}
        )
    return membership


def _full_clean_user(user: User) -> None:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(user.email)
    except ValidationError as error:
        raise Invalid(
            _("“%(email)s” is not a valid email address.") % {"email": user.email}, field="email"
        ) from error


def change_staff_role(
    *, org: Organization, actor: Actor, membership_id: int, role: str
) -> Membership:
    """Change a staff member's role. The last admin cannot stop being one (Conflict)."""
    if role not in Role.values:
        raise Invalid(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
    with transaction.atomic():
        membership = _membership(org, membership_id)
        if membership.role == Role.ADMIN and role != Role.ADMIN:
            _ensure_another_admin(org, membership)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            org=org,
            actor=actor,
            code="core.staff.role_changed",
            subject=membership,
            extra={"from": old, "to": role},
        )
    return membership


def remove_staff(*, org: Organization, actor: Actor, membership_id: int) -> None:
    """Remove someone from the organization and revoke their tokens in it."""
    with transaction.atomic():
        membership = _membership(org, membership_id)
        if membership.role == Role.ADMIN:
            _ensure_another_admin(org, membership)
        ApiToken.objects.filter(
            organization=org, user=membership.user, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        audit.record(org=org, actor=actor, code="core.staff.removed", subject=membership)
        membership.delete()


def _membership(org: Organization, membership_id: int) -> Membership:
    # Lock the organization first: two admins demoting or removing each other at the same
    # moment would otherwise each see the other as "another admin" and leave none.
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(organization=org, pk=membership_id)
        .first()
    )
    if membership is None:
        raise NotFound(_("No such staff member."))
    return membership


def _ensure_another_admin(org: Organization, membership: Membership) -> None:
    others = Membership.objects.filter(organization=org, role=Role.ADMIN).exclude(pk=membership.pk)
    if not others.exists():
        raise Conflict(_("An organization needs at least one admin."))


def create_api_token(
    *, org: Organization, actor: Actor, user: User, name: str
) -> tuple[ApiToken, str]:
    """Create a token for `user` in `org`; returns the row and the only copy of the secret.

    Raises NotFound when the user is not staff of the organization.
    """
    if not Membership.objects.filter(organization=org, user=user).exists():
        raise NotFound(_("No such staff member."))
    raw = new_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            organization=org,
            user=user,
            name=(name or "API token")[:100],
            prefix=raw[:12],
            digest=token_digest(raw),
        )
        audit.record(org=org, actor=actor, code="core.token.created", subject=token)
    return token, raw


def revoke_api_token(
    *, org: Organization, actor: Actor, token_id: int, only_user: User | None
) -> ApiToken:
    """Revoke a token at once. With `only_user`, only that user's own token may be revoked."""
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update().filter(organization=org, pk=token_id)
        if only_user is not None:
            tokens = tokens.filter(user=only_user)
        token = tokens.first()
        if token is None:
            raise NotFound(_("No such token."))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(org=org, actor=actor, code="core.token.revoked", subject=token)
    return token
