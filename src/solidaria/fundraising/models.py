"""Funds, campaigns, gifts, recurring plans, payment providers, SEPA and bank statements.

Money is integer minor units (`*_minor`) with an ISO 4217 `currency`, as in the ledger.
The books here (donations, allocations, expenses, refunds) each carry the `ledger_seq` of the
public entry they posted; `solidaria ledger verify` checks that both sides agree.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from solidaria.core.crypto import EncryptedJSONField, EncryptedTextField
from solidaria.core.models import Organization, slug_validator
from solidaria.people.models import Contact


class Method(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    SEPA = "sepa", _("SEPA direct debit")
    STRIPE = "stripe", _("Card (Stripe)")
    MOLLIE = "mollie", _("Card or local method (Mollie)")
    CASH = "cash", _("Cash")
    CHEQUE = "cheque", _("Cheque")


class Frequency(models.TextChoices):
    ONCE = "once", _("One-off")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


class FundraisingSettings(models.Model):
    """What an organization's receipts and donation pages need beyond `core.Organization`."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="fundraising_settings"
    )
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in month"), default=1
    )
    preset_amounts = models.JSONField(
        _("preset amounts (minor units)"), default=list, blank=True
    )  # e.g. [1000, 2500, 5000]; empty means the built-in presets
    # {lang: {"intro": …, "thanks": …, "receipt_footer": …}}
    texts = models.JSONField(default=dict, blank=True)
    bank_iban = models.CharField(_("IBAN for transfers"), max_length=34, blank=True)
    bank_bic = models.CharField(_("BIC"), max_length=11, blank=True)

    def __str__(self) -> str:
        return f"fundraising settings of {self.organization}"


class Fund(models.Model):
    """Where money is kept apart: a restricted project, or the general fund (`general`)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(_("slug"), max_length=50, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # {lang: {"name": …, "description": …}} for public pages; `name` is the fallback.
    texts = models.JSONField(default=dict, blank=True)
    restricted = models.BooleanField(_("restricted"), default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="fund_slug")]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(_("slug"), max_length=50, validators=[slug_validator])
    title = models.CharField(_("title"), max_length=200)
    # {lang: {"title": …, "summary": …, "body": …}}; `title` is the fallback.
    texts = models.JSONField(default=dict, blank=True)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="campaigns")
    goal_minor = models.BigIntegerField(_("goal"), default=0)  # 0: no goal shown
    currency = models.CharField(max_length=3)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    preset_amounts = models.JSONField(default=list, blank=True)
    published = models.BooleanField(_("published"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="campaign_slug")
        ]

    def __str__(self) -> str:
        return self.title


class PeerPage(models.Model):
    """A supporter's own page under a campaign; gifts through it are credited to both."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="peer_pages")
    slug = models.CharField(max_length=50, validators=[slug_validator])
    supporter = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    story = models.TextField(_("story"), blank=True)
    goal_minor = models.BigIntegerField(_("goal"), default=0)
    language = models.CharField(max_length=8, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "slug"], name="peerpage_slug")]

    def __str__(self) -> str:
        return self.title


class PaymentProvider(models.Model):
    """An organization's account with a payment provider. `secrets` never leave the server."""

    class Kind(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        MOLLIE = "mollie", "Mollie"
        SEPA = "sepa", _("SEPA direct debit")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Public settings: api_base_url; for SEPA creditor_name, creditor_iban, creditor_bic,
    # creditor_id. Secrets: stripe secret_key, webhook_secret; mollie api_key.
    settings = models.JSONField(default=dict, blank=True)
    secrets = EncryptedJSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="paymentprovider_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.organization}"


class RecurringPlan(models.Model):
    """A regular gift, or the SEPA mandate of a one-off debit (`frequency` once).

    A one-off mandate has no `next_due`: the schedule never collects it; its single gift is
    created with the donation and collected once, as an OOFF debit.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    frequency = models.CharField(max_length=16, choices=Frequency.choices)
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    next_due = models.DateField(null=True, blank=True)
    # The plan's own day of the month (1–31): a plan due on the 31st falls on the 30th in
    # April and comes back to the 31st in May. 0: the day of `next_due`.
    day_of_month = models.PositiveSmallIntegerField(default=0)
    language = models.CharField(max_length=8, blank=True)
    # SEPA mandate; the IBAN is personal and financial: encrypted, shown masked.
    iban = EncryptedTextField(blank=True)
    bic = models.CharField(max_length=11, blank=True)
    # The name on the debited account when it is not the donor's (a partner, a company);
    # the pain.008 debtor name falls back to the contact's name.
    account_holder = models.CharField(max_length=70, blank=True)
    mandate_reference = models.CharField(max_length=35, blank=True)
    mandate_signed_at = models.DateField(null=True, blank=True)
    # True once a collection under this mandate went through: SEPA's FRST, then RCUR.
    first_collected = models.BooleanField(default=False)
    # Card plans: the provider's customer and saved payment method / mandate.
    provider_customer_id = models.CharField(max_length=100, blank=True)
    provider_mandate_id = models.CharField(max_length=100, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)
    last_failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "mandate_reference"],
                condition=~Q(mandate_reference=""),
                name="plan_mandate_reference",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status", "next_due"]),
            models.Index(fields=["organization", "contact"]),
        ]

    def __str__(self) -> str:
        return f"{self.frequency} {self.amount_minor} {self.currency}"


class SepaBatch(models.Model):
    """One pain.008 file: the collections of one date, as it was handed to the bank."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    collection_date = models.DateField()
    message_id = models.CharField(max_length=35)
    xml = models.TextField()
    count = models.PositiveIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "collection_date"])]

    def __str__(self) -> str:
        return self.message_id


class Donation(models.Model):
    """A gift: pending until the money is confirmed, then posted to the ledger as `income`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    peer_page = models.ForeignKey(
        PeerPage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan = models.ForeignKey(
        RecurringPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="donations"
    )
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The opaque reference the public ledger shows; says nothing about the donor.
    public_ref = models.CharField(max_length=32, unique=True)
    # The secret of the donor's tracking link /t/<token> (128 random bits, URL-safe).
    tracking_token = models.CharField(max_length=32, unique=True)
    # What the donor quotes on a transfer, or the SEPA end-to-end id.
    payment_reference = models.CharField(max_length=35, blank=True)
    # The provider's id: Stripe Checkout session, Mollie payment.
    provider_id = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ledger_seq = models.BigIntegerField(null=True, blank=True)
    refunded_minor = models.BigIntegerField(default=0)
    receipt_number = models.CharField(max_length=24, blank=True)
    # When the thank-you email with the receipt left; set once, so a re-run sends nothing.
    thanked_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    # SEPA: the collection this debit belongs to.
    collection_date = models.DateField(null=True, blank=True)
    sepa_sequence = models.CharField(max_length=4, blank=True)  # FRST, RCUR or OOFF
    sepa_batch = models.ForeignKey(
        SepaBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="donations"
    )
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider_id"],
                condition=~Q(provider_id=""),
                name="donation_provider_id",
            ),
            models.UniqueConstraint(
                fields=["organization", "payment_reference"],
                condition=~Q(payment_reference=""),
                name="donation_payment_reference",
            ),
            models.UniqueConstraint(
                fields=["organization", "receipt_number"],
                condition=~Q(receipt_number=""),
                name="donation_receipt_number",
            ),
        ]
        indexes = [
            # Campaign progress (raised, donors) is read from this index alone.
            models.Index(
                fields=[
                    "organization",
                    "campaign",
                    "status",
                    "currency",
                    "contact",
                    "amount_minor",
                    "refunded_minor",
                ],
                name="donation_campaign_idx",
            ),
            models.Index(
                fields=["organization", "fund", "status", "received_at"],
                name="donation_fund_idx",
            ),
            models.Index(
                fields=["organization", "method", "status", "collection_date"],
                name="donation_method_idx",
            ),
            # The reports (fundraising/reports.py) read only these two, never the table:
            # income by month, campaign, fund and method over a date range ...
            models.Index(
                fields=[
                    "organization",
                    "status",
                    "received_at",
                    "amount_minor",
                    "refunded_minor",
                    "currency",
                    "fund",
                    "campaign",
                    "method",
                ],
                name="donation_report_idx",
            ),
            # ... and per donor (retention, LYBUNT/SYBUNT, RFM), in contact order.
            models.Index(
                fields=[
                    "organization",
                    "status",
                    "contact",
                    "received_at",
                    "amount_minor",
                    "refunded_minor",
                    "currency",
                ],
                name="donation_donor_report_idx",
            ),
            models.Index(fields=["organization", "ledger_seq"], name="donation_seq_idx"),
            models.Index(fields=["plan", "-created_at"], name="donation_plan_idx"),
        ]

    def __str__(self) -> str:
        return self.public_ref


class Refund(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200, blank=True)
    # A SEPA return or chargeback, or a card refund: the provider's id, for idempotency.
    provider_id = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(default=timezone.now)
    ledger_seq = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider_id"],
                condition=~Q(provider_id=""),
                name="refund_provider_id",
            )
        ]
        indexes = [models.Index(fields=["organization", "ledger_seq"], name="refund_seq_idx")]

    def __str__(self) -> str:
        return f"refund of {self.donation}"


class Allocation(models.Model):
    """Money moved from one fund to another, as booked by the treasurer."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    from_fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    to_fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    public_ref = models.CharField(max_length=32, unique=True)
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)
    ledger_seq = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["organization", "ledger_seq"], name="allocation_seq_idx")]

    def __str__(self) -> str:
        return self.public_ref


class Expense(models.Model):
    """Money spent from a fund, with the SHA-256 of its evidence (invoice, receipt, photo).

    The description and category are public in the ledger: staff write what was bought,
    never who was helped.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(_("description"), max_length=200)
    category = models.CharField(_("category"), max_length=50)
    spent_at = models.DateTimeField(_("spent at"))
    evidence = models.FileField(upload_to="evidence/%Y/%m/", blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    public_ref = models.CharField(max_length=32, unique=True)
    ledger_seq = models.BigIntegerField()
    # Set when a reversal corrected this expense (the reversal is its own ledger entry).
    reversal_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "ledger_seq"], name="expense_seq_idx"),
            models.Index(fields=["organization", "fund", "spent_at"], name="expense_fund_idx"),
        ]

    def __str__(self) -> str:
        return self.description


class BankStatement(models.Model):
    """An imported CAMT.053 or MT940 file. The same file imported twice is one statement."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=200)
    file_format = models.CharField(max_length=16)  # camt.053 or mt940
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)
    lines_total = models.PositiveIntegerField(default=0)
    lines_matched = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "sha256"], name="statement_file")
        ]

    def __str__(self) -> str:
        return self.file_name


class StatementLine(models.Model):
    """One booked line of a statement; `line_key` identifies it across overlapping files."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Matched")
        UNMATCHED = "unmatched", _("Not matched")
        IGNORED = "ignored", _("Ignored")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    line_key = models.CharField(max_length=64)
    booked_on = models.DateField()
    amount_minor = models.BigIntegerField()  # negative for debits
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=400, blank=True)
    end_to_end_id = models.CharField(max_length=35, blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    return_reason = models.CharField(max_length=8, blank=True)  # SEPA R-transaction code
    status = models.CharField(max_length=16, choices=Status.choices)
    donation = models.ForeignKey(
        Donation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why reconciliation left the line unmatched, or what it did: for staff, no personal data.
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "line_key"], name="statementline_key")
        ]
        indexes = [models.Index(fields=["organization", "status", "booked_on"])]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount_minor}"


class StatementSent(models.Model):
    """A donor's annual statement for one fiscal year was emailed: it is never sent twice."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contact", "fiscal_year"], name="statementsent_year"
            )
        ]

    def __str__(self) -> str:
        return f"statement {self.fiscal_year} for contact {self.contact_id}"


class ReceiptCounter(models.Model):
    """The last receipt number given in a year; numbers are gapless per organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="receiptcounter_year")
        ]


class DonorLoginLink(models.Model):
    """One magic link to the donor self-service portal (`/me/`): single use, one hour.

    The emailed link carries a signed `(organization, contact, nonce)`; this row makes it
    single-use (`used_at`) and lets requests be rate-limited per email (`email_digest`, an
    HMAC of the normalized address, so the table holds no address in clear).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=43, unique=True)
    email_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["organization", "email_digest", "created_at"], name="donorlink_rate_idx"
            )
        ]

    def __str__(self) -> str:
        return f"portal link {self.pk}"
