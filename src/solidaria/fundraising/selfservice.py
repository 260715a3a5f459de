"""The donor self-service portal (`/me/`): magic links, the donor's session and their requests.

No account: a donor types their email; when a contact of that organization has it, we email
a signed link that expires in an hour and works once. Opening it (and pressing the button:
mail scanners follow GET links, so only a POST spends the link) starts a portal session
holding the contact and organization ids, which ends after 30 idle minutes. Whether the
email is known never shows in the answer, so the form cannot be used to find donors.
"""

import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_tasks import task

from solidaria.consent.actions import record_consent
from solidaria.consent.models import ConsentEvent
from solidaria.core import audit, periodic
from solidaria.core.audit import Actor
from solidaria.core.errors import Invalid, NotFound
from solidaria.core.models import Organization
from solidaria.fundraising.actions import update_plan
from solidaria.fundraising.models import (
    Donation,
    DonorLoginLink,
    Frequency,
    Fund,
    FundraisingSettings,
    RecurringPlan,
)
from solidaria.people.models import Contact
from solidaria.people.normalize import normalize_email

LINK_LIFETIME = datetime.timedelta(hours=1)
IDLE_TIMEOUT = datetime.timedelta(minutes=30)
# At most this many links per email address and organization in RATE_WINDOW: enough for a
# donor who lost the first email, too few to flood someone's inbox.
RATE_LIMIT = 3
RATE_WINDOW = datetime.timedelta(minutes=15)
SESSION_KEY = "solidaria_donor_portal"
_SALT = "solidaria.fundraising.selfservice.link"
DONOR = Actor.system("donor")
CONSENT_SOURCE = "self-service"


# --- magic links -------------------------------------------------------------------------


def email_digest(*, org: Organization, email: str) -> str:
    """A keyed hash of a normalized address: rate limits without storing the address."""
    return salted_hmac(_SALT, f"{org.pk}:{email}", algorithm="sha256").hexdigest()


def contact_for_email(*, org: Organization, email: str) -> Contact | None:
    """The organization's (oldest, not erased) contact holding this normalized address."""
    return (
        Contact.objects.filter(organization=org, erased_at__isnull=True, emails__email=email)
        .order_by("pk")
        .first()
    )


def request_login_link(*, org: Organization, email: str, language: str) -> DonorLoginLink | None:
    """Email a portal link to `email` if a contact of `org` has it; None otherwise.

    Callers must answer the same whatever this returns. Invalid for an address that is not
    an email at all. Rate-limited per address: past RATE_LIMIT links in RATE_WINDOW, nothing
    more is sent (and None is returned). The email leaves through a background task after
    commit, so the response time does not tell whether the address is known either.
    """
    try:
        address = normalize_email(email)
    except ValueError:
        raise Invalid(_("Enter a valid email address."), field="email") from None
    contact = contact_for_email(org=org, email=address)
    if contact is None:
        return None
    digest = email_digest(org=org, email=address)
    now = timezone.now()
    with transaction.atomic():
        recent = DonorLoginLink.objects.filter(
            organization=org, email_digest=digest, created_at__gte=now - RATE_WINDOW
        ).count()
        if recent >= RATE_LIMIT:
            return None
        link = DonorLoginLink.objects.create(
            organization=org,
            contact=contact,
            nonce=secrets.token_urlsafe(32),
            email_digest=digest,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
        audit.record(org=org, actor=DONOR, code="fundraising.portal.link_sent", subject=contact)
        url = settings.BASE_URL + reverse("fundraising_donor:login", args=[_sign(link)])
        lang = contact.language or language or org.language
        transaction.on_commit(
            lambda: send_magic_link.enqueue(org_id=org.pk, email=address, link=url, language=lang)
        )
    return link


def _sign(link: DonorLoginLink) -> str:
    return signing.dumps(
        {"o": link.organization_id, "c": link.contact_id, "n": link.nonce}, salt=_SALT
    )


@task()
def send_magic_link(*, org_id: int, email: str, link: str, language: str) -> None:
    """The portal link email, plain text and HTML, in the donor's language."""
    org = Organization.objects.get(pk=org_id)
    context = {"org": org, "link": link, "minutes": int(LINK_LIFETIME.total_seconds() // 60)}
    with translation.override(language or org.language):
        subject = _("Your link to manage your gifts to %(org)s") % {"org": org.name}
        text = render_to_string("fundraising/donor/email/magic_link.txt", context)
        html = render_to_string("fundraising/donor/email/magic_link.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[email])
    message.attach_alternative(html, "text/html")
    message.send()


def check_login_link(*, token: str) -> DonorLoginLink:
    """The unspent, unexpired link a token names; Invalid otherwise (never says which part)."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        raise Invalid(_("This link has expired. Ask for a new one.")) from None
    except signing.BadSignature:
        raise Invalid(_("This link is not valid. Ask for a new one.")) from None
    if not isinstance(data, dict):
        raise Invalid(_("This link is not valid. Ask for a new one."))
    link = (
        DonorLoginLink.objects.select_related("organization", "contact")
        .filter(nonce=str(data.get("n", "")))
        .first()
    )
    if (
        link is None
        or link.organization_id != data.get("o")
        or link.contact_id != data.get("c")
        or link.contact.erased_at is not None
    ):
        raise Invalid(_("This link is not valid. Ask for a new one."))
    if link.used_at is not None:
        raise Invalid(_("This link was already used. Ask for a new one."))
    if link.expires_at <= timezone.now():
        raise Invalid(_("This link has expired. Ask for a new one."))
    return link


def redeem_login_link(*, token: str) -> DonorLoginLink:
    """Spend a link (once): marks it used and audits the sign-in. Invalid like check_login_link."""
    link = check_login_link(token=token)
    with transaction.atomic():
        # Two clicks racing: only the one that flips used_at from NULL wins.
        spent = DonorLoginLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not spent:
            raise Invalid(_("This link was already used. Ask for a new one."))
        audit.record(
            org=link.organization,
            actor=DONOR,
            code="fundraising.portal.signed_in",
            subject=link.contact,
        )
    return link


@periodic.every(datetime.timedelta(hours=1), name="fundraising.purge_portal_links")
def purge_login_links() -> int:
    """Delete links that expired a day ago or more: they only served rate limits and audits
    (the audit log keeps the sign-ins). Returns how many went."""
    cutoff = timezone.now() - datetime.timedelta(days=1)
    deleted, _by_model = DonorLoginLink.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


# --- the portal session -------------------------------------------------------------------


@dataclass(frozen=True)
class Donor:
    org: Organization
    contact: Contact


def start_session(request: HttpRequest, link: DonorLoginLink) -> None:
    request.session.cycle_key()  # no session fixation across the sign-in
    request.session[SESSION_KEY] = {
        "org": link.organization_id,
        "contact": link.contact_id,
        "seen": timezone.now().isoformat(),
    }


def end_session(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def donor_for(request: HttpRequest) -> Donor | None:
    """The signed-in donor, refreshing the idle clock; None when absent, idle or erased."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        seen = datetime.datetime.fromisoformat(data["seen"])
    except (KeyError, TypeError, ValueError):
        seen = None
    now = timezone.now()
    if seen is None or now - seen > IDLE_TIMEOUT:
        request.session.pop(SESSION_KEY, None)
        return None
    contact = (
        Contact.objects.select_related("organization")
        .filter(pk=data.get("contact"), organization_id=data.get("org"), erased_at__isnull=True)
        .first()
    )
    if contact is None:
        request.session.pop(SESSION_KEY, None)
        return None
    data["seen"] = now.isoformat()
    request.session[SESSION_KEY] = data
    return Donor(org=contact.organization, contact=contact)


# --- what the donor sees and may change ---------------------------------------------------


def gifts_for(donor: Donor) -> list[Donation]:
    return list(
        Donation.objects.filter(organization=donor.org, contact=donor.contact)
        .select_related("fund", "campaign")
        .order_by("-created_at", "-pk")
    )


def gift_for(donor: Donor, donation_id: int) -> Donation:
    """One of the donor's own gifts; another donor's or organization's answers NotFound."""
    donation = (
        Donation.objects.filter(organization=donor.org, contact=donor.contact, pk=donation_id)
        .select_related("fund", "organization", "contact")
        .first()
    )
    if donation is None:
        raise NotFound(_("No such gift."))
    return donation


def plans_for(donor: Donor) -> list[RecurringPlan]:
    """The donor's recurring gifts. The mandate of a one-off SEPA debit is not one: that gift
    is followed in the gifts list and on its tracking page, and has nothing to change."""
    return list(
        RecurringPlan.objects.filter(organization=donor.org, contact=donor.contact)
        .exclude(frequency=Frequency.ONCE)
        .select_related("fund")
        .order_by("status", "-created_at", "-pk")
    )


def plan_for(donor: Donor, plan_id: int) -> RecurringPlan:
    """One of the donor's own plans; another donor's or organization's answers NotFound."""
    plan = (
        RecurringPlan.objects.filter(organization=donor.org, contact=donor.contact, pk=plan_id)
        .exclude(frequency=Frequency.ONCE)
        .select_related("fund", "organization")
        .first()
    )
    if plan is None:
        raise NotFound(_("No such recurring gift."))
    return plan


def funds_for(donor: Donor) -> list[Fund]:
    """Funds a donor may designate: the organization's open ones."""
    return list(
        Fund.objects.filter(organization=donor.org, archived_at__isnull=True).order_by("name")
    )


def fiscal_year_of(moment: datetime.datetime, start_month: int) -> int:
    """Fiscal year N starts in month `start_month` of calendar year N."""
    return moment.year if moment.month >= start_month else moment.year - 1


def statement_years_for(donor: Donor) -> list[int]:
    """Fiscal years (newest first) in which the donor has a confirmed gift."""
    start = (
        FundraisingSettings.objects.filter(organization=donor.org)
        .values_list("fiscal_year_start_month", flat=True)
        .first()
        or 1
    )
    moments = Donation.objects.filter(
        organization=donor.org,
        contact=donor.contact,
        status=Donation.Status.CONFIRMED,
        received_at__isnull=False,
    ).values_list("received_at", flat=True)
    with timezone.override(donor.org.time_zone):
        years = {fiscal_year_of(timezone.localtime(at), start) for at in moments}
    return sorted(years, reverse=True)


def parse_amount(raw: str, *, currency: str) -> int:
    """A donor-typed amount ("12.50", "12,50") in minor units; Invalid below 1.00."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(_("Enter an amount such as 10 or 12.50."), field="amount") from None
    digits = get_currency_precision(currency)
    if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-digits)):
        raise Invalid(_("Enter an amount such as 10 or 12.50."), field="amount")
    if value < 1:
        raise Invalid(_("The smallest amount is 1."), field="amount")
    if value > 1_000_000:
        raise Invalid(_("For such an amount, please contact us."), field="amount")
    return int(value.scaleb(digits))


PLAN_ACTIONS = ("amount", "pause", "resume", "skip", "fund", "iban", "cancel")


def change_plan(*, donor: Donor, plan: RecurringPlan, action: str, data: dict[str, str]) -> None:
    """Apply one portal action to the donor's plan through `update_plan` (audited, via donor).

    Invalid for an unknown action, bad input, or an action the plan's state does not allow
    (a cancelled plan changes no more).
    """
    if action not in PLAN_ACTIONS:
        raise NotFound(_("No such action."))
    if plan.status == RecurringPlan.Status.CANCELLED:
        raise Invalid(_("This recurring gift is cancelled."))
    if action == "amount":
        amount = parse_amount(data.get("amount", ""), currency=plan.currency)
        update_plan(plan=plan, actor=DONOR, amount_minor=amount)
    elif action == "pause":
        update_plan(plan=plan, actor=DONOR, status=RecurringPlan.Status.PAUSED)
    elif action == "resume":
        update_plan(plan=plan, actor=DONOR, status=RecurringPlan.Status.ACTIVE)
    elif action == "cancel":
        if data.get("confirm") != "1":
            raise Invalid(_("Tick the box to confirm the cancellation."), field="confirm")
        update_plan(plan=plan, actor=DONOR, status=RecurringPlan.Status.CANCELLED)
    elif action == "skip":
        update_plan(plan=plan, actor=DONOR, skip_next=True)
    elif action == "fund":
        fund = next((f for f in funds_for(donor) if f.slug == data.get("fund", "")), None)
        if fund is None:
            raise Invalid(_("Choose one of the funds listed."), field="fund")
        update_plan(plan=plan, actor=DONOR, fund=fund)
    elif action == "iban":
        raw = data.get("iban", "").strip()[:64]
        if not raw:
            raise Invalid(_("Enter the new IBAN."), field="iban")
        holder = data.get("account_holder", "").strip()[:70]
        update_plan(plan=plan, actor=DONOR, iban=raw, account_holder=holder)


def set_consent(*, donor: Donor, purpose: str, channel: str, granted: bool) -> ConsentEvent:
    """Grant or withdraw one purpose × channel for the signed-in donor (source self-service)."""
    return record_consent(
        org=donor.org,
        actor=DONOR,
        contact=donor.contact,
        purpose=purpose,
        channel=channel,
        granted=granted,
        source=CONSENT_SOURCE,
    )
