"""`make bench`: contact search and list latency on 100,000 contacts, and server memory.

For each database (SQLite always; PostgreSQL when DATABASE_URL is set or one answers on
127.0.0.1:5432 as user postgres), on a fresh data directory or a throwaway database:

1. migrate, then generate N contacts in one organization with the demo generator;
2. start `solidaria serve` (gunicorn) and time the API (`GET /api/v1/contacts`, bearer token)
   and the staff list page (`/app/<org>/contacts/`, session cookie) over varied queries,
   one request at a time; then run a concurrent burst while sampling the server's memory;
3. time, in-process on the same data, our search (`people.queries`) against the search a
   Django developer gets for free: the admin's `search_fields` (icontains across joins,
   `ModelAdmin.get_search_results`), and how often each finds the contact a query was made from.

Prints one JSON document and writes it to bench/out/<timestamp>.json. Only loopback
addresses; every loop is bounded in count and in time.
"""

import argparse
import contextlib
import datetime
import http.client
import http.cookiejar
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
SOLIDARIA = [sys.executable, "-m", "solidaria"]
ORG = "bench"
ADMIN_EMAIL = "admin@bench.demo"
PASSWORD = "solidaria-bench"  # noqa: S105 (a throwaway account on a throwaway database)
PAGE = 25
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SEARCH_KINDS = frozenset(
    {
        "name_prefix",
        "given_and_family",
        "accented_typed_plain",
        "accented_as_written",
        "arabic_script",
        "email_prefix",
        "phone_national",
        "phone_e164",
        "phone_partial",
    }
)
TARGETS = {"search_p95_ms": 50, "server_rss_mb": 300}


# -- the orchestrator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and database")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--donations", type=int, default=1_000_000, help="fundraising reports")
    parser.add_argument("--skip-fundraising", action="store_true")
    parser.add_argument(
        "--ledger-entries",
        type=int,
        default=1_000_000,
        help="entries for the ledger bench (bench/ledger.py); 0 skips it",
    )
    # The donation page under load (bench/giving.py).
    parser.add_argument("--skip-giving", action="store_true")
    parser.add_argument(
        "--giving-seconds",
        type=float,
        default=10.0,
        help="donation-page load per endpoint and run (bench/giving.py)",
    )
    load = sub.add_parser("_load", help="(internal) generate the data in this database")
    load.add_argument("--contacts", type=int, required=True)
    orm = sub.add_parser("_orm", help="(internal) in-process query timings")
    orm.add_argument("--queries", required=True)
    orm.add_argument("--requests", type=int, required=True)
    args = parser.parse_args()
    if args.step == "_load":
        print(json.dumps(_load_step(args.contacts)))
        return
    if args.step == "_orm":
        print(json.dumps(_orm_step(Path(args.queries), args.requests)))
        return
    report = run(contacts=args.contacts, requests=args.requests, postgres=not args.skip_postgres)
    if not args.skip_fundraising:
        import fundraising  # bench/fundraising.py: the reports on 1,000,000 donations

        report["fundraising"] = fundraising.run(
            donations=args.donations, postgres=not args.skip_postgres
        )
    if args.ledger_entries:
        import ledger  # bench/ledger.py, next to this file

        report["ledger"] = ledger.run(entries=args.ledger_entries, postgres=not args.skip_postgres)
    if not args.skip_giving:
        import giving  # bench/giving.py: the donation page's requests/s and p99 under load

        report["giving"] = giving.run(seconds=args.giving_seconds, postgres=not args.skip_postgres)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"{stamp}.json").write_text(text + "\n", encoding="utf-8")
    print(text)


def run(*, contacts: int, requests: int, postgres: bool) -> dict[str, Any]:
    report: dict[str, Any] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "contacts": contacts,
        "requests_per_endpoint": requests,
        "targets": TARGETS,
        "databases": {},
    }
    report["databases"]["sqlite"] = _bench_database("", contacts=contacts, requests=requests)
    if postgres:
        with _throwaway_postgres() as (url, reason):
            if url:
                report["databases"]["postgresql"] = _bench_database(
                    url, contacts=contacts, requests=requests
                )
            else:
                report["databases"]["postgresql"] = {"skipped": reason}
    else:
        report["databases"]["postgresql"] = {"skipped": "--skip-postgres"}
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["verdict"] = _verdict(report["databases"])
    return report


def _bench_database(database_url: str, *, contacts: int, requests: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="solidaria-bench-"))
    env = {
        **os.environ,
        "SOLIDARIA_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "SOLIDARIA_BASE_URL": "http://127.0.0.1:8000",
    }
    result: dict[str, Any] = {}
    try:
        _run([*SOLIDARIA, "migrate", "--verbosity", "0"], env, timeout=600)
        loaded = json.loads(
            _run(
                [sys.executable, __file__, "_load", "--contacts", str(contacts)], env, timeout=1800
            )
        )
        result["load_seconds"] = loaded["seconds"]
        result["rows"] = loaded["counts"]
        queries = loaded["queries"]
        queries_file = data_dir / "queries.json"
        queries_file.write_text(json.dumps(queries), encoding="utf-8")
        token = _run(
            [*SOLIDARIA, "token", "create", "--org", ORG, "--email", ADMIN_EMAIL], env, timeout=120
        ).strip()
        result["http"] = _bench_http(env, token=token, queries=queries, requests=requests)
        result["orm"] = json.loads(
            _run(
                [
                    sys.executable,
                    __file__,
                    "_orm",
                    "--queries",
                    str(queries_file),
                    "--requests",
                    str(requests),
                ],
                env,
                timeout=1800,
            )
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def _run(command: list[str], env: dict[str, str], *, timeout: float) -> str:
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def _throwaway_postgres() -> Iterator[tuple[str, str]]:
    """A new database on DATABASE_URL's server or the local one; dropped afterwards."""
    import psycopg

    base = os.environ.get("DATABASE_URL") or LOCAL_PG
    parts = urllib.parse.urlsplit(base)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        yield "", f"DATABASE_URL points at {parts.hostname}; the bench only uses loopback"
        return
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    name = f"solidaria_bench_{os.getpid()}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        yield "", f"no PostgreSQL at {parts.hostname}:{parts.port or 5432}: {error}".strip()
        return
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}")), ""
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _machine() -> dict[str, Any]:
    import sqlite3

    import django

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "web_concurrency": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "web_threads": int(os.environ.get("WEB_THREADS", "4")),
        # Other work on the machine skews every timing: compare runs at similar load only.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# -- through the real server


def _bench_http(
    env: dict[str, str], *, token: str, queries: list[dict[str, Any]], requests: int
) -> dict[str, Any]:
    port = _free_port()
    log_path = Path(env["SOLIDARIA_DATA_DIR"]) / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*SOLIDARIA, "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(port, server, log_path, seconds=60)
        api = Client(port, {"Authorization": f"Bearer {token}"})
        if api.get("/api/v1/contacts?limit=1")[0] != 200:
            return {"available": False, "reason": "GET /api/v1/contacts did not answer 200"}
        web = Client(port, {"Cookie": f"sessionid={_login(port)}"})
        if web.get(f"/app/{ORG}/contacts/")[0] != 200:
            return {"available": False, "reason": f"GET /app/{ORG}/contacts/ did not answer 200"}
        plan = [queries[i % len(queries)] for i in range(requests)]
        for query in queries:  # warm caches and connections, unmeasured
            api.get(_api_path(query))
            web.get(_web_path(query))
        return {
            "available": True,
            "api": _timed(api, [(q["kind"], _api_path(q)) for q in plan], seconds=300),
            "web": _timed(web, [(q["kind"], _web_path(q)) for q in plan], seconds=300),
            "under_load": _burst(port, token, queries, server.pid, seconds=120),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


class Client:
    """One keep-alive connection to the server on loopback."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = headers
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in range(2):  # gunicorn closes idle keep-alive connections after 2 s
            try:
                self.connection.request("GET", path, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def _timed(client: Client, plan: list[tuple[str, str]], *, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    by_kind: dict[str, list[float]] = {}
    errors = 0
    for kind, path in plan:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        status, _body = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            errors += 1
            continue
        by_kind.setdefault(kind, []).append(elapsed)
    return _summary(by_kind, errors=errors)


def _summary(by_kind: dict[str, list[float]], *, errors: int = 0) -> dict[str, Any]:
    everything = [ms for values in by_kind.values() for ms in values]
    search = [ms for kind, values in by_kind.items() if kind in SEARCH_KINDS for ms in values]
    return {
        "all": _stats(everything),
        "search": _stats(search),
        "by_kind": {kind: _stats(values) for kind, values in sorted(by_kind.items())},
        "errors": errors,
    }


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered) + 0.5) - 1)]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


def _burst(
    port: int, token: str, queries: list[dict[str, Any]], server_pid: int, *, seconds: float
) -> dict[str, Any]:
    """Four clients at once, 50 API requests each, sampling the server's memory meanwhile."""
    import psutil

    clients, per_client = 4, 50
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    stop = threading.Event()
    peak = {"rss": 0}

    def client_loop(index: int) -> None:
        client = Client(port, {"Authorization": f"Bearer {token}"})
        for i in range(per_client):
            if time.monotonic() > deadline:
                return
            path = _api_path(queries[(index * per_client + i) % len(queries)])
            started = time.perf_counter()
            client.get(path)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    def sampler() -> None:
        while not stop.wait(0.05):
            peak["rss"] = max(peak["rss"], _tree_memory(server_pid)["rss"])

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    elapsed = time.perf_counter() - started
    stop.set()
    watcher.join(timeout=5)
    memory = _tree_memory(server_pid)
    processes = 1 + len(psutil.Process(server_pid).children(recursive=True))
    return {
        "clients": clients,
        "latency": _stats(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "memory": {
            "processes": processes,
            "rss_mb_peak": round(max(peak["rss"], memory["rss"]) / 2**20, 1),
            "pss_mb": round(memory["pss"] / 2**20, 1),
            "uss_mb": round(memory["uss"] / 2**20, 1),
        },
    }


def _tree_memory(pid: int) -> dict[str, int]:
    """RSS, PSS and USS summed over the gunicorn master and its workers.

    RSS counts the pages the forked workers share with the master once per process; PSS
    shares them out, so it is what the server really costs the machine.
    """
    import psutil

    total = {"rss": 0, "pss": 0, "uss": 0}
    master = psutil.Process(pid)
    for process in [master, *master.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = process.memory_full_info()
            total["rss"] += info.rss
            total["pss"] += getattr(info, "pss", info.rss)
            total["uss"] += info.uss
    return total


def _api_path(query: dict[str, Any]) -> str:
    params = {**query["params"], "limit": PAGE}
    if "page" in params:
        params["offset"] = (int(params.pop("page")) - 1) * PAGE
    return "/api/v1/contacts?" + urllib.parse.urlencode(params)


def _web_path(query: dict[str, Any]) -> str:
    params = dict(query["params"])
    if "page" in params:
        # The list page shows 50 rows a page: ask for the page holding the same offset.
        params["page"] = (int(params["page"]) - 1) * PAGE // 50 + 1
    return f"/app/{ORG}/contacts/?" + urllib.parse.urlencode(params)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, server: subprocess.Popen, log: Path, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text(encoding="utf-8", errors="replace")
            raise SystemExit(f"solidaria serve exited with {server.returncode}:\n{output}")
        url = f"http://127.0.0.1:{port}/healthz"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"solidaria serve did not answer within {seconds} s")


def _login(port: int) -> str:
    """Log in through the allauth form; returns the session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    url = f"http://127.0.0.1:{port}/accounts/login/"
    with opener.open(url, timeout=30) as response:
        page = response.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if match is None:
        raise SystemExit("no CSRF token on the login page")
    form = {"csrfmiddlewaretoken": match.group(1), "login": ADMIN_EMAIL, "password": PASSWORD}
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(form).encode(), headers={"Referer": url}
    )
    with opener.open(request, timeout=30):
        pass
    for cookie in jar:
        if cookie.name == "sessionid":
            return str(cookie.value)
    raise SystemExit(f"could not log in as {ADMIN_EMAIL}")


def _verdict(databases: dict[str, Any]) -> dict[str, Any]:
    verdict: dict[str, Any] = {}
    for name, result in databases.items():
        if "skipped" in result:
            continue
        http_result = result.get("http", {})
        ours, admin = result["orm"]["ours"]["search"], result["orm"]["admin_icontains"]["search"]
        summary: dict[str, Any] = {
            "orm_search_median_ms": {
                "ours": ours.get("median_ms"),
                "admin": admin.get("median_ms"),
            },
            "orm_search_p95_ms": {"ours": ours.get("p95_ms"), "admin": admin.get("p95_ms")},
            "finds_the_contact": {
                "ours": result["orm"]["ours"]["finds_the_contact"],
                "admin": result["orm"]["admin_icontains"]["finds_the_contact"],
            },
        }
        if http_result.get("available"):
            p95 = http_result["api"]["search"].get("p95_ms")
            rss = http_result["under_load"]["memory"]["rss_mb_peak"]
            summary.update(
                {
                    "api_search_p95_ms": p95,
                    "api_search_p95_ok": p95 is not None and p95 < TARGETS["search_p95_ms"],
                    "server_rss_mb_peak": rss,
                    "server_rss_ok": rss < TARGETS["server_rss_mb"],
                }
            )
        else:
            p95 = ours.get("p95_ms")
            summary.update(
                {
                    "orm_search_p95_ok": p95 is not None and p95 < TARGETS["search_p95_ms"],
                    "http": "not measured: " + http_result.get("reason", "no server"),
                }
            )
        verdict[name] = summary
    return verdict


# -- inside a child process, on the database named by the environment


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidaria.settings")
    import django

    django.setup()


def _load_step(contacts: int) -> dict[str, Any]:
    _django()
    from django.db import transaction

    from solidaria.consent.actions import ensure_default_purposes
    from solidaria.core.actions import add_staff, create_organization
    from solidaria.demo.build import ACTOR, populate_organization, refresh_planner_statistics
    from solidaria.demo.data import BARCELONA

    started = time.perf_counter()
    with transaction.atomic():
        org = create_organization(
            actor=ACTOR,
            slug=ORG,
            name="Bench",
            country=BARCELONA.country,
            currency=BARCELONA.currency,
            language=BARCELONA.language,
            time_zone=BARCELONA.time_zone,
        )
        ensure_default_purposes(org=org, actor=ACTOR)
        admin = add_staff(
            org=org, actor=ACTOR, email=ADMIN_EMAIL, role="admin", password=PASSWORD
        ).user
        counts = populate_organization(
            org=org, profile=BARCELONA, contacts=contacts, seed=20250101, staff=[admin]
        )
    refresh_planner_statistics()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "counts": counts.as_dict(), "queries": _queries(org)}


def _queries(org: Any) -> list[dict[str, Any]]:
    """Queries a person would type, each made from one real contact (the `target`)."""
    import phonenumbers

    from solidaria.people.models import Contact, ContactEmail, ContactPhone, ContactTag
    from solidaria.people.normalize import fold

    rng = random.Random(7)
    people = list(
        Contact.objects.filter(organization=org, kind="person")
        .order_by("id")
        .values_list("id", "given_name", "family_name")[:20000]
    )
    sample = rng.sample(people, 40)
    accented = [p for p in people if not p[2].isascii() and not _is_arabic(p[2])]
    arabic = [p for p in people if _is_arabic(p[1])]
    emails = list(
        ContactEmail.objects.filter(organization=org)
        .order_by("id")
        .values_list("contact_id", "email")[:20000]
    )
    phones = list(
        ContactPhone.objects.filter(organization=org)
        .order_by("id")
        .values_list("contact_id", "number")[:20000]
    )
    tag = ContactTag.objects.filter(organization=org).values_list("tag__name", flat=True).first()
    total = Contact.objects.filter(organization=org).count()
    queries: list[dict[str, Any]] = []

    def add(kind: str, target: int | None, **params: Any) -> None:
        queries.append({"kind": kind, "target": target, "params": params})

    for i in range(4):
        pk, given, family = sample[i]
        add("name_prefix", pk, q=family.split(" ")[0][:4])
        pk, given, family = sample[10 + i]
        add("given_and_family", pk, q=f"{given.split(' ')[0]} {family.split(' ')[0][:3]}")
    for pk, _given, family in rng.sample(accented, 3):
        word = next(w for w in family.split(" ") if not w.isascii())
        add("accented_typed_plain", pk, q=fold(word)[:6])
        add("accented_as_written", pk, q=word[:6])
    for pk, given, _family in rng.sample(arabic, min(2, len(arabic))):
        add("arabic_script", pk, q=given.split(" ")[0])
    for pk, email in rng.sample(emails, 3):
        add("email_prefix", pk, q=email.split("@")[0][:6])
    for pk, number in rng.sample(phones, 3):
        parsed = phonenumbers.parse(number)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        add("phone_national", pk, q=national)
        add("phone_e164", pk, q=number)
        add("phone_partial", pk, q=str(parsed.national_number)[:6])
    add("list_first_page", None)
    add("list_deep_page", None, page=max(1, total // PAGE // 2))
    if tag:
        add("filter_tag", None, tag=tag)
    add("filter_role", None, role="volunteer")
    add("filter_role_and_name", None, role="donor", q=sample[30][2].split(" ")[0][:3])
    return queries


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _orm_step(queries_file: Path, requests: int) -> dict[str, Any]:
    """Our search against the admin's `search_fields`, timed in this process."""
    _django()
    from django.contrib.admin import AdminSite, ModelAdmin
    from django.core.paginator import Paginator

    from solidaria.core.models import Organization
    from solidaria.people.models import Contact
    from solidaria.people.queries import ContactFilters, contacts_for, with_details

    class ContactAdmin(ModelAdmin):
        # What a Django developer would write for this model.
        search_fields = ["name", "given_name", "family_name", "emails__email", "phones__number"]
        ordering = ["sort_name"]

    admin = ContactAdmin(Contact, AdminSite())
    org = Organization.objects.get(slug=ORG)
    queries = json.loads(queries_file.read_text(encoding="utf-8"))

    def ours(query: dict[str, Any]) -> tuple[Any, int]:
        p = query["params"]
        found = contacts_for(
            org=org,
            filters=ContactFilters(q=p.get("q", ""), tag=p.get("tag", ""), role=p.get("role", "")),
        )
        offset = (int(p.get("page", 1)) - 1) * PAGE
        list(with_details(found)[offset : offset + PAGE])
        found.count()
        return found, offset

    def theirs(query: dict[str, Any]) -> tuple[Any, int]:
        # ChangeList: tenant scope, list filters, search, distinct, "-pk" tiebreak, paginator.
        p = query["params"]
        found = Contact.objects.filter(organization=org)
        duplicates = False
        if p.get("tag"):
            found = found.filter(contact_tags__tag__name=p["tag"])
            duplicates = True
        if p.get("role"):
            found = found.filter(roles__role=p["role"])
            duplicates = True
        found, search_duplicates = admin.get_search_results(None, found, p.get("q", ""))
        if duplicates or search_duplicates:
            found = found.distinct()
        found = found.order_by("sort_name", "-pk")
        paginator = Paginator(found, PAGE)
        page = paginator.page(min(int(p.get("page", 1)), paginator.num_pages))
        list(page.object_list)
        Contact.objects.filter(organization=org).count()  # the admin's "N total"
        return found, 0

    result: dict[str, Any] = {}
    for name, run_query in (("ours", ours), ("admin_icontains", theirs)):
        by_kind: dict[str, list[float]] = {}
        deadline = time.monotonic() + 600
        for query in queries:  # warm-up
            run_query(query)
        for i in range(requests):
            if time.monotonic() > deadline:
                break
            query = queries[i % len(queries)]
            started = time.perf_counter()
            run_query(query)
            by_kind.setdefault(query["kind"], []).append((time.perf_counter() - started) * 1000)
        summary = _summary(by_kind)
        found_target = [
            run_query(q)[0].filter(pk=q["target"]).exists() for q in queries if q["target"]
        ]
        summary["finds_the_contact"] = f"{sum(found_target)}/{len(found_target)}"
        summary["misses_by_kind"] = sorted(
            {
                q["kind"]
                for q, found in zip([q for q in queries if q["target"]], found_target, strict=True)
                if not found
            }
        )
        result[name] = summary
    result["queries"] = [{"kind": q["kind"], **q["params"]} for q in queries]
    return result


if __name__ == "__main__":
    main()
