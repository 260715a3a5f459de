"""A Stripe stand-in: Checkout Sessions, PaymentIntents, customers, refunds; signed events."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import stripe

from solidaria.fundraising.tests.fake_providers.server import (
    Delivery,
    Error,
    FakeServer,
    Recorded,
    Response,
    bracket_form,
    new_id,
)


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends: `t=<unix time>,v1=<hex HMAC-SHA256>`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class FakeStripe(FakeServer):
    """Checkout Sessions, PaymentIntents, customers, refunds; signed webhook events."""

    name = "fake-stripe"

    def __init__(
        self,
        *,
        secret_key: str = "sk_test_solidaria_fake",  # noqa: S107 - a test key for a test server
        webhook_secret: str = "",
    ) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self.webhook_url = ""  # where events are POSTed; empty: only returned and kept
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, str] = {}  # pm id → customer id
        self.refunds: dict[str, dict[str, Any]] = {}
        self.declining: set[str] = set()  # payment methods whose off-session charges fail
        self.events: list[Delivery] = []

    def parse_body(self, recorded: Recorded) -> None:
        text = recorded.body.decode()
        pairs = parse_qsl(text or recorded.query, keep_blank_values=True)
        recorded.form = bracket_form(pairs)

    def authorized(self, recorded: Recorded) -> bool:
        auth = recorded.header("Authorization")
        if auth.startswith("Bearer "):
            return hmac.compare_digest(auth[7:], self.secret_key)
        if auth.startswith("Basic "):
            try:
                user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except ValueError:
                return False
            return hmac.compare_digest(user, self.secret_key)
        return False

    def unauthorized(self) -> Error:
        return Error(
            401,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Invalid API Key provided.",
                }
            },
        )

    @staticmethod
    def invalid(message: str, param: str = "") -> Error:
        return Error(
            400, {"error": {"type": "invalid_request_error", "message": message, "param": param}}
        )

    @staticmethod
    def missing(kind: str, resource_id: str) -> Error:
        return Error(
            404,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"No such {kind}: '{resource_id}'",
                }
            },
        )

    def hosted_page(self, path: str) -> str | None:
        match = re.fullmatch(r"/c/pay/([^/]+)", path)
        session = self.sessions.get(match.group(1)) if match else None
        if session is None:
            return None
        amount = f"{session['amount_total']} {session['currency']} (minor units)"
        return self.page(
            "Fake Stripe Checkout", amount, session["success_url"], session["cancel_url"] or ""
        )

    def route(self, r: Recorded) -> Response:
        path = r.path.rstrip("/")
        if r.method == "POST" and path == "/v1/checkout/sessions":
            return 200, self.create_session(r.form)
        if r.method == "GET" and path.startswith("/v1/checkout/sessions/"):
            session_id = path.rsplit("/", 1)[1]
            if session_id not in self.sessions:
                raise self.missing("checkout.session", session_id)
            return 200, self.sessions[session_id]
        if r.method == "POST" and path == "/v1/payment_intents":
            return self.create_intent(r.form)
        if r.method == "GET" and path.startswith("/v1/payment_intents/"):
            intent_id = path.rsplit("/", 1)[1]
            if intent_id not in self.intents:
                raise self.missing("payment_intent", intent_id)
            return 200, self.intents[intent_id]
        if r.method == "POST" and path == "/v1/customers":
            customer = self._customer(r.form.get("email") or None)
            return 200, customer
        if r.method == "POST" and path == "/v1/refunds":
            return 200, self.create_refund(r.form)
        raise Error(
            404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
        )

    # -- API --

    def create_session(self, form: dict[str, Any]) -> dict[str, Any]:
        if form.get("mode") != "payment":
            raise self.invalid("This fake only knows mode=payment.", "mode")
        items = form.get("line_items")
        if not isinstance(items, list) or not items:
            raise self.invalid("line_items is required.", "line_items")
        total = 0
        currency = ""
        for item in items:
            price = item.get("price_data") or {}
            try:
                unit = int(price["unit_amount"])
                quantity = int(item.get("quantity", "1"))
                currency = price["currency"]
            except (KeyError, ValueError) as error:
                raise self.invalid("Bad price_data.", "line_items") from error
            if unit <= 0 or currency != currency.lower() or len(currency) != 3:
                raise self.invalid("Invalid unit_amount or currency.", "line_items")
            total += unit * quantity
        for required in ("success_url",):
            if not form.get(required):
                raise self.invalid(f"Missing required param: {required}.", required)
        session_id = new_id("cs_test_")
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_creation": form.get("customer_creation", "if_required"),
            "customer_details": None,
            "customer_email": form.get("customer_email"),
            "expires_at": now + 24 * 3600,
            "livemode": False,
            "locale": form.get("locale"),
            "metadata": form.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form.get("success_url"),
            "url": f"{self.url}/c/pay/{session_id}",
        }
        # Kept for the PaymentIntent Checkout creates when the donor pays.
        session["_payment_intent_data"] = form.get("payment_intent_data") or {}
        self.sessions[session_id] = session
        return self._public(session)

    def create_intent(self, form: dict[str, Any]) -> Response:
        try:
            amount = int(form["amount"])
        except (KeyError, ValueError) as error:
            raise self.invalid("Missing required param: amount.", "amount") from error
        currency = form.get("currency", "")
        customer = form.get("customer", "")
        method = form.get("payment_method", "")
        if customer and customer not in self.customers:
            raise self.missing("customer", customer)
        if method and self.payment_methods.get(method) != customer:
            raise self.invalid(
                "The provided PaymentMethod was previously used without being attached to a "
                "Customer or was detached from a Customer.",
                "payment_method",
            )
        intent = self._intent(
            amount=amount,
            currency=currency,
            customer=customer or None,
            payment_method=method or None,
            metadata=form.get("metadata") or {},
            description=form.get("description"),
        )
        if form.get("confirm") != "true":
            intent["status"] = "requires_confirmation"
            return 200, intent
        if method in self.declining:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            }
            self._emit("payment_intent.payment_failed", stripe.PaymentIntent, intent)
            error = dict(intent["last_payment_error"], payment_intent=intent)
            return 402, {"error": error}
        self._succeed(intent)
        self._emit("payment_intent.succeeded", stripe.PaymentIntent, intent)
        return 200, intent

    def create_refund(self, form: dict[str, Any]) -> dict[str, Any]:
        intent_id = form.get("payment_intent", "")
        intent = self.intents.get(intent_id)
        if intent is None:
            raise self.missing("payment_intent", intent_id)
        charge = self.charges.get(intent.get("latest_charge") or "")
        if charge is None:
            raise self.invalid("This PaymentIntent has no successful charge.", "payment_intent")
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(form.get("amount") or left)
        if amount <= 0 or amount > left:
            raise self.invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount ({left}).", "amount"
            )
        refund = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": intent_id,
            "status": "succeeded",
            "created": int(time.time()),
            "metadata": form.get("metadata") or {},
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("charge.refunded", stripe.Charge, charge)
        return refund

    # -- the donor and the bank --

    def pay_checkout(self, session_id: str, *, asynchronous: bool = False) -> list[Delivery]:
        """The donor pays on the hosted page: `checkout.session.completed` (paid, or unpaid
        for a slow method when `asynchronous`) and the intent's `payment_intent.succeeded`."""
        with self.lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"checkout {session_id} is {session['status']}")
            data = session["_payment_intent_data"]
            customer = None
            if session["customer_creation"] == "always" or data.get("setup_future_usage"):
                customer = self._customer(session["customer_email"])["id"]
            method = new_id("pm_")
            if customer:
                self.payment_methods[method] = customer
            intent = self._intent(
                amount=session["amount_total"],
                currency=session["currency"],
                customer=customer,
                payment_method=method,
                metadata=data.get("metadata") or {},
                description=data.get("description"),
            )
            intent["setup_future_usage"] = data.get("setup_future_usage")
            session.update(
                status="complete",
                customer=customer,
                payment_intent=intent["id"],
                customer_details={"email": session["customer_email"]},
            )
            start = len(self.events)
            if asynchronous:
                intent["status"] = "processing"
                session["payment_status"] = "unpaid"
                self._emit("checkout.session.completed", stripe.checkout.Session, session)
            else:
                self._succeed(intent)
                session["payment_status"] = "paid"
                self._emit("checkout.session.completed", stripe.checkout.Session, session)
                self._emit("payment_intent.succeeded", stripe.PaymentIntent, intent)
            emitted = self.events[start:]
        self.flush()
        return emitted

    def settle_async(self, session_id: str, *, succeeded: bool = True) -> Delivery:
        """A slow method settles: `checkout.session.async_payment_succeeded` or `…_failed`."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self.intents[session["payment_intent"]]
            if succeeded:
                self._succeed(intent)
                session["payment_status"] = "paid"
                kind = "checkout.session.async_payment_succeeded"
            else:
                intent["status"] = "requires_payment_method"
                kind = "checkout.session.async_payment_failed"
            delivery = self._emit(kind, stripe.checkout.Session, session)
        self.flush()
        return delivery

    def expire_checkout(self, session_id: str) -> Delivery:
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "expired"
            delivery = self._emit("checkout.session.expired", stripe.checkout.Session, session)
        self.flush()
        return delivery

    def dispute(self, intent_id: str, *, reason: str = "fraudulent") -> Delivery:
        """The card holder disputes the charge: `charge.dispute.created`."""
        with self.lock:
            intent = self.intents[intent_id]
            charge = self.charges[intent["latest_charge"]]
            charge["disputed"] = True
            dispute = {
                "id": new_id("dp_"),
                "object": "dispute",
                "amount": charge["amount"] - charge["amount_refunded"],
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": intent_id,
                "reason": reason,
                "status": "needs_response",
                "created": int(time.time()),
                "metadata": {},
            }
            delivery = self._emit("charge.dispute.created", stripe.Dispute, dispute)
        self.flush()
        return delivery

    def refund_in_dashboard(self, intent_id: str, amount: int | None = None) -> Delivery:
        """Staff refund in Stripe's dashboard: the `charge.refunded` event."""
        with self.lock:
            form = {"payment_intent": intent_id}
            if amount is not None:
                form["amount"] = str(amount)
            self.create_refund(form)
            delivery = self.events[-1]
        self.flush()
        return delivery

    def add_saved_card(self, email: str = "donor@example.org") -> tuple[str, str]:
        """A customer with a card saved for off-session use: (customer id, payment method)."""
        with self.lock:
            customer = self._customer(email)["id"]
            method = new_id("pm_")
            self.payment_methods[method] = customer
        return customer, method

    def checkout_of(self, public_ref: str) -> dict[str, Any]:
        for session in self.sessions.values():
            if session["client_reference_id"] == public_ref:
                return session
        raise KeyError(public_ref)

    def sign(self, payload: bytes, *, timestamp: int | None = None, secret: str = "") -> str:
        return stripe_signature(payload, secret or self.webhook_secret, timestamp)

    # -- internals --

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _customer(self, email: str | None) -> dict[str, Any]:
        customer = {
            "id": new_id("cus_"),
            "object": "customer",
            "email": email,
            "created": int(time.time()),
            "metadata": {},
        }
        self.customers[customer["id"]] = customer
        return customer

    def _intent(self, **fields: Any) -> dict[str, Any]:
        intent = {
            "id": new_id("pi_"),
            "object": "payment_intent",
            "amount_received": 0,
            "created": int(time.time()),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "status": "requires_payment_method",
            **fields,
        }
        self.intents[intent["id"]] = intent
        return intent

    def _succeed(self, intent: dict[str, Any]) -> None:
        charge = {
            "id": new_id("ch_"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "customer": intent["customer"],
            "disputed": False,
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "refunded": False,
            "status": "succeeded",
            "metadata": {},
            "created": int(time.time()),
        }
        self.charges[charge["id"]] = charge
        intent.update(
            status="succeeded", amount_received=intent["amount"], latest_charge=charge["id"]
        )

    def _emit(self, kind: str, cls: type[stripe.StripeObject], obj: dict[str, Any]) -> Delivery:
        """Build the event with the SDK's own objects, sign it, keep it, and POST it."""
        inner = cls.construct_from(json.loads(json.dumps(self._public(obj))), self.secret_key)
        event = stripe.Event.construct_from(
            {
                "id": new_id("evt_"),
                "object": "event",
                "api_version": stripe.api_version,
                "created": int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "type": kind,
                "data": {"object": inner},
            },
            self.secret_key,
        )
        payload = json.dumps(event.to_dict(), indent=2).encode()
        delivery = Delivery(
            url=self.webhook_url,
            body=payload,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": self.sign(payload),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        self.events.append(delivery)
        self._outbox.append(delivery)
        return delivery
