"""Pages for donors: the gift tracking page `/t/<token>` and the self-service portal `/me/`.

Neither needs an account. The tracking token is the only key to a gift's page, which shows
what the public ledger says about it and nothing about the donor. The portal is opened with
a magic link (see `selfservice`).
"""

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from solidaria.consent.queries import consent_states_for
from solidaria.core.errors import Conflict, Invalid, NotFound
from solidaria.core.models import Organization
from solidaria.fundraising import selfservice
from solidaria.fundraising.models import Donation
from solidaria.fundraising.receipts import annual_statement_pdf, receipt_pdf
from solidaria.fundraising.transparency import localized, machine_links, money
from solidaria.ledger import queries as ledger_queries
from solidaria.ledger.models import LedgerEntry
from solidaria.ledger.tasks import checkpoint_organization
from solidaria.people.models import Channel

# --- tracking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tracking:
    donation: Donation
    data: dict[str, Any]  # the `/t/<token>.json` document
    entries: dict[int, LedgerEntry]  # the gift's own entry and what it paid for, by seq


def donation_for_token(token: str) -> Donation:
    donation = (
        Donation.objects.select_related("organization", "fund", "campaign")
        .filter(tracking_token=token)
        .first()
    )
    if donation is None:
        raise Http404
    return donation


def tracking_for(donation: Donation) -> Tracking:
    """Everything the public log says about one gift, with its inclusion proof.

    A pending (or failed) gift has no seq, proof nor trace yet. A gift newer than the latest
    checkpoint has its seq and trace but a null proof until the next checkpoint signs it.
    """
    org = donation.organization
    checkpoint = ledger_queries.latest_checkpoint(org=org)
    data: dict[str, Any] = {
        "ref": donation.public_ref,
        "amount": donation.amount_minor,
        "currency": donation.currency,
        "fund": donation.fund.slug,
        "status": donation.status,
        "seq": None,
        "leaf_index": None,
        "leaf": None,
        "checkpoint": (ledger_queries.checkpoint_json(checkpoint, org=org) if checkpoint else None),
        "tree_size": checkpoint.tree_size if checkpoint else None,
        "inclusion_proof": None,
        "trace": [],
        "unspent": None,
        "proof_pending": False,
        "reversed": False,
        "links": {},
    }
    entries: dict[int, LedgerEntry] = {}
    seq = donation.ledger_seq
    if donation.status == Donation.Status.CONFIRMED and seq is not None:
        trace = ledger_queries.trace_for(org=org, ref=donation.public_ref)
        items = list(trace.items) if trace is not None else []
        wanted = {seq, *(item.seq for item in items)}
        entries = {e.seq: e for e in LedgerEntry.objects.filter(organization=org, seq__in=wanted)}
        data["seq"] = data["leaf_index"] = seq
        data["leaf"] = json.loads(entries[seq].body) if seq in entries else None
        data["trace"] = [{"seq": item.seq, "amount": item.amount} for item in items]
        data["unspent"] = trace.unspent if trace is not None else donation.amount_minor
        data["reversed"] = bool(trace is not None and trace.reversed)
        if checkpoint is not None and seq < checkpoint.tree_size:
            proof = ledger_queries.inclusion_proof(org=org, seq=seq, tree_size=checkpoint.tree_size)
            data["inclusion_proof"] = [node.hex() for node in proof]
        else:
            data["proof_pending"] = True
            request_checkpoint(org)
    links = machine_links(org)
    # Absolute, so the JSON alone tells a verifier where the rest of the evidence is.
    data["links"] = {
        name: settings.BASE_URL + links[key]
        for name, key in (
            ("ledger", "ledger"),
            ("checkpoint", "checkpoint"),
            ("key", "key"),
            ("transparency", "page"),
        )
    }
    return Tracking(donation=donation, data=data, entries=entries)


# A donor reloading their page asks for one checkpoint a minute at most.
CHECKPOINT_REQUEST_SECONDS = 60


def request_checkpoint(org: Organization) -> None:
    """Ask the worker to sign a checkpoint now, so a new gift's proof appears in seconds
    rather than at the next periodic checkpoint."""
    if cache.add(
        f"solidaria.checkpoint-requested:{org.pk}:{org.slug}", 1, CHECKPOINT_REQUEST_SECONDS
    ):
        checkpoint_organization.enqueue(org.pk)


def _tracking_response(response: HttpResponse) -> HttpResponse:
    # The token in the URL is the key to the page: keep it out of referrers and indexes.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def tracking_json(request: HttpRequest, token: str) -> HttpResponse:
    tracking = tracking_for(donation_for_token(token))
    response = JsonResponse(tracking.data, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return _tracking_response(response)


@require_GET
@never_cache
def tracking_page(request: HttpRequest, token: str) -> HttpResponse:
    donation = donation_for_token(token)
    tracking = tracking_for(donation)
    org = donation.organization
    data = tracking.data
    paid_for = []
    for item in data["trace"]:
        entry = tracking.entries.get(item["seq"])
        paid_for.append(
            {
                "seq": item["seq"],
                "type": entry.type if entry else "",
                "description": entry.description if entry else "",
                "category": entry.category if entry else "",
                "at": entry.at if entry else None,
                "amount": money(item["amount"], donation.currency),
            }
        )
    with timezone.override(org.time_zone):
        return _tracking_response(
            render(
                request,
                "fundraising/donor/tracking.html",
                {
                    "org": org,
                    "donation": donation,
                    "data": data,
                    "amount": money(donation.amount_minor, donation.currency),
                    "fund_name": localized(donation.fund.texts, "name", donation.fund.name),
                    "paid_for": paid_for,
                    "unspent": (
                        money(data["unspent"], donation.currency)
                        if data["unspent"] is not None
                        else None
                    ),
                    "json_url": reverse("fundraising_donor:tracking_json", args=[token]),
                    "portal_url": reverse("fundraising_donor:portal") + f"?org={org.slug}",
                },
            )
        )


# --- the self-service portal --------------------------------------------------------------


def _donor_or_redirect(request: HttpRequest) -> selfservice.Donor | HttpResponse:
    donor = selfservice.donor_for(request)
    if donor is None:
        return redirect("fundraising_donor:portal")
    return donor


def _org_from(value: str) -> Organization | None:
    return Organization.objects.filter(slug=value.strip()[:50]).first() if value else None


@never_cache
@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    """`/me/`: the donor's portal when signed in, else the form that asks for a link."""
    donor = selfservice.donor_for(request)
    if donor is not None and request.method == "GET":
        return _portal_page(request, donor)
    org = _org_from(request.POST.get("org", "") or request.GET.get("org", ""))
    context: dict[str, Any] = {"org": org, "email": "", "sent": False, "error": ""}
    status = 200
    if request.method == "POST":
        email = request.POST.get("email", "").strip()[:254]
        context["email"] = email
        if org is None:
            context["error"] = _("Open this page from a link of the organization you gave to.")
            status = 400
        else:
            try:
                selfservice.request_login_link(org=org, email=email, language=request.LANGUAGE_CODE)
            except Invalid as error:
                context["error"] = error.message
                status = 400
            else:
                context["sent"] = True
    return render(request, "fundraising/donor/request_link.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; the POST spends the link (mail scanners only GET)."""
    try:
        if request.method == "POST":
            link = selfservice.redeem_login_link(token=token)
            selfservice.start_session(request, link)
            return redirect("fundraising_donor:portal")
        link = selfservice.check_login_link(token=token)
    except Invalid as error:
        return render(
            request,
            "fundraising/donor/login.html",
            {"error": error.message, "org": None},
            status=400,
        )
    return render(request, "fundraising/donor/login.html", {"org": link.organization})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    donor = selfservice.donor_for(request)
    selfservice.end_session(request)
    url = reverse("fundraising_donor:portal")
    return redirect(f"{url}?org={donor.org.slug}" if donor else url)


def _portal_page(
    request: HttpRequest,
    donor: selfservice.Donor,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    org = donor.org
    has_phone = donor.contact.phones.exists()
    channels = [Channel.EMAIL] + ([Channel.SMS, Channel.WHATSAPP] if has_phone else [])
    consents = [
        {"state": s, "channel": Channel(s.channel).label}
        for s in consent_states_for(contact=donor.contact)
        if s.channel in channels
    ]
    gifts = [
        {
            "donation": d,
            "amount": money(d.amount_minor, d.currency),
            "fund": localized(d.fund.texts, "name", d.fund.name),
            "tracking_url": reverse("fundraising_donor:tracking", args=[d.tracking_token]),
            "has_receipt": d.status == Donation.Status.CONFIRMED and bool(d.receipt_number),
        }
        for d in selfservice.gifts_for(donor)
    ]
    plans = [
        {
            "plan": p,
            "amount": money(p.amount_minor, p.currency),
            "fund": localized(p.fund.texts, "name", p.fund.name),
            "iban": _masked(p.iban),
            "error": (errors or {}).get(str(p.pk), ""),
        }
        for p in selfservice.plans_for(donor)
    ]
    funds = [(f.slug, localized(f.texts, "name", f.name)) for f in selfservice.funds_for(donor)]
    with timezone.override(org.time_zone):
        return render(
            request,
            "fundraising/donor/portal.html",
            {
                "org": org,
                "contact": donor.contact,
                "gifts": gifts,
                "plans": plans,
                "funds": funds,
                "years": selfservice.statement_years_for(donor),
                "consents": consents,
                "consent_error": (errors or {}).get("consent", ""),
            },
            status=status,
        )


def _masked(iban: str) -> str:
    compact = (iban or "").replace(" ", "")
    return f"{compact[:4]} •••• {compact[-4:]}" if len(compact) > 8 else ""


@never_cache
@require_GET
def receipt(request: HttpRequest, donation_id: int) -> HttpResponse:
    donor = _donor_or_redirect(request)
    if isinstance(donor, HttpResponse):
        return donor
    try:
        donation = selfservice.gift_for(donor, donation_id)
    except NotFound:
        raise Http404 from None
    if donation.status != Donation.Status.CONFIRMED or not donation.receipt_number:
        raise Http404
    response = HttpResponse(receipt_pdf(donation), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="receipt-{donation.receipt_number}.pdf"'
    )
    return response


@never_cache
@require_GET
def statement(request: HttpRequest, year: int) -> HttpResponse:
    donor = _donor_or_redirect(request)
    if isinstance(donor, HttpResponse):
        return donor
    if year not in selfservice.statement_years_for(donor):
        raise Http404
    pdf = annual_statement_pdf(org=donor.org, contact=donor.contact, fiscal_year=year)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{year}.pdf"'
    return response


@require_POST
def plan_action(request: HttpRequest, plan_id: int, action: str) -> HttpResponse:
    donor = _donor_or_redirect(request)
    if isinstance(donor, HttpResponse):
        return donor
    try:
        plan = selfservice.plan_for(donor, plan_id)
    except NotFound:
        raise Http404 from None
    if action not in selfservice.PLAN_ACTIONS:
        raise Http404
    try:
        selfservice.change_plan(donor=donor, plan=plan, action=action, data=request.POST.dict())
    except (Invalid, Conflict) as error:
        return _portal_page(request, donor, errors={str(plan.pk): error.message}, status=400)
    return redirect(reverse("fundraising_donor:portal") + f"#plan-{plan.pk}")


@require_POST
def consent(request: HttpRequest) -> HttpResponse:
    donor = _donor_or_redirect(request)
    if isinstance(donor, HttpResponse):
        return donor
    granted = request.POST.get("granted", "")
    if granted not in {"0", "1"}:
        return _portal_page(request, donor, errors={"consent": _("Choose yes or no.")}, status=400)
    try:
        selfservice.set_consent(
            donor=donor,
            purpose=request.POST.get("purpose", ""),
            channel=request.POST.get("channel", ""),
            granted=granted == "1",
        )
    except Invalid as error:
        return _portal_page(request, donor, errors={"consent": error.message}, status=400)
    return redirect(reverse("fundraising_donor:portal") + "#consents")
