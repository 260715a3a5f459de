"""The public transparency page (`/<org>/transparency/`) and the donor tracking data.

Every number here is read from the public ledger with grouped queries (a handful per page,
whatever the ledger's length), so the page says exactly what anyone recomputes from
`ledger.jsonl`. As in the tracing rule of docs/ledger.md, reversed entries and reversals
are left out: a corrected entry and its correction cancel out.
"""

import base64
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, get_currency_precision
from django.core.cache import cache
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from solidaria.core.models import Organization
from solidaria.fundraising.models import Campaign, Donation, Fund
from solidaria.ledger import queries as ledger_queries
from solidaria.ledger.models import LedgerEntry

GENERAL_GIVING = "general"
CACHE_SECONDS = 24 * 3600


# --- formatting ---------------------------------------------------------------------------


def money(amount_minor: int, currency: str, language: str | None = None) -> str:
    """Minor units as the visitor reads money: `12,50 €` in es, `€12.50` in en."""
    lang = (language or translation.get_language() or "en").replace("-", "_")
    value = Decimal(amount_minor).scaleb(-get_currency_precision(currency))
    try:
        return format_currency(value, currency, locale=lang)
    except (ValueError, LookupError):
        return format_currency(value, currency, locale="en")


def localized(texts: dict[str, Any] | None, key: str, fallback: str) -> str:
    """A name from a `{lang: {key: …}}` texts field, in the active language, else `fallback`."""
    lang = (translation.get_language() or "").split("-")[0]
    entry = (texts or {}).get(lang)
    if isinstance(entry, dict) and isinstance(entry.get(key), str) and entry[key].strip():
        return entry[key]
    return fallback


# --- what the ledger says, grouped --------------------------------------------------------


# (type, fund, to_fund, currency) -> amount, and for expenses (fund, currency, category) -> amount
Totals = dict[tuple[str, str, str, str], int]
CategoryTotals = dict[tuple[str, str, str], int]


def _aggregate(*, org: Organization, lo: int, hi: int) -> tuple[Totals, CategoryTotals]:
    """What entries lo <= seq < hi change in the totals of the log's first `hi` entries.

    Entries reversed within the range and the reversals themselves count for nothing; a
    reversal in the range of an entry before `lo` takes that entry's amount back out.
    Two grouped queries over the range (the (organization, seq) index), one more when a
    reversal in the range reaches back before it.
    """
    reversals = LedgerEntry.objects.filter(
        organization=org, seq__gte=lo, seq__lt=hi, type="reversal", reverses__isnull=False
    )
    live = (
        LedgerEntry.objects.filter(organization=org, seq__gte=lo, seq__lt=hi)
        .exclude(type="reversal")
        .exclude(seq__in=reversals.values("reverses"))
    )
    totals: dict[tuple[str, str, str, str], int] = defaultdict(int)
    categories: dict[tuple[str, str, str], int] = defaultdict(int)
    grouped = live.values("type", "fund", "to_fund", "currency").annotate(total=Sum("amount"))
    for item in grouped.order_by():
        key = (item["type"], item["fund"], item["to_fund"], item["currency"])
        totals[key] += int(item["total"] or 0)
    by_category = (
        live.filter(type="expense")
        .values("fund", "currency", "category")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for item in by_category:
        categories[(item["fund"], item["currency"], item["category"])] += int(item["total"] or 0)
    if lo > 0:
        taken_back = LedgerEntry.objects.filter(
            organization=org, seq__lt=lo, seq__in=reversals.values("reverses")
        ).values("type", "fund", "to_fund", "currency", "category", "amount")
        for e in taken_back:
            totals[(e["type"], e["fund"], e["to_fund"], e["currency"])] -= e["amount"]
            if e["type"] == "expense":
                categories[(e["fund"], e["currency"], e["category"])] -= e["amount"]
    return dict(totals), dict(categories)


def ledger_totals(*, org: Organization) -> tuple[Totals, CategoryTotals]:
    """Sums per (type, fund, to_fund, currency) and expenses per (fund, currency, category)
    over the whole log.

    The log only grows, so the totals are cached with the size they cover, and a later call
    adds only what was appended since: a page over a million entries reads a few new rows.
    """
    size = ledger_queries.log_size(org=org)
    key = f"solidaria.transparency:{org.pk}:{org.slug}"
    cached = cache.get(key)
    if cached is not None and cached[0] == size:
        return cached[1], cached[2]
    if cached is not None and cached[0] < size:
        start, totals, categories = cached
    else:
        start, totals, categories = 0, {}, {}
    more, more_categories = _aggregate(org=org, lo=start, hi=size)
    totals, categories = dict(totals), dict(categories)
    for k, v in more.items():
        totals[k] = totals.get(k, 0) + v
    for k, v in more_categories.items():
        categories[k] = categories.get(k, 0) + v
    totals = {k: v for k, v in totals.items() if v}
    categories = {k: v for k, v in categories.items() if v}
    cache.set(key, (size, totals, categories), timeout=CACHE_SECONDS)
    return totals, categories


@dataclass
class FundRow:
    slug: str
    name: str
    currency: str
    received: int = 0
    moved_in: int = 0
    moved_out: int = 0
    spent: int = 0
    refunded: int = 0

    @property
    def balance(self) -> int:
        return self.received + self.moved_in - self.moved_out - self.spent - self.refunded


@dataclass
class Summary:
    funds: list[FundRow]
    # (currency, category) -> spent; and (fund, currency, category) -> spent
    categories: dict[tuple[str, str], int]
    fund_categories: dict[tuple[str, str, str], int]
    # currency -> (from fund, to fund) -> moved
    allocations: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    totals: dict[str, FundRow] = field(default_factory=dict)


def summary_for(*, org: Organization) -> Summary:
    """Per fund and currency: received, moved in/out, spent, refunded, balance; spending by
    category. From `ledger_totals` (cached, incremental) and one query for the fund names."""
    funds_here = list(Fund.objects.filter(organization=org))
    names = {fund.slug: localized(fund.texts, "name", fund.name) for fund in funds_here}
    rows: dict[tuple[str, str], FundRow] = {}
    allocations: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))

    def row(slug: str, currency: str) -> FundRow:
        key = (slug, currency)
        if key not in rows:
            rows[key] = FundRow(slug=slug, name=names.get(slug, slug), currency=currency)
        return rows[key]

    totals_by_key, by_category = ledger_totals(org=org)
    for (kind, fund, to_fund, currency), total in sorted(totals_by_key.items()):
        if kind == "income":
            row(fund, currency).received += total
        elif kind == "expense":
            row(fund, currency).spent += total
        elif kind == "refund":
            row(fund, currency).refunded += total
        elif kind == "allocation":
            row(fund, currency).moved_out += total
            row(to_fund, currency).moved_in += total
            allocations[currency][(fund, to_fund)] += total
    fund_categories: dict[tuple[str, str, str], int] = {}
    categories: dict[tuple[str, str], int] = defaultdict(int)
    for (fund, currency, category), total in sorted(by_category.items()):
        fund_categories[(fund, currency, category)] = total
        categories[(currency, category)] += total
    # Funds with no money yet still belong on the page, in the organization's currency.
    for fund in funds_here:
        if fund.archived_at is None and not any(slug == fund.slug for slug, _currency in rows):
            row(fund.slug, org.currency)
    funds = sorted(rows.values(), key=lambda r: (r.currency != org.currency, r.currency, r.name))
    totals: dict[str, FundRow] = {}
    for r in funds:
        t = totals.setdefault(r.currency, FundRow(slug="", name=_("Total"), currency=r.currency))
        t.received += r.received
        t.spent += r.spent
        t.refunded += r.refunded
        # Money moved between funds stays in the organization: it nets out of the total.
    return Summary(
        funds=funds,
        categories=dict(sorted(categories.items(), key=lambda kv: (kv[0][0], -kv[1]))),
        fund_categories=fund_categories,
        allocations={cur: dict(pairs) for cur, pairs in allocations.items()},
        totals=totals,
    )


def _campaign_income(*, org: Organization) -> dict[tuple[str, str], dict[int, int]]:
    """(fund slug, currency) -> {campaign id: amount received} for confirmed campaign gifts."""
    result: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    grouped = (
        Donation.objects.filter(
            organization=org,
            status=Donation.Status.CONFIRMED,
            campaign__isnull=False,
            ledger_seq__isnull=False,
        )
        .values("fund__slug", "currency", "campaign")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    )
    for item in grouped:
        result[(item["fund__slug"], item["currency"])][item["campaign"]] = int(item["total"] or 0)
    return result


def _creates_cycle(edges: dict[str, set[str]], source: str, target: str) -> bool:
    """Would the edge source→target close a loop? (ECharts refuses cyclic Sankey data.)"""
    seen, stack = set(), [target]
    while stack:
        node = stack.pop()
        if node == source:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, ()))
    return False


def sankey_for(*, org: Organization, summary: Summary) -> list[dict[str, Any]]:
    """One Sankey per currency: gifts (by campaign, or general giving) → funds → expense
    categories, plus refunds and what is still available, so each fund's flows balance.

    Shape: `[{"currency", "digits", "nodes": [{"id", "label", "kind"}],
    "links": [{"source", "target", "value"}]}]`, values in minor units.
    """
    campaign_income = _campaign_income(org=org)
    campaign_ids = {cid for per_fund in campaign_income.values() for cid in per_fund}
    campaigns = {
        c.pk: c
        for c in Campaign.objects.filter(organization=org, pk__in=campaign_ids, published=True)
    }
    charts: dict[str, dict[str, Any]] = {}

    def chart(currency: str) -> dict[str, Any]:
        if currency not in charts:
            charts[currency] = {
                "currency": currency,
                "digits": get_currency_precision(currency),
                "nodes": {},
                "links": defaultdict(int),
            }
        return charts[currency]

    def node(c: dict[str, Any], node_id: str, label: str, kind: str) -> str:
        c["nodes"].setdefault(node_id, {"id": node_id, "label": label, "kind": kind})
        return node_id

    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in summary.funds:
        c = chart(r.currency)
        fund_node = f"fund:{r.slug}"
        if r.received:
            remaining = r.received
            for cid, amount in sorted(campaign_income.get((r.slug, r.currency), {}).items()):
                campaign = campaigns.get(cid)
                if campaign is None or amount <= 0:
                    continue  # gifts to unpublished campaigns count as general giving
                amount = min(amount, remaining)
                title = localized(campaign.texts, "title", campaign.title)
                src = node(c, f"campaign:{campaign.slug}", title, "source")
                c["links"][(src, fund_node)] += amount
                remaining -= amount
            if remaining > 0:
                src = node(c, GENERAL_GIVING, _("General giving"), "source")
                c["links"][(src, fund_node)] += remaining
        if r.refunded:
            dst = node(c, "refunded", _("Refunded to donors"), "refunded")
            c["links"][(fund_node, dst)] += r.refunded
        if r.balance > 0:
            dst = node(c, "available", _("Not spent yet"), "available")
            c["links"][(fund_node, dst)] += r.balance
        if any(key[0] == fund_node or key[1] == fund_node for key in c["links"]):
            node(c, fund_node, r.name, "fund")
    for (fund, currency, category), amount in sorted(summary.fund_categories.items()):
        if amount <= 0:
            continue
        c = chart(currency)
        fund_node = node(c, f"fund:{fund}", fund_name_of(summary, fund), "fund")
        cat = node(c, f"category:{category}", category or _("Uncategorized"), "category")
        c["links"][(fund_node, cat)] += amount
    for currency, pairs in _allocations(summary=summary).items():
        c = chart(currency)
        for (src_fund, dst_fund), amount in sorted(pairs.items()):
            src = node(c, f"fund:{src_fund}", fund_name_of(summary, src_fund), "fund")
            dst = node(c, f"fund:{dst_fund}", fund_name_of(summary, dst_fund), "fund")
            if _creates_cycle(edges[currency], src, dst):
                continue
            edges[currency][src].add(dst)
            c["links"][(src, dst)] += amount
    result = []
    for currency in sorted(charts, key=lambda cur: (cur != org.currency, cur)):
        c = charts[currency]
        links = [
            {"source": s, "target": t, "value": v} for (s, t), v in c["links"].items() if v > 0
        ]
        if not links:
            continue
        used = {link["source"] for link in links} | {link["target"] for link in links}
        nodes = [n for n in c["nodes"].values() if n["id"] in used]
        result.append({"currency": currency, "digits": c["digits"], "nodes": nodes, "links": links})
    return result


def fund_name_of(summary: Summary, slug: str) -> str:
    return next((r.name for r in summary.funds if r.slug == slug), slug)


def _allocations(*, summary: Summary) -> dict[str, dict[tuple[str, str], int]]:
    """Net money moved between each two funds, per currency (A→B minus B→A)."""
    result: dict[str, dict[tuple[str, str], int]] = {}
    for currency, pairs in summary.allocations.items():
        net: dict[tuple[str, str], int] = {}
        for (a, b), amount in pairs.items():
            if a == b:
                continue
            back = pairs.get((b, a), 0)
            if amount > back:
                net[(a, b)] = amount - back
        result[currency] = net
    return result


# --- the page -----------------------------------------------------------------------------


def org_or_404(org_slug: str) -> Organization:
    org = Organization.objects.filter(slug=org_slug).first()
    if org is None:
        raise Http404
    return org


def checkpoint_public(checkpoint: Any, org: Organization) -> dict[str, Any] | None:
    """The latest signed tree head as `checkpoint.json` publishes it."""
    if checkpoint is None:
        return None
    return ledger_queries.checkpoint_json(checkpoint, org=org)


@require_GET
def page(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = org_or_404(org_slug)
    summary = summary_for(org=org)
    charts = sankey_for(org=org, summary=summary)
    lang = translation.get_language()
    for c in charts:
        labels = {n["id"]: n["label"] for n in c["nodes"]}
        c["locale"] = lang
        c["rows"] = [
            {
                "from": labels[link["source"]],
                "to": labels[link["target"]],
                "amount": money(link["value"], c["currency"]),
            }
            for link in c["links"]
        ]
    checkpoint = ledger_queries.latest_checkpoint(org=org)
    with timezone.override(org.time_zone):
        context = {
            "org": org,
            "funds": [_fund_display(r) for r in summary.funds],
            "totals": [_fund_display(t) for t in summary.totals.values()],
            "categories": [
                {"currency": cur, "category": cat or _("Uncategorized"), "amount": money(v, cur)}
                for (cur, cat), v in summary.categories.items()
            ],
            "charts": charts,
            "chart_data": [
                {k: c[k] for k in ("currency", "digits", "locale", "nodes", "links")}
                for c in charts
            ],
            "checkpoint": checkpoint_public(checkpoint, org),
            "checkpoint_at": checkpoint.timestamp if checkpoint is not None else None,
            "public_key": public_key_b64(org),
            "links": machine_links(org),
        }
        return render(request, "fundraising/transparency/page.html", context)


def public_key_b64(org: Organization) -> str:
    """The Ed25519 public key as the `key` endpoint serves it (base64 of the raw bytes)."""
    raw = ledger_queries.public_key(org=org)
    return base64.b64encode(raw).decode("ascii") if raw else ""


def _fund_display(r: FundRow) -> dict[str, Any]:
    return {
        "slug": r.slug,
        "name": r.name,
        "currency": r.currency,
        "received": money(r.received, r.currency),
        "moved": money(r.moved_in - r.moved_out, r.currency),
        "spent": money(r.spent, r.currency),
        "refunded": money(r.refunded, r.currency),
        "balance": money(r.balance, r.currency),
    }


def machine_links(org: Organization) -> dict[str, str]:
    return {
        "ledger": reverse("ledger:jsonl", args=[org.slug]),
        "checkpoint": reverse("ledger:checkpoint", args=[org.slug]),
        "key": reverse("ledger:key", args=[org.slug]),
        "page": reverse("fundraising_transparency:page", args=[org.slug]),
    }
