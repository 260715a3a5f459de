"""`solidaria serve [--host 127.0.0.1] [--port 8000]`: the production web server.

Gunicorn runs in this process (no second command line to get right): a master that forks
WEB_CONCURRENCY worker processes (default 2), each with WEB_THREADS threads (default 4).
Migrations are not applied here; run `solidaria migrate` when deploying.
"""

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from gunicorn.app.base import BaseApplication


def _env_count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(f"{name} must be a whole number, not “{raw}”.") from None
    if value < 1:
        raise CommandError(f"{name} must be at least 1.")
    return value


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class SolidariaServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn configured from arguments, serving `solidaria.wsgi:application`."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Imported in each worker after the fork, so no connection is shared between processes.
        from solidaria.wsgi import application

        return application


def server_options(*, host: str, port: int, access_log: bool) -> dict[str, Any]:
    return {
        "bind": [bind_address(host, port)],
        "worker_class": "gthread",
        "workers": _env_count("WEB_CONCURRENCY", 2),
        "threads": _env_count("WEB_THREADS", 4),
        "proc_name": "solidaria",
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "timeout": 60,
        "graceful_timeout": 20,
        # Behind a proxy on the same machine, trust its X-Forwarded-* headers only.
        "forwarded_allow_ips": "127.0.0.1,::1",
    }


def run_server(*, host: str, port: int, access_log: bool = False) -> None:
    """Serve until SIGINT/SIGTERM (gunicorn exits the process when it stops)."""
    options = server_options(host=host, port=port, access_log=access_log)
    # The master may have used the database (the demo loads data first); workers are forked
    # from it and must not inherit its open connections.
    connections.close_all()
    SolidariaServer(options).run()


class Command(BaseCommand):
    help = (
        "Serve Solidaria with gunicorn (gthread workers). Workers and threads come from "
        "WEB_CONCURRENCY (default 2) and WEB_THREADS (default 4). Does not migrate."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="default 8000")
        parser.add_argument("--access-log", action="store_true", help="log every request to stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        run_server(host=options["host"], port=options["port"], access_log=options["access_log"])
