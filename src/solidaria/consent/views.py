"""Staff pages for consent: the panel on the contact page, recording an answer, the history."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from solidaria.consent import actions, queries
from solidaria.consent.defaults import purpose_label
from solidaria.consent.forms import ConsentForm
from solidaria.consent.queries import ConsentState
from solidaria.core.errors import Invalid
from solidaria.core.roles import role_allows
from solidaria.people import actions as people_actions
from solidaria.people.forms import apply_invalid
from solidaria.people.models import Channel, Contact
from solidaria.people.views import contact_or_404, wants_partial
from solidaria.web.access import org_view

HISTORY_PAGE_SIZE = 100


@dataclass(frozen=True)
class ConsentRow:
    """One purpose of the panel's table, with its state on each channel in Channel order."""

    purpose: str
    purpose_name: str
    states: list[ConsentState] = field(default_factory=list)


def _rows(contact: Contact) -> list[ConsentRow]:
    rows: dict[str, ConsentRow] = {}
    for state in queries.consent_states_for(contact=contact):
        rows.setdefault(state.purpose, ConsentRow(state.purpose, state.purpose_name))
        rows[state.purpose].states.append(state)
    return list(rows.values())


def _panel_context(
    request: HttpRequest, contact: Contact, form: ConsentForm | None = None
) -> dict[str, Any]:
    may_edit = (
        role_allows(request.membership.role, "consent.edit")  # type: ignore[attr-defined]
        and contact.erased_at is None
    )
    if form is None and may_edit:
        form = ConsentForm(purposes=list(queries.purposes_for(org=request.org)))  # type: ignore[attr-defined]
    return {
        "contact": contact,
        "consent_rows": [] if contact.erased_at else _rows(contact),
        "consent_channels": Channel.choices,
        "consent_form": form if may_edit else None,
    }


def panel_context(request: HttpRequest, contact: Contact) -> dict[str, Any] | None:
    """The consent panel of the contact page (registered in apps.py); hidden without consent.view."""
    if not role_allows(request.membership.role, "consent.view"):  # type: ignore[attr-defined]
        return None
    return _panel_context(request, contact)


@org_view("consent.edit")
@require_http_methods(["GET", "POST"])
def record(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Record a grant or a withdrawal; htmx gets the panel back, a plain form a redirect."""
    contact = contact_or_404(request, contact_id)
    purposes = list(queries.purposes_for(org=request.org))  # type: ignore[attr-defined]
    form = ConsentForm(request.POST if request.method == "POST" else None, purposes=purposes)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            actions.record_consent(
                org=request.org,  # type: ignore[attr-defined]
                actor=request.actor,  # type: ignore[attr-defined]
                contact=contact,
                purpose=data["purpose"],
                channel=data["channel"],
                granted=data["granted"],
                source=data["source"],
                lawful_basis=data["lawful_basis"],
                wording_version=data["wording_version"],
                at=data["at"],
            )
        except Invalid as error:
            apply_invalid(form, error)
        else:
            if wants_partial(request):
                context = {**_panel_context(request, contact), "consent_saved": True}
                return render(request, "consent/_panel.html", context)
            messages.success(request, _("Consent recorded."))
            url = reverse("people:contact_detail", args=[request.org.slug, contact.pk])  # type: ignore[attr-defined]
            return redirect(f"{url}#consent-panel")
    if wants_partial(request):
        return render(request, "consent/_panel.html", _panel_context(request, contact, form))
    return render(
        request, "consent/record.html", {"nav": "contacts", "contact": contact, "form": form}
    )


@org_view("consent.view")
@require_GET
def history(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Every grant and withdrawal of the contact, newest first: the proof behind the panel."""
    contact = contact_or_404(request, contact_id)
    # The page names the person, so a beneficiary's is a sensitive read like their contact page.
    contact = people_actions.view_contact(org=request.org, actor=request.actor, contact=contact)  # type: ignore[attr-defined]
    page = Paginator(queries.consent_history_for(contact=contact), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    events = [(event, purpose_label(event.purpose.code, event.purpose.name)) for event in page]
    context = {"nav": "contacts", "contact": contact, "page": page, "events": events}
    return render(request, "consent/history.html", context)
