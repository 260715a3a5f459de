"""`post_entry`: seq numbers, leaf bytes, balance rules, reversals, the audit event."""

import datetime
import json

import pytest

from solidaria.core.errors import Conflict, Invalid
from solidaria.core.models import AuditEvent
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.ledger import merkle, queries
from solidaria.ledger.actions import NewEntry, post_entries
from solidaria.ledger.models import BLOCK_SIZE, LedgerBlock, LedgerEntry
from solidaria.ledger.tests.factories import AT, TEST_ACTOR, expense, income, post

pytestmark = pytest.mark.django_db


def test_entries_get_consecutive_seqs_from_zero_and_their_exact_leaf_bytes():
    # given
    org = OrganizationFactory()

    # when
    first = income(org, 2500, ref="D-1", at=AT.replace(microsecond=123))
    second = expense(
        org,
        1000,
        ref="E-1",
        category="food",
        description="Rice, 20 kg",
        evidence_sha256="ab" * 32,
    )

    # then
    assert (first.seq, second.seq) == (0, 1)
    assert first.body == (
        '{"amount":2500,"at":"2026-03-01T09:00:00Z","currency":"EUR","fund":"general",'
        '"ref":"D-1","seq":0,"type":"income"}'
    )
    assert json.loads(second.body)["description"] == "Rice, 20 kg"
    assert bytes(first.leaf_hash) == merkle.leaf_hash(first.body.encode())
    assert queries.log_size(org=org) == 2
    assert queries.fund_balance(org=org, fund="general", currency="EUR") == 1500
    event = AuditEvent.objects.get(code="ledger.entry.posted", extra__seq=1)
    assert event.organization == org


def test_money_leaving_a_fund_beyond_its_balance_is_a_conflict_naming_fund_and_amounts():
    # given
    org = OrganizationFactory()
    income(org, 500, fund="water")

    # when / then
    for type_, extra in [("expense", {}), ("refund", {}), ("allocation", {"to_fund": "general"})]:
        with pytest.raises(Conflict) as caught:
            post(org, type_, 501, fund="water", **extra)
        assert "water" in caught.value.message
        assert "500" in caught.value.message
        assert "501" in caught.value.message
    with pytest.raises(Conflict):
        expense(org, 1, fund="water", currency="USD")
    assert queries.log_size(org=org) == 1
    assert queries.fund_balance(org=org, fund="water", currency="EUR") == 500


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "gift"}, "type"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 2**53}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"fund": "Not A Slug"}, "fund"),
        ({"currency": "eur"}, "currency"),
        ({"ref": ""}, "ref"),
        ({"ref": "has space"}, "ref"),
        ({"ref": "x" * 65}, "ref"),
        ({"ref": "a\x00b"}, "ref"),
        ({"ref": "\ud800"}, "ref"),
        ({"at": datetime.datetime(2026, 1, 1)}, "at"),
        ({"type": "allocation"}, "to_fund"),
        ({"type": "allocation", "to_fund": "general"}, "to_fund"),
        ({"to_fund": "other"}, "to_fund"),
        ({"reverses": 0}, "reverses"),
        ({"category": "food"}, "category"),
        ({"description": "x"}, "description"),
        ({"type": "expense", "evidence_sha256": "XYZ"}, "evidence_sha256"),
        ({"type": "expense", "description": "x" * 201}, "description"),
    ],
)
def test_malformed_entries_are_invalid(fields, field):
    # given
    org = OrganizationFactory()
    income(org, 10_000)
    values = {"type": "income", "amount": 100, "fund": "general", **fields}

    # when / then
    with pytest.raises(Invalid) as caught:
        post(org, values.pop("type"), values.pop("amount"), values.pop("fund"), **values)
    assert field in caught.value.errors
    assert queries.log_size(org=org) == 1


def test_an_income_ref_is_used_once_unless_that_income_was_reversed():
    # given
    org = OrganizationFactory()
    first = income(org, 100, ref="D-9")

    # when / then
    with pytest.raises(Conflict):
        income(org, 100, ref="D-9")
    post(org, "reversal", 100, reverses=first.seq, ref="D-9")
    again = income(org, 120, ref="D-9")
    assert queries.trace_for(org=org, ref="D-9").seq == again.seq


def test_a_reversal_repeats_its_entry_and_happens_once_and_never_of_a_reversal():
    # given
    org = OrganizationFactory()
    income(org, 1000)
    spent = expense(org, 300)
    moved = post(org, "allocation", 200, to_fund="water")

    # when
    with pytest.raises(Invalid):
        post(org, "reversal", 301, reverses=spent.seq)
    with pytest.raises(Invalid):
        post(org, "reversal", 300, fund="water", reverses=spent.seq)
    with pytest.raises(Invalid):
        post(org, "reversal", 300, reverses=99)
    reversal = post(org, "reversal", 300, reverses=spent.seq, description="Wrong invoice")
    undo_move = post(org, "reversal", 200, to_fund="water", reverses=moved.seq)

    # then
    with pytest.raises(Conflict):
        post(org, "reversal", 300, reverses=spent.seq)
    with pytest.raises(Invalid):
        post(org, "reversal", 300, reverses=reversal.seq)
    assert json.loads(reversal.body)["reverses"] == spent.seq
    assert json.loads(undo_move.body)["to_fund"] == "water"
    assert queries.fund_balance(org=org, fund="general", currency="EUR") == 1000
    assert queries.fund_balance(org=org, fund="water", currency="EUR") == 0


def test_reversing_an_income_or_an_allocation_checks_the_fund_money_leaves():
    # given
    org = OrganizationFactory()
    gift = income(org, 1000)
    moved = post(org, "allocation", 600, to_fund="water")
    expense(org, 500, fund="water")

    # when / then: 100 left in water cannot give back 600, nor general 1000 with 400 left
    with pytest.raises(Conflict) as caught:
        post(org, "reversal", 600, to_fund="water", reverses=moved.seq)
    assert "water" in caught.value.message
    with pytest.raises(Conflict):
        post(org, "reversal", 1000, reverses=gift.seq)


def test_batch_posting_writes_blocks_and_is_all_or_nothing():
    # given
    org = OrganizationFactory()
    entries = [
        NewEntry(type="income", fund="general", amount=10, currency="EUR", ref=f"B{i}", at=AT)
        for i in range(BLOCK_SIZE + 3)
    ]

    # when
    rows = post_entries(org=org, actor=TEST_ACTOR, entries=entries)
    with pytest.raises(Conflict):
        post_entries(
            org=org,
            actor=TEST_ACTOR,
            entries=[
                NewEntry(type="income", fund="general", amount=1, currency="EUR", ref="X", at=AT),
                NewEntry(
                    type="expense", fund="general", amount=10**6, currency="EUR", ref="Y", at=AT
                ),
            ],
        )

    # then
    assert [row.seq for row in rows] == list(range(BLOCK_SIZE + 3))
    assert LedgerEntry.objects.filter(organization=org).count() == BLOCK_SIZE + 3
    block = LedgerBlock.objects.get(organization=org)
    hashes = [bytes(row.leaf_hash) for row in rows]
    assert bytes(block.hash) == merkle.root_of(hashes[:BLOCK_SIZE])
    assert queries.root_at(org=org, tree_size=len(rows)) == merkle.root_of(hashes)
    assert AuditEvent.objects.filter(code="ledger.entries.posted", organization=org).count() == 1


def test_single_posts_across_a_block_boundary_store_the_block_hash():
    # given
    org = OrganizationFactory()
    post_entries(
        org=org,
        actor=TEST_ACTOR,
        entries=[
            NewEntry(type="income", fund="general", amount=10, currency="EUR", ref=f"S{i}", at=AT)
            for i in range(BLOCK_SIZE - 1)
        ],
    )

    # when
    income(org, 5)

    # then
    hashes = [
        bytes(h) for h in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    assert bytes(LedgerBlock.objects.get(organization=org).hash) == merkle.root_of(hashes)


def test_proofs_from_stored_hashes_equal_the_in_memory_tree_and_verify():
    # given
    org = OrganizationFactory()
    size = 2 * BLOCK_SIZE + 77
    post_entries(
        org=org,
        actor=TEST_ACTOR,
        entries=[
            NewEntry(type="income", fund="general", amount=1, currency="EUR", ref=f"P{i}", at=AT)
            for i in range(size)
        ],
    )
    hashes = [
        bytes(h) for h in LedgerEntry.objects.order_by("seq").values_list("leaf_hash", flat=True)
    ]
    memory = merkle.hashes_in_memory(hashes)

    # when / then
    for seq, tree_size in [(0, size), (300, size), (size - 1, size), (5, 256), (511, 512), (3, 7)]:
        proof = queries.inclusion_proof(org=org, seq=seq, tree_size=tree_size)
        assert proof == merkle.inclusion_path(seq, tree_size, memory)
        root = queries.root_at(org=org, tree_size=tree_size)
        assert merkle.verify_inclusion(seq, tree_size, hashes[seq], proof, root)
    for first, second in [(1, size), (256, size), (300, 513), (size, size)]:
        proof = queries.consistency_proof(org=org, first=first, second=second)
        assert proof == merkle.consistency_path(first, second, memory)
        assert merkle.verify_consistency(
            first,
            second,
            queries.root_at(org=org, tree_size=first),
            queries.root_at(org=org, tree_size=second),
            proof,
        )
    with pytest.raises(ValueError, match="tree_size"):
        queries.inclusion_proof(org=org, seq=0, tree_size=size + 1)


def test_organizations_have_separate_logs():
    # given
    one, two = OrganizationFactory(), OrganizationFactory()

    # when
    income(one, 100)
    entry = income(two, 100)

    # then
    assert entry.seq == 0
    assert queries.fund_balance(org=one, fund="general", currency="EUR") == 100
