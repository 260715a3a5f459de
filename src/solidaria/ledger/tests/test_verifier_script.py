"""docs/verify_ledger.py, the standalone verifier, agrees with `trace_for` on a real export."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from solidaria.core.errors import DomainError
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.ledger import queries
from solidaria.ledger.actions import make_checkpoint
from solidaria.ledger.models import LedgerEntry
from solidaria.ledger.tests.factories import TEST_ACTOR, post

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parents[4] / "docs" / "verify_ledger.py"
FUNDS = ["general", "water", "school"]


def _generated_history(org, steps: int = 300, seed: int = 7) -> None:
    rng = random.Random(seed)
    incomes: list[LedgerEntry] = []
    for step in range(steps):
        roll = rng.random()
        currency = "USD" if rng.random() < 0.2 else "EUR"
        fund = rng.choice(FUNDS)
        try:
            if roll < 0.45:
                incomes.append(
                    post(
                        org,
                        "income",
                        rng.randint(100, 5000),
                        fund,
                        ref=f"D{step}",
                        currency=currency,
                    )
                )
            elif roll < 0.7:
                post(
                    org,
                    "expense",
                    rng.randint(50, 4000),
                    fund,
                    currency=currency,
                    category="supplies",
                    description=f"Purchase {step} — ñ",
                )
            elif roll < 0.85:
                to_fund = rng.choice([f for f in FUNDS if f != fund])
                post(
                    org,
                    "allocation",
                    rng.randint(50, 3000),
                    fund,
                    to_fund=to_fund,
                    currency=currency,
                )
            elif roll < 0.95 and incomes:
                gift = rng.choice(incomes)
                post(
                    org,
                    "refund",
                    rng.randint(1, gift.amount),
                    gift.fund,
                    ref=gift.ref,
                    currency=gift.currency,
                )
            else:
                size = queries.log_size(org=org)
                if size:
                    row = LedgerEntry.objects.get(organization=org, seq=rng.randrange(size))
                    post(
                        org,
                        "reversal",
                        row.amount,
                        row.fund,
                        to_fund=row.to_fund,
                        currency=row.currency,
                        ref=row.ref,
                        reverses=row.seq,
                    )
        except DomainError:
            continue


def _download(org, tmp_path: Path) -> list[str]:
    client = Client()
    files = []
    for name, file_name in [
        ("jsonl", "ledger.jsonl"),
        ("checkpoint", "checkpoint.json"),
        ("key", "key"),
    ]:
        response = client.get(reverse(f"ledger:{name}", kwargs={"org_slug": org.slug}))
        content = b"".join(response.streaming_content) if response.streaming else response.content
        (tmp_path / file_name).write_bytes(content)
        files.append(str(tmp_path / file_name))
    return files


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_standalone_verifier_recomputes_every_trace(tmp_path):
    """Slow: posts a 300-step history one entry at a time and runs the script in a process."""
    # given
    org = OrganizationFactory()
    _generated_history(org)
    make_checkpoint(org=org, actor=TEST_ACTOR)
    post(org, "income", 100, ref="after-checkpoint")
    ledger, checkpoint, key = _download(org, tmp_path)
    exported = tmp_path / "export.jsonl"
    call_command("ledger", "export", "--org", org.slug, "--out", str(exported))
    assert exported.read_bytes() == Path(ledger).read_bytes()

    # when
    result = _run(ledger, checkpoint, key)

    # then
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["entries"] == queries.log_size(org=org)
    kinds = set(LedgerEntry.objects.filter(organization=org).values_list("type", flat=True))
    assert kinds == {"income", "expense", "allocation", "refund", "reversal"}
    refs = set(
        LedgerEntry.objects.filter(organization=org, type="income").values_list("ref", flat=True)
    )
    compared = 0
    for ref in refs:
        ours = queries.trace_for(org=org, ref=ref)
        theirs = report["traces"].get(ref)
        if ours.reversed:
            assert theirs is None
            continue
        assert theirs == {
            "seq": ours.seq,
            "amount": ours.amount,
            "currency": ours.currency,
            "fund": ours.fund,
            "items": [{"seq": i.seq, "type": i.type, "amount": i.amount} for i in ours.items],
            "unspent": ours.unspent,
        }
        compared += 1
    assert compared > 50
    assert any(report["traces"][ref]["items"] for ref in report["traces"])


@pytest.mark.slow
def test_the_standalone_verifier_refuses_a_tampered_file(tmp_path):
    """Slow: starts the script in a new Python process four times."""
    # given
    org = OrganizationFactory()
    post(org, "income", 1000, ref="A")
    post(org, "expense", 300, description="Tents")
    make_checkpoint(org=org, actor=TEST_ACTOR)
    ledger, checkpoint, key = _download(org, tmp_path)
    original = Path(ledger).read_bytes()

    # when
    Path(ledger).write_bytes(original.replace(b'"amount":300', b'"amount":200'))
    changed_amount = _run(ledger, checkpoint, key)
    Path(ledger).write_bytes(original.replace(b'"amount":300,', b'"amount": 300,'))
    not_canonical = _run(ledger, checkpoint, key)
    Path(ledger).write_bytes(original)
    data = json.loads(Path(checkpoint).read_text())
    Path(checkpoint).write_text(json.dumps({**data, "tree_size": 1}))
    resized = _run(ledger, checkpoint, key)
    Path(checkpoint).write_text(json.dumps(data))
    intact = _run(ledger, checkpoint, key, "--ref", "A")

    # then
    assert changed_amount.returncode == 1
    assert "root" in changed_amount.stderr
    assert not_canonical.returncode == 1
    assert "canonical" in not_canonical.stderr
    assert resized.returncode == 1
    assert "signature" in resized.stderr
    assert intact.returncode == 0, intact.stderr
    assert json.loads(intact.stdout)["traces"]["A"]["items"] == [
        {"seq": 1, "type": "expense", "amount": 300}
    ]
