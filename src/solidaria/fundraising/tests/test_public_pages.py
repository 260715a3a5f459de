"""The public giving pages through HTTP: donate, campaign, peer page, start a page, thanks.

As a visitor meets them: no account, plain forms, the visitor's language, every method's path.
"""

import datetime
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_decimal
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from solidaria.consent.models import ConsentEvent
from solidaria.consent.tests.factories import make_purposes
from solidaria.core.models import Organization
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Fund,
    PeerPage,
    RecurringPlan,
)
from solidaria.fundraising.public_forms import parse_amount
from solidaria.fundraising.public_views import (
    first_collection_date,
    is_target_business_day,
    org_today,
)
from solidaria.fundraising.tests.fake_providers import (
    FakeMollie,
    FakeStripe,
    configure_mollie,
    configure_stripe,
)
from solidaria.people.models import Contact, ContactEmail
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

LANGUAGES = [code for code, _name in settings.LANGUAGES]
CSS = Path(__file__).resolve().parents[2] / "web" / "static" / "web" / "solidaria.css"
SIZE_BUDGET = 30_000  # bytes: the page and its stylesheet on a slow phone network
IBAN_ORG = "ES9121000418450200051332"
IBAN_DONOR = "DE89370400440532013000"
CREDITOR_ID = "DE98ZZZ09999999999"


# --- helpers -------------------------------------------------------------------------------


def make_org(*, bank: bool = True, sepa: bool = False, **fields) -> Organization:
    """An organization in Spain taking bank transfers (and SEPA debits), with consent purposes."""
    org = OrganizationFactory(name="Asociación Vecinal Solidaria", **fields)
    make_purposes(org)
    if bank:
        actions.update_fundraising_settings(
            org=org, actor=TEST_ACTOR, bank_iban=IBAN_ORG, legal_name="Asociación Vecinal"
        )
    if sepa:
        actions.configure_payment_provider(
            org=org,
            actor=TEST_ACTOR,
            kind="sepa",
            settings={
                "creditor_name": "Asociacion Vecinal",
                "creditor_iban": IBAN_ORG,
                "creditor_id": CREDITOR_ID,
            },
            secrets={},
        )
    return org


def make_campaign(org: Organization, *, published: bool = True, **fields) -> Campaign:
    fund = fields.pop("fund", None) or actions.create_fund(
        org=org, actor=TEST_ACTOR, slug=f"water-{Fund.objects.count()}", name="Clean water"
    )
    fields.setdefault("title", "Water for Sevilla Este")
    fields.setdefault("goal_minor", 500_000)
    return actions.create_campaign(
        org=org,
        actor=TEST_ACTOR,
        slug=fields.pop("slug", "water"),
        fund=fund,
        published=published,
        **fields,
    )


def make_page(campaign: Campaign, **fields) -> PeerPage:
    supporter = make_contact(campaign.organization, emails=["runner@example.org"])
    fields.setdefault("slug", "ana-runs")
    fields.setdefault("title", "Ana runs 10 km for water")
    return actions.create_peer_page(
        org=campaign.organization,
        actor=TEST_ACTOR,
        campaign=campaign,
        supporter=supporter,
        **fields,
    )


def gift(**fields) -> dict[str, str]:
    """A complete donation form post; override what the test is about."""
    data = {
        "amount": "25.00",
        "currency": "EUR",
        "frequency": "once",
        "method": "bank_transfer",
        "given_name": "Lucía",
        "family_name": "Martín",
        "email": "Lucia.Martin@Example.org",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def in_language(client: Client, lang: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def html_of(response) -> str:
    return response.content.decode()


def confirm(donation: Donation) -> Donation:
    return actions.confirm_donation(donation=donation, actor=TEST_ACTOR, received_at=timezone.now())


# --- every page, every language ------------------------------------------------------------


@pytest.fixture
def pages(db) -> dict[str, str]:
    """The URL of each public giving page of one organization."""
    org = make_org(sepa=True)
    campaign = make_campaign(org, texts={"es": {"title": "Agua para Sevilla Este"}})
    page = make_page(campaign)
    contact = make_contact(org, emails=["donor@example.org"])
    donation = actions.start_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=contact,
        amount_minor=2500,
        currency="EUR",
        fund=None,
        method="bank_transfer",
    )
    base = f"/{org.slug}"
    return {
        "donate": f"{base}/donate",
        "campaign": f"{base}/c/{campaign.slug}",
        "peer page": f"{base}/c/{campaign.slug}/p/{page.slug}",
        "start a page": f"{base}/c/{campaign.slug}/start",
        "thanks": f"{base}/donate/thanks/{donation.tracking_token}",
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_giving_page_answers_in_every_language(client: Client, pages, lang: str):
    # given: a visitor who picked a language in the switcher
    in_language(client, lang)

    for name, url in pages.items():
        # when
        response = client.get(url)

        # then: the page, in that language, right to left in Arabic
        assert response.status_code == 200, name
        html = html_of(response)
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html, name


def test_without_a_choice_the_page_speaks_the_organization_language(client: Client, db):
    # given: an organization in Catalan, a browser that says nothing about languages
    org = make_org(language="ca")

    # when
    response = client.get(f"/{org.slug}/donate")

    # then
    assert '<html lang="ca"' in html_of(response)


def test_the_browser_language_comes_before_the_organization_language(client: Client, db):
    org = make_org(language="ca")

    response = client.get(f"/{org.slug}/donate", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    assert '<html lang="de"' in html_of(response)


def test_the_donation_page_with_every_method_and_errors_fits_the_size_budget(client: Client, db):
    # given: every method on offer, funds to choose from, and a post full of errors
    org = make_org(sepa=True)
    for n in range(4):
        actions.create_fund(org=org, actor=TEST_ACTOR, slug=f"fund-{n}", name=f"Project {n}")
    in_language(client, "ar")

    # when
    response = client.post(
        f"/{org.slug}/donate", gift(amount="", email="nope", method="sepa", given_name="")
    )

    # then: the page and the stylesheet together stay under 30 KB
    assert response.status_code == 200
    assert "error-summary" in html_of(response)
    assert len(response.content) + CSS.stat().st_size < SIZE_BUDGET


def test_every_giving_page_fits_the_size_budget(client: Client, pages):
    in_language(client, "ar")
    for name, url in pages.items():
        size = len(client.get(url).content) + CSS.stat().st_size
        assert size < SIZE_BUDGET, f"{name}: {size} bytes"


def test_presets_are_formatted_in_the_visitor_locale(client: Client, db):
    # given: an organization with its own presets
    org = make_org()
    actions.update_fundraising_settings(
        org=org, actor=TEST_ACTOR, preset_amounts=[1000, 2500, 10050]
    )

    # when / then
    german = html_of(in_language(client, "de").get(f"/{org.slug}/donate"))
    assert "10\xa0€" in german
    assert "100,50\xa0€" in german
    english = html_of(in_language(client, "en").get(f"/{org.slug}/donate"))
    assert "€25" in english
    assert "€100.50" in english
    assert 'value="100.50"' in english


# --- the form ------------------------------------------------------------------------------


def test_an_empty_post_lists_every_error_linked_to_its_field(client: Client, db):
    # given
    org = make_org()
    in_language(client, "en")

    # when
    response = client.post(
        f"/{org.slug}/donate", {"amount": "", "given_name": "", "email": "", "method": ""}
    )

    # then: one summary, focused, linking to each field; each field described by its error
    html = html_of(response)
    assert response.status_code == 200
    assert 'class="error-summary" role="alert"' in html
    assert "autofocus" in html
    assert 'href="#id_amount"' in html
    assert 'href="#id_email"' in html
    assert 'href="#id_method_0"' in html
    assert 'aria-describedby="id_email_error"' in html
    assert 'id="id_email_error"' in html
    assert 'aria-describedby="id_amount_error"' in html
    assert Donation.objects.count() == 0
    assert Contact.objects.filter(organization=org).count() == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0.50", "The smallest gift we can take is 1.00."),
        ("12.345", "Use at most 2 decimals."),
        ("-5", "Enter an amount in numbers"),
        ("abc", "Enter an amount in numbers"),
        ("5000000", "more than we can take online"),
    ],
)
def test_a_wrong_amount_is_explained(client: Client, db, amount: str, message: str):
    org = make_org()
    in_language(client, "en")

    response = client.post(f"/{org.slug}/donate", gift(amount="", amount_other=amount))

    assert message in html_of(response)
    assert 'aria-describedby="id_amount_other_error"' in html_of(response)
    assert Donation.objects.count() == 0


@pytest.mark.parametrize(
    ("lang", "typed", "minor"),
    [
        ("es", "12,50", 1250),
        ("de", "1.000", 100_000),
        ("fr", "1 000,5", 100_050),
        ("it", "7,5", 750),
        ("ca", "20", 2000),
        ("en", "1,000.25", 100_025),
        ("en", "12.50", 1250),
        ("de", "12.50", 1250),
        ("ar", "١٢٫٥٠", 1250),
    ],
)
def test_the_other_amount_is_read_as_people_write_it(
    client: Client, db, lang: str, typed: str, minor: int
):
    # given
    org = make_org()
    in_language(client, lang)

    # when: they type their own amount (it wins over the preset still selected)
    response = client.post(f"/{org.slug}/donate", gift(amount="25.00", amount_other=typed))

    # then
    assert response.status_code == 303
    assert Donation.objects.get().amount_minor == minor


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2),
    lang=st.sampled_from(LANGUAGES),
    grouping=st.booleans(),
)
def test_an_amount_written_in_any_language_is_read_back(amount: Decimal, lang: str, grouping):
    text = format_decimal(amount, format="#,##0.00" if grouping else "0.00", locale=lang)
    assert parse_amount(text, locale=lang, currency="EUR") == amount


@given(text=st.text(max_size=20), lang=st.sampled_from(LANGUAGES))
def test_any_text_is_an_amount_or_a_clear_error(text: str, lang: str):
    try:
        amount = parse_amount(text, locale=lang, currency="EUR")
    except ValueError as error:
        message = str(error)
        assert message
    else:
        assert amount >= 0
        assert amount == amount.quantize(Decimal("0.01"))


def test_parse_amount_respects_the_currency_minor_unit():
    assert parse_amount("1.250", locale="es", currency="JPY") == Decimal(1250)
    # The message is in the active language: pinned, as an earlier request may have left another.
    with translation.override("en"), pytest.raises(ValueError, match="whole amount"):
        parse_amount("12.5", locale="en", currency="JPY")
    assert parse_amount("12 €", locale="fr", currency="EUR") == Decimal(12)
    assert parse_amount("EUR 12", locale="en", currency="EUR") == Decimal(12)


def test_a_filled_honeypot_records_nothing(client: Client, db):
    org = make_org()

    response = client.post(f"/{org.slug}/donate", gift(website="http://spam.example"))

    assert response.status_code == 200
    assert Donation.objects.count() == 0
    assert Contact.objects.filter(organization=org).count() == 0


def test_a_method_the_organization_does_not_offer_is_refused(client: Client, db):
    # given: bank transfers only
    org = make_org()
    in_language(client, "en")

    # when
    response = client.post(f"/{org.slug}/donate", gift(method="stripe"))

    # then
    assert "Select a valid choice" in html_of(response)
    assert Donation.objects.count() == 0


def test_a_tampered_currency_is_refused(client: Client, db):
    org = make_org()
    in_language(client, "en")

    response = client.post(f"/{org.slug}/donate", gift(currency="USD"))

    assert "Gifts here are in EUR." in html_of(response)
    assert Donation.objects.count() == 0


def test_the_form_needs_its_csrf_token(db):
    org = make_org()
    client = Client(enforce_csrf_checks=True)

    response = client.post(f"/{org.slug}/donate", gift())

    assert response.status_code == 403
    assert Donation.objects.count() == 0


def test_an_organization_without_a_way_to_pay_says_so(client: Client, db):
    org = make_org(bank=False)
    in_language(client, "en")

    html = html_of(client.get(f"/{org.slug}/donate"))

    assert "does not take gifts online yet" in html
    assert '<form method="post" action' not in html


# --- bank transfer -------------------------------------------------------------------------


def test_a_bank_transfer_gift_ends_on_a_thanks_page_with_the_reference(client: Client, db):
    # given: a visitor in Spanish, on the donation page
    org = make_org()
    in_language(client, "es")

    # when
    response = client.post(f"/{org.slug}/donate", gift(amount="25.00"))

    # then: a new donor in Spanish, a pending gift with a reference to quote
    assert response.status_code == 303
    donation = Donation.objects.get()
    assert donation.status == "pending"
    assert donation.method == "bank_transfer"
    assert donation.amount_minor == 2500
    assert donation.fund.slug == "general"
    assert donation.language == "es"
    assert re.fullmatch(r"RF\d\d[0-9A-Z]+", donation.payment_reference)
    contact = donation.contact
    assert (contact.given_name, contact.family_name, contact.language) == ("Lucía", "Martín", "es")
    assert list(contact.emails.values_list("email", flat=True)) == ["lucia.martin@example.org"]
    assert response["Location"] == f"/{org.slug}/donate/thanks/{donation.tracking_token}"

    # and: the thanks page shows where and what to transfer, and the tracking link
    html = html_of(client.get(response["Location"]))
    assert "ES91 2100 0418 4502 0005 1332" in html
    assert "25,00\xa0€" in html
    assert donation.payment_reference in html
    assert f'href="/t/{donation.tracking_token}"' in html
    assert "http-equiv" not in html
    assert "Lucía" not in html


def test_the_transfer_details_are_emailed_once_the_gift_is_recorded(
    client: Client, db, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    org = make_org()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/{org.slug}/donate", gift())

    donation = Donation.objects.get()
    [mail] = mailoutbox
    assert mail.to == ["lucia.martin@example.org"]
    assert donation.payment_reference in mail.body


def test_a_known_email_gives_as_the_same_contact(client: Client, db):
    # given: Lucía is already a contact, her address stored lower-case
    org = make_org()
    lucia = make_contact(org, given_name="Lucía", emails=["lucia.martin@example.org"])

    # when: she gives, typing her address in capitals and another family name
    client.post(f"/{org.slug}/donate", gift(family_name="Other"))

    # then: the gift is hers, and her record is unchanged
    assert Donation.objects.get().contact == lucia
    assert Contact.objects.filter(organization=org).count() == 1
    lucia.refresh_from_db()
    assert lucia.family_name == "García"


def test_the_same_email_in_another_organization_is_another_person(client: Client, db):
    other = make_org()
    make_contact(other, emails=["lucia.martin@example.org"])
    org = make_org()

    client.post(f"/{org.slug}/donate", gift())

    donation = Donation.objects.get()
    assert donation.contact.organization == org
    assert ContactEmail.objects.filter(email="lucia.martin@example.org").count() == 2


def test_a_monthly_bank_transfer_creates_a_plan_starting_next_month(client: Client, db):
    org = make_org()

    client.post(f"/{org.slug}/donate", gift(frequency="monthly", amount="10.00"))

    donation = Donation.objects.get()
    plan = RecurringPlan.objects.get()
    assert donation.plan == plan
    assert (plan.frequency, plan.method, plan.amount_minor) == ("monthly", "bank_transfer", 1000)
    assert plan.next_due == actions.add_period(org_today(org), "monthly")


def test_a_designated_fund_receives_the_gift(client: Client, db):
    org = make_org()
    actions.create_fund(
        org=org,
        actor=TEST_ACTOR,
        slug="school",
        name="School",
        texts={"en": {"name": "Our school"}},
    )
    in_language(client, "en")
    assert "Our school" in html_of(client.get(f"/{org.slug}/donate"))

    client.post(f"/{org.slug}/donate", gift(fund="school"))

    assert Donation.objects.get().fund.slug == "school"


def test_an_unknown_fund_is_refused(client: Client, db):
    org = make_org()

    response = client.post(f"/{org.slug}/donate", gift(fund="nope"))

    assert response.status_code == 200
    assert Donation.objects.count() == 0


# --- cards: Stripe and Mollie ---------------------------------------------------------------

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def stripe_fake() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def mollie_fake() -> Iterator[FakeMollie]:
    with FakeMollie() as fake:
        yield fake


@pytest.mark.slow
def test_a_card_gift_goes_to_stripe_and_only_its_signed_webhook_confirms_it(
    client: Client, db, stripe_fake: FakeStripe, settings, django_capture_on_commit_callbacks
):
    """Slow: the confirmed gift's thank-you task runs in the request and renders a PDF receipt."""
    # given: an organization taking cards through Stripe (the fake, on loopback)
    settings.TASKS = IMMEDIATE_TASKS
    org = make_org()
    configure_stripe(org, stripe_fake)
    in_language(client, "en")
    assert 'value="stripe"' in html_of(client.get(f"/{org.slug}/donate"))

    # when: the donor gives 25 € by card
    response = client.post(f"/{org.slug}/donate", gift(method="stripe"))

    # then: a 303 to Stripe's hosted checkout for our pending gift's reference
    donation = Donation.objects.get()
    assert response.status_code == 303
    [created] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    session = stripe_fake.sessions[donation.provider_id]
    assert response["Location"] == session["url"]
    assert created.form["client_reference_id"] == donation.public_ref
    assert created.form["success_url"] == (
        f"http://testserver/{org.slug}/donate/thanks/{donation.tracking_token}"
    )
    assert created.form["cancel_url"] == f"http://testserver/{org.slug}/donate?cancelled=1"
    assert donation.status == "pending"

    # and: back from Stripe before the webhook, the thanks page waits and refreshes itself
    thanks_url = f"/{org.slug}/donate/thanks/{donation.tracking_token}"
    html = html_of(client.get(thanks_url))
    assert "We are confirming your payment" in html
    assert '<meta http-equiv="refresh" content="5">' in html

    # when: the donor pays and Stripe's signed event arrives
    with django_capture_on_commit_callbacks(execute=True):
        for event in stripe_fake.pay_checkout(donation.provider_id):
            answer = client.post(
                f"/webhooks/{org.slug}/stripe",
                event.body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=event.headers["Stripe-Signature"],
            )
            assert answer.status_code == 200

    # then: the gift is confirmed and the page says so, without refreshing any more
    donation.refresh_from_db()
    assert donation.status == "confirmed"
    html = html_of(client.get(thanks_url))
    assert "We received your gift of €25.00." in html
    assert "http-equiv" not in html


def test_the_page_lets_its_form_be_redirected_to_the_hosted_checkouts(
    client: Client, db, stripe_fake: FakeStripe
):
    # given: Stripe through a stand-in, Mollie for real
    org = make_org()
    configure_stripe(org, stripe_fake)
    actions.configure_payment_provider(
        org=org, actor=TEST_ACTOR, kind="mollie", settings={}, secrets={"api_key": "test_x" * 6}
    )

    # when
    policy = client.get(f"/{org.slug}/donate")["Content-Security-Policy"]

    # then: form-action allows our own pages and the two checkouts, nothing else
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", stripe_fake.url, "https://www.mollie.com"]


def test_without_card_methods_forms_post_only_to_the_site(client: Client, db):
    org = make_org()

    policy = client.get(f"/{org.slug}/donate")["Content-Security-Policy"]

    assert "form-action 'self';" in policy + ";"


def test_a_monthly_card_gift_saves_the_card_for_the_plan(
    client: Client, db, stripe_fake: FakeStripe
):
    org = make_org()
    configure_stripe(org, stripe_fake)

    client.post(f"/{org.slug}/donate", gift(method="stripe", frequency="monthly"))

    plan = RecurringPlan.objects.get()
    assert (plan.method, plan.frequency) == ("stripe", "monthly")
    assert Donation.objects.get().plan == plan
    [created] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert created.form["payment_intent_data"]["setup_future_usage"] == "off_session"


def test_a_card_gift_through_mollie_is_confirmed_by_refetching_the_payment(
    client: Client, db, mollie_fake: FakeMollie, settings, django_capture_on_commit_callbacks
):
    # given
    settings.TASKS = IMMEDIATE_TASKS
    org = make_org()
    configure_mollie(org, mollie_fake)
    in_language(client, "en")

    # when
    response = client.post(f"/{org.slug}/c/{make_campaign(org).slug}", gift(method="mollie"))

    # then: off to Mollie's checkout
    donation = Donation.objects.get()
    payment = mollie_fake.payments[donation.provider_id]
    assert response.status_code == 303
    assert response["Location"] == payment["_links"]["checkout"]["href"]
    assert payment["metadata"]["public_ref"] == donation.public_ref

    # when: paid, Mollie calls our webhook with the payment id only
    delivery = mollie_fake.set_status(donation.provider_id, "paid", deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/webhooks/{org.slug}/mollie",
            delivery.body,
            content_type="application/x-www-form-urlencoded",
        )

    # then
    assert answer.status_code == 200
    donation.refresh_from_db()
    assert donation.status == "confirmed"


@pytest.mark.slow
def test_a_payment_provider_that_is_down_costs_the_donor_no_error_page(client: Client, db):
    """Slow: the Stripe client retries a refused connection before giving up."""
    # given: Stripe configured, but not answering
    org = make_org()
    with FakeStripe() as gone:
        configure_stripe(org, gone)
    in_language(client, "en")

    # when
    response = client.post(f"/{org.slug}/donate", gift(method="stripe"))

    # then: the form again, with a way out; the attempt is closed as failed
    assert response.status_code == 200
    assert "We could not reach the payment service" in html_of(response)
    assert Donation.objects.get().status == "failed"


def test_a_cancelled_checkout_says_nothing_was_charged(client: Client, db):
    org = make_org()
    in_language(client, "en")

    html = html_of(client.get(f"/{org.slug}/donate?cancelled=1"))

    assert "The payment was cancelled; nothing was charged." in html


def test_a_failed_card_payment_offers_to_try_again(client: Client, db):
    org = make_org()
    campaign = make_campaign(org)
    donation = actions.start_donation(
        org=org,
        actor=TEST_ACTOR,
        contact=make_contact(org),
        amount_minor=2500,
        currency="EUR",
        fund=None,
        method="stripe",
        campaign=campaign,
    )
    actions.fail_donation(donation=donation, actor=TEST_ACTOR, reason="card declined")
    in_language(client, "en")

    html = html_of(client.get(f"/{org.slug}/donate/thanks/{donation.tracking_token}"))

    assert "Your payment did not go through" in html
    assert f'href="/{org.slug}/c/{campaign.slug}"' in html
    assert "http-equiv" not in html


# --- consent -------------------------------------------------------------------------------


def test_only_the_ticked_purposes_are_recorded_as_consent(client: Client, db):
    # given: the form offers newsletter, fundraising appeals, project updates, volunteering
    org = make_org()
    in_language(client, "en")
    html = html_of(client.get(f"/{org.slug}/donate"))
    for purpose in ("newsletter", "project_updates", "fundraising"):
        assert f'name="consents" value="{purpose}"' in html
    assert 'value="service"' not in html
    assert "checked" not in re.search(r'name="consents".*', html).group(0)

    # when: the donor ticks the newsletter and project updates only
    client.post(f"/{org.slug}/donate", gift(consents=["newsletter", "project_updates"]))

    # then: two email grants from the donation form, nothing for the rest
    events = ConsentEvent.objects.filter(organization=org).order_by("purpose__code")
    assert [(e.purpose.code, e.channel, e.granted, e.source) for e in events] == [
        ("newsletter", "email", True, "donation form"),
        ("project_updates", "email", True, "donation form"),
    ]
    assert {e.contact_id for e in events} == {Donation.objects.get().contact_id}


def test_no_ticked_purpose_records_no_consent(client: Client, db):
    org = make_org()

    client.post(f"/{org.slug}/donate", gift())

    assert ConsentEvent.objects.filter(organization=org).count() == 0


def test_consent_wording_is_in_the_visitor_language(client: Client, db):
    org = make_org()
    in_language(client, "es")

    html = html_of(client.get(f"/{org.slug}/donate"))

    assert "Newsletter" not in html or "Boletín" in html  # translated once the catalogue has it
    assert 'name="consents"' in html


# --- SEPA ----------------------------------------------------------------------------------


def test_the_sepa_mandate_text_names_the_creditor(client: Client, db):
    org = make_org(sepa=True)
    in_language(client, "en")

    html = html_of(client.get(f"/{org.slug}/donate"))

    assert "you authorise (A) Asociacion Vecinal to send instructions to your bank" in html
    assert CREDITOR_ID in html
    assert "within 8 weeks" in html


def test_a_bad_iban_is_explained_and_nothing_is_recorded(client: Client, db):
    org = make_org(sepa=True)
    in_language(client, "en")

    response = client.post(
        f"/{org.slug}/donate",
        gift(
            method="sepa",
            frequency="monthly",
            iban="DE89 3704 0044 0532 0130 01",
            account_holder="Lucía Martín",
            mandate="on",
        ),
    )

    html = html_of(response)
    assert "This is not a valid IBAN" in html
    assert 'href="#id_iban"' in html
    assert 'aria-describedby="id_iban_error"' in html
    assert Donation.objects.count() == 0
    assert RecurringPlan.objects.count() == 0


def test_sepa_needs_the_signed_mandate_and_the_holder(client: Client, db):
    org = make_org(sepa=True)
    in_language(client, "en")

    response = client.post(
        f"/{org.slug}/donate", gift(method="sepa", frequency="monthly", iban=IBAN_DONOR)
    )

    html = html_of(response)
    assert "Tick the box to sign the mandate" in html
    assert "Enter the name of the account holder." in html
    assert Donation.objects.count() == 0


def test_a_monthly_sepa_gift_signs_a_mandate_and_waits_for_its_collection_date(client: Client, db):
    # given
    org = make_org(sepa=True)
    in_language(client, "en")

    # when
    response = client.post(
        f"/{org.slug}/donate",
        gift(
            method="sepa",
            frequency="monthly",
            amount="",
            amount_other="15",
            iban="de89 3704 0044 0532 0130 00",
            account_holder="Lucía Martín",
            mandate="on",
        ),
    )

    # then: the plan is the mandate; the first debit waits for a safe collection date
    assert response.status_code == 303
    plan = RecurringPlan.objects.get()
    donation = Donation.objects.get()
    today = org_today(org)
    assert plan.method == "sepa"
    assert plan.iban == IBAN_DONOR
    assert plan.mandate_reference
    assert plan.mandate_signed_at == today
    assert donation.plan == plan
    assert donation.amount_minor == 1500
    assert donation.status == "pending"
    assert donation.collection_date == first_collection_date(today)
    assert donation.collection_date >= today + datetime.timedelta(days=5)
    assert donation.sepa_sequence == "FRST"
    assert plan.next_due == actions.add_period(donation.collection_date, "monthly")

    # and: the thanks page gives the mandate reference and the collection date
    html = html_of(client.get(response["Location"]))
    assert plan.mandate_reference in html
    assert CREDITOR_ID in html
    assert IBAN_DONOR not in html


def test_a_one_off_sepa_gift_stores_its_mandate_for_a_single_ooff_debit(client: Client, db):
    # given
    org = make_org(sepa=True)
    in_language(client, "en")

    # when
    response = client.post(
        f"/{org.slug}/donate",
        gift(method="sepa", iban=IBAN_DONOR, account_holder="Jordi  Puig", mandate="on"),
    )

    # then: a once mandate the schedule never collects, and one debit waiting for its date
    assert response.status_code == 303
    plan = RecurringPlan.objects.get()
    donation = Donation.objects.get()
    today = org_today(org)
    assert (plan.frequency, plan.method, plan.next_due) == ("once", "sepa", None)
    assert (plan.iban, plan.account_holder) == (IBAN_DONOR, "Jordi Puig")
    assert plan.mandate_signed_at == today
    assert donation.plan == plan
    assert donation.status == "pending"
    assert donation.collection_date == first_collection_date(today)
    assert donation.sepa_sequence == "OOFF"

    # and: the thanks page gives the mandate reference
    html = html_of(client.get(response["Location"]))
    assert plan.mandate_reference in html
    assert IBAN_DONOR not in html


def test_a_monthly_sepa_gift_stores_the_account_holder(client: Client, db):
    # given
    org = make_org(sepa=True)
    in_language(client, "en")

    # when
    client.post(
        f"/{org.slug}/donate",
        gift(
            method="sepa",
            frequency="monthly",
            iban=IBAN_DONOR,
            account_holder="Lucía Martín",
            mandate="on",
        ),
    )

    # then
    assert RecurringPlan.objects.get().account_holder == "Lucía Martín"


@pytest.mark.parametrize(
    ("today", "first"),
    [
        (datetime.date(2026, 11, 25), datetime.date(2026, 11, 30)),  # Wed → Mon
        (datetime.date(2026, 11, 26), datetime.date(2026, 12, 1)),  # Thu → Tue
        (datetime.date(2026, 11, 27), datetime.date(2026, 12, 2)),  # Fri → Wed
        (datetime.date(2026, 12, 20), datetime.date(2026, 12, 28)),  # Christmas, weekend
        (datetime.date(2026, 12, 27), datetime.date(2027, 1, 4)),  # New Year, weekend
        (datetime.date(2027, 3, 21), datetime.date(2027, 3, 30)),  # Good Friday, Easter Monday
        (datetime.date(2027, 4, 26), datetime.date(2027, 5, 3)),  # 1 May on a Saturday
    ],
)
def test_the_first_collection_is_five_days_ahead_on_a_banking_day(today, first):
    assert first_collection_date(today) == first


def test_target_closing_days():
    assert not is_target_business_day(datetime.date(2026, 4, 3))  # Good Friday 2026
    assert not is_target_business_day(datetime.date(2026, 4, 6))  # Easter Monday 2026
    assert not is_target_business_day(datetime.date(2026, 5, 1))
    assert is_target_business_day(datetime.date(2026, 4, 7))


# --- campaigns and peer pages --------------------------------------------------------------


def test_a_campaign_page_in_the_visitor_language_with_its_progress(client: Client, db):
    # given: a campaign with Spanish texts and two confirmed gifts from one donor
    org = make_org()
    campaign = make_campaign(
        org,
        texts={
            "es": {"title": "Agua para Sevilla Este", "summary": "Pozos", "body": "Cuerpo"},
            "en": {"title": "Water for Sevilla Este"},
        },
        ends_on=org_today(org) + datetime.timedelta(days=10),
    )
    donor = make_contact(org, emails=["d@example.org"])
    for amount in (10_000, 5_000):
        confirm(
            actions.start_donation(
                org=org,
                actor=TEST_ACTOR,
                contact=donor,
                amount_minor=amount,
                currency="EUR",
                fund=None,
                method="bank_transfer",
                campaign=campaign,
            )
        )

    # when
    html = html_of(in_language(client, "es").get(f"/{org.slug}/c/{campaign.slug}"))

    # then: Spanish texts, money raised against the goal, donors, days left
    assert "<h1>Agua para Sevilla Este</h1>" in html
    assert "Pozos" in html
    assert "Cuerpo" in html
    assert '<progress max="500000" value="15000"' in html
    assert "150,00\xa0€" in html
    assert "5000\xa0€" in html or "5.000\xa0€" in html
    assert re.search(r"\b1 (donor|donante)\b", html)
    assert re.search(r"\b10 (days|días)\b", html)

    # and: an English visitor gets the English title, a Catalan one the organization's (es)
    assert "<h1>Water for Sevilla Este</h1>" in html_of(
        in_language(client, "en").get(f"/{org.slug}/c/{campaign.slug}")
    )
    assert "<h1>Agua para Sevilla Este</h1>" in html_of(
        in_language(client, "ca").get(f"/{org.slug}/c/{campaign.slug}")
    )

    # and: the progress as JSON
    progress = client.get(f"/{org.slug}/c/{campaign.slug}/progress.json").json()
    assert progress == {
        "raised": 15_000,
        "goal": 500_000,
        "donors": 1,
        "currency": "EUR",
        "percent": 3,
        "days_left": 10,
    }


def test_a_gift_on_a_campaign_page_goes_to_the_campaign_and_its_fund(client: Client, db):
    org = make_org()
    campaign = make_campaign(org)

    response = client.post(f"/{org.slug}/c/{campaign.slug}", gift(fund="general"))

    assert response.status_code == 303
    donation = Donation.objects.get()
    assert donation.campaign == campaign
    assert donation.fund == campaign.fund


def test_the_donation_page_credits_a_campaign_named_in_the_post(client: Client, db):
    org = make_org()
    campaign = make_campaign(org)

    client.post(f"/{org.slug}/donate", gift(campaign=campaign.slug))

    assert Donation.objects.get().campaign == campaign


def test_the_campaign_page_lists_visible_peer_pages_only(client: Client, db):
    org = make_org()
    campaign = make_campaign(org)
    make_page(campaign, slug="shown", title="Shown page")
    hidden = make_page(campaign, slug="hidden", title="Hidden page")
    actions.hide_peer_page(org=org, actor=TEST_ACTOR, peer_page=hidden)

    html = html_of(client.get(f"/{org.slug}/c/{campaign.slug}"))

    assert "Shown page" in html
    assert "Hidden page" not in html
    assert client.get(f"/{org.slug}/c/{campaign.slug}/p/hidden").status_code == 404


def test_the_campaign_page_reads_a_fixed_number_of_queries(
    client: Client, db, django_assert_max_num_queries
):
    # given: many supporters' pages
    org = make_org(sepa=True)
    campaign = make_campaign(org)
    for n in range(8):
        make_page(campaign, slug=f"page-{n}", title=f"Page {n}")

    # when / then: no query per page listed
    with django_assert_max_num_queries(12):
        response = client.get(f"/{org.slug}/c/{campaign.slug}")
    assert html_of(response).count('href="/' + org.slug + "/c/water/p/") == 8


def test_a_gift_through_a_peer_page_counts_for_the_page_and_the_campaign(client: Client, db):
    # given
    org = make_org()
    campaign = make_campaign(org)
    page = make_page(campaign, goal_minor=20_000)

    # when: someone gives through Ana's page, and the transfer arrives
    response = client.post(f"/{org.slug}/c/{campaign.slug}/p/{page.slug}", gift(amount="40.00"))
    assert response.status_code == 303
    donation = Donation.objects.get()
    assert (donation.campaign, donation.peer_page, donation.fund) == (
        campaign,
        page,
        campaign.fund,
    )
    confirm(donation)

    # then: both pages show it
    page_html = html_of(
        in_language(client, "en").get(f"/{org.slug}/c/{campaign.slug}/p/{page.slug}")
    )
    assert '<progress max="20000" value="4000"' in page_html
    campaign_html = html_of(client.get(f"/{org.slug}/c/{campaign.slug}"))
    assert '<progress max="500000" value="4000"' in campaign_html
    page_progress = client.get(f"/{org.slug}/c/{campaign.slug}/p/{page.slug}/progress.json")
    assert page_progress.json()["raised"] == 4000


def test_start_a_page_creates_the_supporter_and_shows_the_share_link(client: Client, db):
    # given
    org = make_org()
    campaign = make_campaign(org)
    make_page(campaign, slug="ana-runs-10-km", title="Other")
    in_language(client, "en")

    # when
    response = client.post(
        f"/{org.slug}/c/{campaign.slug}/start",
        {
            "given_name": "Ana",
            "family_name": "Ruiz",
            "email": "ana.ruiz@example.org",
            "title": "Ana runs 10 km",
            "story": "For the wells.",
            "goal": "200",
        },
    )

    # then: a free slug, the supporter, and the share link on the new page
    assert response.status_code == 303
    page = PeerPage.objects.get(title="Ana runs 10 km")
    assert page.slug == "ana-runs-10-km-2"
    assert page.goal_minor == 20_000
    assert page.supporter.name == "Ana Ruiz"
    assert page.supporter.language == "en"
    html = html_of(client.get(response["Location"]))
    assert f"http://testserver/{org.slug}/c/{campaign.slug}/p/{page.slug}" in html
    assert "For the wells." in html


def test_start_a_page_explains_its_errors(client: Client, db):
    org = make_org()
    campaign = make_campaign(org)
    in_language(client, "en")

    response = client.post(
        f"/{org.slug}/c/{campaign.slug}/start", {"given_name": "Ana", "email": "x", "goal": "0"}
    )

    html = html_of(response)
    assert 'href="#id_title"' in html
    assert 'href="#id_email"' in html
    assert 'href="#id_goal"' in html
    assert PeerPage.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/{org}/c/draft",
        "/{org}/c/draft/start",
        "/{org}/c/draft/progress.json",
        "/{org}/c/theirs",
        "/{org}/c/nope/p/ana-runs",
        "/{org}/c/water/p/nope",
        "/{org}/c/water/p/theirs-page",
        "/{org}/donate/thanks/not-a-token",
        "/{org}/donate/thanks/{their_token}",
        "/no-such-org/donate",
        "/no-such-org/c/water",
    ],
)
def test_what_is_not_public_here_is_not_found(client: Client, db, path: str):
    # given: an unpublished campaign, and another organization's campaign, page and gift
    org = make_org()
    make_page(make_campaign(org))
    make_campaign(org, slug="draft", published=False)
    other = make_org()
    theirs = make_campaign(other, slug="theirs")
    make_page(theirs, slug="theirs-page")
    their_gift = actions.start_donation(
        org=other,
        actor=TEST_ACTOR,
        contact=make_contact(other),
        amount_minor=100,
        currency="EUR",
        fund=None,
        method="bank_transfer",
    )

    # when
    url = path.format(org=org.slug, their_token=their_gift.tracking_token)
    response = client.get(url)

    # then
    assert response.status_code == 404


def test_posting_to_an_unpublished_campaign_records_nothing(client: Client, db):
    org = make_org()
    make_campaign(org, slug="draft", published=False)

    response = client.post(f"/{org.slug}/c/draft", gift())

    assert response.status_code == 404
    assert Donation.objects.count() == 0
