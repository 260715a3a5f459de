"""Writes to the ledger: append entries, sign checkpoints, rebuild the trace cache.

Appends are serialized per organization by locking its `LedgerHead` row (SELECT … FOR UPDATE
on PostgreSQL; SQLite's IMMEDIATE transactions serialize every writer anyway), so seq numbers
have no gaps and each balance check sees the balance left by the entry before it.
"""

import base64
import datetime
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from solidaria.core.audit import Actor, record
from solidaria.core.errors import Conflict, Invalid
from solidaria.core.models import Organization
from solidaria.ledger import signing, tracing
from solidaria.ledger.canonical import (
    MAX_SAFE_INTEGER,
    NotCanonicalizable,
    canonical_unchecked,
    check_text,
    format_time,
    public_entry,
)
from solidaria.ledger.merkle import leaf_hash, perfect_root
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

_FUND = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REF = re.compile(r"^[^\s\x00-\x1f]{1,64}$")
_TYPES = frozenset(EntryType.values)
_INSERT_BATCH = 1000
_ENTRY_COLUMNS = (
    "organization",
    "seq",
    "type",
    "at",
    "fund",
    "to_fund",
    "amount",
    "currency",
    "ref",
    "reverses",
    "category",
    "description",
    "evidence_sha256",
    "body",
    "leaf_hash",
)
_LOT_CHUNK = 2000
_IN_CHUNK = 500


@dataclass(frozen=True)
class NewEntry:
    """One entry to append (the arguments of `post_entry`)."""

    type: str
    fund: str
    amount: int
    currency: str
    ref: str
    at: datetime.datetime
    to_fund: str = ""
    reverses: int | None = None
    category: str = ""
    description: str = ""
    evidence_sha256: str = ""


def post_entry(
    *,
    org: Organization,
    actor: Actor,
    type: str,
    fund: str,
    amount: int,
    currency: str,
    ref: str,
    at: datetime.datetime,
    to_fund: str = "",
    reverses: int | None = None,
    category: str = "",
    description: str = "",
    evidence_sha256: str = "",
) -> LedgerEntry:
    """Append one entry to the organization's public ledger and return it (`seq` = leaf index).

    `type` is income, allocation, expense, refund or reversal; `amount` is integer minor units
    (> 0); funds are slugs; `ref` is an opaque public reference (never personal data); `at` is
    an aware moment, kept to the second in UTC. An allocation needs `to_fund`; an expense may
    carry `category`, `description` and `evidence_sha256` (hex); a reversal names `reverses`,
    an earlier entry that is not a reversal and not yet reversed, and repeats its fund,
    to_fund, amount and currency.

    Balances, block hashes and the trace cache are updated in the same transaction, with one
    audit event `ledger.entry.posted`. Call inside your own `transaction.atomic` to tie the
    entry to your own rows.

    Raises `Invalid` for malformed input and `Conflict` when money leaving a fund (expense,
    refund, allocation out of `fund`, reversal of an income or of an allocation into a fund)
    exceeds what the fund holds in that currency, or when an income's `ref` is already used.
    """
    new = NewEntry(
        type=type,
        fund=fund,
        amount=amount,
        currency=currency,
        ref=ref,
        at=at,
        to_fund=to_fund,
        reverses=reverses,
        category=category,
        description=description,
        evidence_sha256=evidence_sha256,
    )
    return post_entries(org=org, actor=actor, entries=[new])[0]


def post_entries(
    *, org: Organization, actor: Actor, entries: Sequence[NewEntry]
) -> list[LedgerEntry]:
    """Append several entries in order, all or none, and return them: `append_entries`."""
    appended, single = _append(org=org, actor=actor, entries=entries)
    if single is not None:
        return [single]
    if not appended:
        return []
    return list(
        LedgerEntry.objects.filter(
            organization=org, seq__gte=appended.start, seq__lt=appended.stop
        ).order_by("seq")
    )


def append_entries(*, org: Organization, actor: Actor, entries: Sequence[NewEntry]) -> range:
    """Append several entries in order, all or none; return the range of their seqs.

    `post_entry`'s rules, one lock, rows written with one multi-row statement per table: the
    path for bulk loads. One audit event: `ledger.entry.posted` for a single entry, else
    `ledger.entries.posted` with the first and last seq.
    """
    return _append(org=org, actor=actor, entries=entries)[0]


def _append(
    *, org: Organization, actor: Actor, entries: Sequence[NewEntry]
) -> tuple[range, LedgerEntry | None]:
    """Append; the second value is the entry itself when there was exactly one."""
    if not entries:
        return range(0), None
    for new in entries:
        _validate(new)
    with transaction.atomic():
        head = _locked_head(org)
        batch = _Batch(org=org, head=head)
        batch.prefetch_incomes(
            {new.ref for new in entries if new.type in (EntryType.INCOME, EntryType.REFUND)}
        )
        for new in entries:
            batch.add(new)
        appended = batch.flush()
        if connection.vendor == "postgresql" and len(appended) * 10 >= head.size > 1000:
            # A bulk load that grew the log by a tenth or more leaves the planner's statistics
            # stale until autovacuum catches up; with them it sorts a whole queue to read its
            # front. ANALYZE samples a few thousand rows and runs inside the transaction.
            with connection.cursor() as cursor:
                for model in (LedgerEntry, TraceLot, TraceLink, LedgerBlock):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        entry = None
        if len(appended) == 1:
            entry = LedgerEntry.objects.get(organization=org, seq=appended.start)
            record(
                org=org,
                actor=actor,
                code="ledger.entry.posted",
                subject=entry,
                extra={"seq": entry.seq, "type": entry.type},
            )
        else:
            record(
                org=org,
                actor=actor,
                code="ledger.entries.posted",
                extra={
                    "first_seq": appended.start,
                    "last_seq": appended.stop - 1,
                    "count": len(appended),
                },
            )
    return appended, entry


def _insert(model: type[models.Model], columns: Sequence[str], rows: list[tuple]) -> None:
    """INSERT many rows in one prepared statement: the ORM's per-object work costs more than
    the database's at a million entries."""
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_BATCH):
            cursor.executemany(sql, rows[start : start + _INSERT_BATCH])


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, field=field)


def _validate(new: NewEntry) -> None:
    if new.type not in _TYPES:
        raise _invalid("type", _("Unknown entry type “%(type)s”.") % {"type": new.type})
    if isinstance(new.amount, bool) or not isinstance(new.amount, int):
        raise _invalid("amount", _("The amount must be an integer number of minor units."))
    if not 0 < new.amount <= MAX_SAFE_INTEGER:
        raise _invalid("amount", _("The amount must be more than zero and below 2^53."))
    for name in ("fund", "to_fund", "currency", "ref", "category", "description"):
        value = getattr(new, name)
        if not isinstance(value, str):
            raise _invalid(name, _("Must be text."))
        try:
            check_text(value)
        except NotCanonicalizable as error:
            raise _invalid(name, str(error)) from None
    if not _FUND.match(new.fund):
        raise _invalid("fund", _("A fund is named by its slug (lowercase letters, digits, -)."))
    if not _CURRENCY.match(new.currency):
        raise _invalid("currency", _("The currency must be an ISO 4217 code such as EUR."))
    if not _REF.match(new.ref):
        raise _invalid("ref", _("The reference must be 1 to 64 characters without spaces."))
    if not isinstance(new.at, datetime.datetime) or timezone.is_naive(new.at):
        raise _invalid("at", _("The moment must be an aware date and time."))
    if not 2000 <= new.at.astimezone(datetime.UTC).year <= 9999:
        raise _invalid("at", _("The moment must lie between the years 2000 and 9999."))
    if new.type == EntryType.ALLOCATION:
        if not _FUND.match(new.to_fund):
            raise _invalid("to_fund", _("An allocation needs the slug of the receiving fund."))
        if new.to_fund == new.fund:
            raise _invalid("to_fund", _("An allocation moves money between two different funds."))
    elif new.to_fund and new.type != EntryType.REVERSAL:
        raise _invalid("to_fund", _("Only allocations (and their reversals) name a to_fund."))
    if new.type == EntryType.REVERSAL:
        if isinstance(new.reverses, bool) or not isinstance(new.reverses, int):
            raise _invalid("reverses", _("A reversal names the seq of the entry it reverses."))
    elif new.reverses is not None:
        raise _invalid("reverses", _("Only a reversal names the entry it reverses."))
    if new.type != EntryType.EXPENSE and (new.category or new.evidence_sha256):
        raise _invalid("category", _("Only expenses carry a category and evidence."))
    if new.description and new.type not in (EntryType.EXPENSE, EntryType.REVERSAL):
        raise _invalid("description", _("Only expenses and reversals carry a description."))
    if len(new.category) > 50:
        raise _invalid("category", _("At most 50 characters."))
    if len(new.description) > 200:
        raise _invalid("description", _("At most 200 characters."))
    if new.evidence_sha256 and not _SHA256.match(new.evidence_sha256):
        raise _invalid("evidence_sha256", _("The evidence hash must be 64 lowercase hex digits."))


def _locked_head(org: Organization) -> LedgerHead:
    try:
        return LedgerHead.objects.select_for_update().get(organization=org)
    except LedgerHead.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            LedgerHead.objects.create(organization=org)
    except IntegrityError:
        pass  # another transaction created it first; lock theirs
    return LedgerHead.objects.select_for_update().get(organization=org)


def _deltas(
    type_: str, fund: str, to_fund: str, amount: int, currency: str
) -> list[tuple[str, str, int]]:
    """How an entry of this type (not a reversal) moves balances: (fund, currency, delta)."""
    if type_ == EntryType.INCOME:
        return [(fund, currency, amount)]
    if type_ == EntryType.ALLOCATION:
        return [(fund, currency, -amount), (to_fund, currency, amount)]
    return [(fund, currency, -amount)]  # expense, refund


@dataclass
class _Lot:
    id: int | None
    position: int
    origin: int
    remaining: int
    dirty: bool = False


class _DbQueue:
    """A fund's FIFO queue of lots: the front read from the database in chunks as consumed,
    lots added during this batch kept in memory until `_Batch.flush`."""

    def __init__(self, batch: "_Batch", fund: str, currency: str) -> None:
        self.batch = batch
        self.fund = fund
        self.currency = currency
        self.loaded: deque[_Lot] = deque()
        self.cursor = -1  # the highest position read from the database so far
        self.db_done = False
        # Read the front a little at a time at first (one expense usually needs one or two
        # lots), more when a batch keeps consuming.
        self.chunk = 16
        self.tail: deque[_Lot] = deque()

    def _rows(self, **filters: Any) -> list[_Lot]:
        rows = TraceLot.objects.filter(
            organization=self.batch.org, fund=self.fund, currency=self.currency, **filters
        ).order_by("position")
        lots = []
        for id_, position, origin, remaining in rows.values_list(
            "id", "position", "origin_seq", "remaining"
        )[: self.chunk if "origin_seq" not in filters else None]:
            lot = self.batch.lots.get(id_)
            if lot is None:
                lot = self.batch.lots[id_] = _Lot(id_, position, origin, remaining)
            lots.append(lot)
        return lots

    def _front(self) -> _Lot | None:
        while True:
            while self.loaded and not self.loaded[0].remaining:
                self.loaded.popleft()
            if self.loaded:
                return self.loaded[0]
            if self.db_done:
                break
            lots = self._rows(position__gt=self.cursor)
            if len(lots) < self.chunk:
                self.db_done = True
            self.chunk = min(self.chunk * 4, _LOT_CHUNK)
            if lots:
                self.cursor = lots[-1].position
            self.loaded.extend(lots)
        while self.tail and not self.tail[0].remaining:
            self.tail.popleft()
        return self.tail[0] if self.tail else None

    def append(self, origin: int, amount: int) -> None:
        lot = _Lot(None, self.batch.next_position(), origin, amount, dirty=True)
        self.tail.append(lot)
        self.batch.new_lots.append(lot)

    @staticmethod
    def _take(lot: _Lot, amount: int) -> int:
        taken = min(amount, lot.remaining)
        lot.remaining -= taken
        lot.dirty = True
        return taken

    def consume(self, amount: int) -> list[tracing.Take]:
        takes = []
        while amount:
            lot = self._front()
            if lot is None:
                break
            taken = self._take(lot, amount)
            takes.append((lot.origin, taken))
            amount -= taken
        return takes

    def consume_origin(self, origin: int, amount: int) -> list[tracing.Take]:
        candidates = {id(lot): lot for lot in self.loaded if lot.origin == origin}
        if not self.db_done:
            for lot in self._rows(position__gt=self.cursor, origin_seq=origin):
                candidates[id(lot)] = lot
        for lot in self.tail:
            if lot.origin == origin:
                candidates[id(lot)] = lot
        takes = []
        for lot in sorted(candidates.values(), key=lambda lot: lot.position):
            if not amount:
                break
            if lot.remaining:
                taken = self._take(lot, amount)
                takes.append((origin, taken))
                amount -= taken
        return takes


class _Batch:
    """The state of one append: balances, queues and the partial block, written at `flush`."""

    def __init__(self, *, org: Organization, head: LedgerHead) -> None:
        self.org = org
        self.head = head
        self.seq = head.size
        self.rows: list[tuple] = []  # LedgerEntry columns, in _ENTRY_COLUMNS order
        self.news: list[NewEntry] = []
        self.blocks: list[tuple] = []
        block_start = head.size - head.size % BLOCK_SIZE
        self.pending = [
            bytes(h)
            for h in LedgerEntry.objects.filter(organization=org, seq__gte=block_start)
            .order_by("seq")
            .values_list("leaf_hash", flat=True)
        ]
        self.balances: dict[tuple[str, str], int] = {}
        self.balance_rows: dict[tuple[str, str], FundBalance | None] = {}
        self.queues: dict[tuple[str, str], _DbQueue] = {}
        self.lots: dict[int, _Lot] = {}
        self.new_lots: list[_Lot] = []
        self.links: list[tuple] = []
        self.needs_rebuild = False
        # income ref → live income seq, for refs this batch has asked about
        self.live_income: dict[str, int | None] = {}
        self.reversed_in_batch: set[int] = set()
        self.tracer = tracing.Tracer(queue=self.queue, income_for_ref=self.income_for_ref)

    # -- caches

    @staticmethod
    def adapt_time(moment: datetime.datetime) -> Any:
        if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
            # What Django's SQLite adapter writes for a UTC moment, without its checks.
            return str(moment.replace(tzinfo=None))
        return connection.ops.adapt_datetimefield_value(moment)

    def next_position(self) -> int:
        self.head.lot_counter += 1
        return self.head.lot_counter

    def queue(self, fund: str, currency: str) -> _DbQueue:
        key = (fund, currency)
        found = self.queues.get(key)
        if found is None:
            found = self.queues[key] = _DbQueue(self, fund, currency)
        return found

    def balance(self, fund: str, currency: str) -> int:
        key = (fund, currency)
        if key not in self.balances:
            row = FundBalance.objects.filter(
                organization=self.org, fund=fund, currency=currency
            ).first()
            self.balance_rows[key] = row
            self.balances[key] = row.amount if row else 0
        return self.balances[key]

    def prefetch_incomes(self, refs: set[str]) -> None:
        """Find the live (not reversed) income of each ref in a few queries."""
        wanted = sorted(ref for ref in refs if ref not in self.live_income)
        found: dict[str, list[int]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            for ref, seq in LedgerEntry.objects.filter(
                organization=self.org,
                type=EntryType.INCOME,
                ref__in=wanted[start : start + _IN_CHUNK],
            ).values_list("ref", "seq"):
                found.setdefault(ref, []).append(seq)
        seqs = sorted(seq for found_seqs in found.values() for seq in found_seqs)
        reversed_: set[int] = set()
        for start in range(0, len(seqs), _IN_CHUNK):
            reversed_.update(
                LedgerEntry.objects.filter(
                    organization=self.org, reverses__in=seqs[start : start + _IN_CHUNK]
                ).values_list("reverses", flat=True)
            )
        for ref in wanted:
            live = sorted(seq for seq in found.get(ref, []) if seq not in reversed_)
            self.live_income[ref] = live[0] if live else None

    def income_for_ref(self, ref: str) -> int | None:
        if ref not in self.live_income:
            self.prefetch_incomes({ref})
        return self.live_income[ref]

    def _entry(self, seq: int) -> LedgerEntry | NewEntry | None:
        if seq >= self.head.size:
            index = seq - self.head.size
            return self.news[index] if index < len(self.news) else None
        return LedgerEntry.objects.filter(organization=self.org, seq=seq).first()

    # -- one entry

    def add(self, new: NewEntry) -> None:
        seq = self.seq
        deltas: list[tuple[str, str, int]]
        if new.type == EntryType.REVERSAL:
            deltas = self._check_reversal(new, seq)
        else:
            deltas = _deltas(new.type, new.fund, new.to_fund, new.amount, new.currency)
        if new.type == EntryType.INCOME and self.income_for_ref(new.ref) is not None:
            raise Conflict(
                _("An income with the reference “%(ref)s” is already in the ledger.")
                % {"ref": new.ref}
            )
        for fund, currency, delta in deltas:
            held = self.balance(fund, currency)
            if held + delta < 0:
                raise Conflict(
                    _(
                        "Fund “%(fund)s” holds %(balance)s %(currency)s (minor units); "
                        "%(amount)s cannot leave it."
                    )
                    % {"fund": fund, "balance": held, "currency": currency, "amount": -delta}
                )
        for fund, currency, delta in deltas:
            self.balances[(fund, currency)] += delta

        at = new.at.astimezone(datetime.UTC).replace(microsecond=0)
        body = canonical_unchecked(
            public_entry(
                seq=seq,
                type=new.type,
                at=format_time(at),
                fund=new.fund,
                amount=new.amount,
                currency=new.currency,
                ref=new.ref,
                to_fund=new.to_fund,
                reverses=new.reverses,
                category=new.category,
                description=new.description,
                evidence_sha256=new.evidence_sha256,
            )
        )
        digest = leaf_hash(body)
        self.news.append(new)
        self.rows.append(
            (
                self.org.id,
                seq,
                new.type,
                self.adapt_time(at),
                new.fund,
                new.to_fund,
                new.amount,
                new.currency,
                new.ref,
                new.reverses,
                new.category,
                new.description,
                new.evidence_sha256,
                body.decode("utf-8"),
                digest,
            )
        )
        self.pending.append(digest)
        if len(self.pending) == BLOCK_SIZE:
            self.blocks.append((self.org.id, seq // BLOCK_SIZE, perfect_root(self.pending)))
            self.pending = []
        self.seq += 1

        if new.type == EntryType.INCOME:
            self.live_income[new.ref] = seq
        elif new.type == EntryType.REVERSAL:
            # Reversals drop entries from the tracing replay; the whole cache is rebuilt.
            self.needs_rebuild = True
        if not self.needs_rebuild:
            for origin, consumer, taken in self.tracer.apply(
                seq=seq,
                type=new.type,
                fund=new.fund,
                to_fund=new.to_fund,
                amount=new.amount,
                currency=new.currency,
                ref=new.ref,
            ):
                self.links.append((self.org.id, origin, consumer, taken))

    def _check_reversal(self, new: NewEntry, seq: int) -> list[tuple[str, str, int]]:
        assert new.reverses is not None
        target = self._entry(new.reverses) if 0 <= new.reverses < seq else None
        if target is None:
            raise _invalid("reverses", _("There is no entry %(seq)s.") % {"seq": new.reverses})
        if target.type == EntryType.REVERSAL:
            raise _invalid("reverses", _("A reversal cannot itself be reversed."))
        already = new.reverses in self.reversed_in_batch or (
            new.reverses < self.head.size
            and LedgerEntry.objects.filter(organization=self.org, reverses=new.reverses).exists()
        )
        if already:
            raise Conflict(_("Entry %(seq)s is already reversed.") % {"seq": new.reverses})
        for name in ("fund", "to_fund", "amount", "currency"):
            if getattr(new, name) != getattr(target, name):
                raise _invalid(
                    name,
                    _("A reversal repeats the %(field)s of the entry it reverses.")
                    % {"field": name},
                )
        self.reversed_in_batch.add(new.reverses)
        if target.type == EntryType.INCOME:
            # At most one income per ref is live, and this one was: its ref is free again.
            self.live_income[target.ref] = None
        return [
            (fund, currency, -delta)
            for fund, currency, delta in _deltas(
                target.type, target.fund, target.to_fund, target.amount, target.currency
            )
        ]

    # -- writing

    def flush(self) -> range:
        org = self.org
        appended = range(self.head.size, self.seq)
        _insert(LedgerEntry, _ENTRY_COLUMNS, self.rows)
        _insert(LedgerBlock, ("organization", "index", "hash"), self.blocks)
        updates, creates = [], []
        for key, amount in self.balances.items():
            row = self.balance_rows.get(key)
            if row is None:
                creates.append(
                    FundBalance(organization=org, fund=key[0], currency=key[1], amount=amount)
                )
            elif row.amount != amount:
                row.amount = amount
                updates.append(row)
        FundBalance.objects.bulk_update(updates, ["amount"], batch_size=_INSERT_BATCH)
        FundBalance.objects.bulk_create(creates, batch_size=_INSERT_BATCH)
        self.head.size = self.seq
        self.head.updated_at = timezone.now()
        if self.needs_rebuild:
            self.head.save(update_fields=["size", "updated_at"])
            rebuild_trace_cache(org=org)
            return appended
        spent = [lot.id for lot in self.lots.values() if lot.dirty and not lot.remaining]
        for start in range(0, len(spent), _INSERT_BATCH):
            TraceLot.objects.filter(id__in=spent[start : start + _INSERT_BATCH]).delete()
        changed = [
            TraceLot(id=lot.id, remaining=lot.remaining)
            for lot in self.lots.values()
            if lot.dirty and lot.remaining
        ]
        TraceLot.objects.bulk_update(changed, ["remaining"], batch_size=_INSERT_BATCH)
        _insert(
            TraceLot,
            ("organization", "fund", "currency", "position", "origin_seq", "remaining"),
            [
                (org.id, queue.fund, queue.currency, lot.position, lot.origin, lot.remaining)
                for queue in self.queues.values()
                for lot in queue.tail
                if lot.remaining
            ],
        )
        _insert(TraceLink, ("organization", "origin_seq", "consumer_seq", "amount"), self.links)
        self.head.save(update_fields=["size", "lot_counter", "updated_at"])
        return appended


def rebuild_trace_cache(*, org: Organization) -> None:
    """Recompute the trace cache (lots and links) from the log with the pure function.

    Needed after a reversal, which removes entries from the replay; rare, and proportional
    to the log. Runs inside the caller's transaction when there is one.
    """
    from solidaria.ledger.queries import iter_public_entries, reversed_seqs

    with transaction.atomic():
        head = _locked_head(org)
        state = tracing.replay(
            iter_public_entries(org=org, upto=head.size), reversed_seqs(org=org, upto=head.size)
        )
        TraceLot.objects.filter(organization=org).delete()
        TraceLink.objects.filter(organization=org).delete()
        position = 0
        lots = []
        for (fund, currency), queue in state.queues.items():
            for origin, remaining in queue.lots:
                position += 1
                lots.append((org.id, fund, currency, position, origin, remaining))
        _insert(
            TraceLot,
            ("organization", "fund", "currency", "position", "origin_seq", "remaining"),
            lots,
        )
        _insert(
            TraceLink,
            ("organization", "origin_seq", "consumer_seq", "amount"),
            [
                (org.id, origin, consumer, amount)
                for (origin, consumer), amount in state.links.items()
            ],
        )
        head.lot_counter = position
        head.save(update_fields=["lot_counter"])


def ensure_signing_key(*, org: Organization) -> SigningKey:
    """The organization's Ed25519 key, generated (and stored encrypted) on first use."""
    found = SigningKey.objects.filter(organization=org).first()
    if found is not None:
        return found
    private = signing.new_private_key()
    public = signing.public_key_of(private)
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                organization=org,
                public_key=public,
                private_key=base64.b64encode(private).decode("ascii"),
                fingerprint=signing.fingerprint(public),
            )
    except IntegrityError:
        return SigningKey.objects.get(organization=org)


def make_checkpoint(*, org: Organization, actor: Actor) -> Checkpoint:
    """Sign the current tree head; when the log has not grown since the last one, return it.

    One audit event `ledger.checkpoint.made` when a new checkpoint is signed.
    """
    from solidaria.ledger.queries import TreeReader

    key = ensure_signing_key(org=org)
    with transaction.atomic():
        head = _locked_head(org)
        last = Checkpoint.objects.filter(organization=org).order_by("-tree_size").first()
        if last is not None and last.tree_size == head.size:
            return last
        root = TreeReader(org=org, size=head.size).root()
        now = timezone.now().replace(microsecond=0)
        fields = signing.signed_fields(
            organization=org.slug,
            tree_size=head.size,
            root_hash=root.hex(),
            timestamp=format_time(now),
        )
        checkpoint = Checkpoint.objects.create(
            organization=org,
            tree_size=head.size,
            root_hash=root,
            timestamp=now,
            signature=signing.sign(base64.b64decode(key.private_key), fields),
            key_fingerprint=key.fingerprint,
        )
        record(
            org=org,
            actor=actor,
            code="ledger.checkpoint.made",
            subject=checkpoint,
            extra={"tree_size": head.size, "root_hash": root.hex()},
        )
    return checkpoint
