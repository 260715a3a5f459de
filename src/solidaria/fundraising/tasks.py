"""Fundraising's background work: webhook processing and the recurring schedule.

Tasks are thin: they call `payments.processing` and `recurring`, which are idempotent, so a
task that runs twice (a retry, two workers) changes nothing the second time.
"""

import datetime
import logging
import zoneinfo

from django.utils import timezone
from django_tasks import task

from solidaria.core import periodic
from solidaria.core.models import Organization
from solidaria.fundraising import (
    recurring,
    selfservice,  # noqa: F401  (registers its periodic purge)
)
from solidaria.fundraising.models import RecurringPlan
from solidaria.fundraising.payments import processing

logger = logging.getLogger(__name__)


@task()
def process_webhook(webhook_id: int) -> bool:
    """Apply one stored payment webhook (see `payments.processing.process_webhook`)."""
    return processing.process_webhook(webhook_id=webhook_id)


def _local_today(org: Organization) -> datetime.date:
    try:
        zone = zoneinfo.ZoneInfo(org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    return timezone.localdate(timezone=zone)


@periodic.every(datetime.timedelta(hours=1), name="fundraising.run_due_plans")
def run_due_plans() -> None:
    """Each organization's plans due today in its own time zone (hourly, so a new day is
    caught within the hour wherever the organization is)."""
    # No time zone is more than a day ahead of UTC.
    horizon = timezone.now().date() + datetime.timedelta(days=1)
    org_ids = (
        RecurringPlan.objects.filter(status=RecurringPlan.Status.ACTIVE, next_due__lte=horizon)
        .values_list("organization_id", flat=True)
        .distinct()
    )
    pending_org_ids = recurring.orgs_with_uncharged_gifts()
    for org in Organization.objects.filter(pk__in={*org_ids, *pending_org_ids}).order_by("pk"):
        try:
            result = recurring.run_due_plans(org=org, today=_local_today(org))
        except Exception:
            logger.exception("recurring plans of %s failed", org.slug)
            continue
        if result.created or result.charged or result.declined:
            logger.info("recurring plans of %s: %s", org.slug, result)


@periodic.every(datetime.timedelta(minutes=15), name="fundraising.retry_webhooks")
def retry_webhooks() -> None:
    """Payment webhooks whose processing failed (or whose task was lost) are tried again."""
    for webhook_id in processing.webhooks_to_retry(older_than=datetime.timedelta(minutes=15)):
        process_webhook.enqueue(webhook_id)


WEBHOOK_RETENTION = datetime.timedelta(days=90)


@periodic.every(datetime.timedelta(days=1), name="fundraising.prune_webhooks")
def prune_webhooks() -> None:
    """Processed payment webhooks are kept 90 days (for staff to inspect), then deleted."""
    processing.prune_webhooks(older_than=WEBHOOK_RETENTION)
