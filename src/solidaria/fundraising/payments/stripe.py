"""Stripe: hosted Checkout Sessions, signed webhooks, off-session PaymentIntents, refunds.

Confirmation comes only from a signed `checkout.session.completed` whose payment_status is
`paid` (or `checkout.session.async_payment_succeeded` for slow methods), and for a recurring
plan's later charges from `payment_intent.succeeded` of a PaymentIntent we created off-session.
Our gift's reference travels as `client_reference_id` and as `metadata[public_ref]` on the
session and on its PaymentIntent (metadata `solidaria_flow` tells checkout and recurring apart).
"""

import json
import logging
from typing import Any

import stripe

from solidaria.fundraising.payments.base import (
    BadSignature,
    ChargeDeclined,
    Checkout,
    CheckoutRequest,
    EventStatus,
    NotConfigured,
    PaymentEvent,
    ProviderError,
    header,
)

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
SIGNATURE_TOLERANCE = 300  # seconds, Stripe's own default against replayed deliveries

# Checkout's `locale` accepts only these; anything else lets Stripe pick from the browser.
CHECKOUT_LOCALES = frozenset(
    [
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "en-GB",
        "es",
        "es-419",
        "et",
        "fi",
        "fil",
        "fr",
        "fr-CA",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        "ms",
        "mt",
        "nb",
        "nl",
        "pl",
        "pt",
        "pt-BR",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "th",
        "tr",
        "vi",
        "zh",
        "zh-HK",
        "zh-TW",
    ]
)

FLOW_CHECKOUT = "checkout"
FLOW_RECURRING = "recurring"


def checkout_locale(language: str) -> str:
    if not language:
        return "auto"
    parts = language.replace("_", "-").split("-")
    candidates = [parts[0].lower()]
    if len(parts) > 1:
        candidates.insert(0, f"{parts[0].lower()}-{parts[1].upper()}")
    for candidate in candidates:
        if candidate in CHECKOUT_LOCALES:
            return candidate
    return "auto"


def _int(value: Any) -> int | None:
    """An amount as Stripe sends it (an integer of minor units); anything else is None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _id(value: Any) -> str:
    """An expandable field: either the id, or the expanded object with its id."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(getattr(value, "id", "") or "")


class StripeGateway:
    kind = "stripe"

    def __init__(
        self, *, secret_key: str, webhook_secret: str = "", api_base_url: str = ""
    ) -> None:
        if not secret_key:
            raise NotConfigured(detail="stripe secret_key missing")
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.api_base_url = (api_base_url or DEFAULT_API_BASE).rstrip("/")
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": self.api_base_url},
            # Retries are safe: the SDK sends an idempotency key with every POST it retries.
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=30),
        )

    # -- checkout -------------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        intent_data: dict[str, Any] = {
            "description": request.description,
            "metadata": {"public_ref": request.public_ref, "solidaria_flow": FLOW_CHECKOUT},
        }
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": request.public_ref,
            "metadata": {"public_ref": request.public_ref},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_minor,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "locale": checkout_locale(request.locale),
            "payment_intent_data": intent_data,
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        if request.save_for_recurring:
            intent_data["setup_future_usage"] = "off_session"
            params["customer_creation"] = "always"
        try:
            session = self.client.v1.checkout.sessions.create(params)  # type: ignore[arg-type]
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        if not session.url:
            raise ProviderError(detail=f"checkout session {session.id} has no url")
        return Checkout(provider_id=session.id, redirect_url=session.url)

    # -- webhooks -------------------------------------------------------------------------

    def parse_webhook(
        self, *, body: bytes, headers: dict[str, str], verify: bool = True
    ) -> list[PaymentEvent]:
        """Verify Stripe's signature (unless the request was verified when it was stored)."""
        if verify:
            if not self.webhook_secret:
                raise NotConfigured(detail="stripe webhook_secret missing")
            signature = header(headers, "Stripe-Signature")
            try:
                event = stripe.Webhook.construct_event(
                    body, signature, self.webhook_secret, SIGNATURE_TOLERANCE
                )
            except (stripe.SignatureVerificationError, ValueError) as error:
                raise BadSignature(str(error)) from error
            data = event.to_dict()
        else:
            data = json.loads(body)
        return events_from(data)

    # -- recurring and refunds ------------------------------------------------------------

    def charge_recurring(
        self,
        *,
        customer_id: str,
        mandate_id: str,
        amount_minor: int,
        currency: str,
        public_ref: str,
        description: str,
        webhook_url: str = "",  # Stripe posts to the endpoint set in its dashboard
    ) -> str:
        if not customer_id or not mandate_id:
            raise NotConfigured(detail="no saved customer or payment method")
        params = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": mandate_id,
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": {"public_ref": public_ref, "solidaria_flow": FLOW_RECURRING},
        }
        try:
            intent = self.client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                # One charge per gift, however often a crashed worker retries it.
                {"idempotency_key": f"solidaria-recurring-{public_ref}"},
            )
        except stripe.CardError as error:
            err = error.error
            intent_id = _id(getattr(err, "payment_intent", None)) if err else ""
            reason = ""
            if err is not None:
                reason = str(getattr(err, "decline_code", None) or err.code or "")
            raise ChargeDeclined(
                detail=str(error), provider_id=intent_id, reason=reason or "card_declined"
            ) from error
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return str(intent.id)

    def refund(self, *, provider_id: str, amount_minor: int, currency: str) -> str:
        try:
            intent_id = provider_id
            if provider_id.startswith("cs_"):
                session = self.client.v1.checkout.sessions.retrieve(provider_id)
                intent_id = _id(session.payment_intent)
            refund = self.client.v1.refunds.create(
                {"payment_intent": intent_id, "amount": amount_minor}
            )
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return str(refund.id)


def _provider_error(error: stripe.StripeError) -> ProviderError:
    logger.warning("Stripe refused a request: %s", error)
    return ProviderError(detail=str(error))


def events_from(event: dict[str, Any]) -> list[PaymentEvent]:
    """Our events in one Stripe event (a plain dict); types we do not act on give none."""
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    event_id = str(event.get("id") or "")
    metadata = obj.get("metadata") or {}

    if kind.startswith("checkout.session."):
        status = {
            "checkout.session.async_payment_succeeded": EventStatus.PAID,
            "checkout.session.async_payment_failed": EventStatus.FAILED,
            "checkout.session.expired": EventStatus.EXPIRED,
        }.get(kind)
        if kind == "checkout.session.completed":
            # Slow methods (SEPA debit, …) complete unpaid and settle later.
            status = {"paid": EventStatus.PAID, "unpaid": EventStatus.PENDING}.get(
                obj.get("payment_status", "")
            )
        if status is None:
            return []
        session_id = str(obj.get("id") or "")
        return [
            PaymentEvent(
                event_id=event_id,
                provider_id=_id(obj.get("payment_intent")) or session_id,
                checkout_id=session_id,
                public_ref=str(obj.get("client_reference_id") or metadata.get("public_ref") or ""),
                status=status,
                amount_minor=_int(obj.get("amount_total")),
                currency=str(obj.get("currency") or "").upper(),
                customer_id=_id(obj.get("customer")),
                failure_reason=kind.rsplit(".", 1)[-1] if status != EventStatus.PAID else "",
            )
        ]

    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        flow = metadata.get("solidaria_flow", "")
        if flow not in (FLOW_CHECKOUT, FLOW_RECURRING):
            return []
        recurring = flow == FLOW_RECURRING
        if kind == "payment_intent.succeeded":
            # A checkout's own intent confirms nothing (the session does) but names the saved
            # payment method a recurring plan charges later.
            status = EventStatus.PAID if recurring else EventStatus.PENDING
            reason = ""
        else:
            if not recurring:
                return []  # the donor may try another card inside the same checkout
            status = EventStatus.FAILED
            last_error = obj.get("last_payment_error") or {}
            reason = str(last_error.get("decline_code") or last_error.get("code") or "failed")
        return [
            PaymentEvent(
                event_id=event_id,
                provider_id=str(obj.get("id") or ""),
                public_ref=str(metadata.get("public_ref") or ""),
                status=status,
                amount_minor=_int(obj.get("amount_received")) if recurring else None,
                currency=str(obj.get("currency") or "").upper(),
                customer_id=_id(obj.get("customer")),
                mandate_id=_id(obj.get("payment_method")),
                failure_reason=reason,
                recurring=recurring,
            )
        ]

    if kind == "charge.refunded":
        intent_id = _id(obj.get("payment_intent"))
        total = _int(obj.get("amount_refunded")) or 0
        if not intent_id or total <= 0:
            return []
        return [
            PaymentEvent(
                event_id=event_id,
                provider_id=intent_id,
                public_ref=str(metadata.get("public_ref") or ""),
                status=EventStatus.REFUNDED,
                currency=str(obj.get("currency") or "").upper(),
                refund_id=f"{intent_id}:refunded:{total}",
                refunded_minor=total,
            )
        ]

    if kind == "charge.dispute.created":
        intent_id = _id(obj.get("payment_intent"))
        amount = _int(obj.get("amount")) or 0
        if not intent_id or amount <= 0:
            return []
        return [
            PaymentEvent(
                event_id=event_id,
                provider_id=intent_id,
                public_ref=str(metadata.get("public_ref") or ""),
                status=EventStatus.CHARGED_BACK,
                currency=str(obj.get("currency") or "").upper(),
                refund_id=f"{intent_id}:chargeback:{amount}",
                refunded_minor=amount,
                failure_reason=str(obj.get("reason") or "dispute"),
            )
        ]
    return []
