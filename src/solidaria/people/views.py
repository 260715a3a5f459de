"""Staff pages for contacts: list and search, the contact page, create and edit, privacy rights.

Every page works as plain HTML forms; with htmx, the search, the timeline and the
relationships update in place (the view answers with the partial when request.htmx).
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from solidaria.core.errors import Invalid, NotFound
from solidaria.core.roles import role_allows
from solidaria.people import access, actions, queries, registry
from solidaria.people.forms import (
    ActivityForm,
    ContactFilterForm,
    ContactForm,
    RelationshipForm,
    apply_invalid,
)
from solidaria.people.models import Contact
from solidaria.web.access import org_view

PAGE_SIZE = 50
CANDIDATES = 50  # contacts offered in the relationship picker


def contact_or_404(request: HttpRequest, contact_id: int) -> Contact:
    """The acting organization's contact; another organization's answers like a missing one."""
    try:
        return access.contact_for(org=request.org, contact_id=contact_id)  # type: ignore[attr-defined]
    except NotFound:
        raise Http404 from None


def wants_partial(request: HttpRequest) -> bool:
    """An htmx swap, not a history restore (which needs the whole page)."""
    htmx = request.htmx  # type: ignore[attr-defined]
    return bool(htmx) and not htmx.history_restore_request


def _allowed(request: HttpRequest, permission: str) -> bool:
    return role_allows(request.membership.role, permission)  # type: ignore[attr-defined]


def _detail_url(request: HttpRequest, contact: Contact, anchor: str = "") -> str:
    url = reverse("people:contact_detail", args=[request.org.slug, contact.pk])  # type: ignore[attr-defined]
    return f"{url}#{anchor}" if anchor else url


@dataclass(frozen=True)
class PanelView:
    """A registered ContactPanel ready to render: its template and the context it asked for."""

    name: str
    template: str
    context: dict[str, Any]


@org_view("contacts.view")
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    form = ContactFilterForm(
        request.GET or None,
        tags=list(queries.tags_for(org=org).values_list("name", flat=True)),
    )
    filters = form.filters()
    contacts = queries.with_details(queries.contacts_for(org=org, filters=filters))
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    partial = wants_partial(request)
    context = {
        "nav": "contacts",
        "form": form,
        "page": page,
        "filtered": form.has_changed(),
        "partial": partial,
    }
    template = "people/_contact_results.html" if partial else "people/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _timeline_context(
    request: HttpRequest, contact: Contact, form: ActivityForm | None = None
) -> dict[str, Any]:
    if form is None and contact.erased_at is None and _allowed(request, "activities.add"):
        form = ActivityForm(initial={"kind": "note", "occurred_at": timezone.now()})
    return {
        "contact": contact,
        "timeline": queries.timeline_for(contact=contact),
        "activity_form": form,
    }


def _candidates(request: HttpRequest, contact: Contact, find: str) -> list[Contact]:
    filters = queries.ContactFilters(q=find)
    found = queries.contacts_for(org=request.org, filters=filters).exclude(pk=contact.pk)  # type: ignore[attr-defined]
    return list(queries.with_details(found)[:CANDIDATES])


def _relationships_context(
    request: HttpRequest, contact: Contact, form: RelationshipForm | None = None, find: str = ""
) -> dict[str, Any]:
    if form is None and contact.erased_at is None and _allowed(request, "contacts.edit"):
        form = RelationshipForm(candidates=_candidates(request, contact, find))
    return {
        "contact": contact,
        "relationships": queries.relationships_for(contact=contact),
        "relationship_form": form,
        "find": find,
    }


def _panels(request: HttpRequest, contact: Contact) -> list[PanelView]:
    views = []
    for panel in registry.panels():
        extra = panel.context(request, contact)
        if extra is not None:
            views.append(PanelView(name=panel.name, template=panel.template, context=extra))
    return views


@org_view("contacts.view")
@require_GET
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_or_404(request, contact_id)
    contact = actions.view_contact(org=request.org, actor=request.actor, contact=contact)  # type: ignore[attr-defined]
    context = {
        "nav": "contacts",
        **_relationships_context(request, contact),
        **_timeline_context(request, contact),
        "panels": _panels(request, contact),
    }
    return render(request, "people/detail.html", context)


@org_view("contacts.edit")
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    form = ContactForm(request.POST if request.method == "POST" else None, org=org)
    if form.is_bound and form.is_valid():
        try:
            contact = actions.create_contact(org=org, actor=request.actor, **form.action_data())  # type: ignore[attr-defined]
        except Invalid as error:
            form.apply_invalid(error)
        else:
            messages.success(request, _("Contact “%(name)s” added.") % {"name": contact.name})
            return redirect(_detail_url(request, contact))
    return render(request, "people/form.html", {"nav": "contacts", "form": form, "contact": None})


@org_view("contacts.edit")
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    contact = contact_or_404(request, contact_id)
    if contact.erased_at is not None:
        messages.error(request, _("This contact was erased and cannot be changed."))
        return redirect(_detail_url(request, contact))
    if request.method == "POST":
        form = ContactForm(request.POST, org=org, contact=queries.load_details(contact))
        if form.is_valid():
            try:
                actions.update_contact(
                    org=org,
                    actor=request.actor,  # type: ignore[attr-defined]
                    contact=contact,
                    **form.action_data(),
                )
            except Invalid as error:
                form.apply_invalid(error)
            else:
                messages.success(request, _("Changes saved."))
                return redirect(_detail_url(request, contact))
    else:
        contact = actions.view_contact(org=org, actor=request.actor, contact=contact)  # type: ignore[attr-defined]
        form = ContactForm(org=org, contact=contact)
    return render(
        request, "people/form.html", {"nav": "contacts", "form": form, "contact": contact}
    )


@org_view("activities.add")
@require_http_methods(["GET", "POST"])
def activity_add(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Add a note, call or meeting; htmx gets the timeline back, a plain form a redirect."""
    contact = contact_or_404(request, contact_id)
    if contact.erased_at is not None:
        messages.error(request, _("This contact was erased and cannot be changed."))
        return redirect(_detail_url(request, contact))
    form = ActivityForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            actions.add_activity(
                org=request.org,  # type: ignore[attr-defined]
                actor=request.actor,  # type: ignore[attr-defined]
                contact=contact,
                kind=form.cleaned_data["kind"],
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                occurred_at=form.cleaned_data["occurred_at"],
            )
        except Invalid as error:
            apply_invalid(form, error)
        else:
            if wants_partial(request):
                context = {**_timeline_context(request, contact), "activity_saved": True}
                return render(request, "people/_timeline.html", context)
            messages.success(request, _("Activity added."))
            return redirect(_detail_url(request, contact, "timeline"))
    if wants_partial(request):
        return render(request, "people/_timeline.html", _timeline_context(request, contact, form))
    return render(
        request, "people/activity_form.html", {"nav": "contacts", "contact": contact, "form": form}
    )


@org_view("contacts.edit")
@require_http_methods(["GET", "POST"])
def relationship_add(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Link this contact to another of the organization, picked from a search."""
    contact = contact_or_404(request, contact_id)
    if contact.erased_at is not None:
        messages.error(request, _("This contact was erased and cannot be changed."))
        return redirect(_detail_url(request, contact))
    find = request.GET.get("find", "").strip()[:200]
    candidates = _candidates(request, contact, find)
    form = RelationshipForm(
        request.POST if request.method == "POST" else None, candidates=candidates
    )
    if form.is_bound and form.is_valid():
        try:
            other = access.contact_for(org=request.org, contact_id=form.cleaned_data["to_contact"])  # type: ignore[attr-defined]
            actions.add_relationship(
                org=request.org,  # type: ignore[attr-defined]
                actor=request.actor,  # type: ignore[attr-defined]
                from_contact=contact,
                to_contact=other,
                kind=form.cleaned_data["kind"],
            )
        except NotFound:
            form.add_error("to_contact", _("Choose a contact of this organization."))
        except Invalid as error:
            apply_invalid(form, error)
        else:
            if wants_partial(request):
                context = {**_relationships_context(request, contact), "relationship_saved": True}
                return render(request, "people/_relationships.html", context)
            messages.success(request, _("Relationship added."))
            return redirect(_detail_url(request, contact, "relationships"))
    if wants_partial(request):
        context = _relationships_context(request, contact, form, find)
        return render(request, "people/_relationships.html", context)
    context = {"nav": "contacts", "contact": contact, "relationship_form": form, "find": find}
    return render(request, "people/relationship_form.html", context)


@org_view("contacts.edit")
@require_GET
def relationship_candidates(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact picker's options for a search (htmx); the full form page without it."""
    contact = contact_or_404(request, contact_id)
    find = request.GET.get("find", "").strip()[:200]
    if not wants_partial(request):
        url = reverse("people:relationship_add", args=[request.org.slug, contact.pk])  # type: ignore[attr-defined]
        return redirect(f"{url}?{urlencode({'find': find})}" if find else url)
    form = RelationshipForm(candidates=_candidates(request, contact, find))
    return render(request, "people/_relationship_candidates.html", {"relationship_form": form})


@org_view("privacy.export")
@never_cache
@require_GET
def contact_export(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Everything held about the contact, as a JSON download (GDPR access and portability)."""
    contact = contact_or_404(request, contact_id)
    data = actions.export_contact(org=request.org, actor=request.actor, contact=contact)  # type: ignore[attr-defined]
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@org_view("privacy.erase")
@require_http_methods(["GET", "POST"])
def contact_erase(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Confirm, then erase the contact's personal data (GDPR right to erasure)."""
    contact = contact_or_404(request, contact_id)
    if request.method == "POST":
        actions.erase_contact(org=request.org, actor=request.actor, contact=contact)  # type: ignore[attr-defined]
        messages.success(request, _("The personal data of this contact was erased."))
        return redirect(_detail_url(request, contact))
    return render(request, "people/erase.html", {"nav": "contacts", "contact": contact})


@org_view("contacts.delete")
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Confirm, then delete the contact and everything attached to it."""
    contact = contact_or_404(request, contact_id)
    if request.method == "POST":
        try:
            actions.delete_contact(org=request.org, actor=request.actor, contact=contact)  # type: ignore[attr-defined]
        except (ProtectedError, RestrictedError):
            messages.error(
                request,
                _(
                    "This contact has records that must be kept, such as donations. "
                    "Erase their personal data instead."
                ),
            )
            return redirect(_detail_url(request, contact))
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
        return redirect("people:contact_list", request.org.slug)  # type: ignore[attr-defined]
    return render(request, "people/delete.html", {"nav": "contacts", "contact": contact})
