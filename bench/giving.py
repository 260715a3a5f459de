"""The public donation page under load: requests per second and p99, against this stack's ceiling.

For each database (SQLite always; PostgreSQL when DATABASE_URL is set or one answers on
127.0.0.1:5432 as user postgres, as `bench/run.py` decides), on a fresh data directory or a
throwaway database:

1. migrate, `solidaria org create`, then, in a child process through the domain actions, what
   the demo's donation page has: the general fund and three restricted funds, fundraising
   settings with the organization's bank IBAN (so bank transfer is offered) and presets, a SEPA
   creditor account, and a published campaign;
2. start `solidaria serve` (gunicorn, WEB_CONCURRENCY x WEB_THREADS as `bench/run.py` does);
3. a closed-loop load generator on loopback: N client processes (no shared GIL), each with one
   keep-alive connection, sending its next request as soon as the previous answer is read, for
   a fixed time. Measured: `GET /<org>/donate` (rotating Accept-Language), `GET /<org>/c/<slug>`,
   `POST /<org>/donate` (a real bank-transfer gift from a new donor each time: the client GETs
   the page once for its CSRF cookie and token, then posts; the gifts in the database are
   counted afterwards and must equal the 303 answers), and the ceiling of the same server:
   the stylesheet through whitenoise (`/static/web/solidaria.css`, about the page's size)
   and `/healthz`;
4. the bytes a first visit costs: the page's HTML in each language plus the stylesheet,
   against the 30 KB budget (as served, uncompressed: nothing on this stack gzips them).

Endpoints are interleaved within each run, so a change in the machine's load hits all of them.
`bench/run.py` calls `run()` and puts the result under `giving`; alone, it prints the JSON and
writes bench/out/giving-<timestamp>.json. Only loopback; every loop bounded in time and count.
"""

import argparse
import contextlib
import datetime
import gzip
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

HERE = Path(__file__).resolve().parent
SOLIDARIA = [sys.executable, "-m", "solidaria"]
ORG = "bench-giving"
CAMPAIGN = "winter-appeal"
LANGUAGES = ("en", "es", "ca", "de", "fr", "ar")
CSS = "/static/web/solidaria.css"
TARGETS = {"get_p99_ms": 100, "page_and_css_kb": 30}
MAX_REQUESTS_PER_CLIENT = 200_000  # the count bound next to the time bound
WARM_UP_SECONDS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--runs", type=int, default=3, help="medians over this many runs")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="GET load: wrk when installed (auto), else the Python generator; POSTs: Python",
    )
    sub.add_parser("_setup", help="(internal) configure the donation page in this database")
    sub.add_parser("_count", help="(internal) count the organization's gifts")
    args = parser.parse_args()
    if args.step == "_setup":
        print(json.dumps(_setup_step()))
        return
    if args.step == "_count":
        print(json.dumps(_count_step()))
        return
    report = run(
        seconds=args.seconds,
        clients=args.clients,
        runs=args.runs,
        postgres=not args.skip_postgres,
        generator=args.generator,
    )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"giving-{stamp}.json").write_text(text + "\n", encoding="utf-8")
    print(text)


def run(
    *,
    seconds: float = 10.0,
    clients: int = 8,
    runs: int = 3,
    postgres: bool = True,
    generator: str = "auto",
) -> dict[str, Any]:
    from run import _machine, _throwaway_postgres

    seconds = float(max(1, min(round(seconds), 300)))  # wrk takes whole seconds
    clients = max(1, min(clients, 256))
    runs = max(1, min(runs, 10))
    wrk = shutil.which("wrk") if generator in {"auto", "wrk"} else None
    if generator == "wrk" and wrk is None:
        raise SystemExit("--generator wrk: wrk is not installed (apt-get install -y wrk)")
    report: dict[str, Any] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "generator": {
            "get": _wrk_version(wrk) if wrk else "python",
            "post": "python",
            "python": "closed loop: one process per client, one keep-alive http.client "
            "connection each, next request as soon as the answer is read",
            "wrk": f"wrk -t{min(clients, os.cpu_count() or 1)} -c{clients} --timeout 30s, "
            "a Lua script rotating Accept-Language and reporting p50/p95/p99"
            if wrk
            else "not installed: GETs by the Python generator",
            "clients": clients,
            "seconds_per_endpoint_and_run": seconds,
            "runs": runs,
            "note": "the generator runs on the same CPUs as the server",
        },
        "targets": TARGETS,
        "databases": {},
    }
    options = {"seconds": seconds, "clients": clients, "runs": runs, "wrk": wrk}
    report["databases"]["sqlite"] = _bench_database("", **options)
    if postgres:
        with _throwaway_postgres() as (url, reason):
            report["databases"]["postgresql"] = (
                _bench_database(url, **options) if url else {"skipped": reason}
            )
    else:
        report["databases"]["postgresql"] = {"skipped": "--skip-postgres"}
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["verdict"] = _verdict(report["databases"])
    return report


def _bench_database(
    database_url: str, *, seconds: float, clients: int, runs: int, wrk: str | None
) -> dict[str, Any]:
    from run import _run

    data_dir = Path(tempfile.mkdtemp(prefix="solidaria-bench-giving-"))
    env = {
        **os.environ,
        "SOLIDARIA_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "SOLIDARIA_BASE_URL": "http://127.0.0.1:8000",
    }
    try:
        _run([*SOLIDARIA, "migrate", "--verbosity", "0"], env, timeout=600)
        org_create = [*SOLIDARIA, "org", "create", ORG, "--name", "Banc Solidari del Barri"]
        org_create += ["--country", "ES", "--currency", "EUR", "--language", "es"]
        _run([*org_create, "--time-zone", "Europe/Madrid"], env, timeout=120)
        setup = json.loads(_run([sys.executable, __file__, "_setup"], env, timeout=120))
        with _server(env) as port:
            result = _measure(port, env, seconds=seconds, clients=clients, runs=runs, wrk=wrk)
        result["setup"] = setup
        return result
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def _server(env: dict[str, str]) -> Iterator[int]:
    from run import _free_port, _wait_until_up

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
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


# -- what is measured


def _endpoints() -> dict[str, dict[str, Any]]:
    """Name: what each client sends. `languages` rotate Accept-Language per request."""
    return {
        "donate_get": {"method": "GET", "path": f"/{ORG}/donate", "languages": LANGUAGES},
        "campaign_get": {
            "method": "GET",
            "path": f"/{ORG}/c/{CAMPAIGN}",
            "languages": LANGUAGES,
        },
        "donate_post": {"method": "POST", "path": f"/{ORG}/donate", "languages": ("es",)},
        # The ceiling: the same server, no view, no database.
        "static_css": {"method": "GET", "path": CSS, "languages": ("en",)},
        "healthz": {"method": "GET", "path": "/healthz", "languages": ("en",)},
    }


def _measure(
    port: int, env: dict[str, str], *, seconds: float, clients: int, runs: int, wrk: str | None
) -> dict[str, Any]:
    from run import _run

    endpoints = _endpoints()
    result: dict[str, Any] = {"bytes": _page_bytes(port)}

    def load(spec: dict[str, Any], duration: float, tag: str) -> dict[str, Any]:
        if wrk and spec["method"] == "GET":
            return _load_wrk(wrk, port, spec, clients=clients, seconds=duration)
        return _load(port, spec, clients=clients, seconds=duration, tag=tag)

    for name, spec in endpoints.items():  # warm every worker's caches, unmeasured
        load(spec, WARM_UP_SECONDS, f"warm-{name}")
    before = json.loads(_run([sys.executable, __file__, "_count"], env, timeout=120))
    per_run: dict[str, list[dict[str, Any]]] = {name: [] for name in endpoints}
    for index in range(runs):
        for name, spec in endpoints.items():
            per_run[name].append(load(spec, seconds, f"r{index}"))
    after = json.loads(_run([sys.executable, __file__, "_count"], env, timeout=120))
    # One client alone: the page's own time, without queueing behind the other clients.
    result["donate_get_one_client"] = _load(
        port, endpoints["donate_get"], clients=1, seconds=min(seconds, 5.0), tag="one"
    )
    result["endpoints"] = {
        name: {"median_of_runs": _median_of_runs(results), "runs": results}
        for name, results in per_run.items()
    }
    posted = sum(r["status"].get("303", 0) for r in per_run["donate_post"])
    warm_posts = after["warm_up_donors"]
    result["gifts"] = {
        "answered_303": posted,
        "created": after["donations"] - before["donations"],
        "pending_bank_transfers_created": after["pending_bank_transfer"]
        - before["pending_bank_transfer"],
        "new_contacts": after["contacts"] - before["contacts"],
        "warm_up_gifts_before_measuring": warm_posts,
    }
    result["gifts"]["all_real"] = result["gifts"]["created"] == posted and posted > 0
    return result


def _median_of_runs(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("requests_per_second", "p50_ms", "p95_ms", "p99_ms", "max_ms")
    summary: dict[str, Any] = {}
    for key in keys:
        values = [
            r["latency"].get(key) if key != "requests_per_second" else r[key] for r in results
        ]
        values = [v for v in values if v is not None]
        summary[key] = round(statistics.median(values), 2) if values else None
    summary["requests"] = sum(r["requests"] for r in results)
    summary["errors"] = sum(r["errors"] for r in results)
    return summary


def _page_bytes(port: int) -> dict[str, Any]:
    """What a first visit downloads: the HTML (each language) and the stylesheet."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        css = _fetch(connection, CSS, "en")
        pages: dict[str, Any] = {}
        for label, path in (("donate", f"/{ORG}/donate"), ("campaign", f"/{ORG}/c/{CAMPAIGN}")):
            by_language = {lang: _fetch(connection, path, lang) for lang in LANGUAGES}
            largest = max(by_language.values(), key=len)
            pages[label] = {
                "html_bytes": {lang: len(body) for lang, body in by_language.items()},
                "largest_html_plus_css_bytes": len(largest) + len(css),
                "largest_html_plus_css_kb": round((len(largest) + len(css)) / 1024, 1),
                "gzip_html_plus_css_bytes": len(gzip.compress(largest)) + len(gzip.compress(css)),
            }
        return {"css_bytes": len(css), "pages": pages, "compressed_on_the_wire": False}
    finally:
        connection.close()


def _fetch(connection: http.client.HTTPConnection, path: str, lang: str) -> bytes:
    connection.request("GET", path, headers={"Accept-Language": lang})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"GET {path} ({lang}) answered {response.status}")
    return body


# -- the load generator


def _load(
    port: int, spec: dict[str, Any], *, clients: int, seconds: float, tag: str
) -> dict[str, Any]:
    """`clients` processes in a closed loop for `seconds`; latencies in ms, statuses, errors."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 0.5  # every client starts together, after its CSRF fetch
    processes = [
        context.Process(
            target=_client, args=(queue, port, spec, index, seconds, start_at, tag), daemon=True
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    outcomes = []
    deadline = time.monotonic() + seconds + 60
    for _ in processes:
        remaining = max(1.0, deadline - time.monotonic())
        try:
            outcomes.append(queue.get(timeout=remaining))
        except Empty:  # a client that hung: counted as an error below
            break
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
    latencies = [ms for outcome in outcomes for ms in outcome["latencies"]]
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        for status, count in outcome["status"].items():
            statuses[status] = statuses.get(status, 0) + count
    errors = sum(o["errors"] for o in outcomes) + (clients - len(outcomes))
    elapsed = max((o["elapsed"] for o in outcomes), default=seconds)
    expected = "303" if spec["method"] == "POST" else "200"
    unexpected = sum(count for status, count in statuses.items() if status != expected)
    return {
        "generator": "python",
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "latency": _latency(latencies),
        "status": statuses,
        "errors": errors + unexpected,
        "bytes_per_response": round(sum(o["bytes"] for o in outcomes) / max(1, len(latencies)), 1),
        "client_cpu_seconds": round(sum(o["cpu"] for o in outcomes), 2),
    }


WRK_SCRIPT = """
local languages = {%(languages)s}
local counter = 0
request = function()
  counter = counter + 1
  wrk.headers["Accept-Language"] = languages[(counter %% #languages) + 1]
  return wrk.format("GET", "%(path)s")
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"timeout":%%d,"non_2xx_3xx":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.timeout, e.status, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().split("\n")[0] or "wrk"


def _load_wrk(
    wrk: str, port: int, spec: dict[str, Any], *, clients: int, seconds: float
) -> dict[str, Any]:
    """The same closed loop by wrk: `clients` keep-alive connections on as many threads as CPUs."""
    languages = ", ".join(f'"{lang}"' for lang in spec["languages"])
    script = WRK_SCRIPT % {"languages": languages, "path": spec["path"]}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    threads = max(1, min(clients, os.cpu_count() or 1))
    command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{round(seconds)}s", "--timeout", "30s"]
    command += ["-s", handle.name, f"http://127.0.0.1:{port}{spec['path']}"]
    cpu_before = os.times()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        os.unlink(handle.name)
    cpu_after = os.times()
    line = next((x for x in done.stdout.splitlines() if x.startswith("{")), "")
    if done.returncode != 0 or not line:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    found = json.loads(line)
    errors = sum(found[k] for k in ("connect", "read", "write", "timeout", "non_2xx_3xx"))
    elapsed = found["duration_us"] / 1e6
    return {
        "generator": "wrk",
        "requests": found["requests"],
        "requests_per_second": round(found["requests"] / elapsed, 1) if elapsed else 0.0,
        "latency": {
            "n": found["requests"],
            **{f"p{p}_ms": round(found[f"p{p}_us"] / 1000, 2) for p in (50, 95, 99)},
            "max_ms": round(found["max_us"] / 1000, 2),
        },
        "status": {"2xx_3xx": found["requests"] - found["non_2xx_3xx"]},
        "errors": errors,
        "bytes_per_response": round(found["bytes"] / max(1, found["requests"]), 1),
        "client_cpu_seconds": round(
            (cpu_after.children_user + cpu_after.children_system)
            - (cpu_before.children_user + cpu_before.children_system),
            2,
        ),
    }


def _latency(values: list[float]) -> dict[str, Any]:
    from run import _stats

    stats = _stats(values)
    if not values:
        return stats
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))], 2)

    return {
        "n": stats["n"],
        "p50_ms": stats["median_ms"],
        "p95_ms": stats["p95_ms"],
        "p99_ms": rank(99),
        "max_ms": stats["max_ms"],
    }


def _client(
    queue: Any,
    port: int,
    spec: dict[str, Any],
    index: int,
    seconds: float,
    start_at: float,
    tag: str,
) -> None:
    """One closed-loop client (a forked process): keep-alive, next request on each answer."""
    cpu_start = time.process_time()
    latencies: list[float] = []
    status: dict[str, int] = {}
    errors = 0
    received = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept-Language": "en"}
    post_fields: dict[str, str] = {}
    try:
        if spec["method"] == "POST":
            cookie, token = _csrf(connection, spec["path"])
            headers = {
                "Cookie": f"csrftoken={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept-Language": "es",
            }
            post_fields = {"csrfmiddlewaretoken": token}
    except (OSError, http.client.HTTPException, SystemExit):
        queue.put(
            {"latencies": [], "status": {}, "errors": 1, "bytes": 0, "elapsed": seconds, "cpu": 0}
        )
        return
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    deadline = started + seconds
    languages = spec["languages"]
    for i in range(MAX_REQUESTS_PER_CLIENT):
        if time.perf_counter() >= deadline:
            break
        headers["Accept-Language"] = languages[(index + i) % len(languages)]
        body = None
        if spec["method"] == "POST":
            body = urllib.parse.urlencode(_gift(post_fields, f"{tag}-{index}-{i}")).encode()
        sent = time.perf_counter()
        try:
            connection.request(spec["method"], spec["path"], body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - sent) * 1000)
        key = str(response.status)
        status[key] = status.get(key, 0) + 1
        received += len(payload)
        if response.will_close:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    elapsed = time.perf_counter() - started
    connection.close()
    queue.put(
        {
            "latencies": latencies,
            "status": status,
            "errors": errors,
            "bytes": received,
            "elapsed": elapsed,
            "cpu": time.process_time() - cpu_start,
        }
    )


def _csrf(connection: http.client.HTTPConnection, path: str) -> tuple[str, str]:
    """GET the page as a donor's browser does: the CSRF cookie and the form's token."""
    connection.request("GET", path, headers={"Accept-Language": "es"})
    response = connection.getresponse()
    page = response.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if cookie is None or token is None:
        raise SystemExit(f"no CSRF cookie or token on {path}")
    return cookie.group(1), token.group(1)


def _gift(fields: dict[str, str], donor: str) -> dict[str, str]:
    """A valid one-off bank-transfer gift from a new donor (each a new contact)."""
    return {
        **fields,
        "amount": "25.00",
        "amount_other": "",
        "currency": "EUR",
        "campaign": "",
        "frequency": "once",
        "fund": "",
        "method": "bank_transfer",
        "given_name": "Núria",
        "family_name": "Bench",
        "email": f"donor-{donor}@bench.example.org",
        "website": "",
    }


def _verdict(databases: dict[str, Any]) -> dict[str, Any]:
    verdict: dict[str, Any] = {}
    for name, result in databases.items():
        if "skipped" in result:
            continue
        endpoints = {k: v["median_of_runs"] for k, v in result["endpoints"].items()}
        donate, campaign = endpoints["donate_get"], endpoints["campaign_get"]
        css, health = endpoints["static_css"], endpoints["healthz"]
        largest_kb = max(p["largest_html_plus_css_kb"] for p in result["bytes"]["pages"].values())

        def share(a: dict[str, Any], b: dict[str, Any]) -> float | None:
            if not b["requests_per_second"]:
                return None
            return round(a["requests_per_second"] / b["requests_per_second"], 3)

        verdict[name] = {
            "requests_per_second": {k: v["requests_per_second"] for k, v in endpoints.items()},
            "p99_ms": {k: v["p99_ms"] for k, v in endpoints.items()},
            "donate_get_one_client_p50_ms": result["donate_get_one_client"]["latency"].get(
                "p50_ms"
            ),
            "donate_get_p99_ok": donate["p99_ms"] is not None
            and donate["p99_ms"] < TARGETS["get_p99_ms"],
            "campaign_get_p99_ok": campaign["p99_ms"] is not None
            and campaign["p99_ms"] < TARGETS["get_p99_ms"],
            "page_and_css_kb": largest_kb,
            "page_and_css_ok": largest_kb < TARGETS["page_and_css_kb"],
            "donate_get_share_of_static_css_rps": share(donate, css),
            "donate_get_share_of_healthz_rps": share(donate, health),
            "errors": sum(v["errors"] for v in endpoints.values()),
            "gifts_all_real": result["gifts"]["all_real"],
        }
    return verdict


# -- inside a child process, on the database named by the environment


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidaria.settings")
    import django

    django.setup()


def _setup_step() -> dict[str, Any]:
    """The demo's donation page: funds, settings with the bank IBAN, SEPA, a live campaign."""
    _django()
    from django.db import transaction
    from django.utils import timezone

    from solidaria.core.audit import Actor
    from solidaria.core.models import Organization
    from solidaria.demo.fundraising import BANK, CAMPAIGNS, FUNDS
    from solidaria.fundraising import actions

    actor = Actor.system("bench")
    org = Organization.objects.get(slug=ORG)
    iban, bic, creditor_id = BANK["ES"]
    with transaction.atomic():
        general = actions.ensure_general_fund(org=org)
        actions.update_fundraising_settings(
            org=org,
            actor=actor,
            legal_name=org.name,
            tax_id="G08123456",
            fiscal_year_start_month=1,
            preset_amounts=[1000, 2500, 5000, 10000],
            bank_iban=iban,
            bank_bic=bic,
        )
        actions.configure_payment_provider(
            org=org,
            actor=actor,
            kind="sepa",
            settings={
                "creditor_name": "Banc Solidari del Barri",
                "creditor_iban": iban,
                "creditor_bic": bic,
                "creditor_id": creditor_id,
            },
            secrets={},
        )
        funds = {"general": general}
        for slug, names in FUNDS.items():
            funds[slug] = actions.create_fund(
                org=org,
                actor=actor,
                slug=slug,
                name=names["es"],
                restricted=True,
                texts={lang: {"name": name} for lang, name in names.items()},
            )
        fund_slug, goal, titles = CAMPAIGNS[CAMPAIGN]
        actions.create_campaign(
            org=org,
            actor=actor,
            slug=CAMPAIGN,
            title=titles["es"],
            fund=funds[fund_slug],
            texts={lang: {"title": title} for lang, title in titles.items()},
            goal_minor=goal,
            starts_on=timezone.localdate() - datetime.timedelta(days=30),
            published=True,
        )
    return {
        "organization": ORG,
        "funds": sorted(funds),
        "campaign": CAMPAIGN,
        "methods": ["sepa", "bank_transfer"],
    }


def _count_step() -> dict[str, Any]:
    _django()
    from solidaria.core.models import Organization
    from solidaria.fundraising.models import Donation, Method
    from solidaria.people.models import Contact

    org = Organization.objects.get(slug=ORG)
    gifts = Donation.objects.filter(organization=org)
    return {
        "donations": gifts.count(),
        "pending_bank_transfer": gifts.filter(
            method=Method.BANK_TRANSFER, status=Donation.Status.PENDING
        ).count(),
        "contacts": Contact.objects.filter(organization=org).count(),
        "warm_up_donors": Contact.objects.filter(
            organization=org, emails__email__startswith="donor-warm"
        ).count(),
    }


if __name__ == "__main__":
    main()
