"""WCAG 2.1 A and AA checks with axe-core on the main staff pages, in a real browser.

axe cannot prove a page accessible (people with assistive technology do), but what it finds
is real: a failure here lists each serious or critical violation with the elements to fix.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from solidaria.core.actions import add_staff, create_api_token
from solidaria.core.audit import Actor
from solidaria.core.models import Membership
from solidaria.people.actions import add_activity, add_relationship
from solidaria.people.models import Contact
from solidaria.people.tests.factories import make_contact

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}


def axe_violations(page: Page, axe_source: str) -> list[dict]:
    """Serious and critical WCAG 2.0/2.1 A and AA violations on the page as it is now."""
    # Evaluated rather than added as a <script> tag: our Content-Security-Policy forbids
    # inline scripts, and the check must see the page with its real policy in force.
    page.evaluate(axe_source)
    results = page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        WCAG_TAGS,
    )
    return [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
            lines.append(f"        {node['html'][:200]}")
    return "\n".join(lines)


def assert_accessible(page: Page, axe_source: str) -> None:
    __tracebackhide__ = True
    violations = axe_violations(page, axe_source)
    assert not violations, f"axe found on {page.url}:\n{describe(violations)}"


def test_login_page(axe_source: str, page: Page, transactional_db):
    """Slow: a real browser and axe-core."""
    page.goto("/accounts/login/")
    assert_accessible(page, axe_source)


@pytest.fixture
def ana(admin: Membership) -> Contact:
    """A contact with something in every part of her page: badges, tags, timeline, household."""
    org, actor = admin.organization, Actor(user=admin.user, via="web")
    ana = make_contact(
        org,
        given_name="Ana",
        family_name="García",
        emails=["ana.garcia@example.org"],
        phones=["612 34 56 78"],
        tags=["barrio norte", "newsletter"],
        roles=["donor", "member", "volunteer", "beneficiary", "staff", "partner"],
        city="Sevilla",
        country="ES",
        language="es",
    )
    household = make_contact(
        org, kind="household", name="Familia García", given_name="", family_name=""
    )
    add_relationship(
        org=org, actor=actor, from_contact=ana, to_contact=household, kind="household_member"
    )
    add_activity(org=org, actor=actor, contact=ana, kind="call", subject="Thanked her for the gift")
    return ana


def test_dashboard(axe_source: str, staff_page: Page, admin: Membership, ana: Contact):
    """Slow: a real browser and axe-core."""
    page = staff_page
    page.goto(f"/app/{admin.organization.slug}/")
    expect(page.get_by_role("link", name="Ana García")).to_be_visible()
    assert_accessible(page, axe_source)


def test_dashboard_in_arabic(
    axe_source: str, staff_page: Page, admin: Membership, ana: Contact, live_server
):
    """Slow: a real browser and axe-core; right-to-left has its own ways to go wrong."""
    page = staff_page
    page.context.add_cookies([{"name": "django_language", "value": "ar", "url": live_server.url}])
    page.goto(f"/app/{admin.organization.slug}/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("link", name="Ana García")).to_be_visible()
    assert_accessible(page, axe_source)


def test_contact_list(axe_source: str, staff_page: Page, admin: Membership, ana: Contact):
    """Slow: a real browser and axe-core; every role badge's colours are on this page."""
    page = staff_page
    page.goto(f"/app/{admin.organization.slug}/contacts/")
    expect(page.get_by_role("link", name="Ana García")).to_be_visible()
    assert_accessible(page, axe_source)


def test_contact_page(axe_source: str, staff_page: Page, admin: Membership, ana: Contact):
    """Slow: a real browser and axe-core."""
    page = staff_page
    page.goto(f"/app/{admin.organization.slug}/contacts/{ana.pk}/")
    expect(page.get_by_text("Thanked her for the gift")).to_be_visible()
    assert_accessible(page, axe_source)


def test_contact_form_with_an_error(
    axe_source: str, staff_page: Page, admin: Membership, ana: Contact
):
    """Slow: a real browser and axe-core. The error state has the summary and field errors."""
    page = staff_page
    page.goto(f"/app/{admin.organization.slug}/contacts/{ana.pk}/edit/")
    page.get_by_label("Phone 1", exact=True).fill("12")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Phone 1")
    assert_accessible(page, axe_source)


@pytest.fixture
def busy_admin(admin: Membership) -> Membership:
    """An admin whose organization has another staff member, a token and audit events."""
    actor = Actor(user=admin.user, via="web")
    add_staff(
        org=admin.organization,
        actor=actor,
        email="nuria.puig@example.org",
        role="fundraiser",
        full_name="Núria Puig",
    )
    create_api_token(org=admin.organization, actor=actor, user=admin.user, name="Spreadsheet sync")
    return admin


def test_audit_log(axe_source: str, staff_page: Page, busy_admin: Membership):
    """Slow: a real browser and axe-core."""
    page = staff_page
    page.goto(f"/app/{busy_admin.organization.slug}/audit/")
    expect(page.get_by_role("cell", name="core.staff.added")).to_be_visible()
    assert_accessible(page, axe_source)


def test_staff_page_with_an_error_in_the_add_form(
    axe_source: str, staff_page: Page, busy_admin: Membership
):
    """Slow: a real browser and axe-core. The error state shows the list, the form and errors."""
    page = staff_page
    page.goto(f"/app/{busy_admin.organization.slug}/staff/")
    expect(page.get_by_role("rowheader", name="Núria Puig")).to_be_visible()
    form = page.get_by_role("form", name="Add a staff member")
    form.get_by_label("Email").fill(busy_admin.user.email)
    form.get_by_role("button", name="Add staff member").click()
    expect(page.get_by_text("is already staff here")).to_be_visible()
    assert_accessible(page, axe_source)


def test_tokens_page_showing_a_new_secret(
    axe_source: str, staff_page: Page, busy_admin: Membership
):
    """Slow: a real browser and axe-core."""
    page = staff_page
    page.goto(f"/app/{busy_admin.organization.slug}/tokens/")
    form = page.get_by_role("form", name="Create a token")
    form.get_by_label("Name").fill("Mailing tool")
    form.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("Token", exact=True)).to_have_value(re.compile(r"\S{20,}"))
    assert_accessible(page, axe_source)


def test_settings_page(axe_source: str, staff_page: Page, admin: Membership):
    """Slow: a real browser and axe-core."""
    page = staff_page
    page.goto(f"/app/{admin.organization.slug}/settings/")
    expect(page.get_by_role("heading", name="Security")).to_be_visible()
    assert_accessible(page, axe_source)
