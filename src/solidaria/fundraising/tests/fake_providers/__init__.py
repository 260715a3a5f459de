"""Stripe and Mollie stand-ins: small real HTTP servers on loopback that speak their documented
request and response shapes, for tests of anything that takes a card payment.

    with FakeStripe() as stripe_fake:          # or the `fake_stripe` fixture
        provider = configure_stripe(org, stripe_fake)
        ...                                     # our code POSTs to stripe_fake.url/v1/…
        events = stripe_fake.pay_checkout(session_id)   # signed checkout.session.completed

Each server records every request (`requests`, with parsed `form`/`json`) so a test can assert
on exactly what we sent, answers 401 without the right key, and lets the test play the donor
(`pay_checkout`, `set_status`) and the bank (`dispute`, `charge_back`). Events are built with
Stripe's own SDK objects and signed the way Stripe documents (`t=…,v1=HMAC-SHA256(secret,
"t.payload")`); Mollie's are the classic `id=tr_…` form posts (optionally with
`X-Mollie-Signature`). When `webhook_url` is set (Stripe) or the payment has a `webhookUrl`
(Mollie), the event is also POSTed there, e.g. to a `live_server`.

Fixtures: import `fake_stripe_server` (or `fake_mollie_server`) into the test module and take
a `fake_stripe` (`fake_mollie`) argument. A browser that follows a checkout URL gets a small
HTML page with links back to the success and cancel URLs.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from solidaria.core.models import Organization
from solidaria.fundraising.models import PaymentProvider
from solidaria.fundraising.tests.fake_providers.mollie import FakeMollie, mollie_error
from solidaria.fundraising.tests.fake_providers.server import (
    Delivery,
    Error,
    FakeServer,
    Recorded,
    bracket_form,
    post,
)
from solidaria.fundraising.tests.fake_providers.stripe import FakeStripe, stripe_signature

__all__ = [
    "Delivery",
    "Error",
    "FakeMollie",
    "FakeServer",
    "FakeStripe",
    "Recorded",
    "bracket_form",
    "configure_mollie",
    "configure_stripe",
    "fake_mollie",
    "fake_mollie_server",
    "fake_stripe",
    "fake_stripe_server",
    "mollie_error",
    "post",
    "stripe_signature",
]


# Import `fake_stripe_server` / `fake_mollie_server` into a test module and ask for the
# `fake_stripe` / `fake_mollie` fixtures (the import's name differs from the argument's, so
# linters see no shadowing); importing `fake_stripe` / `fake_mollie` works too.


@pytest.fixture(name="fake_stripe")
def fake_stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(name="fake_mollie")
def fake_mollie_server() -> Iterator[FakeMollie]:
    with FakeMollie() as fake:
        yield fake


fake_stripe = fake_stripe_server
fake_mollie = fake_mollie_server


def configure_stripe(org: Organization, fake: FakeStripe, **settings: Any) -> PaymentProvider:
    """The organization's Stripe account, pointed at the fake."""
    provider, _ = PaymentProvider.objects.update_or_create(
        organization=org,
        kind=PaymentProvider.Kind.STRIPE,
        defaults={
            "settings": {"api_base_url": fake.url, **settings},
            "secrets": {"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret},
            "enabled": True,
        },
    )
    return provider


def configure_mollie(org: Organization, fake: FakeMollie, **settings: Any) -> PaymentProvider:
    """The organization's Mollie account, pointed at the fake."""
    secrets_: dict[str, str] = {"api_key": fake.api_key}
    if fake.signing_secret:
        secrets_["webhook_secret"] = fake.signing_secret
    provider, _ = PaymentProvider.objects.update_or_create(
        organization=org,
        kind=PaymentProvider.Kind.MOLLIE,
        defaults={
            "settings": {"api_base_url": fake.url, **settings},
            "secrets": secrets_,
            "enabled": True,
        },
    )
    return provider
