"""Giving in a real browser (Debian's Chromium): from the donation page through the card
provider's checkout (the Stripe stand-in) to the thanks page and the gift's tracking page;
and axe-core's WCAG checks on the donation page, as it first appears and with errors.

Browser and axe fixtures as in `web/tests/conftest.py`: skipped on a machine without
Chromium or axe-core, failed in CI (CI=true).
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from solidaria.consent.models import ConsentEvent
from solidaria.fundraising.models import Donation
from solidaria.fundraising.tests.fake_providers import (  # noqa: F401 - fixtures
    FakeStripe,
    configure_stripe,
    fake_stripe,
)
from solidaria.fundraising.tests.test_public_pages import IMMEDIATE_TASKS, make_org
from solidaria.web.tests.conftest import TIMEOUT_MS, axe_source, browser  # noqa: F401
from solidaria.web.tests.test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser: Browser, live_server, transactional_db) -> Iterator[Page]:  # noqa: F811
    """A fresh English profile on the live server, with JavaScript off: giving needs none."""
    ctx: BrowserContext = browser.new_context(
        base_url=live_server.url, locale="en-GB", java_script_enabled=False
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


def test_a_card_gift_from_the_donation_page_to_its_tracking_page(
    page: Page,
    live_server,
    settings,
    fake_stripe: FakeStripe,  # noqa: F811
):
    """Slow: a real browser through four pages, and a provider's webhook in between."""
    # given: an organization taking cards through Stripe (the stand-in on loopback), whose
    # signed events reach our webhook on the live server
    settings.TASKS = IMMEDIATE_TASKS
    org = make_org()
    configure_stripe(org, fake_stripe)
    fake_stripe.webhook_url = f"{live_server.url}/webhooks/{org.slug}/stripe"

    # when: a visitor gives 50 € by card from the donation page, ticking the newsletter
    page.goto(f"/{org.slug}/donate")
    form = page.locator("form.give-form")
    form.get_by_role("radio", name="€50").check()
    form.get_by_label("Given name").fill("Lucía")
    form.get_by_label("Family name").fill("Martín")
    form.get_by_label("Email", exact=True).fill("lucia@example.org")
    form.get_by_role("radio", name="Card", exact=True).check()
    form.get_by_role("checkbox", name="Email me: Newsletter").check()
    form.get_by_role("button", name="Give now").click()

    # then: the browser is on the provider's hosted checkout for our pending gift
    page.wait_for_url(f"{fake_stripe.url}/**")
    donation = Donation.objects.get()
    assert (donation.status, donation.amount_minor, donation.method) == ("pending", 5000, "stripe")
    assert ConsentEvent.objects.get().purpose.code == "newsletter"

    # when: the donor pays there; Stripe signs and posts the event, then sends them back
    [completed, _succeeded] = fake_stripe.pay_checkout(donation.provider_id)
    assert completed.status == 200
    page.goto(fake_stripe.sessions[donation.provider_id]["success_url"])

    # then: the thanks page knows the gift arrived, and links to its tracking page
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    expect(page.get_by_text("We received your gift of €50.00.")).to_be_visible()
    page.get_by_role("link", name=f"/t/{donation.tracking_token}").click()

    # and: the tracking page shows the confirmed gift
    expect(page).to_have_url(f"{live_server.url}/t/{donation.tracking_token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow your gift")
    expect(page.get_by_text("€50.00").first).to_be_visible()
    expect(page.get_by_text("Confirmed")).to_be_visible()
    expect(page.get_by_text("Lucía")).to_have_count(0)


def test_the_donation_page_passes_axe(
    axe_source: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    live_server,
    transactional_db,
    fake_stripe: FakeStripe,  # noqa: F811
):
    """Slow: a real browser (with JavaScript, which axe needs) and axe-core, twice."""
    # given: every method on offer, SEPA's mandate included
    org = make_org(sepa=True)
    configure_stripe(org, fake_stripe)
    ctx = browser.new_context(base_url=live_server.url, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()

    # then: the page as it first appears
    page.goto(f"/{org.slug}/donate")
    assert_accessible(page, axe_source)

    # and: with errors, the summary focused and read first
    page.locator("form.give-form").get_by_role("button", name="Give now").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please correct the following")
    expect(summary).to_be_focused()
    assert_accessible(page, axe_source)
    ctx.close()


def test_the_campaign_page_in_arabic_passes_axe(
    axe_source: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    live_server,
    transactional_db,
):
    """Slow: a real browser and axe-core; right to left has its own ways to go wrong."""
    from solidaria.fundraising.tests.test_public_pages import make_campaign, make_page

    org = make_org(sepa=True)
    campaign = make_campaign(org, texts={"ar": {"title": "ماء لحي إشبيلية الشرقي"}})
    make_page(campaign)
    ctx = browser.new_context(base_url=live_server.url, locale="ar")
    ctx.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    page = ctx.new_page()

    page.goto(f"/{org.slug}/c/{campaign.slug}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("ماء لحي إشبيلية الشرقي")
    assert_accessible(page, axe_source)
    ctx.close()
