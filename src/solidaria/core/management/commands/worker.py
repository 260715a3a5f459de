"""`solidaria worker`: runs queued background jobs and the periodic ones.

One loop: drain up to `--max-tasks-per-pass` tasks from the database queue (django-tasks-db's
own Worker, which claims each task with SKIP LOCKED on PostgreSQL and an exclusive
transaction on SQLite), then run the periodic jobs that are due, then sleep until the next
poll. SIGTERM or SIGINT stops it after the task in hand; a second signal stops it at once.
"""

import logging
import signal
import threading
from argparse import ArgumentParser, ArgumentTypeError
from datetime import timedelta
from functools import partial
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django.utils.module_loading import autodiscover_modules
from django_tasks_db.management.commands.db_worker import (
    Worker,
    valid_backend_name,
    valid_interval,
)

from solidaria.core import periodic

logger = logging.getLogger("solidaria.worker")


def prune_task_results(*, days: int) -> None:
    """Delete finished task results older than `days` days (the queue table stays small)."""
    call_command("prune_db_task_results", queue_name="*", min_age_days=days, verbosity=0)


def _at_least_one(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ArgumentTypeError("must be 1 or more")
    return value


class Command(BaseCommand):
    help = "Run background jobs from the database queue, and the periodic jobs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue-name",
            default="default",
            help="queues to process, comma-separated; '*' for all (default: default)",
        )
        parser.add_argument(
            "--interval",
            type=valid_interval,
            default=1.0,
            help="seconds to wait when the queue is empty (default 1)",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="run the queued tasks and the periodic jobs once, then exit",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="do not run periodic jobs (when another worker runs them)",
        )
        parser.add_argument(
            "--keep-results-days",
            type=_at_least_one,
            default=14,
            help="prune finished task results older than this, daily (default 14)",
        )
        parser.add_argument(
            "--max-tasks-per-pass",
            type=_at_least_one,
            default=100,
            help="tasks to run before looking at periodic jobs again (default 100)",
        )
        parser.add_argument(
            "--backend",
            dest="backend_name",
            type=valid_backend_name,
            default="default",
            help="the database task backend (default: default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._configure_logging(options["verbosity"])
        # Apps register their periodic jobs in tasks.py, and the tasks themselves live there.
        autodiscover_modules("tasks")
        jobs = [] if options["no_periodic"] else self._jobs(options["keep_results_days"])
        scheduler = periodic.Scheduler(jobs)
        queue_names = options["queue_name"].split(",")
        worker_id = get_random_string(32)
        stop = threading.Event()
        current: list[Worker] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                logger.warning("Second %s: stopping now.", signal.strsignal(signum))
                raise SystemExit(1)
            logger.warning("%s: stopping after the current task.", signal.strsignal(signum))
            stop.set()
            for worker in current:
                worker.running = False

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        logger.info(
            "Worker %s: queues %s, periodic jobs: %s",
            worker_id,
            ",".join(queue_names),
            ", ".join(job.name for job in jobs) or "none",
        )
        try:
            while not stop.is_set():
                worker = Worker(
                    queue_names=queue_names,
                    interval=min(options["interval"], 0.5),
                    batch=True,
                    backend_name=options["backend_name"],
                    startup_delay=False,
                    # --batch drains the whole queue; otherwise look up from time to time.
                    max_tasks=None if options["batch"] else options["max_tasks_per_pass"],
                    worker_id=worker_id,
                    excluded_queue_names=[],
                )
                current[:] = [worker]
                worker.run()  # returns when the queue is empty or after max_tasks
                current.clear()
                if stop.is_set():
                    break
                scheduler.run_due()
                if options["batch"]:
                    break
                until_job = scheduler.seconds_until_next()
                wait = (
                    options["interval"]
                    if until_job is None
                    else min(options["interval"], until_job)
                )
                stop.wait(wait)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("Worker %s stopped.", worker_id)

    def _jobs(self, keep_results_days: int) -> list[periodic.PeriodicJob]:
        builtin = periodic.PeriodicJob(
            name="tasks.prune_results",
            interval=timedelta(days=1),
            function=partial(prune_task_results, days=keep_results_days),
        )
        return [builtin, *periodic.jobs()]

    def _configure_logging(self, verbosity: int) -> None:
        # Records propagate to the root handler of settings.LOGGING (stderr).
        level = logging.WARNING if verbosity == 0 else logging.INFO
        for name in ("solidaria.worker", "django_tasks_db", "django_tasks"):
            logging.getLogger(name).setLevel(level)
