"""Purposes of contact, and the append-only record of consent given and withdrawn."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from solidaria.core.models import Organization
from solidaria.people.models import Channel, Contact


class LawfulBasis(models.TextChoices):
    """GDPR art. 6(1) bases for processing."""

    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    VITAL_INTERESTS = "vital_interests", _("Vital interests")
    PUBLIC_TASK = "public_task", _("Public task")
    LEGITIMATE_INTERESTS = "legitimate_interests", _("Legitimate interests")


class Purpose(models.Model):
    """Why an organization contacts people (newsletter, fundraising appeals, …)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="purpose_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ConsentEvent(models.Model):
    """One grant or withdrawal. Never updated or deleted: the latest event per
    (contact, purpose, channel) is the current state, and the rest is the proof."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_events")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="events")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    granted = models.BooleanField()
    lawful_basis = models.CharField(
        max_length=24, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT
    )
    source = models.CharField(max_length=100)
    wording_version = models.CharField(max_length=50, blank=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "contact", "purpose", "channel", "-at", "-id"]),
            models.Index(fields=["organization", "purpose", "channel", "-at"]),
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise TypeError("Consent events are append-only; record a new event instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("Consent events are append-only; record a withdrawal instead.")
