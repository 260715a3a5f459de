"""What our books do with the card providers: start a hosted checkout, receive a webhook,
and turn its events into the domain actions (`confirm_donation`, `fail_donation`,
`refund_donation`) — each at most once, however often the provider or a worker retries.

A webhook is verified, stored raw in `core.InboundWebhook` (its own transaction, before we
answer 200), then processed by the `process_webhook` task after commit. Processing holds the
row's lock, so two workers never apply it together, and sets `processed_at` in the same
transaction as the bookings; a failure rolls the bookings back and leaves `error` on the row
for the periodic retry.
"""

import dataclasses
import datetime
import hashlib
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Conflict, Invalid
from solidaria.core.models import InboundWebhook, Organization
from solidaria.fundraising import actions
from solidaria.fundraising.models import (
    Donation,
    Method,
    PaymentProvider,
    RecurringPlan,
)
from solidaria.fundraising.payments import gateway_for
from solidaria.fundraising.payments.base import (
    BadSignature,
    CheckoutRequest,
    EventStatus,
    NotConfigured,
    PaymentEvent,
    UnknownPayment,
)
from solidaria.fundraising.queries import refunded_under

logger = logging.getLogger(__name__)

WEBHOOK_ACTOR = Actor.system("webhook")
CARD_METHODS = frozenset({Method.STRIPE, Method.MOLLIE})
# Headers never stored with a webhook: credentials a caller may have sent along.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-csrftoken"})
MAX_WEBHOOK_ATTEMPTS = 10


class PaymentMismatch(Exception):
    """The provider reports a payment that does not match our gift (amount or currency)."""


def webhook_url_for(org: Organization, kind: str) -> str:
    """Where the provider must post: what staff paste into Stripe's dashboard, too."""
    path = reverse(f"fundraising_webhooks:{kind}", kwargs={"org_slug": org.slug})
    return settings.BASE_URL + path


def card_provider(org: Organization, kind: str) -> PaymentProvider | None:
    return PaymentProvider.objects.filter(organization=org, kind=kind, enabled=True).first()


def description_for(donation: Donation) -> str:
    with translation.override(donation.language or donation.organization.language or "en"):
        return _("Donation to %(org)s") % {"org": donation.organization.name}


# -- the donor's checkout ---------------------------------------------------------------------


def begin_hosted_checkout(
    *, donation: Donation, actor: Actor, success_url: str, cancel_url: str
) -> str:
    """Open the provider's hosted checkout for a pending card gift; returns its URL.

    Stores the checkout's id in `donation.provider_id` (a new checkout for the same gift
    replaces the old one, whose later events then change nothing). When the gift belongs to
    a recurring plan paid the same way, the card is saved for the plan's later charges.
    Errors: Conflict when the gift is not pending; Invalid for a method without a card
    provider or one the organization has not set up; ProviderError (502) when the provider
    refuses or cannot be reached.
    """
    org = donation.organization
    if donation.status != Donation.Status.PENDING:
        raise Conflict(_("Only a pending gift can be paid."))
    if donation.method not in CARD_METHODS:
        raise Invalid(_("This gift is not paid by card."), field="method")
    provider = card_provider(org, donation.method)
    if provider is None:
        raise Invalid(_("This payment method is not set up."), field="method")
    try:
        gateway = gateway_for(provider)
    except NotConfigured as error:
        raise Invalid(_("This payment method is not set up."), field="method") from error
    email = donation.contact.emails.values_list("email", flat=True).first() or ""
    plan = donation.plan
    checkout = gateway.create_checkout(
        CheckoutRequest(
            public_ref=donation.public_ref,
            amount_minor=donation.amount_minor,
            currency=donation.currency,
            description=description_for(donation),
            success_url=success_url,
            cancel_url=cancel_url,
            webhook_url=webhook_url_for(org, provider.kind),
            customer_email=email,
            locale=donation.language or org.language,
            save_for_recurring=plan is not None and plan.method == donation.method,
        )
    )
    with transaction.atomic():
        locked = Donation.objects.select_for_update().get(pk=donation.pk)
        if locked.status != Donation.Status.PENDING:
            raise Conflict(_("Only a pending gift can be paid."))
        locked.provider_id = checkout.provider_id[:100]
        locked.save(update_fields=["provider_id"])
        donation.provider_id = locked.provider_id
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.checkout.started",
            subject=locked,
            extra={"provider": provider.kind},
        )
    return checkout.redirect_url


# -- receiving a webhook ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Received:
    webhook: InboundWebhook | None  # None: nothing for us in it (not stored)
    duplicate: bool = False


def storable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def receive_webhook(*, provider: PaymentProvider, body: bytes, headers: dict[str, str]) -> Received:
    """Verify, store raw, and enqueue processing after commit.

    Raises BadSignature (nothing stored), NotConfigured, UnknownPayment (Mollie does not
    know the id: nothing stored) and ProviderError (Mollie unreachable: the provider retries).
    """
    from solidaria.fundraising.tasks import process_webhook

    events = gateway_for(provider).parse_webhook(body=body, headers=headers)
    if not events:
        # Event types we do not act on are not kept: they may carry personal data.
        return Received(webhook=None)
    key = events[0].event_id or "sha256:" + hashlib.sha256(body).hexdigest()
    org = provider.organization
    lookup = {"organization": org, "source": provider.kind, "dedupe_key": key[:200]}
    try:
        with transaction.atomic():
            row, created = InboundWebhook.objects.get_or_create(
                **lookup, defaults={"headers": storable_headers(headers), "body": body}
            )
    except IntegrityError:
        # The same delivery raced us in another process: it is stored; process it there.
        row, created = InboundWebhook.objects.get(**lookup), False
    if not created and row.processed_at is not None:
        return Received(webhook=row, duplicate=True)
    webhook_id = row.pk
    transaction.on_commit(lambda: process_webhook.enqueue(webhook_id))
    return Received(webhook=row, duplicate=not created)


def process_webhook(*, webhook_id: int) -> bool:
    """Apply a stored webhook's events once; True when this call applied them.

    A failure records `error` and `attempts` on the row and re-raises (the task fails, the
    periodic retry picks the row up again).
    """
    row = InboundWebhook.objects.select_related("organization").filter(pk=webhook_id).first()
    if row is None or row.processed_at is not None:
        return False
    try:
        provider = PaymentProvider.objects.get(organization=row.organization, kind=row.source)
        # Verified when it was stored; Mollie's state is re-fetched all the same.
        events = gateway_for(provider).parse_webhook(
            body=bytes(row.body), headers=row.headers, verify=False
        )
        with transaction.atomic():
            locked = InboundWebhook.objects.select_for_update().get(pk=row.pk)
            if locked.processed_at is not None:
                return False
            for event in events:
                apply_event(org=row.organization, event=event)
            locked.processed_at = timezone.now()
            locked.attempts = F("attempts") + 1
            locked.error = ""
            locked.save(update_fields=["processed_at", "attempts", "error"])
    except UnknownPayment:
        InboundWebhook.objects.filter(pk=row.pk, processed_at__isnull=True).update(
            processed_at=timezone.now(), attempts=F("attempts") + 1, error="unknown payment"
        )
        return False
    except Exception as error:
        logger.exception("webhook %s failed", webhook_id)
        InboundWebhook.objects.filter(pk=row.pk, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    return True


def webhooks_to_retry(*, older_than: datetime.timedelta) -> list[int]:
    """Stored webhooks whose processing failed (or never ran), for the periodic retry."""
    cutoff = timezone.now() - older_than
    return list(
        InboundWebhook.objects.filter(
            source__in=[PaymentProvider.Kind.STRIPE, PaymentProvider.Kind.MOLLIE],
            processed_at__isnull=True,
            received_at__lte=cutoff,
            attempts__lt=MAX_WEBHOOK_ATTEMPTS,
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )


def prune_webhooks(*, older_than: datetime.timedelta) -> int:
    """Delete processed payment webhooks received before `older_than` ago; their raw bodies
    may name the donor (Stripe sends the payer's email). Providers stop retrying a delivery
    within days, so old rows are no longer needed to recognise a repeat. Returns the count."""
    cutoff = timezone.now() - older_than
    deleted, _ = InboundWebhook.objects.filter(
        source__in=[PaymentProvider.Kind.STRIPE, PaymentProvider.Kind.MOLLIE],
        processed_at__isnull=False,
        received_at__lt=cutoff,
    ).delete()
    return deleted


# -- events to domain actions -----------------------------------------------------------------


def _find_donation(org: Organization, event: PaymentEvent) -> Donation | None:
    rows = Donation.objects.select_for_update().filter(organization=org)
    if event.public_ref:
        found = rows.filter(public_ref=event.public_ref).first()
        if found is not None:
            return found
    ids = [i for i in (event.provider_id, event.checkout_id) if i]
    return rows.filter(provider_id__in=ids).first() if ids else None


def apply_event(*, org: Organization, event: PaymentEvent) -> None:
    """One provider event on our books. Call inside a transaction."""
    donation = _find_donation(org, event)
    if donation is None:
        # A payment of the same provider account made by something else than Solidaria.
        logger.info("no gift for %s event %s", event.status, event.provider_id)
        return
    if event.status == EventStatus.PAID:
        _paid(donation, event)
    elif event.status == EventStatus.PENDING:
        _remember_payment_method(donation, event)
    elif event.status in (EventStatus.FAILED, EventStatus.EXPIRED, EventStatus.CANCELED):
        _failed(donation, event)
    elif event.status in (EventStatus.REFUNDED, EventStatus.CHARGED_BACK):
        _money_back(donation, event)


def _paid(donation: Donation, event: PaymentEvent) -> None:
    if event.amount_minor is not None and (
        event.amount_minor != donation.amount_minor
        or (event.currency and event.currency != donation.currency)
    ):
        raise PaymentMismatch(
            f"{donation.public_ref}: paid {event.amount_minor} {event.currency}, "
            f"expected {donation.amount_minor} {donation.currency}"
        )
    confirming = donation.status == Donation.Status.PENDING
    if confirming:
        actions.confirm_donation(
            donation=donation,
            actor=WEBHOOK_ACTOR,
            received_at=timezone.now(),
            provider_id=event.provider_id,
        )
    elif donation.status != Donation.Status.CONFIRMED:
        # Paid after we gave up on it (e.g. an expired checkout): staff must look.
        raise Conflict(f"{donation.public_ref} is {donation.status} but the provider says paid")
    # The checkout's id gives way to the payment's own (Stripe's PaymentIntent): refunds and
    # charge-backs name the payment. The payment that confirmed the gift wins, even when the
    # donor paid in an older checkout than the last one opened.
    new_id = event.provider_id[:100]
    replaceable = confirming or donation.provider_id in ("", event.checkout_id)
    if new_id and donation.provider_id != new_id and replaceable:
        Donation.objects.filter(pk=donation.pk).update(provider_id=new_id)
        donation.provider_id = new_id
    _remember_payment_method(donation, event)
    if donation.plan_id is not None:
        from solidaria.fundraising.recurring import record_collection_success

        record_collection_success(plan=donation.plan, actor=WEBHOOK_ACTOR)


def _remember_payment_method(donation: Donation, event: PaymentEvent) -> None:
    """A plan's first card payment: keep the customer and saved card (or Mollie mandate)."""
    if donation.plan_id is None or not (event.customer_id or event.mandate_id):
        return
    plan = RecurringPlan.objects.select_for_update().get(pk=donation.plan_id)
    if plan.method != donation.method:
        return
    changed = []
    if event.customer_id and not plan.provider_customer_id:
        plan.provider_customer_id = event.customer_id[:100]
        changed.append("provider_customer_id")
    # A saved card belongs to its customer: never pair it with another one.
    same_customer = event.customer_id in ("", plan.provider_customer_id)
    if event.mandate_id and not plan.provider_mandate_id and same_customer:
        plan.provider_mandate_id = event.mandate_id[:100]
        changed.append("provider_mandate_id")
    if not changed:
        return
    if donation.collection_date is None:
        # The first gift was this checkout: the schedule starts one period after it.
        today = timezone.localdate()
        while plan.next_due is not None and plan.next_due <= today:
            plan.next_due = actions.next_due_after(plan)
            changed.append("next_due")
    plan.save(update_fields=sorted(set(changed)))
    audit.record(
        org=plan.organization,
        actor=WEBHOOK_ACTOR,
        code="fundraising.plan.payment_method_saved",
        subject=plan,
        extra={"donation": donation.pk},
    )


def _failed(donation: Donation, event: PaymentEvent) -> None:
    if donation.status != Donation.Status.PENDING:
        return
    # An old checkout of a gift that was handed a new one says nothing about the new one.
    if donation.provider_id and donation.provider_id not in (event.provider_id, event.checkout_id):
        return
    reason = event.failure_reason or str(event.status)
    actions.fail_donation(donation=donation, actor=WEBHOOK_ACTOR, reason=reason)
    if donation.plan_id is not None and donation.collection_date is not None:
        from solidaria.fundraising.recurring import record_collection_failure

        record_collection_failure(plan=donation.plan, reason_code=reason, actor=WEBHOOK_ACTOR)


def _money_back(donation: Donation, event: PaymentEvent) -> None:
    """Refunds and charge-backs: book what the provider's running total adds to ours."""
    if donation.status != Donation.Status.CONFIRMED or not event.refund_id:
        return
    prefix = event.refund_id.rsplit(":", 1)[0] + ":"
    booked = refunded_under(donation=donation, prefix=prefix)
    left = donation.amount_minor - donation.refunded_minor
    amount = min(event.refunded_minor - booked, left)
    if amount > 0:
        reason = "charge-back" if event.status == EventStatus.CHARGED_BACK else "refund"
        if event.failure_reason:
            reason = f"{reason}: {event.failure_reason}"
        actions.refund_donation(
            donation=donation,
            actor=WEBHOOK_ACTOR,
            amount_minor=amount,
            reason=reason,
            provider_id=event.refund_id,
        )
    # Only when this call booked it: Mollie repeats a payment's charge-back in every later
    # state, and a plan staff resumed must stay resumed.
    if amount > 0 and event.status == EventStatus.CHARGED_BACK and donation.plan_id is not None:
        # A donor who disputes a recurring charge must not be charged again until staff
        # have spoken with them.
        plan = RecurringPlan.objects.select_for_update().get(pk=donation.plan_id)
        if plan.status == RecurringPlan.Status.ACTIVE:
            plan.status = RecurringPlan.Status.PAUSED
            plan.last_failure_reason = "charge-back"
            plan.save(update_fields=["status", "last_failure_reason"])
            audit.record(
                org=plan.organization,
                actor=WEBHOOK_ACTOR,
                code="fundraising.plan.paused",
                subject=plan,
                extra={"reason": "charge-back", "donation": donation.pk},
            )


__all__ = [
    "BadSignature",
    "PaymentMismatch",
    "Received",
    "apply_event",
    "begin_hosted_checkout",
    "process_webhook",
    "receive_webhook",
    "webhook_url_for",
]
