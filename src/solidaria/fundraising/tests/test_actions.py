"""The fundraising actions: funds, campaigns, gifts, refunds, the treasurer's books, recurring
plans, payment providers and settings — each happy path and each error it promises."""

import datetime
import hashlib
import re
import threading
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from solidaria.core.errors import Conflict, Invalid
from solidaria.core.models import AuditEvent
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions, queries
from solidaria.fundraising.models import (
    Donation,
    Expense,
    Fund,
    PaymentProvider,
    ReceiptCounter,
    RecurringPlan,
    Refund,
)
from solidaria.fundraising.tests.factories import (
    SEPA_IBAN,
    make_campaign,
    make_expense,
    make_fund,
    make_gift,
    make_pending_gift,
    make_plan,
)
from solidaria.ledger.models import LedgerEntry
from solidaria.people.actions import erase_contact
from solidaria.people.models import Activity
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def _codes(org) -> list[str]:
    return list(
        AuditEvent.objects.filter(organization=org).order_by("pk").values_list("code", flat=True)
    )


def _entries(org) -> list[tuple]:
    return list(
        LedgerEntry.objects.filter(organization=org)
        .order_by("seq")
        .values_list("seq", "type", "fund", "amount", "currency", "ref")
    )


# --- money at the edges (no database) ------------------------------------------------------


@pytest.mark.django_db(False)
@given(cents=st.integers(min_value=1, max_value=actions.MAX_AMOUNT_MINOR))
def test_a_decimal_string_becomes_exact_minor_units_and_back(cents):
    # given
    text = f"{cents // 100}.{cents % 100:02d}"

    # when
    minor = actions.to_minor(text, "EUR")

    # then
    assert minor == cents
    assert actions.from_minor(minor, "EUR") == Decimal(text)
    assert actions.to_minor(Decimal(text), "eur") == cents


@pytest.mark.django_db(False)
@given(
    whole=st.integers(min_value=0, max_value=10**6),
    thousandths=st.integers(min_value=1, max_value=999).filter(lambda n: n % 10),
)
def test_three_decimals_are_refused_for_euros(whole, thousandths):
    with pytest.raises(Invalid) as error:
        actions.to_minor(f"{whole}.{thousandths:03d}", "EUR")
    assert error.value.errors == {"amount": ["EUR amounts have at most 2 decimals."]}


@pytest.mark.django_db(False)
@given(amount=st.decimals(max_value=0, allow_nan=False, allow_infinity=False))
def test_zero_and_negative_amounts_are_refused(amount):
    with pytest.raises(Invalid):
        actions.to_minor(amount, "EUR")


@pytest.mark.django_db(False)
@given(
    amount=st.decimals(min_value=Decimal("1000000000.01"), allow_nan=False, allow_infinity=False)
)
def test_huge_amounts_are_refused(amount):
    with pytest.raises(Invalid, match="too large"):
        actions.to_minor(amount, "EUR")


@pytest.mark.django_db(False)
@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12.500", "EUR", 1250),  # the value has two decimals, however it is written
        ("12", "EUR", 1200),
        (12, "EUR", 1200),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
        ("1000000000.00", "EUR", actions.MAX_AMOUNT_MINOR),
    ],
)
def test_amounts_in_each_currency_digits(amount, currency, minor):
    assert actions.to_minor(amount, currency) == minor


@pytest.mark.django_db(False)
@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("NaN", "EUR"),
        ("Infinity", "EUR"),
        ("-Infinity", "EUR"),
        ("twelve", "EUR"),
        ("", "EUR"),
        ("1.5", "JPY"),
        ("1E+400", "EUR"),
        ("1E-400", "EUR"),
        ("12.50", "EURO"),
        ("12.50", "XYZ"),
        ("12.50", ""),
    ],
)
def test_malformed_amounts_and_currencies_are_invalid_not_errors(amount, currency):
    with pytest.raises(Invalid):
        actions.to_minor(amount, currency)


# --- references ----------------------------------------------------------------------------


@pytest.mark.django_db(False)
def test_public_references_are_opaque_and_random():
    refs = {actions.new_public_ref("g") for _i in range(200)}
    assert len(refs) == 200
    for ref in refs:
        assert re.fullmatch(r"g-[a-z2-7]{16}", ref)


@pytest.mark.django_db(False)
def test_payment_references_are_valid_iso_11649_creditor_references():
    for _i in range(200):
        # when
        reference = actions.new_payment_reference()

        # then: an independent implementation agrees
        assert re.fullmatch(r"RF\d{14}", reference)
        assert iso11649.is_valid(reference)
        assert actions.is_payment_reference(reference)
        assert actions.is_payment_reference(iso11649.format(reference).lower())


def _reference(body: str) -> str:
    return f"RF{98 - int(body + '271500') % 97:02d}{body}"  # R=27, F=15, then 00


@pytest.mark.django_db(False)
@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=12),
    position=st.integers(min_value=4, max_value=15),
    digit=st.sampled_from("0123456789"),
)
def test_a_single_wrong_digit_in_a_payment_reference_is_caught(body, position, digit):
    # given
    reference = _reference(body)
    typo = reference[:position] + digit + reference[position + 1 :]

    # then
    assert actions.is_payment_reference(reference)
    assert actions.is_payment_reference(typo) == (typo == reference)


@pytest.mark.django_db(False)
@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=12),
    position=st.integers(min_value=2, max_value=14),
)
def test_two_swapped_neighbours_in_a_payment_reference_are_caught(body, position):
    # given
    reference = _reference(body)
    swapped = (
        reference[:position]
        + reference[position + 1]
        + reference[position]
        + reference[position + 2 :]
    )

    # then
    assert actions.is_payment_reference(swapped) == (swapped == reference)


@pytest.mark.django_db(False)
def test_known_creditor_references_check_out():
    assert actions.is_payment_reference("RF18 5390 0754 7034")  # ISO 11649's own example
    assert actions.is_payment_reference("RF712348231")
    assert not actions.is_payment_reference("RF19 5390 0754 7034")
    assert not actions.is_payment_reference("RF18")
    assert not actions.is_payment_reference("")


# --- funds, campaigns, peer pages ----------------------------------------------------------


def test_the_general_fund_is_created_once_and_unrestricted():
    # given
    org = OrganizationFactory(language="es")

    # when
    first = actions.ensure_general_fund(org=org)
    again = actions.ensure_general_fund(org=org)

    # then
    assert first.pk == again.pk
    # named in the organization's language
    assert (first.slug, first.restricted, first.name) == ("general", False, "Fondo general")
    assert Fund.objects.filter(organization=org).count() == 1
    assert _codes(org) == ["fundraising.fund.created"]


def test_a_fund_is_created_and_its_slug_is_unique():
    # given
    org = OrganizationFactory()
    fund = actions.create_fund(org=org, actor=TEST_ACTOR, slug="school", name=" The  school ")

    # then
    assert (fund.slug, fund.name, fund.restricted) == ("school", "The school", True)
    with pytest.raises(Conflict):
        actions.create_fund(org=org, actor=TEST_ACTOR, slug="school", name="Again")
    with pytest.raises(Invalid) as error:
        actions.create_fund(org=org, actor=TEST_ACTOR, slug="Not A Slug", name="x")
    assert error.value.field == "slug"
    with pytest.raises(Invalid):
        actions.create_fund(org=org, actor=TEST_ACTOR, slug="ok", name="  ")
    with pytest.raises(Invalid):
        actions.create_fund(org=org, actor=TEST_ACTOR, slug="ok", name="x", texts={"es": "no"})
    # another organization may use the same slug
    assert actions.create_fund(org=OrganizationFactory(), actor=TEST_ACTOR, slug="school", name="x")


def test_a_fund_is_updated_archived_and_the_general_one_stays_open():
    # given
    org = OrganizationFactory()
    fund = make_fund(org, "school")
    general = actions.ensure_general_fund(org=org)

    # when
    fund = actions.update_fund(
        org=org,
        actor=TEST_ACTOR,
        fund=fund,
        name="School",
        restricted=False,
        archived=True,
        texts={"es": {"name": "Escuela"}},
    )

    # then
    assert (fund.name, fund.restricted, fund.texts) == (
        "School",
        False,
        {"es": {"name": "Escuela"}},
    )
    assert fund.archived_at is not None
    with pytest.raises(Invalid, match="archived"):
        make_gift(org, fund=fund)
    with pytest.raises(Invalid):
        actions.update_fund(org=org, actor=TEST_ACTOR, fund=general, archived=True)
    with pytest.raises(Invalid):
        actions.update_fund(org=org, actor=TEST_ACTOR, fund=general, restricted=True)
    with pytest.raises(Invalid):
        actions.update_fund(org=OrganizationFactory(), actor=TEST_ACTOR, fund=general, name="x")
    assert "fundraising.fund.updated" in _codes(org)


def test_a_campaign_takes_the_organization_currency_and_general_fund_by_default():
    # given
    org = OrganizationFactory(currency="CHF")

    # when
    campaign = actions.create_campaign(
        org=org,
        actor=TEST_ACTOR,
        slug="winter",
        title="Winter",
        goal_minor=500_000,
        texts={"de": {"title": "Winter"}},
        preset_amounts=[1000, 2500],
    )

    # then
    assert (campaign.currency, campaign.fund.slug, campaign.goal_minor) == (
        "CHF",
        "general",
        500_000,
    )
    assert campaign.preset_amounts == [1000, 2500]
    assert campaign.published is False
    assert _codes(org)[-1] == "fundraising.campaign.created"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slug": "-bad"}, "slug"),
        ({"title": ""}, "title"),
        ({"currency": "XYZ"}, "currency"),
        ({"goal_minor": -5}, "goal"),
        ({"preset_amounts": [0]}, "preset_amounts"),
        ({"preset_amounts": [100] * 9}, "preset_amounts"),
        ({"starts_on": datetime.date(2026, 5, 1), "ends_on": datetime.date(2026, 4, 1)}, "ends_on"),
        ({"texts": {"es": {"title": "a\x00b"}}}, "texts"),
    ],
)
def test_a_campaign_with_bad_fields_is_refused(fields, field):
    org = OrganizationFactory()
    data = {"slug": "winter", "title": "Winter", **fields}
    with pytest.raises(Invalid) as error:
        actions.create_campaign(org=org, actor=TEST_ACTOR, **data)
    assert error.value.field == field


def test_a_campaign_is_updated_and_slugs_stay_unique():
    # given
    org = OrganizationFactory()
    make_campaign(org, "spring")
    campaign = make_campaign(org, "winter")
    school = make_fund(org, "school")

    # when
    campaign = actions.update_campaign(
        org=org, actor=TEST_ACTOR, campaign=campaign, title="Cold", fund=school, published=True
    )

    # then
    assert (campaign.title, campaign.fund, campaign.published) == ("Cold", school, True)
    with pytest.raises(Conflict):
        actions.update_campaign(org=org, actor=TEST_ACTOR, campaign=campaign, slug="spring")
    with pytest.raises(Invalid):
        actions.update_campaign(org=org, actor=TEST_ACTOR, campaign=campaign, colour="red")
    with pytest.raises(Invalid):
        actions.update_campaign(
            org=org, actor=TEST_ACTOR, campaign=campaign, fund=make_fund(OrganizationFactory())
        )


def test_a_peer_page_is_created_and_hidden():
    # given
    org = OrganizationFactory()
    campaign = make_campaign(org, "winter")
    supporter = make_contact(org)

    # when
    page = actions.create_peer_page(
        org=org,
        actor=TEST_ACTOR,
        campaign=campaign,
        supporter=supporter,
        slug="ana",
        title="Ana runs",
        story="For the school",
        goal_minor=50_000,
        language="es",
    )
    hidden = actions.hide_peer_page(org=org, actor=TEST_ACTOR, peer_page=page)
    again = actions.hide_peer_page(org=org, actor=TEST_ACTOR, peer_page=page)

    # then
    assert hidden.hidden_at is not None
    assert again.hidden_at == hidden.hidden_at
    assert _codes(org).count("fundraising.peer_page.hidden") == 1
    with pytest.raises(Conflict):
        actions.create_peer_page(
            org=org,
            actor=TEST_ACTOR,
            campaign=campaign,
            supporter=supporter,
            slug="ana",
            title="Again",
        )
    erased = erase_contact(org=org, actor=TEST_ACTOR, contact=make_contact(org))
    with pytest.raises(Invalid):
        actions.create_peer_page(
            org=org, actor=TEST_ACTOR, campaign=campaign, supporter=erased, slug="bo", title="Bo"
        )
    with pytest.raises(Invalid):
        actions.create_peer_page(
            org=org,
            actor=TEST_ACTOR,
            campaign=campaign,
            supporter=make_contact(OrganizationFactory()),
            slug="eve",
            title="Eve",
        )


# --- gifts ---------------------------------------------------------------------------------


def test_a_bank_transfer_starts_pending_with_references():
    # given
    org = OrganizationFactory()
    contact = make_contact(org, language="ca")

    # when
    gift = actions.start_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=2500,
        currency="eur",
        fund=None,
        method="bank_transfer",
    )

    # then
    assert gift.status == Donation.Status.PENDING
    assert (gift.currency, gift.fund.slug, gift.language) == ("EUR", "general", "ca")
    assert re.fullmatch(r"g-[a-z2-7]{16}", gift.public_ref)
    assert len(gift.tracking_token) >= 22  # 128 bits, URL-safe base64
    assert iso11649.is_valid(gift.payment_reference)
    assert gift.ledger_seq is None
    assert gift.receipt_number == ""
    assert _entries(org) == []
    assert _codes(org)[-1] == "fundraising.donation.started"


def test_a_card_gift_has_no_transfer_reference():
    gift = make_pending_gift(OrganizationFactory(), method="stripe")
    assert gift.payment_reference == ""


def test_a_gift_through_a_peer_page_counts_for_its_campaign_and_fund():
    # given
    org = OrganizationFactory()
    school = make_fund(org, "school")
    campaign = make_campaign(org, "winter", fund=school)
    page = actions.create_peer_page(
        org=org,
        actor=TEST_ACTOR,
        campaign=campaign,
        supporter=make_contact(org),
        slug="ana",
        title="Ana",
    )

    # when
    gift = make_pending_gift(org, peer_page=page, method="stripe")

    # then
    assert (gift.campaign, gift.peer_page, gift.fund) == (campaign, page, school)
    other = make_campaign(org, "spring")
    with pytest.raises(Invalid):
        make_pending_gift(org, peer_page=page, campaign=other)
    with pytest.raises(Invalid, match="another fund"):
        make_pending_gift(org, campaign=campaign, fund=actions.ensure_general_fund(org=org))
    actions.hide_peer_page(org=org, actor=TEST_ACTOR, peer_page=page)
    with pytest.raises(Invalid, match="taken down"):
        make_pending_gift(org, peer_page=page)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_minor": 0}, "amount"),
        ({"amount_minor": -1}, "amount"),
        ({"amount_minor": actions.MAX_AMOUNT_MINOR + 1}, "amount"),
        ({"currency": "EU"}, "currency"),
        ({"method": "bitcoin"}, "method"),
        ({"frequency": "daily"}, "frequency"),
        ({"language": "not a language"}, "language"),
    ],
)
def test_a_gift_with_bad_fields_is_refused(change, field):
    org = OrganizationFactory()
    with pytest.raises(Invalid) as error:
        make_pending_gift(org, **change)
    assert error.value.field == field
    assert not Donation.objects.filter(organization=org).exists()


def test_a_gift_from_an_erased_or_foreign_contact_or_to_a_foreign_fund_is_refused():
    org = OrganizationFactory()
    erased = erase_contact(org=org, actor=TEST_ACTOR, contact=make_contact(org))
    with pytest.raises(Invalid):
        make_pending_gift(org, contact=erased)
    with pytest.raises(Invalid):
        make_pending_gift(org, contact=make_contact(OrganizationFactory()))
    with pytest.raises(Invalid):
        make_pending_gift(org, fund=make_fund(OrganizationFactory()))


def test_confirming_posts_income_numbers_the_receipt_and_notes_the_timeline():
    # given
    org = OrganizationFactory(time_zone="Europe/Madrid")
    school = make_fund(org, "school")
    contact = make_contact(org)
    gift = make_pending_gift(org, contact=contact, fund=school, amount_minor=4200)
    received = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    # when
    confirmed = actions.confirm_donation(
        donation=gift, actor=TEST_ACTOR, received_at=received, provider_id="tr_1"
    )

    # then
    assert confirmed.status == Donation.Status.CONFIRMED
    assert (confirmed.received_at, confirmed.ledger_seq) == (received, 0)
    assert confirmed.confirmed_at is not None
    assert confirmed.receipt_number == "2026-000001"
    assert confirmed.provider_id == "tr_1"
    assert _entries(org) == [(0, "income", "school", 4200, "EUR", gift.public_ref)]
    assert LedgerEntry.objects.get(organization=org).at == received
    activity = Activity.objects.get(contact=contact, kind="donation")
    assert "42" not in activity.subject  # no amount copied into free text
    assert "2026-000001" in activity.subject
    assert "fundraising.donation.confirmed" in _codes(org)
    assert Donation.objects.get(pk=gift.pk).receipt_number == "2026-000001"


def test_confirming_twice_changes_nothing():
    # given
    org = OrganizationFactory()
    gift = make_pending_gift(org)
    first = actions.confirm_donation(donation=gift, actor=TEST_ACTOR)
    codes = _codes(org)
    row = Donation.objects.filter(pk=gift.pk).values().get()

    # when
    again = actions.confirm_donation(
        donation=Donation.objects.get(pk=gift.pk), actor=TEST_ACTOR, provider_id="other"
    )

    # then
    assert again.receipt_number == first.receipt_number
    assert len(_entries(org)) == 1
    assert _codes(org) == codes
    assert Donation.objects.filter(pk=gift.pk).values().get() == row
    assert ReceiptCounter.objects.get(organization=org).last == 1


def test_confirming_enqueues_the_thank_you_after_commit(django_capture_on_commit_callbacks):
    # given
    org = OrganizationFactory()
    gift = make_pending_gift(org)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        actions.confirm_donation(donation=gift, actor=TEST_ACTOR)

    # then
    assert len(callbacks) == 1
    task = DBTaskResult.objects.get()
    assert task.task_path == "solidaria.fundraising.mail.send_thank_you"
    assert task.args_kwargs["args"] == [gift.pk]


def test_a_failed_confirmation_enqueues_nothing_and_takes_no_number(
    django_capture_on_commit_callbacks,
):
    # given
    org = OrganizationFactory()
    gift = make_pending_gift(org)

    # when: the transaction around the confirmation rolls back
    def confirm_then_fail() -> None:
        with transaction.atomic():
            actions.confirm_donation(donation=gift, actor=TEST_ACTOR)
            raise RuntimeError

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        confirm_then_fail()

    # then
    assert callbacks == []
    assert make_gift(org).receipt_number.endswith("-000001")
    assert Donation.objects.get(pk=gift.pk).status == Donation.Status.PENDING


@pytest.mark.parametrize(
    "received_at",
    [
        datetime.datetime(2026, 1, 1, 10, 0),  # naive
        timezone.now() + datetime.timedelta(days=3),
    ],
)
def test_a_confirmation_at_a_naive_or_future_moment_is_refused(received_at):
    org = OrganizationFactory()
    gift = make_pending_gift(org)
    with pytest.raises(Invalid):
        actions.confirm_donation(donation=gift, actor=TEST_ACTOR, received_at=received_at)
    assert _entries(org) == []


def test_receipt_numbers_are_gapless_per_organization_and_year():
    # given
    org = OrganizationFactory(time_zone="Europe/Madrid")
    other = OrganizationFactory()
    jan = datetime.datetime(2026, 1, 15, 12, tzinfo=UTC)
    # 23:30 UTC on 31 December is already 2026 in Madrid
    new_year = datetime.datetime(2025, 12, 31, 23, 30, tzinfo=UTC)

    # when
    donor = make_contact(org)
    numbers = [make_gift(org, contact=donor, received_at=jan).receipt_number for _i in range(40)]
    failed = make_pending_gift(org)
    actions.fail_donation(donation=failed, actor=TEST_ACTOR, reason="declined")
    numbers.append(make_gift(org, received_at=new_year).receipt_number)
    old = make_gift(org, received_at=datetime.datetime(2025, 6, 1, tzinfo=UTC)).receipt_number
    elsewhere = make_gift(other, received_at=jan).receipt_number

    # then
    assert numbers == [f"2026-{n:06d}" for n in range(1, 42)]
    assert old == "2025-000001"
    assert elsewhere == "2026-000001"


def test_record_donation_confirms_at_once_with_one_event():
    # given
    org = OrganizationFactory()
    contact = make_contact(org)
    actions.ensure_general_fund(org=org)
    before = len(_codes(org))

    # when
    gift = actions.record_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=1000,
        currency="EUR",
        fund=None,
        method="cheque",
        received_at=timezone.now(),
        note=" cheque 123 ",
    )

    # then
    assert gift.status == Donation.Status.CONFIRMED
    assert (gift.note, gift.ledger_seq) == ("cheque 123", 0)
    new = _codes(org)[before:]
    assert [c for c in new if c.startswith("fundraising.")] == ["fundraising.donation.recorded"]


def test_failing_and_cancelling_a_pending_gift_are_idempotent_and_final():
    # given
    org = OrganizationFactory()
    failing, cancelling = make_pending_gift(org), make_pending_gift(org)

    # when
    failed = actions.fail_donation(donation=failing, actor=TEST_ACTOR, reason="expired")
    actions.fail_donation(donation=failing, actor=TEST_ACTOR, reason="expired")
    cancelled = actions.cancel_donation(donation=cancelling, actor=TEST_ACTOR)

    # then
    assert (failed.status, failed.failure_reason) == ("failed", "expired")
    assert cancelled.status == "cancelled"
    assert _codes(org).count("fundraising.donation.failed") == 1
    with pytest.raises(Conflict):
        actions.confirm_donation(donation=failed, actor=TEST_ACTOR)
    with pytest.raises(Conflict):
        actions.cancel_donation(donation=failed, actor=TEST_ACTOR)
    with pytest.raises(Conflict):
        actions.fail_donation(donation=make_gift(org), actor=TEST_ACTOR)
    assert _entries(org)[-1][1] == "income"
    assert len(_entries(org)) == 1


# --- refunds -------------------------------------------------------------------------------


def test_a_gift_is_refunded_in_parts_up_to_what_is_left():
    # given
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=5000)

    # when
    first = actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=2000)
    rest = actions.refund_donation(donation=gift, actor=TEST_ACTOR, reason="asked")

    # then
    assert (first.amount_minor, rest.amount_minor) == (2000, 3000)
    assert Donation.objects.get(pk=gift.pk).refunded_minor == 5000
    assert [e[1:] for e in _entries(org)] == [
        ("income", "general", 5000, "EUR", gift.public_ref),
        ("refund", "general", 2000, "EUR", gift.public_ref),
        ("refund", "general", 3000, "EUR", gift.public_ref),
    ]
    assert (first.ledger_seq, rest.ledger_seq) == (1, 2)
    with pytest.raises(Conflict, match="in full"):
        actions.refund_donation(donation=gift, actor=TEST_ACTOR)


def test_a_refund_beyond_what_is_left_or_of_a_pending_gift_is_refused():
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=1000)
    actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=600)
    with pytest.raises(Invalid, match=r"4\.00 EUR"):
        actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=401)
    with pytest.raises(Invalid):
        actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=0)
    with pytest.raises(Conflict):
        actions.refund_donation(donation=make_pending_gift(org), actor=TEST_ACTOR)
    assert Refund.objects.filter(organization=org).count() == 1


def test_a_refund_is_idempotent_on_the_provider_id():
    # given
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=1000)

    # when
    first = actions.refund_donation(
        donation=gift, actor=TEST_ACTOR, amount_minor=300, provider_id="re_1"
    )
    again = actions.refund_donation(
        donation=gift, actor=TEST_ACTOR, amount_minor=300, provider_id="re_1"
    )

    # then
    assert first.pk == again.pk
    assert Donation.objects.get(pk=gift.pk).refunded_minor == 300
    assert len(_entries(org)) == 2


def test_a_refund_the_fund_can_no_longer_pay_is_a_conflict():
    # given: the gift's money was spent
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=1000)
    make_expense(org, fund=gift.fund, amount_minor=800)

    # when / then
    with pytest.raises(Conflict):
        actions.refund_donation(donation=gift, actor=TEST_ACTOR)
    assert Donation.objects.get(pk=gift.pk).refunded_minor == 0
    assert not Refund.objects.exists()
    refund = actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=200)
    assert refund.amount_minor == 200


# --- the treasurer's books -----------------------------------------------------------------


def test_money_is_allocated_between_funds():
    # given
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=1000)
    school = make_fund(org, "school")

    # when
    allocation = actions.allocate(
        org=org,
        actor=TEST_ACTOR,
        from_fund=gift.fund,
        to_fund=school,
        amount_minor=700,
        currency="EUR",
        note="term fees",
    )

    # then
    assert re.fullmatch(r"a-[a-z2-7]{16}", allocation.public_ref)
    entry = LedgerEntry.objects.get(organization=org, seq=allocation.ledger_seq)
    assert (entry.type, entry.fund, entry.to_fund, entry.amount) == (
        "allocation",
        "general",
        "school",
        700,
    )
    assert "fundraising.allocation.booked" in _codes(org)
    with pytest.raises(Conflict):
        actions.allocate(
            org=org,
            actor=TEST_ACTOR,
            from_fund=gift.fund,
            to_fund=school,
            amount_minor=301,
            currency="EUR",
        )
    with pytest.raises(Invalid):
        actions.allocate(
            org=org,
            actor=TEST_ACTOR,
            from_fund=school,
            to_fund=school,
            amount_minor=1,
            currency="EUR",
        )
    with pytest.raises(Invalid):
        actions.allocate(
            org=org,
            actor=TEST_ACTOR,
            from_fund=school,
            to_fund=make_fund(OrganizationFactory()),
            amount_minor=1,
            currency="EUR",
        )
    with pytest.raises(Conflict):  # no dollars in the fund
        actions.allocate(
            org=org,
            actor=TEST_ACTOR,
            from_fund=school,
            to_fund=gift.fund,
            amount_minor=1,
            currency="USD",
        )


def test_an_expense_stores_its_evidence_under_its_hash(settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=10_000)
    content = b"%PDF-1.4 invoice" * 10_000  # several chunks
    upload = SimpleUploadedFile("Factura Ana García.PDF", content, content_type="application/pdf")
    digest = hashlib.sha256(content).hexdigest()

    # when
    expense = make_expense(
        org, fund=gift.fund, amount_minor=2500, evidence=upload, evidence_sha256=digest.upper()
    )

    # then
    assert expense.evidence_sha256 == digest
    assert re.fullmatch(rf"evidence/\d{{4}}/\d{{2}}/{digest}\.pdf", expense.evidence.name)
    with default_storage.open(expense.evidence.name, "rb") as stored:
        assert stored.read() == content
    entry = LedgerEntry.objects.get(organization=org, seq=expense.ledger_seq)
    assert (entry.type, entry.amount, entry.evidence_sha256) == ("expense", 2500, digest)
    assert (entry.description, entry.category, entry.ref) == (
        "Blankets",
        "supplies",
        expense.public_ref,
    )


def test_an_expense_whose_evidence_disagrees_with_its_hash_is_refused(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    org = OrganizationFactory()
    gift = make_gift(org)
    upload = SimpleUploadedFile("a.pdf", b"one")
    with pytest.raises(Invalid) as error:
        make_expense(org, fund=gift.fund, evidence=upload, evidence_sha256="0" * 64)
    assert error.value.field == "evidence_sha256"
    with pytest.raises(Invalid):
        make_expense(org, fund=gift.fund, evidence_sha256="xyz")
    assert not list(tmp_path.rglob("*.pdf"))


def test_an_expense_beyond_the_fund_is_a_conflict_and_leaves_nothing(settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=1000)

    # when
    with pytest.raises(Conflict) as error:
        make_expense(
            org, fund=gift.fund, amount_minor=1001, evidence=SimpleUploadedFile("a.pdf", b"x")
        )

    # then
    assert error.value.status == 409
    assert "general" in error.value.message
    assert not Expense.objects.exists()
    assert len(_entries(org)) == 1
    assert not list(tmp_path.rglob("*.pdf"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": " "}, "description"),
        ({"category": ""}, "category"),
        ({"category": "x" * 51}, "category"),
        ({"spent_at": datetime.datetime(2026, 1, 1)}, "spent_at"),
        ({"amount_minor": 0}, "amount"),
        ({"currency": "ABC"}, "currency"),
    ],
)
def test_an_expense_with_bad_fields_is_refused(change, field):
    org = OrganizationFactory()
    gift = make_gift(org)
    with pytest.raises(Invalid) as error:
        make_expense(org, fund=gift.fund, **change)
    assert error.value.field == field


def test_an_expense_is_reversed_once():
    # given
    org = OrganizationFactory()
    gift = make_gift(org, amount_minor=1000)
    expense = make_expense(org, fund=gift.fund, amount_minor=1000)

    # when
    reversed_ = actions.reverse_expense(
        org=org, actor=TEST_ACTOR, expense=expense, reason="duplicate"
    )

    # then
    entry = LedgerEntry.objects.get(organization=org, seq=reversed_.reversal_seq)
    assert (entry.type, entry.reverses, entry.amount, entry.ref) == (
        "reversal",
        expense.ledger_seq,
        1000,
        expense.public_ref,
    )
    make_expense(org, fund=gift.fund, amount_minor=1000)  # the money is back
    with pytest.raises(Conflict):
        actions.reverse_expense(org=org, actor=TEST_ACTOR, expense=expense, reason="again")
    with pytest.raises(Invalid):
        actions.reverse_expense(org=org, actor=TEST_ACTOR, expense=expense, reason=" ")


# --- recurring plans -----------------------------------------------------------------------


@pytest.mark.django_db(False)
@pytest.mark.parametrize(
    ("day", "frequency", "anchor", "expected"),
    [
        (datetime.date(2026, 1, 31), "monthly", 31, datetime.date(2026, 2, 28)),
        (datetime.date(2026, 2, 28), "monthly", 31, datetime.date(2026, 3, 31)),
        (datetime.date(2026, 4, 30), "monthly", 31, datetime.date(2026, 5, 31)),
        (datetime.date(2028, 1, 30), "monthly", 30, datetime.date(2028, 2, 29)),
        (datetime.date(2026, 2, 28), "monthly", None, datetime.date(2026, 3, 28)),
        (datetime.date(2026, 11, 30), "quarterly", 31, datetime.date(2027, 2, 28)),
        (datetime.date(2026, 12, 15), "monthly", None, datetime.date(2027, 1, 15)),
        (datetime.date(2028, 2, 29), "yearly", 29, datetime.date(2029, 2, 28)),
        (datetime.date(2029, 2, 28), "yearly", 29, datetime.date(2030, 2, 28)),
        (datetime.date(2031, 2, 28), "yearly", 29, datetime.date(2032, 2, 29)),
    ],
)
def test_the_next_due_date_is_month_end_safe(day, frequency, anchor, expected):
    assert actions.add_period(day, frequency, day_of_month=anchor) == expected


@pytest.mark.django_db(False)
@given(
    start=st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2100, 1, 1)),
    frequency=st.sampled_from(["monthly", "quarterly", "yearly"]),
    periods=st.integers(min_value=1, max_value=40),
)
def test_a_plan_keeps_its_day_of_the_month_whenever_the_month_has_it(start, frequency, periods):
    # given
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}[frequency]
    day = start

    # when
    for _i in range(periods):
        day = actions.add_period(day, frequency, day_of_month=start.day)

    # then: exactly the right month, on the plan's day or the month's last day
    assert (day.year * 12 + day.month) - (start.year * 12 + start.month) == months * periods
    assert day.day == start.day or (
        day.day < start.day and (day + datetime.timedelta(days=1)).day == 1
    )


def test_a_sepa_plan_needs_a_valid_iban_and_a_signed_mandate():
    # given
    org = OrganizationFactory()

    # when
    plan = make_plan(org, iban="es91 2100 0418 4502 0005 1332")

    # then
    assert plan.iban == SEPA_IBAN
    assert plan.bic == "CAIXESBB"
    assert re.fullmatch(r"SOL-[0-9A-Z]{16}", plan.mandate_reference)
    assert plan.next_due == timezone.localdate()
    assert plan.status == RecurringPlan.Status.ACTIVE
    assert "fundraising.plan.created" in _codes(org)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"iban": "ES9121000418450200051333"}, "iban"),
        ({"iban": ""}, "iban"),
        ({"mandate_signed_at": None}, "mandate_signed_at"),
        ({"mandate_signed_at": datetime.date(2099, 1, 1)}, "mandate_signed_at"),
        ({"mandate_reference": "ñ" * 5}, "mandate_reference"),
        ({"frequency": "once", "method": "bank_transfer"}, "frequency"),
        ({"frequency": "weekly"}, "frequency"),
        ({"account_holder": "x" * 71}, "account_holder"),
        ({"method": "stripe", "account_holder": "Joan"}, "iban"),
        ({"method": "cash"}, "method"),
        ({"bic": "NOTABIC"}, "bic"),
        ({"method": "stripe", "iban": SEPA_IBAN}, "iban"),
    ],
)
def test_a_plan_with_bad_fields_is_refused(fields, field):
    org = OrganizationFactory()
    with pytest.raises(Invalid) as error:
        make_plan(org, **fields)
    assert error.value.field == field


def test_a_one_off_sepa_mandate_has_no_next_date_and_keeps_its_account_holder():
    # given
    org = OrganizationFactory()

    # when
    plan = make_plan(org, frequency="once", account_holder="  Joan   Ferrer ")

    # then
    plan = RecurringPlan.objects.get(pk=plan.pk)
    assert (plan.frequency, plan.status, plan.next_due) == ("once", "active", None)
    assert plan.account_holder == "Joan Ferrer"
    assert plan.iban == SEPA_IBAN
    assert plan.mandate_reference


def test_a_sepa_gift_starts_with_its_collection_date_and_sequence_type():
    # given
    org = OrganizationFactory()
    plan = make_plan(org, frequency="once")
    day = datetime.date(2026, 12, 1)

    # when
    gift = make_pending_gift(
        org,
        method="sepa",
        plan=plan,
        contact=plan.contact,
        collection_date=day,
        sepa_sequence="OOFF",
    )

    # then
    gift = Donation.objects.get(pk=gift.pk)
    assert (gift.collection_date, gift.sepa_sequence, gift.status) == (day, "OOFF", "pending")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"method": "bank_transfer", "collection_date": datetime.date(2026, 12, 1)},
            "collection_date",
        ),
        ({"method": "stripe", "sepa_sequence": "FRST"}, "collection_date"),
        ({"method": "sepa", "sepa_sequence": "FNAL"}, "sepa_sequence"),
    ],
)
def test_a_collection_date_or_sequence_is_only_for_a_sepa_debit(fields, field):
    org = OrganizationFactory()
    with pytest.raises(Invalid) as error:
        make_pending_gift(org, **fields)
    assert error.value.field == field
    assert not Donation.objects.filter(organization=org).exists()


def test_the_account_holder_changes_with_the_account():
    # given
    org = OrganizationFactory()
    plan = make_plan(org, account_holder="Joan Ferrer")

    # when
    actions.update_plan(
        plan=plan, actor=TEST_ACTOR, iban="DE89370400440532013000", account_holder="Anna Weber"
    )

    # then
    plan = RecurringPlan.objects.get(pk=plan.pk)
    assert (plan.iban, plan.account_holder) == ("DE89370400440532013000", "Anna Weber")
    assert plan.first_collected is False


def test_a_mandate_reference_is_unique_in_the_organization():
    org = OrganizationFactory()
    make_plan(org, mandate_reference="M-1")
    with pytest.raises(Conflict):
        make_plan(org, mandate_reference="M-1")
    assert make_plan(OrganizationFactory(), mandate_reference="M-1")


def test_a_plan_is_paused_skipped_resumed_and_cancelled():
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=datetime.date(2026, 1, 31))

    # when / then
    plan = actions.update_plan(plan=plan, actor=TEST_ACTOR, skip_next=True)
    assert plan.next_due == datetime.date(2026, 2, 28)
    plan = actions.update_plan(plan=plan, actor=TEST_ACTOR, skip_next=True)
    assert plan.next_due == datetime.date(2026, 3, 31)
    plan = actions.update_plan(plan=plan, actor=TEST_ACTOR, status="paused", amount_minor=2000)
    assert (plan.status, plan.amount_minor) == ("paused", 2000)
    plan = actions.update_plan(plan=plan, actor=TEST_ACTOR, status="active")
    assert plan.next_due >= timezone.localdate()  # a date that passed while paused moves on
    assert plan.next_due.day in {28, 29, 30, 31}
    plan = actions.update_plan(plan=plan, actor=TEST_ACTOR, status="cancelled")
    assert plan.cancelled_at is not None
    assert (
        actions.update_plan(plan=plan, actor=TEST_ACTOR, status="cancelled").status == "cancelled"
    )
    with pytest.raises(Conflict):
        actions.update_plan(plan=plan, actor=TEST_ACTOR, status="active")
    assert _codes(org).count("fundraising.plan.updated") == 5


def test_a_new_iban_restarts_the_mandate_sequence():
    # given
    org = OrganizationFactory()
    plan = make_plan(org)
    RecurringPlan.objects.filter(pk=plan.pk).update(first_collected=True)

    # when
    plan = actions.update_plan(
        plan=RecurringPlan.objects.get(pk=plan.pk), actor=TEST_ACTOR, iban="DE89370400440532013000"
    )

    # then
    assert (plan.iban, plan.bic, plan.first_collected) == (
        "DE89370400440532013000",
        "COBADEFFXXX",
        False,
    )
    with pytest.raises(Invalid):
        actions.update_plan(plan=plan, actor=TEST_ACTOR, iban="DE00")
    with pytest.raises(Invalid):
        actions.update_plan(plan=make_plan(org, method="stripe"), actor=TEST_ACTOR, iban=SEPA_IBAN)
    with pytest.raises(Invalid):
        actions.update_plan(plan=plan, actor=TEST_ACTOR, status="gone")


# --- payment providers and settings --------------------------------------------------------


def test_a_stripe_account_keeps_its_secrets_when_they_are_sent_empty():
    # given
    org = OrganizationFactory()
    actions.configure_payment_provider(
        org=org,
        actor=TEST_ACTOR,
        kind="stripe",
        settings={},
        secrets={"secret_key": "sk_test_1", "webhook_secret": "whsec_1"},
    )

    # when
    provider = actions.configure_payment_provider(
        org=org,
        actor=TEST_ACTOR,
        kind="stripe",
        settings={"api_base_url": "http://127.0.0.1:9999/"},
        secrets={"secret_key": "", "webhook_secret": "whsec_2"},
    )

    # then
    provider = PaymentProvider.objects.get(pk=provider.pk)
    assert provider.settings == {"api_base_url": "http://127.0.0.1:9999"}
    assert provider.secrets == {"secret_key": "sk_test_1", "webhook_secret": "whsec_2"}
    assert PaymentProvider.objects.filter(organization=org).count() == 1
    extras = AuditEvent.objects.filter(organization=org, code="fundraising.provider.configured")
    assert "whsec" not in str(list(extras.values_list("extra", flat=True)))


def test_a_mollie_webhook_secret_is_optional_and_kept_when_sent_empty():
    # given: an account without a signing secret
    org = OrganizationFactory()
    provider = actions.configure_payment_provider(
        org=org, actor=TEST_ACTOR, kind="mollie", settings={}, secrets={"api_key": "test_x"}
    )
    assert provider.secrets == {"api_key": "test_x"}

    # when: the secret is added, then the form is saved again with both fields empty
    actions.configure_payment_provider(
        org=org,
        actor=TEST_ACTOR,
        kind="mollie",
        settings={},
        secrets={"api_key": "", "webhook_secret": "mollie_whsec_1"},
    )
    provider = actions.configure_payment_provider(
        org=org,
        actor=TEST_ACTOR,
        kind="mollie",
        settings={},
        secrets={"api_key": "", "webhook_secret": ""},
    )

    # then
    provider = PaymentProvider.objects.get(pk=provider.pk)
    assert provider.secrets == {"api_key": "test_x", "webhook_secret": "mollie_whsec_1"}
    extras = AuditEvent.objects.filter(organization=org, code="fundraising.provider.configured")
    assert "mollie_whsec" not in str(list(extras.values_list("extra", flat=True)))


def test_a_mollie_account_gets_the_public_api_by_default():
    org = OrganizationFactory()
    provider = actions.configure_payment_provider(
        org=org, actor=TEST_ACTOR, kind="mollie", settings={}, secrets={"api_key": "test_x"}
    )
    assert provider.settings == {"api_base_url": "https://api.mollie.com"}


@pytest.mark.parametrize(
    ("kind", "settings", "secrets", "field"),
    [
        ("paypal", {}, {}, "kind"),
        ("stripe", {}, {"secret_key": "sk"}, "webhook_secret"),
        ("mollie", {}, {}, "api_key"),
        ("mollie", {}, {"webhook_secret": "whsec"}, "api_key"),
        ("mollie", {"api_base_url": "ftp://x"}, {"api_key": "k"}, "api_base_url"),
        ("mollie", {"api_base_url": "javascript:alert(1)"}, {"api_key": "k"}, "api_base_url"),
        ("mollie", {"colour": "red"}, {"api_key": "k"}, "colour"),
        ("mollie", {}, {"api_key": "a\x00b"}, "api_key"),
        (
            "sepa",
            {
                "creditor_name": "Amics",
                "creditor_iban": SEPA_IBAN,
                "creditor_id": "ES24ZZZ47690558N",
            },
            {},
            "creditor_id",
        ),
        (
            "sepa",
            {"creditor_name": "Amics", "creditor_iban": "ES00", "creditor_id": "ES23ZZZ47690558N"},
            {},
            "creditor_iban",
        ),
        (
            "sepa",
            {"creditor_name": "", "creditor_iban": SEPA_IBAN, "creditor_id": "ES23ZZZ47690558N"},
            {},
            "creditor_name",
        ),
    ],
)
def test_a_provider_with_bad_settings_is_refused(kind, settings, secrets, field):
    org = OrganizationFactory()
    with pytest.raises(Invalid) as error:
        actions.configure_payment_provider(
            org=org, actor=TEST_ACTOR, kind=kind, settings=settings, secrets=secrets
        )
    assert error.value.field == field
    assert not PaymentProvider.objects.filter(organization=org).exists()


def test_a_sepa_creditor_is_checked_and_normalized():
    org = OrganizationFactory()
    provider = actions.configure_payment_provider(
        org=org,
        actor=TEST_ACTOR,
        kind="sepa",
        settings={
            "creditor_name": "Amics del Barri",
            "creditor_iban": "ES91 2100 0418 4502 0005 1332",
            "creditor_id": "es 23 zzz 47690558n",
        },
        secrets={},
    )
    assert provider.settings == {
        "creditor_name": "Amics del Barri",
        "creditor_iban": SEPA_IBAN,
        "creditor_bic": "CAIXESBB",
        "creditor_id": "ES23ZZZ47690558N",
    }


def test_fundraising_settings_are_updated_and_checked():
    # given
    org = OrganizationFactory()

    # when
    current = actions.update_fundraising_settings(
        org=org,
        actor=TEST_ACTOR,
        legal_name="Amics del Barri",
        tax_id="G12345678",
        fiscal_year_start_month=7,
        preset_amounts=[1000, 2000],
        bank_iban=SEPA_IBAN,
        texts={"ca": {"thanks": "Gràcies"}},
    )

    # then
    assert (current.legal_name, current.fiscal_year_start_month) == ("Amics del Barri", 7)
    assert (current.bank_iban, current.bank_bic) == (SEPA_IBAN, "CAIXESBB")
    assert "fundraising.settings.updated" in _codes(org)
    for bad in (
        {"fiscal_year_start_month": 13},
        {"preset_amounts": [-1]},
        {"bank_iban": "nope"},
        {"legal_name": "x" * 201},
        {"colour": "red"},
    ):
        with pytest.raises(Invalid):
            actions.update_fundraising_settings(org=org, actor=TEST_ACTOR, **bad)


@pytest.mark.slow
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_receipt_numbers_stay_gapless_under_concurrent_confirmations():
    """Slow (threads with their own connections, committed data): 32 confirmations race."""
    # given
    org = OrganizationFactory()
    donor = make_contact(org)
    gifts = [make_pending_gift(org, contact=donor, method="cash") for _i in range(32)]
    start = threading.Barrier(8)

    def confirm(share: list[Donation]) -> None:
        try:
            start.wait()
            for gift in share:
                actions.confirm_donation(donation=gift, actor=TEST_ACTOR)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=confirm, args=(gifts[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: every gift confirmed once, numbers 1…32 with no gap, seqs 0…31
    rows = Donation.objects.filter(organization=org)
    assert set(rows.values_list("status", flat=True)) == {"confirmed"}
    year = timezone.localdate().year
    numbers = sorted(rows.values_list("receipt_number", flat=True))
    assert numbers == [f"{year}-{n:06d}" for n in range(1, 33)]
    assert sorted(rows.values_list("ledger_seq", flat=True)) == list(range(32))


# --- queries -------------------------------------------------------------------------------


def test_campaign_and_peer_page_progress_count_confirmed_gifts_net_of_refunds(
    django_assert_num_queries,
):
    # given
    org = OrganizationFactory()
    campaign = make_campaign(org, "winter", goal_minor=100_000)
    page = actions.create_peer_page(
        org=org,
        actor=TEST_ACTOR,
        campaign=campaign,
        supporter=make_contact(org),
        slug="ana",
        title="Ana",
    )
    ana, bo = make_contact(org), make_contact(org)
    make_gift(org, contact=ana, amount_minor=1000, campaign=campaign)
    make_gift(org, contact=ana, amount_minor=500, campaign=campaign)
    refunded = make_gift(org, contact=bo, amount_minor=2000, campaign=campaign)
    actions.refund_donation(donation=refunded, actor=TEST_ACTOR, amount_minor=500)
    through_page = make_pending_gift(org, contact=bo, amount_minor=700, peer_page=page)
    actions.confirm_donation(donation=through_page, actor=TEST_ACTOR)
    make_pending_gift(org, contact=make_contact(org), amount_minor=9999, peer_page=page)
    make_gift(org, amount_minor=300, campaign=campaign, currency="USD")  # other currency
    make_gift(org, amount_minor=400)  # no campaign

    # when
    with django_assert_num_queries(1):
        raised, donors, goal = queries.campaign_progress(campaign=campaign)
    page_progress = queries.peer_page_progress(peer_page=page)

    # then
    assert (raised, donors, goal) == (1000 + 500 + 1500 + 700, 2, 100_000)
    assert (page_progress.raised_minor, page_progress.donors) == (700, 1)
    listed = queries.campaigns_for(org=org).get(pk=campaign.pk)
    assert (listed.raised_minor, listed.donors) == (raised, donors)


def test_funds_summary_gives_income_spending_and_the_ledger_balance():
    # given
    org = OrganizationFactory()
    school = make_fund(org, "school")
    make_fund(org, "empty")
    gift = make_gift(org, amount_minor=10_000)
    actions.refund_donation(donation=gift, actor=TEST_ACTOR, amount_minor=1000)
    actions.allocate(
        org=org,
        actor=TEST_ACTOR,
        from_fund=gift.fund,
        to_fund=school,
        amount_minor=4000,
        currency="EUR",
    )
    spent = make_expense(org, fund=school, amount_minor=1500)
    make_expense(org, fund=school, amount_minor=500)
    actions.reverse_expense(org=org, actor=TEST_ACTOR, expense=spent, reason="typo")
    make_gift(org, amount_minor=200, currency="USD", fund=school)

    # when
    summary = {
        (row.fund.slug, row.currency): (row.income_minor, row.spent_minor, row.balance_minor)
        for row in queries.funds_summary_for(org=org)
    }

    # then
    assert summary == {
        ("empty", "EUR"): (0, 0, 0),
        ("general", "EUR"): (9000, 4000, 5000),
        ("school", "EUR"): (4000, 500, 3500),
        ("school", "USD"): (200, 0, 200),
    }


def test_gift_lists_filter_and_stay_in_the_organization():
    # given
    org = OrganizationFactory()
    donor = make_contact(org)
    mine = make_gift(org, contact=donor)
    pending = make_pending_gift(org, contact=donor)
    make_gift(org)
    make_gift(OrganizationFactory())

    # then
    assert list(queries.gifts_for_contact(contact=donor)) == [pending, mine]
    confirmed = queries.DonationFilters(status="confirmed", contact_id=donor.pk)
    assert list(queries.donations_for(org=org, filters=confirmed)) == [mine]
    by_reference = queries.DonationFilters(ref=pending.payment_reference.lower())
    assert list(queries.donations_for(org=org, filters=by_reference)) == [pending]
    assert queries.donations_for(org=org).count() == 3
