"""`solidaria token create --org SLUG --email EMAIL`: prints the new token alone on stdout."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from solidaria.core.actions import create_api_token
from solidaria.core.audit import Actor
from solidaria.core.errors import DomainError
from solidaria.core.models import Organization, User


class Command(BaseCommand):
    help = "Manage API tokens: `token create --org SLUG --email EMAIL`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it alone on stdout.")
        create.add_argument("--org", required=True)
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="CLI token")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organization “{options['org']}”.")
        user = User.objects.filter(email=options["email"].strip().lower()).first()
        if user is None:
            raise CommandError(f"No staff account “{options['email']}”.")
        try:
            _, raw = create_api_token(
                org=org, actor=Actor.system("cli"), user=user, name=options["name"]
            )
        except DomainError as error:
            raise CommandError(f"{options['email']} is not staff of {org.slug}.") from error
        self.stdout.write(raw)
