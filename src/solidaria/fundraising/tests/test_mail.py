"""Donor emails, delivered to a real SMTP server on loopback (aiosmtpd) through Django's
SMTP backend, and read back as the donor's mail program would."""

import datetime
import email
import io
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django_tasks_db.models import DBTaskResult
from pypdf import PdfReader

from solidaria.core.errors import Invalid
from solidaria.core.models import AuditEvent
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.mail import (
    email_annual_statements,
    send_annual_statements,
    send_thank_you,
    send_transfer_details,
)
from solidaria.fundraising.models import Donation, StatementSent
from solidaria.fundraising.tests.factories import make_gift, make_pending_gift
from solidaria.people.actions import erase_contact
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

UTC = datetime.UTC


class Inbox:
    """An aiosmtpd handler keeping every accepted message; refuses the `refuse` addresses."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class LoopbackController(Controller):
    """aiosmtpd's controller on an ephemeral port: the OS picks it, we read it back."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Solidaria <noreply@example.org>"
    try:
        yield inbox
    finally:
        controller.stop()


def make_org(**fields):
    org = OrganizationFactory(**fields)
    actions.update_fundraising_settings(
        org=org,
        actor=TEST_ACTOR,
        legal_name="Asociación Agua Limpia",
        bank_iban="ES9121000418450200051332",
        texts={"es": {"thanks": "Con tu ayuda llevamos agua a 30 familias."}},
    )
    return org


def attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_content())
        for part in message.iter_attachments()
    ]


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


@pytest.mark.django_db
def test_thank_you_carries_the_receipt_and_tracking_link_in_the_donors_language_once(
    settings, django_capture_on_commit_callbacks
):
    # given: a confirmed gift, whose confirmation queued the thank-you
    settings.BASE_URL = "https://give.example.org"
    org = make_org(language="en")
    donor = make_contact(org, language="es", emails=["ana@example.net", "ana.work@example.com"])
    with django_capture_on_commit_callbacks(execute=True):
        gift = make_gift(
            org,
            contact=donor,
            amount_minor=1250,
            method="stripe",
            received_at=datetime.datetime(2026, 3, 1, 10, tzinfo=UTC),
        )
    queued = DBTaskResult.objects.get(task_path__endswith="send_thank_you")

    # when
    with smtp_server(settings) as inbox:
        first = send_thank_you.call(*queued.args_kwargs["args"])
        second = send_thank_you.call(gift.pk)

    # then: one message, to the primary address only
    assert (first, second) == (True, False)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["X-Envelope-To"] == "ana@example.net"
    assert message["To"] == "ana@example.net"
    assert "Asociación" not in message["From"]  # the organization's name, not its legal one
    assert org.name in message["From"]
    assert message["Content-Language"] == "es"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = text_and_html(message)
    tracking = f"https://give.example.org/t/{gift.tracking_token}"
    for body in (text, html):
        assert tracking in body
        assert "12,50\xa0€" in body
        assert "1 de marzo de 2026" in body
        assert gift.receipt_number in body
        assert "Con tu ayuda llevamos agua a 30 familias." in body
    assert '<html lang="es" dir="ltr">' in html
    ((name, content_type, pdf),) = attachments(message)
    assert name == f"receipt-{gift.receipt_number}.pdf"
    assert content_type == "application/pdf"
    assert pdf.startswith(b"%PDF-")
    assert gift.receipt_number in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    gift.refresh_from_db()
    assert gift.thanked_at is not None
    assert AuditEvent.objects.filter(code="fundraising.donation.thanked").count() == 1


@pytest.mark.django_db
def test_arabic_thank_you_reads_right_to_left(settings):
    # given
    org = make_org(language="es")
    donor = make_contact(org, language="ar", emails=["amina@example.net"])
    gift = make_gift(org, contact=donor, received_at=datetime.datetime(2026, 3, 1, tzinfo=UTC))

    # when
    with smtp_server(settings) as inbox:
        send_thank_you.call(gift.pk)

    # then
    (message,) = inbox.messages
    assert message["Content-Language"] == "ar"
    _text, html = text_and_html(message)
    assert '<html lang="ar" dir="rtl">' in html
    assert "مارس" in html


@pytest.mark.django_db
def test_what_donors_and_organizations_typed_is_escaped_in_the_html(settings):
    # given
    org = make_org(language="en")
    actions.update_fundraising_settings(
        org=org, actor=TEST_ACTOR, texts={"en": {"thanks": "<script>x()</script>"}}
    )
    donor = make_contact(org, given_name="<b>Ana</b>", language="en", emails=["a@example.net"])
    gift = make_gift(org, contact=donor)

    # when
    with smtp_server(settings) as inbox:
        send_thank_you.call(gift.pk)

    # then
    text, html = text_and_html(inbox.messages[0])
    assert "<script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html
    assert "Dear <b>Ana</b>," in text  # plain text is shown as is


@pytest.mark.django_db
def test_no_thank_you_without_an_address_for_a_pending_gift_or_an_erased_donor(settings):
    # given
    org = make_org()
    no_address = make_gift(org, contact=make_contact(org, emails=[]))
    pending = make_pending_gift(org, contact=make_contact(org, emails=["p@example.net"]))
    erased_donor = make_contact(org, emails=["e@example.net"])
    erased = make_gift(org, contact=erased_donor)
    erase_contact(org=org, actor=TEST_ACTOR, contact=erased_donor)

    # when
    with smtp_server(settings) as inbox:
        results = [send_thank_you.call(g.pk) for g in (no_address, pending, erased)]
        results.append(send_thank_you.call(10**9))  # no such gift

    # then
    assert results == [False] * 4
    assert inbox.messages == []
    assert not Donation.objects.filter(thanked_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_refused_thank_you_is_not_marked_sent_and_goes_on_the_next_run(settings):
    # given
    org = make_org()
    gift = make_gift(org, contact=make_contact(org, emails=["full@example.net"]))

    # when
    with smtp_server(settings) as inbox:
        inbox.refuse.add("full@example.net")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send_thank_you.call(gift.pk)
        inbox.refuse.clear()
        retried = send_thank_you.call(gift.pk)

    # then
    assert retried is True
    assert len(inbox.messages) == 1


@pytest.mark.django_db
def test_transfer_details_tell_how_to_pay_once(settings):
    # given
    org = make_org(language="es")
    donor = make_contact(org, language="es", emails=["ana@example.net"])
    gift = make_pending_gift(org, contact=donor, amount_minor=5000, method="bank_transfer")

    # when
    with smtp_server(settings) as inbox:
        sent = [send_transfer_details.call(gift.pk), send_transfer_details.call(gift.pk)]

    # then
    assert sent == [True, False]
    (message,) = inbox.messages
    assert message["X-Envelope-To"] == "ana@example.net"
    text, html = text_and_html(message)
    for body in (text, html):
        assert "ES91 2100 0418 4502 0005 1332" in body
        assert "50,00\xa0€" in body
        assert gift.payment_reference in body
        assert "Asociación Agua Limpia" in body
    assert attachments(message) == []


@pytest.mark.django_db
def test_no_transfer_details_for_a_card_gift_or_without_an_iban(settings):
    # given
    org = make_org()
    card = make_pending_gift(
        org, contact=make_contact(org, emails=["c@example.net"]), method="stripe"
    )
    bare = OrganizationFactory()
    transfer = make_pending_gift(bare, contact=make_contact(bare, emails=["t@example.net"]))

    # when
    with smtp_server(settings) as inbox:
        sent = [send_transfer_details.call(card.pk), send_transfer_details.call(transfer.pk)]

    # then
    assert sent == [False, False]
    assert inbox.messages == []


def _gift_in(org, contact, year, amount_minor=1000):
    return make_gift(
        org,
        contact=contact,
        amount_minor=amount_minor,
        received_at=datetime.datetime(year, 6, 1, 12, tzinfo=UTC),
    )


@pytest.mark.django_db
def test_annual_statements_go_once_to_each_donor_of_the_year(
    settings, django_capture_on_commit_callbacks
):
    # given
    org = make_org()
    ana = make_contact(org, language="en", emails=["ana@example.net"])
    bo = make_contact(org, language="de", emails=["bo@example.net"])
    silent = make_contact(org, emails=[])
    other_year = make_contact(org, emails=["old@example.net"])
    _gift_in(org, ana, 2025, 1000)
    _gift_in(org, ana, 2025, 2500)
    _gift_in(org, bo, 2025)
    _gift_in(org, silent, 2025)
    _gift_in(org, other_year, 2024)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        count = email_annual_statements(org=org, actor=TEST_ACTOR, fiscal_year=2025)
    queued = DBTaskResult.objects.get(task_path__endswith="send_annual_statements")
    with smtp_server(settings) as inbox:
        first = send_annual_statements.call(*queued.args_kwargs["args"])
        again = send_annual_statements.call(org.pk, 2025)

    # then
    assert count == 2
    assert queued.args_kwargs["args"] == [org.pk, 2025]
    assert (first, again) == (2, 0)
    by_address = {m["X-Envelope-To"]: m for m in inbox.messages}
    assert sorted(by_address) == ["ana@example.net", "bo@example.net"]
    ((name, content_type, pdf),) = attachments(by_address["ana@example.net"])
    assert (name, content_type) == ("statement-2025.pdf", "application/pdf")
    assert "€35.00" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert by_address["bo@example.net"]["Content-Language"] == "de"
    assert StatementSent.objects.filter(organization=org, fiscal_year=2025).count() == 2
    assert email_annual_statements(org=org, actor=TEST_ACTOR, fiscal_year=2025) == 0


@pytest.mark.django_db
def test_a_refused_statement_fails_the_task_and_only_it_goes_on_the_next_run(settings):
    # given
    org = make_org()
    ok = make_contact(org, emails=["ok@example.net"])
    full = make_contact(org, emails=["full@example.net"])
    _gift_in(org, ok, 2025)
    _gift_in(org, full, 2025)

    # when
    with smtp_server(settings) as inbox:
        inbox.refuse.add("full@example.net")
        with pytest.raises(RuntimeError, match="run again"):
            send_annual_statements.call(org.pk, 2025)
        inbox.refuse.clear()
        retried = send_annual_statements.call(org.pk, 2025)

    # then
    assert retried == 1
    assert [m["X-Envelope-To"] for m in inbox.messages] == ["ok@example.net", "full@example.net"]


@pytest.mark.django_db
@pytest.mark.parametrize("year", [2999, "2025", True])
def test_statements_wait_for_the_end_of_the_fiscal_year(year):
    # given
    org = make_org()

    # when / then
    with pytest.raises(Invalid):
        email_annual_statements(org=org, actor=TEST_ACTOR, fiscal_year=year)
