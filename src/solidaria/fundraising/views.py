"""Staff pages of fundraising and the treasurer, under /app/<org>/fundraising/.

Each view validates with a form, reaches rows through the acting organization (another
organization's id answers 404 exactly like a missing one), calls one action or query, and
renders. Domain errors become form errors. Every page works as plain HTML forms; htmx only
refreshes the donor picker while staff type.
"""

import contextlib
import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from solidaria.core.errors import DomainError, Invalid, NotFound
from solidaria.core.roles import role_allows
from solidaria.fundraising import access, actions, banking, mail, queries, receipts, reports
from solidaria.fundraising.forms import (
    EXPENSE_CATEGORIES,
    PLAN_STATUS_ACTIONS,
    PROVIDER_FORMS,
    AllocationForm,
    AnnualStatementsForm,
    CampaignForm,
    DonationFilterForm,
    ExpenseForm,
    FundForm,
    IgnoreLineForm,
    MatchLineForm,
    PlanAmountForm,
    RecordDonationForm,
    RefundForm,
    ReverseExpenseForm,
    SepaExportForm,
    SettingsForm,
    StatementUploadForm,
    minor_or_error,
    moment_of,
)
from solidaria.fundraising.models import (
    Allocation,
    BankStatement,
    Campaign,
    Donation,
    Frequency,
    Fund,
    Method,
    PaymentProvider,
    PeerPage,
    RecurringPlan,
    SepaBatch,
    StatementLine,
)
from solidaria.ledger import actions as ledger_actions
from solidaria.ledger import queries as ledger_queries
from solidaria.ledger.models import Checkpoint, LedgerEntry
from solidaria.ledger.verify import verify_ledger
from solidaria.people import access as people_access
from solidaria.people import queries as people_queries
from solidaria.people.forms import apply_invalid
from solidaria.people.models import Contact
from solidaria.web.access import org_view

PAGE_SIZE = 50
CANDIDATES = 50  # contacts offered in the donor picker
NAV = "fundraising"
MAX_ID = 2**63 - 1
_PER_YEAR = {"monthly": 12, "quarterly": 4, "yearly": 1}


# --- helpers -------------------------------------------------------------------------------


def _org(request: HttpRequest) -> Any:
    return request.org  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Any:
    return request.actor  # type: ignore[attr-defined]


def _allowed(request: HttpRequest, permission: str) -> bool:
    return role_allows(request.membership.role, permission)  # type: ignore[attr-defined]


def _page(request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any):
    return render(request, f"fundraising/staff/{template}", {"nav": NAV, **context}, **kwargs)


def _url(request: HttpRequest, name: str, *args: Any) -> str:
    return reverse(f"fundraising:{name}", args=[_org(request).slug, *args])


def _or_404(lookup: Any, **kwargs: Any) -> Any:
    """An access function's row; NotFound (a missing or foreign row) becomes a 404."""
    try:
        return lookup(**kwargs)
    except NotFound:
        raise Http404 from None


def _row_or_404(model: Any, request: HttpRequest, pk: int, **related: Any) -> Any:
    """A row of the acting organization by id, for models without an access function."""
    if not 0 < pk <= MAX_ID:
        raise Http404  # beyond any row, and beyond what the database's integers hold
    rows = model.objects.filter(organization=_org(request), pk=pk)
    if related.get("select"):
        rows = rows.select_related(*related["select"])
    row = rows.first()
    if row is None:
        raise Http404
    return row


def show_error(form: forms.Form, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """A domain error as form errors: next to the field it names, or above the form."""
    if isinstance(error, Invalid):
        apply_invalid(form, error, aliases)
        return
    field = (aliases or {}).get(error.field or "", error.field or "")
    form.add_error(field if field in form.fields else None, error.message)


def _funds(request: HttpRequest, *, archived: bool = False) -> list[Fund]:
    return list(queries.funds_for(org=_org(request), include_archived=archived))


def _campaigns(request: HttpRequest) -> list[Campaign]:
    return list(Campaign.objects.filter(organization=_org(request)).order_by("title", "pk"))


def _by_slug(rows: list[Any]) -> dict[str, Any]:
    return {row.slug: row for row in rows}


# --- overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Income:
    currency: str
    total_minor: int
    gifts: int
    donors: int


@dataclass(frozen=True)
class Mrr:
    currency: str
    plans: int
    monthly_minor: int


def _year_income(org: Any, since: datetime.datetime) -> list[Income]:
    rows = (
        Donation.objects.filter(
            organization=org, status=Donation.Status.CONFIRMED, received_at__gte=since
        )
        .values("currency")
        .annotate(
            total=Sum(F("amount_minor") - F("refunded_minor")),
            gifts=Count("pk"),
            donors=Count("contact", distinct=True),
        )
        .order_by("currency")
    )
    return [Income(r["currency"], r["total"] or 0, r["gifts"], r["donors"]) for r in rows]


def _recurring(org: Any) -> list[Mrr]:
    rows = (
        RecurringPlan.objects.filter(organization=org, status=RecurringPlan.Status.ACTIVE)
        .exclude(frequency=Frequency.ONCE)  # a one-off SEPA mandate recurs not
        .values("currency", "frequency")
        .annotate(total=Sum("amount_minor"), plans=Count("pk"))
    )
    per_year: dict[str, int] = defaultdict(int)
    plans: dict[str, int] = defaultdict(int)
    for row in rows:
        per_year[row["currency"]] += (row["total"] or 0) * _PER_YEAR.get(row["frequency"], 0)
        plans[row["currency"]] += row["plans"]
    return [Mrr(c, plans[c], per_year[c] // 12) for c in sorted(per_year)]


@org_view("fundraising.view")
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    year = reports.fiscal_year_of(org=org, day=reports.local_today(org=org))
    since = reports.fiscal_year_start(org=org, year=year)
    latest = queries.donations_for(org=org).select_related("contact")[:10]
    context = {
        "fiscal_year": year,
        "since": since,
        "income": _year_income(org, since),
        "recurring": _recurring(org),
        "funds": queries.funds_summary_for(org=org),
        "latest": latest,
        "unmatched": StatementLine.objects.filter(
            organization=org, status=StatementLine.Status.UNMATCHED
        ).count(),
    }
    return _page(request, "overview.html", context)


# --- funds ---------------------------------------------------------------------------------


@org_view("fundraising.view")
@require_GET
def fund_list(request: HttpRequest) -> HttpResponse:
    return _page(
        request, "fund_list.html", {"summaries": queries.funds_summary_for(org=_org(request))}
    )


@org_view("fundraising.edit")
@require_http_methods(["GET", "POST"])
def fund_create(request: HttpRequest) -> HttpResponse:
    form = FundForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            fund = actions.create_fund(
                org=_org(request),
                actor=_actor(request),
                slug=data["slug"],
                name=data["name"],
                description=data["description"],
                restricted=data["restricted"],
            )
        except DomainError as error:
            show_error(form, error)
        else:
            messages.success(request, _("Fund “%(name)s” created.") % {"name": fund.name})
            return redirect(_url(request, "fund_list"))
    return _page(request, "fund_form.html", {"form": form, "fund": None})


@org_view("fundraising.edit")
@require_http_methods(["GET", "POST"])
def fund_edit(request: HttpRequest, fund_slug: str) -> HttpResponse:
    fund = _or_404(access.fund_for, org=_org(request), slug=fund_slug)
    form = FundForm(request.POST if request.method == "POST" else None, fund=fund)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_fund(
                org=_org(request),
                actor=_actor(request),
                fund=fund,
                name=data["name"],
                description=data["description"],
                restricted=data["restricted"],
                archived=data["archived"],
            )
        except DomainError as error:
            show_error(form, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(_url(request, "fund_list"))
    return _page(request, "fund_form.html", {"form": form, "fund": fund})


# --- campaigns -----------------------------------------------------------------------------


@org_view("fundraising.view")
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = queries.campaigns_for(org=_org(request))
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "campaign_list.html", {"page": page})


def _campaign_form(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    org = _org(request)
    funds = _funds(request, archived=campaign is not None)
    form = CampaignForm(
        request.POST if request.method == "POST" else None,
        funds=funds,
        campaign=campaign,
        default_currency=org.currency,
    )
    if form.is_bound and form.is_valid():
        data = form.action_data(_by_slug(funds))
        if data is not None:
            try:
                if campaign is None:
                    campaign = actions.create_campaign(
                        org=org, actor=_actor(request), slug=form.cleaned_data["slug"], **data
                    )
                else:
                    data["slug"] = form.cleaned_data["slug"]
                    campaign = actions.update_campaign(
                        org=org, actor=_actor(request), campaign=campaign, **data
                    )
            except DomainError as error:
                show_error(form, error, {"goal_minor": "goal"})
            else:
                messages.success(
                    request, _("Campaign “%(title)s” saved.") % {"title": campaign.title}
                )
                return redirect(_url(request, "campaign_detail", campaign.slug))
    return _page(request, "campaign_form.html", {"form": form, "campaign": campaign})


@org_view("fundraising.edit")
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _campaign_form(request, None)


@org_view("fundraising.edit")
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_slug: str) -> HttpResponse:
    campaign = _or_404(access.campaign_for, org=_org(request), slug=campaign_slug)
    return _campaign_form(request, campaign)


@org_view("fundraising.view")
@require_GET
def campaign_detail(request: HttpRequest, campaign_slug: str) -> HttpResponse:
    org = _org(request)
    campaign = _or_404(access.campaign_for, org=org, slug=campaign_slug)
    pages = (
        PeerPage.objects.filter(organization=org, campaign=campaign)
        .select_related("supporter")
        .order_by("-created_at", "-pk")
    )
    public_url = settings.BASE_URL + reverse(
        "fundraising_public:campaign", args=[org.slug, campaign.slug]
    )
    context = {
        "campaign": campaign,
        "progress": queries.campaign_progress(campaign=campaign),
        "pages": Paginator(pages, PAGE_SIZE).get_page(request.GET.get("page")),
        "public_url": public_url,
    }
    return _page(request, "campaign_detail.html", context)


@org_view("fundraising.edit")
@require_POST
def peer_page_hide(request: HttpRequest, campaign_slug: str, page_slug: str) -> HttpResponse:
    org = _org(request)
    campaign = _or_404(access.campaign_for, org=org, slug=campaign_slug)
    peer_page = _or_404(access.peer_page_for, org=org, campaign=campaign, slug=page_slug)
    actions.hide_peer_page(org=org, actor=_actor(request), peer_page=peer_page)
    messages.success(request, _("The page “%(title)s” is hidden.") % {"title": peer_page.title})
    return redirect(_url(request, "campaign_detail", campaign.slug))


# --- gifts ---------------------------------------------------------------------------------


@org_view("fundraising.view")
@require_GET
def donation_list(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    form = DonationFilterForm(
        request.GET or None, funds=_funds(request, archived=True), campaigns=_campaigns(request)
    )
    donations = queries.donations_for(org=org, filters=form.filters()).select_related("contact")
    page = Paginator(donations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "filtered": form.is_bound and form.has_changed()}
    return _page(request, "donation_list.html", context)


@org_view("fundraising.view")
@require_GET
def donation_detail(request: HttpRequest, donation_id: int) -> HttpResponse:
    org = _org(request)
    donation = _or_404(access.donation_for, org=org, donation_id=donation_id)
    proof_url = ""
    if donation.ledger_seq is not None:
        query = urlencode(
            {"seq": donation.ledger_seq, "tree_size": ledger_queries.log_size(org=org)}
        )
        proof_url = reverse("ledger:proof", args=[org.slug]) + f"?{query}"
    context = {
        "donation": donation,
        "contact": donation.contact,
        "refunds": queries.refunds_for_donation(donation=donation),
        "tracking_url": receipts.tracking_url(donation),
        "proof_url": proof_url,
        "left_minor": donation.amount_minor - donation.refunded_minor,
    }
    return _page(request, "donation_detail.html", context)


@org_view("fundraising.view")
@never_cache
@require_GET
def donation_receipt(request: HttpRequest, donation_id: int) -> HttpResponse:
    donation = _or_404(access.donation_for, org=_org(request), donation_id=donation_id)
    if donation.status != Donation.Status.CONFIRMED or not donation.receipt_number:
        raise Http404
    try:
        pdf = receipts.receipt_pdf(donation)
    except Invalid:
        raise Http404 from None
    response = HttpResponse(pdf, content_type="application/pdf")
    name = receipts.receipt_file_name(donation.receipt_number)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _candidates(request: HttpRequest, find: str) -> list[Contact]:
    if not find:
        return []
    filters = people_queries.ContactFilters(q=find)
    found = people_queries.contacts_for(org=_org(request), filters=filters)
    return list(people_queries.with_details(found)[:CANDIDATES])


@org_view("donations.record")
@require_http_methods(["GET", "POST"])
def donation_record(request: HttpRequest) -> HttpResponse:
    """Record a gift whose money is here, for a donor found by name or email."""
    org = _org(request)
    find = request.GET.get("find", "").strip()[:200]
    funds, campaigns = _funds(request), _campaigns(request)
    candidates = _candidates(request, find)
    if request.method == "POST":
        chosen = request.POST.get("contact", "")
        with contextlib.suppress(NotFound):
            candidates = [people_access.contact_for(org=org, contact_id=chosen), *candidates]
    form = RecordDonationForm(
        request.POST if request.method == "POST" else None,
        funds=funds,
        campaigns=campaigns,
        candidates=candidates,
        initial={"currency": org.currency, "received_on": timezone.localdate(), "method": "cash"},
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        amount = minor_or_error(form, data["amount"], data["currency"])
        try:
            contact = people_access.contact_for(org=org, contact_id=data["contact"])
        except NotFound:
            form.add_error("contact", _("Choose a contact of this organization."))
            amount = None
        if amount is not None:
            try:
                donation = actions.record_donation(
                    org=org,
                    actor=_actor(request),
                    contact=contact,
                    amount_minor=amount,
                    currency=data["currency"],
                    fund=_by_slug(funds).get(data["fund"]),
                    campaign=_by_slug(campaigns).get(data["campaign"]),
                    method=data["method"],
                    received_at=moment_of(data["received_on"]),
                    note=data["note"],
                )
            except DomainError as error:
                show_error(form, error, {"contact_id": "contact", "received_at": "received_on"})
            else:
                messages.success(
                    request,
                    _("Gift recorded: receipt %(number)s.") % {"number": donation.receipt_number},
                )
                return redirect(_url(request, "donation_detail", donation.pk))
    return _page(request, "donation_record.html", {"form": form, "find": find})


@org_view("donations.record")
@require_GET
def donation_contacts(request: HttpRequest) -> HttpResponse:
    """The donor picker's options for a search (htmx); the whole form page without htmx."""
    find = request.GET.get("find", "").strip()[:200]
    if not request.htmx:  # type: ignore[attr-defined]
        url = _url(request, "donation_record")
        return redirect(f"{url}?{urlencode({'find': find})}" if find else url)
    form = RecordDonationForm(funds=[], campaigns=[], candidates=_candidates(request, find))
    response = render(request, "fundraising/staff/_contact_options.html", {"form": form})
    patch_vary_headers(response, ["HX-Request"])
    return response


@org_view("finance.book")
@require_http_methods(["GET", "POST"])
def donation_refund(request: HttpRequest, donation_id: int) -> HttpResponse:
    donation = _or_404(access.donation_for, org=_org(request), donation_id=donation_id)
    form = RefundForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        amount = minor_or_error(form, data["amount"], donation.currency)
        if data["amount"] is None or amount is not None:
            try:
                refund = actions.refund_donation(
                    donation=donation,
                    actor=_actor(request),
                    amount_minor=amount,
                    reason=data["reason"],
                )
            except DomainError as error:
                show_error(form, error)
            else:
                messages.success(
                    request, _("Refund booked (ledger entry %(seq)s).") % {"seq": refund.ledger_seq}
                )
                return redirect(_url(request, "donation_detail", donation.pk))
    context = {
        "donation": donation,
        "form": form,
        "left_minor": donation.amount_minor - donation.refunded_minor,
    }
    return _page(request, "donation_refund.html", context)


# --- recurring plans -----------------------------------------------------------------------


@org_view("fundraising.view")
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = queries.plans_for(org=_org(request)).select_related("contact")
    status = request.GET.get("status", "")
    if status in RecurringPlan.Status.values:
        plans = plans.filter(status=status)
    page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": RecurringPlan.Status.choices}
    return _page(request, "plan_list.html", context)


@org_view("fundraising.view")
@require_GET
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _or_404(access.plan_for, org=_org(request), plan_id=plan_id)
    return _plan_page(request, plan, PlanAmountForm())


def _plan_page(request: HttpRequest, plan: RecurringPlan, form: PlanAmountForm, status: int = 200):
    gifts = plan.donations.order_by("-created_at", "-pk")[:20]
    context = {"plan": plan, "contact": plan.contact, "form": form, "gifts": gifts}
    return _page(request, "plan_detail.html", context, status=status)


@org_view("fundraising.edit")
@require_POST
def plan_update(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Pause, resume or cancel a plan, or change its amount (`action` says which)."""
    plan = _or_404(access.plan_for, org=_org(request), plan_id=plan_id)
    action = request.POST.get("action", "")
    if action not in {*PLAN_STATUS_ACTIONS, "amount"}:
        messages.error(request, _("Unknown action."))
        return _plan_page(request, plan, PlanAmountForm(), status=400)
    form = PlanAmountForm(request.POST if action == "amount" else None)
    changes: dict[str, Any] = {}
    if action == "amount":
        amount = (
            minor_or_error(form, form.cleaned_data["amount"], plan.currency)
            if form.is_valid()
            else None
        )
        if amount is None:
            return _plan_page(request, plan, form, status=400)
        changes["amount_minor"] = amount
    else:
        changes["status"] = PLAN_STATUS_ACTIONS[action]
    try:
        actions.update_plan(plan=plan, actor=_actor(request), **changes)
    except DomainError as error:
        if form.is_bound:
            show_error(form, error, {"amount_minor": "amount"})
        else:
            messages.error(request, error.message)
        return _plan_page(request, plan, form, status=400)
    messages.success(request, _("Changes saved."))
    return redirect(_url(request, "plan_detail", plan.pk))


# --- the treasurer: expenses and allocations -----------------------------------------------


@org_view("fundraising.view")
@require_GET
def expense_list(request: HttpRequest) -> HttpResponse:
    expenses = queries.expenses_for(org=_org(request))
    page = Paginator(expenses, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "expense_list.html", {"page": page})


@org_view("finance.book")
@require_http_methods(["GET", "POST"])
def expense_create(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    funds = _funds(request)
    if request.method == "POST":
        form = ExpenseForm(request.POST, request.FILES, funds=funds)
    else:
        initial = {"currency": org.currency, "spent_on": timezone.localdate(), "fund": "general"}
        form = ExpenseForm(initial=initial, funds=funds)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        amount = minor_or_error(form, data["amount"], data["currency"])
        fund = _by_slug(funds)[data["fund"]]
        if amount is not None:
            try:
                expense = actions.record_expense(
                    org=org,
                    actor=_actor(request),
                    fund=fund,
                    amount_minor=amount,
                    currency=data["currency"],
                    description=data["description"],
                    category=data["category"],
                    spent_at=moment_of(data["spent_on"]),
                    evidence=data["evidence"],
                )
            except DomainError as error:
                if error.status == 409 and not error.field:
                    form.add_error("amount", _more_than_held(org, fund, data["currency"]))
                else:
                    show_error(form, error, {"spent_at": "spent_on", "evidence_sha256": "evidence"})
            else:
                messages.success(request, _("Expense booked."))
                return redirect(_url(request, "expense_detail", expense.pk))
    context = {"form": form, "categories": EXPENSE_CATEGORIES}
    return _page(request, "expense_form.html", context)


def _more_than_held(org: Any, fund: Fund, currency: str) -> str:
    from solidaria.fundraising.transparency import money

    held = ledger_queries.fund_balance(org=org, fund=fund.slug, currency=currency)
    return _("This is more than the fund “%(fund)s” holds: %(balance)s.") % {
        "fund": fund.name,
        "balance": money(held, currency),
    }


@org_view("fundraising.view")
@require_GET
def expense_detail(request: HttpRequest, expense_id: int) -> HttpResponse:
    org = _org(request)
    expense = _or_404(access.expense_for, org=org, expense_id=expense_id)
    form = ReverseExpenseForm() if expense.reversal_seq is None else None
    return _page(request, "expense_detail.html", {"expense": expense, "form": form})


@org_view("finance.book")
@never_cache
@require_GET
def expense_evidence(request: HttpRequest, expense_id: int) -> HttpResponse:
    """The evidence file, for the treasurer: it may name people, so it is never public."""
    expense = _or_404(access.expense_for, org=_org(request), expense_id=expense_id)
    if not expense.evidence:
        raise Http404
    try:
        handle = expense.evidence.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    suffix = expense.evidence.name.rsplit(".", 1)[-1] if "." in expense.evidence.name else "bin"
    return FileResponse(handle, as_attachment=True, filename=f"evidence-{expense.pk}.{suffix}")


@org_view("finance.book")
@require_POST
def expense_reverse(request: HttpRequest, expense_id: int) -> HttpResponse:
    org = _org(request)
    expense = _or_404(access.expense_for, org=org, expense_id=expense_id)
    form = ReverseExpenseForm(request.POST)
    if form.is_valid():
        try:
            actions.reverse_expense(
                org=org, actor=_actor(request), expense=expense, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            show_error(form, error)
        else:
            messages.success(request, _("Expense reversed."))
            return redirect(_url(request, "expense_detail", expense.pk))
    return _page(request, "expense_detail.html", {"expense": expense, "form": form}, status=400)


@org_view("finance.book")
@require_http_methods(["GET", "POST"])
def allocations(request: HttpRequest) -> HttpResponse:
    """Move money between funds; the latest allocations below the form."""
    org = _org(request)
    funds = _funds(request)
    form = AllocationForm(
        request.POST if request.method == "POST" else None,
        funds=funds,
        initial={"currency": org.currency},
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        amount = minor_or_error(form, data["amount"], data["currency"])
        by_slug = _by_slug(funds)
        source = by_slug[data["from_fund"]]
        if amount is not None:
            try:
                allocation = actions.allocate(
                    org=org,
                    actor=_actor(request),
                    from_fund=source,
                    to_fund=by_slug[data["to_fund"]],
                    amount_minor=amount,
                    currency=data["currency"],
                    note=data["note"],
                )
            except DomainError as error:
                if error.status == 409 and not error.field:
                    form.add_error("amount", _more_than_held(org, source, data["currency"]))
                else:
                    show_error(form, error)
            else:
                messages.success(
                    request,
                    _("Allocation booked (ledger entry %(seq)s).") % {"seq": allocation.ledger_seq},
                )
                return redirect(_url(request, "allocations"))
    latest = (
        Allocation.objects.filter(organization=org)
        .select_related("from_fund", "to_fund")
        .order_by("-at", "-pk")
    )
    page = Paginator(latest, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "allocations.html", {"form": form, "page": page})


# --- the treasurer: SEPA and the bank ------------------------------------------------------


def _sepa_context(request: HttpRequest, form: SepaExportForm) -> dict[str, Any]:
    org = _org(request)
    waiting = (
        Donation.objects.filter(
            organization=org,
            method=Method.SEPA,
            status=Donation.Status.PENDING,
            sepa_batch__isnull=True,
            collection_date__isnull=False,
        )
        .values("collection_date", "currency")
        .annotate(count=Count("pk"), total=Sum("amount_minor"))
        .order_by("collection_date", "currency")
    )
    batches = SepaBatch.objects.filter(organization=org).defer("xml").order_by("-created_at", "-pk")
    return {
        "form": form,
        "waiting": list(waiting),
        "batches": Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page")),
        "creditor_set": PaymentProvider.objects.filter(
            organization=org, kind=PaymentProvider.Kind.SEPA
        ).exists(),
    }


def _xml_download(batch: SepaBatch) -> HttpResponse:
    response = HttpResponse(batch.xml.encode("utf-8"), content_type="application/xml")
    name = f"pain008-{batch.collection_date.isoformat()}-{batch.message_id}.xml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@org_view("finance.book")
@never_cache
@require_http_methods(["GET", "POST"])
def sepa(request: HttpRequest) -> HttpResponse:
    """SEPA collections: the dates with debits waiting, the export, and past files."""
    form = SepaExportForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            batch = banking.export_sepa_collection(
                org=_org(request),
                actor=_actor(request),
                collection_date=form.cleaned_data["date"],
            )
        except DomainError as error:
            show_error(form, error)
        else:
            return _xml_download(batch)
    status = 400 if form.is_bound else 200
    return _page(request, "sepa.html", _sepa_context(request, form), status=status)


@org_view("finance.book")
@never_cache
@require_GET
def sepa_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    return _xml_download(_row_or_404(SepaBatch, request, batch_id))


@org_view("finance.book")
@require_http_methods(["GET", "POST"])
def bank(request: HttpRequest) -> HttpResponse:
    """Upload a bank statement; the statements imported before."""
    org = _org(request)
    form = StatementUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            statement = banking.import_bank_statement(
                org=org, actor=_actor(request), file_name=upload.name, data=upload.read()
            )
        except DomainError as error:
            show_error(form, error)
        else:
            if getattr(statement, "already_imported", False):
                messages.info(request, _("This file was imported before; nothing changed."))
            else:
                messages.success(request, _("Statement imported."))
            return redirect(_url(request, "statement_detail", statement.pk))
    statements = BankStatement.objects.filter(organization=org).order_by("-imported_at", "-pk")
    context = {
        "form": form,
        "statements": Paginator(statements, PAGE_SIZE).get_page(request.GET.get("page")),
        "unmatched": StatementLine.objects.filter(
            organization=org, status=StatementLine.Status.UNMATCHED
        ).count(),
    }
    return _page(request, "bank.html", context, status=400 if form.is_bound else 200)


@org_view("finance.book")
@require_GET
def statement_detail(request: HttpRequest, statement_id: int) -> HttpResponse:
    """The result of an import: what matched, what did not and why, what was skipped."""
    statement = _row_or_404(BankStatement, request, statement_id)
    lines = statement.lines.select_related("donation").order_by("booked_on", "pk")
    context = {
        "statement": statement,
        "counts": banking.statement_counts(statement),
        "lines": Paginator(lines, 200).get_page(request.GET.get("page")),
    }
    return _page(request, "statement_detail.html", context)


@org_view("finance.book")
@require_GET
def unmatched_lines(request: HttpRequest) -> HttpResponse:
    lines = StatementLine.objects.filter(
        organization=_org(request), status=StatementLine.Status.UNMATCHED
    ).order_by("-booked_on", "-pk")
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "unmatched_lines.html", {"page": page})


@org_view("finance.book")
@require_http_methods(["GET", "POST"])
def line_match(request: HttpRequest, line_id: int) -> HttpResponse:
    """Say which gift an unmatched line pays (or returns), by the gift's reference."""
    org = _org(request)
    line = _row_or_404(StatementLine, request, line_id)
    form = MatchLineForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        ref = form.cleaned_data["ref"].strip()
        donation = queries.donations_for(org=org, filters=queries.DonationFilters(ref=ref)).first()
        if donation is None:
            form.add_error("ref", _("No gift has this reference."))
        else:
            try:
                banking.match_line(line=line, donation=donation, actor=_actor(request))
            except DomainError as error:
                show_error(form, error, {"donation": "ref"})
            else:
                messages.success(
                    request, _("Line matched to gift %(ref)s.") % {"ref": donation.public_ref}
                )
                return redirect(_url(request, "unmatched_lines"))
    context = {"line": line, "form": form, "ignore_form": IgnoreLineForm()}
    return _page(request, "line_match.html", context, status=400 if form.errors else 200)


@org_view("finance.book")
@require_POST
def line_ignore(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _row_or_404(StatementLine, request, line_id)
    form = IgnoreLineForm(request.POST)
    if form.is_valid():
        try:
            banking.ignore_line(line=line, actor=_actor(request), note=form.cleaned_data["note"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Line ignored."))
    return redirect(_url(request, "unmatched_lines"))


# --- annual statements ---------------------------------------------------------------------


@org_view("fundraising.view")
@require_http_methods(["GET", "POST"])
def annual_statements(request: HttpRequest) -> HttpResponse:
    """Email each donor their statement of gifts for a finished fiscal year."""
    if not (_allowed(request, "finance.book") or _allowed(request, "fundraising.edit")):
        raise PermissionDenied
    org = _org(request)
    current = reports.fiscal_year_of(org=org, day=reports.local_today(org=org))
    form = AnnualStatementsForm(
        request.POST if request.method == "POST" else None, initial={"fiscal_year": current - 1}
    )
    if form.is_bound and form.is_valid():
        year = form.cleaned_data["fiscal_year"]
        try:
            count = mail.email_annual_statements(org=org, actor=_actor(request), fiscal_year=year)
        except DomainError as error:
            show_error(form, error)
        else:
            messages.success(
                request,
                _("Statements for %(year)s are on their way to %(count)s donors.")
                % {"year": year, "count": count},
            )
            return redirect(_url(request, "annual_statements"))
    return _page(
        request, "annual_statements.html", {"form": form}, status=400 if form.errors else 200
    )


# --- payment providers and settings --------------------------------------------------------


def _webhook_url(org: Any, kind: str) -> str:
    if kind not in {"stripe", "mollie"}:
        return ""
    return settings.BASE_URL + reverse(f"fundraising_webhooks:{kind}", args=[org.slug])


@dataclass(frozen=True)
class ProviderView:
    kind: str
    label: str
    provider: PaymentProvider | None
    secrets: list[tuple[str, bool]]  # (field label, set?)
    webhook_url: str


def _provider_view(org: Any, kind: str, provider: PaymentProvider | None) -> ProviderView:
    form = PROVIDER_FORMS[kind]()
    stored = provider.secrets if provider is not None else {}
    secrets = [
        (str(form.fields[name].label), bool(stored.get(name)))
        for name in sorted(actions.PROVIDER_SECRETS[kind])
    ]
    return ProviderView(
        kind=kind,
        label=str(PaymentProvider.Kind(kind).label),
        provider=provider,
        secrets=secrets,
        webhook_url=_webhook_url(org, kind),
    )


@org_view("payments.manage")
@require_GET
def providers(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    stored = {p.kind: p for p in queries.providers_for(org=org)}
    views = [_provider_view(org, kind, stored.get(kind)) for kind in PROVIDER_FORMS]
    return _page(request, "providers.html", {"providers": views})


@org_view("payments.manage")
@require_http_methods(["GET", "POST"])
def provider_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in PROVIDER_FORMS:
        raise Http404
    org = _org(request)
    provider = PaymentProvider.objects.filter(organization=org, kind=kind).first()
    secret_names = actions.PROVIDER_SECRETS[kind]
    initial = {
        **(provider.settings if provider else {}),
        "enabled": provider.enabled if provider else True,
    }
    form = PROVIDER_FORMS[kind](request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        fields = {
            k: v.strip() if isinstance(v, str) else v for k, v in data.items() if k != "enabled"
        }
        try:
            actions.configure_payment_provider(
                org=org,
                actor=_actor(request),
                kind=kind,
                settings={k: v for k, v in fields.items() if k not in secret_names},
                secrets={k: v for k, v in fields.items() if k in secret_names},
                enabled=data["enabled"],
            )
        except DomainError as error:
            show_error(form, error)
        else:
            messages.success(request, _("Payment provider saved."))
            return redirect(_url(request, "providers"))
    context = {"form": form, "view": _provider_view(org, kind, provider)}
    return _page(request, "provider_form.html", context, status=400 if form.errors else 200)


@org_view("fundraising.edit")
@require_http_methods(["GET", "POST"])
def fundraising_settings(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    form = SettingsForm(
        request.POST if request.method == "POST" else None,
        current=queries.settings_for(org=org),
        currency=org.currency,
    )
    if form.is_bound and form.is_valid():
        data = form.action_data()
        if data is not None:
            try:
                actions.update_fundraising_settings(org=org, actor=_actor(request), **data)
            except DomainError as error:
                show_error(form, error)
            else:
                messages.success(request, _("Changes saved."))
                return redirect(_url(request, "settings"))
    return _page(request, "settings.html", {"form": form}, status=400 if form.errors else 200)


# --- the ledger ----------------------------------------------------------------------------


def _ledger_context(request: HttpRequest) -> dict[str, Any]:
    org = _org(request)
    entries = (
        LedgerEntry.objects.filter(organization=org).defer("body", "leaf_hash").order_by("-seq")
    )
    checkpoints = Checkpoint.objects.filter(organization=org).order_by("-tree_size")
    return {
        "entries": Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page")),
        "checkpoints": checkpoints[:20],
        "size": ledger_queries.log_size(org=org),
        "latest": ledger_queries.latest_checkpoint(org=org),
        "transparency_url": reverse("fundraising_transparency:page", args=[org.slug]),
        "jsonl_url": reverse("ledger:jsonl", args=[org.slug]),
    }


@org_view("ledger.view")
@require_GET
def ledger(request: HttpRequest) -> HttpResponse:
    return _page(request, "ledger.html", _ledger_context(request))


@org_view("ledger.checkpoint")
@require_POST
def ledger_checkpoint(request: HttpRequest) -> HttpResponse:
    checkpoint = ledger_actions.make_checkpoint(org=_org(request), actor=_actor(request))
    messages.success(
        request,
        _("Checkpoint signed over %(size)s entries.") % {"size": checkpoint.tree_size},
    )
    return redirect(_url(request, "ledger"))


@org_view("ledger.view")
@require_POST
def ledger_verify(request: HttpRequest) -> HttpResponse:
    """Check the whole log, its checkpoints and the books now, and show the outcome."""
    result = verify_ledger(org=_org(request))
    return _page(request, "ledger.html", {**_ledger_context(request), "verification": result})


# --- the contact page's gifts panel --------------------------------------------------------


def gifts_panel(request: HttpRequest, contact: Contact) -> dict[str, Any] | None:
    """The contact's latest gifts and recurring plans, for the contact page (ContactPanel)."""
    if not _allowed(request, "fundraising.view"):
        return None
    gifts = queries.gifts_for_contact(contact=contact)
    totals = (
        gifts.filter(status=Donation.Status.CONFIRMED)
        .values("currency")
        .annotate(total=Sum(F("amount_minor") - F("refunded_minor")), count=Count("pk"))
        .order_by("currency")
    )
    return {
        "gifts": list(gifts[:10]),
        "gift_totals": list(totals),
        "gift_plans": list(
            queries.plans_for(org=_org(request), contact=contact).filter(
                ~Q(status=RecurringPlan.Status.CANCELLED)
            )[:5]
        ),
    }
