"""The command line: org, staff, token, serve and worker (DESIGN.md §5)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from io import StringIO
from pathlib import Path

import psutil
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from solidaria import cli
from solidaria.consent.models import Purpose
from solidaria.core import periodic
from solidaria.core.access import token_for
from solidaria.core.management.commands.serve import server_options
from solidaria.core.models import Membership, Organization
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory


def _call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# -- org, staff, token


@pytest.mark.django_db
def test_org_create_makes_an_organization_with_the_default_purposes() -> None:
    # when
    out = _call(
        "org", "create", "assoc-roma", "--name", "Associazione Roma", "--country", "it",
        "--currency", "eur", "--language", "it", "--time-zone", "Europe/Rome",
    )  # fmt: skip

    # then
    org = Organization.objects.get(slug="assoc-roma")
    assert (org.name, org.country, org.currency, org.language, org.time_zone) == (
        "Associazione Roma",
        "IT",
        "EUR",
        "it",
        "Europe/Rome",
    )
    assert Purpose.objects.filter(organization=org, code="newsletter").exists()
    assert "assoc-roma" in out


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["api", "static", "Not A Slug"])
def test_org_create_refuses_reserved_and_malformed_slugs(slug: str) -> None:
    # when / then
    with pytest.raises(CommandError):
        _call("org", "create", slug, "--name", "Clash")
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_org_create_refuses_a_taken_slug() -> None:
    # given
    OrganizationFactory(slug="coop", name="First")

    # when / then
    with pytest.raises(CommandError, match="already exists"):
        _call("org", "create", "coop", "--name", "Second")
    assert Organization.objects.get(slug="coop").name == "First"


@pytest.mark.django_db
def test_staff_add_creates_an_account_that_can_log_in() -> None:
    # given
    org = OrganizationFactory(slug="coop")

    # when
    _call(
        "staff", "add", "--org", "coop", "--email", "Ana@Example.org", "--role", "fundraiser",
        "--password", "a-long-password-1",
    )  # fmt: skip

    # then
    membership = Membership.objects.get(organization=org)
    assert (membership.user.email, membership.role) == ("ana@example.org", "fundraiser")
    assert membership.user.check_password("a-long-password-1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--org", "nowhere", "--email", "a@example.org", "--role", "admin"],
        ["--org", "coop", "--email", "a@example.org", "--role", "boss"],
        ["--org", "coop", "--email", "not-an-email", "--role", "admin"],
    ],
)
def test_staff_add_refuses_unknown_orgs_roles_and_bad_emails(args: list[str]) -> None:
    # given
    OrganizationFactory(slug="coop")

    # when / then
    with pytest.raises(CommandError):
        _call("staff", "add", *args)
    assert not Membership.objects.exists()


@pytest.mark.django_db
def test_token_create_prints_only_a_token_that_authenticates() -> None:
    # given
    membership = MembershipFactory(organization__slug="coop", user__email="ana@example.org")

    # when
    out = _call("token", "create", "--org", "coop", "--email", "ANA@example.org")

    # then
    raw = out.removesuffix("\n")
    assert "\n" not in raw
    assert " " not in raw
    token = token_for(raw)
    assert token is not None
    assert token.user == membership.user
    assert token.organization == membership.organization


@pytest.mark.django_db
def test_token_create_refuses_someone_who_is_not_staff_there() -> None:
    # given
    OrganizationFactory(slug="coop")
    MembershipFactory(organization__slug="other", user__email="ana@example.org")

    # when / then
    with pytest.raises(CommandError, match="not staff"):
        _call("token", "create", "--org", "coop", "--email", "ana@example.org")
    with pytest.raises(CommandError, match="No staff account"):
        _call("token", "create", "--org", "coop", "--email", "nobody@example.org")


# -- serve


@pytest.mark.parametrize(
    ("command", "expected"),
    [("serve", "WEB_CONCURRENCY"), ("worker", "--batch"), ("demo", "--no-serve")],
)
def test_help_of_the_long_running_commands(
    command: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # given
    monkeypatch.setattr(sys, "argv", ["solidaria", command, "--help"])

    # when
    with pytest.raises(SystemExit) as exit_info:
        cli.main()

    # then
    assert exit_info.value.code == 0
    assert expected in capsys.readouterr().out


def test_serve_reads_workers_and_threads_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("WEB_THREADS", "8")

    # when
    options = server_options(host="::1", port=8123, access_log=True)

    # then
    assert options["bind"] == ["[::1]:8123"]
    assert (options["worker_class"], options["workers"], options["threads"]) == ("gthread", 3, 8)
    assert options["accesslog"] == "-"


def test_serve_defaults_and_refuses_a_bad_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_THREADS", raising=False)

    # then
    options = server_options(host="127.0.0.1", port=8000, access_log=False)
    assert (options["workers"], options["threads"], options["accesslog"]) == (2, 4, None)
    monkeypatch.setenv("WEB_CONCURRENCY", "many")
    with pytest.raises(CommandError, match="WEB_CONCURRENCY"):
        server_options(host="127.0.0.1", port=8000, access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_on_loopback_and_stops_on_sigterm(tmp_path: Path) -> None:
    """Slow (3–5 s): starts Django and gunicorn with one worker process, then stops them."""
    # given
    port = _free_port()
    env = {
        **os.environ,
        "SOLIDARIA_DATA_DIR": str(tmp_path),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "DATABASE_URL": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "solidaria", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # when
        body = _get_when_up(f"http://127.0.0.1:{port}/healthz", server, seconds=30)
        workers = psutil.Process(server.pid).children()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    output = server.stdout.read().decode() if server.stdout else ""

    # then
    assert body == b"ok"
    assert len(workers) == 1
    assert code == 0, output


def _get_when_up(url: str, process: subprocess.Popen, *, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"the server exited with {process.returncode}: {output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return response.read()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


# -- worker


@task()
def double(value: int) -> int:
    return value * 2


@pytest.mark.django_db(transaction=True)
def test_worker_batch_runs_every_queued_task_then_exits() -> None:
    # given
    results = [double.enqueue(n) for n in (1, 2, 21)]

    # when: --batch drains the queue even past the per-pass limit
    call_command("worker", "--batch", "--no-periodic", "--max-tasks-per-pass", "1", verbosity=0)

    # then
    for result in results:
        result.refresh()
    assert [r.status for r in results] == [TaskResultStatus.SUCCESSFUL] * 3
    assert [r.return_value for r in results] == [2, 4, 42]


@pytest.mark.django_db(transaction=True)
def test_worker_prunes_old_finished_results_unless_told_not_to() -> None:
    # given
    old = double.enqueue(1)
    recent = double.enqueue(2)
    call_command("worker", "--batch", "--no-periodic", verbosity=0)
    DBTaskResult.objects.filter(id=old.id).update(finished_at=timezone.now() - timedelta(days=30))

    # when
    call_command("worker", "--batch", "--no-periodic", verbosity=0)
    kept_without_periodic = DBTaskResult.objects.filter(id=old.id).exists()
    call_command("worker", "--batch", "--keep-results-days", "14", verbosity=0)

    # then
    assert kept_without_periodic
    assert not DBTaskResult.objects.filter(id=old.id).exists()
    assert DBTaskResult.objects.filter(id=recent.id).exists()


@pytest.mark.django_db(transaction=True)
def test_worker_stops_cleanly_on_sigterm() -> None:
    # given: SIGTERM once the worker has taken over the signal (before, it would end pytest),
    # and a second one later in case the first is ignored: that one makes the worker exit
    # with status 1 instead of hanging the suite.
    previous = signal.getsignal(signal.SIGTERM)
    done = threading.Event()

    def send_signals() -> None:
        deadline = time.monotonic() + 10
        while signal.getsignal(signal.SIGTERM) is previous:
            if done.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(0.2)  # let it reach its idle wait
        os.kill(os.getpid(), signal.SIGTERM)
        if not done.wait(10):
            os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=send_signals, daemon=True)
    sender.start()
    started = time.monotonic()

    # when
    try:
        call_command("worker", "--interval", "0.05", verbosity=0)
    finally:
        done.set()
        sender.join(timeout=15)

    # then
    assert time.monotonic() - started < 8
    assert signal.getsignal(signal.SIGTERM) is previous


# -- periodic jobs


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_scheduler_runs_each_job_at_start_then_every_interval() -> None:
    # given
    clock = _Clock()
    runs: list[str] = []
    jobs = [
        periodic.PeriodicJob("hourly", timedelta(hours=1), lambda: runs.append("hourly")),
        periodic.PeriodicJob("minutely", timedelta(minutes=1), lambda: runs.append("minutely")),
    ]
    scheduler = periodic.Scheduler(jobs, clock=clock)

    # when / then
    assert scheduler.run_due() == ["hourly", "minutely"]
    assert scheduler.seconds_until_next() == 60
    clock.now += 59
    assert scheduler.run_due() == []
    clock.now += 1
    assert scheduler.run_due() == ["minutely"]
    clock.now += 3600
    assert scheduler.run_due() == ["hourly", "minutely"]
    assert runs == ["hourly", "minutely", "minutely", "hourly", "minutely"]


def test_a_failing_periodic_job_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    # given
    def broken() -> None:
        raise RuntimeError("boom")

    runs: list[str] = []
    jobs = [
        periodic.PeriodicJob("broken", timedelta(minutes=5), broken),
        periodic.PeriodicJob("fine", timedelta(minutes=5), lambda: runs.append("fine")),
    ]

    # when
    ran = periodic.Scheduler(jobs, clock=_Clock()).run_due()

    # then
    assert ran == ["broken", "fine"]
    assert runs == ["fine"]
    assert "Periodic job broken failed" in caplog.text


def test_periodic_registry_refuses_clashing_names_and_tiny_intervals() -> None:
    # given
    registry = periodic.Registry()

    def first() -> None: ...
    def second() -> None: ...

    registry.every(timedelta(hours=1), name="clash")(first)

    # when / then
    registry.every(timedelta(hours=1), name="clash")(first)  # importing twice is fine
    with pytest.raises(ValueError, match="already"):
        registry.every(timedelta(hours=1), name="clash")(second)
    with pytest.raises(ValueError, match="one second"):
        registry.every(timedelta(milliseconds=10), name="fast")
    assert [(job.name, job.function) for job in registry.jobs()] == [("clash", first)]
