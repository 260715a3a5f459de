"""Card gifts end to end: the hosted checkout, the providers' webhooks and what they book.

The providers are the loopback stand-ins of `fake_providers`; tasks run at once (the
immediate backend), so a webhook is processed inside its request.
"""

import datetime
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from solidaria.core.errors import Conflict, Invalid
from solidaria.core.models import AuditEvent, InboundWebhook, Organization
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising.actions import configure_payment_provider, refund_donation
from solidaria.fundraising.models import Donation, PaymentProvider, RecurringPlan, Refund
from solidaria.fundraising.payments import ProviderError
from solidaria.fundraising.payments.mollie import signature_for
from solidaria.fundraising.payments.processing import process_webhook, webhooks_to_retry
from solidaria.fundraising.tests.factories import make_pending_gift, make_plan
from solidaria.fundraising.tests.fake_providers import (
    Delivery,
    FakeMollie,
    FakeStripe,
    configure_mollie,
    configure_stripe,
    fake_mollie_server,  # noqa: F401 - the fake_mollie fixture
    fake_stripe_server,  # noqa: F401 - the fake_stripe fixture
    stripe_signature,
)
from solidaria.fundraising.webhooks import begin_hosted_checkout
from solidaria.ledger.models import LedgerEntry
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db

BASE_URL = "https://solidaria.example"  # not loopback: the fakes never call it


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.BASE_URL = BASE_URL


def card_gift(org: Organization, method: str, *, plan: RecurringPlan | None = None) -> Donation:
    contact = plan.contact if plan else make_contact(org, emails=["ana@example.org"])
    return make_pending_gift(org, method=method, amount_minor=1250, contact=contact, plan=plan)


def checkout(donation: Donation) -> str:
    return begin_hosted_checkout(
        donation=donation,
        actor=TEST_ACTOR,
        success_url=f"{BASE_URL}/{donation.organization.slug}/donate/thanks/x",
        cancel_url=f"{BASE_URL}/{donation.organization.slug}/donate?cancelled=1",
    )


Capture = Callable[..., Any]


def deliver(
    client: Client, capture: Capture, org: Organization, kind: str, delivery: Delivery
) -> Any:
    headers = {k: v for k, v in delivery.headers.items() if k != "Content-Type"}
    with capture(execute=True):
        return client.post(
            f"/webhooks/{org.slug}/{kind}",
            data=delivery.body,
            content_type=delivery.headers["Content-Type"],
            headers=headers,
        )


def income_entries(org: Organization, donation: Donation) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(organization=org, ref=donation.public_ref, type="income")
    )


# -- the hosted checkout --------------------------------------------------------------------


def test_begin_hosted_checkout_sends_the_pending_gift_to_stripe(fake_stripe: FakeStripe) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    donation = card_gift(org, "stripe")

    # when
    url = checkout(donation)

    # then
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.header("Authorization") == f"Bearer {fake_stripe.secret_key}"
    assert sent.form["client_reference_id"] == donation.public_ref
    assert sent.form["line_items"][0]["price_data"]["unit_amount"] == "1250"
    assert sent.form["customer_email"] == "ana@example.org"
    donation.refresh_from_db()
    assert url == fake_stripe.sessions[donation.provider_id]["url"]
    assert donation.status == Donation.Status.PENDING
    assert AuditEvent.objects.filter(code="fundraising.checkout.started").count() == 1


def test_begin_hosted_checkout_sends_the_pending_gift_to_mollie(fake_mollie: FakeMollie) -> None:
    # given
    org = OrganizationFactory()
    configure_mollie(org, fake_mollie)
    donation = card_gift(org, "mollie")

    # when
    url = checkout(donation)

    # then
    [sent] = fake_mollie.requests_to("POST", "/v2/payments")
    assert sent.json["webhookUrl"] == f"{BASE_URL}/webhooks/{org.slug}/mollie"
    assert sent.json["metadata"] == {"public_ref": donation.public_ref}
    assert sent.json["amount"] == {"currency": "EUR", "value": "12.50"}
    donation.refresh_from_db()
    assert url == fake_mollie.payments[donation.provider_id]["_links"]["checkout"]["href"]


def test_begin_hosted_checkout_refusals(fake_stripe: FakeStripe) -> None:
    # given
    org = OrganizationFactory()
    unconfigured = card_gift(org, "stripe")
    transfer = make_pending_gift(org, method="bank_transfer")

    # then
    with pytest.raises(Invalid):
        checkout(unconfigured)  # no Stripe account yet
    with pytest.raises(Invalid):
        checkout(transfer)
    provider = configure_stripe(org, fake_stripe)
    provider.secrets = {**provider.secrets, "secret_key": "sk_test_revoked"}
    provider.save()
    with pytest.raises(ProviderError):
        checkout(unconfigured)  # Stripe refuses the key
    Donation.objects.filter(pk=unconfigured.pk).update(status=Donation.Status.FAILED)
    unconfigured.refresh_from_db()
    with pytest.raises(Conflict):
        checkout(unconfigured)
    assert fake_stripe.sessions == {}


# -- Stripe webhooks ----------------------------------------------------------------------------


def paid_stripe_gift(
    org: Organization, fake: FakeStripe, plan: RecurringPlan | None = None
) -> tuple[Donation, list[Delivery]]:
    configure_stripe(org, fake)
    donation = card_gift(org, "stripe", plan=plan)
    checkout(donation)
    donation.refresh_from_db()
    return donation, fake.pay_checkout(donation.provider_id)


def test_a_signed_completed_checkout_confirms_the_gift_and_posts_its_income(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
    session_id = donation.provider_id

    # when
    response = deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)

    # then
    assert response.status_code == 200
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED
    [entry] = income_entries(org, donation)
    assert (entry.amount, entry.currency, entry.seq) == (1250, "EUR", donation.ledger_seq)
    assert donation.provider_id == fake_stripe.sessions[session_id]["payment_intent"]
    [row] = InboundWebhook.objects.filter(organization=org, source="stripe")
    assert row.processed_at is not None
    assert row.dedupe_key == completed.json["id"]
    assert bytes(row.body) == completed.body
    assert "Stripe-Signature" in row.headers
    assert not any(k.lower() in ("cookie", "authorization") for k in row.headers)


@pytest.mark.parametrize(
    "tamper", ["no signature", "other secret", "expired", "changed body", "not json", "bytes"]
)
def test_an_unverifiable_stripe_webhook_stores_and_changes_nothing(
    client: Client,
    django_capture_on_commit_callbacks: Capture,
    fake_stripe: FakeStripe,
    tamper: str,
) -> None:
    # given
    org = OrganizationFactory()
    donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
    body, headers = completed.body, dict(completed.headers)
    if tamper == "no signature":
        del headers["Stripe-Signature"]
    elif tamper == "other secret":
        headers["Stripe-Signature"] = stripe_signature(body, "whsec_attacker")
    elif tamper == "expired":
        headers["Stripe-Signature"] = fake_stripe.sign(body, timestamp=int(time.time()) - 600)
    elif tamper == "changed body":
        body = body.replace(b'"amount_total": 1250', b'"amount_total": 1')
    elif tamper == "not json":
        body = b"{{{"
        headers["Stripe-Signature"] = fake_stripe.sign(body)
    elif tamper == "bytes":
        body = b"\xff\xfe\x00garbage"
        headers["Stripe-Signature"] = fake_stripe.sign(body)

    # when
    response = deliver(
        client, django_capture_on_commit_callbacks, org, "stripe", Delivery("", body, headers)
    )

    # then
    assert response.status_code == 400
    assert InboundWebhook.objects.count() == 0
    donation.refresh_from_db()
    assert donation.status == Donation.Status.PENDING
    assert LedgerEntry.objects.filter(organization=org).count() == 0


def test_the_same_stripe_event_twice_confirms_once(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    donation, (completed, intent) = paid_stripe_gift(org, fake_stripe)

    # when
    first = deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)
    again = deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)
    other = deliver(client, django_capture_on_commit_callbacks, org, "stripe", intent)
    [row, *_] = InboundWebhook.objects.order_by("pk")
    rerun = process_webhook(webhook_id=row.pk)

    # then
    assert (first.status_code, again.status_code, other.status_code) == (200, 200, 200)
    assert again.content == b"duplicate\n"
    assert rerun is False
    assert len(income_entries(org, donation)) == 1
    assert AuditEvent.objects.filter(code="fundraising.donation.confirmed").count() == 1
    assert InboundWebhook.objects.count() == 2


def test_webhooks_for_an_unknown_organization_or_provider_are_not_found(
    client: Client, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    other = OrganizationFactory()
    provider = configure_stripe(org, fake_stripe)
    body = b'{"id": "evt_1", "object": "event", "type": "checkout.session.completed"}'
    headers = {"Stripe-Signature": fake_stripe.sign(body)}

    def post(slug: str, kind: str = "stripe") -> int:
        return client.post(
            f"/webhooks/{slug}/{kind}", body, content_type="application/json", headers=headers
        ).status_code

    # then
    assert post("no-such-org") == 404
    assert post(other.slug) == 404
    assert post(org.slug, "mollie") == 404
    assert client.get(f"/webhooks/{org.slug}/stripe").status_code == 405
    PaymentProvider.objects.filter(pk=provider.pk).update(enabled=False)
    assert post(org.slug) == 404
    assert InboundWebhook.objects.count() == 0


def test_unrelated_stripe_events_are_acknowledged_and_not_kept(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    body = b'{"id": "evt_2", "object": "event", "type": "customer.updated", "data": {"object": {}}}'
    delivery = Delivery("", body, {"Content-Type": "application/json"})
    delivery.headers["Stripe-Signature"] = fake_stripe.sign(body)

    # when
    response = deliver(client, django_capture_on_commit_callbacks, org, "stripe", delivery)

    # then
    assert (response.status_code, response.content) == (200, b"ignored\n")
    assert InboundWebhook.objects.count() == 0


def test_a_slow_method_is_confirmed_when_it_settles(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    settled, failed = card_gift(org, "stripe"), card_gift(org, "stripe")
    for gift in (settled, failed):
        checkout(gift)
        gift.refresh_from_db()
        [completed] = fake_stripe.pay_checkout(gift.provider_id, asynchronous=True)
        deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)
        gift.refresh_from_db()
        assert gift.status == Donation.Status.PENDING

    # when
    for gift, ok in ((settled, True), (failed, False)):
        event = fake_stripe.settle_async(gift.provider_id, succeeded=ok)
        deliver(client, django_capture_on_commit_callbacks, org, "stripe", event)

    # then
    settled.refresh_from_db()
    failed.refresh_from_db()
    assert settled.status == Donation.Status.CONFIRMED
    assert failed.status == Donation.Status.FAILED
    assert failed.failure_reason == "async_payment_failed"


def test_an_expired_checkout_fails_the_gift_unless_a_newer_one_was_opened(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    abandoned, retried = card_gift(org, "stripe"), card_gift(org, "stripe")
    checkout(abandoned)
    checkout(retried)
    retried.refresh_from_db()
    old_session = retried.provider_id
    checkout(retried)  # the donor came back and started again

    # when
    abandoned.refresh_from_db()
    for session_id in (abandoned.provider_id, old_session):
        event = fake_stripe.expire_checkout(session_id)
        deliver(client, django_capture_on_commit_callbacks, org, "stripe", event)

    # then
    abandoned.refresh_from_db()
    retried.refresh_from_db()
    assert (abandoned.status, abandoned.failure_reason) == (Donation.Status.FAILED, "expired")
    assert retried.status == Donation.Status.PENDING


def test_refunds_made_at_stripe_are_booked_once_each(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
    deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)
    donation.refresh_from_db()

    # when: two partial refunds in Stripe's dashboard, the second event delivered twice
    first = fake_stripe.refund_in_dashboard(donation.provider_id, 300)
    second = fake_stripe.refund_in_dashboard(donation.provider_id, 200)
    for event in (first, second, second):
        response = deliver(client, django_capture_on_commit_callbacks, org, "stripe", event)
        assert response.status_code == 200

    # then
    donation.refresh_from_db()
    refunds = Refund.objects.filter(donation=donation).order_by("pk")
    assert [r.amount_minor for r in refunds] == [300, 200]
    assert [r.provider_id for r in refunds] == [
        f"{donation.provider_id}:refunded:300",
        f"{donation.provider_id}:refunded:500",
    ]
    assert donation.refunded_minor == 500
    assert LedgerEntry.objects.filter(organization=org, type="refund").count() == 2


def test_a_staff_refund_of_a_card_gift_goes_back_through_stripe_and_is_booked_once(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
    deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)
    donation.refresh_from_db()

    # when: staff refund part of it in Solidaria, then Stripe reports its refund
    refund_donation(donation=donation, actor=TEST_ACTOR, amount_minor=450, reason="asked")
    event = fake_stripe.events[-1]
    response = deliver(client, django_capture_on_commit_callbacks, org, "stripe", event)

    # then: Stripe refunded the card, and its event booked nothing a second time
    assert response.status_code == 200
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [450]
    donation.refresh_from_db()
    assert donation.refunded_minor == 450
    assert list(Refund.objects.filter(donation=donation).values_list("provider_id", flat=True)) == [
        f"{donation.provider_id}:refunded:450"
    ]
    assert LedgerEntry.objects.filter(organization=org, type="refund").count() == 1


def test_a_dispute_books_a_charge_back_and_pauses_the_plan(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, method="stripe", amount_minor=1250)
    donation, (completed, intent) = paid_stripe_gift(org, fake_stripe, plan=plan)
    for event in (completed, intent):
        deliver(client, django_capture_on_commit_callbacks, org, "stripe", event)
    donation.refresh_from_db()

    # when
    dispute = fake_stripe.dispute(donation.provider_id)
    response = deliver(client, django_capture_on_commit_callbacks, org, "stripe", dispute)

    # then
    assert response.status_code == 200
    [refund] = Refund.objects.filter(donation=donation)
    assert refund.amount_minor == 1250
    assert refund.reason == "charge-back: fraudulent"
    plan.refresh_from_db()
    assert (plan.status, plan.last_failure_reason) == (RecurringPlan.Status.PAUSED, "charge-back")


def test_a_recurring_plans_first_payment_saves_the_card_for_later(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: a plan due today whose first gift is this checkout
    org = OrganizationFactory()
    plan = make_plan(org, method="stripe", amount_minor=1250)
    _donation, (completed, intent) = paid_stripe_gift(org, fake_stripe, plan=plan)
    due = plan.next_due

    # when
    for event in (completed, intent):
        deliver(client, django_capture_on_commit_callbacks, org, "stripe", event)

    # then
    plan.refresh_from_db()
    stripe_intent = fake_stripe.intents[intent.json["data"]["object"]["id"]]
    assert plan.provider_customer_id == stripe_intent["customer"]
    assert plan.provider_mandate_id == stripe_intent["payment_method"]
    assert plan.next_due > due
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.form["payment_intent_data"]["setup_future_usage"] == "off_session"


def test_a_processing_failure_is_kept_for_a_retry(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: the amount paid is not the gift's (changed after the checkout began)
    org = OrganizationFactory()
    donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
    Donation.objects.filter(pk=donation.pk).update(amount_minor=9999)

    # when
    response = deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)

    # then: acknowledged, stored, not applied
    assert response.status_code == 200
    [row] = InboundWebhook.objects.all()
    assert row.processed_at is None
    assert "PaymentMismatch" in row.error
    assert row.attempts == 1
    donation.refresh_from_db()
    assert donation.status == Donation.Status.PENDING

    # and when the gift is put right, the retry applies it
    Donation.objects.filter(pk=donation.pk).update(amount_minor=1250)
    assert webhooks_to_retry(older_than=datetime.timedelta(0)) == [row.pk]
    assert process_webhook(webhook_id=row.pk) is True
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED
    row.refresh_from_db()
    assert (row.error, row.attempts) == ("", 2)


# -- Mollie webhooks ----------------------------------------------------------------------------


def mollie_gift(org: Organization, fake: FakeMollie, plan: RecurringPlan | None = None) -> Donation:
    configure_mollie(org, fake)
    donation = card_gift(org, "mollie", plan=plan)
    checkout(donation)
    donation.refresh_from_db()
    return donation


def test_mollie_confirms_only_what_the_re_fetched_payment_says(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    donation = mollie_gift(org, fake_mollie)
    forged = Delivery(
        "",
        f"id={donation.provider_id}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )

    # when: someone posts the id while the payment is still open
    early = deliver(client, django_capture_on_commit_callbacks, org, "mollie", forged)
    donation.refresh_from_db()

    # then
    assert early.status_code == 200
    assert donation.status == Donation.Status.PENDING
    assert LedgerEntry.objects.filter(organization=org).count() == 0

    # and when Mollie says it is paid
    paid = fake_mollie.set_status(donation.provider_id, "paid")
    response = deliver(client, django_capture_on_commit_callbacks, org, "mollie", paid)
    again = deliver(client, django_capture_on_commit_callbacks, org, "mollie", paid)

    # then
    assert response.status_code == again.status_code == 200
    assert again.content == b"duplicate\n"
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED
    assert len(income_entries(org, donation)) == 1
    fetched = fake_mollie.requests_to("GET", f"/v2/payments/{donation.provider_id}")
    assert all(r.header("Authorization") == f"Bearer {fake_mollie.api_key}" for r in fetched)


@pytest.mark.parametrize("tamper", ["no signature", "other secret", "changed body"])
def test_with_a_signing_secret_set_an_unsigned_or_badly_signed_mollie_webhook_is_refused(
    client: Client, django_capture_on_commit_callbacks: Capture, tamper: str
) -> None:
    with FakeMollie(signing_secret="mollie_whsec_org") as fake:
        # given: the account set up as staff do it, signing secret included
        org = OrganizationFactory()
        configure_payment_provider(
            org=org,
            actor=TEST_ACTOR,
            kind="mollie",
            settings={"api_base_url": fake.url},
            secrets={"api_key": fake.api_key, "webhook_secret": "mollie_whsec_org"},
        )
        donation = card_gift(org, "mollie")
        checkout(donation)
        donation.refresh_from_db()
        paid = fake.set_status(donation.provider_id, "paid")
        body, headers = paid.body, dict(paid.headers)
        if tamper == "no signature":
            del headers["X-Mollie-Signature"]
        elif tamper == "other secret":
            headers["X-Mollie-Signature"] = signature_for(body, "mollie_whsec_attacker")
        else:
            body = f"id={donation.provider_id}&x=1".encode()

        # when
        refused = deliver(
            client, django_capture_on_commit_callbacks, org, "mollie", Delivery("", body, headers)
        )

        # then: refused before Mollie is even asked, and nothing changed
        assert refused.status_code == 400
        assert InboundWebhook.objects.count() == 0
        assert fake.requests_to("GET", f"/v2/payments/{donation.provider_id}") == []
        donation.refresh_from_db()
        assert donation.status == Donation.Status.PENDING
        assert LedgerEntry.objects.filter(organization=org).count() == 0

        # and: Mollie's own signed webhook still goes through
        accepted = deliver(client, django_capture_on_commit_callbacks, org, "mollie", paid)
        assert accepted.status_code == 200
        donation.refresh_from_db()
        assert donation.status == Donation.Status.CONFIRMED


@pytest.mark.parametrize("status", ["failed", "canceled", "expired"])
def test_mollie_failures_fail_the_gift(
    client: Client,
    django_capture_on_commit_callbacks: Capture,
    fake_mollie: FakeMollie,
    status: str,
) -> None:
    # given
    org = OrganizationFactory()
    donation = mollie_gift(org, fake_mollie)

    # when
    delivery = fake_mollie.set_status(donation.provider_id, status)
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", delivery)

    # then
    donation.refresh_from_db()
    assert (donation.status, donation.failure_reason) == (Donation.Status.FAILED, status)


def test_mollie_webhooks_for_unknown_payments_or_a_down_api_store_nothing(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    provider = configure_mollie(org, fake_mollie)
    unknown = Delivery("", b"id=tr_unknown", {"Content-Type": "application/x-www-form-urlencoded"})

    # when
    ignored = deliver(client, django_capture_on_commit_callbacks, org, "mollie", unknown)
    provider.settings["api_base_url"] = "http://127.0.0.1:9"
    provider.save()
    down = deliver(client, django_capture_on_commit_callbacks, org, "mollie", unknown)

    # then
    assert (ignored.status_code, ignored.content) == (200, b"ignored\n")
    assert down.status_code == 503
    assert InboundWebhook.objects.count() == 0


def test_a_mollie_webhook_with_a_wrong_signature_is_refused(
    client: Client, django_capture_on_commit_callbacks: Capture
) -> None:
    # given
    with FakeMollie(signing_secret="whsec_mollie") as fake:
        org = OrganizationFactory()
        donation = mollie_gift(org, fake)
        paid = fake.set_status(donation.provider_id, "paid")
        forged = Delivery("", paid.body, {**paid.headers, "X-Mollie-Signature": "sha256=00"})

        # when
        refused = deliver(client, django_capture_on_commit_callbacks, org, "mollie", forged)
        accepted = deliver(client, django_capture_on_commit_callbacks, org, "mollie", paid)

    # then
    assert (refused.status_code, accepted.status_code) == (400, 200)
    assert InboundWebhook.objects.count() == 1
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED


def test_mollie_refunds_and_charge_backs(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    donation = mollie_gift(org, fake_mollie)
    deliver(
        client,
        django_capture_on_commit_callbacks,
        org,
        "mollie",
        fake_mollie.set_status(donation.provider_id, "paid"),
    )

    # when: a refund in Mollie's dashboard, then a charge-back of the rest
    fake_mollie.create_refund(
        donation.provider_id, {"amount": {"currency": "EUR", "value": "2.50"}}
    )
    refunded = fake_mollie.notify(donation.provider_id)
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", refunded)
    charged_back = fake_mollie.charge_back(donation.provider_id, 1000)
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", charged_back)
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", charged_back)

    # then
    donation.refresh_from_db()
    assert donation.refunded_minor == 1250
    refunds = Refund.objects.filter(donation=donation).order_by("pk")
    assert [(r.amount_minor, r.reason) for r in refunds] == [
        (250, "refund"),
        (1000, "charge-back: chargeback"),
    ]


def test_a_mollie_first_payment_keeps_the_customer_and_mandate(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    plan = make_plan(org, method="mollie", amount_minor=1250)
    donation = mollie_gift(org, fake_mollie, plan=plan)

    # when
    paid = fake_mollie.set_status(donation.provider_id, "paid")
    deliver(client, django_capture_on_commit_callbacks, org, "mollie", paid)

    # then
    plan.refresh_from_db()
    payment = fake_mollie.payments[donation.provider_id]
    assert plan.provider_customer_id == payment["customerId"]
    assert plan.provider_mandate_id == payment["mandateId"]
    [sent] = fake_mollie.requests_to("POST", "/v2/payments")
    assert sent.json["sequenceType"] == "first"


# -- over real HTTP both ways ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stripe_posts_its_event_to_our_live_server(
    live_server: Any, settings: Any, fake_stripe: FakeStripe
) -> None:
    """Slow: a live server needs a transactional database, flushed after the test."""
    # given
    settings.BASE_URL = live_server.url
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    fake_stripe.webhook_url = f"{live_server.url}/webhooks/{org.slug}/stripe"
    donation = card_gift(org, "stripe")
    checkout(donation)
    donation.refresh_from_db()

    # when
    completed, intent = fake_stripe.pay_checkout(donation.provider_id)

    # then
    assert (completed.status, intent.status) == (200, 200)
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_mollie_calls_our_live_server_which_calls_mollie_back(
    live_server: Any, settings: Any, fake_mollie: FakeMollie
) -> None:
    """Slow: a live server needs a transactional database, flushed after the test."""
    # given
    settings.BASE_URL = live_server.url
    org = OrganizationFactory()
    donation = mollie_gift(org, fake_mollie)

    # when
    delivery = fake_mollie.set_status(donation.provider_id, "paid")

    # then
    assert delivery.url == f"{live_server.url}/webhooks/{org.slug}/mollie"
    assert delivery.status == 200
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED


def test_the_periodic_retry_processes_webhooks_left_behind(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: a stored event whose task never ran (a worker lost it)
    from solidaria.fundraising import tasks

    org = OrganizationFactory()
    donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            f"/webhooks/{org.slug}/stripe",
            data=completed.body,
            content_type="application/json",
            headers={"Stripe-Signature": completed.headers["Stripe-Signature"]},
        )
    [row] = InboundWebhook.objects.all()
    InboundWebhook.objects.filter(pk=row.pk).update(
        received_at=row.received_at - datetime.timedelta(hours=1)
    )

    # when
    tasks.retry_webhooks()
    tasks.retry_webhooks()

    # then
    row.refresh_from_db()
    assert row.processed_at is not None
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED
    assert len(income_entries(org, donation)) == 1


def test_the_fakes_serve_a_hosted_page_a_browser_can_open(
    fake_stripe: FakeStripe, fake_mollie: FakeMollie
) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    configure_mollie(org, fake_mollie)
    pages = [checkout(card_gift(org, "stripe")), checkout(card_gift(org, "mollie"))]

    # when
    bodies = []
    for url in pages:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url) as response:
            bodies.append((response.status, response.read().decode()))

    # then
    for status, body in bodies:
        assert status == 200
        assert f"{BASE_URL}/{org.slug}/donate/thanks/x" in body


def test_an_event_about_another_organizations_gift_changes_nothing(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: two organizations that (unwisely) share one Stripe account
    ours, theirs = OrganizationFactory(), OrganizationFactory()
    configure_stripe(ours, fake_stripe)
    their_gift, (completed, _intent) = paid_stripe_gift(theirs, fake_stripe)

    # when: their event arrives at our address
    response = deliver(client, django_capture_on_commit_callbacks, ours, "stripe", completed)

    # then
    assert response.status_code == 200
    their_gift.refresh_from_db()
    assert their_gift.status == Donation.Status.PENDING
    assert LedgerEntry.objects.count() == 0


def test_paying_in_an_older_checkout_still_confirms_and_names_that_payment(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: the donor opened two checkouts and paid in the first tab
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)
    donation = card_gift(org, "stripe")
    checkout(donation)
    donation.refresh_from_db()
    first_session = donation.provider_id
    checkout(donation)

    # when
    completed, _intent = fake_stripe.pay_checkout(first_session)
    deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)

    # then
    donation.refresh_from_db()
    assert donation.status == Donation.Status.CONFIRMED
    assert donation.provider_id == fake_stripe.sessions[first_session]["payment_intent"]


def test_processed_webhooks_are_pruned_after_ninety_days(
    client: Client, django_capture_on_commit_callbacks: Capture, fake_stripe: FakeStripe
) -> None:
    # given: one old processed row, one old unprocessed row, one recent processed row
    from solidaria.fundraising import tasks

    org = OrganizationFactory()
    for _ in range(3):
        _donation, (completed, _intent) = paid_stripe_gift(org, fake_stripe)
        deliver(client, django_capture_on_commit_callbacks, org, "stripe", completed)
    old, failed, recent = InboundWebhook.objects.order_by("pk")
    long_ago = old.received_at - datetime.timedelta(days=91)
    InboundWebhook.objects.filter(pk__in=[old.pk, failed.pk]).update(received_at=long_ago)
    InboundWebhook.objects.filter(pk=failed.pk).update(processed_at=None)

    # when
    tasks.prune_webhooks()

    # then
    assert set(InboundWebhook.objects.values_list("pk", flat=True)) == {failed.pk, recent.pk}


def test_an_oversized_webhook_body_is_refused_before_anything_is_stored(
    client: Client, fake_stripe: FakeStripe
) -> None:
    # given
    org = OrganizationFactory()
    configure_stripe(org, fake_stripe)

    # when
    response = client.post(
        f"/webhooks/{org.slug}/stripe", data=b"x" * (600 * 1024), content_type="application/json"
    )

    # then
    assert response.status_code == 413
    assert not InboundWebhook.objects.filter(organization=org).exists()
