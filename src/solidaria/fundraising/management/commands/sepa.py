"""`solidaria sepa export --org SLUG --date YYYY-MM-DD [--out FILE] [--schema …]`."""

import datetime
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from solidaria.core.audit import Actor
from solidaria.core.errors import DomainError
from solidaria.core.models import Organization
from solidaria.fundraising import banking, sepa
from solidaria.fundraising.actions import from_minor


class Command(BaseCommand):
    help = "SEPA direct debit: `sepa export --org SLUG --date YYYY-MM-DD [--out FILE]`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export", help="Write the pain.008 collection file of a date (to stdout by default)."
        )
        export.add_argument("--org", required=True)
        export.add_argument("--date", required=True, help="The collection date, YYYY-MM-DD.")
        export.add_argument("--out", help="Write the XML to this file instead of stdout.")
        export.add_argument("--schema", default=sepa.SCHEMAS[0], choices=sepa.SCHEMAS)

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(_("No organization “%(slug)s”.") % {"slug": options["org"]})
        try:
            collection_date = datetime.date.fromisoformat(options["date"])
        except ValueError as error:
            raise CommandError(
                _("“%(date)s” is not a date (YYYY-MM-DD).") % {"date": options["date"]}
            ) from error
        started = timezone.now()
        try:
            batch = banking.export_sepa_collection(
                org=org,
                actor=Actor.system("cli"),
                collection_date=collection_date,
                schema=options["schema"],
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        if options["out"]:
            try:
                Path(options["out"]).write_text(batch.xml, encoding="utf-8")
            except OSError as error:
                raise CommandError(
                    _("Cannot write %(file)s: %(reason)s")
                    % {"file": options["out"], "reason": error.strerror}
                ) from error
        else:
            self.stdout.write(batch.xml)
        summary = _("Collection %(date)s: %(count)s debits, %(total)s EUR, message %(id)s.") % {
            "date": collection_date.isoformat(),
            "count": batch.count,
            "total": from_minor(batch.total_minor, "EUR"),
            "id": batch.message_id,
        }
        if batch.created_at < started:
            summary += " " + _("No new debits: this is the file made at %(at)s.") % {
                "at": batch.created_at.isoformat(timespec="seconds")
            }
        self.stderr.write(summary)
