"""Fundraising reports on 1,000,000 donations: ours against the naive Django way, same data.

For each database (SQLite always; PostgreSQL when DATABASE_URL is set or one answers on
127.0.0.1:5432 as user postgres), on a fresh data directory or a throwaway database:

1. migrate, then write one organization with 200,000 donors, 5 funds, 10 campaigns,
   20,000 recurring plans and 1,000,000 confirmed gifts over four years (plus failed and
   pending ones, and refunds) with `bulk_create` straight into the tables. The gifts bypass
   the domain actions on purpose: the ledger, receipts and audit events are not what this
   measures, and posting a million ledger entries would take an hour. Then
   `refresh_planner_statistics()`, as after any bulk load;
2. time every report in `solidaria.fundraising.reports` (median and p95 of 5 runs after one
   warm-up), and the CSV download of each through the real views;
3. time, on the same data in the same process, what a Django developer would write first:
   Python-side aggregation over `Donation.objects.filter(...).values(...)` for income by
   month and LYBUNT, and ORM `annotate()` grouping (no report indexes, `TruncMonth` with the
   time zone) for income by month and by fund.

Prints one JSON document and writes it to bench/out/fundraising-<timestamp>.json.
`bench/run.py` calls `run()` and puts the result under `fundraising`.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOLIDARIA = [sys.executable, "-m", "solidaria"]
ORG = "bench-fundraising"
ADMIN_EMAIL = "admin@bench-fundraising.demo"
SEED = 20260101
RUNS = 5
TARGET_MS = 1000
DEFAULTS = {"donations": 1_000_000, "donors": 200_000, "plans": 20_000}
FUNDS = ("general", "water", "school", "clinic", "emergency")
CAMPAIGNS = 10
YEARS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step")
    parser.add_argument("--donations", type=int, default=DEFAULTS["donations"])
    parser.add_argument("--skip-postgres", action="store_true")
    child = sub.add_parser("_measure", help="(internal) load and time in this database")
    child.add_argument("--donations", type=int, required=True)
    args = parser.parse_args()
    if args.step == "_measure":
        print(json.dumps(_measure_step(args.donations)))
        return
    report = run(donations=args.donations, postgres=not args.skip_postgres)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"fundraising-{stamp}.json").write_text(text + "\n", encoding="utf-8")
    print(text)


def run(*, donations: int = DEFAULTS["donations"], postgres: bool = True) -> dict[str, Any]:
    """Both databases, each in a child process with its own settings."""
    from run import _machine, _throwaway_postgres

    report: dict[str, Any] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "donations": donations,
        "runs_per_report": RUNS,
        "target_ms": TARGET_MS,
        "databases": {},
    }
    report["databases"]["sqlite"] = _bench_database("", donations=donations)
    if postgres:
        with _throwaway_postgres() as (url, reason):
            report["databases"]["postgresql"] = (
                _bench_database(url, donations=donations) if url else {"skipped": reason}
            )
    else:
        report["databases"]["postgresql"] = {"skipped": "--skip-postgres"}
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["verdict"] = _verdict(report["databases"])
    return report


def _bench_database(database_url: str, *, donations: int) -> dict[str, Any]:
    from run import _run

    data_dir = Path(tempfile.mkdtemp(prefix="solidaria-bench-fundraising-"))
    env = {
        **os.environ,
        "SOLIDARIA_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    try:
        _run([*SOLIDARIA, "migrate", "--verbosity", "0"], env, timeout=600)
        command = [sys.executable, __file__, "_measure", "--donations", str(donations)]
        return json.loads(_run(command, env, timeout=3600))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _verdict(databases: dict[str, Any]) -> dict[str, Any]:
    verdict: dict[str, Any] = {}
    for name, result in databases.items():
        if "skipped" in result:
            continue
        ours = result["reports"]
        worst = max(ours.values(), key=lambda s: s["p95_ms"])
        verdict[name] = {
            "slowest_report_p95_ms": worst["p95_ms"],
            "every_report_under_1_s": all(s["p95_ms"] < TARGET_MS for s in ours.values()),
            "naive_median_ms": {k: v["median_ms"] for k, v in result["naive"].items()},
            "same_numbers_as_naive": result["naive_agrees"],
        }
    return verdict


# -- inside a child process, on the database named by the environment


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidaria.settings")
    import django

    django.setup()


def _measure_step(donations: int) -> dict[str, Any]:
    _django()
    from django.db import connection

    from solidaria.demo.build import refresh_planner_statistics

    started = time.perf_counter()
    org, counts = _load(donations=donations)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    refresh_planner_statistics()
    analyze_seconds = time.perf_counter() - started
    load_before = [round(x, 2) for x in os.getloadavg()]
    reports = _reports(org)
    ours = {name: _timed(call) for name, call in reports.items()}
    views = _views(org)
    naive = _naive(org)
    agrees = _naive_agrees(org)
    return {
        "vendor": connection.vendor,
        "load_average_before_timing": load_before,
        "load_seconds": round(load_seconds, 1),
        "analyze_seconds": round(analyze_seconds, 1),
        "rows": counts,
        "reports": ours,
        "csv_views": views,
        "naive": naive,
        "naive_agrees": agrees,
    }


def _timed(call: Callable[[], Any], runs: int = RUNS) -> dict[str, Any]:
    """Wall-clock median and p95 of `runs` runs after one warm-up, and this process's CPU
    time: on SQLite (in-process) that is the work itself, whatever else the machine runs."""
    call()  # warm-up: the first run pays for cold caches, unmeasured
    values = []
    cpu = []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        values.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
    }


def _reports(org: Any) -> dict[str, Callable[[], Any]]:
    from solidaria.fundraising import reports

    today = reports.local_today(org=org)
    start = today.replace(year=today.year - 1)
    return {
        "income_by_month": lambda: reports.income_by_month(org=org),
        "income_by_campaign_1y": lambda: reports.income_by(
            org=org, dimension="campaign", start=start, end=today
        ),
        "income_by_fund_1y": lambda: reports.income_by(
            org=org, dimension="fund", start=start, end=today
        ),
        "income_by_method_1y": lambda: reports.income_by(
            org=org, dimension="method", start=start, end=today
        ),
        "income_by_fund_all_time": lambda: reports.income_by(
            org=org, dimension="fund", start=today.replace(year=today.year - YEARS - 1), end=today
        ),
        "retention_5y": lambda: reports.retention(org=org),
        "lybunt_page_1": lambda: reports.lapsed_donors(org=org, kind="lybunt"),
        "sybunt_page_10": lambda: reports.lapsed_donors(org=org, kind="sybunt", page=10),
        "recurring_revenue": lambda: reports.recurring_revenue(org=org),
        "rfm_segments": lambda: reports.rfm_segments(org=org),
        "rfm_champions_page_1": lambda: reports.rfm_donors(org=org, segment="champions"),
    }


def _views(org: Any) -> dict[str, Any]:
    """The CSV downloads through Django's test client: the report plus the view around it."""
    from django.test import Client
    from django.urls import reverse

    from solidaria.core.models import User

    client = Client(HTTP_HOST="localhost")  # not "testserver": ALLOWED_HOSTS holds
    client.force_login(User.objects.get(email=ADMIN_EMAIL))
    result = {}
    for name in ("month", "campaign", "retention", "lybunt", "recurring", "rfm"):
        url = reverse(f"fundraising:report_{name}", args=[org.slug]) + "?format=csv"

        def fetch(url: str = url) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}")

        result[name] = _timed(fetch)
    return result


def _naive(org: Any) -> dict[str, Any]:
    """What a Django developer writes first, timed on the same data."""
    calls = _naive_calls(org)
    return {name: _timed(call, runs=3) for name, call in calls.items()}


def _naive_calls(org: Any) -> dict[str, Callable[[], Any]]:
    import zoneinfo

    from django.db.models import F, Sum
    from django.db.models.functions import TruncMonth

    from solidaria.fundraising import reports
    from solidaria.fundraising.models import Donation

    tz = zoneinfo.ZoneInfo(org.time_zone)
    today = reports.local_today(org=org)
    months_back = today.year * 12 + today.month - 1 - 23
    since = datetime.datetime(months_back // 12, months_back % 12 + 1, 1, tzinfo=tz)
    confirmed = Donation.objects.filter(organization=org, status="confirmed")

    def python_by_month() -> dict[tuple[int, int], int]:
        totals: dict[tuple[int, int], int] = {}
        rows = confirmed.filter(received_at__gte=since).values_list(
            "received_at", "amount_minor", "refunded_minor"
        )
        for at, amount, refunded in rows.iterator(chunk_size=10_000):
            local = at.astimezone(tz)
            key = (local.year, local.month)
            totals[key] = totals.get(key, 0) + amount - refunded
        return totals

    def orm_by_month() -> dict[tuple[int, int], int]:
        rows = (
            confirmed.filter(received_at__gte=since)
            .annotate(month=TruncMonth("received_at", tzinfo=tz))
            .values("month")
            .annotate(total=Sum(F("amount_minor") - F("refunded_minor")))
            .order_by("month")
        )
        return {(r["month"].year, r["month"].month): r["total"] for r in rows}

    def orm_by_fund() -> dict[str, int]:
        rows = (
            confirmed.values("fund__slug")
            .annotate(total=Sum(F("amount_minor") - F("refunded_minor")))
            .order_by("fund__slug")
        )
        return {r["fund__slug"]: r["total"] for r in rows}

    def python_lybunt() -> list[int]:
        this_year = reports.fiscal_year_of(org=org, day=today)
        last_start = reports.fiscal_year_start(org=org, year=this_year - 1)
        this_start = reports.fiscal_year_start(org=org, year=this_year)
        last_gift: dict[int, datetime.datetime] = {}
        total: dict[int, int] = {}
        rows = confirmed.values_list("contact_id", "received_at", "amount_minor", "refunded_minor")
        for contact, at, amount, refunded in rows.iterator(chunk_size=10_000):
            if amount <= refunded:
                continue
            if contact not in last_gift or at > last_gift[contact]:
                last_gift[contact] = at
            total[contact] = total.get(contact, 0) + amount - refunded
        lapsed = [c for c, at in last_gift.items() if last_start <= at < this_start]
        lapsed.sort(key=lambda c: (-total[c], c))
        return lapsed[: reports.PAGE_SIZE]

    return {
        "python_income_by_month": python_by_month,
        "orm_truncmonth_income_by_month": orm_by_month,
        "orm_annotate_income_by_fund_all_time": orm_by_fund,
        "python_lybunt_page_1": python_lybunt,
    }


def _naive_agrees(org: Any) -> dict[str, bool]:
    """The peers are only a fair comparison if they get the same numbers."""
    from solidaria.fundraising import reports

    calls = _naive_calls(org)
    ours_month = {
        (row.month.year, row.month.month): row.amount_minor
        for row in reports.income_by_month(org=org)
        if row.gifts
    }
    naive_month = calls["python_income_by_month"]()
    ours_lybunt = [row.contact_id for row in reports.lapsed_donors(org=org, kind="lybunt").rows]
    return {
        "income_by_month": ours_month == naive_month == calls["orm_truncmonth_income_by_month"](),
        "lybunt_page_1": ours_lybunt == calls["python_lybunt_page_1"](),
    }


# -- the data


def _load(*, donations: int) -> tuple[Any, dict[str, int]]:
    """One organization's four years of giving, deterministic for a given size."""
    from django.db import transaction
    from django.utils import timezone

    from solidaria.core.actions import add_staff, create_organization
    from solidaria.demo.build import ACTOR
    from solidaria.fundraising.models import (
        Campaign,
        Donation,
        Frequency,
        Fund,
        FundraisingSettings,
        Method,
        RecurringPlan,
    )
    from solidaria.people.models import Contact

    rng = random.Random(SEED)
    donors = max(10, donations // 5)
    plan_count = max(1, donations // 50)
    # Midnight UTC: two databases loaded the same day get the same gifts.
    now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    begin = now - datetime.timedelta(days=365 * YEARS)
    span = (now - begin).total_seconds()
    counts: dict[str, int] = {}
    with transaction.atomic():
        org = create_organization(
            actor=ACTOR,
            slug=ORG,
            name="Bench fundraising",
            currency="EUR",
            language="es",
            time_zone="Europe/Madrid",
        )
        add_staff(org=org, actor=ACTOR, email=ADMIN_EMAIL, role="admin")
        FundraisingSettings.objects.create(organization=org, fiscal_year_start_month=1)
        contacts = [
            Contact(
                organization=org,
                given_name=f"Donor{i}",
                family_name="Bench",
                name=f"Donor{i} Bench",
                sort_name=f"bench donor{i:06d}",
                created_at=begin,
            )
            for i in range(donors)
        ]
        Contact.objects.bulk_create(contacts, batch_size=5000)
        contact_ids = list(
            Contact.objects.filter(organization=org).order_by("id").values_list("id", flat=True)
        )
        funds = Fund.objects.bulk_create(
            [
                Fund(organization=org, slug=slug, name=slug.title(), restricted=slug != "general")
                for slug in FUNDS
            ]
        )
        campaigns = Campaign.objects.bulk_create(
            [
                Campaign(
                    organization=org,
                    slug=f"campaign-{i}",
                    title=f"Campaign {i}",
                    fund=funds[i % len(funds)],
                    currency="EUR",
                )
                for i in range(CAMPAIGNS)
            ]
        )
        plans = []
        frequencies = (Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.YEARLY)
        for i in range(plan_count):
            created = begin + datetime.timedelta(seconds=rng.random() * span * 0.9)
            cancelled = None
            if rng.random() < 0.35:
                cancelled = created + datetime.timedelta(days=rng.randint(60, 900))
                if cancelled >= now:
                    cancelled = None
            plans.append(
                RecurringPlan(
                    organization=org,
                    contact_id=contact_ids[i * 7 % donors],
                    amount_minor=rng.choice((500, 1000, 1000, 1500, 2000, 3000, 5000)),
                    currency="EUR",
                    fund=funds[0] if rng.random() < 0.6 else rng.choice(funds),
                    frequency=rng.choices(frequencies, weights=(85, 10, 5))[0],
                    method=rng.choices((Method.SEPA, Method.STRIPE), weights=(80, 20))[0],
                    status="cancelled" if cancelled else "active",
                    created_at=created,
                    cancelled_at=cancelled,
                )
            )
        RecurringPlan.objects.bulk_create(plans, batch_size=5000)
        plans = list(RecurringPlan.objects.filter(organization=org).order_by("id"))
        # Plan gifts: every due date from creation to cancellation (or now).
        step = {"monthly": 30.44, "quarterly": 91.3, "yearly": 365.25}
        gifts: list[tuple[datetime.datetime, int, int, int, Any, str]] = []
        for plan in plans:
            at = plan.created_at
            end = plan.cancelled_at or now
            while at < end and len(gifts) < donations * 0.45:
                gifts.append((at, plan.contact_id, plan.amount_minor, plan.fund_id, plan, "plan"))
                at += datetime.timedelta(days=step[plan.frequency])
        # One-off gifts: skewed donors (a few give often), more in December, growing a little.
        weights = [1 / (1 + i % 1000) ** 0.5 for i in range(donors)]
        cumulative = []
        acc = 0.0
        for w in weights:
            acc += w
            cumulative.append(acc)
        one_offs = donations - len(gifts)
        picked = rng.choices(contact_ids, cum_weights=cumulative, k=one_offs)
        for contact_id in picked:
            fraction = rng.random() ** 0.85
            at = begin + datetime.timedelta(seconds=fraction * span)
            if rng.random() < 0.08:  # year-end giving
                at = at.replace(month=12, day=rng.randint(1, 31))
                if at > now:
                    at = at.replace(year=at.year - 1)
            amount = rng.choice((1000, 2000, 2500, 3000, 5000, 5000, 10000, 20000, 50000))
            fund = funds[0] if rng.random() < 0.5 else rng.choice(funds)
            gifts.append((at, contact_id, amount, fund.pk, None, "once"))
        gifts.sort(key=lambda g: g[0])
        methods = [m.value for m in Method]
        failed = 0
        batch: list[Donation] = []
        for i, (at, contact_id, amount, fund_id, plan, _kind) in enumerate(gifts):
            refunded = 0
            if rng.random() < 0.015:
                refunded = amount if rng.random() < 0.7 else amount // 2
            batch.append(
                Donation(
                    organization=org,
                    contact_id=contact_id,
                    amount_minor=amount,
                    currency="EUR",
                    fund_id=fund_id,
                    campaign=rng.choice(campaigns) if rng.random() < 0.4 else None,
                    plan=plan,
                    method=plan.method if plan else rng.choices(methods, (30, 10, 35, 15, 7, 3))[0],
                    status="confirmed",
                    public_ref=f"B{i:015d}",
                    tracking_token=f"t{i:031d}",
                    created_at=at,
                    received_at=at,
                    confirmed_at=at,
                    ledger_seq=i,
                    refunded_minor=refunded,
                )
            )
            if rng.random() < 0.02:  # declined cards and abandoned transfers: never counted
                failed += 1
                batch.append(
                    Donation(
                        organization=org,
                        contact_id=contact_id,
                        amount_minor=amount,
                        currency="EUR",
                        fund_id=fund_id,
                        method=Method.STRIPE,
                        status=rng.choice(("failed", "pending")),
                        public_ref=f"F{i:015d}",
                        tracking_token=f"f{i:031d}",
                        created_at=at,
                        received_at=at if rng.random() < 0.5 else None,
                    )
                )
            if len(batch) >= 5000:
                Donation.objects.bulk_create(batch)
                batch = []
        Donation.objects.bulk_create(batch)
        counts = {
            "donors": donors,
            "funds": len(funds),
            "campaigns": len(campaigns),
            "plans": len(plans),
            "confirmed_donations": len(gifts),
            "failed_or_pending_donations": failed,
        }
    return org, counts


if __name__ == "__main__":
    main()
