"""Emails to donors about their own gifts: thanks with the receipt, how to pay a bank
transfer, and the annual statement.

These are transactional messages (the donor asked for the gift; a receipt is owed), so they
need no marketing consent, and they carry nothing but the gift: no appeal, no newsletter.
Each goes only to the contact's primary address, in the donor's language, as plain text with
an HTML alternative, through Django's email API (EMAIL_BACKEND: SMTP by default).

Every task is idempotent: a gift is thanked once (`Donation.thanked_at`), transfer details
are sent once per gift (an audit event), a statement once per donor and fiscal year
(`StatementSent`). The mark is written after the SMTP server accepted the message: a crash
in between sends again on the next run rather than never, because a receipt must arrive.
"""

import logging
import smtplib
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Invalid
from solidaria.core.models import AuditEvent, Organization
from solidaria.fundraising.models import (
    Donation,
    FundraisingSettings,
    Method,
    StatementSent,
)
from solidaria.fundraising.receipts import (
    annual_statement_pdf,
    donor_ids_with_gifts,
    fiscal_year_bounds,
    format_day,
    format_money,
    fund_name,
    local_day,
    organization_text,
    receipt_file_name,
    receipt_language,
    receipt_pdf,
    settings_for,
    statement_file_name,
    supported_language,
    tracking_url,
)
from solidaria.people.models import Contact

logger = logging.getLogger(__name__)

WORKER = Actor.system("worker")
TRANSFER_DETAILS_SENT = "fundraising.donation.transfer_details_sent"


# --- helpers ---------------------------------------------------------------------------------


def primary_email(contact: Contact) -> str | None:
    """The contact's first address, or None (none on file, or the contact was erased)."""
    if contact.erased_at is not None:
        return None
    first = contact.emails.order_by("position", "id").first()
    return first.email if first else None


def _from_address(org: Organization) -> str:
    """The configured sender address, shown under the organization's name."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((org.name, address)) if address else settings.DEFAULT_FROM_EMAIL


def _greeting_name(contact: Contact) -> str:
    return contact.given_name or contact.name


def _message(
    *,
    org: Organization,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
) -> EmailMultiAlternatives:
    """Plain text and HTML from `fundraising/email/<template>.txt|.html`; call it inside
    `translation.override(<the donor's language>)`."""
    context = {"org_name": org.name, **context}
    text = render_to_string(f"fundraising/email/{template}.txt", context)
    html = render_to_string(f"fundraising/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=_from_address(org), to=[to]
    )
    message.attach_alternative(html, "text/html")
    # Out-of-office replies should not answer a receipt (RFC 3834).
    message.extra_headers["Auto-Submitted"] = "auto-generated"
    message.extra_headers["Content-Language"] = translation.get_language()
    return message


# --- thank-you with the receipt --------------------------------------------------------------


def _load_donation(donation_id: int) -> Donation | None:
    return (
        Donation.objects.select_related("organization", "contact", "fund")
        .filter(pk=donation_id)
        .first()
    )


@task()
def send_thank_you(donation_id: int) -> bool:
    """Thank the donor of a confirmed gift, with its receipt PDF attached. Once per gift.

    Returns whether an email left. Nothing is sent for a gift that is not confirmed, was
    already thanked, or whose donor has no email address (or was erased).
    """
    donation = _load_donation(donation_id)
    if donation is None or donation.thanked_at is not None:
        return False
    if donation.status != Donation.Status.CONFIRMED or not donation.receipt_number:
        return False
    address = primary_email(donation.contact)
    if address is None:
        return False
    org = donation.organization
    language = receipt_language(donation)
    pdf = receipt_pdf(donation)
    with translation.override(language):
        amount = format_money(donation.amount_minor, donation.currency, language)
        message = _message(
            org=org,
            to=address,
            subject=_("Thank you for your gift to %(org)s") % {"org": org.name},
            template="thank_you",
            context={
                "name": _greeting_name(donation.contact),
                "amount": amount,
                "fund": fund_name(donation.fund, language),
                "date": format_day(
                    local_day(donation.received_at or donation.confirmed_at, org), language
                ),
                "number": donation.receipt_number,
                "thanks": organization_text(settings_for(org), "thanks", language, org.language),
                "tracking_url": tracking_url(donation),
            },
        )
    message.attach(receipt_file_name(donation.receipt_number), pdf, "application/pdf")
    message.send()
    with transaction.atomic():
        # Only the run that flips thanked_at from NULL records the event.
        marked = Donation.objects.filter(pk=donation.pk, thanked_at__isnull=True).update(
            thanked_at=timezone.now()
        )
        if marked:
            audit.record(
                org=org, actor=WORKER, code="fundraising.donation.thanked", subject=donation
            )
    return True


# --- how to pay a bank transfer --------------------------------------------------------------


def _formatted_iban(value: str) -> str:
    try:
        return IBAN(value).formatted
    except SchwiftyException:
        return value


@task()
def send_transfer_details(donation_id: int) -> bool:
    """Tell the donor of a pending bank-transfer gift where to send the money: the
    organization's IBAN and BIC, the amount and the reference to quote. Once per gift.

    Returns whether an email left. Nothing is sent for another method or a gift no longer
    pending, without an address, or while the organization has no IBAN configured (logged).
    """
    donation = _load_donation(donation_id)
    if donation is None or donation.method != Method.BANK_TRANSFER:
        return False
    if donation.status != Donation.Status.PENDING or not donation.payment_reference:
        return False
    org = donation.organization
    already = AuditEvent.objects.filter(
        organization=org,
        code=TRANSFER_DETAILS_SENT,
        subject_type="fundraising.donation",
        subject_id=str(donation.pk),
    ).exists()
    if already:
        return False
    address = primary_email(donation.contact)
    if address is None:
        return False
    fundraising = FundraisingSettings.objects.filter(organization=org).first()
    if fundraising is None or not fundraising.bank_iban:
        logger.warning(
            "Organization %s has no IBAN for transfers: gift %s gets no transfer details.",
            org.slug,
            donation.pk,
        )
        return False
    language = supported_language(donation.contact.language, donation.language, org.language)
    with translation.override(language):
        message = _message(
            org=org,
            to=address,
            subject=_("How to complete your gift to %(org)s") % {"org": org.name},
            template="transfer_details",
            context={
                "name": _greeting_name(donation.contact),
                "amount": format_money(donation.amount_minor, donation.currency, language),
                "fund": fund_name(donation.fund, language),
                "beneficiary": fundraising.legal_name or org.name,
                "iban": _formatted_iban(fundraising.bank_iban),
                "bic": fundraising.bank_bic,
                "reference": donation.payment_reference,
                "tracking_url": tracking_url(donation),
            },
        )
    message.send()
    with transaction.atomic():
        audit.record(org=org, actor=WORKER, code=TRANSFER_DETAILS_SENT, subject=donation)
    return True


# --- annual statements -----------------------------------------------------------------------


def _send_statement(*, org: Organization, contact: Contact, fiscal_year: int, to: str) -> None:
    pdf = annual_statement_pdf(org=org, contact=contact, fiscal_year=fiscal_year)
    language = supported_language(contact.language, org.language)
    with translation.override(language):
        message = _message(
            org=org,
            to=to,
            subject=_("Your %(year)s statement of gifts to %(org)s")
            % {"year": fiscal_year, "org": org.name},
            template="annual_statement",
            context={"name": _greeting_name(contact), "year": fiscal_year},
        )
    message.attach(statement_file_name(fiscal_year), pdf, "application/pdf")
    message.send()


def donors_awaiting_statement(*, org: Organization, fiscal_year: int) -> list[int]:
    """Ids of the donors with gifts in the fiscal year whose statement was not sent yet."""
    sent = set(
        StatementSent.objects.filter(organization=org, fiscal_year=fiscal_year).values_list(
            "contact_id", flat=True
        )
    )
    return [pk for pk in donor_ids_with_gifts(org=org, fiscal_year=fiscal_year) if pk not in sent]


@task()
def send_annual_statements(org_id: int, fiscal_year: int) -> int:
    """Email each donor with gifts in the fiscal year their statement PDF, once per year.

    Returns how many emails left. Donors without an address (or erased) are skipped. A
    refused delivery is logged and the others still go; the task then fails, and running it
    again sends only the statements still missing.
    """
    org = Organization.objects.get(pk=org_id)
    pending = donors_awaiting_statement(org=org, fiscal_year=fiscal_year)
    contacts = Contact.objects.filter(organization=org, pk__in=pending, erased_at__isnull=True)
    sent = failed = 0
    for contact in contacts.order_by("pk"):
        address = primary_email(contact)
        if address is None:
            continue
        try:
            _send_statement(org=org, contact=contact, fiscal_year=fiscal_year, to=address)
        except (smtplib.SMTPException, OSError):
            logger.exception("Statement %s for contact %s not sent", fiscal_year, contact.pk)
            failed += 1
            continue
        sent += 1
        try:
            with transaction.atomic():
                StatementSent.objects.create(
                    organization=org, contact=contact, fiscal_year=fiscal_year
                )
                audit.record(
                    org=org,
                    actor=WORKER,
                    code="fundraising.statement.sent",
                    subject=contact,
                    extra={"fiscal_year": fiscal_year},
                )
        except IntegrityError:
            pass  # a concurrent run sent it too; the mark is there
    if failed:
        raise RuntimeError(
            f"{failed} statement(s) for {fiscal_year} could not be sent; run again to retry."
        )
    return sent


def email_annual_statements(*, org: Organization, actor: Actor, fiscal_year: int) -> int:
    """Queue the annual statement emails of a finished fiscal year; returns how many donors
    will get one (those with gifts that year and an email address who did not get it yet).

    Side effects: one audit event; the `send_annual_statements` task after commit (none when
    nobody is waiting). Errors: Invalid for a year that is not a number or not over yet (a
    statement sent early would miss the rest of the year's gifts and block the full one).
    """
    start_month = settings_for(org).fiscal_year_start_month
    _start, end = fiscal_year_bounds(org=org, fiscal_year=fiscal_year, start_month=start_month)
    if end > timezone.now():
        raise Invalid(
            _("The fiscal year %(year)s is not over yet: statements can be sent from %(day)s.")
            % {"year": fiscal_year, "day": end.date().isoformat()},
            field="fiscal_year",
        )
    count = (
        Contact.objects.filter(
            organization=org,
            pk__in=donors_awaiting_statement(org=org, fiscal_year=fiscal_year),
            erased_at__isnull=True,
            emails__isnull=False,
        )
        .distinct()
        .count()
    )
    with transaction.atomic():
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.statements.requested",
            extra={"fiscal_year": fiscal_year, "donors": count},
        )
        if count:
            transaction.on_commit(lambda: send_annual_statements.enqueue(org.pk, fiscal_year))
    return count
