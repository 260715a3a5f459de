"""`solidaria ledger export|verify|checkpoint --org SLUG`: the public ledger from the shell."""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from solidaria.core.audit import Actor
from solidaria.core.models import Organization
from solidaria.ledger import queries
from solidaria.ledger.actions import make_checkpoint
from solidaria.ledger.verify import verify_ledger


class Command(BaseCommand):
    help = "The public ledger: `ledger export|verify|checkpoint --org SLUG`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the public ledger as JSON Lines.")
        export.add_argument("--org", required=True)
        export.add_argument("--out", help="a file (default: standard output)")
        verify = sub.add_parser(
            "verify", help="Check the log, its checkpoints and the books; non-zero on a problem."
        )
        verify.add_argument("--org", required=True)
        checkpoint = sub.add_parser("checkpoint", help="Sign and publish a new checkpoint.")
        checkpoint.add_argument("--org", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organization “{options['org']}”.")
        getattr(self, f"_{options['action']}")(org, options)

    def _export(self, org: Organization, options: dict[str, Any]) -> None:
        size = queries.log_size(org=org)
        if options.get("out"):
            with open(options["out"], "wb") as out:
                for body in queries.iter_bodies(org=org, upto=size):
                    out.write(body.encode("utf-8") + b"\n")
            self.stderr.write(f"Wrote {size} entries to {options['out']}.")
            return
        for body in queries.iter_bodies(org=org, upto=size):
            self.stdout.write(body)

    def _verify(self, org: Organization, options: dict[str, Any]) -> None:
        result = verify_ledger(org=org)
        if not result.ok:
            where = f" (first bad entry: seq {result.first_bad_seq})"
            raise CommandError(
                f"Ledger of {org.slug} FAILED: {result.message}"
                + (where if result.first_bad_seq is not None else "")
            )
        self.stdout.write(f"Ledger of {org.slug} verified: {result.message}")

    def _checkpoint(self, org: Organization, options: dict[str, Any]) -> None:
        checkpoint = make_checkpoint(org=org, actor=Actor.system("cli"))
        self.stdout.write(json.dumps(queries.checkpoint_json(checkpoint, org=org)))
