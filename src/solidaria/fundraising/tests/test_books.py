"""The books check: `solidaria ledger verify` fails when gifts, refunds, allocations or
expenses disagree with the public log, naming the first bad entry."""

import io

import pytest
from django.core.management import CommandError, call_command

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.models import Allocation, Donation, Expense, Refund
from solidaria.fundraising.queries import check_books
from solidaria.fundraising.tests.factories import make_expense, make_fund, make_gift
from solidaria.ledger.verify import verify_ledger
from solidaria.people.tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


def _books():
    """An organization whose books hold one of each kind of money row."""
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=10_000)  # seq 0
    actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=1000)  # seq 1
    school = make_fund(org, "school")
    actions.allocate(
        org=org,
        actor=TEST_ACTOR,
        from_fund=gift.fund,
        to_fund=school,
        amount_minor=3000,
        currency="EUR",
    )  # seq 2
    expense = make_expense(org, fund=school, amount_minor=2000)  # seq 3
    actions.reverse_expense(org=org, actor=TEST_ACTOR, expense=expense, reason="typo")  # seq 4
    make_gift(org, amount_minor=500)  # seq 5
    return org, gift, expense


def test_books_that_agree_with_the_log_verify():
    # given
    org, _gift, _expense = _books()

    # when
    result = verify_ledger(org=org)

    # then
    assert list(check_books(org)) == []
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("model", "field", "value", "seq", "words"),
    [
        (Donation, "amount_minor", 9999, 0, "amount 9999 in the books, 10000 in the ledger"),
        (Donation, "currency", "USD", 0, "currency 'USD' in the books"),
        (Donation, "public_ref", "g-aaaaaaaaaaaaaaaa", 0, "ref 'g-aaaaaaaaaaaaaaaa'"),
        (Refund, "amount_minor", 1001, 1, "refund of g-"),
        (Allocation, "amount_minor", 1, 2, "allocation a-"),
        (Expense, "amount_minor", 2001, 3, "expense e-"),
        (Expense, "reversal_seq", 5, 5, "reversal of e-"),
        (Donation, "ledger_seq", 42, 42, "has no entry in the ledger"),
    ],
)
def test_an_altered_row_fails_verify_naming_its_seq(model, field, value, seq, words):
    # given
    org, gift, expense = _books()
    row = {Donation: gift.pk, Expense: expense.pk}.get(model)
    rows = model.objects.filter(organization=org)
    rows = rows.filter(pk=row) if row else rows
    rows.update(**{field: value})

    # when
    result = verify_ledger(org=org)

    # then
    assert not result.ok
    assert result.first_bad_seq == seq
    assert words in result.message


def test_two_rows_claiming_one_entry_fail_verify():
    # given
    org, gift, _expense = _books()
    Donation.objects.filter(organization=org).exclude(pk=gift.pk).update(ledger_seq=0)

    # then
    problems = list(check_books(org))
    assert problems[0].startswith("seq 0: ")
    assert any("claimed by both" in problem for problem in problems)


def test_the_command_fails_naming_the_altered_gift():
    # given
    org, gift, _expense = _books()
    Donation.objects.filter(pk=gift.pk).update(amount_minor=1)

    # when / then: a CommandError, which `solidaria` turns into a non-zero exit
    with pytest.raises(CommandError) as error:
        call_command("ledger", "verify", "--org", org.slug, stdout=io.StringIO())
    assert "seq 0" in str(error.value)
    assert gift.public_ref in str(error.value)


def test_another_organization_books_do_not_matter():
    # given
    org, _gift, _expense = _books()
    other, _g, _e = _books()
    Donation.objects.filter(organization=other).update(amount_minor=1)

    # then
    assert verify_ledger(org=org).ok
    assert not verify_ledger(org=other).ok
