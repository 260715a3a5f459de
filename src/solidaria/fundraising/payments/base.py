"""One interface for the card providers: hosted checkouts, webhooks, recurring charges, refunds.

Each provider's adapter (`StripeGateway`, `MollieGateway`) speaks the provider's documented API
through its own SDK and turns what the provider tells us into `PaymentEvent`s; what our books
do with those events lives in `processing`, never in an adapter.
"""

import enum
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from babel.numbers import get_currency_precision
from django.utils.translation import gettext_lazy as _

from solidaria.core.errors import DomainError


class BadSignature(Exception):
    """The webhook's signature is missing, wrong or too old: nothing in it may be trusted."""


class ProviderError(DomainError):
    """The provider refused a request or could not be reached.

    `message` is safe to show to the person who acted; `detail` (the provider's own words)
    is for the logs.
    """

    status = 502

    def __init__(self, message: str = "", *, detail: str = "") -> None:
        super().__init__(message or str(_("The payment provider did not accept the request.")))
        self.detail = detail


class NotConfigured(ProviderError):
    """The organization's provider account lacks a key this operation needs."""


class UnknownPayment(ProviderError):
    """The provider does not know the payment a webhook names."""


class ChargeDeclined(ProviderError):
    """A recurring charge was declined at once; `provider_id` names the failed attempt."""

    def __init__(self, message: str = "", *, detail: str = "", provider_id: str, reason: str):
        super().__init__(message, detail=detail)
        self.provider_id = provider_id
        self.reason = reason


class EventStatus(enum.StrEnum):
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    CHARGED_BACK = "charged_back"
    # Nothing to book yet; may still carry the customer and mandate of a recurring plan.
    PENDING = "pending"


@dataclass(frozen=True)
class CheckoutRequest:
    public_ref: str
    amount_minor: int
    currency: str
    description: str
    success_url: str
    cancel_url: str
    webhook_url: str
    customer_email: str = ""
    locale: str = ""  # a language code (`es`, `pt-br`); each adapter maps it to what it knows
    save_for_recurring: bool = False


@dataclass(frozen=True)
class Checkout:
    provider_id: str
    redirect_url: str


@dataclass(frozen=True)
class PaymentEvent:
    """One thing the provider says happened to one payment.

    `event_id` identifies this state of the payment (Stripe's event id; for Mollie the payment
    id plus a digest of its re-fetched state): the same event delivered twice has the same id.
    `provider_id` is the payment (Stripe PaymentIntent, Mollie payment); `checkout_id` the
    hosted checkout it came through, when there was one. `refunded_minor` is the provider's
    running total of money returned on the payment by this route (refunds, or charge-backs);
    `refund_id` is unique to that total, so booking it twice is impossible.
    """

    event_id: str
    provider_id: str
    public_ref: str
    status: EventStatus
    amount_minor: int | None = None
    currency: str = ""
    checkout_id: str = ""
    customer_id: str = ""
    mandate_id: str = ""
    refund_id: str = ""
    refunded_minor: int = 0
    failure_reason: str = ""
    recurring: bool = False  # an off-session charge of a recurring plan (not its first payment)


class PaymentGateway(Protocol):
    kind: str

    def create_checkout(self, request: CheckoutRequest) -> Checkout: ...

    def parse_webhook(
        self, *, body: bytes, headers: dict[str, str], verify: bool = True
    ) -> list[PaymentEvent]: ...

    def charge_recurring(
        self,
        *,
        customer_id: str,
        mandate_id: str,
        amount_minor: int,
        currency: str,
        public_ref: str,
        description: str,
        webhook_url: str,
    ) -> str: ...

    def refund(self, *, provider_id: str, amount_minor: int, currency: str) -> str: ...


def currency_digits(currency: str) -> int:
    """ISO 4217 minor-unit digits of `currency` (2 for EUR, 0 for JPY)."""
    return int(get_currency_precision(currency.upper()))


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-currency_digits(currency))


def decimal_to_minor(value: str | Decimal, currency: str) -> int:
    """`"12.50"` EUR → 1250; anything that is not an exact amount in that currency → ValueError."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    minor = amount.scaleb(currency_digits(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"too many decimals for {currency}: {value!r}")
    return int(minor)


def header(headers: dict[str, str], name: str) -> str:
    """A header's value whatever the case of its name (Django, WSGI and stored rows differ)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""
