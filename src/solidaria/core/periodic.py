"""Periodic jobs run by `solidaria worker`: a registry and a small in-process scheduler.

There is no cron. An app registers a job in its `tasks.py` (the worker imports every app's
`tasks` module at start):

    @periodic.every(timedelta(hours=1), name="messaging.expire_windows")
    def expire_windows() -> None: ...

Each worker process runs every job once at start and then every `interval`. Several workers
therefore run the same job several times: jobs must be idempotent and cheap, or heavy work
must be enqueued as a task from the job. Run one worker with periodic jobs and the others
with `--no-periodic` when that matters.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

logger = logging.getLogger("solidaria.worker")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: timedelta
    function: Callable[[], object]


class Registry:
    """Periodic jobs by name; the module-level `every` and `jobs` use the default one."""

    def __init__(self) -> None:
        self._jobs: dict[str, PeriodicJob] = {}

    def every(
        self, interval: timedelta, *, name: str
    ) -> Callable[[Callable[[], object]], Callable[[], object]]:
        """Register the decorated function to run every `interval` (at least one second)."""
        if interval < timedelta(seconds=1):
            raise ValueError("A periodic job needs an interval of at least one second.")

        def register(function: Callable[[], object]) -> Callable[[], object]:
            existing = self._jobs.get(name)
            if existing is not None and existing.function is not function:
                raise ValueError(f"Another periodic job is already called “{name}”.")
            self._jobs[name] = PeriodicJob(name=name, interval=interval, function=function)
            return function

        return register

    def jobs(self) -> list[PeriodicJob]:
        return sorted(self._jobs.values(), key=lambda job: job.name)


registry = Registry()
every = registry.every
jobs = registry.jobs


class Scheduler:
    """Runs due jobs on the caller's thread; `clock` is monotonic seconds (tests pass their own)."""

    def __init__(
        self, jobs: list[PeriodicJob], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        start = clock()
        self._next_run = {job.name: start for job in jobs}

    def run_due(self) -> list[str]:
        """Run every job whose time has come; a failing job is logged and tried again later."""
        ran = []
        for job in self._jobs:
            now = self._clock()
            if now < self._next_run[job.name]:
                continue
            self._next_run[job.name] = now + job.interval.total_seconds()
            try:
                job.function()
            except Exception:
                logger.exception("Periodic job %s failed", job.name)
            else:
                logger.info("Periodic job %s done", job.name)
            ran.append(job.name)
        return ran

    def seconds_until_next(self) -> float | None:
        """How long until the next job is due (0 when one is due now); None without jobs."""
        if not self._jobs:
            return None
        return max(0.0, min(self._next_run.values()) - self._clock())
