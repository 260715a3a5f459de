"""Administration pages of an organization: audit log, staff, API tokens and settings.

Every view is reached through `@org_view`, so `request.org`, `request.membership` and
`request.actor` are set, and another organization's pages and rows answer 404.
"""

import csv
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from solidaria.core import actions, queries
from solidaria.core.access import user_has_mfa
from solidaria.core.errors import Conflict, Invalid, NotFound
from solidaria.core.forms import (
    AddStaffForm,
    AuditFilterForm,
    OrganizationSettingsForm,
    RoleForm,
    TokenForm,
)
from solidaria.core.models import AuditEvent
from solidaria.core.roles import role_allows
from solidaria.web.access import org_view

AUDIT_PAGE_SIZE = 50
TOKENS_PAGE_SIZE = 50


@org_view("audit.view")
def audit(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    form = AuditFilterForm(request.GET or None, org=org)
    page = None
    if not form.is_bound or form.is_valid():
        filters = form.filters() if form.is_bound else queries.AuditFilters()
        events = queries.audit_events_for(org=org, filters=filters)
        page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"nav": "audit", "form": form, "page": page})


@org_view("audit.view")
def audit_csv(request: HttpRequest) -> HttpResponse:
    """The filtered audit log as CSV, streamed so a long history never sits in memory."""
    org = request.org  # type: ignore[attr-defined]
    form = AuditFilterForm(request.GET, org=org)
    if not form.is_valid():
        return HttpResponse(
            _("The filters are not valid."), status=400, content_type="text/plain; charset=utf-8"
        )
    events = queries.audit_events_for(org=org, filters=form.filters())
    today = timezone.localdate(timezone=ZoneInfo(org.time_zone))
    name = f"audit-{org.slug}-{today:%Y-%m-%d}.csv"
    response = StreamingHttpResponse(
        _audit_csv_rows(events.iterator(chunk_size=2000), time_zone=org.time_zone),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell starting with these as a formula (CSV injection).
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def _audit_csv_rows(events: Iterator[AuditEvent], *, time_zone: str) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(["at", "code", "actor", "via", "subject_type", "subject_id", "extra"])
    zone = ZoneInfo(time_zone)
    for event in events:
        yield writer.writerow(
            _cell(value)
            for value in (
                event.at.astimezone(zone).isoformat(),
                event.code,
                event.actor.email if event.actor else "",
                event.via,
                event.subject_type,
                event.subject_id,
                json.dumps(event.extra, sort_keys=True, ensure_ascii=False) if event.extra else "",
            )
        )


@org_view("staff.manage")
def staff(request: HttpRequest) -> HttpResponse:
    """The staff list, and the form to add someone (posted here)."""
    org, actor = request.org, request.actor  # type: ignore[attr-defined]
    form = AddStaffForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = actions.add_staff(
                org=org,
                actor=actor,
                email=data["email"],
                role=data["role"],
                password=data["password"] or None,
                full_name=data["full_name"],
            )
        except (Conflict, Invalid) as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": membership.user.email, "role": membership.get_role_display()},
            )
            return redirect("core:staff", org.slug)
    members = list(queries.staff_for(org=org))
    rows = [
        (member, RoleForm(initial={"role": member.role}, auto_id=f"role-{member.pk}-%s"))
        for member in members
    ]
    return render(
        request,
        "core/staff.html",
        {
            "nav": "staff",
            "rows": rows,
            "form": form,
            "i_have_mfa": any(m.has_mfa for m in members if m.pk == request.membership.pk),  # type: ignore[attr-defined]
        },
        status=400 if form.errors else 200,
    )


@org_view("staff.manage")
@require_POST
def staff_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    org, actor = request.org, request.actor  # type: ignore[attr-defined]
    member = _staff_member_or_404(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect("core:staff", org.slug)
    try:
        member = actions.change_staff_role(
            org=org, actor=actor, membership_id=member.pk, role=form.cleaned_data["role"]
        )
    except Conflict as error:
        messages.error(request, _last_admin_message(error))
        return redirect("core:staff", org.slug)
    messages.success(
        request,
        _("%(name)s is now %(role)s.") % {"name": member.user, "role": member.get_role_display()},
    )
    if member.pk == request.membership.pk and not role_allows(member.role, "staff.manage"):  # type: ignore[attr-defined]
        return redirect("web:dashboard", org.slug)
    return redirect("core:staff", org.slug)


@org_view("staff.manage")
def staff_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Asks to confirm (GET), then removes the person and revokes their tokens (POST)."""
    org, actor = request.org, request.actor  # type: ignore[attr-defined]
    member = _staff_member_or_404(request, membership_id)
    if request.method == "POST":
        try:
            actions.remove_staff(org=org, actor=actor, membership_id=member.pk)
        except Conflict as error:
            messages.error(request, _last_admin_message(error))
            return redirect("core:staff", org.slug)
        messages.success(
            request, _("%(name)s no longer works for %(org)s.") % {"name": member.user, "org": org}
        )
        if member.pk == request.membership.pk:  # type: ignore[attr-defined]
            return redirect("web:home")
        return redirect("core:staff", org.slug)
    return render(
        request,
        "core/staff_remove.html",
        {"nav": "staff", "member": member, "is_me": member.pk == request.membership.pk},  # type: ignore[attr-defined]
    )


def _posted(request: HttpRequest) -> Any:
    # Not `request.POST or None`: a form whose only field is an unticked box posts nothing.
    return request.POST if request.method == "POST" else None


def _staff_member_or_404(request: HttpRequest, membership_id: int) -> Any:
    try:
        return queries.staff_member_for(org=request.org, membership_id=membership_id)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None


def _last_admin_message(error: Conflict) -> str:
    return _("%(reason)s Make someone else an admin first.") % {"reason": error.message}


@never_cache  # the page that answers a creation holds the only copy of the secret
@org_view("tokens.own")
def tokens(request: HttpRequest) -> HttpResponse:
    """Tokens of the current user (all of the organization's for admins); create one."""
    org, actor = request.org, request.actor  # type: ignore[attr-defined]
    manages = role_allows(request.membership.role, "tokens.manage")  # type: ignore[attr-defined]
    form = TokenForm(_posted(request))
    created = secret = None
    if request.method == "POST" and form.is_valid():
        # The secret goes into this response only: never into the session, a message or a log.
        created, secret = actions.create_api_token(
            org=org, actor=actor, user=request.user, name=form.cleaned_data["name"]
        )
        form = TokenForm()
    listed = queries.api_tokens_for(org=org, user=None if manages else request.user)
    page = Paginator(listed, TOKENS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "core/tokens.html",
        {
            "nav": "tokens",
            "form": form,
            "page": page,
            "manages": manages,
            "created": created,
            "secret": secret,
        },
        status=400 if form.errors else 200,
    )


@org_view("tokens.own")
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Asks to confirm (GET), then revokes (POST). Non-admins reach only their own tokens."""
    org, actor = request.org, request.actor  # type: ignore[attr-defined]
    manages = role_allows(request.membership.role, "tokens.manage")  # type: ignore[attr-defined]
    only_user = None if manages else request.user
    try:
        token = queries.api_token_for(org=org, token_id=token_id, only_user=only_user)
    except NotFound:
        raise Http404 from None
    if request.method == "POST":
        actions.revoke_api_token(org=org, actor=actor, token_id=token.pk, only_user=only_user)
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
        return redirect("core:tokens", org.slug)
    return render(request, "core/token_revoke.html", {"nav": "tokens", "token": token})


@org_view("staff.manage")
def organization_settings(request: HttpRequest) -> HttpResponse:
    org, actor = request.org, request.actor  # type: ignore[attr-defined]
    form = OrganizationSettingsForm(_posted(request), initial={"require_mfa": org.require_mfa})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["require_mfa"] != org.require_mfa:
            actions.update_organization_settings(
                org=org, actor=actor, require_mfa=form.cleaned_data["require_mfa"]
            )
            messages.success(request, _("The settings are saved."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("core:settings", org.slug)
    return render(
        request,
        "core/settings.html",
        {
            "nav": "settings",
            "form": form,
            "language_name": settings.LANGUAGE_NAMES.get(org.language, org.language),
            "i_have_mfa": user_has_mfa(request.user),  # type: ignore[arg-type]
        },
    )
