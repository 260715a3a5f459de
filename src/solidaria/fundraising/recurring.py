"""The recurring schedule: each due plan gets its pending gift, and card plans are charged.

`run_due_plans` is run every hour by the worker (`tasks.py`) and is safe to run anywhere,
any number of times, at once: each plan is claimed with `select_for_update(skip_locked=True)`
(PostgreSQL; SQLite serializes writers anyway), its gift for the due date and the move of
`next_due` are written in one transaction, and a plan never gets two gifts for one due date.
Card charges are made after that commit, with an idempotency key per gift, so a worker that
crashes between the provider's answer and our write charges nobody twice on the re-run.

Per method: SEPA — a pending debit with its `collection_date`, FRST until the mandate's
first collection went through and RCUR after, and a unique end-to-end id as
`payment_reference` (the SEPA export and bank statements take it from there). Stripe/Mollie —
a pending gift charged off-session; the provider's webhook confirms it. Bank transfer — a
pending gift with its payment reference (the reminder email is the mail module's).

Failures (`record_collection_failure`): cards are retried 3 times, 3 days apart, then the
plan is paused; SEPA AM04/MS03 (and other temporary returns) wait for the next collection
and pause the plan after 3 in a row; MD01/MD06/AC04/AC06/AG01/MS02 (and AC01, MD07) end the
mandate: the plan is cancelled.
"""

import dataclasses
import datetime
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import DomainError
from solidaria.core.models import Organization
from solidaria.fundraising import actions, sepa
from solidaria.fundraising.models import Donation, Frequency, Method, RecurringPlan
from solidaria.fundraising.payments import gateway_for
from solidaria.fundraising.payments.base import ChargeDeclined, NotConfigured, ProviderError
from solidaria.fundraising.payments.processing import (
    card_provider,
    description_for,
    webhook_url_for,
)

logger = logging.getLogger(__name__)

WORKER = Actor.system("worker")
CARD_METHODS = frozenset({Method.STRIPE, Method.MOLLIE})
CARD_RETRIES = 3
CARD_RETRY_INTERVAL = datetime.timedelta(days=3)
SEPA_MAX_FAILURES = 3
# R-transaction reasons that end the mandate: no (valid) mandate, the debtor asked for the
# refund, account closed/blocked/wrong, debits refused, the debtor deceased.
SEPA_FINAL_REASONS = frozenset({"MD01", "MD06", "AC04", "AC06", "AG01", "MS02", "AC01", "MD07"})


@dataclasses.dataclass
class RunResult:
    created: int = 0  # pending gifts created for a due date (or a card retry)
    charged: int = 0  # off-session charges the provider accepted
    declined: int = 0
    skipped: int = 0  # due plans that cannot be collected yet (no saved card)


def run_due_plans(*, org: Organization | None = None, today: datetime.date) -> RunResult:
    """Create the gifts of every active plan due on or before `today`, then charge cards.

    One gift per plan and run: a plan several periods behind catches up one period per run.
    Idempotent: a second run the same day creates and charges nothing.
    """
    result = RunResult()
    # One-off SEPA mandates have no next date, and are excluded outright so that a date set
    # on one by mistake can never make the schedule debit the donor a second time.
    plans = RecurringPlan.objects.filter(
        status=RecurringPlan.Status.ACTIVE, next_due__lte=today
    ).exclude(frequency=Frequency.ONCE)
    if org is not None:
        plans = plans.filter(organization=org)
    for plan_id in plans.order_by("next_due", "pk").values_list("pk", flat=True):
        outcome = _collect(plan_id, today)
        if outcome == "created":
            result.created += 1
        elif outcome == "skipped":
            result.skipped += 1
    result.created += _schedule_card_retries(org=org, today=today)
    charged, declined = _charge_cards(org=org, today=today)
    result.charged += charged
    result.declined += declined
    return result


def _card_ready(plan: RecurringPlan) -> bool:
    if plan.method == Method.STRIPE:
        return bool(plan.provider_customer_id and plan.provider_mandate_id)
    if plan.method == Method.MOLLIE:
        return bool(plan.provider_customer_id)
    return True


def _covered(plan: RecurringPlan, due: datetime.date, following: datetime.date) -> bool:
    """Has the plan a gift for the period [due, following) already? (e.g. the donor's first
    gift, made on the donation page, or the gift of a run that crashed after writing it)."""
    return plan.donations.filter(
        Q(collection_date__gte=due, collection_date__lt=following)
        | Q(collection_date__isnull=True, created_at__date__gte=due, created_at__date__lt=following)
    ).exists()


def _claim(plan_id: int, **conditions: object) -> RecurringPlan | None:
    return (
        RecurringPlan.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("organization", "contact", "fund", "campaign")
        .filter(pk=plan_id, status=RecurringPlan.Status.ACTIVE, **conditions)
        .exclude(frequency=Frequency.ONCE)
        .first()
    )


def _collect(plan_id: int, today: datetime.date) -> str:
    try:
        with transaction.atomic():
            plan = _claim(plan_id, next_due__lte=today)
            if plan is None:
                return "busy"  # another worker has it, or it is no longer due
            if plan.method in CARD_METHODS and not _card_ready(plan):
                # No saved card yet: the first payment (the donor's checkout) is still open.
                return "skipped"
            due = plan.next_due
            assert due is not None
            following = actions.next_due_after(plan)
            created = False
            if not _covered(plan, due, following):
                _new_gift(plan, collection_date=due)
                created = True
            plan.next_due = following
            plan.save(update_fields=["next_due"])
            return "created" if created else "covered"
    except DomainError as error:
        # E.g. the donor's data was erased or the fund archived: not collectable as it is.
        logger.warning("plan %s cannot be collected: %s", plan_id, error)
        _pause(plan_id, reason=str(error.message))
        return "skipped"


def _new_gift(plan: RecurringPlan, *, collection_date: datetime.date) -> Donation:
    org = plan.organization
    donation = actions.start_donation(
        org=org,
        actor=WORKER,
        contact=plan.contact,
        amount_minor=plan.amount_minor,
        currency=plan.currency,
        fund=plan.fund,
        method=plan.method,
        frequency=plan.frequency,
        campaign=plan.campaign,
        language=plan.language,
        plan=plan,
    )
    donation.collection_date = collection_date
    fields = ["collection_date"]
    if plan.method == Method.SEPA:
        donation.sepa_sequence = "RCUR" if plan.first_collected else "FRST"
        donation.payment_reference = _new_end_to_end_id(org)
        fields += ["sepa_sequence", "payment_reference"]
    donation.save(update_fields=fields)
    audit.record(
        org=org,
        actor=WORKER,
        code="fundraising.plan.collection_scheduled",
        subject=plan,
        extra={"donation": donation.pk, "collection_date": collection_date.isoformat()},
    )
    return donation


def _new_end_to_end_id(org: Organization) -> str:
    while True:
        ref = sepa.make_end_to_end_id()
        if not Donation.objects.filter(organization=org, payment_reference=ref).exists():
            return ref


def _pause(plan_id: int, *, reason: str) -> None:
    with transaction.atomic():
        plan = RecurringPlan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None or plan.status != RecurringPlan.Status.ACTIVE:
            return
        plan.status = RecurringPlan.Status.PAUSED
        plan.last_failure_reason = reason[:200]
        plan.save(update_fields=["status", "last_failure_reason"])
        audit.record(
            org=plan.organization,
            actor=WORKER,
            code="fundraising.plan.paused",
            subject=plan,
            extra={"reason": reason[:200]},
        )


def _schedule_card_retries(*, org: Organization | None, today: datetime.date) -> int:
    """A card plan whose last charge failed gets a new attempt 3 days after it."""
    plans = RecurringPlan.objects.filter(
        status=RecurringPlan.Status.ACTIVE,
        method__in=CARD_METHODS,
        failures__gte=1,
        failures__lte=CARD_RETRIES,
    )
    if org is not None:
        plans = plans.filter(organization=org)
    created = 0
    for plan_id in plans.values_list("pk", flat=True):
        with transaction.atomic():
            plan = _claim(plan_id, failures__gte=1, failures__lte=CARD_RETRIES)
            if plan is None:
                continue
            last = (
                plan.donations.filter(collection_date__isnull=False)
                .order_by("-collection_date", "-pk")
                .first()
            )
            if last is None or last.status != Donation.Status.FAILED:
                continue
            retry_on = last.collection_date + CARD_RETRY_INTERVAL
            if retry_on > today or plan.donations.filter(collection_date=retry_on).exists():
                continue
            _new_gift(plan, collection_date=retry_on)
            created += 1
    return created


def _charge_cards(*, org: Organization | None, today: datetime.date) -> tuple[int, int]:
    """Charge the pending card gifts of plans that have not been sent to the provider yet."""
    gifts = Donation.objects.filter(
        status=Donation.Status.PENDING,
        method__in=CARD_METHODS,
        plan__isnull=False,
        provider_id="",
        collection_date__lte=today,
    ).select_related("plan", "organization")
    if org is not None:
        gifts = gifts.filter(organization=org)
    charged = declined = 0
    for donation in gifts.order_by("collection_date", "pk"):
        outcome = charge_gift(donation)
        charged += outcome == "charged"
        declined += outcome == "declined"
    return charged, declined


def charge_gift(donation: Donation) -> str:
    """Send one pending plan gift to the card provider (outside any transaction: the provider
    is slow, and its webhook may arrive before we return). 'charged', 'declined' or 'later'."""
    plan = donation.plan
    assert plan is not None
    org = donation.organization
    provider = card_provider(org, donation.method)
    if provider is None or plan.status != RecurringPlan.Status.ACTIVE:
        return "later"
    try:
        provider_id = gateway_for(provider).charge_recurring(
            customer_id=plan.provider_customer_id,
            mandate_id=plan.provider_mandate_id,
            amount_minor=donation.amount_minor,
            currency=donation.currency,
            public_ref=donation.public_ref,
            description=description_for(donation),
            webhook_url=webhook_url_for(org, provider.kind),
        )
    except ChargeDeclined as declined:
        with transaction.atomic():
            locked = Donation.objects.select_for_update().get(pk=donation.pk)
            if locked.status != Donation.Status.PENDING:
                return "declined"  # the provider's webhook got here first
            if declined.provider_id and not locked.provider_id:
                locked.provider_id = declined.provider_id[:100]
                locked.save(update_fields=["provider_id"])
            actions.fail_donation(donation=locked, actor=WORKER, reason=declined.reason)
            record_collection_failure(plan=plan, reason_code=declined.reason, actor=WORKER)
        return "declined"
    except NotConfigured as error:
        logger.warning("gift %s cannot be charged: %s", donation.pk, error.detail)
        return "later"
    except ProviderError as error:
        # Unreachable or refused for now: the next run tries again with the same key.
        logger.warning("charging gift %s failed: %s", donation.pk, error.detail)
        return "later"
    # The webhook may have confirmed it already; it located the gift by its public_ref.
    Donation.objects.filter(pk=donation.pk, provider_id="").update(provider_id=provider_id[:100])
    return "charged"


def record_collection_failure(
    *, plan: RecurringPlan, reason_code: str, actor: Actor = WORKER
) -> RecurringPlan:
    """A collection of `plan` failed for `reason_code` (a SEPA R-code, or a card decline).

    Cards: count it; after the third retry fails (the fourth failure) the plan is paused.
    SEPA: a final reason (MD01, MD06, AC04, AC06, AG01, MS02, AC01, MD07) cancels the plan;
    any other (AM04, MS03, …) waits for the next collection and the third in a row pauses
    the plan. A mandate with no collection that went through starts with FRST again.
    Bank transfer: counted only. A cancelled plan stays as it is.
    """
    code = (reason_code or "").strip()
    with transaction.atomic():
        locked = RecurringPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status == RecurringPlan.Status.CANCELLED:
            return locked
        locked.last_failure_reason = code[:200]
        fields = ["failures", "last_failure_reason", "status"]
        if locked.method == Method.SEPA:
            code = code.upper()
            locked.last_failure_reason = code[:200]
            if code in SEPA_FINAL_REASONS:
                locked.status = RecurringPlan.Status.CANCELLED
                locked.cancelled_at = timezone.now()
                fields.append("cancelled_at")
            else:
                locked.failures += 1
                if locked.failures >= SEPA_MAX_FAILURES:
                    locked.status = RecurringPlan.Status.PAUSED
            collected = locked.donations.filter(
                status=Donation.Status.CONFIRMED, refunded_minor=0
            ).exists()
            if locked.first_collected and not collected:
                locked.first_collected = False
                fields.append("first_collected")
        else:
            locked.failures += 1
            if locked.method in CARD_METHODS and locked.failures > CARD_RETRIES:
                locked.status = RecurringPlan.Status.PAUSED
        locked.save(update_fields=fields)
        audit.record(
            org=locked.organization,
            actor=actor,
            code="fundraising.plan.collection_failed",
            subject=locked,
            extra={"reason": code[:50], "failures": locked.failures, "status": locked.status},
        )
    plan.refresh_from_db()
    return locked


def record_collection_success(*, plan: RecurringPlan, actor: Actor = WORKER) -> None:
    """A collection of `plan` went through: the count of failures in a row starts again."""
    with transaction.atomic():
        updated = RecurringPlan.objects.filter(pk=plan.pk, failures__gt=0).update(failures=0)
        if updated:
            audit.record(
                org=plan.organization,
                actor=actor,
                code="fundraising.plan.collected",
                subject=plan,
            )
    plan.failures = 0


def orgs_with_uncharged_gifts() -> list[int]:
    """Organizations with plan gifts still waiting to go to the card provider (a provider
    that was down at the last run)."""
    return list(
        Donation.objects.filter(
            status=Donation.Status.PENDING,
            method__in=CARD_METHODS,
            plan__isnull=False,
            provider_id="",
            collection_date__isnull=False,
        )
        .values_list("organization_id", flat=True)
        .distinct()
    )
