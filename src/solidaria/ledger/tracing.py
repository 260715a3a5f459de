"""Where each income went: a pure function of the public log (docs/ledger.md, "Tracing").

1. Drop every reversed entry and every reversal.
2. Replay the rest in seq order. Each (fund, currency) keeps a FIFO queue of lots
   (origin income seq, remaining amount):
   - `income` appends a lot (its own seq, its amount) to its fund's queue;
   - `expense` consumes its amount from the front of its fund's queue and records trace items
     (origin seq → expense seq, amount);
   - `refund` first consumes, in queue order, the lots of the income whose `ref` equals the
     refund's `ref`, then from the front; trace items as for an expense;
   - `allocation` consumes from the front of `fund`'s queue and appends lots with the same
     origins and amounts, in the same order, to `to_fund`'s queue (no trace item).
   When a queue runs dry the rest of the amount is untraced.

`Tracer` holds the rule once; the in-memory queues here serve the pure function, and the
database-backed queues in `actions` serve the incremental cache, so both run the same code.
"""

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

INCOME, ALLOCATION, EXPENSE, REFUND, REVERSAL = (
    "income",
    "allocation",
    "expense",
    "refund",
    "reversal",
)

Take = tuple[int, int]  # (origin income seq, amount)


class Queue(Protocol):
    def append(self, origin: int, amount: int) -> None: ...

    def consume(self, amount: int) -> list[Take]: ...

    def consume_origin(self, origin: int, amount: int) -> list[Take]: ...


class Tracer:
    """Applies one kept entry; `queue(fund, currency)` and `income_for_ref(ref)` are given."""

    def __init__(
        self,
        *,
        queue: Callable[[str, str], Queue],
        income_for_ref: Callable[[str], int | None],
    ) -> None:
        self._queue = queue
        self._income_for_ref = income_for_ref

    def apply(
        self, *, seq: int, type: str, fund: str, to_fund: str, amount: int, currency: str, ref: str
    ) -> list[tuple[int, int, int]]:
        """The trace items (origin seq, consumer seq, amount) the entry makes, merged by origin."""
        source = self._queue(fund, currency)
        if type == INCOME:
            source.append(seq, amount)
            return []
        if type == ALLOCATION:
            target = self._queue(to_fund, currency)
            for origin, taken in source.consume(amount):
                target.append(origin, taken)
            return []
        takes: list[Take] = []
        if type == REFUND:
            origin = self._income_for_ref(ref)
            if origin is not None:
                takes = source.consume_origin(origin, amount)
        rest = amount - sum(taken for _, taken in takes)
        if rest:
            takes += source.consume(rest)
        merged: dict[int, int] = {}
        for origin, taken in takes:
            merged[origin] = merged.get(origin, 0) + taken
        return [(origin, seq, taken) for origin, taken in merged.items()]


class MemoryQueue:
    """A FIFO queue of [origin, remaining] lots in memory."""

    __slots__ = ("lots",)

    def __init__(self) -> None:
        self.lots: deque[list[int]] = deque()

    def append(self, origin: int, amount: int) -> None:
        self.lots.append([origin, amount])

    def consume(self, amount: int) -> list[Take]:
        takes = []
        lots = self.lots
        while amount and lots:
            lot = lots[0]
            taken = min(amount, lot[1])
            takes.append((lot[0], taken))
            lot[1] -= taken
            amount -= taken
            if not lot[1]:
                lots.popleft()
        return takes

    def consume_origin(self, origin: int, amount: int) -> list[Take]:
        takes = []
        for lot in self.lots:
            if not amount:
                break
            if lot[0] == origin and lot[1]:
                taken = min(amount, lot[1])
                takes.append((origin, taken))
                lot[1] -= taken
                amount -= taken
        if takes:
            self.lots = deque(lot for lot in self.lots if lot[1])
        return takes


@dataclass
class TraceState:
    """The outcome of the pure function over a whole log."""

    # (origin income seq, consumer seq) → amount
    links: dict[tuple[int, int], int] = field(default_factory=dict)
    # (fund, currency) → queue of lots, in order
    queues: dict[tuple[str, str], MemoryQueue] = field(default_factory=dict)
    # kept income seq → (ref, amount, currency, fund)
    incomes: dict[int, tuple[str, int, str, str]] = field(default_factory=dict)
    income_by_ref: dict[str, int] = field(default_factory=dict)
    # every entry's type by seq (consumers only), to name trace items
    consumer_types: dict[int, str] = field(default_factory=dict)
    reversed_seqs: set[int] = field(default_factory=set)

    def unspent(self, origin: int) -> int:
        return sum(
            lot[1] for queue in self.queues.values() for lot in queue.lots if lot[0] == origin
        )

    def trace(self, ref: str) -> dict[str, Any] | None:
        """The trace of the kept income with `ref`: the shape `docs/verify_ledger.py` prints."""
        seq = self.income_by_ref.get(ref)
        if seq is None:
            return None
        _ref, amount, currency, fund = self.incomes[seq]
        items = sorted(
            (consumer, taken) for (origin, consumer), taken in self.links.items() if origin == seq
        )
        return {
            "seq": seq,
            "amount": amount,
            "currency": currency,
            "fund": fund,
            "items": [
                {"seq": consumer, "type": self.consumer_types[consumer], "amount": taken}
                for consumer, taken in items
            ],
            "unspent": self.unspent(seq),
        }


def replay(entries: Iterable[dict[str, Any]], reversed_seqs: set[int]) -> TraceState:
    """The pure function: `entries` are public entries in seq order; `reversed_seqs` are the
    seqs named by some reversal's `reverses` (collected in a first pass)."""
    state = TraceState(reversed_seqs=reversed_seqs)

    def queue(fund: str, currency: str) -> MemoryQueue:
        key = (fund, currency)
        found = state.queues.get(key)
        if found is None:
            found = state.queues[key] = MemoryQueue()
        return found

    tracer = Tracer(queue=queue, income_for_ref=state.income_by_ref.get)
    for entry in entries:
        seq, type_ = entry["seq"], entry["type"]
        if type_ == REVERSAL or seq in reversed_seqs:
            continue
        if type_ == INCOME:
            state.incomes[seq] = (entry["ref"], entry["amount"], entry["currency"], entry["fund"])
            state.income_by_ref.setdefault(entry["ref"], seq)
        elif type_ in (EXPENSE, REFUND):
            state.consumer_types[seq] = type_
        for origin, consumer, taken in tracer.apply(
            seq=seq,
            type=type_,
            fund=entry["fund"],
            to_fund=entry.get("to_fund", ""),
            amount=entry["amount"],
            currency=entry["currency"],
            ref=entry["ref"],
        ):
            state.links[(origin, consumer)] = state.links.get((origin, consumer), 0) + taken
    return state
