"""`verify_ledger`: recompute everything the ledger stores and say where the first lie is.

Entries are streamed in seq order with a Merkle frontier (O(log n) memory): seq continuity,
`body` = canonical(columns), the leaf hash, every stored block hash, the root and Ed25519
signature of every checkpoint, balances that never go negative and equal the stored ones, a
spot check of the trace cache, and finally the books checks other apps registered.
"""

import hashlib
import re
from dataclasses import dataclass

from django.db.models import Sum

from solidaria.core.models import Organization
from solidaria.ledger import registry, signing
from solidaria.ledger.canonical import canonical_text_unchecked, format_time
from solidaria.ledger.merkle import EMPTY_ROOT, Frontier, fold
from solidaria.ledger.models import (
    BLOCK_SIZE,
    Checkpoint,
    EntryType,
    FundBalance,
    LedgerBlock,
    LedgerEntry,
    SigningKey,
    TraceLink,
    TraceLot,
)
from solidaria.ledger.queries import ENTRY_COLUMNS, _chunks, log_size, reversed_seqs

_SPOT_CHECKS = 50
_sha256 = hashlib.sha256
_SEQ_IN_TEXT = re.compile(r"\bseq (\d+)")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_seq: int | None
    message: str
    entries: int = 0
    checkpoints: int = 0
    root_hash: str = ""


class _Bad(Exception):
    def __init__(self, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.message = message


def _blocks(org: Organization):
    """Stored block hashes in index order, streamed."""
    next_index = 0
    while True:
        chunk = list(
            LedgerBlock.objects.filter(organization=org, index__gte=next_index)
            .order_by("index")
            .values_list("index", "hash")[:2000]
        )
        if not chunk:
            return
        for index, digest in chunk:
            yield index, bytes(digest)
        next_index = chunk[-1][0] + 1


def verify_ledger(*, org: Organization) -> VerifyResult:
    """Check the organization's log, its checkpoints, caches and books; never raises for a
    bad ledger (the result says what is wrong)."""
    state = {"entries": 0, "root": ""}
    checkpoints = list(
        Checkpoint.objects.filter(organization=org)
        .order_by("tree_size")
        .values_list("tree_size", "root_hash", "timestamp", "signature", "key_fingerprint")
    )
    try:
        _verify(org, checkpoints, state)
    except _Bad as bad:
        return VerifyResult(
            False, bad.seq, bad.message, state["entries"], len(checkpoints), state["root"]
        )
    return VerifyResult(
        True,
        None,
        f"{state['entries']} entries, {len(checkpoints)} checkpoints, root {state['root']}: ok",
        state["entries"],
        len(checkpoints),
        state["root"],
    )


def _verify(org: Organization, checkpoints: list, state: dict) -> None:
    size = log_size(org=org)
    signing_key = SigningKey.objects.filter(organization=org).first()
    public = bytes(signing_key.public_key) if signing_key else b""
    if signing_key and signing.fingerprint(public) != signing_key.fingerprint:
        raise _Bad(None, "The stored public key does not match its fingerprint.")

    def check_checkpoint(index: int, root: bytes) -> None:
        tree_size, stored_root, timestamp, signature, fingerprint = checkpoints[index]
        covered = tree_size - 1 if tree_size else None
        if bytes(stored_root) != root:
            raise _Bad(covered, f"Checkpoint at tree size {tree_size}: the root does not match.")
        if not signing_key or fingerprint != signing_key.fingerprint:
            raise _Bad(covered, f"Checkpoint at tree size {tree_size}: unknown signing key.")
        fields = signing.signed_fields(
            organization=org.slug,
            tree_size=tree_size,
            root_hash=root.hex(),
            timestamp=format_time(timestamp),
        )
        if not signing.verify(public, fields, signature):
            raise _Bad(covered, f"Checkpoint at tree size {tree_size}: bad signature.")

    # Leaves go into a frontier that is emptied at every block boundary: full, it holds
    # exactly the block's hash, which then goes into the frontier of blocks. Each leaf costs
    # about one node hash, and the root at any size folds the two stacks.
    blocks_frontier, leaves = Frontier(), Frontier()
    cp = 0
    while cp < len(checkpoints) and checkpoints[cp][0] == 0:
        check_checkpoint(cp, EMPTY_ROOT)
        cp += 1
    blocks = _blocks(org)
    balances: dict[tuple[str, str], int] = {}
    stride = max(1, size // _SPOT_CHECKS)
    sampled: list[tuple[int, int]] = []  # (income seq, amount)
    expected = 0
    encode = canonical_text_unchecked
    next_checkpoint = checkpoints[cp][0] if cp < len(checkpoints) else -1
    for chunk in _chunks(
        org=org, columns=(*ENTRY_COLUMNS, "body", "leaf_hash"), start=0, upto=None
    ):
        for row in chunk:
            (seq, type_, at, fund, amount, currency, ref, to_fund, reverses, category,
             description, evidence, stored_body, stored_hash) = row  # fmt: skip
            if seq != expected:
                raise _Bad(expected, f"Entry seq {expected} is missing.")
            when = at.isoformat()
            entry = {
                "seq": seq,
                "type": type_,
                "at": when[:19] + "Z" if when.endswith("+00:00") else format_time(at),
                "fund": fund,
                "amount": amount,
                "currency": currency,
                "ref": ref,
            }
            if to_fund:
                entry["to_fund"] = to_fund
            if reverses is not None:
                entry["reverses"] = reverses
            if category:
                entry["category"] = category
            if description:
                entry["description"] = description
            if evidence:
                entry["evidence_sha256"] = evidence
            body = encode(entry)
            if stored_body != body:
                raise _Bad(seq, f"Entry seq {seq}: the stored body differs from its fields.")
            digest = _sha256(b"\x00" + body.encode("utf-8")).digest()
            if stored_hash != digest and bytes(stored_hash) != digest:
                raise _Bad(seq, f"Entry seq {seq}: the stored leaf hash is wrong.")
            leaves.push(digest)
            if leaves.size == BLOCK_SIZE:
                index = seq // BLOCK_SIZE
                block_hash = leaves.hashes[0]
                stored = next(blocks, None)
                if stored is None or stored[0] != index or stored[1] != block_hash:
                    first = index * BLOCK_SIZE
                    raise _Bad(first, f"Block {index} (from seq {first}): wrong or missing hash.")
                blocks_frontier.push_subtree(BLOCK_SIZE, block_hash)
                leaves = Frontier()
            if type_ == EntryType.INCOME:
                pair = (fund, currency)
                balances[pair] = balances.get(pair, 0) + amount
                if len(sampled) <= seq // stride:
                    sampled.append((seq, amount))
            else:
                _apply_balance(org, row, balances)
            expected += 1
            if expected == next_checkpoint:
                while cp < len(checkpoints) and checkpoints[cp][0] == expected:
                    check_checkpoint(cp, fold([*blocks_frontier.hashes, *leaves.hashes]))
                    cp += 1
                next_checkpoint = checkpoints[cp][0] if cp < len(checkpoints) else -1
        state["entries"] = expected
    state["entries"] = expected
    state["root"] = fold([*blocks_frontier.hashes, *leaves.hashes]).hex()
    if expected != size:
        raise _Bad(
            expected, f"The log should hold {size} entries; entry seq {expected} is missing."
        )
    if cp < len(checkpoints):
        tree_size = checkpoints[cp][0]
        raise _Bad(size, f"Checkpoint at tree size {tree_size} covers entries the log lacks.")
    extra = next(blocks, None)
    if extra is not None:
        raise _Bad(extra[0] * BLOCK_SIZE, f"Block {extra[0]} covers entries the log lacks.")
    _check_balances(org, balances)
    _check_trace_cache(org, balances, sampled, size)
    for check in registry.books_checks():
        for problem in check(org):
            found = _SEQ_IN_TEXT.search(problem)
            raise _Bad(int(found.group(1)) if found else None, problem)


def _apply_balance(org: Organization, row: tuple, balances: dict[tuple[str, str], int]) -> None:
    seq, type_, _at, fund, amount, currency, _ref, to_fund, reverses = row[:9]
    sign = 1
    if type_ == EntryType.REVERSAL:
        target = (
            LedgerEntry.objects.filter(organization=org, seq=reverses, seq__lt=seq)
            .values_list("type", "fund", "to_fund", "amount", "currency")
            .first()
        )
        if (
            target is None
            or target[0] == EntryType.REVERSAL
            or target[1:] != (fund, to_fund, amount, currency)
        ):
            raise _Bad(seq, f"Entry seq {seq} reverses an entry that cannot be reversed.")
        type_, sign = target[0], -1
    if type_ == EntryType.INCOME:
        moves = [(fund, amount)]
    elif type_ == EntryType.ALLOCATION:
        moves = [(fund, -amount), (to_fund, amount)]
    else:
        moves = [(fund, -amount)]
    for fund_, delta in moves:
        key = (fund_, currency)
        balances[key] = balances.get(key, 0) + sign * delta
        if balances[key] < 0:
            raise _Bad(seq, f"Entry seq {seq} takes fund “{fund_}” below zero.")


def _check_balances(org: Organization, balances: dict[tuple[str, str], int]) -> None:
    stored = {
        (fund, currency): amount
        for fund, currency, amount in FundBalance.objects.filter(organization=org).values_list(
            "fund", "currency", "amount"
        )
    }
    for key in sorted(set(stored) | set(balances)):
        if stored.get(key, 0) != balances.get(key, 0):
            raise _Bad(
                None,
                f"Stored balance of fund “{key[0]}” in {key[1]} is {stored.get(key, 0)}; "
                f"the log says {balances.get(key, 0)}.",
            )


def _check_trace_cache(
    org: Organization, balances: dict[tuple[str, str], int], sampled: list, size: int
) -> None:
    # Lots hold every traced unit still unspent, so per queue they hold at least the balance
    # (more only when an earlier queue ran dry after a reversal).
    lots = {
        (fund, currency): total
        for fund, currency, total in TraceLot.objects.filter(organization=org)
        .values_list("fund", "currency")
        .annotate(total=Sum("remaining"))
        .values_list("fund", "currency", "total")
    }
    for key, held in balances.items():
        if lots.get(key, 0) < held:
            raise _Bad(None, f"Trace cache: fund “{key[0]}” in {key[1]} lacks lots.")
    if TraceLot.objects.filter(organization=org, remaining__lte=0).exists():
        raise _Bad(None, "Trace cache: a lot is empty or negative.")
    dropped = reversed_seqs(org=org)
    # Conservation: a kept income's amount is what it paid for plus what is left of it.
    for seq, amount in sampled:
        paid = (
            TraceLink.objects.filter(organization=org, origin_seq=seq).aggregate(t=Sum("amount"))[
                "t"
            ]
            or 0
        )
        left = (
            TraceLot.objects.filter(organization=org, origin_seq=seq).aggregate(t=Sum("remaining"))[
                "t"
            ]
            or 0
        )
        expected = 0 if seq in dropped else amount
        if paid + left != expected:
            raise _Bad(seq, f"Trace cache: income seq {seq} accounts for {paid + left}.")
    if TraceLink.objects.filter(organization=org, consumer_seq__gte=size).exists():
        raise _Bad(None, "Trace cache: a trace item names an entry beyond the log.")
