"""`solidaria bank import --org SLUG FILE`: a CAMT.053 or MT940 statement, reconciled."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from solidaria.core.audit import Actor
from solidaria.core.errors import DomainError
from solidaria.core.models import Organization
from solidaria.fundraising import banking
from solidaria.fundraising.actions import from_minor
from solidaria.fundraising.models import StatementLine


class Command(BaseCommand):
    help = "Bank statements: `bank import --org SLUG FILE` (CAMT.053 or MT940)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import a statement and match its lines to gifts.")
        imp.add_argument("--org", required=True)
        imp.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(_("No organization “%(slug)s”.") % {"slug": options["org"]})
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(reason)s") % {"file": path, "reason": error.strerror}
            ) from error
        try:
            statement = banking.import_bank_statement(
                org=org, actor=Actor.system("cli"), file_name=path.name, data=data
            )
        except DomainError as error:
            raise CommandError(f"{path.name}: {error.message}") from error
        counts = banking.statement_counts(statement)
        if getattr(statement, "already_imported", False):
            self.stdout.write(
                _("%(file)s was already imported on %(at)s; nothing was booked again.")
                % {"file": path.name, "at": statement.imported_at.isoformat(timespec="seconds")}
            )
        self.stdout.write(
            ngettext(
                "%(file)s (%(format)s): %(total)s line, %(matched)s matched, "
                "%(unmatched)s unmatched, %(skipped)s skipped (already booked).",
                "%(file)s (%(format)s): %(total)s lines, %(matched)s matched, "
                "%(unmatched)s unmatched, %(skipped)s skipped (already booked).",
                statement.lines_total,
            )
            % {
                "file": path.name,
                "format": statement.file_format,
                "total": statement.lines_total,
                "matched": counts["matched"],
                "unmatched": counts["unmatched"],
                "skipped": counts["skipped"],
            }
        )
        unmatched = statement.lines.filter(status=StatementLine.Status.UNMATCHED).order_by("pk")
        for line in unmatched:
            amount = from_minor(line.amount_minor, line.currency)
            self.stdout.write(f"  {line.booked_on}  {amount} {line.currency}  {line.note}")
