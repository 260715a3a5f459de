"""Figures for the dashboard."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from solidaria.core.models import Organization
from solidaria.people.models import Activity, Contact, ContactRole


@dataclass(frozen=True)
class DashboardSummary:
    contacts: int
    new_last_30_days: int
    roles: dict[str, int]
    recent_activities: list[Activity]


def dashboard_summary(*, org: Organization) -> DashboardSummary:
    contacts = Contact.objects.filter(organization=org, erased_at__isnull=True)
    since = timezone.now() - timedelta(days=30)
    roles = dict(
        ContactRole.objects.filter(organization=org)
        .values_list("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )
    recent = list(
        Activity.objects.filter(organization=org)
        .select_related("contact", "actor")
        .order_by("-occurred_at", "-id")[:10]
    )
    return DashboardSummary(
        contacts=contacts.count(),
        new_last_30_days=contacts.filter(created_at__gte=since).count(),
        roles=roles,
        recent_activities=recent,
    )
