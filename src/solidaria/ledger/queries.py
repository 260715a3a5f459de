"""Reads of the ledger: entries, balances, traces, tree roots, proofs and checkpoints."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, OuterRef, Subquery, Sum

from solidaria.core.models import Organization
from solidaria.ledger import merkle
from solidaria.ledger.canonical import format_time, public_entry
from solidaria.ledger.models import (
    BLOCK_SIZE,
    Checkpoint,
    EntryType,
    FundBalance,
    LedgerBlock,
    LedgerEntry,
    LedgerHead,
    SigningKey,
    TraceLink,
    TraceLot,
)

STREAM_CHUNK = 2000
# The columns that make a public entry, in `public_entry`'s argument order.
ENTRY_COLUMNS = (
    "seq",
    "type",
    "at",
    "fund",
    "amount",
    "currency",
    "ref",
    "to_fund",
    "reverses",
    "category",
    "description",
    "evidence_sha256",
)


@dataclass(frozen=True)
class TraceItem:
    seq: int  # the expense or refund
    type: str
    amount: int


@dataclass(frozen=True)
class Trace:
    """Where the income with `ref` went: items paid from it, and what is still unspent."""

    ref: str
    seq: int
    amount: int
    currency: str
    fund: str
    items: list[TraceItem]
    unspent: int
    reversed: bool  # a reversed income takes no part in tracing


def log_size(*, org: Organization) -> int:
    return LedgerHead.objects.filter(organization=org).values_list("size", flat=True).first() or 0


def fund_balance(*, org: Organization, fund: str, currency: str) -> int:
    """What `fund` holds in `currency` (minor units) after every entry."""
    return (
        FundBalance.objects.filter(organization=org, fund=fund, currency=currency)
        .values_list("amount", flat=True)
        .first()
        or 0
    )


def balances_for(*, org: Organization) -> list[FundBalance]:
    return list(FundBalance.objects.filter(organization=org).order_by("fund", "currency"))


def entry_at(*, org: Organization, seq: int) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(organization=org, seq=seq).first()


def entry_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """The public entry from a row of ENTRY_COLUMNS."""
    seq, type_, at, fund, amount, currency, ref, to_fund, reverses, category, description, ev = row
    return public_entry(
        seq=seq,
        type=type_,
        at=format_time(at),
        fund=fund,
        amount=amount,
        currency=currency,
        ref=ref,
        to_fund=to_fund,
        reverses=reverses,
        category=category,
        description=description,
        evidence_sha256=ev,
    )


def _chunks(
    *, org: Organization, columns: tuple[str, ...], start: int, upto: int | None
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in seq order, by ranges of STREAM_CHUNK seqs: memory stays flat.

    Seqs have no gaps, so a range is one chunk. Bounding both ends (rather than `seq >= n
    LIMIT k`) keeps each query small whatever plan the database picks: PostgreSQL with stale
    statistics after a bulk load would otherwise sort everything above n for every chunk.
    """
    if upto is None:
        # Beyond the head too, so a verifier sees rows that should not be there.
        last = LedgerEntry.objects.filter(organization=org).aggregate(last=Max("seq"))["last"]
        upto = max(log_size(org=org), -1 if last is None else last + 1)
    for low in range(start, upto, STREAM_CHUNK):
        chunk = list(
            LedgerEntry.objects.filter(
                organization=org, seq__gte=low, seq__lt=min(low + STREAM_CHUNK, upto)
            )
            .order_by("seq")
            .values_list(*columns)
        )
        if chunk:
            yield chunk


def iter_public_entries(
    *, org: Organization, start: int = 0, upto: int | None = None
) -> Iterator[dict[str, Any]]:
    """Public entries (built from the columns) in seq order."""
    for chunk in _chunks(org=org, columns=ENTRY_COLUMNS, start=start, upto=upto):
        yield from map(entry_dict, chunk)


def iter_bodies(*, org: Organization, upto: int | None = None) -> Iterator[str]:
    """The stored leaf bytes (as text) in seq order: the lines of ledger.jsonl."""
    for chunk in _chunks(org=org, columns=("seq", "body"), start=0, upto=upto):
        for _seq, body in chunk:
            yield body


def reversed_seqs(*, org: Organization, upto: int | None = None) -> set[int]:
    rows = LedgerEntry.objects.filter(organization=org, reverses__isnull=False)
    if upto is not None:
        rows = rows.filter(seq__lt=upto)
    return set(rows.values_list("reverses", flat=True))


def entries_page(*, org: Organization, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = (
        LedgerEntry.objects.filter(organization=org, seq__gt=after_seq)
        .order_by("seq")
        .values_list(*ENTRY_COLUMNS)[:limit]
    )
    return [entry_dict(row) for row in rows]


# -- traces


def trace_for(*, org: Organization, ref: str) -> Trace | None:
    """The trace of the income with public reference `ref` (the live one if it was re-posted
    after a reversal); None when no income has that ref. Read from the cache in four queries."""
    # Sorted here, not by the database: ordering by seq tempts SQLite into the seq index.
    incomes = sorted(
        LedgerEntry.objects.filter(organization=org, ref=ref, type=EntryType.INCOME).values_list(
            "seq", "amount", "currency", "fund"
        )
    )
    if not incomes:
        return None
    reversed_ = set(
        LedgerEntry.objects.filter(
            organization=org, reverses__in=[row[0] for row in incomes]
        ).values_list("reverses", flat=True)
    )
    live = [row for row in incomes if row[0] not in reversed_]
    seq, amount, currency, fund = live[0] if live else incomes[-1]
    if not live:
        return Trace(ref, seq, amount, currency, fund, [], 0, reversed=True)
    consumer_type = LedgerEntry.objects.filter(
        organization=OuterRef("organization"), seq=OuterRef("consumer_seq")
    ).values("type")[:1]
    links = (
        TraceLink.objects.filter(organization=org, origin_seq=seq)
        .annotate(consumer_type=Subquery(consumer_type))
        .order_by("consumer_seq")
        .values_list("consumer_seq", "consumer_type", "amount")
    )
    unspent = (
        TraceLot.objects.filter(organization=org, origin_seq=seq).aggregate(total=Sum("remaining"))[
            "total"
        ]
        or 0
    )
    items = [TraceItem(seq=s, type=t, amount=a) for s, t, a in links]
    return Trace(ref, seq, amount, currency, fund, items, unspent, reversed=False)


# -- the tree


class TreeReader:
    """Subtree hashes of the first `size` leaves, from stored block hashes and leaf hashes.

    Ranges the RFC recursion asks for are aligned (see `merkle`): a complete range of at least
    BLOCK_SIZE leaves is a run of whole blocks, and any shorter range lies inside one block.
    """

    def __init__(self, *, org: Organization, size: int) -> None:
        self.org = org
        self.size = size
        self._leaves: dict[int, list[bytes]] = {}
        self._all_blocks: list[bytes] | None = None

    def _block_leaves(self, block: int) -> list[bytes]:
        found = self._leaves.get(block)
        if found is None:
            lo = block * BLOCK_SIZE
            hi = min(lo + BLOCK_SIZE, self.size)
            found = [
                bytes(h)
                for h in LedgerEntry.objects.filter(organization=self.org, seq__gte=lo, seq__lt=hi)
                .order_by("seq")
                .values_list("leaf_hash", flat=True)
            ]
            if len(found) != hi - lo:
                raise LookupError(f"Leaves {lo}..{hi - 1} are missing from the ledger.")
            self._leaves[block] = found
        return found

    def _blocks(self, lo: int, hi: int) -> list[bytes]:
        # A proof's siblings cover every leaf but one, so read all complete blocks at once.
        if self._all_blocks is None:
            count = self.size // BLOCK_SIZE
            self._all_blocks = [
                bytes(h)
                for h in LedgerBlock.objects.filter(organization=self.org, index__lt=count)
                .order_by("index")
                .values_list("hash", flat=True)
            ]
            if len(self._all_blocks) != count:
                raise LookupError("Block hashes are missing from the ledger.")
        return self._all_blocks[lo:hi]

    def subtree(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n >= BLOCK_SIZE and n & (n - 1) == 0:
            return merkle.perfect_root(self._blocks(lo // BLOCK_SIZE, hi // BLOCK_SIZE))
        if n <= BLOCK_SIZE:
            block = lo // BLOCK_SIZE
            offset = lo - block * BLOCK_SIZE
            return merkle.root_of(self._block_leaves(block)[offset : offset + n])
        k = merkle.split_point(n)
        return merkle.node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self) -> bytes:
        return merkle.EMPTY_ROOT if self.size == 0 else self.subtree(0, self.size)


def root_at(*, org: Organization, tree_size: int) -> bytes:
    return TreeReader(org=org, size=tree_size).root()


def inclusion_proof(*, org: Organization, seq: int, tree_size: int) -> list[bytes]:
    """The audit path of entry `seq` in the tree of the first `tree_size` entries."""
    if not 0 <= seq < tree_size <= log_size(org=org):
        raise ValueError("Need 0 ≤ seq < tree_size ≤ the size of the log.")
    return merkle.inclusion_path(seq, tree_size, TreeReader(org=org, size=tree_size).subtree)


def consistency_proof(*, org: Organization, first: int, second: int) -> list[bytes]:
    """The proof that the tree of `second` entries extends the tree of `first`."""
    if not 0 <= first <= second <= log_size(org=org):
        raise ValueError("Need 0 ≤ first ≤ second ≤ the size of the log.")
    return merkle.consistency_path(first, second, TreeReader(org=org, size=second).subtree)


def proof_json(*, org: Organization, seq: int, tree_size: int) -> dict[str, Any]:
    """The inclusion proof of `seq` in the tree of `tree_size` (JSON-ready, hex hashes)."""
    entry = entry_at(org=org, seq=seq)
    if entry is None:
        raise ValueError("No such entry.")
    reader = TreeReader(org=org, size=tree_size)
    return {
        "seq": seq,
        "tree_size": tree_size,
        "leaf_hash": bytes(entry.leaf_hash).hex(),
        "audit_path": merkle.hex_list(inclusion_proof(org=org, seq=seq, tree_size=tree_size)),
        "root_hash": reader.root().hex(),
    }


def default_tree_size(*, org: Organization, seq: int = 0) -> int:
    """The latest checkpoint's size, so proofs check against a signed root, when it covers
    entry `seq`; else the log's size."""
    latest = latest_checkpoint(org=org)
    if latest is not None and seq < latest.tree_size:
        return latest.tree_size
    return log_size(org=org)


# -- checkpoints and the key


def latest_checkpoint(*, org: Organization) -> Checkpoint | None:
    return Checkpoint.objects.filter(organization=org).order_by("-tree_size").first()


def checkpoint_at(*, org: Organization, tree_size: int) -> Checkpoint | None:
    return Checkpoint.objects.filter(organization=org, tree_size=tree_size).first()


def checkpoint_json(checkpoint: Checkpoint, *, org: Organization) -> dict[str, Any]:
    """checkpoint.json: the four signed fields and the base64 signature."""
    return {
        "organization": org.slug,
        "tree_size": checkpoint.tree_size,
        "root_hash": bytes(checkpoint.root_hash).hex(),
        "timestamp": format_time(checkpoint.timestamp),
        "signature": checkpoint.signature,
    }


def public_key(*, org: Organization) -> bytes | None:
    """The raw 32-byte Ed25519 public key, once a checkpoint has been signed."""
    key = SigningKey.objects.filter(organization=org).values_list("public_key", flat=True).first()
    return bytes(key) if key is not None else None
