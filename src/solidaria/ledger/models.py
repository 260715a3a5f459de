"""The transparency ledger: an append-only log per organization, its Merkle tree and caches.

`LedgerEntry`, `LedgerBlock` and `Checkpoint` rows are written once and never updated.
`LedgerHead` (the lock and size), `FundBalance`, `TraceLot` and `TraceLink` are caches derived
from the log; `solidaria ledger verify` recomputes them and says where they disagree.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from solidaria.core.crypto import EncryptedTextField
from solidaria.core.models import Organization

# Complete aligned subtrees of this many leaves have their hash stored, so a proof or a root
# over a million entries reads a few thousand block hashes instead of every leaf.
BLOCK_SIZE = 256


class EntryType(models.TextChoices):
    INCOME = "income", _("Income")
    ALLOCATION = "allocation", _("Allocation")
    EXPENSE = "expense", _("Expense")
    REFUND = "refund", _("Refund")
    REVERSAL = "reversal", _("Reversal")


class LedgerHead(models.Model):
    """One row per organization: the log's size, locked to serialize appends."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    size = models.BigIntegerField(default=0)
    # Orders trace lots inside their queues; only ever grows.
    lot_counter = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ledger of {self.organization_id}: {self.size} entries"


class LedgerEntry(models.Model):
    """One money event; `body` is the exact leaf (RFC 8785 bytes) and `seq` its leaf index."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=12, choices=EntryType.choices)
    at = models.DateTimeField()
    fund = models.CharField(max_length=50)
    to_fund = models.CharField(max_length=50, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    ref = models.CharField(max_length=64)
    reverses = models.BigIntegerField(null=True, blank=True)
    category = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=200, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["organization", "seq"], name="ledger_entry_seq"),
            # An entry is reversed at most once.
            models.UniqueConstraint(
                fields=["organization", "reverses"],
                condition=Q(reverses__isnull=False),
                name="ledger_entry_reversed_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "ref", "type"], name="ledger_entry_ref_idx"),
            models.Index(fields=["organization", "fund", "seq"], name="ledger_entry_fund_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.amount} {self.currency}"


class LedgerBlock(models.Model):
    """The hash of the complete subtree over leaves [index·256, (index+1)·256)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "index"], name="ledger_block_index")
        ]

    def __str__(self) -> str:
        return f"block {self.index}"


class SigningKey(models.Model):
    """The organization's Ed25519 key; the private half is encrypted with ENCRYPTION_KEYS."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    public_key = models.BinaryField(max_length=32)
    private_key = EncryptedTextField()  # base64 of the raw 32 bytes
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signing key {self.fingerprint[:16]}"


class Checkpoint(models.Model):
    """A signed tree head: the root of the first `tree_size` entries at `timestamp`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    timestamp = models.DateTimeField()
    signature = models.CharField(max_length=100)  # base64 Ed25519
    key_fingerprint = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "tree_size"], name="ledger_checkpoint_size"
            )
        ]

    def __str__(self) -> str:
        return f"checkpoint at {self.tree_size}"


class FundBalance(models.Model):
    """What a fund holds in one currency, after every entry (reversals included)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fund = models.CharField(max_length=50)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "fund", "currency"], name="ledger_fund_balance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.fund}: {self.amount} {self.currency}"


class TraceLot(models.Model):
    """Cache: money of income `origin_seq` still unspent in a fund's FIFO queue."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    fund = models.CharField(max_length=50)
    currency = models.CharField(max_length=3)
    position = models.BigIntegerField()
    origin_seq = models.BigIntegerField()
    remaining = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "fund", "currency", "position"], name="ledger_lot_queue"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "origin_seq", "remaining"], name="ledger_lot_origin_idx"
            )
        ]

    def __str__(self) -> str:
        return f"lot of #{self.origin_seq}: {self.remaining}"


class TraceLink(models.Model):
    """Cache: `amount` of income `origin_seq` paid for expense or refund `consumer_seq`."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    origin_seq = models.BigIntegerField()
    consumer_seq = models.BigIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "origin_seq", "consumer_seq"], name="ledger_trace_link"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "consumer_seq"], name="ledger_link_consumer_idx")
        ]

    def __str__(self) -> str:
        return f"#{self.origin_seq} → #{self.consumer_seq}: {self.amount}"
