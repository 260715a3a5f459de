"""The Mollie adapter against the loopback Mollie stand-in: requests, re-fetching, signatures."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising.models import PaymentProvider
from solidaria.fundraising.payments import (
    BadSignature,
    CheckoutRequest,
    EventStatus,
    MollieGateway,
    NotConfigured,
    ProviderError,
    UnknownPayment,
    gateway_for,
)
from solidaria.fundraising.payments.base import decimal_to_minor, minor_to_decimal
from solidaria.fundraising.payments.mollie import mollie_amount, payment_id_in, signature_for
from solidaria.fundraising.tests.fake_providers import (
    FakeMollie,
    configure_mollie,
    fake_mollie_server,  # noqa: F401 - the fake_mollie fixture
)


def checkout_request(**fields: object) -> CheckoutRequest:
    values: dict = {
        "public_ref": "g-MOLLIE0000000001",
        "amount_minor": 1250,
        "currency": "EUR",
        "description": "Donation to Casa Abierta",
        "success_url": "https://org.example/casa/donate/thanks/tok",
        "cancel_url": "https://org.example/casa/donate?cancelled=1",
        "webhook_url": "https://org.example/webhooks/casa/mollie",
        "customer_email": "ana@example.org",
        "locale": "ca",
    }
    values.update(fields)
    return CheckoutRequest(**values)


def gateway(fake: FakeMollie, **overrides: str) -> MollieGateway:
    return MollieGateway(
        api_key=overrides.get("api_key", fake.api_key),
        webhook_secret=overrides.get("webhook_secret", fake.signing_secret),
        api_base_url=fake.url,
    )


def test_create_checkout_posts_a_payment_and_returns_its_checkout(fake_mollie: FakeMollie) -> None:
    # when
    checkout = gateway(fake_mollie).create_checkout(checkout_request())

    # then
    [sent] = fake_mollie.requests_to("POST", "/v2/payments")
    assert sent.header("Authorization") == f"Bearer {fake_mollie.api_key}"
    assert sent.json == {
        "amount": {"currency": "EUR", "value": "12.50"},
        "description": "Donation to Casa Abierta",
        "redirectUrl": "https://org.example/casa/donate/thanks/tok",
        "cancelUrl": "https://org.example/casa/donate?cancelled=1",
        "webhookUrl": "https://org.example/webhooks/casa/mollie",
        "metadata": {"public_ref": "g-MOLLIE0000000001"},
        "locale": "ca_ES",
    }
    assert checkout.provider_id.startswith("tr_")
    assert checkout.redirect_url == (
        f"{fake_mollie.url}/checkout/select-method/{checkout.provider_id}"
    )


def test_a_recurring_first_payment_creates_the_customer_first(fake_mollie: FakeMollie) -> None:
    # when
    checkout = gateway(fake_mollie).create_checkout(checkout_request(save_for_recurring=True))

    # then
    [customer_call] = fake_mollie.requests_to("POST", "/v2/customers")
    assert customer_call.json["email"] == "ana@example.org"
    [payment_call] = fake_mollie.requests_to("POST", "/v2/payments")
    assert payment_call.json["sequenceType"] == "first"
    assert payment_call.json["customerId"] in fake_mollie.customers
    assert fake_mollie.payments[checkout.provider_id]["customerId"] in fake_mollie.customers


def test_a_wrong_key_is_refused(fake_mollie: FakeMollie) -> None:
    # given
    mollie = gateway(fake_mollie, api_key="test_wrongwrongwrongwrongwrong00")

    # then
    with pytest.raises(ProviderError):
        mollie.create_checkout(checkout_request())
    assert fake_mollie.payments == {}
    with pytest.raises(NotConfigured):
        MollieGateway(api_key="not-a-mollie-key")
    with pytest.raises(NotConfigured):
        MollieGateway(api_key="")


@pytest.mark.django_db
def test_gateway_for_uses_the_configured_base_url(fake_mollie: FakeMollie) -> None:
    # given
    org = OrganizationFactory()
    provider = configure_mollie(org, fake_mollie)
    default = PaymentProvider(organization=org, kind="mollie", secrets={"api_key": "test_abc"})

    # when
    checkout = gateway_for(provider).create_checkout(checkout_request())

    # then
    assert checkout.provider_id in fake_mollie.payments
    assert gateway_for(default).api_base_url == "https://api.mollie.com"


def test_the_webhook_is_answered_by_re_fetching_the_payment(fake_mollie: FakeMollie) -> None:
    # given
    mollie = gateway(fake_mollie)
    checkout = mollie.create_checkout(checkout_request())
    body = f"id={checkout.provider_id}".encode()

    # when: the webhook comes while the payment is still open, then once it is paid
    open_events = mollie.parse_webhook(body=body, headers={})
    fake_mollie.set_status(checkout.provider_id, "paid")
    paid_events = mollie.parse_webhook(body=body, headers={})

    # then
    assert [e.status for e in open_events] == [EventStatus.PENDING]
    [paid] = paid_events
    assert paid.status == EventStatus.PAID
    assert (paid.amount_minor, paid.currency) == (1250, "EUR")
    assert paid.public_ref == "g-MOLLIE0000000001"
    assert paid.event_id != open_events[0].event_id  # a new state is a new event
    fetched = fake_mollie.requests_to("GET", f"/v2/payments/{checkout.provider_id}")
    assert len(fetched) == 2
    assert all(r.header("Authorization") == f"Bearer {fake_mollie.api_key}" for r in fetched)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("failed", EventStatus.FAILED),
        ("canceled", EventStatus.CANCELED),
        ("expired", EventStatus.EXPIRED),
    ],
)
def test_unsuccessful_payments(fake_mollie: FakeMollie, status: str, expected: str) -> None:
    # given
    mollie = gateway(fake_mollie)
    checkout = mollie.create_checkout(checkout_request())
    fake_mollie.set_status(checkout.provider_id, status, failure_reason="")

    # when
    [event] = mollie.parse_webhook(body=f"id={checkout.provider_id}".encode(), headers={})

    # then
    assert event.status == expected
    assert event.failure_reason == status
    assert event.amount_minor is None


def test_an_unknown_payment_id_is_unknown(fake_mollie: FakeMollie) -> None:
    mollie = gateway(fake_mollie)
    with pytest.raises(UnknownPayment):
        mollie.parse_webhook(body=b"id=tr_doesnotexist", headers={})
    with pytest.raises(UnknownPayment):
        mollie.parse_webhook(body=b"id=ord_notapayment", headers={})
    assert mollie.parse_webhook(body=b"", headers={}) == []


def test_signed_webhooks_must_match_the_signing_secret() -> None:
    # given
    with FakeMollie(signing_secret="whsec_mollie_test") as fake:
        mollie = gateway(fake)
        checkout = mollie.create_checkout(checkout_request())
        delivery = fake.set_status(checkout.provider_id, "paid")

        # when
        good = mollie.parse_webhook(body=delivery.body, headers=delivery.headers)

        # then
        assert delivery.headers["X-Mollie-Signature"] == signature_for(
            delivery.body, "whsec_mollie_test"
        )
        assert [e.status for e in good] == [EventStatus.PAID]
        with pytest.raises(BadSignature):
            mollie.parse_webhook(
                body=delivery.body, headers={"X-Mollie-Signature": "sha256=" + "0" * 64}
            )
        with pytest.raises(BadSignature):
            gateway(fake, webhook_secret="").parse_webhook(
                body=delivery.body, headers=delivery.headers
            )
        # Before the request is trusted, no payment is fetched.
        assert len(fake.requests_to("GET", "/v2/payments/{id}")) == 1


def test_charge_recurring_uses_the_mandate(fake_mollie: FakeMollie) -> None:
    # given: a paid first payment made the mandate
    mollie = gateway(fake_mollie)
    checkout = mollie.create_checkout(checkout_request(save_for_recurring=True))
    fake_mollie.set_status(checkout.provider_id, "paid")
    [first] = mollie.parse_webhook(body=f"id={checkout.provider_id}".encode(), headers={})

    # when
    payment_id = mollie.charge_recurring(
        customer_id=first.customer_id,
        mandate_id=first.mandate_id,
        amount_minor=1000,
        currency="EUR",
        public_ref="g-MOLLIE0000000002",
        description="Monthly gift",
        webhook_url="https://org.example/webhooks/casa/mollie",
    )

    # then
    [sent] = [r for r in fake_mollie.requests_to("POST", "/v2/payments") if r.json.get("mandateId")]
    assert sent.json["sequenceType"] == "recurring"
    assert sent.json["customerId"] == first.customer_id
    assert sent.json["mandateId"] == first.mandate_id
    assert sent.json["amount"] == {"currency": "EUR", "value": "10.00"}
    assert sent.header("Idempotency-Key") == "solidaria-recurring-g-MOLLIE0000000002"
    assert first.mandate_id.startswith("mdt_")
    [event] = mollie.parse_webhook(body=f"id={payment_id}".encode(), headers={})
    assert event.recurring
    assert event.status == EventStatus.PENDING


def test_a_recurring_charge_without_a_mandate_is_refused(fake_mollie: FakeMollie) -> None:
    customer = fake_mollie.create_customer({"email": "x@example.org"})
    with pytest.raises(ProviderError):
        gateway(fake_mollie).charge_recurring(
            customer_id=customer["id"],
            mandate_id="",
            amount_minor=1000,
            currency="EUR",
            public_ref="g-MOLLIE0000000003",
            description="Monthly gift",
            webhook_url="https://org.example/webhooks/casa/mollie",
        )


def test_refunds_and_charge_backs_are_running_totals(fake_mollie: FakeMollie) -> None:
    # given
    mollie = gateway(fake_mollie)
    checkout = mollie.create_checkout(checkout_request())
    fake_mollie.set_status(checkout.provider_id, "paid")

    # when
    mollie.refund(provider_id=checkout.provider_id, amount_minor=250, currency="EUR")
    fake_mollie.charge_back(checkout.provider_id, 1000)
    events = mollie.parse_webhook(body=f"id={checkout.provider_id}".encode(), headers={})

    # then
    [sent] = fake_mollie.requests_to("POST", "/v2/payments/{id}/refunds")
    assert sent.json == {"amount": {"currency": "EUR", "value": "2.50"}}
    by_status = {e.status: e for e in events}
    assert by_status[EventStatus.REFUNDED].refunded_minor == 250
    assert by_status[EventStatus.REFUNDED].refund_id == f"{checkout.provider_id}:refunded:250"
    assert by_status[EventStatus.CHARGED_BACK].refunded_minor == 1000
    with pytest.raises(ProviderError):
        mollie.refund(provider_id=checkout.provider_id, amount_minor=1, currency="EUR")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"id=tr_WDqYK6vllg", "tr_WDqYK6vllg"),
        (b"id=tr_a&x=1", "tr_a"),
        (json.dumps({"entityId": "tr_next", "type": "payment.paid"}).encode(), "tr_next"),
        (json.dumps({"entityId": "pl_link"}).encode(), ""),
        (b"{not json", ""),
        (b"", ""),
    ],
)
def test_payment_id_in(body: bytes, expected: str) -> None:
    assert payment_id_in(body) == expected


@given(st.binary(max_size=200))
def test_payment_id_in_never_fails(body: bytes) -> None:
    assert isinstance(payment_id_in(body), str)


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(["EUR", "USD", "JPY", "GBP", "CHF"]),
)
def test_money_round_trips_through_mollies_strings(amount: int, currency: str) -> None:
    # when
    value = mollie_amount(amount, currency)

    # then
    assert decimal_to_minor(value["value"], currency) == amount
    assert Decimal(value["value"]) == minor_to_decimal(amount, currency)
    assert value["currency"] == currency
    digits = 0 if currency == "JPY" else 2
    assert len(value["value"].partition(".")[2]) == digits


@pytest.mark.parametrize("value", ["12.505", "abc", "NaN", "Infinity", ""])
def test_amounts_that_are_not_exact_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        decimal_to_minor(value, "EUR")
