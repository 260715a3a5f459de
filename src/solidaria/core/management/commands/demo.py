"""`solidaria demo [--no-serve] [--port 8000] [--host 127.0.0.1]`: try Solidaria in one command.

Migrates the database, loads the demo network once (a second run finds it and writes
nothing), prints the address and the demo logins, then serves like `solidaria serve`.
"""

import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from solidaria.core.errors import DomainError
from solidaria.core.management.commands.serve import run_server
from solidaria.demo.build import DEFAULT_CONTACTS, DemoResult, load_demo
from solidaria.demo.data import DEMO_PASSWORD, NETWORK_NAME


class Command(BaseCommand):
    help = "Migrate, load the demo network (once), print the demo logins and serve."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="load and exit")
        parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="default 8000")
        parser.add_argument(
            "--contacts",
            type=int,
            default=DEFAULT_CONTACTS,
            help=f"contacts per organization on the first load (default {DEFAULT_CONTACTS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["contacts"] < 10:
            raise CommandError("--contacts must be at least 10.")
        started = time.perf_counter()
        self.stdout.write(f"Database: {_database_label()}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Migrated in {time.perf_counter() - started:.1f} s.")
        try:
            result = load_demo(contacts_per_org=options["contacts"], out=self.stdout)
        except DomainError as error:
            raise CommandError(
                f"Cannot load the demo: {error.message} Use an empty data directory "
                "(SOLIDARIA_DATA_DIR) for the demo."
            ) from error
        self._report(result)
        self.stdout.write(f"Ready in {time.perf_counter() - started:.1f} s.")
        if options["no_serve"]:
            return
        host, port = options["host"], options["port"]
        shown_host = f"[{host}]" if ":" in host else host
        self.stdout.write(
            self.style.SUCCESS(f"\nOpen http://{shown_host}:{port}/ (Ctrl+C to stop)\n")
        )
        self.stdout.flush()
        run_server(host=host, port=port)

    def _report(self, result: DemoResult) -> None:
        if result.created:
            counts = result.counts
            self.stdout.write(
                f"Loaded {NETWORK_NAME}: {counts.contacts} contacts "
                f"({counts.households} households, {counts.organizations} partner organizations, "
                f"{counts.arabic_speakers} Arabic speakers), {counts.activities} activities, "
                f"{counts.consent_events} consent events in {result.seconds:.1f} s."
            )
        else:
            self.stdout.write(f"{NETWORK_NAME} is already loaded; nothing changed.")
        self.stdout.write("\nDemo logins (every account has the same password):\n")
        width = max(len(login.email) for login in result.logins)
        role_width = max(len(login.role) for login in result.logins)
        self.stdout.write(f"  {'email':<{width}}  {'role':<{role_width}}  organization")
        for login in result.logins:
            self.stdout.write(f"  {login.email:<{width}}  {login.role:<{role_width}}  {login.org}")
        self.stdout.write(f"\n  password: {DEMO_PASSWORD}\n")


def _database_label() -> str:
    if connection.vendor == "sqlite":
        return f"SQLite at {settings.DATABASES['default']['NAME']}"
    return f"{connection.vendor} database “{settings.DATABASES['default']['NAME']}”"
