"""The Stripe adapter against the loopback Stripe stand-in: what we send, what we trust."""

import json
import time

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising.models import PaymentProvider
from solidaria.fundraising.payments import (
    BadSignature,
    ChargeDeclined,
    CheckoutRequest,
    EventStatus,
    NotConfigured,
    ProviderError,
    StripeGateway,
    gateway_for,
)
from solidaria.fundraising.payments.stripe import checkout_locale, events_from
from solidaria.fundraising.tests.fake_providers import (
    FakeStripe,
    configure_stripe,
    fake_stripe_server,  # noqa: F401 - the fake_stripe fixture
    stripe_signature,
)


def checkout_request(**fields: object) -> CheckoutRequest:
    values: dict = {
        "public_ref": "g-ABCDEFGHJKMNPQRS",
        "amount_minor": 1250,
        "currency": "EUR",
        "description": "Donation to Casa Abierta",
        "success_url": "https://org.example/casa/donate/thanks/tok",
        "cancel_url": "https://org.example/casa/donate?cancelled=1",
        "webhook_url": "https://org.example/webhooks/casa/stripe",
        "customer_email": "ana@example.org",
        "locale": "es",
    }
    values.update(fields)
    return CheckoutRequest(**values)


def gateway(fake: FakeStripe, **overrides: str) -> StripeGateway:
    return StripeGateway(
        secret_key=overrides.get("secret_key", fake.secret_key),
        webhook_secret=overrides.get("webhook_secret", fake.webhook_secret),
        api_base_url=fake.url,
    )


def test_create_checkout_sends_the_documented_session(fake_stripe: FakeStripe) -> None:
    # given
    stripe_gateway = gateway(fake_stripe)

    # when
    checkout = stripe_gateway.create_checkout(checkout_request())

    # then
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.header("Authorization") == f"Bearer {fake_stripe.secret_key}"
    assert sent.form["mode"] == "payment"
    assert sent.form["client_reference_id"] == "g-ABCDEFGHJKMNPQRS"
    assert sent.form["metadata"] == {"public_ref": "g-ABCDEFGHJKMNPQRS"}
    assert sent.form["line_items"] == [
        {
            "quantity": "1",
            "price_data": {
                "currency": "eur",
                "unit_amount": "1250",
                "product_data": {"name": "Donation to Casa Abierta"},
            },
        }
    ]
    assert sent.form["success_url"] == "https://org.example/casa/donate/thanks/tok"
    assert sent.form["cancel_url"] == "https://org.example/casa/donate?cancelled=1"
    assert sent.form["locale"] == "es"
    assert sent.form["customer_email"] == "ana@example.org"
    assert sent.form["payment_intent_data"]["metadata"]["public_ref"] == "g-ABCDEFGHJKMNPQRS"
    assert "setup_future_usage" not in sent.form["payment_intent_data"]
    assert "customer_creation" not in sent.form
    assert checkout.provider_id.startswith("cs_test_")
    assert checkout.redirect_url == fake_stripe.sessions[checkout.provider_id]["url"]


def test_a_recurring_checkout_saves_the_card_for_later(fake_stripe: FakeStripe) -> None:
    # when
    gateway(fake_stripe).create_checkout(checkout_request(save_for_recurring=True, locale="ca"))

    # then
    [sent] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert sent.form["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert sent.form["customer_creation"] == "always"
    assert sent.form["locale"] == "auto"  # Stripe's checkout has no Catalan


@pytest.mark.parametrize(
    ("language", "expected"),
    [("", "auto"), ("es", "es"), ("pt-br", "pt-BR"), ("ar", "auto"), ("fr_CA", "fr-CA")],
)
def test_checkout_locale(language: str, expected: str) -> None:
    assert checkout_locale(language) == expected


def test_a_wrong_key_is_refused_by_the_provider(fake_stripe: FakeStripe) -> None:
    # given
    stripe_gateway = gateway(fake_stripe, secret_key="sk_test_wrong")

    # when
    with pytest.raises(ProviderError) as raised:
        stripe_gateway.create_checkout(checkout_request())

    # then
    assert raised.value.status == 502
    assert fake_stripe.sessions == {}


@pytest.mark.django_db
def test_gateway_for_reads_the_provider_settings_and_secrets(fake_stripe: FakeStripe) -> None:
    # given
    org = OrganizationFactory()
    provider = configure_stripe(org, fake_stripe)

    # when
    checkout = gateway_for(provider).create_checkout(checkout_request())

    # then: the configured base URL was used
    assert checkout.provider_id in fake_stripe.sessions


@pytest.mark.django_db
def test_gateway_for_defaults_to_stripes_own_api_and_needs_a_key() -> None:
    # given
    org = OrganizationFactory()
    provider = PaymentProvider.objects.create(
        organization=org, kind="stripe", secrets={"secret_key": "sk_live_x"}
    )
    empty = PaymentProvider(organization=org, kind="stripe", secrets={})
    sepa = PaymentProvider(organization=org, kind="sepa")

    # then
    assert gateway_for(provider).api_base_url == "https://api.stripe.com"
    with pytest.raises(NotConfigured):
        gateway_for(empty)
    with pytest.raises(NotConfigured):
        gateway_for(sepa)


def paid_event(fake: FakeStripe) -> bytes:
    checkout = gateway(fake).create_checkout(checkout_request())
    completed, _intent = fake.pay_checkout(checkout.provider_id)
    return completed.body


def test_a_signed_checkout_completed_event_is_a_paid_payment(fake_stripe: FakeStripe) -> None:
    # given
    body = paid_event(fake_stripe)

    # when
    events = gateway(fake_stripe).parse_webhook(
        body=body, headers={"stripe-signature": fake_stripe.sign(body)}
    )

    # then
    [event] = events
    session = json.loads(body)["data"]["object"]
    assert event.status == EventStatus.PAID
    assert event.public_ref == "g-ABCDEFGHJKMNPQRS"
    assert event.amount_minor == 1250
    assert event.currency == "EUR"
    assert event.checkout_id == session["id"]
    assert event.provider_id == session["payment_intent"]
    assert event.event_id == json.loads(body)["id"]


@pytest.mark.parametrize(
    "tamper",
    ["no header", "other secret", "expired", "changed body", "garbage header", "empty secret"],
)
def test_an_unverifiable_event_is_refused(fake_stripe: FakeStripe, tamper: str) -> None:
    # given
    body = paid_event(fake_stripe)
    headers = {"Stripe-Signature": fake_stripe.sign(body)}
    stripe_gateway = gateway(fake_stripe)
    if tamper == "no header":
        headers = {}
    elif tamper == "other secret":
        headers = {"Stripe-Signature": stripe_signature(body, "whsec_other")}
    elif tamper == "expired":
        headers = {"Stripe-Signature": fake_stripe.sign(body, timestamp=int(time.time()) - 301)}
    elif tamper == "changed body":
        body = body.replace(b'"amount_total": 1250', b'"amount_total": 125000')
    elif tamper == "garbage header":
        headers = {"Stripe-Signature": "v1=abc"}
    elif tamper == "empty secret":
        stripe_gateway = gateway(fake_stripe, webhook_secret="")

    # then
    with pytest.raises((BadSignature, NotConfigured)):
        stripe_gateway.parse_webhook(body=body, headers=headers)


def test_a_slow_method_completes_unpaid_and_settles_later(fake_stripe: FakeStripe) -> None:
    # given
    checkout = gateway(fake_stripe).create_checkout(checkout_request())
    [completed] = fake_stripe.pay_checkout(checkout.provider_id, asynchronous=True)
    settled = fake_stripe.settle_async(checkout.provider_id)

    # when
    first = events_from(completed.json)
    later = events_from(settled.json)

    # then
    assert [e.status for e in first] == [EventStatus.PENDING]
    assert [e.status for e in later] == [EventStatus.PAID]


def test_the_checkouts_own_intent_names_the_saved_card_but_confirms_nothing(
    fake_stripe: FakeStripe,
) -> None:
    # given
    checkout = gateway(fake_stripe).create_checkout(checkout_request(save_for_recurring=True))
    _completed, intent = fake_stripe.pay_checkout(checkout.provider_id)

    # when
    [event] = events_from(intent.json)

    # then
    assert event.status == EventStatus.PENDING
    assert event.customer_id.startswith("cus_")
    assert event.mandate_id.startswith("pm_")
    assert event.public_ref == "g-ABCDEFGHJKMNPQRS"


def test_unrelated_event_types_give_no_events() -> None:
    assert events_from({"id": "evt_1", "type": "customer.updated", "data": {"object": {}}}) == []
    assert (
        events_from(
            {
                "id": "evt_2",
                "type": "payment_intent.succeeded",
                "data": {"object": {"id": "pi_1", "metadata": {}}},  # not ours
            }
        )
        == []
    )


def saved_card(fake: FakeStripe) -> tuple[str, str]:
    checkout = gateway(fake).create_checkout(checkout_request(save_for_recurring=True))
    fake.pay_checkout(checkout.provider_id)
    intent = fake.intents[fake.sessions[checkout.provider_id]["payment_intent"]]
    return intent["customer"], intent["payment_method"]


def test_charge_recurring_confirms_an_off_session_intent(fake_stripe: FakeStripe) -> None:
    # given
    customer, card = saved_card(fake_stripe)

    # when
    intent_id = gateway(fake_stripe).charge_recurring(
        customer_id=customer,
        mandate_id=card,
        amount_minor=1000,
        currency="EUR",
        public_ref="g-RECURRING0000001",
        description="Monthly gift",
        webhook_url="",
    )

    # then
    [sent] = fake_stripe.requests_to("POST", "/v1/payment_intents")
    assert sent.form["customer"] == customer
    assert sent.form["payment_method"] == card
    assert sent.form["off_session"] == "true"
    assert sent.form["confirm"] == "true"
    assert sent.form["amount"] == "1000"
    assert sent.form["metadata"] == {
        "public_ref": "g-RECURRING0000001",
        "solidaria_flow": "recurring",
    }
    assert sent.header("Idempotency-Key") == "solidaria-recurring-g-RECURRING0000001"
    assert fake_stripe.intents[intent_id]["status"] == "succeeded"
    [event] = events_from(fake_stripe.events[-1].json)
    assert (event.status, event.recurring, event.provider_id) == (EventStatus.PAID, True, intent_id)


def test_charging_again_with_the_same_gift_charges_once(fake_stripe: FakeStripe) -> None:
    # given
    customer, card = saved_card(fake_stripe)
    charge = {
        "customer_id": customer,
        "mandate_id": card,
        "amount_minor": 1000,
        "currency": "EUR",
        "public_ref": "g-RECURRING0000002",
        "description": "Monthly gift",
        "webhook_url": "",
    }

    # when
    first = gateway(fake_stripe).charge_recurring(**charge)
    second = gateway(fake_stripe).charge_recurring(**charge)

    # then
    assert first == second
    assert sum(i["amount"] == 1000 for i in fake_stripe.intents.values()) == 1


def test_a_declined_recurring_charge_names_the_failed_intent(fake_stripe: FakeStripe) -> None:
    # given
    customer, card = saved_card(fake_stripe)
    fake_stripe.declining.add(card)

    # when
    with pytest.raises(ChargeDeclined) as raised:
        gateway(fake_stripe).charge_recurring(
            customer_id=customer,
            mandate_id=card,
            amount_minor=1000,
            currency="EUR",
            public_ref="g-RECURRING0000003",
            description="Monthly gift",
            webhook_url="",
        )

    # then
    assert raised.value.reason == "insufficient_funds"
    assert fake_stripe.intents[raised.value.provider_id]["status"] == "requires_payment_method"
    [event] = events_from(fake_stripe.events[-1].json)
    assert (event.status, event.failure_reason) == (EventStatus.FAILED, "insufficient_funds")


def test_refund_by_intent_or_by_checkout(fake_stripe: FakeStripe) -> None:
    # given
    checkout = gateway(fake_stripe).create_checkout(checkout_request())
    fake_stripe.pay_checkout(checkout.provider_id)
    intent_id = fake_stripe.sessions[checkout.provider_id]["payment_intent"]

    # when
    first = gateway(fake_stripe).refund(provider_id=intent_id, amount_minor=250, currency="EUR")
    second = gateway(fake_stripe).refund(
        provider_id=checkout.provider_id, amount_minor=1000, currency="EUR"
    )

    # then
    sent = fake_stripe.requests_to("POST", "/v1/refunds")
    assert [r.form for r in sent] == [
        {"payment_intent": intent_id, "amount": "250"},
        {"payment_intent": intent_id, "amount": "1000"},
    ]
    assert {first, second} <= set(fake_stripe.refunds)
    [event] = events_from(fake_stripe.events[-1].json)
    assert (event.status, event.refunded_minor) == (EventStatus.REFUNDED, 1250)
    assert event.refund_id == f"{intent_id}:refunded:1250"
    with pytest.raises(ProviderError):
        gateway(fake_stripe).refund(provider_id=intent_id, amount_minor=1, currency="EUR")


def test_a_dispute_is_a_charge_back_of_the_intent(fake_stripe: FakeStripe) -> None:
    # given
    checkout = gateway(fake_stripe).create_checkout(checkout_request())
    fake_stripe.pay_checkout(checkout.provider_id)
    intent_id = fake_stripe.sessions[checkout.provider_id]["payment_intent"]

    # when
    [event] = events_from(fake_stripe.dispute(intent_id).json)

    # then
    assert event.status == EventStatus.CHARGED_BACK
    assert event.provider_id == intent_id
    assert event.refunded_minor == 1250
    assert event.failure_reason == "fraudulent"


def test_the_fakes_events_are_stripe_sdk_events(fake_stripe: FakeStripe) -> None:
    # given
    body = paid_event(fake_stripe)

    # when
    event = stripe.Webhook.construct_event(body, fake_stripe.sign(body), fake_stripe.webhook_secret)

    # then
    assert isinstance(event.data.object, stripe.checkout.Session)
    assert event.type == "checkout.session.completed"


@pytest.mark.slow
@given(
    kind=st.sampled_from(
        [
            "checkout.session.completed",
            "checkout.session.expired",
            "charge.refunded",
            "charge.dispute.created",
            "payment_intent.succeeded",
            "payment_intent.payment_failed",
            "anything.else",
        ]
    ),
    obj=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "payment_status",
                "payment_intent",
                "amount_total",
                "amount_refunded",
                "amount",
                "currency",
                "customer",
                "client_reference_id",
            ]
        ),
        st.one_of(st.none(), st.text(max_size=8), st.integers(0, 10**9)),
    ),
)
def test_events_from_never_invents_a_payment(kind: str, obj: dict) -> None:
    """Slow: a hundred generated events."""
    # when
    events = events_from({"id": "evt_x", "type": kind, "data": {"object": obj}})

    # then: paid only from the two documented places, each event names the delivery
    for event in events:
        assert event.event_id == "evt_x"
        if event.status == EventStatus.PAID:
            assert kind == "checkout.session.completed"
            assert obj.get("payment_status") == "paid"
