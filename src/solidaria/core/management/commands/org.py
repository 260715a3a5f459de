"""`solidaria org create SLUG --name NAME [--country CC] [--currency CUR] [--language LL]`."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from solidaria.consent.actions import ensure_default_purposes
from solidaria.core.actions import create_organization
from solidaria.core.audit import Actor
from solidaria.core.errors import DomainError


class Command(BaseCommand):
    help = "Manage organizations: `org create SLUG --name NAME`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an organization.")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument("--country", default="ES", help="ISO 3166 code (default ES)")
        create.add_argument("--currency", default="EUR", help="ISO 4217 code (default EUR)")
        create.add_argument("--language", default="en", help="en, es, ca, it, de, fr or ar")
        create.add_argument("--time-zone", default="UTC")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli")
        try:
            org = create_organization(
                actor=actor,
                slug=options["slug"],
                name=options["name"],
                country=options["country"],
                currency=options["currency"],
                language=options["language"],
                time_zone=options["time_zone"],
            )
            ensure_default_purposes(org=org, actor=actor)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Created organization {org.slug} ({org.name}).")
