"""The public transparency page: its numbers against the public log, its Sankey data."""

import datetime
import json
import re
from collections import defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising.transparency import money, public_key_b64, summary_for
from solidaria.ledger import queries as ledger_queries
from solidaria.ledger.actions import NewEntry, make_checkpoint, post_entries
from solidaria.people.tests.factories import TEST_ACTOR, make_contact
from solidaria.web.tests.conftest import TIMEOUT_MS, axe_source, browser  # noqa: F401
from solidaria.web.tests.test_accessibility import assert_accessible

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def history(org):
    """Two funds, a campaign, gifts, an allocation, expenses, a refund and a reversal."""
    general = actions.ensure_general_fund(org=org)
    water = actions.create_fund(org=org, actor=TEST_ACTOR, slug="water", name="Clean water")
    campaign = actions.create_campaign(
        org=org,
        actor=TEST_ACTOR,
        slug="wells",
        title="Wells for Tambacounda",
        fund=water,
        published=True,
    )
    contact = make_contact(org)
    now = timezone.now() - 10 * DAY

    def give(amount, fund, campaign=None):
        donation = actions.start_donation(
            org=org,
            actor=TEST_ACTOR,
            contact=contact,
            amount_minor=amount,
            currency="EUR",
            fund=fund,
            method="bank_transfer",
            campaign=campaign,
        )
        return actions.confirm_donation(donation=donation, actor=TEST_ACTOR, received_at=now)

    def spend(amount, fund, category, description="Things"):
        return actions.record_expense(
            org=org,
            actor=TEST_ACTOR,
            fund=fund,
            amount_minor=amount,
            currency="EUR",
            description=description,
            category=category,
            spent_at=now + DAY,
        )

    give(10000, general)
    give(6000, water, campaign)
    refunded = give(2000, water)
    give(1500, water)
    actions.allocate(
        org=org,
        actor=TEST_ACTOR,
        from_fund=general,
        to_fund=water,
        amount_minor=3000,
        currency="EUR",
    )
    spend(4000, water, "pumps")
    spend(2500, general, "rent")
    wrong = spend(1000, general, "rent", description="Booked twice")
    actions.reverse_expense(org=org, actor=TEST_ACTOR, expense=wrong, reason="duplicate")
    actions.refund_donation(donation=refunded, actor=TEST_ACTOR, amount_minor=500)
    make_checkpoint(org=org, actor=TEST_ACTOR)
    return general, water


def recompute_from_log(lines: list[bytes]):
    """What anyone computes from ledger.jsonl: per (fund, currency) and per category."""
    entries = [json.loads(line) for line in lines]
    reversed_seqs = {e["reverses"] for e in entries if e["type"] == "reversal"}
    funds: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    categories: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        if e["type"] == "reversal" or e["seq"] in reversed_seqs:
            continue
        key = (e["fund"], e["currency"])
        if e["type"] == "allocation":
            funds[key]["moved_out"] += e["amount"]
            funds[(e["to_fund"], e["currency"])]["moved_in"] += e["amount"]
        else:
            funds[key][e["type"]] += e["amount"]
        if e["type"] == "expense":
            categories[(e["currency"], e["category"])] += e["amount"]
    return funds, categories


@pytest.mark.slow
def test_transparency_numbers_equal_the_public_log_and_the_ledger_balances(client):
    """Slow: builds a history of eleven entries through the domain actions."""
    # given a history with every kind of entry
    org = OrganizationFactory()
    history(org)

    # when the page is built, and the public log is recomputed independently
    summary = summary_for(org=org)
    lines = b"".join(client.get(f"/{org.slug}/transparency/ledger.jsonl").streaming_content)
    funds, categories = recompute_from_log(lines.splitlines())

    # then every fund's figures are those of the log, and its balance the ledger's own
    assert {(r.slug, r.currency) for r in summary.funds} == set(funds)
    for r in summary.funds:
        expected = funds[(r.slug, r.currency)]
        assert r.received == expected["income"]
        assert r.spent == expected["expense"]
        assert r.refunded == expected["refund"]
        assert r.moved_in == expected["moved_in"]
        assert r.moved_out == expected["moved_out"]
        assert r.balance == ledger_queries.fund_balance(org=org, fund=r.slug, currency="EUR")
    assert summary.categories == dict(categories)
    assert summary.categories == {("EUR", "pumps"): 4000, ("EUR", "rent"): 2500}


def test_totals_stay_right_as_the_log_grows_after_being_cached(client):
    # given totals computed once (and cached) over a short log
    org = OrganizationFactory()
    general = actions.ensure_general_fund(org=org)
    water = actions.create_fund(org=org, actor=TEST_ACTOR, slug="water", name="Water")
    contact = make_contact(org)
    at = timezone.now() - 5 * DAY
    for amount in (10000, 4000):
        actions.record_donation(
            org=org,
            actor=TEST_ACTOR,
            contact=contact,
            amount_minor=amount,
            currency="EUR",
            fund=general,
            method="cash",
            received_at=at,
        )
    rent = actions.record_expense(
        org=org,
        actor=TEST_ACTOR,
        fund=general,
        amount_minor=3000,
        currency="EUR",
        description="Rent",
        category="rent",
        spent_at=at + DAY,
    )
    summary_for(org=org)

    # when the log grows, with a reversal of an entry the cached totals already hold
    actions.reverse_expense(org=org, actor=TEST_ACTOR, expense=rent, reason="wrong fund")
    actions.allocate(
        org=org,
        actor=TEST_ACTOR,
        from_fund=general,
        to_fund=water,
        amount_minor=2000,
        currency="EUR",
    )
    actions.record_expense(
        org=org,
        actor=TEST_ACTOR,
        fund=water,
        amount_minor=1500,
        currency="EUR",
        description="Pipes",
        category="pipes",
        spent_at=at + 2 * DAY,
    )
    summary = summary_for(org=org)

    # then the totals are those of the whole log, as if computed afresh
    lines = b"".join(client.get(f"/{org.slug}/transparency/ledger.jsonl").streaming_content)
    funds, categories = recompute_from_log(lines.splitlines())
    for r in summary.funds:
        expected = funds[(r.slug, r.currency)]
        assert (r.received, r.spent, r.moved_in, r.moved_out) == (
            expected["income"],
            expected["expense"],
            expected["moved_in"],
            expected["moved_out"],
        )
        assert r.balance == ledger_queries.fund_balance(org=org, fund=r.slug, currency="EUR")
    assert summary.categories == dict(categories) == {("EUR", "pipes"): 1500}


@pytest.mark.slow
def test_transparency_page_shows_funds_categories_and_the_checkpoint(client):
    """Slow: builds a history of eleven entries through the domain actions."""
    # given a history and a checkpoint
    org = OrganizationFactory()
    history(org)
    checkpoint = ledger_queries.latest_checkpoint(org=org)

    # when an English-speaking visitor opens the page
    response = client.get(f"/{org.slug}/transparency/", HTTP_ACCEPT_LANGUAGE="en")

    # then it shows each fund's balance, spending per category, and how to check it all
    html = response.content.decode()
    assert response.status_code == 200
    assert "Clean water" in html
    water_balance = ledger_queries.fund_balance(org=org, fund="water", currency="EUR")
    assert money(water_balance, "EUR", "en") in html
    assert "pumps" in html
    assert "€40.00" in html
    assert checkpoint.root_hash.hex() in html
    assert public_key_b64(org) in html
    for name in ("ledger.jsonl", "checkpoint.json", "key"):
        assert f'href="/{org.slug}/transparency/{name}"' in html


def test_sankey_data_flows_from_gifts_through_funds_to_spending(client):
    # given a history with a published campaign
    org = OrganizationFactory()
    history(org)

    # when the page is read
    html = client.get(f"/{org.slug}/transparency/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # then its chart data is one Sankey for EUR
    found = re.search(r'<script id="sankey-data" type="application/json">(.*?)</script>', html)
    assert found
    charts = json.loads(found.group(1))
    assert [c["currency"] for c in charts] == ["EUR"]
    chart = charts[0]
    assert chart["digits"] == 2
    ids = {n["id"] for n in chart["nodes"]}
    assert all(set(n) == {"id", "label", "kind"} for n in chart["nodes"])
    assert all(link["source"] in ids and link["target"] in ids for link in chart["links"])
    assert all(isinstance(link["value"], int) and link["value"] > 0 for link in chart["links"])
    flows = {(link["source"], link["target"]): link["value"] for link in chart["links"]}
    # gifts by campaign or general giving into funds
    assert flows[("campaign:wells", "fund:water")] == 6000
    assert flows[("general", "fund:water")] == 3500
    assert flows[("general", "fund:general")] == 10000
    # funds into spending categories, refunds and what is left
    assert flows[("fund:water", "category:pumps")] == 4000
    assert flows[("fund:general", "category:rent")] == 2500
    assert flows[("fund:general", "fund:water")] == 3000
    assert flows[("fund:water", "refunded")] == 500
    # and every fund's inflow equals its outflow (its balance is the "not spent yet" link)
    for node in (n["id"] for n in chart["nodes"] if n["kind"] == "fund"):
        inflow = sum(v for (s, t), v in flows.items() if t == node)
        outflow = sum(v for (s, t), v in flows.items() if s == node)
        assert inflow == outflow
    assert flows[("fund:water", "available")] == ledger_queries.fund_balance(
        org=org, fund="water", currency="EUR"
    )


def test_the_chart_is_drawn_by_our_own_scripts_only(client):
    # given an organization with a gift
    org = OrganizationFactory()
    history(org)

    # when the page is read
    html = client.get(f"/{org.slug}/transparency/").content.decode()

    # then every script is a self-hosted file, apart from the JSON data island
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts
    for attributes in scripts:
        assert 'src="/static/' in attributes or 'type="application/json"' in attributes
    assert "/static/fundraising/vendor/echarts.min.js" in html
    assert "/static/fundraising/transparency.js" in html


def test_empty_organization_page_has_no_chart(client):
    # given an organization without any money yet
    org = OrganizationFactory()

    # when its transparency page is read
    response = client.get(f"/{org.slug}/transparency/", HTTP_ACCEPT_LANGUAGE="en")

    # then it answers, without a chart or a checkpoint
    assert response.status_code == 200
    assert "sankey-data" not in response.content.decode()
    assert "No checkpoint has been signed yet." in response.content.decode()


def test_unknown_organization_is_404(client):
    # when a made-up organization's page is asked for
    response = client.get("/no-such-org/transparency/")

    # then nothing is found
    assert response.status_code == 404


def ledger_of(size: int):
    """An organization whose log holds `size` entries: gifts, and expenses in 3 categories."""
    org = OrganizationFactory()
    at = timezone.now() - DAY
    entries = []
    for i in range(size):
        if i % 2 == 0:
            entries.append(
                NewEntry(
                    type="income", fund="general", amount=1000, currency="EUR", ref=f"g-{i}", at=at
                )
            )
        else:
            entries.append(
                NewEntry(
                    type="expense",
                    fund="general",
                    amount=700,
                    currency="EUR",
                    ref=f"x-{i}",
                    at=at,
                    category=f"cat{i % 3}",
                    description="Supplies",
                )
            )
    post_entries(org=org, actor=TEST_ACTOR, entries=entries)
    make_checkpoint(org=org, actor=TEST_ACTOR)
    return org


def test_page_queries_do_not_grow_with_the_ledger(client):
    # given a short ledger and a long one
    short, long = ledger_of(4), ledger_of(600)

    # when each page is read
    counts = []
    for org in (short, long):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/{org.slug}/transparency/")
        assert response.status_code == 200
        counts.append(len(queries))

    # then both took the same few queries
    assert counts[0] == counts[1] <= 12


@pytest.fixture
def page(browser, live_server, transactional_db):  # noqa: F811
    """A fresh English browser profile on the live server, JavaScript on: the chart needs it."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_the_chart_draws_under_our_content_security_policy_and_the_page_is_accessible(
    page,
    axe_source,  # noqa: F811
):
    """Slow: a real browser, ECharts and axe-core."""
    # given an organization with a history, and a browser that records every error
    org = OrganizationFactory()
    history(org)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # when the transparency page is opened
    response = page.goto(f"/{org.slug}/transparency/")

    # then our script policy was in force, the Sankey is drawn, nothing was blocked
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator("[data-sankey] canvas").first.wait_for()
    assert errors == []
    # and the page passes axe-core's WCAG checks
    assert_accessible(page, axe_source)
