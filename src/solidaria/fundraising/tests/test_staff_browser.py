"""The treasurer's journey in a real browser (Debian's Chromium): log in, book an expense with
its evidence file, read its SHA-256, and find it in the ledger page.

Browser fixtures as in `web/tests/conftest.py`: skipped on a machine without Chromium,
failed in CI (CI=true).
"""

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from solidaria.core.models import Membership
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory
from solidaria.fundraising.models import Expense
from solidaria.fundraising.tests.factories import make_gift
from solidaria.web.tests.conftest import (  # noqa: F401 - fixtures
    axe_source,
    browser,
    context,
    log_in,
    page,
)
from solidaria.web.tests.test_accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def treasurer(transactional_db) -> Membership:
    org = OrganizationFactory(name="Asociación Vecinal Solidaria")
    make_gift(org, amount_minor=20000)  # 200 € in the general fund
    return MembershipFactory(role="treasurer", organization=org)


def test_a_treasurer_books_an_expense_with_evidence_and_sees_it_in_the_ledger(
    page: Page,  # noqa: F811
    treasurer: Membership,
    settings,
    tmp_path: Path,
):
    """Slow: a real browser through the login, the expense form with a file and the ledger."""
    # given: a treasurer logged in, with an invoice on their computer
    settings.MEDIA_ROOT = tmp_path / "media"
    org = treasurer.organization
    invoice = tmp_path / "invoice-2026-17.pdf"
    invoice.write_bytes(b"%PDF-1.4 40 blankets, 60.00 EUR")
    digest = hashlib.sha256(invoice.read_bytes()).hexdigest()
    log_in(page, treasurer.user.email)

    # when: they go to fundraising, open the expense form and book the blankets with the file
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Fundraising").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fundraising")
    page.get_by_role("link", name="Record an expense").first.click()
    page.get_by_label("Fund").select_option("general")
    page.get_by_label("Amount").fill("60.00")
    page.get_by_label("Description").fill("40 blankets for the winter shelter")
    page.get_by_label("Category").fill("supplies")
    page.get_by_label("Evidence (invoice, receipt, photo)").set_input_files(str(invoice))
    page.get_by_role("button", name="Book the expense").click()

    # then: the expense page shows the evidence's SHA-256, computed on the server
    expect(page.get_by_role("heading", level=1)).to_have_text("40 blankets for the winter shelter")
    expect(page.get_by_text("Expense booked.")).to_be_visible()
    expect(page.locator("#evidence-sha256")).to_have_text(digest)
    expense = Expense.objects.get(organization=org)
    assert expense.evidence_sha256 == digest

    # and: the ledger page lists it as the newest entry, with its amount and description
    page.get_by_role("navigation", name="Fundraising").get_by_role("link", name="Ledger").click()
    entries = page.get_by_role("table", name="Latest entries")
    newest = entries.get_by_role("row").nth(1)
    expect(newest).to_contain_text("Expense")
    expect(newest).to_contain_text("€60.00")
    expect(newest).to_contain_text("40 blankets for the winter shelter")
    expect(newest).to_contain_text(expense.public_ref)


def test_the_main_fundraising_pages_pass_axe(
    page: Page,  # noqa: F811
    treasurer: Membership,
    axe_source: str,  # noqa: F811
):
    """Slow: a real browser and axe-core on five pages, one of them with form errors."""
    # given: a treasurer logged in
    org = treasurer.organization
    log_in(page, treasurer.user.email)
    base = f"/app/{org.slug}/fundraising/"

    for path in ("", "gifts/", "gifts/new", "ledger/", "bank/"):
        # when
        page.goto(base + path)

        # then
        assert_accessible(page, axe_source)

    # and: the expense form, sent empty, with its error summary
    page.goto(base + "expenses/new")
    page.get_by_label("Amount").fill("")
    page.get_by_role("button", name="Book the expense").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_accessible(page, axe_source)
