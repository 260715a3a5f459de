"""The donor self-service portal `/me/`: magic links, the portal, plan actions, consents."""

import datetime
import re
import time

import pytest
from django.core import mail, signing
from django.test import override_settings
from django.utils import timezone

from solidaria.consent.actions import ensure_default_purposes
from solidaria.consent.models import ConsentEvent
from solidaria.consent.queries import may_contact
from solidaria.core.models import AuditEvent
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions, selfservice
from solidaria.fundraising.models import DonorLoginLink, RecurringPlan
from solidaria.people.tests.factories import TEST_ACTOR, make_contact
from solidaria.web.tests.conftest import TIMEOUT_MS, axe_source, browser  # noqa: F401
from solidaria.web.tests.test_accessibility import assert_accessible

pytestmark = pytest.mark.django_db

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
IBAN = "DE89370400440532013000"
OTHER_IBAN = "ES9121000418450200051332"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def donor(org, email="lena@example.org", **fields):
    return make_contact(org, emails=[email], language="en", **fields)


def confirmed_gift(org, contact, amount=2500):
    donation = actions.start_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=amount,
        currency="EUR",
        fund=actions.ensure_general_fund(org=org),
        method="bank_transfer",
    )
    return actions.confirm_donation(
        donation=donation,
        actor=TEST_ACTOR,
        received_at=timezone.now() - datetime.timedelta(days=3),
    )


def sepa_plan(org, contact, amount=1500):
    return actions.create_plan(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=amount,
        currency="EUR",
        fund=actions.ensure_general_fund(org=org),
        frequency="monthly",
        method="sepa",
        iban=IBAN,
        mandate_signed_at=timezone.localdate() - datetime.timedelta(days=1),
    )


def ask_for_link(client, django_capture_on_commit_callbacks, org, email):
    with override_settings(TASKS=IMMEDIATE_TASKS), django_capture_on_commit_callbacks(execute=True):
        return client.post("/me/", {"org": org.slug, "email": email}, HTTP_ACCEPT_LANGUAGE="en")


def link_path(message) -> str:
    found = re.search(r"https?://[^/\s]+(/me/login/\S+)", message.body)
    assert found, message.body
    return found.group(1)


def signed_in(client, org, contact):
    """A portal session as the magic link leaves it, without going through the email."""
    session = client.session
    session[selfservice.SESSION_KEY] = {
        "org": org.pk,
        "contact": contact.pk,
        "seen": timezone.now().isoformat(),
    }
    session.save()
    return client


# --- magic links ----------------------------------------------------------------------------


def test_known_email_gets_a_link_and_the_answer_is_the_same_for_an_unknown_one(
    client, django_capture_on_commit_callbacks
):
    # given a donor of the organization
    org = OrganizationFactory()
    donor(org, email="lena@example.org")

    # when a link is asked for their address, and for an address nobody has
    known = ask_for_link(client, django_capture_on_commit_callbacks, org, "Lena@Example.org")
    unknown = ask_for_link(client, django_capture_on_commit_callbacks, org, "nobody@example.org")

    # then both answers are the same page
    assert known.status_code == unknown.status_code == 200
    assert CSRF.sub("", known.content.decode()) == CSRF.sub("", unknown.content.decode())
    # and only the donor got an email, in their language, with a link
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lena@example.org"]
    assert org.name in message.subject
    assert link_path(message).startswith("/me/login/")
    assert message.alternatives[0][1] == "text/html"


def test_the_email_is_in_the_donors_language(client, django_capture_on_commit_callbacks):
    # given a donor who speaks Spanish
    org = OrganizationFactory(language="en")
    make_contact(org, emails=["rosa@example.org"], language="es")

    # when a link is asked for from an English page
    ask_for_link(client, django_capture_on_commit_callbacks, org, "rosa@example.org")

    # then the email is written in Spanish
    html = mail.outbox[0].alternatives[0][0]
    assert '<html lang="es"' in html


def test_the_link_works_once(client, django_capture_on_commit_callbacks):
    # given a donor with a gift who asked for a link
    org = OrganizationFactory()
    contact = donor(org)
    gift = confirmed_gift(org, contact)
    ask_for_link(client, django_capture_on_commit_callbacks, org, "lena@example.org")
    path = link_path(mail.outbox[0])

    # when the link is opened (GET spends nothing) and confirmed
    shown = client.get(path)
    used = client.post(path)
    portal = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")

    # then the donor sees their portal with their gift
    assert shown.status_code == 200
    assert used.status_code == 302
    assert used["Location"] == "/me/"
    assert portal.status_code == 200
    assert f"/t/{gift.tracking_token}" in portal.content.decode()
    assert AuditEvent.objects.filter(code="fundraising.portal.signed_in", via="donor").exists()
    # and the same link, used again in another browser, no longer works
    client.logout()
    again = client.__class__().post(path)
    assert again.status_code == 400
    assert "already used" in again.content.decode()


def test_an_expired_link_is_refused(client, django_capture_on_commit_callbacks):
    # given a link asked for more than an hour ago
    org = OrganizationFactory()
    contact = donor(org)
    link = selfservice.request_login_link(org=org, email="lena@example.org", language="en")

    class TwoHoursAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 7200)

    token = TwoHoursAgo(salt="solidaria.fundraising.selfservice.link").sign_object(
        {"o": org.pk, "c": contact.pk, "n": link.nonce}, compress=False
    )

    # when it is opened
    response = client.post(f"/me/login/{token}")

    # then it is refused as expired, and no session starts
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert client.get("/me/").status_code == 200
    assert selfservice.SESSION_KEY not in client.session


def test_a_link_past_its_stored_expiry_is_refused(client, django_capture_on_commit_callbacks):
    # given a link whose row expired (a signature made just now, a row that says otherwise)
    org = OrganizationFactory()
    donor(org)
    ask_for_link(client, django_capture_on_commit_callbacks, org, "lena@example.org")
    DonorLoginLink.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    # when it is used
    response = client.post(link_path(mail.outbox[0]))

    # then it is refused
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_a_tampered_link_is_refused(client):
    # when a made-up token is used
    response = client.post("/me/login/not-a-real-token")

    # then it is refused, not a server error
    assert response.status_code == 400


def test_an_email_known_only_in_another_organization_gets_nothing(
    client, django_capture_on_commit_callbacks
):
    # given a donor of one organization
    org, other = OrganizationFactory(), OrganizationFactory()
    donor(org, email="lena@example.org")

    # when a link is asked for their address from the other organization's portal
    response = ask_for_link(client, django_capture_on_commit_callbacks, other, "lena@example.org")

    # then nothing is sent, and the answer is the usual one
    assert response.status_code == 200
    assert mail.outbox == []


def test_a_link_is_bound_to_its_organization(client, django_capture_on_commit_callbacks):
    # given a link for a donor of one organization, signed-in
    org, other = OrganizationFactory(), OrganizationFactory()
    contact = donor(org)
    theirs = confirmed_gift(other, donor(other))
    ask_for_link(client, django_capture_on_commit_callbacks, org, "lena@example.org")
    client.post(link_path(mail.outbox[0]))

    # when the other organization's gift is asked for
    response = client.get(f"/me/gifts/{theirs.pk}/receipt.pdf")

    # then it is not found
    assert response.status_code == 404
    assert client.session[selfservice.SESSION_KEY]["org"] == org.pk
    assert client.session[selfservice.SESSION_KEY]["contact"] == contact.pk


def test_links_are_rate_limited_per_address(client, django_capture_on_commit_callbacks):
    # given a donor
    org = OrganizationFactory()
    donor(org)

    # when a link is asked for five times in a row
    for _attempt in range(5):
        response = ask_for_link(client, django_capture_on_commit_callbacks, org, "lena@example.org")
        assert response.status_code == 200

    # then only the first few are sent
    assert len(mail.outbox) == selfservice.RATE_LIMIT


def test_an_invalid_email_is_a_clear_error(client):
    # given an organization
    org = OrganizationFactory()

    # when something that is not an email is sent
    response = client.post("/me/", {"org": org.slug, "email": "not an email"})

    # then the form says so
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()


def test_the_request_form_needs_an_organization(client):
    # when the portal is opened without an organization
    response = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")
    posted = client.post("/me/", {"email": "lena@example.org"})

    # then it says where to come from, and sends nothing
    assert response.status_code == 200
    assert "Open this page from the link" in response.content.decode()
    assert posted.status_code == 400
    assert mail.outbox == []


def test_the_session_ends_after_thirty_idle_minutes(client):
    # given a donor whose portal session was last used 31 minutes ago
    org = OrganizationFactory()
    contact = donor(org)
    confirmed_gift(org, contact)
    signed_in(client, org, contact)
    session = client.session
    session[selfservice.SESSION_KEY]["seen"] = (
        timezone.now() - datetime.timedelta(minutes=31)
    ).isoformat()
    session.save()

    # when the portal is opened
    response = client.get(f"/me/?org={org.slug}", HTTP_ACCEPT_LANGUAGE="en")

    # then it asks for a new link
    assert 'name="email"' in response.content.decode()
    assert "Your gifts" not in response.content.decode()


def test_sign_out(client):
    # given a signed-in donor
    org = OrganizationFactory()
    signed_in(client, org, donor(org))

    # when they sign out
    response = client.post("/me/logout")

    # then the portal asks for a link again
    assert response.status_code == 302
    assert selfservice.SESSION_KEY not in client.session


# --- the portal -------------------------------------------------------------------------------


def test_portal_lists_only_the_donors_own_gifts_plans_and_statements(client):
    # given two donors of the same organization
    org = OrganizationFactory()
    contact, someone = donor(org), donor(org, email="else@example.org")
    mine = confirmed_gift(org, contact, amount=2500)
    theirs = confirmed_gift(org, someone, amount=9900)
    plan = sepa_plan(org, contact)
    sepa_plan(org, someone, amount=7700)

    # when the first donor opens their portal
    html = signed_in(client, org, contact).get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # then they see their gift, receipt, plan and statement, and nothing of the other donor's
    assert "<script" not in html  # plain forms: the portal needs no JavaScript
    assert f"/t/{mine.tracking_token}" in html
    assert f"/me/gifts/{mine.pk}/receipt.pdf" in html
    assert f"/me/plans/{plan.pk}/pause" in html
    assert f"/me/statements/{timezone.localtime(mine.received_at).year}.pdf" in html
    assert "DE89 •••• 3000" in html
    assert f"/t/{theirs.tracking_token}" not in html
    assert "€99.00" not in html
    assert "€77.00" not in html


@pytest.mark.slow
def test_receipt_and_statement_downloads(client):
    """Slow: renders two PDFs with embedded fonts."""
    # given a donor with a confirmed gift
    org = OrganizationFactory()
    contact = donor(org)
    gift = confirmed_gift(org, contact)
    signed_in(client, org, contact)

    # when they download its receipt and their statement
    receipt = client.get(f"/me/gifts/{gift.pk}/receipt.pdf")
    year = selfservice.statement_years_for(selfservice.Donor(org=org, contact=contact))[0]
    statement = client.get(f"/me/statements/{year}.pdf")

    # then both are PDFs
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")
    assert gift.receipt_number in receipt["Content-Disposition"]
    assert statement.status_code == 200
    assert statement.content.startswith(b"%PDF")
    # and a year without gifts has no statement
    assert client.get(f"/me/statements/{year - 5}.pdf").status_code == 404


def test_the_mandate_of_a_one_off_debit_is_not_a_recurring_gift_in_the_portal(client):
    # given a donor's one-off SEPA mandate
    org = OrganizationFactory()
    contact = donor(org)
    once = actions.create_plan(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=4200,
        currency="EUR",
        fund=None,
        frequency="once",
        method="sepa",
        iban=IBAN,
        mandate_signed_at=timezone.localdate(),
    )
    signed_in(client, org, contact)

    # when the donor opens the portal, and tries to change it
    html = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    action = client.post(f"/me/plans/{once.pk}/amount", {"amount": "1"})

    # then it is not listed, and cannot be changed
    assert f"/me/plans/{once.pk}/" not in html
    assert action.status_code == 404
    once.refresh_from_db()
    assert once.amount_minor == 4200


def test_another_donors_gift_and_plan_are_404(client):
    # given two donors, one signed in
    org = OrganizationFactory()
    contact, someone = donor(org), donor(org, email="else@example.org")
    theirs = confirmed_gift(org, someone)
    their_plan = sepa_plan(org, someone)
    signed_in(client, org, contact)

    # when the signed-in donor tries the other's ids
    receipt = client.get(f"/me/gifts/{theirs.pk}/receipt.pdf")
    action = client.post(f"/me/plans/{their_plan.pk}/cancel", {"confirm": "1"})

    # then neither is found, and the plan is untouched
    assert receipt.status_code == 404
    assert action.status_code == 404
    their_plan.refresh_from_db()
    assert their_plan.status == RecurringPlan.Status.ACTIVE


def test_portal_pages_need_a_session(client):
    # given a donor's gift and plan, and nobody signed in
    org = OrganizationFactory()
    contact = donor(org)
    gift = confirmed_gift(org, contact)
    plan = sepa_plan(org, contact)

    # when the portal's pages are tried
    receipt = client.get(f"/me/gifts/{gift.pk}/receipt.pdf")
    action = client.post(f"/me/plans/{plan.pk}/cancel", {"confirm": "1"})

    # then they send to the link form
    assert receipt.status_code == action.status_code == 302
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.ACTIVE


@pytest.mark.parametrize(
    ("action", "data", "check"),
    [
        ("amount", {"amount": "20,50"}, lambda p, old: p.amount_minor == 2050),
        ("pause", {}, lambda p, old: p.status == "paused"),
        ("cancel", {"confirm": "1"}, lambda p, old: p.status == "cancelled"),
        ("skip", {}, lambda p, old: p.next_due > old.next_due),
        ("fund", {"fund": "water"}, lambda p, old: p.fund.slug == "water"),
        ("iban", {"iban": OTHER_IBAN}, lambda p, old: p.iban == OTHER_IBAN),
        (
            "iban",
            {"iban": OTHER_IBAN, "account_holder": " Anna  Weber "},
            lambda p, old: (p.iban, p.account_holder) == (OTHER_IBAN, "Anna Weber"),
        ),
    ],
)
def test_each_plan_action_changes_the_plan_and_is_audited(client, action, data, check):
    # given a donor's monthly SEPA plan and a second fund
    org = OrganizationFactory()
    contact = donor(org)
    actions.create_fund(org=org, actor=TEST_ACTOR, slug="water", name="Clean water")
    plan = sepa_plan(org, contact)
    before = RecurringPlan.objects.get(pk=plan.pk)
    signed_in(client, org, contact)

    # when the donor uses the action
    response = client.post(f"/me/plans/{plan.pk}/{action}", data)

    # then the plan changed, and the change is audited as the donor's
    assert response.status_code == 302, response.content.decode()[:2000]
    plan.refresh_from_db()
    assert check(plan, before)
    assert AuditEvent.objects.filter(
        subject_type="fundraising.recurringplan", subject_id=str(plan.pk), via="donor"
    ).exists()


def test_resume_a_paused_plan(client):
    # given a paused plan
    org = OrganizationFactory()
    contact = donor(org)
    plan = sepa_plan(org, contact)
    actions.update_plan(plan=plan, actor=TEST_ACTOR, status="paused")
    signed_in(client, org, contact)

    # when the donor resumes it
    client.post(f"/me/plans/{plan.pk}/resume")

    # then it is active again, audited as the donor's
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.ACTIVE
    assert AuditEvent.objects.filter(subject_id=str(plan.pk), via="donor").exists()


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("amount", {"amount": "abc"}, "Enter an amount"),
        ("amount", {"amount": "0.50"}, "smallest amount"),
        ("iban", {"iban": "DE00 1234"}, "IBAN"),
        ("fund", {"fund": "nope"}, "Choose one of the funds"),
        ("cancel", {}, "Tick the box"),
    ],
)
def test_bad_plan_input_is_a_clear_error(client, action, data, message):
    # given a donor's plan
    org = OrganizationFactory()
    contact = donor(org)
    plan = sepa_plan(org, contact)
    signed_in(client, org, contact)

    # when the donor sends bad input
    response = client.post(f"/me/plans/{plan.pk}/{action}", data, HTTP_ACCEPT_LANGUAGE="en")

    # then the portal shows the error and the plan is unchanged
    assert response.status_code == 400
    assert message in response.content.decode()
    plan.refresh_from_db()
    assert (plan.amount_minor, plan.iban, plan.fund.slug) == (1500, IBAN, "general")


def test_a_cancelled_plan_changes_no_more(client):
    # given a cancelled plan
    org = OrganizationFactory()
    contact = donor(org)
    plan = sepa_plan(org, contact)
    signed_in(client, org, contact)
    client.post(f"/me/plans/{plan.pk}/cancel", {"confirm": "1"})

    # when the donor tries to resume it
    response = client.post(f"/me/plans/{plan.pk}/resume")

    # then it stays cancelled
    assert response.status_code == 400
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.CANCELLED


def test_consent_toggles_record_self_service_events(client):
    # given a donor and the default purposes
    org = OrganizationFactory()
    contact = donor(org)
    ensure_default_purposes(org=org, actor=TEST_ACTOR)
    signed_in(client, org, contact)

    # when they allow the newsletter by email, then stop it
    allowed = client.post(
        "/me/consents", {"purpose": "newsletter", "channel": "email", "granted": "1"}
    )
    granted_then = may_contact(contact=contact, purpose="newsletter", channel="email")
    client.post("/me/consents", {"purpose": "newsletter", "channel": "email", "granted": "0"})

    # then each is a consent event from self-service, and the latest holds
    assert allowed.status_code == 302
    assert granted_then
    assert not may_contact(contact=contact, purpose="newsletter", channel="email")
    sources = set(ConsentEvent.objects.filter(contact=contact).values_list("source", flat=True))
    assert sources == {"self-service"}


def test_a_bad_consent_request_is_a_clear_error(client):
    # given a signed-in donor
    org = OrganizationFactory()
    contact = donor(org)
    signed_in(client, org, contact)

    # when an unknown purpose is sent
    response = client.post("/me/consents", {"purpose": "nope", "channel": "email", "granted": "1"})

    # then it is refused with a message, not a server error
    assert response.status_code == 400
    assert not ConsentEvent.objects.filter(contact=contact).exists()


@pytest.mark.browser
@pytest.mark.slow
def test_portal_is_accessible_from_the_email_link_to_a_plan_action(
    browser,  # noqa: F811
    live_server,
    transactional_db,
    axe_source,  # noqa: F811
    settings,
):
    """Slow: a real browser through the email link, and axe-core."""
    # given a donor with a gift, a plan and consent purposes
    settings.TASKS = IMMEDIATE_TASKS
    settings.BASE_URL = live_server.url
    org = OrganizationFactory()
    contact = donor(org)
    confirmed_gift(org, contact)
    plan = sepa_plan(org, contact)
    ensure_default_purposes(org=org, actor=TEST_ACTOR)
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    # when the donor asks for a link, follows it and pauses their plan
    page.goto(f"/me/?org={org.slug}")
    assert_accessible(page, axe_source)
    page.get_by_label("Email address").fill("lena@example.org")
    page.get_by_role("button", name="Send me a link").click()
    page.get_by_text("If this address belongs to one of our donors").wait_for()
    page.goto(link_path(mail.outbox[-1]))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Your gifts").wait_for()
    assert_accessible(page, axe_source)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").wait_for()

    # then the plan is paused
    plan.refresh_from_db()
    assert plan.status == RecurringPlan.Status.PAUSED
    context.close()


def test_old_links_are_purged_and_recent_ones_kept():
    # given a link that expired two days ago and one asked for just now
    org = OrganizationFactory()
    donor(org)
    old = selfservice.request_login_link(org=org, email="lena@example.org", language="en")
    DonorLoginLink.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=2)
    )
    recent = selfservice.request_login_link(org=org, email="lena@example.org", language="en")

    # when the hourly purge runs
    deleted = selfservice.purge_login_links()

    # then only the old one is gone
    assert deleted == 1
    assert list(DonorLoginLink.objects.values_list("pk", flat=True)) == [recent.pk]
