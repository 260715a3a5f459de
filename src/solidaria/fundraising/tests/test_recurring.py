"""The recurring schedule: one gift per plan and due date, card charges, the failure rules."""

import datetime
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from solidaria.core.models import AuditEvent, Organization
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import recurring, tasks
from solidaria.fundraising.models import Donation, RecurringPlan
from solidaria.fundraising.recurring import (
    record_collection_failure,
    record_collection_success,
    run_due_plans,
)
from solidaria.fundraising.tests.factories import make_pending_gift, make_plan
from solidaria.fundraising.tests.fake_providers import (
    Delivery,
    FakeMollie,
    FakeStripe,
    configure_mollie,
    configure_stripe,
    fake_mollie_server,  # noqa: F401 - the fake_mollie fixture
    fake_stripe_server,  # noqa: F401 - the fake_stripe fixture
)

pytestmark = pytest.mark.django_db

D = datetime.date(2027, 3, 10)
Capture = Callable[..., Any]


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.BASE_URL = "https://solidaria.example"  # not loopback: the fakes never call it


def gifts(plan: RecurringPlan) -> list[Donation]:
    return list(plan.donations.order_by("collection_date", "pk"))


def deliver(client: Client, capture: Capture, org: Organization, kind: str, delivery: Delivery):
    headers = {k: v for k, v in delivery.headers.items() if k != "Content-Type"}
    with capture(execute=True):
        return client.post(
            f"/webhooks/{org.slug}/{kind}",
            data=delivery.body,
            content_type=delivery.headers["Content-Type"],
            headers=headers,
        )


# -- the schedule -----------------------------------------------------------------------------


def test_a_due_sepa_plan_gets_one_first_debit_and_moves_on_a_month() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D, amount_minor=1500)

    # when
    result = run_due_plans(org=org, today=D)
    again = run_due_plans(org=org, today=D)

    # then
    [gift] = gifts(plan)
    assert (result.created, again.created) == (1, 0)
    assert gift.status == Donation.Status.PENDING
    assert (gift.method, gift.amount_minor, gift.fund_id) == ("sepa", 1500, plan.fund_id)
    assert gift.collection_date == D
    assert gift.sepa_sequence == "FRST"
    assert gift.payment_reference.startswith("SOL-")
    plan.refresh_from_db()
    assert plan.next_due == datetime.date(2027, 4, 10)


def test_after_the_first_collection_debits_are_recurring() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)
    other = make_plan(org, next_due=D)
    RecurringPlan.objects.filter(pk=plan.pk).update(first_collected=True)

    # when
    run_due_plans(org=org, today=D)

    # then
    [gift] = gifts(plan)
    [other_gift] = gifts(other)
    assert gift.sepa_sequence == "RCUR"
    assert gift.payment_reference != other_gift.payment_reference


def test_month_end_plans_keep_their_day() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=datetime.date(2027, 1, 31))

    # when
    for today in (
        datetime.date(2027, 1, 31),
        datetime.date(2027, 2, 28),
        datetime.date(2027, 3, 31),
    ):
        run_due_plans(org=org, today=today)

    # then
    assert [g.collection_date for g in gifts(plan)] == [
        datetime.date(2027, 1, 31),
        datetime.date(2027, 2, 28),
        datetime.date(2027, 3, 31),
    ]
    plan.refresh_from_db()
    assert plan.next_due == datetime.date(2027, 4, 30)


def test_a_plan_behind_catches_up_one_period_per_run() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D - datetime.timedelta(days=62), frequency="monthly")

    # when
    first = run_due_plans(org=org, today=D)
    second = run_due_plans(org=org, today=D)
    third = run_due_plans(org=org, today=D)

    # then
    assert (first.created, second.created, third.created) == (1, 1, 1)
    assert len(gifts(plan)) == 3
    plan.refresh_from_db()
    assert plan.next_due > D


def test_a_bank_transfer_plan_gets_a_pending_gift_with_its_reference() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, method="bank_transfer", next_due=D, frequency="quarterly")

    # when
    run_due_plans(org=org, today=D)

    # then
    [gift] = gifts(plan)
    assert gift.payment_reference.startswith("RF")
    assert gift.collection_date == D
    plan.refresh_from_db()
    assert plan.next_due == datetime.date(2027, 6, 10)


def test_a_period_that_already_has_its_gift_is_not_collected_again() -> None:
    # given: the donor's first debit, made on the donation page, falls in the due period
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)
    run_due_plans(org=org, today=D)
    RecurringPlan.objects.filter(pk=plan.pk).update(next_due=D)  # as if the move was lost

    # when
    result = run_due_plans(org=org, today=D)

    # then
    assert result.created == 0
    assert len(gifts(plan)) == 1
    plan.refresh_from_db()
    assert plan.next_due == datetime.date(2027, 4, 10)


def test_plans_not_due_or_not_active_are_left_alone() -> None:
    # given
    org = OrganizationFactory()
    later = make_plan(org, next_due=D + datetime.timedelta(days=1))
    paused = make_plan(org, next_due=D)
    cancelled = make_plan(org, next_due=D)
    RecurringPlan.objects.filter(pk=paused.pk).update(status="paused")
    RecurringPlan.objects.filter(pk=cancelled.pk).update(status="cancelled")
    elsewhere = make_plan(OrganizationFactory(), next_due=D)

    # when
    run_due_plans(org=org, today=D)

    # then
    assert Donation.objects.filter(plan__in=[later, paused, cancelled, elsewhere]).count() == 0


def test_a_one_off_sepa_mandate_is_never_debited_again_by_the_schedule() -> None:
    # given: a one-off gift as the donation page makes it, and staff setting a date on it
    org = OrganizationFactory()
    plan = make_plan(org, frequency="once")
    make_pending_gift(
        org,
        method="sepa",
        plan=plan,
        contact=plan.contact,
        collection_date=D,
        sepa_sequence="OOFF",
    )
    assert plan.next_due is None
    RecurringPlan.objects.filter(pk=plan.pk).update(next_due=D)

    # when: the schedule runs on that day and for a year after
    results = [run_due_plans(org=org, today=D + datetime.timedelta(days=n)) for n in (0, 31, 365)]

    # then
    assert [r.created for r in results] == [0, 0, 0]
    assert len(gifts(plan)) == 1
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.ACTIVE  # its one debit is still collectable


def test_an_uncollectable_plan_is_paused_with_the_reason() -> None:
    # given: the plan's fund was archived
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)
    plan.fund.archived_at = timezone.now()
    plan.fund.save()

    # when
    result = run_due_plans(org=org, today=D)

    # then
    assert result.created == 0
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.PAUSED
    assert plan.last_failure_reason


def test_the_hourly_job_uses_each_organizations_own_today() -> None:
    # given
    org = OrganizationFactory(time_zone="Pacific/Kiritimati")  # UTC+14
    zone_today = timezone.localdate(timezone=datetime.timezone(datetime.timedelta(hours=14)))
    plan = make_plan(org, next_due=zone_today)

    # when
    tasks.run_due_plans()

    # then
    [gift] = gifts(plan)
    assert gift.collection_date == zone_today


# -- card plans -------------------------------------------------------------------------------


def stripe_plan(org: Organization, fake: FakeStripe, **fields: Any) -> RecurringPlan:
    configure_stripe(org, fake)
    customer, card = fake.add_saved_card()
    return make_plan(
        org,
        method="stripe",
        next_due=D,
        amount_minor=1000,
        provider_customer_id=customer,
        provider_mandate_id=card,
        **fields,
    )


def test_a_stripe_plan_is_charged_off_session_and_confirmed_by_the_webhook(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    plan = stripe_plan(org, fake_stripe)

    # when
    result = run_due_plans(org=org, today=D)
    again = run_due_plans(org=org, today=D)

    # then
    assert (result.created, result.charged, again.charged) == (1, 1, 0)
    [sent] = fake_stripe.requests_to("POST", "/v1/payment_intents")
    [gift] = gifts(plan)
    assert sent.form["customer"] == plan.provider_customer_id
    assert sent.form["payment_method"] == plan.provider_mandate_id
    assert sent.form["off_session"] == sent.form["confirm"] == "true"
    assert sent.form["metadata"]["public_ref"] == gift.public_ref
    assert gift.provider_id.startswith("pi_")
    assert gift.status == Donation.Status.PENDING

    # and when Stripe's event arrives
    response = deliver(
        client, django_capture_on_commit_callbacks, org, "stripe", fake_stripe.events[-1]
    )

    # then
    assert response.status_code == 200
    gift.refresh_from_db()
    assert gift.status == Donation.Status.CONFIRMED


def test_a_stripe_plan_without_a_saved_card_waits_for_its_first_payment(
    fake_stripe: FakeStripe,
) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    plan = make_plan(org, method="stripe", next_due=D)

    # when
    result = run_due_plans(org=org, today=D)

    # then
    assert (result.created, result.skipped) == (0, 1)
    plan.refresh_from_db()
    assert plan.next_due == D
    assert fake_stripe.requests == []


def test_a_charge_the_provider_did_not_take_is_retried_without_a_second_gift(
    fake_stripe: FakeStripe,
) -> None:
    # given: Stripe refuses our key at the first run (as if it were down)
    org = OrganizationFactory()
    plan = stripe_plan(org, fake_stripe)
    provider = configure_stripe(org, fake_stripe)
    good_secrets = dict(provider.secrets)
    provider.secrets = {**good_secrets, "secret_key": "sk_test_revoked"}
    provider.save()

    # when
    first = run_due_plans(org=org, today=D)
    provider.secrets = good_secrets
    provider.save()
    second = run_due_plans(org=org, today=D)
    third = run_due_plans(org=org, today=D)

    # then
    assert (first.created, first.charged) == (1, 0)
    assert (second.created, second.charged) == (0, 1)
    assert (third.created, third.charged) == (0, 0)
    [gift] = gifts(plan)
    assert gift.provider_id in fake_stripe.intents
    assert len(fake_stripe.intents) == 1


def test_declined_cards_are_retried_three_times_three_days_apart_then_paused(
    fake_stripe: FakeStripe,
) -> None:
    # given
    org = OrganizationFactory()
    plan = stripe_plan(org, fake_stripe)
    fake_stripe.declining.add(plan.provider_mandate_id)

    # when
    declined = [
        run_due_plans(org=org, today=D + datetime.timedelta(days=day)).declined for day in range(13)
    ]

    # then
    assert [day for day, n in enumerate(declined) if n] == [0, 3, 6, 9]
    attempts = gifts(plan)
    assert [g.collection_date for g in attempts] == [
        D + datetime.timedelta(days=day) for day in (0, 3, 6, 9)
    ]
    assert all(g.status == Donation.Status.FAILED for g in attempts)
    assert attempts[0].failure_reason == "insufficient_funds"
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.PAUSED
    assert (plan.failures, plan.last_failure_reason) == (4, "insufficient_funds")


def test_a_successful_retry_resets_the_count(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: the first charge is declined
    org = OrganizationFactory()
    plan = stripe_plan(org, fake_stripe)
    fake_stripe.declining.add(plan.provider_mandate_id)
    run_due_plans(org=org, today=D)
    fake_stripe.declining.clear()

    # when: the retry three days later goes through
    result = run_due_plans(org=org, today=D + datetime.timedelta(days=3))
    deliver(client, django_capture_on_commit_callbacks, org, "stripe", fake_stripe.events[-1])

    # then
    assert result.charged == 1
    plan.refresh_from_db()
    assert (plan.status, plan.failures) == (RecurringPlan.Status.ACTIVE, 0)
    assert [g.status for g in gifts(plan)] == ["failed", "confirmed"]


def mollie_plan(org: Organization, fake: FakeMollie) -> RecurringPlan:
    configure_mollie(org, fake)
    customer, mandate = fake.add_mandate()
    return make_plan(
        org,
        method="mollie",
        next_due=D,
        amount_minor=1000,
        provider_customer_id=customer,
        provider_mandate_id=mandate,
    )


def test_a_mollie_plan_is_charged_with_its_mandate(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    plan = mollie_plan(org, fake_mollie)

    # when
    result = run_due_plans(org=org, today=D)
    [gift] = gifts(plan)
    paid = fake_mollie.set_status(gift.provider_id, "paid")
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", paid)

    # then
    assert result.charged == 1
    [sent] = fake_mollie.requests_to("POST", "/v2/payments")
    assert sent.json["sequenceType"] == "recurring"
    assert (sent.json["customerId"], sent.json["mandateId"]) == (
        plan.provider_customer_id,
        plan.provider_mandate_id,
    )
    assert sent.json["webhookUrl"] == f"https://solidaria.example/webhooks/{org.slug}/mollie"
    gift.refresh_from_db()
    assert gift.status == Donation.Status.CONFIRMED


def test_a_failed_mollie_charge_counts_against_the_plan(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    plan = mollie_plan(org, fake_mollie)
    run_due_plans(org=org, today=D)
    [gift] = gifts(plan)

    # when
    failed = fake_mollie.set_status(gift.provider_id, "failed", failure_reason="insufficient_funds")
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", failed)
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", failed)

    # then
    gift.refresh_from_db()
    assert gift.status == Donation.Status.FAILED
    plan.refresh_from_db()
    assert (plan.failures, plan.last_failure_reason) == (1, "insufficient_funds")


# -- the failure rules ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["AM04", "MS03", "am04 "])
def test_temporary_sepa_returns_wait_and_pause_the_third_time(code: str) -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)

    # when
    states = []
    for _ in range(3):
        record_collection_failure(plan=plan, reason_code=code)
        plan.refresh_from_db()
        states.append((plan.status, plan.failures))

    # then
    assert states == [("active", 1), ("active", 2), ("paused", 3)]
    assert plan.last_failure_reason == code.strip().upper()
    assert AuditEvent.objects.filter(code="fundraising.plan.collection_failed").count() == 3


@pytest.mark.parametrize("code", ["MD01", "MD06", "AC04", "AC06", "AG01", "MS02"])
def test_final_sepa_returns_cancel_the_plan(code: str) -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)

    # when
    record_collection_failure(plan=plan, reason_code=code)
    record_collection_failure(plan=plan, reason_code="AM04")  # a late one changes nothing

    # then
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.CANCELLED
    assert plan.cancelled_at is not None
    assert plan.last_failure_reason == code


def test_a_success_between_sepa_returns_starts_the_count_again() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)
    record_collection_failure(plan=plan, reason_code="AM04")
    record_collection_failure(plan=plan, reason_code="AM04")

    # when
    record_collection_success(plan=plan)
    record_collection_failure(plan=plan, reason_code="AM04")

    # then
    plan.refresh_from_db()
    assert (plan.status, plan.failures) == (RecurringPlan.Status.ACTIVE, 1)


def test_a_returned_first_debit_makes_the_next_one_first_again() -> None:
    # given: the bank marked the mandate collected, then the debit came back
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)
    RecurringPlan.objects.filter(pk=plan.pk).update(first_collected=True)

    # when
    record_collection_failure(plan=plan, reason_code="AM04")
    run_due_plans(org=org, today=D)

    # then
    plan.refresh_from_db()
    assert plan.first_collected is False
    [gift] = gifts(plan)
    assert gift.sepa_sequence == "FRST"


def test_card_failures_pause_the_plan_after_three_retries() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, method="mollie", next_due=D)

    # when
    statuses = []
    for _ in range(4):
        record_collection_failure(plan=plan, reason_code="card_declined")
        plan.refresh_from_db()
        statuses.append(plan.status)

    # then
    assert statuses == ["active", "active", "active", "paused"]


def test_the_uncharged_gifts_query_finds_gifts_still_to_send() -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, method="stripe", next_due=D, provider_customer_id="cus_1")
    RecurringPlan.objects.filter(pk=plan.pk).update(provider_mandate_id="pm_1")

    # when: no Stripe account is set up, so the gift cannot go out
    run_due_plans(org=org, today=D)

    # then
    assert recurring.orgs_with_uncharged_gifts() == [org.pk]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_plan_another_worker_holds_is_skipped_not_waited_for() -> None:
    """Slow: two connections need a transactional database, flushed after the test.
    PostgreSQL only: SQLite has one writer at a time and no row locks to skip."""
    # given
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    org = OrganizationFactory()
    plan = make_plan(org, next_due=D)
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                RecurringPlan.objects.select_for_update().get(pk=plan.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert locked.wait(timeout=30)

    # when
    while_held = run_due_plans(org=org, today=D)
    release.set()
    worker.join(timeout=30)
    after = run_due_plans(org=org, today=D)

    # then
    assert (while_held.created, after.created) == (0, 1)
    assert len(gifts(plan)) == 1
