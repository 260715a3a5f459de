"""`bench/ledger.py`: the transparency ledger at a million entries, on SQLite and PostgreSQL.

For each database (SQLite always; PostgreSQL when DATABASE_URL is set or one answers on
127.0.0.1:5432 as user postgres), on a fresh data directory or a throwaway database:

1. migrate, then append N entries (default 1,000,000) to one organization through the real
   append path (`ledger.actions.append_entries`, which `post_entry` uses; batches of `--batch`): incomes, expenses,
   allocations and refunds from a seeded generator that never overdraws a fund;
2. sign a checkpoint, then time `ledger.verify.verify_ledger` over the whole log;
3. time the ceiling: the same rows read the same way (same query, same columns, same chunks),
   doing nothing but SHA-256 of each stored entry's bytes;
4. sample the process's memory (psutil RSS) throughout, to show it does not grow with N;
5. time a few inclusion proofs and `trace_for` calls on the full log.

Prints one JSON document and writes it to bench/out/ledger-<timestamp>.json. `bench/run.py`
runs it too (with `--ledger-entries`). Target: verification within 3× of the ceiling.
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOLIDARIA = [sys.executable, "-m", "solidaria"]
ORG = "ledger-bench"
TARGETS = {"verify_over_ceiling_max": 3.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--step", choices=["inside"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "inside":
        print(json.dumps(_inside(entries=args.entries, batch=args.batch)))
        return
    report = run(entries=args.entries, batch=args.batch, postgres=not args.skip_postgres)
    text = json.dumps(report, indent=2)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"ledger-{stamp}.json").write_text(text + "\n", encoding="utf-8")
    print(text)


def run(*, entries: int, batch: int = 10_000, postgres: bool = True) -> dict[str, Any]:
    """Both databases; the report `bench/run.py` embeds under "ledger"."""
    from run import _machine, _throwaway_postgres

    report: dict[str, Any] = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "entries": entries,
        "targets": TARGETS,
        "databases": {"sqlite": _bench_database("", entries=entries, batch=batch)},
    }
    if postgres:
        with _throwaway_postgres() as (url, reason):
            report["databases"]["postgresql"] = (
                _bench_database(url, entries=entries, batch=batch) if url else {"skipped": reason}
            )
    else:
        report["databases"]["postgresql"] = {"skipped": "--skip-postgres"}
    report["verdict"] = {
        name: {
            "verify_over_ceiling": result["verify_over_ceiling"],
            "within_target": result["verify_over_ceiling"] <= TARGETS["verify_over_ceiling_max"],
        }
        for name, result in report["databases"].items()
        if "verify_over_ceiling" in result
    }
    return report


def _bench_database(database_url: str, *, entries: int, batch: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="solidaria-ledger-bench-"))
    env = {
        **os.environ,
        "SOLIDARIA_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    try:
        _run([*SOLIDARIA, "migrate", "--verbosity", "0"], env, timeout=600)
        command = [sys.executable, __file__, "--step", "inside", "--entries", str(entries)]
        return json.loads(_run([*command, "--batch", str(batch)], env, timeout=4 * 3600))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(command: list[str], env: dict[str, str], *, timeout: float) -> str:
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# -- inside a child process, on the database named by the environment


class _Memory:
    """Samples this process's RSS every 50 ms while running; `peak_mb` since the last reset."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def now_mb(self) -> float:
        return round(self._process.memory_info().rss / 2**20, 1)

    def reset(self) -> None:
        self._peak = self._process.memory_info().rss

    def peak_mb(self) -> float:
        self._peak = max(self._peak, self._process.memory_info().rss)
        return round(self._peak / 2**20, 1)

    def stop(self) -> None:
        self._stop.set()


def _history(entries: int, seed: int = 2026):
    """Entries that never overdraw a fund: 70 % gifts, then spending, moves and refunds."""
    from solidaria.ledger.actions import NewEntry

    rng = random.Random(seed)
    funds = ["general", "water", "school", "health", "emergency"]
    balances = {(fund, currency): 0 for fund in funds for currency in ("EUR", "USD")}
    gifts: list[tuple[str, str, str, int]] = []  # (ref, fund, currency, amount), recent ones
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i in range(entries):
        at = start + datetime.timedelta(seconds=30 * i)
        fund = rng.choice(funds)
        currency = "USD" if rng.random() < 0.05 else "EUR"
        roll = rng.random()
        held = balances[(fund, currency)]
        if roll < 0.70 or held < 100:
            amount = rng.choice([500, 1000, 1500, 2000, 2500, 5000, 10_000]) + rng.randint(0, 99)
            ref = f"G{i:08d}"
            balances[(fund, currency)] += amount
            gifts.append((ref, fund, currency, amount))
            if len(gifts) > 1000:
                gifts = gifts[-500:]
            yield NewEntry("income", fund, amount, currency, ref, at)
        elif roll < 0.85:
            amount = rng.randint(1, min(held, 40_000))
            balances[(fund, currency)] -= amount
            yield NewEntry(
                "expense", fund, amount, currency, f"X{i:08d}", at,
                category="supplies", description=f"Purchase {i}",
                evidence_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
            )  # fmt: skip
        elif roll < 0.95:
            to_fund = rng.choice([f for f in funds if f != fund])
            amount = rng.randint(1, held)
            balances[(fund, currency)] -= amount
            balances[(to_fund, currency)] += amount
            yield NewEntry("allocation", fund, amount, currency, f"A{i:08d}", at, to_fund=to_fund)
        else:
            ref, gift_fund, gift_currency, gift_amount = rng.choice(gifts)
            amount = min(gift_amount, balances[(gift_fund, gift_currency)])
            if amount <= 0:
                amount = 100
                balances[(gift_fund, gift_currency)] += 100
                yield NewEntry("income", gift_fund, 100, gift_currency, f"G{i:08d}", at)
                continue
            balances[(gift_fund, gift_currency)] -= amount
            yield NewEntry("refund", gift_fund, amount, gift_currency, ref, at)


def _inside(*, entries: int, batch: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solidaria.settings")
    import django

    django.setup()
    from django.db import connection

    from solidaria.core.audit import Actor
    from solidaria.core.models import Organization
    from solidaria.ledger import queries
    from solidaria.ledger.actions import append_entries, make_checkpoint
    from solidaria.ledger.verify import verify_ledger

    actor = Actor.system("bench")
    org = Organization.objects.create(
        slug=ORG, name="Ledger bench", country="ES", currency="EUR", language="en"
    )
    memory = _Memory()
    result: dict[str, Any] = {"database": connection.vendor, "batch": batch}

    # 1. append
    rss_during_append = []
    pending = []
    started = time.perf_counter()
    for new in _history(entries):
        pending.append(new)
        if len(pending) == batch:
            append_entries(org=org, actor=actor, entries=pending)
            pending = []
            rss_during_append.append(memory.now_mb())
    if pending:
        append_entries(org=org, actor=actor, entries=pending)
    append_seconds = time.perf_counter() - started
    size = queries.log_size(org=org)
    result["append"] = {
        "entries": size,
        "seconds": round(append_seconds, 2),
        "entries_per_second": round(size / append_seconds),
        "rss_mb_at_10_50_100_percent": [
            rss_during_append[int(len(rss_during_append) * f) - 1] if rss_during_append else None
            for f in (0.1, 0.5, 1.0)
        ],
        "rss_mb_peak": memory.peak_mb(),
    }

    # 2. checkpoint, verify
    started = time.perf_counter()
    checkpoint = make_checkpoint(org=org, actor=actor)
    result["checkpoint_seconds"] = round(time.perf_counter() - started, 3)
    memory.reset()
    before = memory.now_mb()
    started = time.perf_counter()
    verified = verify_ledger(org=org)
    verify_seconds = time.perf_counter() - started
    result["verify"] = {
        "ok": verified.ok,
        "message": verified.message,
        "seconds": round(verify_seconds, 2),
        "entries_per_second": round(size / verify_seconds),
        "rss_mb_before": before,
        "rss_mb_peak": memory.peak_mb(),
    }

    # 3. the ceiling: the same rows, read the same way, only hashed
    memory.reset()
    before = memory.now_mb()
    started = time.perf_counter()
    digest_count = 0
    for chunk in queries._chunks(
        org=org, columns=(*queries.ENTRY_COLUMNS, "body", "leaf_hash"), start=0, upto=None
    ):
        for row in chunk:
            hashlib.sha256(row[12].encode("utf-8")).digest()
            digest_count += 1
    ceiling_seconds = time.perf_counter() - started
    result["ceiling_sha256_only"] = {
        "entries": digest_count,
        "seconds": round(ceiling_seconds, 2),
        "entries_per_second": round(digest_count / ceiling_seconds),
        "rss_mb_before": before,
        "rss_mb_peak": memory.peak_mb(),
    }
    result["verify_over_ceiling"] = round(verify_seconds / ceiling_seconds, 2)

    # 4. reads on the full log
    rng = random.Random(1)
    timings = []
    for _ in range(50):
        seq = rng.randrange(size)
        started = time.perf_counter()
        queries.inclusion_proof(org=org, seq=seq, tree_size=checkpoint.tree_size)
        timings.append((time.perf_counter() - started) * 1000)
    result["inclusion_proof_ms"] = _stats(timings)
    refs = list(
        queries.LedgerEntry.objects.filter(organization=org, type="income")
        .order_by("?")
        .values_list("ref", flat=True)[:50]
    )
    timings = []
    for ref in refs:
        started = time.perf_counter()
        queries.trace_for(org=org, ref=ref)
        timings.append((time.perf_counter() - started) * 1000)
    result["trace_for_ms"] = _stats(timings)
    memory.stop()
    return result


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median": round(ordered[len(ordered) // 2], 2),
        "p95": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "max": round(ordered[-1], 2),
    }


if __name__ == "__main__":
    main()
