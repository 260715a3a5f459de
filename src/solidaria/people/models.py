"""The social base: contacts (persons, organizations, households) and what hangs off them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from solidaria.core.models import Organization


class ContactKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANIZATION = "organization", _("Organization")
    HOUSEHOLD = "household", _("Household")


class Channel(models.TextChoices):
    """Ways to reach someone; consent is given per purpose and channel."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")


class ContactRoleKind(models.TextChoices):
    DONOR = "donor", _("Donor")
    MEMBER = "member", _("Member")
    VOLUNTEER = "volunteer", _("Volunteer")
    BENEFICIARY = "beneficiary", _("Beneficiary")
    STAFF = "staff", _("Staff")
    PARTNER = "partner", _("Partner")


class RelationshipKind(models.TextChoices):
    HOUSEHOLD_MEMBER = "household_member", _("Member of household")
    WORKS_FOR = "works_for", _("Works for")
    PARTNER_OF = "partner_of", _("Partner of")
    PARENT_OF = "parent_of", _("Parent of")
    SIBLING_OF = "sibling_of", _("Sibling of")
    CARER_OF = "carer_of", _("Carer of")
    MEMBER_OF = "member_of", _("Member of")
    REFERRED_BY = "referred_by", _("Referred by")


class ActivityKind(models.TextChoices):
    """Kinds written by this app; other apps add their own codes (`donation`, `message`, …)."""

    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")


class Contact(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        _("kind"), max_length=16, choices=ContactKind.choices, default=ContactKind.PERSON
    )
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    # The display name: "given family" for a person, the name of an organization or household.
    name = models.CharField(_("name"), max_length=200)
    # Accent- and case-folded "family given", for sorting lists in every language alike.
    sort_name = models.CharField(max_length=200, editable=False)
    language = models.CharField(_("language"), max_length=8, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=16, choices=Channel.choices, blank=True
    )
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set by erasure: personal data is gone; the row stays so financial records keep their link.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "sort_name", "id"]),
            models.Index(fields=["organization", "kind", "sort_name"]),
            models.Index(fields=["organization", "language"]),
            models.Index(fields=["organization", "-created_at"]),
            # Counting an organization's live contacts, alone or joined to the ids a filter
            # found (role, tag, search words), reads only this index.
            models.Index(
                fields=["organization", "id"],
                condition=models.Q(erased_at__isnull=True),
                name="contact_live_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name to show a reader: an erased contact's label in the reader's language."""
        if self.erased_at is not None:
            return gettext("Erased contact #%(id)s") % {"id": self.pk}
        return self.name


class ContactEmail(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(max_length=254)  # stored lower-cased
    position = models.PositiveSmallIntegerField(default=0)  # 0 is the primary address

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20)  # E.164
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "number"])]

    def __str__(self) -> str:
        return self.number


class Tag(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("tag"), max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tag_unique")]

    def __str__(self) -> str:
        return self.name


class ContactTag(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "tag"], name="contact_tag_unique")
        ]
        # With the contact in the index, a tag filter never reads this table.
        indexes = [
            models.Index(fields=["organization", "tag", "contact"], name="contacttag_tag_idx")
        ]


class ContactRole(models.Model):
    """A role the contact plays for the organization, shown as a badge."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=16, choices=ContactRoleKind.choices)
    since = models.DateField(default=timezone.localdate)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "role"], name="contact_role_unique")
        ]
        # With the contact in the index, a role filter never reads this table.
        indexes = [
            models.Index(fields=["organization", "role", "contact"], name="contactrole_role_idx")
        ]


class Relationship(models.Model):
    """`from_contact` <kind> `to_contact`: Ana is a household_member of the García household."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    from_contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="relationships_from"
    )
    to_contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="relationships_to"
    )
    kind = models.CharField(max_length=32, choices=RelationshipKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_contact", "to_contact", "kind"], name="relationship_unique"
            )
        ]


class Activity(models.Model):
    """One entry on a contact's timeline. Other apps write here through `add_activity`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=32)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "contact", "-occurred_at"])]


class SearchTerm(models.Model):
    """Folded words of a contact's names, emails and phone numbers, for prefix search.

    A range scan on (organization, term) answers "words starting with …" on both databases.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+", db_index=False)
    term = models.CharField(max_length=100)

    class Meta:
        # Both indexes carry the other column, so a search never reads the table itself:
        # (organization, term, contact) answers "who has a word starting with …", and
        # (contact, term) "does this contact have one" when the planner walks contacts in
        # list order instead.
        indexes = [
            models.Index(fields=["organization", "term", "contact"], name="searchterm_term_idx"),
            models.Index(fields=["contact", "term"], name="searchterm_contact_idx"),
        ]
