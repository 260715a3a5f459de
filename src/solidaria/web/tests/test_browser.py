"""The main staff journeys in a real browser (Debian's Chromium), as a person goes through them.

Slow for unit tests (each loads several pages), so few: one browser for the module and a
fresh context per test keep the whole file to a few seconds.
"""

import re

import pytest
from playwright.sync_api import Page, Request, expect

from solidaria.core.models import Membership
from solidaria.core.tests.factories import PASSWORD
from solidaria.people.models import Contact
from solidaria.people.tests.factories import make_contact

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")


def test_staff_log_in_with_email_and_land_on_their_dashboard(
    page: Page, admin: Membership, live_server
):
    """Slow: drives a real browser through the login form."""
    # given: an admin of one organization, logged out
    org = admin.organization

    # when: they log in through the form with their email and password
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # then: they land on their organization's dashboard, which names the organization
    expect(page).to_have_url(f"{live_server.url}/app/{org.slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("banner").get_by_role("link", name=org.name)).to_be_visible()
    expect(page).to_have_title(f"Dashboard · {org.name} · Solidaria")


def test_a_wrong_password_keeps_staff_out(page: Page, admin: Membership):
    """Slow: drives a real browser through the login form."""
    # when
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(admin.user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    # then: told why, and the organization's pages still send them to the login form
    expect(
        page.get_by_text("email address and/or password you specified are not correct")
    ).to_be_visible()
    page.goto(f"/app/{admin.organization.slug}/")
    assert "/accounts/login/" in page.url


def test_the_language_switcher_turns_the_page_arabic_and_right_to_left(
    staff_page: Page, admin: Membership
):
    """Slow: a real browser, so the layout's mirroring is measured, not assumed."""
    # given: a logged-in admin on the dashboard, in English, laid out left to right
    page, org_name = staff_page, admin.organization.name
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("dir", "ltr")
    assert brand_is_right_of_tools(page, org_name) is False
    dashboard_url = page.url

    # when: they pick Arabic in the header's language switcher
    header = page.get_by_role("banner")
    header.get_by_label("Language").select_option("ar")
    header.get_by_role("button", name="Change").click()

    # then: the same page comes back in Arabic, right to left, with the header mirrored
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert page.url == dashboard_url
    # (by role, not by its label: the label is in Arabic now, once translated)
    expect(page.get_by_role("banner").get_by_role("combobox")).to_have_value("ar")
    assert brand_is_right_of_tools(page, org_name) is True
    # Django's own catalogue already translates the switcher's button, whatever ours holds.
    header = page.get_by_role("banner")
    expect(header.get_by_role("button", name="Change")).to_have_count(0)
    expect(header.get_by_role("button", name=ARABIC_LETTERS)).not_to_have_count(0)

    # and: the choice sticks for the next page
    page.reload()
    expect(html).to_have_attribute("lang", "ar")


@pytest.fixture
def contacts(admin: Membership) -> list[Contact]:
    """Ana García and two people a search for "garc" must not find."""
    org = admin.organization
    return [
        make_contact(org, given_name="Ana", family_name="García"),
        make_contact(org, given_name="Jordi", family_name="Puig"),
        make_contact(org, given_name="Fatima", family_name="Zahra"),
    ]


def test_find_a_contact_by_part_of_their_name_without_accents(
    staff_page: Page, contacts: list[Contact]
):
    """Slow: a real browser, so htmx's in-place update is what is tested."""
    # given: staff on the contact list, all three contacts shown
    page = staff_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")
    results = page.get_by_role("table", name="Contacts")
    expect(results.get_by_role("link", name="Jordi Puig")).to_be_visible()
    # A full page load would start a new document and lose this.
    page.evaluate("window.sameDocument = true")

    # when: they type part of the name, without the accent
    search = page.get_by_role("search", name="Search contacts").get_by_label("Search", exact=True)
    with page.expect_request(is_htmx_search_for("garc")):
        search.press_sequentially("garc")

    # then: the list narrows in place to García, and the address can be shared
    expect(results.get_by_role("link", name="Jordi Puig")).to_be_hidden()
    expect(results.get_by_role("link", name="Fatima Zahra")).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="contact")).to_have_text("1 contact")
    assert page.evaluate("window.sameDocument") is True
    expect(page).to_have_url(re.compile(r"[?&]q=garc(&|$)"))

    # and: the contact's page opens from the result
    results.get_by_role("link", name="Ana García").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana García")
    assert page.url.endswith(f"/contacts/{contacts[0].pk}/")


def test_edit_a_contact_name_and_add_a_phone_in_national_format(
    staff_page: Page, admin: Membership, contacts: list[Contact]
):
    """Slow: a real browser through the contact page and its form."""
    # given: staff on Ana García's page (the organization is in Spain)
    page = staff_page
    ana = contacts[0]
    page.goto(f"/app/{admin.organization.slug}/contacts/{ana.pk}/")

    # when: they edit her family name and add a phone as people write it in Spain
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Family name").fill("García López")
    page.get_by_label("Phone 1", exact=True).fill("612 34 56 78")
    page.get_by_role("button", name="Save changes").click()

    # then: her page shows the new name and the phone as humans read it, linked in E.164
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana García López")
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    phone = page.get_by_role("link", name="612 34 56 78")
    expect(phone).to_have_attribute("href", "tel:+34612345678")

    # and: the database holds the phone in E.164
    ana.refresh_from_db()
    assert ana.family_name == "García López"
    assert ana.name == "Ana García López"
    assert list(ana.phones.values_list("number", flat=True)) == ["+34612345678"]


def test_search_and_open_a_contact_without_javascript(
    no_js_page: Page, admin: Membership, contacts: list[Contact], live_server
):
    """Slow: a real browser with JavaScript off; the plain HTML forms must do everything."""
    # given: staff logged in with JavaScript off, on the contact list
    page = no_js_page
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/app/{admin.organization.slug}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()

    # when: they type part of a name and press the Search button
    form = page.get_by_role("search", name="Search contacts")
    form.get_by_label("Search", exact=True).fill("garc")
    with page.expect_request(lambda request: "q=garc" in request.url) as searched:
        form.get_by_role("button", name="Search").click()

    # then: a plain page load (no htmx) brings the matching contact only
    assert searched.value.is_navigation_request()
    assert "hx-request" not in searched.value.headers
    results = page.get_by_role("table", name="Contacts")
    expect(results.get_by_role("link", name="Ana García")).to_be_visible()
    expect(results.get_by_role("link", name="Jordi Puig")).to_have_count(0)

    # and: the contact's page opens
    results.get_by_role("link", name="Ana García").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana García")


def is_htmx_search_for(text: str):
    def matches(request: Request) -> bool:
        return f"q={text}" in request.url and request.headers.get("hx-request") == "true"

    return matches


def brand_is_right_of_tools(page: Page, org_name: str) -> bool:
    """Whether the header draws the organization's name right of the language switcher."""
    header = page.get_by_role("banner")
    brand = header.get_by_role("link", name=org_name).bounding_box()
    tools = header.get_by_role("combobox").bounding_box()
    assert brand is not None
    assert tools is not None
    return brand["x"] > tools["x"]
