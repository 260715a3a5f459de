"""The bank side of fundraising: SEPA collection files out, statements in, and reconciliation.

`export_sepa_collection` turns the pending SEPA debits of a collection date into one
pain.008 file (a `SepaBatch`). `import_bank_statement` reads a CAMT.053 or MT940 file and
reconciles each new line with the gifts it pays (or returns); what it cannot match stays
`unmatched`, with the reason, for staff to `match_line` or `ignore_line`.
"""

import datetime
import hashlib
import re
import zoneinfo
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Conflict, DomainError, Invalid
from solidaria.core.models import Organization
from solidaria.fundraising import recurring, sepa
from solidaria.fundraising.actions import (
    confirm_donation,
    fail_donation,
    from_minor,
    refund_donation,
)
from solidaria.fundraising.models import (
    BankStatement,
    Donation,
    Frequency,
    Method,
    PaymentProvider,
    RecurringPlan,
    SepaBatch,
    StatementLine,
)
from solidaria.fundraising.statements import REVERSAL, Statement, StatementError, parse_statement
from solidaria.fundraising.statements import StatementLine as ParsedLine

# A stored line (staff matching) or a line just read from a file (import).
Line = StatementLine | ParsedLine

# What `make_message_id` draws, with an optional block suffix: found in free-text references.
_BATCH_ID = re.compile(r"SOL\d{8}-[A-Z0-9]{12}(?:-(?:FRST|RCUR|OOFF))?")
_RF_START = re.compile(r"RF\d{2}")


# -- SEPA collections


def sepa_creditor(*, org: Organization) -> sepa.Creditor:
    """The organization's creditor details from its SEPA provider; Invalid when not set up."""
    provider = PaymentProvider.objects.filter(
        organization=org, kind=PaymentProvider.Kind.SEPA, enabled=True
    ).first()
    if provider is None:
        raise Invalid(_("Set up SEPA direct debit (creditor details) first."))
    settings = provider.settings or {}
    return sepa.Creditor(
        name=settings.get("creditor_name", ""),
        iban=settings.get("creditor_iban", ""),
        bic=settings.get("creditor_bic", ""),
        creditor_id=settings.get("creditor_id", ""),
    )


def _new_end_to_end_id(org: Organization) -> str:
    # 32^20 ids: a clash is practically impossible, but the unique constraint on payment
    # references would turn one into an error, so draw again.
    while True:
        ref = sepa.make_end_to_end_id()
        if not Donation.objects.filter(organization=org, payment_reference=ref).exists():
            return ref


def _debit_for(org: Organization, donation: Donation) -> tuple[sepa.Debit | None, str]:
    """The debit of a pending SEPA gift, or None and what keeps it from being collected."""
    plan = donation.plan
    if plan is None:
        return None, _("it has no SEPA mandate (no recurring plan)")
    if plan.method != Method.SEPA:
        return None, _("its plan is not a SEPA direct debit")
    if plan.status == RecurringPlan.Status.CANCELLED:
        return None, _("its mandate was cancelled")
    if not (plan.iban and plan.mandate_reference and plan.mandate_signed_at):
        return None, _("its mandate lacks the IBAN, reference or signature date")
    if donation.contact.erased_at is not None:
        return None, _("the donor's data was erased")
    if plan.frequency == Frequency.ONCE:
        sequence = "OOFF"  # a one-off mandate is used once: never FRST then RCUR
    else:
        sequence = donation.sepa_sequence or ("RCUR" if plan.first_collected else "FRST")
    with translation.override(org.language or "en"):
        description = _("Donation to %(org)s, %(ref)s") % {
            "org": org.name,
            "ref": donation.public_ref,
        }
    return (
        sepa.Debit(
            end_to_end_id=donation.payment_reference or _new_end_to_end_id(org),
            amount_minor=donation.amount_minor,
            currency=donation.currency,
            debtor_name=plan.account_holder or donation.contact.name,
            iban=plan.iban,
            bic=plan.bic,
            mandate_reference=plan.mandate_reference,
            mandate_signed_at=plan.mandate_signed_at,
            sequence=sequence,
            description=description,
        ),
        "",
    )


def export_sepa_collection(
    *,
    org: Organization,
    actor: Actor,
    collection_date: datetime.date,
    schema: str = "pain.008.001.02",
) -> SepaBatch:
    """The pain.008 file of the SEPA debits to collect on `collection_date`.

    Takes every pending SEPA gift of that date not yet in a batch, gives each an end-to-end
    id (kept in `payment_reference`) and its sequence type (FRST until the mandate's first
    collection went through, then RCUR; OOFF for a one-off mandate), builds the file with the organization's creditor
    details, checks it against the official XSD, stores it and links the gifts to it.
    Exporting the same date again returns the latest file when nothing new is waiting, or a
    new batch with only the new debits: a debit is never in two batches.
    Errors: Invalid when SEPA is not set up, nothing is waiting, a gift cannot be collected
    (the message lists which and why) or the file would not be valid.
    """
    if not isinstance(collection_date, datetime.date):
        raise Invalid(_("Give the collection date."), field="date")
    creditor = sepa_creditor(org=org)
    with transaction.atomic():
        # Locked, so two exports of one date cannot put a debit in two files.
        donations = list(
            Donation.objects.select_for_update(of=("self",))
            .select_related("plan", "contact")
            .filter(
                organization=org,
                method=Method.SEPA,
                status=Donation.Status.PENDING,
                collection_date=collection_date,
                sepa_batch__isnull=True,
            )
            .order_by("pk")
        )
        if not donations:
            latest = (
                SepaBatch.objects.filter(organization=org, collection_date=collection_date)
                .order_by("-created_at", "-pk")
                .first()
            )
            if latest is not None:
                return latest
            raise Invalid(
                _("No SEPA debits are waiting to be collected on %(date)s.")
                % {"date": collection_date.isoformat()},
                field="date",
            )
        debits: list[sepa.Debit] = []
        problems: list[str] = []
        for donation in donations:
            debit, problem = _debit_for(org, donation)
            if debit is None:
                problems.append(
                    _("Gift %(ref)s: %(problem)s.")
                    % {"ref": donation.public_ref, "problem": problem}
                )
            else:
                debits.append(debit)
        if problems:
            raise Invalid(" ".join(problems), field="date", errors={"date": problems})
        now = timezone.now()
        message_id = sepa.make_message_id(collection_date)
        try:
            xml = sepa.build_pain008(
                creditor,
                collection_date,
                debits,
                message_id=message_id,
                created_at=now,
                schema=schema,
            )
        except sepa.SepaError as error:
            raise Invalid(error.message, field="date") from error
        batch = SepaBatch.objects.create(
            organization=org,
            collection_date=collection_date,
            message_id=message_id,
            xml=xml.decode("utf-8"),
            count=len(debits),
            total_minor=sum(d.amount_minor for d in debits),
            created_at=now,
        )
        for donation, debit in zip(donations, debits, strict=True):
            donation.payment_reference = debit.end_to_end_id
            donation.sepa_sequence = debit.sequence
            donation.sepa_batch = batch
            donation.save(update_fields=["payment_reference", "sepa_sequence", "sepa_batch"])
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.sepa.exported",
            subject=batch,
            extra={
                "message_id": message_id,
                "collection_date": collection_date.isoformat(),
                "count": batch.count,
                "total_minor": batch.total_minor,
            },
        )
    return batch


# -- statements


@dataclass(frozen=True)
class _Outcome:
    status: str
    donation: Donation | None = None
    note: str = ""


def _unmatched(note: str) -> _Outcome:
    return _Outcome(StatementLine.Status.UNMATCHED, note=note[:200])


def _matched(donation: Donation, note: str = "") -> _Outcome:
    return _Outcome(StatementLine.Status.MATCHED, donation=donation, note=note[:200])


def _booked_at(org: Organization, booked_on: datetime.date) -> datetime.datetime:
    """Noon of the booking day in the organization's zone (never in the future): the bank
    gives a day, the ledger wants a moment, and noon keeps the day in any zone."""
    try:
        zone = zoneinfo.ZoneInfo(org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    moment = datetime.datetime.combine(booked_on, datetime.time(12), tzinfo=zone)
    return min(moment, timezone.now())


def _money(amount_minor: int, currency: str) -> str:
    return f"{from_minor(amount_minor, currency)} {currency}"


def _record_collection_failure(plan: RecurringPlan | None, reason_code: str, actor: Actor) -> None:
    # The recurring module owns the plan's failure rule (pausing after repeated temporary
    # returns, ending the mandate on a final one).
    if plan is not None:
        recurring.record_collection_failure(plan=plan, reason_code=reason_code, actor=actor)


def _mark_collected(donations: list[Donation], actor: Actor) -> None:
    """The mandates of these collected debits went through: RCUR from now on, and the count
    of failures in a row starts again."""
    plans = {d.plan_id: d.plan for d in donations if d.plan_id and d.method == Method.SEPA}
    if plans:
        RecurringPlan.objects.filter(pk__in=plans, first_collected=False).update(
            first_collected=True
        )
    for plan in plans.values():
        recurring.record_collection_success(plan=plan, actor=actor)


def _same_iban(line: Line, donation: Donation) -> bool:
    if not line.counterparty_iban or donation.plan is None or not donation.plan.iban:
        return True
    return line.counterparty_iban.replace(" ", "").upper() == donation.plan.iban.upper()


def _sepa_by_end_to_end(org: Organization, end_to_end_id: str) -> Donation | None:
    if not end_to_end_id:
        return None
    return (
        Donation.objects.select_related("plan")
        .filter(organization=org, method=Method.SEPA, payment_reference=end_to_end_id)
        .first()
    )


def _return(org: Organization, actor: Actor, line: Line, donation: Donation) -> _Outcome:
    """A debit line for one of our SEPA debits: a return (R-transaction) or reversal."""
    reason = line.return_reason or REVERSAL
    if -line.amount_minor != donation.amount_minor or line.currency != donation.currency:
        return _unmatched(
            _("A return of %(ref)s for %(line)s, but the debit was %(gift)s.")
            % {
                "ref": donation.public_ref,
                "line": _money(-line.amount_minor, line.currency),
                "gift": _money(donation.amount_minor, donation.currency),
            }
        )
    if not _same_iban(line, donation):
        return _unmatched(
            _("A return of %(ref)s from an account that is not the mandate's.")
            % {"ref": donation.public_ref}
        )
    if donation.status == Donation.Status.CONFIRMED:
        refund_donation(
            donation=donation,
            actor=actor,
            reason=reason,
            provider_id=line.line_key,
            at=_booked_at(org, line.booked_on),
        )
        _record_collection_failure(donation.plan, reason, actor)
        return _matched(donation, _("Returned (%(code)s): refunded.") % {"code": reason})
    if donation.status == Donation.Status.PENDING:
        fail_donation(donation=donation, actor=actor, reason=reason)
        _record_collection_failure(donation.plan, reason, actor)
        return _matched(donation, _("Returned (%(code)s): marked failed.") % {"code": reason})
    return _unmatched(
        _("A return of %(ref)s, which is already %(status)s.")
        % {"ref": donation.public_ref, "status": donation.get_status_display()}
    )


def _collected(org: Organization, actor: Actor, line: Line, donation: Donation) -> _Outcome:
    """A credit line carrying the end-to-end id of one of our SEPA debits."""
    if line.amount_minor != donation.amount_minor or line.currency != donation.currency:
        return _unmatched(
            _("%(ref)s was collected for %(line)s, but the debit was %(gift)s.")
            % {
                "ref": donation.public_ref,
                "line": _money(line.amount_minor, line.currency),
                "gift": _money(donation.amount_minor, donation.currency),
            }
        )
    if not _same_iban(line, donation):
        return _unmatched(
            _("%(ref)s was paid from an account that is not the mandate's.")
            % {"ref": donation.public_ref}
        )
    if donation.status != Donation.Status.PENDING or donation.sepa_batch_id is None:
        return _unmatched(
            _("%(ref)s is not a submitted debit waiting for its money (it is %(status)s).")
            % {"ref": donation.public_ref, "status": donation.get_status_display()}
        )
    confirm_donation(donation=donation, actor=actor, received_at=_booked_at(org, line.booked_on))
    _mark_collected([donation], actor)
    return _matched(donation, _("SEPA debit collected."))


def _batch_candidates(line: ParsedLine) -> list[str]:
    found = [line.batch_reference] if line.batch_reference else []
    found += _BATCH_ID.findall(f"{line.batch_reference} {line.reference}".upper())
    return list(dict.fromkeys(found))


def _batch_credit(org: Organization, actor: Actor, line: ParsedLine) -> _Outcome | None:
    """A credit for a whole pain.008 file or one of its blocks (by message id or PmtInfId)."""
    for candidate in _batch_candidates(line):
        message_id, sequence = candidate, ""
        for seq in sepa.SEQUENCE_TYPES:
            if candidate.endswith(f"-{seq}"):
                message_id, sequence = candidate[: -len(seq) - 1], seq
        batch = SepaBatch.objects.filter(organization=org, message_id=message_id).first()
        if batch is None:
            continue
        debits = Donation.objects.select_related("plan").filter(organization=org, sepa_batch=batch)
        if sequence:
            debits = debits.filter(sepa_sequence=sequence)
        live = [
            d
            for d in debits.order_by("pk")
            if d.status in {Donation.Status.PENDING, Donation.Status.CONFIRMED}
        ]
        total = sum(d.amount_minor for d in live)
        if line.amount_minor != total or any(d.currency != line.currency for d in live):
            return _unmatched(
                _("A credit for collection %(id)s of %(line)s, but its debits total %(total)s.")
                % {
                    "id": candidate,
                    "line": _money(line.amount_minor, line.currency),
                    "total": _money(total, line.currency),
                }
            )
        pending = [d for d in live if d.status == Donation.Status.PENDING]
        if not pending:
            return _unmatched(
                _("A credit for collection %(id)s, whose debits were all confirmed already.")
                % {"id": candidate}
            )
        at = _booked_at(org, line.booked_on)
        for donation in pending:
            confirm_donation(donation=donation, actor=actor, received_at=at)
        _mark_collected(pending, actor)
        # The line links to the first gift; the batch links them all.
        return _matched(
            pending[0],
            _("Collection %(id)s: %(n)s debits confirmed.") % {"id": candidate, "n": len(pending)},
        )
    return None


def _reference_candidates(text: str) -> list[str]:
    """Every RF reference that may be written in `text`, spaces and case ignored."""
    compact = re.sub(r"\s+", "", text or "").upper()
    found: list[str] = []
    for match in _RF_START.finditer(compact):
        start = match.start()
        found += [compact[start:end] for end in range(start + 5, min(start + 25, len(compact)) + 1)]
    return found


def _transfer(org: Organization, actor: Actor, line: ParsedLine) -> _Outcome | None:
    candidates = _reference_candidates(line.reference)
    if not candidates:
        return None
    donation = (
        Donation.objects.filter(
            organization=org, method=Method.BANK_TRANSFER, payment_reference__in=candidates
        )
        .order_by("pk")
        .first()
    )
    if donation is None:
        return None
    if line.amount_minor != donation.amount_minor or line.currency != donation.currency:
        return _unmatched(
            _("Transfer for %(ref)s of %(line)s, but the gift is %(gift)s.")
            % {
                "ref": donation.payment_reference,
                "line": _money(line.amount_minor, line.currency),
                "gift": _money(donation.amount_minor, donation.currency),
            }
        )
    if donation.status != Donation.Status.PENDING:
        return _unmatched(
            _("Transfer for %(ref)s, but that gift is already %(status)s.")
            % {"ref": donation.payment_reference, "status": donation.get_status_display()}
        )
    confirm_donation(donation=donation, actor=actor, received_at=_booked_at(org, line.booked_on))
    return _matched(donation, _("Transfer matched by reference."))


def _reconcile(org: Organization, actor: Actor, line: ParsedLine) -> _Outcome:
    """What one new line pays or returns, acted upon. Runs in the caller's savepoint."""
    if line.amount_minor < 0:
        donation = _sepa_by_end_to_end(org, line.end_to_end_id)
        if donation is not None:
            return _return(org, actor, line, donation)
        return _unmatched(_("Money out that is not the return of a SEPA debit."))
    if line.amount_minor == 0:
        return _unmatched(_("A line of zero."))
    donation = _sepa_by_end_to_end(org, line.end_to_end_id)
    if donation is not None:
        return _collected(org, actor, line, donation)
    for match in (_batch_credit, _transfer):
        outcome = match(org, actor, line)
        if outcome is not None:
            return outcome
    return _unmatched(_("No gift has this reference."))


def import_bank_statement(
    *, org: Organization, actor: Actor, file_name: str, data: bytes
) -> BankStatement:
    """Import a CAMT.053 or MT940 statement and reconcile its new lines.

    Idempotent twice over: the same file (by SHA-256) returns the statement stored the first
    time (its `already_imported` attribute is then True), and a line already stored from an
    overlapping file (same `line_key`) is skipped, never matched twice. Each new line is:
    a transfer quoting a pending gift's RF reference for its exact amount → confirmed; the
    credit of one of our SEPA debits (end-to-end id) or of a whole collection (message or
    payment-information id, for its total) → confirmed, and the mandate marked collected; a
    return of a SEPA debit → refunded when confirmed, failed when pending, and the plan's
    failure rule applied. Anything else — other amounts, another account than the
    mandate's, unknown references — stays `unmatched` with the reason in `note`.
    `lines_total` counts the file's lines; lines not stored were skipped.
    Errors: Invalid (field `file`) for a file that is not a statement we can read.
    """
    digest = hashlib.sha256(data or b"").hexdigest()
    existing = BankStatement.objects.filter(organization=org, sha256=digest).first()
    if existing is not None:
        existing.already_imported = True  # type: ignore[attr-defined]
        return existing
    try:
        parsed = parse_statement(data or b"")
    except StatementError as error:
        raise Invalid(error.message, field="file") from error
    try:
        statement = _import_lines(org, actor, file_name, digest, parsed)
    except IntegrityError:
        # The same file, imported at the same moment by someone else, got in first.
        existing = BankStatement.objects.filter(organization=org, sha256=digest).first()
        if existing is None:
            raise
        existing.already_imported = True  # type: ignore[attr-defined]
        return existing
    statement.already_imported = False  # type: ignore[attr-defined]
    return statement


def _import_lines(
    org: Organization, actor: Actor, file_name: str, digest: str, parsed: Statement
) -> BankStatement:
    with transaction.atomic():
        statement = BankStatement.objects.create(
            organization=org,
            file_name=(file_name or "statement")[:200],
            file_format=parsed.file_format,
            sha256=digest,
            lines_total=len(parsed.lines),
        )
        known = set(
            StatementLine.objects.filter(
                organization=org, line_key__in=[line.line_key for line in parsed.lines]
            ).values_list("line_key", flat=True)
        )
        matched = 0
        for parsed_line in parsed.lines:
            if parsed_line.line_key in known:
                continue
            known.add(parsed_line.line_key)
            line = StatementLine(
                organization=org,
                statement=statement,
                line_key=parsed_line.line_key,
                booked_on=parsed_line.booked_on,
                amount_minor=parsed_line.amount_minor,
                currency=parsed_line.currency,
                reference=parsed_line.reference,
                end_to_end_id=parsed_line.end_to_end_id,
                counterparty_name=parsed_line.counterparty_name,
                counterparty_iban=parsed_line.counterparty_iban,
                return_reason=parsed_line.return_reason,
                status=StatementLine.Status.UNMATCHED,
            )
            try:
                with transaction.atomic():
                    line.save()
            except IntegrityError:
                continue  # a concurrent import of an overlapping file stored it first
            try:
                with transaction.atomic():
                    outcome = _reconcile(org, actor, parsed_line)
            except DomainError as error:
                # A gift that cannot take this line now (its money was spent, it changed
                # meanwhile): staff decide.
                outcome = _unmatched(error.message)
            line.status = outcome.status
            line.donation = outcome.donation
            line.note = outcome.note
            line.save(update_fields=["status", "donation", "note"])
            matched += outcome.status == StatementLine.Status.MATCHED
        statement.lines_matched = matched
        statement.save(update_fields=["lines_matched"])
        stored = statement.lines.count()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.statement.imported",
            subject=statement,
            extra={
                "format": parsed.file_format,
                "lines": len(parsed.lines),
                "new": stored,
                "matched": matched,
                "skipped": len(parsed.lines) - stored,
            },
        )
    return statement


def statement_counts(statement: BankStatement) -> dict[str, int]:
    """matched / unmatched / ignored among the lines this statement stored, and `skipped`:
    the file's lines that an earlier statement had already booked."""
    counts = dict.fromkeys(StatementLine.Status.values, 0)
    for status in statement.lines.values_list("status", flat=True):
        counts[status] += 1
    counts["skipped"] = statement.lines_total - sum(counts.values())
    return counts


# -- staff decisions on unmatched lines


def match_line(*, line: StatementLine, donation: Donation, actor: Actor) -> StatementLine:
    """Staff say which gift an unmatched line pays (or returns), and it is acted upon.

    A credit confirms a pending gift (or just links one already confirmed, e.g. recorded by
    hand); a debit refunds a confirmed gift or fails a pending one, as an automatic return
    would. The amount and currency must be the gift's; a gift is matched to at most one
    credit line. Errors: Invalid (another organization's gift, another amount), Conflict
    (the line is not unmatched, the gift is already matched, or its state forbids it).
    """
    org = line.organization
    if donation.organization_id != org.pk:
        raise Invalid(_("This gift belongs to another organization."), field="donation")
    with transaction.atomic():
        locked = StatementLine.objects.select_for_update().get(pk=line.pk)
        if locked.status == StatementLine.Status.MATCHED:
            raise Conflict(_("This line is already matched."))
        if (
            abs(locked.amount_minor) != donation.amount_minor
            or locked.currency != donation.currency
        ):
            raise Invalid(
                _("The line is %(line)s, the gift %(gift)s: record the gift with the right amount.")
                % {
                    "line": _money(abs(locked.amount_minor), locked.currency),
                    "gift": _money(donation.amount_minor, donation.currency),
                },
                field="donation",
            )
        if locked.amount_minor > 0:
            if (
                StatementLine.objects.filter(
                    organization=org,
                    donation=donation,
                    status=StatementLine.Status.MATCHED,
                    amount_minor__gt=0,
                )
                .filter(~Q(pk=locked.pk))
                .exists()
            ):
                raise Conflict(_("This gift is already matched to another line."))
            if donation.status == Donation.Status.PENDING:
                confirm_donation(
                    donation=donation, actor=actor, received_at=_booked_at(org, locked.booked_on)
                )
                _mark_collected([donation], actor)
            elif donation.status != Donation.Status.CONFIRMED:
                raise Conflict(
                    _("This gift is %(status)s.") % {"status": donation.get_status_display()}
                )
            note = _("Matched by staff.")
        else:
            reason = locked.return_reason or REVERSAL
            if donation.status == Donation.Status.CONFIRMED:
                refund_donation(
                    donation=donation,
                    actor=actor,
                    reason=reason,
                    provider_id=locked.line_key,
                    at=_booked_at(org, locked.booked_on),
                )
            elif donation.status == Donation.Status.PENDING:
                fail_donation(donation=donation, actor=actor, reason=reason)
            else:
                raise Conflict(
                    _("This gift is %(status)s.") % {"status": donation.get_status_display()}
                )
            if donation.method == Method.SEPA:
                _record_collection_failure(donation.plan, reason, actor)
            note = _("Return matched by staff.")
        locked.status = StatementLine.Status.MATCHED
        locked.donation = donation
        locked.note = note
        locked.save(update_fields=["status", "donation", "note"])
        BankStatement.objects.filter(pk=locked.statement_id).update(
            lines_matched=StatementLine.objects.filter(
                statement_id=locked.statement_id, status=StatementLine.Status.MATCHED
            ).count()
        )
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.statement_line.matched",
            subject=locked,
            extra={"donation": donation.pk},
        )
    return locked


def ignore_line(*, line: StatementLine, actor: Actor, note: str = "") -> StatementLine:
    """Staff say an unmatched line is no gift (bank fees, a supplier's refund…).

    Idempotent. Errors: Conflict for a matched line (its gift was already acted upon)."""
    with transaction.atomic():
        locked = StatementLine.objects.select_for_update().get(pk=line.pk)
        if locked.status == StatementLine.Status.IGNORED:
            return locked
        if locked.status == StatementLine.Status.MATCHED:
            raise Conflict(_("A matched line cannot be ignored."))
        locked.status = StatementLine.Status.IGNORED
        locked.note = (note or "").strip()[:200] or _("Ignored by staff.")
        locked.save(update_fields=["status", "note"])
        audit.record(
            org=locked.organization,
            actor=actor,
            code="fundraising.statement_line.ignored",
            subject=locked,
        )
    return locked
