"""`solidaria staff add --org SLUG --email EMAIL --role ROLE [--password PW]`."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from solidaria.core.actions import add_staff
from solidaria.core.audit import Actor
from solidaria.core.errors import DomainError
from solidaria.core.models import Organization
from solidaria.core.roles import Role


class Command(BaseCommand):
    help = "Manage staff accounts: `staff add --org SLUG --email EMAIL --role ROLE`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Give a person a role in an organization.")
        add.add_argument("--org", required=True)
        add.add_argument("--email", required=True)
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument("--password", help="Without it the account cannot log in yet.")
        add.add_argument("--name", default="", help="The person's full name.")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organization “{options['org']}”.")
        try:
            membership = add_staff(
                org=org,
                actor=Actor.system("cli"),
                email=options["email"],
                role=options["role"],
                password=options["password"],
                full_name=options["name"],
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{membership.user.email} is {membership.role} of {org.slug}.")
