"""Tracing: the incremental cache always equals the pure function of the public log."""

import contextlib
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidaria.core.errors import DomainError
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.ledger import queries, tracing
from solidaria.ledger.actions import NewEntry, post_entries
from solidaria.ledger.models import LedgerEntry, TraceLink, TraceLot
from solidaria.ledger.tests.factories import AT, TEST_ACTOR, expense, income, post

pytestmark = pytest.mark.django_db
FUNDS = ["general", "water", "school"]


def _assert_cache_is_the_pure_function(org) -> tracing.TraceState:
    state = tracing.replay(queries.iter_public_entries(org=org), queries.reversed_seqs(org=org))
    links = {
        (origin, consumer): amount
        for origin, consumer, amount in TraceLink.objects.filter(organization=org).values_list(
            "origin_seq", "consumer_seq", "amount"
        )
    }
    assert links == state.links
    lots = defaultdict(list)
    for fund, currency, origin, remaining in (
        TraceLot.objects.filter(organization=org)
        .order_by("position")
        .values_list("fund", "currency", "origin_seq", "remaining")
    ):
        lots[(fund, currency)].append([origin, remaining])
    assert dict(lots) == {key: list(q.lots) for key, q in state.queues.items() if q.lots}
    refs = LedgerEntry.objects.filter(organization=org, type="income").values_list("ref", flat=True)
    for ref in set(refs):
        found = queries.trace_for(org=org, ref=ref)
        expected = state.trace(ref)
        if expected is None:
            assert found.reversed
            assert (found.items, found.unspent) == ([], 0)
            continue
        assert found.seq == expected["seq"]
        assert [(i.seq, i.type, i.amount) for i in found.items] == [
            (i["seq"], i["type"], i["amount"]) for i in expected["items"]
        ]
        assert found.unspent == expected["unspent"]
    return state


_operation = st.one_of(
    st.tuples(st.just("income"), st.sampled_from(FUNDS), st.integers(1, 90), st.booleans()),
    st.tuples(st.just("expense"), st.sampled_from(FUNDS), st.integers(1, 120), st.booleans()),
    st.tuples(st.just("allocation"), st.sampled_from(FUNDS), st.integers(1, 120), st.booleans()),
    st.tuples(st.just("refund"), st.integers(0, 40), st.integers(1, 90), st.booleans()),
    st.tuples(st.just("reversal"), st.integers(0, 40), st.just(0), st.booleans()),
)


def _new_entry(org, op, index, incomes) -> NewEntry | None:
    kind, target, amount, usd = op
    currency = "USD" if usd else "EUR"
    if kind == "income":
        return NewEntry("income", target, amount, currency, f"I{index}", AT)
    if kind == "expense":
        return NewEntry("expense", target, amount, currency, f"E{index}", AT)
    if kind == "allocation":
        to_fund = FUNDS[(FUNDS.index(target) + 1) % len(FUNDS)]
        return NewEntry("allocation", target, amount, currency, f"A{index}", AT, to_fund=to_fund)
    if kind == "refund":
        if not incomes:
            return None
        gift = incomes[target % len(incomes)]
        return NewEntry("refund", gift.fund, amount, gift.currency, gift.ref, AT)
    size = queries.log_size(org=org)
    if not size:
        return None
    row = LedgerEntry.objects.get(organization=org, seq=target % size)
    return NewEntry(
        "reversal", row.fund, row.amount, row.currency, row.ref, AT, row.to_fund, row.seq
    )


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(_operation, min_size=1, max_size=40),
    batch=st.integers(min_value=1, max_value=6),
)
def test_incremental_cache_equals_the_pure_function_over_random_histories(operations, batch):
    """Slow: each example posts up to 40 entries and replays the log (property test)."""
    # given
    org = OrganizationFactory()
    incomes: list[LedgerEntry] = []

    # when: groups of `batch` operations go through post_entries; a refused group is retried
    # one entry at a time, skipping the entries the ledger refuses
    for start in range(0, len(operations), batch):
        group = []
        for index, op in enumerate(operations[start : start + batch], start=start):
            new = _new_entry(org, op, index, incomes)
            if new is not None:
                group.append(new)
        try:
            rows = post_entries(org=org, actor=TEST_ACTOR, entries=group)
        except DomainError:
            rows = []
            for new in group:
                with contextlib.suppress(DomainError):
                    rows += post_entries(org=org, actor=TEST_ACTOR, entries=[new])
        incomes += [row for row in rows if row.type == "income"]

    # then
    _assert_cache_is_the_pure_function(org)


def test_fifo_across_funds_with_allocations_and_refunds_of_the_own_gift_first():
    # given
    org = OrganizationFactory()
    a = income(org, 100, ref="A")
    b = income(org, 100, ref="B")
    move = post(org, "allocation", 150, to_fund="water")  # 100 of A, 50 of B
    pump = expense(org, 120, fund="water")  # 100 of A, 20 of B
    refund = post(org, "refund", 40, ref="B")  # B's 50 left in general

    # when
    trace_a = queries.trace_for(org=org, ref="A")
    trace_b = queries.trace_for(org=org, ref="B")

    # then
    assert move.seq == 2
    assert [(i.seq, i.type, i.amount) for i in trace_a.items] == [(pump.seq, "expense", 100)]
    assert trace_a.unspent == 0
    assert [(i.seq, i.type, i.amount) for i in trace_b.items] == [
        (pump.seq, "expense", 20),
        (refund.seq, "refund", 40),
    ]
    assert trace_b.unspent == 40
    assert (trace_a.seq, trace_b.seq) == (a.seq, b.seq)
    assert queries.trace_for(org=org, ref="nobody") is None
    _assert_cache_is_the_pure_function(org)


def test_a_reversal_rebuilds_the_cache_without_the_reversed_pair():
    # given
    org = OrganizationFactory()
    income(org, 100, ref="A")
    income(org, 100, ref="B")
    wrong = expense(org, 150)

    # when
    post(org, "reversal", 150, reverses=wrong.seq)

    # then
    assert queries.trace_for(org=org, ref="A").items == []
    assert queries.trace_for(org=org, ref="A").unspent == 100
    _assert_cache_is_the_pure_function(org)


def test_a_reversed_income_traces_to_nothing():
    # given
    org = OrganizationFactory()
    gift = income(org, 100, ref="A")

    # when
    post(org, "reversal", 100, reverses=gift.seq, ref="A")

    # then
    trace = queries.trace_for(org=org, ref="A")
    assert trace.reversed
    assert (trace.items, trace.unspent) == ([], 0)


def test_long_queues_are_consumed_across_read_chunks_in_one_batch():
    # given: 60 lots in general, read from the database a chunk at a time
    org = OrganizationFactory()
    post_entries(
        org=org,
        actor=TEST_ACTOR,
        entries=[NewEntry("income", "general", 10, "EUR", f"L{i}", AT) for i in range(60)],
    )

    # when
    post_entries(
        org=org,
        actor=TEST_ACTOR,
        entries=[
            NewEntry("expense", "general", 25, "EUR", "E1", AT),
            NewEntry("refund", "general", 7, "EUR", "L50", AT),
            NewEntry("allocation", "general", 300, "EUR", "A1", AT, to_fund="water"),
            NewEntry("income", "general", 10, "EUR", "L60", AT),
            NewEntry("refund", "general", 4, "EUR", "L60", AT),
            NewEntry("expense", "water", 295, "EUR", "E2", AT),
            NewEntry("expense", "general", 250, "EUR", "E3", AT),
        ],
    )

    # then
    state = _assert_cache_is_the_pure_function(org)
    assert state.trace("L50")["items"][0] == {"seq": 61, "type": "refund", "amount": 7}
    assert queries.trace_for(org=org, ref="L60").unspent == 6
