"""The staff pages of fundraising and the treasurer, through the HTTP interface."""

import datetime
import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse
from django.utils import timezone

from solidaria.core.models import AuditEvent, Membership, Organization
from solidaria.core.roles import PERMISSIONS, Role
from solidaria.core.tests.factories import MembershipFactory, OrganizationFactory
from solidaria.fundraising import actions
from solidaria.fundraising import urls as fundraising_urls
from solidaria.fundraising.models import (
    Allocation,
    BankStatement,
    Campaign,
    Donation,
    Expense,
    Fund,
    FundraisingSettings,
    PaymentProvider,
    PeerPage,
    RecurringPlan,
    Refund,
    SepaBatch,
    StatementLine,
)
from solidaria.fundraising.tests import bankfiles
from solidaria.fundraising.tests.factories import (
    make_campaign,
    make_expense,
    make_fund,
    make_gift,
    make_pending_gift,
    make_plan,
)
from solidaria.ledger.models import Checkpoint, LedgerEntry
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db
NO_SUCH_ID = 987654321
CREDITOR = {
    "creditor_name": "Associacio Solidaria",
    "creditor_iban": bankfiles.OWN_IBAN,
    "creditor_bic": "CAIXESBBXXX",
    "creditor_id": "ES23ZZZ47690558N",
}


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"fundraising:{name}", args=[org.slug, *args])


def logged_in(client, membership: Membership):
    client.force_login(membership.user)
    return client


def events(org: Organization, code: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=org, code=code))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def sepa_debit(org: Organization, on: datetime.date) -> Donation:
    """A pending SEPA gift under a signed mandate, due on `on`, as the schedule makes it."""
    plan = make_plan(org)
    gift = make_pending_gift(org, method="sepa", plan=plan, amount_minor=1000, contact=plan.contact)
    gift.collection_date = on
    gift.save(update_fields=["collection_date"])
    return gift


def world(org: Organization) -> dict[str, object]:
    """One of every row the pages show, in `org`."""
    actions.configure_payment_provider(
        org=org, actor=TEST_ACTOR, kind="sepa", settings=CREDITOR, secrets={}
    )
    fund = make_fund(org, "school")
    campaign = make_campaign(org, "winter", fund=fund, goal_minor=100000)
    ana = make_contact(org, given_name="Ana", family_name="García", emails=["ana@example.org"])
    gift = make_gift(org, contact=ana, fund=fund, amount_minor=5000, campaign=campaign)
    pending = make_pending_gift(org, contact=ana)
    peer = actions.create_peer_page(
        org=org, actor=TEST_ACTOR, campaign=campaign, supporter=ana, slug="ana", title="Ana runs"
    )
    expense = make_expense(
        org, fund=fund, amount_minor=1000, evidence=SimpleUploadedFile("bill.pdf", b"%PDF-1.4")
    )
    plan = make_plan(org, contact=ana)
    debit = sepa_debit(org, timezone.localdate() + datetime.timedelta(days=5))
    batch = SepaBatch.objects.create(
        organization=org,
        collection_date=timezone.localdate(),
        message_id="SOL-TEST",
        xml="<Document/>",
        count=0,
    )
    statement = _import(
        org,
        bankfiles.camt053(
            [bankfiles.Row(booked_on=timezone.localdate(), amount_minor=777, reference="?")]
        ),
    )
    line = StatementLine.objects.get(statement=statement)
    return {
        "fund": fund,
        "campaign": campaign,
        "contact": ana,
        "gift": gift,
        "pending": pending,
        "peer": peer,
        "expense": expense,
        "plan": plan,
        "debit": debit,
        "batch": batch,
        "statement": statement,
        "line": line,
    }


def _import(org: Organization, data: bytes) -> BankStatement:
    from solidaria.fundraising import banking

    return banking.import_bank_statement(
        org=org, actor=TEST_ACTOR, file_name="statement.xml", data=data
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files land in a temporary directory, not the developer's data directory."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def org() -> Organization:
    return OrganizationFactory()


@pytest.fixture
def admin(org) -> Membership:
    return MembershipFactory(organization=org, role=Role.ADMIN)


# --- every page ----------------------------------------------------------------------------

PAGES = [
    ("overview", ()),
    ("fund_list", ()),
    ("fund_create", ()),
    ("fund_edit", ("fund",)),
    ("campaign_list", ()),
    ("campaign_create", ()),
    ("campaign_detail", ("campaign",)),
    ("campaign_edit", ("campaign",)),
    ("donation_list", ()),
    ("donation_record", ()),
    ("donation_detail", ("gift",)),
    ("donation_detail", ("pending",)),
    ("donation_receipt", ("gift",)),
    ("donation_refund", ("gift",)),
    ("plan_list", ()),
    ("plan_detail", ("plan",)),
    ("expense_list", ()),
    ("expense_create", ()),
    ("expense_detail", ("expense",)),
    ("expense_evidence", ("expense",)),
    ("allocations", ()),
    ("sepa", ()),
    ("sepa_batch", ("batch",)),
    ("bank", ()),
    ("statement_detail", ("statement",)),
    ("unmatched_lines", ()),
    ("line_match", ("line",)),
    ("annual_statements", ()),
    ("providers", ()),
    ("provider_edit", ("stripe",)),
    ("provider_edit", ("mollie",)),
    ("provider_edit", ("sepa",)),
    ("settings", ()),
    ("ledger", ()),
]


def _arg(rows: dict[str, object], key: str) -> object:
    if key in {"stripe", "mollie", "sepa"}:
        return key
    row = rows[key]
    return getattr(row, "slug", None) if key in {"fund", "campaign"} else row.pk


@pytest.mark.slow
def test_every_page_answers_200_for_an_admin(client, org, admin):
    """Slow: renders every page once, a receipt PDF among them."""
    # given
    rows = world(org)
    logged_in(client, admin)

    for name, keys in PAGES:
        # when
        response = client.get(url(name, org, *(_arg(rows, key) for key in keys)))

        # then
        assert response.status_code == 200, (name, keys)


# --- the tenancy matrix --------------------------------------------------------------------

# Every URL of fundraising/urls.py, every method it answers, the rows its arguments name, and
# the permission it needs (`annual_statements`: finance.book or fundraising.edit).
ROUTES = [
    ("overview", "get", (), "fundraising.view"),
    ("fund_list", "get", (), "fundraising.view"),
    ("fund_create", "get", (), "fundraising.edit"),
    ("fund_create", "post", (), "fundraising.edit"),
    ("fund_edit", "get", ("fund",), "fundraising.edit"),
    ("fund_edit", "post", ("fund",), "fundraising.edit"),
    ("campaign_list", "get", (), "fundraising.view"),
    ("campaign_create", "get", (), "fundraising.edit"),
    ("campaign_create", "post", (), "fundraising.edit"),
    ("campaign_detail", "get", ("campaign",), "fundraising.view"),
    ("campaign_edit", "get", ("campaign",), "fundraising.edit"),
    ("campaign_edit", "post", ("campaign",), "fundraising.edit"),
    ("peer_page_hide", "post", ("campaign", "peer"), "fundraising.edit"),
    ("donation_list", "get", (), "fundraising.view"),
    ("donation_record", "get", (), "donations.record"),
    ("donation_record", "post", (), "donations.record"),
    ("donation_contacts", "get", (), "donations.record"),
    ("donation_detail", "get", ("gift",), "fundraising.view"),
    ("donation_receipt", "get", ("gift",), "fundraising.view"),
    ("donation_refund", "get", ("gift",), "finance.book"),
    ("donation_refund", "post", ("gift",), "finance.book"),
    ("plan_list", "get", (), "fundraising.view"),
    ("plan_detail", "get", ("plan",), "fundraising.view"),
    ("plan_update", "post", ("plan",), "fundraising.edit"),
    ("expense_list", "get", (), "fundraising.view"),
    ("expense_create", "get", (), "finance.book"),
    ("expense_create", "post", (), "finance.book"),
    ("expense_detail", "get", ("expense",), "fundraising.view"),
    ("expense_evidence", "get", ("expense",), "finance.book"),
    ("expense_reverse", "post", ("expense",), "finance.book"),
    ("allocations", "get", (), "finance.book"),
    ("allocations", "post", (), "finance.book"),
    ("sepa", "get", (), "finance.book"),
    ("sepa", "post", (), "finance.book"),
    ("sepa_batch", "get", ("batch",), "finance.book"),
    ("bank", "get", (), "finance.book"),
    ("bank", "post", (), "finance.book"),
    ("statement_detail", "get", ("statement",), "finance.book"),
    ("unmatched_lines", "get", (), "finance.book"),
    ("line_match", "get", ("line",), "finance.book"),
    ("line_match", "post", ("line",), "finance.book"),
    ("line_ignore", "post", ("line",), "finance.book"),
    ("annual_statements", "get", (), "finance.book|fundraising.edit"),
    ("annual_statements", "post", (), "finance.book|fundraising.edit"),
    ("providers", "get", (), "payments.manage"),
    ("provider_edit", "get", ("kind",), "payments.manage"),
    ("provider_edit", "post", ("kind",), "payments.manage"),
    ("settings", "get", (), "fundraising.edit"),
    ("settings", "post", (), "fundraising.edit"),
    ("ledger", "get", (), "ledger.view"),
    ("ledger_checkpoint", "post", (), "ledger.checkpoint"),
    ("ledger_verify", "post", (), "ledger.view"),
]
# Enough for every form to act, were it reached.
POST_DATA = {
    "name": "Stolen",
    "title": "Stolen",
    "fund": "general",
    "from_fund": "general",
    "to_fund": "school",
    "currency": "EUR",
    "amount": "1.00",
    "reason": "stolen",
    "action": "cancel",
    "method": "cash",
    "received_on": "2026-01-01",
    "spent_on": "2026-01-01",
    "description": "Stolen",
    "category": "theft",
    "date": "2026-01-01",
    "note": "stolen",
    "fiscal_year": "2020",
    "secret_key": "sk_stolen",
    "webhook_secret": "whsec_stolen",
    "api_key": "test_stolen",
    "legal_name": "Stolen",
    "fiscal_year_start_month": "1",
    "enabled": "on",
    "published": "on",
    "archived": "on",
}
MISSING = {
    "fund": "no-such-fund",
    "campaign": "no-such-campaign",
    "peer": "no-such-page",
    "kind": "stripe",
}


def snapshot(org: Organization) -> tuple:
    """Everything these pages could change about an organization."""

    def rows(model, *fields):
        return sorted(model.objects.filter(organization=org).values_list("pk", *fields))

    return (
        rows(Fund, "slug", "name", "restricted", "archived_at"),
        rows(Campaign, "slug", "title", "published"),
        rows(PeerPage, "hidden_at"),
        rows(Donation, "status", "refunded_minor", "amount_minor"),
        rows(RecurringPlan, "status", "amount_minor"),
        rows(Expense, "reversal_seq"),
        rows(Allocation),
        rows(Refund),
        rows(PaymentProvider, "kind", "enabled"),
        [(p.kind, p.settings, p.secrets) for p in PaymentProvider.objects.filter(organization=org)],
        rows(FundraisingSettings, "legal_name", "texts"),
        rows(SepaBatch),
        rows(BankStatement),
        rows(StatementLine, "status"),
        rows(Checkpoint),
        rows(LedgerEntry),
        AuditEvent.objects.filter(organization=org).count(),
    )


def _args(kinds: tuple[str, ...], rows: dict[str, object] | None) -> list[object]:
    """The URL arguments naming `rows` (None: rows that do not exist)."""
    args = []
    for kind in kinds:
        if kind == "kind":
            args.append("stripe")
        elif rows is None:
            args.append(MISSING.get(kind, NO_SUCH_ID))
        else:
            row = rows[{"peer": "peer", "gift": "gift"}.get(kind, kind)]
            args.append(row.slug if kind in {"fund", "campaign", "peer"} else row.pk)
    return args


def _send(client, method: str, path: str):
    if method == "post":
        return client.post(path, POST_DATA)
    return client.get(path)


def test_the_matrix_covers_every_url_of_the_app():
    names = {p.name for p in fundraising_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {name for name, _, _, _ in ROUTES}


def test_the_matrix_names_real_permissions():
    for _name, _method, _kinds, permissions in ROUTES:
        assert all(p in PERMISSIONS for p in permissions.split("|"))


@pytest.mark.slow
def test_staff_of_org_b_get_404_for_org_a_pages_like_for_a_missing_org(client, org):
    """Slow: every route of the app, against one organization full of rows."""
    # given
    rows = world(org)
    b_admin = MembershipFactory(role=Role.ADMIN)
    logged_in(client, b_admin)
    before = snapshot(org), snapshot(b_admin.organization)

    for name, method, kinds, _permission in ROUTES:
        args = _args(kinds, rows)

        # when
        theirs = _send(client, method, url(name, org, *args))
        missing = _send(client, method, reverse(f"fundraising:{name}", args=["no-such-org", *args]))

        # then
        assert theirs.status_code == 404, (name, method)
        assert theirs.content == missing.content, (name, method)
    assert (snapshot(org), snapshot(b_admin.organization)) == before


@pytest.mark.slow
def test_org_a_ids_through_org_b_pages_get_404_like_a_missing_id(client, org):
    """Slow: every route that names a row, against one organization full of rows."""
    # given
    rows = world(org)
    b_admin = MembershipFactory(role=Role.ADMIN)
    org_b = b_admin.organization
    logged_in(client, b_admin)
    before = snapshot(org), snapshot(org_b)

    for name, method, kinds, _permission in ROUTES:
        if not set(kinds) - {"kind"}:
            continue

        # when
        theirs = _send(client, method, url(name, org_b, *_args(kinds, rows)))
        missing = _send(client, method, url(name, org_b, *_args(kinds, None)))

        # then
        assert theirs.status_code == 404, (name, method)
        assert theirs.content == missing.content, (name, method)
    assert (snapshot(org), snapshot(org_b)) == before


@pytest.mark.slow
def test_the_same_ids_work_for_their_own_organization(client, org, admin):
    """The other side of the matrix: the 404s above come from tenancy, not from the route.

    Slow: every route that names a row, once."""
    # given
    rows = world(org)
    logged_in(client, admin)

    for name, method, kinds, _permission in ROUTES:
        if not set(kinds) - {"kind"}:
            continue

        # when
        response = _send(client, method, url(name, org, *_args(kinds, rows)))

        # then
        assert response.status_code in {200, 302, 400}, (name, method, response.status_code)


def _denied(role: str, permissions: str) -> bool:
    return not any(role in PERMISSIONS[p] for p in permissions.split("|"))


@pytest.mark.slow
@pytest.mark.parametrize("role", Role.values)
def test_roles_without_the_permission_get_403_and_change_nothing(client, role):
    """Slow: every route the role may not use, against one organization full of rows."""
    # given
    member = MembershipFactory(role=role)
    org = member.organization
    rows = world(org)
    logged_in(client, member)
    before = snapshot(org)
    denied = [route for route in ROUTES if _denied(role, route[3])]

    for name, method, kinds, _permission in denied:
        # when
        response = _send(client, method, url(name, org, *_args(kinds, rows)))

        # then
        assert response.status_code == 403, (name, method)
    assert snapshot(org) == before
    assert role == Role.ADMIN or denied  # every other role lacks something here


def test_pages_need_a_login(client, org):
    response = client.get(url("overview", org))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- overview and funds --------------------------------------------------------------------


def test_the_overview_shows_this_years_income_balances_latest_gifts_and_reports(client, org, admin):
    # given
    fund = make_fund(org, "school", name="School meals")
    make_gift(org, fund=fund, amount_minor=5000, contact=make_contact(org, given_name="Núria"))
    make_gift(org, amount_minor=2500)
    make_plan(org, amount_minor=1200, frequency="quarterly")

    # when
    response = logged_in(client, admin).get(url("overview", org))

    # then
    html = text(response)
    assert response.status_code == 200
    assert "€75.00" in html  # income this fiscal year
    assert "received in 2 gifts" in html
    assert "€4.00" in html  # 12 € a quarter is 4 € a month
    assert "School meals" in html
    assert "Núria García" in html
    assert f'href="{url("report_index", org)}"' in html
    assert 'aria-current="page">Fundraising<' in html


def test_a_fund_is_created_and_edited(client, org, admin):
    # given
    logged_in(client, admin)

    # when
    created = client.post(
        url("fund_create", org), {"slug": "roof", "name": "New roof", "restricted": "on"}
    )
    duplicate = client.post(url("fund_create", org), {"slug": "roof", "name": "Again"})
    edited = client.post(
        url("fund_edit", org, "roof"), {"name": "Roof repair", "restricted": "on", "archived": "on"}
    )

    # then
    assert created.status_code == edited.status_code == 302
    assert "already exists" in text(duplicate)
    fund = Fund.objects.get(organization=org, slug="roof")
    assert (fund.name, fund.restricted, fund.archived_at is not None) == ("Roof repair", True, True)
    assert len(events(org, "fundraising.fund.created")) == 1


# --- campaigns -----------------------------------------------------------------------------


def test_a_campaign_is_created_with_texts_per_language_presets_and_a_goal(client, org, admin):
    # given
    make_fund(org, "school")
    logged_in(client, admin)

    # when
    response = client.post(
        url("campaign_create", org),
        {
            "slug": "winter",
            "title": "Winter coats",
            "fund": "school",
            "goal": "1500",
            "currency": "eur",
            "preset_amounts": "10, 25,50.50",
            "published": "on",
            "title_es": "Abrigos de invierno",
            "summary_es": "Para 200 niños",
            "body_ar": "معاطف",
        },
    )

    # then
    assert response.status_code == 302
    campaign = Campaign.objects.get(organization=org, slug="winter")
    assert response["Location"] == url("campaign_detail", org, "winter")
    assert (campaign.goal_minor, campaign.currency, campaign.published) == (150000, "EUR", True)
    assert campaign.preset_amounts == [1000, 2500, 5050]
    assert campaign.texts == {
        "es": {"title": "Abrigos de invierno", "summary": "Para 200 niños", "body": ""},
        "ar": {"title": "", "summary": "", "body": "معاطف"},
    }
    detail = text(client.get(url("campaign_detail", org, "winter")))
    assert f"/{org.slug}/c/winter" in detail


def test_a_campaign_form_shows_bad_presets_and_a_taken_slug_as_errors(client, org, admin):
    # given
    make_campaign(org, "winter")
    logged_in(client, admin)
    base = {"title": "Coats", "fund": "general", "currency": "EUR"}

    # when
    taken = client.post(url("campaign_create", org), {**base, "slug": "winter"})
    presets = client.post(
        url("campaign_create", org), {**base, "slug": "coats", "preset_amounts": "10, 2.555"}
    )

    # then
    assert taken.status_code == presets.status_code == 200
    assert "already exists" in text(taken)
    assert "preset_amounts" in presets.context["form"].errors
    assert Campaign.objects.filter(organization=org).count() == 1


def test_editing_a_campaign_keeps_what_was_not_changed(client, org, admin):
    # given
    campaign = make_campaign(org, "winter", texts={"es": {"title": "Invierno"}})
    logged_in(client, admin)
    form = client.get(url("campaign_edit", org, "winter")).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}

    # when
    response = client.post(url("campaign_edit", org, "winter"), {**data, "title": "Coats"})

    # then
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.title == "Coats"
    assert campaign.texts["es"]["title"] == "Invierno"


def test_a_supporters_page_is_hidden(client, org, admin):
    # given
    campaign = make_campaign(org, "winter")
    page = actions.create_peer_page(
        org=org,
        actor=TEST_ACTOR,
        campaign=campaign,
        supporter=make_contact(org),
        slug="ana",
        title="Ana runs",
    )
    logged_in(client, admin)

    # when
    response = client.post(url("peer_page_hide", org, "winter", "ana"))

    # then
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.hidden_at is not None
    assert "Hidden" in text(client.get(url("campaign_detail", org, "winter")))


# --- gifts ---------------------------------------------------------------------------------


def test_recording_a_cash_gift_confirms_it_in_the_ledger(client, org):
    # given
    fundraiser = MembershipFactory(organization=org, role=Role.FUNDRAISER)
    make_fund(org, "school")
    ana = make_contact(org, given_name="Ana", family_name="García")
    logged_in(client, fundraiser)

    # when
    response = client.post(
        url("donation_record", org),
        {
            "contact": ana.pk,
            "amount": "40.00",
            "currency": "EUR",
            "method": "cash",
            "fund": "school",
            "received_on": timezone.localdate().isoformat(),
            "note": "At the street stall",
        },
    )

    # then
    gift = Donation.objects.get(organization=org)
    assert response.status_code == 302
    assert response["Location"] == url("donation_detail", org, gift.pk)
    assert (gift.status, gift.amount_minor, gift.fund.slug) == ("confirmed", 4000, "school")
    assert LedgerEntry.objects.get(organization=org, seq=gift.ledger_seq).ref == gift.public_ref
    (event,) = events(org, "fundraising.donation.recorded")
    assert event.actor == fundraiser.user
    detail = text(client.get(response["Location"]))
    assert f"#{gift.ledger_seq}" in detail
    assert f"/t/{gift.tracking_token}" in detail
    assert gift.receipt_number in detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "12.345"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"received_on": "2999-01-01"}, "received_on"),
        ({"contact": str(NO_SUCH_ID)}, "contact"),
        ({"fund": "nope"}, "fund"),
    ],
)
def test_a_gift_with_bad_input_is_refused_with_a_form_error(client, org, admin, change, field):
    # given
    ana = make_contact(org)
    data = {
        "contact": ana.pk,
        "amount": "10",
        "currency": "EUR",
        "method": "cash",
        "received_on": timezone.localdate().isoformat(),
        **change,
    }

    # when
    response = logged_in(client, admin).post(url("donation_record", org), data)

    # then
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Donation.objects.filter(organization=org).exists()


def test_another_organizations_contact_cannot_be_picked_as_donor(client, org, admin):
    # given
    stranger = make_contact(OrganizationFactory())
    data = {
        "contact": stranger.pk,
        "amount": "10",
        "currency": "EUR",
        "method": "cash",
        "received_on": timezone.localdate().isoformat(),
    }

    # when
    response = logged_in(client, admin).post(url("donation_record", org), data)

    # then
    assert "contact" in response.context["form"].errors
    assert not Donation.objects.exists()


def test_the_donor_picker_finds_contacts_of_the_organization_only(client, org, admin):
    # given
    ana = make_contact(org, given_name="Ana", family_name="García", emails=["ana@example.org"])
    make_contact(org, given_name="Jordi", family_name="Puig")
    make_contact(OrganizationFactory(), given_name="Ana", family_name="Garcés")
    logged_in(client, admin)

    # when
    partial = client.get(url("donation_contacts", org), {"find": "garc"}, HTTP_HX_REQUEST="true")
    page = client.get(url("donation_record", org), {"find": "ana@"})
    plain = client.get(url("donation_contacts", org), {"find": "garc"})

    # then
    html = text(partial)
    assert f'value="{ana.pk}"' in html
    assert "ana@example.org" in html
    assert "Puig" not in html
    assert "Garcés" not in html
    assert f'value="{ana.pk}"' in text(page)
    assert plain.status_code == 302


def test_the_gift_list_filters_and_does_not_grow_queries_with_rows(client, org, admin):
    # given
    school = make_fund(org, "school")
    make_gift(org, fund=school, amount_minor=1111)
    make_gift(org, amount_minor=2222, method="cheque")
    make_pending_gift(org, amount_minor=3333)
    logged_in(client, admin)
    client.get(url("donation_list", org))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url("donation_list", org))
    for _ in range(5):
        make_gift(org, fund=school, campaign=None, contact=make_contact(org))

    # when
    with CaptureQueriesContext(connection) as many:
        everything = client.get(url("donation_list", org))
    by_fund = client.get(url("donation_list", org), {"fund": "school"})
    by_status = client.get(url("donation_list", org), {"status": "pending"})
    by_method = client.get(url("donation_list", org), {"method": "cheque"})
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    future = client.get(url("donation_list", org), {"date_from": tomorrow})
    backwards = client.get(
        url("donation_list", org), {"date_from": tomorrow, "date_to": "2020-01-01"}
    )

    # then
    assert len(many) == len(few)
    assert everything.context["page"].paginator.count == 8
    assert by_fund.context["page"].paginator.count == 6
    assert [d.amount_minor for d in by_status.context["page"]] == [3333]
    assert [d.amount_minor for d in by_method.context["page"]] == [2222]
    assert future.context["page"].paginator.count == 0
    assert "date_to" in backwards.context["form"].errors


def test_the_receipt_of_a_confirmed_gift_downloads_as_pdf(client, org, admin):
    # given
    gift = make_gift(org)
    pending = make_pending_gift(org)
    logged_in(client, admin)

    # when
    response = client.get(url("donation_receipt", org, gift.pk))
    none = client.get(url("donation_receipt", org, pending.pk))

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"receipt-{gift.receipt_number}.pdf" in response["Content-Disposition"]
    assert none.status_code == 404


def test_a_treasurer_refunds_part_of_a_gift_and_not_more_than_is_left(client, org):
    # given
    treasurer = MembershipFactory(organization=org, role=Role.TREASURER)
    gift = make_gift(org, amount_minor=5000)
    logged_in(client, treasurer)

    # when
    part = client.post(url("donation_refund", org, gift.pk), {"amount": "20", "reason": "Asked"})
    too_much = client.post(url("donation_refund", org, gift.pk), {"amount": "31"})
    rest = client.post(url("donation_refund", org, gift.pk), {"amount": ""})

    # then
    assert part.status_code == rest.status_code == 302
    assert "At most" in text(too_much)
    assert sorted(Refund.objects.filter(donation=gift).values_list("amount_minor", flat=True)) == [
        2000,
        3000,
    ]
    gift.refresh_from_db()
    assert gift.refunded_minor == 5000


# --- recurring plans -----------------------------------------------------------------------


def test_a_plan_is_paused_resumed_changed_and_cancelled(client, org, admin):
    # given
    plan = make_plan(org, amount_minor=1000)
    target = url("plan_update", org, plan.pk)
    logged_in(client, admin)

    def state():
        plan.refresh_from_db()
        return plan.status, plan.amount_minor

    # when / then
    assert client.post(target, {"action": "pause"}).status_code == 302
    assert state() == ("paused", 1000)
    client.post(target, {"action": "resume"})
    assert state() == ("active", 1000)
    client.post(target, {"action": "amount", "amount": "15.50"})
    assert state() == ("active", 1550)
    bad = client.post(target, {"action": "amount", "amount": "1.234"})
    assert bad.status_code == 400
    client.post(target, {"action": "cancel"})
    assert state() == ("cancelled", 1550)
    again = client.post(target, {"action": "resume"})
    assert again.status_code == 400
    assert "was cancelled" in text(again)
    assert client.post(target, {"action": "explode"}).status_code == 400
    assert "**** 1332" in text(client.get(url("plan_detail", org, plan.pk)))


# --- the treasurer -------------------------------------------------------------------------


def test_an_expense_with_evidence_is_booked_and_its_sha256_shown(client, org, media):
    # given
    treasurer = MembershipFactory(organization=org, role=Role.TREASURER)
    make_gift(org, amount_minor=10000)
    evidence = b"%PDF-1.4 invoice 2026-17: 40 blankets"
    logged_in(client, treasurer)

    # when
    response = client.post(
        url("expense_create", org),
        {
            "fund": "general",
            "amount": "60.00",
            "currency": "EUR",
            "description": "40 blankets",
            "category": "supplies",
            "spent_on": timezone.localdate().isoformat(),
            "evidence": SimpleUploadedFile("Invoice Ana García.pdf", evidence),
        },
    )

    # then
    expense = Expense.objects.get(organization=org)
    digest = hashlib.sha256(evidence).hexdigest()
    assert response.status_code == 302
    assert expense.evidence_sha256 == digest
    assert expense.amount_minor == 6000
    detail = client.get(response["Location"])
    assert digest in text(detail)
    download = client.get(url("expense_evidence", org, expense.pk))
    assert b"".join(download.streaming_content) == evidence
    ledger = text(client.get(url("ledger", org)))
    assert "40 blankets" in ledger


def test_an_expense_beyond_the_fund_names_its_balance_and_books_nothing(client, org, admin):
    # given
    make_fund(org, "school", name="School meals")
    make_gift(org, amount_minor=2500, fund=Fund.objects.get(organization=org, slug="school"))
    logged_in(client, admin)

    # when
    response = client.post(
        url("expense_create", org),
        {
            "fund": "school",
            "amount": "30",
            "currency": "EUR",
            "description": "Lunches",
            "category": "food",
            "spent_on": timezone.localdate().isoformat(),
        },
    )

    # then
    assert response.status_code == 200
    (message,) = response.context["form"].errors["amount"]
    assert "School meals" in message
    assert "€25.00" in message
    assert not Expense.objects.exists()


def test_an_expense_is_reversed_once_with_a_reason(client, org, admin):
    # given
    make_gift(org, amount_minor=5000)
    expense = make_expense(org, fund=Fund.objects.get(organization=org, slug="general"))
    target = url("expense_reverse", org, expense.pk)
    logged_in(client, admin)

    # when
    no_reason = client.post(target, {"reason": ""})
    reversed_ = client.post(target, {"reason": "Booked twice"})
    again = client.post(target, {"reason": "Again"})

    # then
    assert no_reason.status_code == 400
    assert reversed_.status_code == 302
    expense.refresh_from_db()
    assert expense.reversal_seq is not None
    assert again.status_code == 400
    assert LedgerEntry.objects.filter(organization=org, type="reversal").count() == 1


def test_money_is_allocated_between_funds_within_what_the_fund_holds(client, org, admin):
    # given
    make_fund(org, "school")
    make_gift(org, amount_minor=5000)
    logged_in(client, admin)
    data = {"from_fund": "general", "to_fund": "school", "currency": "EUR"}

    # when
    moved = client.post(url("allocations", org), {**data, "amount": "20"})
    too_much = client.post(url("allocations", org), {**data, "amount": "31"})
    same = client.post(url("allocations", org), {**data, "to_fund": "general", "amount": "1"})

    # then
    assert moved.status_code == 302
    (allocation,) = Allocation.objects.filter(organization=org)
    assert (allocation.from_fund.slug, allocation.to_fund.slug, allocation.amount_minor) == (
        "general",
        "school",
        2000,
    )
    assert "€30.00" in too_much.context["form"].errors["amount"][0]
    assert "to_fund" in same.context["form"].errors
    assert "school" in text(client.get(url("allocations", org)))


@pytest.mark.slow
def test_the_sepa_page_lists_dates_and_exports_the_pain008(client, org, admin):
    """Slow: the pain.008 is checked against the official XSD, which takes a second to load."""
    # given
    actions.configure_payment_provider(
        org=org, actor=TEST_ACTOR, kind="sepa", settings=CREDITOR, secrets={}
    )
    day = timezone.localdate() + datetime.timedelta(days=5)
    debit = sepa_debit(org, day)
    logged_in(client, admin)

    # when
    page = client.get(url("sepa", org))
    export = client.post(url("sepa", org), {"date": day.isoformat()})
    nothing = client.post(url("sepa", org), {"date": "2020-01-01"})
    after = client.get(url("sepa", org))

    # then
    assert day.isoformat() in text(page)
    assert export.status_code == 200
    assert export["Content-Type"] == "application/xml"
    assert b"pain.008" in export.content
    debit.refresh_from_db()
    assert debit.payment_reference.encode() in export.content
    assert nothing.status_code == 400
    assert "No SEPA debits" in text(nothing)
    batch = SepaBatch.objects.get(organization=org)
    assert batch.message_id in text(after)
    again = client.get(url("sepa_batch", org, batch.pk))
    assert again.content == export.content


def test_a_bank_statement_is_imported_matched_and_its_lines_matched_or_ignored(client, org, admin):
    # given
    transfer = make_pending_gift(org, amount_minor=3000)
    by_hand = make_pending_gift(org, amount_minor=4200)
    today = timezone.localdate()
    data = bankfiles.camt053(
        [
            bankfiles.Row(today, 3000, reference=transfer.payment_reference, bank_reference="1"),
            bankfiles.Row(today, 4200, reference="donation from Ana", bank_reference="2"),
            bankfiles.Row(today, -250, reference="Bank fees", bank_reference="3"),
        ]
    )
    logged_in(client, admin)

    # when
    imported = client.post(
        url("bank", org), {"file": SimpleUploadedFile("march.xml", data)}, follow=True
    )
    twice = client.post(
        url("bank", org), {"file": SimpleUploadedFile("again.xml", data)}, follow=True
    )
    unmatched = client.get(url("unmatched_lines", org))
    lines = {line.amount_minor: line for line in StatementLine.objects.filter(organization=org)}
    wrong = client.post(url("line_match", org, lines[4200].pk), {"ref": transfer.public_ref})
    matched = client.post(url("line_match", org, lines[4200].pk), {"ref": by_hand.public_ref})
    ignored = client.post(url("line_ignore", org, lines[-250].pk), {"note": "fees"})
    garbage = client.post(url("bank", org), {"file": SimpleUploadedFile("x.xml", b"<nope/>")})

    # then
    counts = imported.context["counts"]
    assert (counts["matched"], counts["unmatched"], counts["skipped"]) == (1, 2, 0)
    assert "No gift has this reference" in text(imported)
    assert "imported before" in text(twice)
    assert BankStatement.objects.filter(organization=org).count() == 1
    assert len(unmatched.context["page"]) == 2
    assert "ref" in wrong.context["form"].errors
    assert matched.status_code == ignored.status_code == 302
    transfer.refresh_from_db()
    by_hand.refresh_from_db()
    assert transfer.status == by_hand.status == "confirmed"
    statuses = dict(StatementLine.objects.values_list("amount_minor", "status"))
    assert statuses == {3000: "matched", 4200: "matched", -250: "ignored"}
    assert garbage.status_code == 400
    assert "file" in garbage.context["form"].errors


# --- payment providers and settings --------------------------------------------------------


def test_provider_secrets_are_write_only_and_the_webhook_address_is_shown(client, org, settings):
    # given
    settings.BASE_URL = "https://give.example.org"
    treasurer = MembershipFactory(organization=org, role=Role.TREASURER)
    logged_in(client, treasurer)
    target = url("provider_edit", org, "stripe")

    # when
    missing = client.post(target, {"secret_key": "sk_test_1", "enabled": "on"})
    saved = client.post(
        target, {"secret_key": "sk_test_1", "webhook_secret": "whsec_1", "enabled": "on"}
    )
    kept = client.post(target, {"secret_key": "", "webhook_secret": "whsec_2", "enabled": "on"})
    page = client.get(url("providers", org))
    form = client.get(target)

    # then
    assert missing.status_code == 400
    assert "webhook_secret" in missing.context["form"].errors
    assert saved.status_code == kept.status_code == 302
    provider = PaymentProvider.objects.get(organization=org, kind="stripe")
    assert provider.secrets == {"secret_key": "sk_test_1", "webhook_secret": "whsec_2"}
    for response in (page, form):
        html = text(response)
        assert "sk_test_1" not in html
        assert "whsec_2" not in html
        assert f"https://give.example.org/webhooks/{org.slug}/stripe" in html
    assert "not set" in text(client.get(url("providers", org))).replace("Not set up", "")
    assert "set" in text(page)


def test_a_mollie_signing_secret_is_optional_write_only_and_shown_as_set(client, org, admin):
    # given
    logged_in(client, admin)
    target = url("provider_edit", org, "mollie")

    # when
    without = client.post(target, {"api_key": "test_key_1", "enabled": "on"})
    before = text(client.get(url("providers", org)))
    with_secret = client.post(
        target, {"api_key": "", "webhook_secret": "mollie_whsec_1", "enabled": "on"}
    )
    after = text(client.get(url("providers", org)))
    form = text(client.get(target))

    # then
    assert without.status_code == with_secret.status_code == 302
    provider = PaymentProvider.objects.get(organization=org, kind="mollie")
    assert provider.secrets == {"api_key": "test_key_1", "webhook_secret": "mollie_whsec_1"}
    # Stripe (not set up) and Mollie both list a signing secret; only Mollie's gets set.
    unset = "Webhook signing secret</dt><dd>not set</dd>"
    assert (before.count(unset), after.count(unset)) == (2, 1)
    assert "Webhook signing secret</dt><dd>set</dd>" in after
    assert 'name="webhook_secret"' in form
    assert "mollie_whsec_1" not in after + form


def test_the_sepa_creditor_details_are_checked(client, org, admin):
    # given
    logged_in(client, admin)
    target = url("provider_edit", org, "sepa")

    # when
    bad = client.post(target, {**CREDITOR, "creditor_id": "ES00ZZZ0", "enabled": "on"})
    good = client.post(target, {**CREDITOR, "creditor_bic": "", "enabled": "on"})

    # then
    assert "creditor_id" in bad.context["form"].errors
    assert good.status_code == 302
    provider = PaymentProvider.objects.get(organization=org, kind="sepa")
    assert provider.settings["creditor_bic"].startswith("CAIXESBB")


def test_fundraising_settings_are_saved_with_texts_per_language(client, org, admin):
    # given
    logged_in(client, admin)

    # when
    response = client.post(
        url("settings", org),
        {
            "legal_name": "Asociación Vecinal",
            "tax_id": "G12345678",
            "fiscal_year_start_month": "7",
            "preset_amounts": "5, 10",
            "bank_iban": "ES91 2100 0418 4502 0005 1332",
            "thanks_es": "¡Gracias!",
        },
    )
    bad = client.post(
        url("settings", org), {"fiscal_year_start_month": "1", "bank_iban": "ES00 1234"}
    )

    # then
    assert response.status_code == 302
    current = FundraisingSettings.objects.get(organization=org)
    assert (current.legal_name, current.fiscal_year_start_month) == ("Asociación Vecinal", 7)
    assert current.preset_amounts == [500, 1000]
    assert current.bank_iban == "ES9121000418450200051332"
    assert current.texts == {"es": {"intro": "", "thanks": "¡Gracias!", "receipt_footer": ""}}
    assert bad.status_code == 400
    assert "bank_iban" in bad.context["form"].errors


def test_annual_statements_are_sent_for_a_finished_year_only(client, org, admin):
    # given
    logged_in(client, admin)
    this_year = timezone.localdate().year

    # when
    past = client.post(url("annual_statements", org), {"fiscal_year": this_year - 1})
    current = client.post(url("annual_statements", org), {"fiscal_year": this_year})

    # then
    assert past.status_code == 302
    assert current.status_code == 400
    assert "not over yet" in text(current)


# --- the ledger ----------------------------------------------------------------------------


def test_the_ledger_page_lists_entries_checkpoints_and_verifies(client, org):
    # given
    treasurer = MembershipFactory(organization=org, role=Role.TREASURER)
    gift = make_gift(org, amount_minor=1234)
    logged_in(client, treasurer)

    # when
    checkpoint = client.post(url("ledger_checkpoint", org))
    page = client.get(url("ledger", org))
    verified = client.post(url("ledger_verify", org))

    # then
    assert checkpoint.status_code == 302
    assert Checkpoint.objects.filter(organization=org, tree_size=1).exists()
    html = text(page)
    assert gift.public_ref in html
    assert "€12.34" in html
    assert "Latest checkpoint: 1 entries" in html
    assert f'href="/{org.slug}/transparency/"' in html
    assert "agree" in text(verified)


def test_a_viewer_sees_the_ledger_but_no_checkpoint_button(client, org):
    # given
    viewer = MembershipFactory(organization=org, role=Role.VIEWER)

    # when
    response = logged_in(client, viewer).get(url("ledger", org))

    # then
    assert response.status_code == 200
    assert url("ledger_checkpoint", org) not in text(response)


# --- the contact page ----------------------------------------------------------------------


def test_the_contact_page_shows_the_gifts_panel(client, org, admin):
    # given
    ana = make_contact(org)
    gift = make_gift(org, contact=ana, amount_minor=4321)
    make_gift(org, amount_minor=1000)  # someone else's
    make_plan(org, contact=ana, amount_minor=900)

    # when
    response = logged_in(client, admin).get(
        reverse("people:contact_detail", args=[org.slug, ana.pk])
    )

    # then
    html = text(response)
    assert 'id="gifts-heading"' in html
    assert "€43.21" in html
    assert url("donation_detail", org, gift.pk) in html
    assert "€9.00" in html
    theirs = client.get(url("donation_list", org), {"contact": ana.pk})
    assert [d.pk for d in theirs.context["page"]] == [gift.pk]


def test_absurd_ids_and_dates_are_answered_not_crashed(client, org, admin):
    # given
    make_gift(org, amount_minor=5000)
    logged_in(client, admin)
    huge = 2**64
    day_one = {
        "fund": "general",
        "amount": "1",
        "currency": "EUR",
        "description": "Soap",
        "category": "supplies",
        "spent_on": "0001-01-01",
    }

    # when
    by_id = [
        client.get(url(name, org, huge)).status_code
        for name in (
            "donation_detail",
            "plan_detail",
            "expense_detail",
            "sepa_batch",
            "statement_detail",
            "line_match",
        )
    ]
    expense = client.post(url("expense_create", org), day_one)
    listed = client.get(url("donation_list", org), {"date_from": "0001-01-01", "page": "x"})

    # then
    assert by_id == [404] * 6
    assert expense.status_code == 200
    assert "spent_on" in expense.context["form"].errors
    assert listed.status_code == 200
    assert "date_from" in listed.context["form"].errors


def _grow_expense(org: Organization) -> None:
    make_expense(org, fund=make_gift(org).fund, amount_minor=100)


def _grow_allocation(org: Organization) -> None:
    school = Fund.objects.filter(organization=org, slug="school").first() or make_fund(
        org, "school"
    )
    gift = make_gift(org, amount_minor=500, contact=make_contact(org))
    actions.allocate(
        org=org,
        actor=TEST_ACTOR,
        from_fund=gift.fund,
        to_fund=school,
        amount_minor=100,
        currency="EUR",
    )


def _grow_line(org: Organization) -> None:
    make_pending_gift(org)  # a gift, so the lines have something not to match
    _import(
        org,
        bankfiles.camt053(
            [
                bankfiles.Row(
                    timezone.localdate(),
                    100 + StatementLine.objects.count(),
                    reference="?",
                    bank_reference=str(StatementLine.objects.count()),
                )
            ]
        ),
    )


GROW = {
    "overview": lambda org: make_gift(org, contact=make_contact(org), fund=make_fund(org)),
    "fund_list": lambda org: make_gift(org, fund=make_fund(org)),
    "campaign_list": lambda org: make_gift(org, campaign=make_campaign(org)),
    "plan_list": lambda org: make_plan(org),
    "expense_list": _grow_expense,
    "allocations": _grow_allocation,
    "unmatched_lines": _grow_line,
    "bank": _grow_line,
    "ledger": lambda org: make_gift(org),
}


@pytest.mark.parametrize("name", list(GROW))
def test_list_pages_do_not_grow_queries_with_rows(client, org, admin, name):
    # given
    grow = GROW[name]
    grow(org)
    logged_in(client, admin)
    client.get(url(name, org))  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url(name, org))
    for _ in range(3):
        grow(org)

    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(url(name, org))

    # then
    assert response.status_code == 200
    assert len(many) == len(few)
