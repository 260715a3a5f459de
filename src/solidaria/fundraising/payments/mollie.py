"""Mollie: payments with a hosted checkout, webhooks answered by re-fetching, recurring, refunds.

Mollie's classic webhook only posts `id=tr_…` and is not signed: we re-fetch the payment with
our own key and trust only what the API answers. When the organization set a webhook signing
secret, every request must carry `X-Mollie-Signature` (`sha256=` + hex HMAC-SHA256 of the raw
body, as Mollie's SDKs check it) matching it, or it is refused before we even ask Mollie: an
unsigned request is then a forgery, not Mollie's classic webhook.
"""

import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from mollie.api.client import Client
from mollie.api.error import Error as MollieError
from mollie.api.error import IdentifierError, NotFoundError
from mollie.api.objects.payment import Payment
from mollie.api.resources.refunds import PaymentRefunds

from solidaria.fundraising.payments.base import (
    BadSignature,
    Checkout,
    CheckoutRequest,
    EventStatus,
    NotConfigured,
    PaymentEvent,
    ProviderError,
    UnknownPayment,
    decimal_to_minor,
    header,
    minor_to_decimal,
)

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.mollie.com"
SIGNATURE_PREFIX = "sha256="

# Mollie's checkout locales, by language.
LOCALES = {
    "en": "en_US",
    "nl": "nl_NL",
    "de": "de_DE",
    "fr": "fr_FR",
    "es": "es_ES",
    "ca": "ca_ES",
    "pt": "pt_PT",
    "it": "it_IT",
    "nb": "nb_NO",
    "sv": "sv_SE",
    "fi": "fi_FI",
    "da": "da_DK",
    "is": "is_IS",
    "hu": "hu_HU",
    "pl": "pl_PL",
    "lv": "lv_LV",
    "lt": "lt_LT",
}

STATUSES = {
    "paid": EventStatus.PAID,
    "failed": EventStatus.FAILED,
    "canceled": EventStatus.CANCELED,
    "expired": EventStatus.EXPIRED,
}


def mollie_amount(amount_minor: int, currency: str) -> dict[str, str]:
    value = minor_to_decimal(amount_minor, currency)
    return {"currency": currency.upper(), "value": f"{value:f}"}


def signature_for(body: bytes, secret: str) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MollieGateway:
    kind = "mollie"

    def __init__(self, *, api_key: str, api_base_url: str = "", webhook_secret: str = "") -> None:
        if not api_key:
            raise NotConfigured(detail="mollie api_key missing")
        self.api_base_url = (api_base_url or DEFAULT_API_BASE).rstrip("/")
        self.webhook_secret = webhook_secret
        self.client = Client(api_endpoint=self.api_base_url)
        try:
            self.client.set_api_key(api_key)
        except MollieError as error:
            raise NotConfigured(detail=str(error)) from error

    # -- checkout -------------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> Checkout:
        data: dict[str, Any] = {
            "amount": mollie_amount(request.amount_minor, request.currency),
            "description": request.description,
            "redirectUrl": request.success_url,
            "cancelUrl": request.cancel_url,
            "webhookUrl": request.webhook_url,
            "metadata": {"public_ref": request.public_ref},
        }
        locale = LOCALES.get(request.locale.split("-")[0].split("_")[0].lower())
        if locale:
            data["locale"] = locale
        try:
            if request.save_for_recurring:
                # A first payment creates the mandate the later recurring payments use.
                customer_data: dict[str, Any] = {"metadata": {"public_ref": request.public_ref}}
                if request.customer_email:
                    customer_data["email"] = request.customer_email
                customer = self.client.customers.create(customer_data)
                data["customerId"] = customer["id"]
                data["sequenceType"] = "first"
            payment = self.client.payments.create(data)
        except MollieError as error:
            raise _provider_error(error) from error
        url = payment.checkout_url
        if not url:
            raise ProviderError(detail=f"payment {payment.id} has no checkout link")
        return Checkout(provider_id=payment.id, redirect_url=url)

    # -- webhooks -------------------------------------------------------------------------

    def parse_webhook(
        self, *, body: bytes, headers: dict[str, str], verify: bool = True
    ) -> list[PaymentEvent]:
        """Check the signature (required once a signing secret is set), then re-fetch the
        payment the body names."""
        signature = header(headers, "X-Mollie-Signature")
        if verify and (signature or self.webhook_secret):
            if not self.webhook_secret:
                raise BadSignature("signed webhook but no signing secret configured")
            if not signature:
                raise BadSignature("unsigned webhook but a signing secret is configured")
            expected = signature_for(body, self.webhook_secret)
            given = (
                signature
                if signature.startswith(SIGNATURE_PREFIX)
                else SIGNATURE_PREFIX + signature
            )
            if not hmac.compare_digest(expected, given.strip()):
                raise BadSignature("X-Mollie-Signature does not match the body")
        payment_id = payment_id_in(body)
        if not payment_id:
            return []
        return events_for(self.fetch_payment(payment_id))

    def fetch_payment(self, payment_id: str) -> Payment:
        try:
            return self.client.payments.get(payment_id)
        except (NotFoundError, IdentifierError) as error:
            raise UnknownPayment(detail=str(error)) from error
        except MollieError as error:
            raise _provider_error(error) from error

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
        webhook_url: str,
    ) -> str:
        if not customer_id:
            raise NotConfigured(detail="no Mollie customer")
        data: dict[str, Any] = {
            "amount": mollie_amount(amount_minor, currency),
            "description": description,
            "sequenceType": "recurring",
            "customerId": customer_id,
            "webhookUrl": webhook_url,
            "metadata": {"public_ref": public_ref},
        }
        if mandate_id:
            data["mandateId"] = mandate_id
        try:
            payment = self.client.payments.create(
                data, idempotency_key=f"solidaria-recurring-{public_ref}"
            )
        except MollieError as error:
            raise _provider_error(error) from error
        return str(payment.id)

    def refund(self, *, provider_id: str, amount_minor: int, currency: str) -> str:
        refunds = PaymentRefunds(self.client, Payment({"id": provider_id}, self.client))
        try:
            refund = refunds.create({"amount": mollie_amount(amount_minor, currency)})
        except MollieError as error:
            raise _provider_error(error) from error
        return str(refund["id"])


def _provider_error(error: Exception) -> ProviderError:
    logger.warning("Mollie refused a request: %s", error)
    return ProviderError(detail=str(error))


def payment_id_in(body: bytes) -> str:
    """The payment a webhook names: classic `id=tr_…`, or a next-gen event's `entityId`."""
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return ""
        entity = str(data.get("entityId") or "") if isinstance(data, dict) else ""
        return entity if entity.startswith("tr_") else ""
    values = parse_qs(text).get("id") or [""]
    return values[0].strip()


def _minor(amount: dict[str, str] | None, currency: str) -> int:
    if not amount:
        return 0
    return decimal_to_minor(amount.get("value", "0"), amount.get("currency") or currency)


def events_for(payment: dict[str, Any]) -> list[PaymentEvent]:
    """Our events in the payment's current state (as the API returned it)."""
    payment_id = str(payment.get("id") or "")
    amount = payment.get("amount") or {}
    currency = str(amount.get("currency") or "").upper()
    metadata = payment.get("metadata") or {}
    public_ref = str(metadata.get("public_ref") or "") if isinstance(metadata, dict) else ""
    refunded = _minor(payment.get("amountRefunded"), currency)
    charged_back = _minor(payment.get("amountChargedBack"), currency)
    state = {
        "status": payment.get("status"),
        "amountRefunded": refunded,
        "amountChargedBack": charged_back,
        "mandateId": payment.get("mandateId"),
        "customerId": payment.get("customerId"),
    }
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]
    common = {
        "event_id": f"{payment_id}:{digest}",
        "provider_id": payment_id,
        "checkout_id": payment_id,
        "public_ref": public_ref,
        "currency": currency,
        "customer_id": str(payment.get("customerId") or ""),
        "mandate_id": str(payment.get("mandateId") or ""),
        "recurring": payment.get("sequenceType") == "recurring",
    }
    status = STATUSES.get(str(payment.get("status")), EventStatus.PENDING)
    details = payment.get("details") or {}
    reason = ""
    if status not in (EventStatus.PAID, EventStatus.PENDING):
        reason = (
            str(details.get("failureReason") or status) if isinstance(details, dict) else status
        )
    events = [
        PaymentEvent(
            status=status,
            amount_minor=_minor(amount, currency) if status == EventStatus.PAID else None,
            failure_reason=reason,
            **common,
        )
    ]
    if refunded > 0:
        events.append(
            PaymentEvent(
                status=EventStatus.REFUNDED,
                refund_id=f"{payment_id}:refunded:{refunded}",
                refunded_minor=refunded,
                **common,
            )
        )
    if charged_back > 0:
        events.append(
            PaymentEvent(
                status=EventStatus.CHARGED_BACK,
                refund_id=f"{payment_id}:chargeback:{charged_back}",
                refunded_minor=charged_back,
                failure_reason="chargeback",
                **common,
            )
        )
    return events
