"""`solidaria sepa export` and `solidaria bank import` (DESIGN.md §5)."""

import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.models import BankStatement, Donation, SepaBatch
from solidaria.fundraising.tests.bankfiles import OWN_IBAN, Row, camt053, mt940
from solidaria.fundraising.tests.factories import make_pending_gift, make_plan
from solidaria.people.tests.factories import TEST_ACTOR

DUE = "2026-12-01"
YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


def _call(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _sepa_org(slug: str = "coop"):
    org = OrganizationFactory(slug=slug)
    actions.configure_payment_provider(
        org=org,
        actor=TEST_ACTOR,
        kind="sepa",
        settings={
            "creditor_name": "Cooperativa",
            "creditor_iban": OWN_IBAN,
            "creditor_id": "ES23ZZZ47690558N",
        },
        secrets={},
    )
    return org


def _debit(org, amount_minor: int = 1000) -> Donation:
    plan = make_plan(org, amount_minor=amount_minor, iban="DE89370400440532013000")
    gift = make_pending_gift(
        org, method="sepa", plan=plan, amount_minor=amount_minor, contact=plan.contact
    )
    gift.collection_date = datetime.date.fromisoformat(DUE)
    gift.save(update_fields=["collection_date"])
    return gift


@pytest.mark.django_db
def test_sepa_export_writes_the_file_to_out_and_a_summary_to_stderr(tmp_path: Path) -> None:
    # given
    org = _sepa_org()
    _debit(org, 1000)
    _debit(org, 2550)
    out_file = tmp_path / "collection.xml"

    # when
    out, err = _call("sepa", "export", "--org", "coop", "--date", DUE, "--out", str(out_file))

    # then
    batch = SepaBatch.objects.get(organization=org)
    assert out == ""
    assert out_file.read_text(encoding="utf-8") == batch.xml
    assert "<ReqdColltnDt>2026-12-01</ReqdColltnDt>" in batch.xml
    assert f"Collection 2026-12-01: 2 debits, 35.50 EUR, message {batch.message_id}." in err


@pytest.mark.django_db
def test_sepa_export_to_stdout_and_again_says_nothing_is_new() -> None:
    # given
    org = _sepa_org()
    _debit(org)
    first, _err = _call("sepa", "export", "--org", "coop", "--date", DUE)

    # when
    again, err = _call(
        "sepa", "export", "--org", "coop", "--date", DUE, "--schema", "pain.008.001.08"
    )

    # then
    assert first.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert again == first
    assert "No new debits" in err
    assert SepaBatch.objects.filter(organization=org).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nowhere", "--date", DUE], "No organization “nowhere”"),
        (["--org", "coop", "--date", "01/12/2026"], "is not a date"),
        (["--org", "coop", "--date", "2026-12-02"], "No SEPA debits are waiting"),
        (["--org", "coop", "--date", DUE, "--out", "/nonexistent/dir/x.xml"], "Cannot write"),
    ],
)
def test_sepa_export_errors_are_clear(args: list[str], message: str) -> None:
    # given
    _debit(_sepa_org())

    # when / then
    with pytest.raises(CommandError, match=message):
        _call("sepa", "export", *args)


@pytest.mark.django_db
def test_bank_import_prints_the_counts_and_the_unmatched_lines(tmp_path: Path) -> None:
    # given
    org = _sepa_org()
    gift = make_pending_gift(org, amount_minor=2500)
    file = tmp_path / "november.sta"
    file.write_bytes(
        mt940(
            [
                Row(YESTERDAY, 2500, reference=gift.payment_reference),
                Row(YESTERDAY, 1234, reference="Membership"),
            ]
        )
    )

    # when
    out, _err = _call("bank", "import", "--org", "coop", str(file))
    again, _err = _call("bank", "import", "--org", "coop", str(file))

    # then
    assert (
        "november.sta (mt940): 2 lines, 1 matched, 1 unmatched, 0 skipped (already booked)." in out
    )
    assert f"{YESTERDAY}  12.34 EUR  No gift has this reference." in out
    assert "was already imported" in again
    assert BankStatement.objects.filter(organization=org).count() == 1
    assert Donation.objects.get(pk=gift.pk).status == "confirmed"


@pytest.mark.django_db
def test_bank_import_counts_lines_an_earlier_statement_booked(tmp_path: Path) -> None:
    # given
    OrganizationFactory(slug="coop")
    rows = [Row(YESTERDAY, 100, reference="a"), Row(YESTERDAY, 200, reference="b")]
    (tmp_path / "one.xml").write_bytes(camt053(rows[:1]))
    (tmp_path / "two.xml").write_bytes(camt053(rows))
    _call("bank", "import", "--org", "coop", str(tmp_path / "one.xml"))

    # when
    out, _err = _call("bank", "import", "--org", "coop", str(tmp_path / "two.xml"))

    # then
    assert "two.xml (camt.053): 2 lines, 0 matched, 1 unmatched, 1 skipped" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("org", "content", "message"),
    [
        ("nowhere", b"", "No organization “nowhere”"),
        ("coop", None, "Cannot read"),
        ("coop", b"date;amount\n2026-11-01;25\n", "neither a CAMT.053"),
        ("coop", b"<Document><unclosed>", "malformed"),
    ],
)
def test_bank_import_errors_are_clear(
    tmp_path: Path, org: str, content: bytes | None, message: str
) -> None:
    # given
    OrganizationFactory(slug="coop")
    file = tmp_path / "statement.txt"
    if content is not None:
        file.write_bytes(content)

    # when / then
    with pytest.raises(CommandError, match=message):
        _call("bank", "import", "--org", org, str(file))
    assert not BankStatement.objects.exists()
