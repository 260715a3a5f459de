"""Card payment providers behind one interface; `gateway_for` builds an organization's adapter."""

from solidaria.fundraising.models import PaymentProvider
from solidaria.fundraising.payments.base import (
    BadSignature,
    ChargeDeclined,
    Checkout,
    CheckoutRequest,
    EventStatus,
    NotConfigured,
    PaymentEvent,
    PaymentGateway,
    ProviderError,
    UnknownPayment,
)
from solidaria.fundraising.payments.mollie import MollieGateway
from solidaria.fundraising.payments.stripe import StripeGateway

__all__ = [
    "BadSignature",
    "ChargeDeclined",
    "Checkout",
    "CheckoutRequest",
    "EventStatus",
    "MollieGateway",
    "NotConfigured",
    "PaymentEvent",
    "PaymentGateway",
    "ProviderError",
    "StripeGateway",
    "UnknownPayment",
    "gateway_for",
]


def gateway_for(provider: PaymentProvider) -> StripeGateway | MollieGateway:
    """The adapter for `provider`, from its settings (`api_base_url`) and secrets.

    Raises `NotConfigured` for a SEPA provider (no card API) or one whose keys are missing.
    """
    settings = provider.settings or {}
    secrets = provider.secrets or {}
    base = str(settings.get("api_base_url") or "")
    if provider.kind == PaymentProvider.Kind.STRIPE:
        return StripeGateway(
            secret_key=str(secrets.get("secret_key") or ""),
            webhook_secret=str(secrets.get("webhook_secret") or ""),
            api_base_url=base,
        )
    if provider.kind == PaymentProvider.Kind.MOLLIE:
        return MollieGateway(
            api_key=str(secrets.get("api_key") or ""),
            webhook_secret=str(secrets.get("webhook_secret") or ""),
            api_base_url=base,
        )
    raise NotConfigured(detail=f"{provider.kind} has no card gateway")
