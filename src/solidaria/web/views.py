"""The front door and each organization's dashboard."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from solidaria.core.models import Membership
from solidaria.web import queries
from solidaria.web.access import org_view


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the dashboard when the person works for one organization; else a choice."""
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    if len(memberships) == 1:
        return redirect("web:dashboard", memberships[0].organization.slug)
    return render(request, "web/home.html", {"memberships": memberships})


@org_view("contacts.view")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/dashboard.html",
        {"nav": "dashboard", "summary": queries.dashboard_summary(org=request.org)},  # type: ignore[attr-defined]
    )
