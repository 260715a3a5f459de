"""Checkpoints, `verify_ledger` and `solidaria ledger …`: tampering is found at the first bad seq."""

import base64
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from solidaria.core.models import AuditEvent
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.ledger import queries, registry, signing
from solidaria.ledger.actions import NewEntry, make_checkpoint, post_entries
from solidaria.ledger.models import (
    BLOCK_SIZE,
    Checkpoint,
    FundBalance,
    LedgerBlock,
    LedgerEntry,
    SigningKey,
    TraceLot,
)
from solidaria.ledger.tasks import checkpoint_grown_logs, checkpoint_organization
from solidaria.ledger.tests.factories import AT, TEST_ACTOR, expense, income, post
from solidaria.ledger.verify import verify_ledger

pytestmark = pytest.mark.django_db


def _history(org, incomes: int = 2 * BLOCK_SIZE + 10) -> None:
    post_entries(
        org=org,
        actor=TEST_ACTOR,
        entries=[
            NewEntry("income", "general", 100 + i % 7, "EUR", f"G{i}", AT) for i in range(incomes)
        ],
    )
    post(org, "allocation", 30 * incomes, to_fund="water")
    expense(org, 20 * incomes, fund="water", category="water", description="Pump")
    post(org, "refund", 50, ref="G3")


def _ledger_org():
    org = OrganizationFactory()
    _history(org)
    make_checkpoint(org=org, actor=TEST_ACTOR)
    income(org, 10)
    return org


def test_a_checkpoint_is_signed_over_the_canonical_head_and_not_repeated():
    # given
    org = OrganizationFactory()
    _history(org, incomes=20)

    # when
    first = make_checkpoint(org=org, actor=TEST_ACTOR)
    again = make_checkpoint(org=org, actor=TEST_ACTOR)

    # then
    assert again.pk == first.pk
    published = queries.checkpoint_json(first, org=org)
    assert published["tree_size"] == 23
    assert published["root_hash"] == queries.root_at(org=org, tree_size=23).hex()
    fields = {k: v for k, v in published.items() if k != "signature"}
    public = queries.public_key(org=org)
    assert signing.verify(public, fields, published["signature"])
    assert not signing.verify(public, {**fields, "tree_size": 22}, published["signature"])
    key = SigningKey.objects.get(organization=org)
    private_column = SigningKey.objects.filter(pk=key.pk).values_list("private_key", flat=True)
    raw = base64.b64decode(key.private_key)
    assert signing.public_key_of(raw) == public
    # the database holds ciphertext only: the raw column is not the base64 key
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT private_key FROM ledger_signingkey WHERE organization_id = %s", [org.id]
        )
        stored = cursor.fetchone()[0]
    assert key.private_key not in stored
    assert list(private_column) == [key.private_key]
    assert AuditEvent.objects.filter(code="ledger.checkpoint.made", organization=org).count() == 1


def test_an_intact_ledger_verifies():
    # given
    org = _ledger_org()

    # when
    result = verify_ledger(org=org)

    # then
    assert result.ok, result.message
    assert result.entries == 2 * BLOCK_SIZE + 14
    assert result.checkpoints == 1
    assert result.root_hash == queries.root_at(org=org, tree_size=result.entries).hex()


def _update(org, seq, **fields) -> None:
    LedgerEntry.objects.filter(organization=org, seq=seq).update(**fields)


TAMPERS = {
    "amount": (lambda org: _update(org, 7, amount=1), 7),
    "fund": (lambda org: _update(org, 300, fund="other"), 300),
    "ref": (lambda org: _update(org, 9, ref="G9x"), 9),
    "at": (lambda org: _update(org, 11, at=AT.replace(year=2025)), 11),
    "body": (
        lambda org: _update(
            org, 12, body=LedgerEntry.objects.get(organization=org, seq=12).body.replace("1", "2")
        ),
        12,
    ),
    "leaf_hash": (lambda org: _update(org, 13, leaf_hash=b"\x00" * 32), 13),
    "block": (
        lambda org: LedgerBlock.objects.filter(organization=org, index=1).update(hash=b"\x01" * 32),
        BLOCK_SIZE,
    ),
    "checkpoint_root": (
        lambda org: Checkpoint.objects.filter(organization=org).update(root_hash=b"\x02" * 32),
        2 * BLOCK_SIZE + 12,
    ),
    "signature": (
        lambda org: Checkpoint.objects.filter(organization=org).update(
            signature=base64.b64encode(b"\x03" * 64).decode()
        ),
        2 * BLOCK_SIZE + 12,
    ),
    "deleted_row": (lambda org: LedgerEntry.objects.filter(organization=org, seq=40).delete(), 40),
    "deleted_last_row": (
        lambda org: LedgerEntry.objects.filter(organization=org, seq=2 * BLOCK_SIZE + 13).delete(),
        2 * BLOCK_SIZE + 13,
    ),
    "consistent_rewrite": (
        # rewrite columns, body and leaf hash together: the block hash still gives it away
        lambda org: _rewrite(org, 5),
        0,
    ),
}


def _rewrite(org, seq: int) -> None:
    from solidaria.ledger.canonical import canonical
    from solidaria.ledger.merkle import leaf_hash

    row = LedgerEntry.objects.get(organization=org, seq=seq)
    body = json.loads(row.body)
    body["amount"] += 1
    raw = canonical(body)
    _update(org, seq, amount=body["amount"], body=raw.decode(), leaf_hash=leaf_hash(raw))


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_tampering_fails_verification_naming_the_first_bad_seq(what):
    # given
    org = _ledger_org()
    tamper, bad_seq = TAMPERS[what]
    tamper(org)

    # when
    result = verify_ledger(org=org)
    with pytest.raises(CommandError) as caught:
        call_command("ledger", "verify", "--org", org.slug)

    # then
    assert not result.ok
    assert result.first_bad_seq == bad_seq, result.message
    assert f"seq {bad_seq}" in str(caught.value)


def test_a_reversal_that_does_not_repeat_its_entry_fails_verification():
    # given: a reversal whose columns, body and leaf hash were rewritten to another amount
    org = OrganizationFactory()
    income(org, 1000)
    spent = expense(org, 300)
    reversal = post(org, "reversal", 300, reverses=spent.seq)
    _rewrite(org, reversal.seq)

    # when
    result = verify_ledger(org=org)

    # then
    assert not result.ok
    assert result.first_bad_seq == reversal.seq


def test_tampered_caches_fail_verification():
    # given
    org = _ledger_org()
    FundBalance.objects.filter(organization=org, fund="water").update(amount=999_999)

    # when / then
    assert "balance" in verify_ledger(org=org).message
    FundBalance.objects.filter(organization=org, fund="water").update(
        amount=10 * (2 * BLOCK_SIZE + 10)
    )
    assert verify_ledger(org=org).ok
    TraceLot.objects.filter(organization=org).delete()
    assert not verify_ledger(org=org).ok


def test_books_checks_run_after_the_log_and_name_the_seq():
    # given
    org = _ledger_org()

    def check(checked_org):
        if checked_org == org:
            yield "Donation 12 is booked as 5.00 EUR but seq 3 says 1.03 EUR"

    registry.register_books_check(check)
    try:
        # when
        result = verify_ledger(org=org)
    finally:
        registry._checks.remove(check)

    # then
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "Donation 12" in result.message


def test_cli_verify_export_and_checkpoint(tmp_path):
    # given
    org = OrganizationFactory()
    _history(org, incomes=5)
    out = StringIO()

    # when
    call_command("ledger", "checkpoint", "--org", org.slug, stdout=out)
    call_command("ledger", "export", "--org", org.slug, "--out", str(tmp_path / "l.jsonl"))
    exported = StringIO()
    call_command("ledger", "export", "--org", org.slug, stdout=exported)
    verified = StringIO()
    call_command("ledger", "verify", "--org", org.slug, stdout=verified)

    # then
    checkpoint = json.loads(out.getvalue())
    assert checkpoint["tree_size"] == 8
    lines = (tmp_path / "l.jsonl").read_bytes().decode().splitlines()
    assert lines == exported.getvalue().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(8))
    assert "8 entries" in verified.getvalue()
    assert len(verified.getvalue().strip().splitlines()) == 1
    with pytest.raises(CommandError, match="No organization"):
        call_command("ledger", "verify", "--org", "nope")


def test_periodic_job_checkpoints_only_logs_that_grew():
    # given
    grown, quiet, empty = OrganizationFactory(), OrganizationFactory(), OrganizationFactory()
    income(grown, 100)
    income(quiet, 100)
    make_checkpoint(org=quiet, actor=TEST_ACTOR)
    del empty

    # when
    done = checkpoint_grown_logs()
    again = checkpoint_grown_logs()

    # then
    assert done == [grown.id]
    assert again == []
    assert queries.latest_checkpoint(org=grown).tree_size == 1


def test_on_demand_task_signs_a_checkpoint():
    # given
    org = OrganizationFactory()
    income(org, 100)

    # when
    size = checkpoint_organization.call(org.id)

    # then
    assert size == 1
    assert queries.latest_checkpoint(org=org).tree_size == 1
