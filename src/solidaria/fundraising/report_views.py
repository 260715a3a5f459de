"""Staff pages for the fundraising reports, each also a CSV download (`?format=csv`).

A report is built once as a `Table` of raw values (ints, Decimals, dates) and rendered
either as HTML (money in the reader's language, dates in the organization's time zone) or
as CSV (raw decimals, ISO dates): both come from the same rows, so they show the same numbers.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, format_decimal, get_currency_precision
from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language, gettext, to_locale
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from solidaria.core.errors import Invalid
from solidaria.fundraising import reports
from solidaria.web.access import org_view

PERMISSION = "fundraising.view"


# -- a report as rows of raw values


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text, int, money, percent, month, date, datetime, year


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # per row: the first cell's link


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units to the currency's decimal amount: 1250 EUR → Decimal("12.50")."""
    digits = get_currency_precision(currency)
    return (Decimal(minor) / (10**digits)).quantize(Decimal(1).scaleb(-digits))


def _locale() -> str:
    return to_locale(get_language() or "en")


def _html_cell(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    if kind == "money":
        amount, currency = value
        return format_currency(to_decimal(amount, currency), currency, locale=_locale())
    if kind == "int":
        return format_decimal(value, locale=_locale())
    if kind == "percent":
        return format_decimal(value, format="#,##0.0", locale=_locale()) + " %"
    if kind == "month":
        return formats.date_format(value, "YEAR_MONTH_FORMAT")
    if kind == "date":
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if kind == "datetime":
        return formats.date_format(timezone.localtime(value).date(), "SHORT_DATE_FORMAT")
    return str(value)


# Spreadsheets run a cell starting with these as a formula: a donor called "=HYPERLINK(…)"
# must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cells(kind: str, value: Any) -> list[Any]:
    if value is None:
        return [""] if kind != "money" else ["", ""]
    if kind == "money":
        amount, currency = value
        return [to_decimal(amount, currency), currency]
    if kind == "month":
        return [value.strftime("%Y-%m")]
    if kind == "date":
        return [value.isoformat()]
    if kind == "datetime":
        return [timezone.localtime(value).date().isoformat()]
    if kind == "text" and isinstance(value, str) and value.startswith(_FORMULA_START):
        return ["'" + value]
    return [value]


def _csv_headers(columns: Sequence[Column]) -> list[str]:
    headers: list[str] = []
    for column in columns:
        headers.append(column.header)
        if column.kind == "money":
            headers.append(gettext("Currency"))
    return headers


def _csv_response(request: HttpRequest, name: str, table: Table) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{request.org.slug}-{name}-{stamp}.csv"'  # type: ignore[attr-defined]
    )
    writer = csv.writer(response)
    writer.writerow(_csv_headers(table.columns))
    for row in table.rows:
        cells: list[Any] = []
        for column, value in zip(table.columns, row, strict=True):
            cells += _csv_cells(column.kind, value)
        writer.writerow(cells)
    return response


def _html_rows(table: Table) -> list[dict[str, Any]]:
    return [
        {
            "link": table.links[i] if i < len(table.links) else None,
            "cells": [
                {"text": _html_cell(c.kind, v), "numeric": c.kind in {"int", "money", "percent"}}
                for c, v in zip(table.columns, row, strict=True)
            ],
        }
        for i, row in enumerate(table.rows)
    ]


def _render(
    request: HttpRequest,
    *,
    name: str,
    title: str,
    table: Table,
    template: str = "fundraising/reports/table.html",
    **context: Any,
) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return _csv_response(request, name, table)
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        template,
        {
            "nav": "fundraising",
            "report": name,
            "title": title,
            "columns": table.columns,
            "rows": _html_rows(table),
            "csv_query": query.urlencode(),
            "reports": _menu(request),
            **context,
        },
    )


def _menu(request: HttpRequest) -> list[dict[str, str]]:
    slug = request.org.slug  # type: ignore[attr-defined]
    entries = [
        ("month", _("Income by month")),
        ("campaign", _("By campaign")),
        ("fund", _("By fund")),
        ("method", _("By method")),
        ("retention", _("Retention")),
        ("lybunt", _("LYBUNT")),
        ("sybunt", _("SYBUNT")),
        ("recurring", _("Recurring revenue")),
        ("rfm", _("RFM segments")),
    ]
    return [
        {"name": n, "label": str(label), "url": reverse(f"fundraising:report_{n}", args=[slug])}
        for n, label in entries
    ]


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 1_000_000))
    except ValueError:
        return 1


# -- the pages


@org_view(PERMISSION)
@require_GET
def report_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "fundraising/reports/index.html",
        {"nav": "fundraising", "reports": _menu(request)},
    )


@org_view(PERMISSION)
@require_GET
def report_month(request: HttpRequest) -> HttpResponse:
    rows = reports.income_by_month(org=request.org)  # type: ignore[attr-defined]
    table = Table(
        [
            Column(gettext("Month"), "month"),
            Column(gettext("Gifts"), "int"),
            Column(gettext("Net income"), "money"),
        ]
    )
    for row in reversed(rows):  # the latest month first
        table.rows.append([row.month, row.gifts, (row.amount_minor, row.currency)])
    return _render(
        request,
        name="month",
        title=gettext("Income by month"),
        table=table,
        intro=gettext("Confirmed gifts net of refunds, the last 24 months."),
    )


class RangeForm(forms.Form):
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(gettext("The start date is after the end date."))
        return data


def _income_by(request: HttpRequest, dimension: str, title: str) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    cal = reports.calendar_for(org=org)
    today = cal.today()
    year_start = timezone.localtime(cal.fiscal_year_start(cal.fiscal_year_of(today))).date()
    form = RangeForm(
        request.GET if "start" in request.GET or "end" in request.GET else None,
        initial={"start": year_start, "end": today},
    )
    table = Table(
        [
            Column(gettext("Name"), "text"),
            Column(gettext("Gifts"), "int"),
            Column(gettext("Net income"), "money"),
        ]
    )
    start, end = year_start, today
    rows: list[reports.IncomeRow] = []
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if not form.is_bound or form.is_valid():
        try:
            rows = reports.income_by(org=org, dimension=dimension, start=start, end=end)  # type: ignore[arg-type]
        except Invalid as error:
            form.add_error(None, error.message)
    if form.is_bound and not form.is_valid():
        if request.GET.get("format") == "csv":
            return HttpResponse(
                " ".join(str(e) for errors in form.errors.values() for e in errors),
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        return _render(
            request,
            name=dimension,
            title=title,
            table=table,
            form=form,
            template="fundraising/reports/range.html",
            invalid=True,
        )
    for row in rows:
        table.rows.append([row.label, row.gifts, (row.amount_minor, row.currency)])
    return _render(
        request,
        name=dimension,
        title=title,
        table=table,
        form=form,
        template="fundraising/reports/range.html",
        start=start,
        end=end,
    )


@org_view(PERMISSION)
@require_GET
def report_campaign(request: HttpRequest) -> HttpResponse:
    return _income_by(request, "campaign", gettext("Income by campaign"))


@org_view(PERMISSION)
@require_GET
def report_fund(request: HttpRequest) -> HttpResponse:
    return _income_by(request, "fund", gettext("Income by fund"))


@org_view(PERMISSION)
@require_GET
def report_method(request: HttpRequest) -> HttpResponse:
    return _income_by(request, "method", gettext("Income by payment method"))


@org_view(PERMISSION)
@require_GET
def report_retention(request: HttpRequest) -> HttpResponse:
    rows = reports.retention(org=request.org)  # type: ignore[attr-defined]
    table = Table(
        [
            Column(gettext("Fiscal year"), "text"),
            Column(gettext("Donors"), "int"),
            Column(gettext("Donors the year before"), "int"),
            Column(gettext("Gave again"), "int"),
            Column(gettext("Retention rate (%)"), "percent"),
        ]
    )
    for row in reversed(rows):
        label = row.label + (" " + gettext("(to date)") if row.to_date else "")
        table.rows.append([label, row.donors, row.previous_donors, row.retained, row.rate])
    return _render(
        request,
        name="retention",
        title=gettext("Donor retention"),
        table=table,
        intro=gettext(
            "Of the donors of each fiscal year's previous year, the share who gave again."
        ),
    )


def _donor_table(request: HttpRequest, page: reports.DonorPage, *, scored: bool) -> Table:
    slug = request.org.slug  # type: ignore[attr-defined]
    columns = [
        Column(gettext("Donor"), "text"),
        Column(gettext("Last gift"), "datetime"),
        Column(gettext("Gifts"), "int"),
        Column(gettext("Total"), "money"),
    ]
    if scored:
        columns += [Column("R", "int"), Column("F", "int"), Column("M", "int")]
    table = Table(columns)
    for row in page.rows:
        cells: list[Any] = [row.name, row.last_gift_at, row.gifts, (row.total_minor, page.currency)]
        if scored:
            cells += [row.recency, row.frequency, row.monetary]
        table.rows.append(cells)
        table.links.append(reverse("people:contact_detail", args=[slug, row.contact_id]))
    return table


def _lapsed(request: HttpRequest, kind: str) -> HttpResponse:
    page = reports.lapsed_donors(
        org=request.org,
        kind=kind,
        page=_page_number(request),  # type: ignore[attr-defined,arg-type]
    )
    titles = {
        "lybunt": (
            gettext("LYBUNT donors"),
            gettext("Gave last fiscal year, not yet this one. Lifetime totals."),
        ),
        "sybunt": (
            gettext("SYBUNT donors"),
            gettext("Gave in an earlier fiscal year, neither last year nor this one."),
        ),
    }
    title, intro = titles[kind]
    return _render(
        request,
        name=kind,
        title=title,
        table=_donor_table(request, page, scored=False),
        template="fundraising/reports/donors.html",
        page=page,
        intro=intro,
    )


@org_view(PERMISSION)
@require_GET
def report_lybunt(request: HttpRequest) -> HttpResponse:
    return _lapsed(request, "lybunt")


@org_view(PERMISSION)
@require_GET
def report_sybunt(request: HttpRequest) -> HttpResponse:
    return _lapsed(request, "sybunt")


@org_view(PERMISSION)
@require_GET
def report_recurring(request: HttpRequest) -> HttpResponse:
    result = reports.recurring_revenue(org=request.org)  # type: ignore[attr-defined]
    table = Table(
        [
            Column(gettext("Month"), "month"),
            Column(gettext("Active plans at start"), "int"),
            Column(gettext("New plans"), "int"),
            Column(gettext("Cancelled"), "int"),
            Column(gettext("Churn (%)"), "percent"),
            Column(gettext("MRR at start"), "money"),
        ]
    )
    for month in reversed(result.months):
        table.rows.append(
            [
                month.month,
                month.active_at_start,
                month.new,
                month.cancelled,
                month.churn_rate,
                (month.mrr_minor_at_start, result.currency),
            ]
        )
    mrr = [
        {
            "currency": row.currency,
            "plans": _html_cell("int", row.plans),
            "mrr": _html_cell("money", (row.mrr_minor, row.currency)),
        }
        for row in result.mrr
    ]
    return _render(
        request,
        name="recurring",
        title=gettext("Recurring revenue"),
        table=table,
        template="fundraising/reports/recurring.html",
        mrr=mrr,
    )


@org_view(PERMISSION)
@require_GET
def report_rfm(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    segments = reports.rfm_segments(org=org)
    table = Table(
        [
            Column(gettext("Segment"), "text"),
            Column(gettext("Donors"), "int"),
            Column(gettext("Given in the last 3 years"), "money"),
            Column(gettext("Rule"), "text"),
        ]
    )
    for segment in segments:
        table.rows.append(
            [segment.label, segment.donors, (segment.total_minor, org.currency), segment.rule]
        )
        table.links.append(reverse("fundraising:report_rfm_segment", args=[org.slug, segment.code]))
    return _render(
        request,
        name="rfm",
        title=gettext("RFM segments"),
        table=table,
        intro=gettext(
            "Donors of the last three years scored 1–5 by recency, frequency and amount "
            "(the fifth of donors they rank in), then grouped."
        ),
    )


@org_view(PERMISSION)
@require_GET
def report_rfm_segment(request: HttpRequest, segment: str) -> HttpResponse:
    if segment not in reports.SEGMENTS:
        raise Http404
    page = reports.rfm_donors(
        org=request.org,
        segment=segment,
        page=_page_number(request),  # type: ignore[attr-defined]
    )
    return _render(
        request,
        name=f"rfm-{segment}",
        title=str(reports.SEGMENTS[segment]),
        table=_donor_table(request, page, scored=True),
        template="fundraising/reports/donors.html",
        page=page,
        intro=str(reports.SEGMENT_RULES[segment]),
        back=reverse("fundraising:report_rfm", args=[request.org.slug]),  # type: ignore[attr-defined]
    )
