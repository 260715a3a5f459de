"""An organization's public giving pages: donate, campaign and peer pages, thanks page.

No account and no JavaScript needed: plain HTML forms posted back to the same page, then
a 303 to the thanks page (or the payment provider's hosted checkout). Pages speak the
visitor's language (the switcher's cookie, then the browser's), else the organization's.
Unknown organizations, unpublished campaigns and hidden pages answer 404 alike.
"""

import datetime
import logging
import secrets
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from solidaria.consent.actions import record_consent
from solidaria.consent.defaults import DEFAULT_PURPOSES, purpose_label
from solidaria.consent.queries import purposes_for
from solidaria.core.audit import Actor
from solidaria.core.errors import Conflict, DomainError, Invalid, NotFound
from solidaria.core.models import Organization
from solidaria.fundraising import access, actions, queries
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Frequency,
    Fund,
    FundraisingSettings,
    Method,
    PaymentProvider,
    PeerPage,
)
from solidaria.fundraising.public_forms import (
    BUILT_IN_PRESETS,
    Choice,
    DonationForm,
    GivingOffer,
    StartPageForm,
    from_minor,
    minor_digits,
)
from solidaria.people.actions import create_contact
from solidaria.people.models import Contact, ContactEmail

log = logging.getLogger(__name__)

# The donor acts on their own behalf, without an account.
DONOR = Actor.system("donor")
CONSENT_SOURCE = "donation form"
# Service messages go out under a contract, not consent: not a box to tick on a gift form.
NOT_ON_FORMS = frozenset({"service"})
# SEPA Core: the creditor's bank needs the file some banking days ahead; five calendar days
# and the next TARGET2 business day leave room for that, for a first debit too.
SEPA_LEAD_DAYS = 5
CARD_METHODS = (Method.STRIPE, Method.MOLLIE)
# Where each provider's hosted checkout lives, by the origin of its API. A self-hosted gateway
# (or a test's stand-in) serves its checkout pages where it serves its API.
CHECKOUT_ORIGINS = {
    "https://api.stripe.com": "https://checkout.stripe.com",
    "https://api.mollie.com": "https://www.mollie.com",
}
DEFAULT_API = {Method.STRIPE: "https://api.stripe.com", Method.MOLLIE: "https://api.mollie.com"}
PAYMENT_FAILED = "The payment provider could not be reached."


# --- language, organization, money on screen -----------------------------------------------


def visitor_language(request: HttpRequest, org: Organization) -> str:
    """The switcher's choice, then the browser's languages, then the organization's."""
    wanted = [request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")]
    wanted += [
        code
        for code, _q in parse_accept_lang_header(request.headers.get("Accept-Language", ""))
        if code != "*"
    ]
    wanted += [org.language, settings.LANGUAGE_CODE]
    for code in wanted:
        if not code:
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _public_org(request: HttpRequest, org_slug: str) -> tuple[Organization, str]:
    """The organization of the URL, with the page's language activated for this request."""
    org = Organization.objects.filter(slug=org_slug).first()
    if org is None:
        raise Http404
    lang = visitor_language(request, org)
    # As LocaleMiddleware does for its own choice: the next request activates its own.
    translation.activate(lang)
    request.LANGUAGE_CODE = lang  # type: ignore[attr-defined]
    return org, lang


def org_today(org: Organization) -> datetime.date:
    """Today where the organization is (campaign days left, mandate and collection dates)."""
    try:
        zone = zoneinfo.ZoneInfo(org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return timezone.localdate(timezone=zone)


def money(amount_minor: int, currency: str, lang: str) -> str:
    return format_currency(from_minor(amount_minor, currency), currency, locale=lang)


def whole_money(amount_minor: int, currency: str, lang: str) -> str:
    """25 €, not 25,00 €, when there are no cents to show."""
    amount = from_minor(amount_minor, currency)
    if amount != amount.to_integral_value():
        return format_currency(amount, currency, locale=lang)
    pattern = Locale.parse(lang).currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(amount, currency, format=pattern, locale=lang, currency_digits=False)


def _text(texts: dict[str, Any], lang: str, org: Organization, key: str) -> str:
    for code in (lang, org.language):
        value = (texts.get(code) or {}).get(key)
        if value:
            return str(value)
    return ""


def _settings(org: Organization) -> FundraisingSettings | None:
    return FundraisingSettings.objects.filter(organization=org).first()


# --- what a form offers --------------------------------------------------------------------


@dataclass
class Setup:
    """Everything one giving page needs besides its own content."""

    org: Organization
    lang: str
    offer: GivingOffer
    settings: FundraisingSettings | None
    providers: dict[str, PaymentProvider]
    campaign: Campaign | None = None
    peer_page: PeerPage | None = None

    @property
    def sepa(self) -> dict[str, str] | None:
        provider = self.providers.get(Method.SEPA)
        return dict(provider.settings) if provider else None

    def checkout_origins(self) -> list[str]:
        """The hosted checkouts this page's form may be redirected to.

        Browsers hold a form's whole redirect chain to the page's CSP `form-action`, so the
        303 to the provider needs its origin there.
        """
        origins = []
        for kind in CARD_METHODS:
            provider = self.providers.get(kind)
            if provider is None:
                continue
            parts = urlsplit(str(provider.settings.get("api_base_url") or DEFAULT_API[kind]))
            origin = f"{parts.scheme}://{parts.netloc}"
            origins.append(CHECKOUT_ORIGINS.get(origin, origin))
        return origins


def _setup(
    org: Organization,
    lang: str,
    *,
    campaign: Campaign | None = None,
    peer_page: PeerPage | None = None,
) -> Setup:
    fundraising = _settings(org)
    currency = campaign.currency if campaign else org.currency
    providers = {p.kind: p for p in PaymentProvider.objects.filter(organization=org, enabled=True)}
    labels = {
        Method.STRIPE: _("Card"),
        Method.MOLLIE: _("Card or another online method"),
        Method.SEPA: _("SEPA direct debit"),
        Method.BANK_TRANSFER: _("Bank transfer"),
    }
    methods = [
        Choice(method, labels[method])
        for method in (Method.STRIPE, Method.MOLLIE, Method.SEPA)
        if method in providers
    ]
    if fundraising is not None and fundraising.bank_iban:
        methods.append(Choice(Method.BANK_TRANSFER, labels[Method.BANK_TRANSFER]))
    preset_minor = [
        int(value)
        for value in (
            (campaign.preset_amounts if campaign else None)
            or (fundraising.preset_amounts if fundraising else None)
            or [major * 10 ** minor_digits(currency) for major in BUILT_IN_PRESETS]
        )
        if isinstance(value, int) and value > 0
    ]
    presets = [
        Choice(str(from_minor(value, currency)), whole_money(value, currency, lang))
        for value in preset_minor
    ]
    funds: list[Choice] = []
    if campaign is None:
        for fund in Fund.objects.filter(organization=org, archived_at__isnull=True).exclude(
            slug=actions.GENERAL_FUND
        ):
            name = _text(fund.texts, lang, org, "name") or fund.name
            funds.append(Choice(fund.slug, name))
    purposes = [
        Choice(
            purpose.code,
            purpose_label(purpose.code, purpose.name),
            str(DEFAULT_PURPOSES[purpose.code][1])
            if purpose.code in DEFAULT_PURPOSES
            else purpose.description,
        )
        for purpose in purposes_for(org=org).exclude(code__in=NOT_ON_FORMS)
    ]
    offer = GivingOffer(
        locale=lang,
        currency=currency,
        presets=presets,
        methods=methods,
        funds=funds,
        purposes=purposes,
        default_amount=presets[1].value if len(presets) > 1 else "",
    )
    return Setup(
        org=org,
        lang=lang,
        offer=offer,
        settings=fundraising,
        providers=providers,
        campaign=campaign,
        peer_page=peer_page,
    )


# --- the pages -----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def donate(request: HttpRequest, org_slug: str) -> HttpResponse:
    org, lang = _public_org(request, org_slug)
    setup = _setup(org, lang)
    intro = _text(setup.settings.texts if setup.settings else {}, lang, org, "intro")
    return _giving_page(request, setup, "fundraising/public/donate.html", {"intro": intro})


def _published_campaign(org: Organization, slug: str) -> Campaign:
    try:
        campaign = access.campaign_for(org=org, slug=slug)
    except NotFound:
        raise Http404 from None
    if not campaign.published:
        raise Http404
    return campaign


def _visible_page(org: Organization, campaign: Campaign, slug: str) -> PeerPage:
    try:
        page = access.peer_page_for(org=org, campaign=campaign, slug=slug)
    except NotFound:
        raise Http404 from None
    if page.hidden_at is not None:
        raise Http404
    return page


def _campaign_texts(campaign: Campaign, lang: str, org: Organization) -> dict[str, str]:
    return {
        "title": _text(campaign.texts, lang, org, "title") or campaign.title,
        "summary": _text(campaign.texts, lang, org, "summary"),
        "body": _text(campaign.texts, lang, org, "body"),
    }


@dataclass
class Progress:
    id: str
    raised: int
    goal: int
    donors: int
    currency: str
    lang: str
    days_left: int | None = None

    @property
    def raised_capped(self) -> int:
        return min(self.raised, self.goal)

    @property
    def percent(self) -> int:
        return min(100, self.raised * 100 // self.goal) if self.goal else 0

    @property
    def raised_label(self) -> str:
        return money(self.raised, self.currency, self.lang)

    @property
    def goal_label(self) -> str:
        return whole_money(self.goal, self.currency, self.lang)

    def as_json(self) -> dict[str, Any]:
        return {
            "raised": self.raised,
            "goal": self.goal,
            "donors": self.donors,
            "currency": self.currency,
            "percent": self.percent,
            "days_left": self.days_left,
        }


def _days_left(campaign: Campaign, org: Organization) -> int | None:
    if campaign.ends_on is None:
        return None
    return (campaign.ends_on - org_today(org)).days


def _campaign_progress(campaign: Campaign, org: Organization, lang: str) -> Progress:
    raised, donors, goal = queries.campaign_progress(campaign=campaign)
    return Progress(
        id="campaign-progress",
        raised=raised,
        goal=goal,
        donors=donors,
        currency=campaign.currency,
        lang=lang,
        days_left=_days_left(campaign, org),
    )


def _page_progress(page: PeerPage, campaign: Campaign, org: Organization, lang: str) -> Progress:
    raised, donors, goal = queries.peer_page_progress(peer_page=page)
    return Progress(
        id="page-progress",
        raised=raised,
        goal=goal,
        donors=donors,
        currency=campaign.currency,
        lang=lang,
        days_left=_days_left(campaign, org),
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def campaign_page(request: HttpRequest, org_slug: str, campaign_slug: str) -> HttpResponse:
    org, lang = _public_org(request, org_slug)
    campaign = _published_campaign(org, campaign_slug)
    setup = _setup(org, lang, campaign=campaign)
    context = {
        "campaign": campaign,
        "texts": _campaign_texts(campaign, lang, org),
        "progress": _campaign_progress(campaign, org, lang),
        "peer_pages": PeerPage.objects.filter(campaign=campaign, hidden_at__isnull=True).order_by(
            "-created_at"
        )[:100],
    }
    return _giving_page(request, setup, "fundraising/public/campaign.html", context)


@never_cache
@require_safe
def campaign_progress(request: HttpRequest, org_slug: str, campaign_slug: str) -> JsonResponse:
    org, lang = _public_org(request, org_slug)
    campaign = _published_campaign(org, campaign_slug)
    return JsonResponse(_campaign_progress(campaign, org, lang).as_json())


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def peer_page(
    request: HttpRequest, org_slug: str, campaign_slug: str, page_slug: str
) -> HttpResponse:
    org, lang = _public_org(request, org_slug)
    campaign = _published_campaign(org, campaign_slug)
    page = _visible_page(org, campaign, page_slug)
    setup = _setup(org, lang, campaign=campaign, peer_page=page)
    path = reverse("fundraising_public:peer_page", args=[org.slug, campaign.slug, page.slug])
    context = {
        "campaign": campaign,
        "page": page,
        "texts": _campaign_texts(campaign, lang, org),
        "progress": _page_progress(page, campaign, org, lang),
        "supporter_name": page.supporter.given_name if page.supporter.erased_at is None else "",
        "started": request.GET.get("started") == "1",
        "share_url": request.build_absolute_uri(path),
    }
    return _giving_page(request, setup, "fundraising/public/peer_page.html", context)


@never_cache
@require_safe
def peer_page_progress(
    request: HttpRequest, org_slug: str, campaign_slug: str, page_slug: str
) -> JsonResponse:
    org, lang = _public_org(request, org_slug)
    campaign = _published_campaign(org, campaign_slug)
    page = _visible_page(org, campaign, page_slug)
    return JsonResponse(_page_progress(page, campaign, org, lang).as_json())


def _giving_page(
    request: HttpRequest, setup: Setup, template: str, context: dict[str, Any]
) -> HttpResponse:
    """GET: the page with an empty form. POST: a gift, or the page again with the errors."""
    campaign = setup.campaign
    initial = {"campaign": campaign.slug if campaign else ""}
    if request.method == "POST":
        form = DonationForm(request.POST, offer=setup.offer, initial=initial)
        if form.is_valid():
            response = _give(request, setup, form)
            if response is not None:
                return response
    else:
        form = DonationForm(offer=setup.offer, initial=initial)
    context = {
        **context,
        "org": setup.org,
        "form": form,
        "offer": setup.offer,
        "sepa": setup.sepa,
        "fixed_fund": _fund_name(campaign.fund, setup) if campaign else "",
        "action": request.path,
        "cancelled": request.GET.get("cancelled") == "1",
    }
    response = render(request, template, context)
    origins = setup.checkout_origins()
    if origins:
        response._csp_update = {"form-action": origins}  # type: ignore[attr-defined]
    return response


def _fund_name(fund: Fund, setup: Setup) -> str:
    return _text(fund.texts, setup.lang, setup.org, "name") or fund.name


# --- a gift --------------------------------------------------------------------------------


def _find_or_create_contact(org: Organization, data: dict[str, Any], lang: str) -> Contact:
    """The organization's person with this email address, or a new one.

    An existing record is not changed: anyone can type anyone's address into a public form.
    """
    row = (
        ContactEmail.objects.filter(
            organization=org, email=data["email"], contact__erased_at__isnull=True
        )
        .select_related("contact")
        .order_by("position", "contact_id")
        .first()
    )
    if row is not None:
        return row.contact
    return create_contact(
        org=org,
        actor=DONOR,
        given_name=data["given_name"],
        family_name=data["family_name"],
        emails=[data["email"]],
        language=lang,
    )


def _designated_fund(setup: Setup, data: dict[str, Any]) -> Fund | None:
    """The fund the donor chose on the general page, or None for the default one."""
    if setup.campaign is not None or not data.get("fund"):
        return None  # a campaign's gifts go to its fund; None lets start_donation say so
    fund = Fund.objects.filter(
        organization=setup.org, slug=data["fund"], archived_at__isnull=True
    ).first()
    if fund is None:
        raise Invalid(_("Choose one of the funds listed."), field="fund")
    return fund


def _posted_campaign(setup: Setup, data: dict[str, Any]) -> Campaign | None:
    """The page's campaign; on the general page, a published campaign named in the post."""
    if setup.campaign is not None:
        return setup.campaign
    slug = (data.get("campaign") or "").strip()
    if not slug:
        return None
    campaign = Campaign.objects.filter(organization=setup.org, slug=slug, published=True).first()
    if campaign is None or campaign.currency != setup.offer.currency:
        raise Invalid(_("This campaign does not take gifts here."), field="campaign")
    return campaign


def first_collection_date(today: datetime.date) -> datetime.date:
    """The first SEPA collection date: at least SEPA_LEAD_DAYS ahead, on a TARGET2 business day."""
    day = today + datetime.timedelta(days=SEPA_LEAD_DAYS)
    while not is_target_business_day(day):
        day += datetime.timedelta(days=1)
    return day


def is_target_business_day(day: datetime.date) -> bool:
    """Not a weekend, New Year, Good Friday, Easter Monday, 1 May, 25 or 26 December."""
    if day.weekday() >= 5:
        return False
    if (day.month, day.day) in {(1, 1), (5, 1), (12, 25), (12, 26)}:
        return False
    easter = _easter(day.year)
    return day not in {easter - datetime.timedelta(days=2), easter + datetime.timedelta(days=1)}


def _easter(year: int) -> datetime.date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


def _give(request: HttpRequest, setup: Setup, form: DonationForm) -> HttpResponse | None:
    """Record the gift (one transaction), then send the donor on. None: errors are on `form`."""
    data = form.cleaned_data
    org, lang = setup.org, setup.lang
    method = data["method"]
    try:
        with transaction.atomic():
            campaign = _posted_campaign(setup, data)
            fund = _designated_fund(setup, data)
            contact = _find_or_create_contact(org, data, lang)
            for code in data["consents"]:
                record_consent(
                    org=org,
                    actor=DONOR,
                    contact=contact,
                    purpose=code,
                    channel="email",
                    granted=True,
                    source=CONSENT_SOURCE,
                )
            donation = _start(setup, data, contact=contact, campaign=campaign, fund=fund)
    except (Invalid, Conflict) as error:
        _apply(form, error)
        return None
    if method in CARD_METHODS:
        return _hosted_checkout(request, setup, form, donation)
    if method == Method.BANK_TRANSFER:
        _send_transfer_details(donation)
    return _see_other(_thanks_path(org, donation))


def _start(
    setup: Setup,
    data: dict[str, Any],
    *,
    contact: Contact,
    campaign: Campaign | None,
    fund: Fund | None,
) -> Donation:
    org, lang = setup.org, setup.lang
    method, frequency = data["method"], data["frequency"]
    today = org_today(org)
    collection_date = first_collection_date(today) if method == Method.SEPA else None
    plan = None
    if frequency != Frequency.ONCE or method == Method.SEPA:
        # A recurring gift: the first gift is made now (or collected on `collection_date`)
        # and the plan takes over one period later. A one-off SEPA gift: the plan only holds
        # the mandate, and the schedule never collects it.
        plan = actions.create_plan(
            org=org,
            actor=DONOR,
            contact=contact,
            amount_minor=data["amount_minor"],
            currency=setup.offer.currency,
            fund=fund,
            frequency=frequency,
            method=method,
            iban=data.get("iban", "") if method == Method.SEPA else "",
            account_holder=data.get("account_holder", "") if method == Method.SEPA else "",
            mandate_signed_at=today if method == Method.SEPA else None,
            next_due=(
                None
                if frequency == Frequency.ONCE
                else actions.add_period(collection_date or today, frequency)
            ),
            campaign=campaign,
            language=lang,
        )
    sequence = ""
    if method == Method.SEPA:
        # The first debit of a new mandate: FRST, or OOFF when it is the only one.
        sequence = "OOFF" if frequency == Frequency.ONCE else "FRST"
    return actions.start_donation(
        org=org,
        actor=DONOR,
        contact=contact,
        amount_minor=data["amount_minor"],
        currency=setup.offer.currency,
        fund=fund,
        method=method,
        frequency=frequency,
        campaign=campaign,
        peer_page=setup.peer_page,
        language=lang,
        plan=plan,
        collection_date=collection_date,
        sepa_sequence=sequence,
    )


def _apply(form: DonationForm, error: DomainError) -> None:
    """A domain error next to the field it names (or above the form)."""
    aliases = {"contact_id": None, "emails": "email", "mandate_signed_at": "mandate"}
    errors = getattr(error, "errors", None) or {error.field or "": [error.message]}
    for field, messages in errors.items():
        name = aliases.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def _see_other(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _thanks_path(org: Organization, donation: Donation) -> str:
    return reverse("fundraising_public:thanks", args=[org.slug, donation.tracking_token])


def _send_transfer_details(donation: Donation) -> None:
    """Email the transfer details, once the gift is committed, when the mail module exists."""
    try:
        from solidaria.fundraising import mail
    except ImportError:
        return
    task = getattr(mail, "send_transfer_details", None)
    if task is None:
        return
    enqueue = getattr(task, "enqueue", None)
    donation_id = donation.pk
    transaction.on_commit(lambda: enqueue(donation_id) if enqueue else task(donation_id))


def _hosted_checkout(
    request: HttpRequest, setup: Setup, form: DonationForm, donation: Donation
) -> HttpResponse | None:
    """Hand the donor to the provider's hosted checkout; the signed webhook confirms the gift."""
    from solidaria.fundraising.webhooks import begin_hosted_checkout

    back = request.path + "?cancelled=1"
    try:
        url = begin_hosted_checkout(
            donation=donation,
            actor=DONOR,
            success_url=request.build_absolute_uri(_thanks_path(setup.org, donation)),
            cancel_url=request.build_absolute_uri(back),
        )
    except Exception:
        # A provider that is down or refuses must not cost the donor a server error page.
        log.exception("hosted checkout failed for donation %s", donation.pk)
        actions.fail_donation(donation=donation, actor=DONOR, reason=PAYMENT_FAILED)
        form.add_error(
            "method",
            _(
                "We could not reach the payment service. Please try again, or choose another way to pay."
            ),
        )
        return None
    return _see_other(url)


@never_cache
@require_safe
def thanks(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    org, lang = _public_org(request, org_slug)
    donation = (
        Donation.objects.select_related("plan", "campaign", "peer_page")
        .filter(organization=org, tracking_token=token)
        .first()
    )
    if donation is None:
        raise Http404
    fundraising = _settings(org)
    sepa = PaymentProvider.objects.filter(organization=org, kind=Method.SEPA).first()
    tracking_path = reverse("fundraising_donor:tracking", kwargs={"token": donation.tracking_token})
    plan = donation.plan
    context = {
        "org": org,
        "donation": donation,
        "amount_label": money(donation.amount_minor, donation.currency, lang),
        "refresh": donation.status == Donation.Status.PENDING and donation.method in CARD_METHODS,
        "thanks_text": _text(fundraising.texts if fundraising else {}, lang, org, "thanks"),
        "holder": (fundraising.legal_name if fundraising else "") or org.name,
        "iban": _spaced_iban(fundraising.bank_iban) if fundraising else "",
        "bic": fundraising.bank_bic if fundraising else "",
        "mandate_reference": plan.mandate_reference if plan else "",
        "creditor_name": (sepa.settings.get("creditor_name") if sepa else "") or org.name,
        "creditor_id": sepa.settings.get("creditor_id", "") if sepa else "",
        "collection_date": format_date(donation.collection_date, format="long", locale=lang)
        if donation.collection_date
        else "",
        "frequency_label": plan.get_frequency_display() if plan else "",
        "tracking_url": tracking_path,
        "tracking_full_url": request.build_absolute_uri(tracking_path),
        "again_url": _again_url(org, donation),
    }
    return render(request, "fundraising/public/thanks.html", context)


def _spaced_iban(value: str) -> str:
    try:
        return IBAN(value).formatted
    except SchwiftyException:
        return value


def _again_url(org: Organization, donation: Donation) -> str:
    page, campaign = donation.peer_page, donation.campaign
    if page is not None and page.hidden_at is None and campaign is not None:
        return reverse("fundraising_public:peer_page", args=[org.slug, campaign.slug, page.slug])
    if campaign is not None and campaign.published:
        return reverse("fundraising_public:campaign", args=[org.slug, campaign.slug])
    return reverse("fundraising_public:donate", args=[org.slug])


# --- a supporter's own page ----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def start_page(request: HttpRequest, org_slug: str, campaign_slug: str) -> HttpResponse:
    org, lang = _public_org(request, org_slug)
    campaign = _published_campaign(org, campaign_slug)
    form = StartPageForm(
        request.POST if request.method == "POST" else None, locale=lang, currency=campaign.currency
    )
    if form.is_bound and form.is_valid():
        try:
            page = _create_page(org, campaign, form.cleaned_data, lang)
        except (Invalid, Conflict) as error:
            _apply(form, error)  # type: ignore[arg-type]
        else:
            path = reverse(
                "fundraising_public:peer_page", args=[org.slug, campaign.slug, page.slug]
            )
            return _see_other(path + "?started=1")
    context = {"org": org, "campaign": campaign, "texts": _campaign_texts(campaign, lang, org)}
    context["form"] = form
    return render(request, "fundraising/public/start_page.html", context)


def _page_slug(campaign: Campaign, title: str) -> str:
    """A free slug from the title ("Ana runs 10 km" → "ana-runs-10-km", then "-2", "-3"…)."""
    base = slugify(title)[:40].strip("-") or "page-" + secrets.token_hex(3)
    taken = set(
        PeerPage.objects.filter(campaign=campaign, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _create_page(
    org: Organization, campaign: Campaign, data: dict[str, Any], lang: str
) -> PeerPage:
    with transaction.atomic():
        supporter = _find_or_create_contact(org, data, lang)
        return actions.create_peer_page(
            org=org,
            actor=DONOR,
            campaign=campaign,
            supporter=supporter,
            slug=_page_slug(campaign, data["title"]),
            title=data["title"],
            story=data["story"],
            goal_minor=data["goal"],
            language=lang,
        )
