"""A Mollie stand-in: payments with a checkout link, refunds, customers, mandates; webhooks."""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from solidaria.fundraising.tests.fake_providers.server import (
    Delivery,
    Error,
    FakeServer,
    Recorded,
    Response,
    new_id,
)


def mollie_error(status: int, title: str, detail: str, field_name: str = "") -> Error:
    payload: dict[str, Any] = {
        "status": status,
        "title": title,
        "detail": detail,
        "_links": {
            "documentation": {
                "href": "https://docs.mollie.com/overview/handling-errors",
                "type": "text/html",
            }
        },
    }
    if field_name:
        payload["field"] = field_name
    return Error(status, payload)


class FakeMollie(FakeServer):
    """Payments (with `_links.checkout`), refunds, customers and mandates; webhook posts."""

    name = "fake-mollie"
    content_type = "application/hal+json"

    def __init__(
        self, *, api_key: str = "test_solidariafakekey00000000000", signing_secret: str = ""
    ):
        super().__init__()
        self.api_key = api_key
        self.signing_secret = signing_secret  # set: webhooks carry X-Mollie-Signature
        self.payments: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.mandates: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.deliveries: list[Delivery] = []

    def parse_body(self, recorded: Recorded) -> None:
        if recorded.body:
            try:
                recorded.json = json.loads(recorded.body)
            except ValueError:
                recorded.json = None

    def authorized(self, recorded: Recorded) -> bool:
        auth = recorded.header("Authorization")
        return auth.startswith("Bearer ") and hmac.compare_digest(auth[7:], self.api_key)

    def unauthorized(self) -> Error:
        return mollie_error(
            401, "Unauthorized Request", "Missing authentication, or failed to authenticate"
        )

    def hosted_page(self, path: str) -> str | None:
        match = re.fullmatch(r"/checkout/select-method/([^/]+)", path)
        payment = self.payments.get(match.group(1)) if match else None
        if payment is None:
            return None
        amount = f"{payment['amount']['value']} {payment['amount']['currency']}"
        return self.page(
            "Fake Mollie Checkout",
            amount,
            payment["redirectUrl"] or "",
            payment["cancelUrl"] or payment["redirectUrl"] or "",
        )

    def route(self, r: Recorded) -> Response:
        path = r.path.rstrip("/")
        data = r.json if isinstance(r.json, dict) else {}
        if r.method == "POST" and r.body and not isinstance(r.json, dict):
            raise mollie_error(400, "Bad Request", "The request body is not valid JSON")
        parts = path.split("/")[1:]  # v2, resource, id, sub
        if parts[:1] != ["v2"]:
            raise mollie_error(404, "Not Found", "The resource does not exist")
        match parts[1:]:
            case ["payments"] if r.method == "POST":
                return 201, self.create_payment(data)
            case ["payments", payment_id] if r.method == "GET":
                return 200, self.payment(payment_id)
            case ["payments", payment_id, "refunds"] if r.method == "POST":
                return 201, self.create_refund(payment_id, data)
            case ["customers"] if r.method == "POST":
                return 201, self.create_customer(data)
            case ["customers", customer_id, "mandates"] if r.method == "GET":
                self.customer(customer_id)
                mandates = [m for m in self.mandates.values() if m["_customer"] == customer_id]
                return 200, {
                    "count": len(mandates),
                    "_embedded": {"mandates": [self._public(m) for m in mandates]},
                    "_links": {"previous": None, "next": None},
                }
            case ["customers", customer_id, "mandates"] if r.method == "POST":
                return 201, self._public(self.create_mandate(customer_id, data))
        raise mollie_error(404, "Not Found", "The resource does not exist")

    # -- API --

    def _amount(self, amount: Any, name: str = "amount") -> tuple[str, int]:
        if not isinstance(amount, dict):
            raise mollie_error(422, "Unprocessable Entity", "The amount is required", name)
        currency = amount.get("currency")
        value = amount.get("value")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise mollie_error(
                422, "Unprocessable Entity", "The currency is invalid", f"{name}.currency"
            )
        digits = 0 if currency in ("JPY", "ISK") else 2
        pattern = r"\d+" if digits == 0 else r"\d+\.\d{2}"
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise mollie_error(
                422,
                "Unprocessable Entity",
                "The amount contains an invalid value",
                f"{name}.value",
            )
        minor = int(Decimal(value).scaleb(digits))
        if minor <= 0:
            raise mollie_error(
                422, "Unprocessable Entity", "The amount is too low", f"{name}.value"
            )
        return currency, minor

    def create_payment(self, data: dict[str, Any]) -> dict[str, Any]:
        currency, minor = self._amount(data.get("amount"))
        if not data.get("description"):
            raise mollie_error(
                422, "Unprocessable Entity", "The description is invalid", "description"
            )
        sequence = data.get("sequenceType", "oneoff")
        customer_id = data.get("customerId")
        mandate_id = data.get("mandateId")
        if customer_id:
            self.customer(customer_id)
        if sequence == "recurring":
            if not customer_id:
                raise mollie_error(
                    422, "Unprocessable Entity", "A customer is required", "customerId"
                )
            valid = [
                m
                for m in self.mandates.values()
                if m["_customer"] == customer_id and m["status"] == "valid"
            ]
            if mandate_id:
                valid = [m for m in valid if m["id"] == mandate_id]
            if not valid:
                raise mollie_error(
                    422,
                    "Unprocessable Entity",
                    "The customer does not have a valid mandate",
                    "mandateId" if mandate_id else "customerId",
                )
            mandate_id = valid[0]["id"]
        elif not data.get("redirectUrl"):
            raise mollie_error(
                422, "Unprocessable Entity", "The redirect URL is required", "redirectUrl"
            )
        if sequence == "first" and not customer_id:
            raise mollie_error(422, "Unprocessable Entity", "A customer is required", "customerId")
        payment_id = new_id("tr_")[:13]
        now = datetime.now(UTC)
        payment = {
            "resource": "payment",
            "id": payment_id,
            "mode": "test",
            "createdAt": now.isoformat(),
            "amount": {"currency": currency, "value": data["amount"]["value"]},
            "description": data["description"],
            "method": data.get("method"),
            "metadata": data.get("metadata"),
            "status": "pending" if sequence == "recurring" else "open",
            "isCancelable": False,
            "expiresAt": (now + timedelta(minutes=15)).isoformat(),
            "profileId": "pfl_fake",
            "sequenceType": sequence,
            "redirectUrl": data.get("redirectUrl"),
            "cancelUrl": data.get("cancelUrl"),
            "webhookUrl": data.get("webhookUrl"),
            "locale": data.get("locale"),
            "customerId": customer_id,
            "mandateId": mandate_id if sequence == "recurring" else None,
            "_minor": minor,
            "_links": {
                "self": {
                    "href": f"{self.url}/v2/payments/{payment_id}",
                    "type": "application/hal+json",
                },
                "dashboard": {"href": f"{self.url}/dashboard/{payment_id}", "type": "text/html"},
            },
        }
        if sequence != "recurring":
            payment["_links"]["checkout"] = {
                "href": f"{self.url}/checkout/select-method/{payment_id}",
                "type": "text/html",
            }
        self.payments[payment_id] = payment
        return self._public(payment)

    def payment(self, payment_id: str) -> dict[str, Any]:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise mollie_error(404, "Not Found", f"No payment exists with token {payment_id}.")
        return self._public(payment)

    def create_refund(self, payment_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self.payment(payment_id)
        payment = self.payments[payment_id]
        if payment["status"] != "paid":
            raise mollie_error(422, "Unprocessable Entity", "The payment cannot be refunded")
        currency, minor = self._amount(data.get("amount"))
        left = payment["_minor"] - self._refunded(payment)
        if currency != payment["amount"]["currency"] or minor > left:
            raise mollie_error(
                422,
                "Unprocessable Entity",
                "The amount is higher than the amount that can be refunded",
                "amount",
            )
        refund = {
            "resource": "refund",
            "id": new_id("re_")[:13],
            "amount": data["amount"],
            "status": "pending",
            "createdAt": datetime.now(UTC).isoformat(),
            "description": data.get("description", ""),
            "paymentId": payment_id,
            "_links": {"self": {"href": f"{self.url}/v2/payments/{payment_id}/refunds"}},
        }
        self.refunds[refund["id"]] = refund
        payment.setdefault("_refunds", []).append(minor)
        self._set_money(payment)
        return refund

    def create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "resource": "customer",
            "id": new_id("cst_")[:14],
            "mode": "test",
            "name": data.get("name"),
            "email": data.get("email"),
            "locale": data.get("locale"),
            "metadata": data.get("metadata"),
            "createdAt": datetime.now(UTC).isoformat(),
        }
        self.customers[customer["id"]] = customer
        return customer

    def customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.customers:
            raise mollie_error(404, "Not Found", f"No customer exists with token {customer_id}.")
        return self.customers[customer_id]

    def create_mandate(self, customer_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self.customer(customer_id)
        mandate = {
            "resource": "mandate",
            "id": new_id("mdt_")[:14],
            "mode": "test",
            "status": "valid",
            "method": data.get("method", "creditcard"),
            "details": {},
            "mandateReference": data.get("mandateReference"),
            "createdAt": datetime.now(UTC).isoformat(),
            "_customer": customer_id,
        }
        self.mandates[mandate["id"]] = mandate
        return mandate

    # -- the donor and the bank --

    def set_status(
        self, payment_id: str, status: str, *, failure_reason: str = "", deliver: bool = True
    ) -> Delivery:
        """The payment moves to `status` (paid, failed, canceled, expired); Mollie then calls
        the payment's webhookUrl. A paid first payment creates the customer's mandate."""
        with self.lock:
            payment = self.payments[payment_id]
            payment["status"] = status
            now = datetime.now(UTC).isoformat()
            if status == "paid":
                payment["paidAt"] = now
                payment["method"] = payment["method"] or "creditcard"
                if payment["sequenceType"] == "first" and not payment.get("mandateId"):
                    mandate = self.create_mandate(payment["customerId"], {"method": "creditcard"})
                    payment["mandateId"] = mandate["id"]
                self._set_money(payment)
            else:
                payment[f"{status}At"] = now
            if failure_reason:
                payment["details"] = {"failureReason": failure_reason}
            delivery = self._notify(payment_id, deliver=deliver)
        self.flush()
        return delivery

    def charge_back(self, payment_id: str, amount_minor: int | None = None) -> Delivery:
        with self.lock:
            payment = self.payments[payment_id]
            payment.setdefault("_chargebacks", []).append(amount_minor or payment["_minor"])
            self._set_money(payment)
            delivery = self._notify(payment_id)
        self.flush()
        return delivery

    def notify(self, payment_id: str, *, deliver: bool = True) -> Delivery:
        """Mollie's webhook call for a payment: `id=tr_…`, form-encoded (again, as a retry)."""
        delivery = self._notify(payment_id, deliver=deliver)
        self.flush()
        return delivery

    def _notify(self, payment_id: str, *, deliver: bool = True) -> Delivery:
        payment = self.payments[payment_id]
        body = f"id={payment_id}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.signing_secret:
            digest = hmac.new(self.signing_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Mollie-Signature"] = f"sha256={digest}"
        delivery = Delivery(url=payment.get("webhookUrl") or "", body=body, headers=headers)
        with self.lock:
            self.deliveries.append(delivery)
            if deliver:
                self._outbox.append(delivery)
        return delivery

    def add_mandate(self, email: str = "donor@example.org") -> tuple[str, str]:
        """A customer with a valid mandate: (customer id, mandate id)."""
        with self.lock:
            customer = self.create_customer({"email": email})["id"]
            mandate = self.create_mandate(customer, {"method": "directdebit"})["id"]
        return customer, mandate

    def payment_of(self, public_ref: str) -> dict[str, Any]:
        for payment in self.payments.values():
            if (payment.get("metadata") or {}).get("public_ref") == public_ref:
                return payment
        raise KeyError(public_ref)

    # -- internals --

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_") or k == "_links"}

    @staticmethod
    def _refunded(payment: dict[str, Any]) -> int:
        return sum(payment.get("_refunds", [])) + sum(payment.get("_chargebacks", []))

    def _set_money(self, payment: dict[str, Any]) -> None:
        currency = payment["amount"]["currency"]
        digits = 0 if currency in ("JPY", "ISK") else 2

        def value(minor: int) -> dict[str, str]:
            return {"currency": currency, "value": f"{Decimal(minor).scaleb(-digits):f}"}

        refunded = sum(payment.get("_refunds", []))
        charged_back = sum(payment.get("_chargebacks", []))
        payment["amountRefunded"] = value(refunded)
        payment["amountRemaining"] = value(payment["_minor"] - refunded - charged_back)
        if charged_back:
            payment["amountChargedBack"] = value(charged_back)
