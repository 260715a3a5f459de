"""Organizations, networks, staff accounts, roles, API tokens and the audit log."""

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from solidaria.core.roles import Role

# Top-level paths an organization's public pages (/<slug>/…) must not shadow.
RESERVED_SLUGS = frozenset(
    {
        "accounts", "admin", "api", "app", "me", "t", "static", "media", "webhooks", "i18n",
        "healthz", "login", "logout", "about", "docs", "help", "new", "www", "favicon.ico",
        "robots.txt",
    }
)  # fmt: skip


def validate_slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved; choose another."), params={"slug": value})


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(tz)s”."), params={"tz": value})


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use 1–50 lowercase letters, digits or hyphens, not starting or ending with a hyphen."),
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff account; it logs in with its email and belongs to organizations by Membership."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.full_name or self.email


class Network(models.Model):
    """A group of organizations that share resources, knowledge, referrals and reports."""

    slug = models.SlugField(unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    slug = models.CharField(
        _("slug"),
        max_length=50,
        unique=True,
        validators=[slug_validator, validate_slug_not_reserved],
    )
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2"))
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217"))
    language = models.CharField(_("language"), max_length=8)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    network = models.ForeignKey(
        Network, null=True, blank=True, on_delete=models.SET_NULL, related_name="organizations"
    )
    require_mfa = models.BooleanField(
        _("require two-factor authentication"),
        default=False,
        help_text=_("Staff must set up an authenticator app or a security key before working."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff account's place in one organization, with its role."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class ApiToken(models.Model):
    """A bearer token for one user in one organization. Only its SHA-256 is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """One thing that happened: every write, and every read of a sensitive record.

    Rows are only ever inserted. `code` is namespaced by app: `people.contact.created`.
    """

    organization = models.ForeignKey(
        Organization, null=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    # Who acted when there is no user (the CLI, the worker, a webhook), or how (web, api).
    via = models.CharField(max_length=16)
    code = models.CharField(max_length=80)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=40, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-at"]),
            models.Index(fields=["organization", "code", "-at"]),
            models.Index(fields=["organization", "subject_type", "subject_id", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.code} {self.subject_type}:{self.subject_id}"


class InboundWebhook(models.Model):
    """A provider's webhook request, stored raw before it is acknowledged.

    `dedupe_key` is the provider's own event id (or a digest of the body when it sends none):
    a retried delivery finds its row and is not processed twice. Processing sets
    `processed_at`; a failure keeps the row with `error` so it can be retried or inspected.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=32)
    dedupe_key = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "dedupe_key"], name="inboundwebhook_unique"
            )
        ]
        indexes = [models.Index(fields=["organization", "source", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.dedupe_key}"
