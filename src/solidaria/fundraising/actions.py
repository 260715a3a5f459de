"""Writes of the fundraising app: funds, campaigns, gifts, refunds, the treasurer's books,
recurring plans, payment providers and settings.

Every action that moves money posts one entry to the public ledger (`solidaria.ledger`)
inside its own transaction and stores the entry's `seq` on the row, so the books and the log
land together or not at all; `books.check_books` (run by `solidaria ledger verify`) proves
they still agree.
"""

import base64
import calendar
import datetime
import hashlib
import importlib.util
import re
import secrets
import string
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import babel.numbers
import schwifty
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum.eu import at_02

from solidaria.core import audit
from solidaria.core.audit import Actor
from solidaria.core.errors import Conflict, Invalid
from solidaria.core.models import Organization, slug_validator
from solidaria.fundraising import sepa
from solidaria.fundraising.models import (
    Allocation,
    Campaign,
    Donation,
    Expense,
    Frequency,
    Fund,
    FundraisingSettings,
    Method,
    PaymentProvider,
    PeerPage,
    ReceiptCounter,
    RecurringPlan,
    Refund,
)
from solidaria.ledger.actions import post_entry
from solidaria.ledger.queries import fund_balance
from solidaria.people.actions import add_activity, add_contact_role
from solidaria.people.models import Contact, ContactRoleKind

GENERAL_FUND = "general"
# The largest amount one row may carry: a billion in major units of a two-digit currency.
# Far beyond any gift, and well inside the ledger's exact integer range (2^53).
MAX_AMOUNT_MINOR = 100_000_000_000
_SYSTEM = Actor.system("system")

# --- money at the edges --------------------------------------------------------------------


def check_currency(currency: str, *, field: str = "currency") -> str:
    """The ISO 4217 code, upper-cased; Invalid for anything else."""
    code = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or not babel.numbers.is_currency(code):
        raise Invalid(_("Unknown currency “%(code)s”.") % {"code": currency}, field=field)
    return code


def minor_digits(currency: str) -> int:
    """How many decimal digits the currency's minor unit has (EUR 2, JPY 0, KWD 3)."""
    return int(babel.numbers.get_currency_precision(currency))


def to_minor(amount: Decimal | int | str, currency: str, *, field: str = "amount") -> int:
    """`Decimal("12.50")`, EUR → 1250. Positive, finite, at most the currency's minor digits
    and at most MAX_AMOUNT_MINOR; anything else is Invalid (never rounded)."""
    currency = check_currency(currency)
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(_("Enter an amount such as 12.50."), field=field) from None
    if not value.is_finite():
        raise Invalid(_("Enter an amount such as 12.50."), field=field)
    if value <= 0:
        raise Invalid(_("The amount must be more than zero."), field=field)
    digits = minor_digits(currency)
    if value > Decimal(MAX_AMOUNT_MINOR).scaleb(-digits):
        raise Invalid(_("The amount is too large."), field=field)
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise Invalid(
            _("%(currency)s amounts have at most %(digits)d decimals.")
            % {"currency": currency, "digits": digits},
            field=field,
        )
    return int(minor)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """1250, EUR → Decimal("12.50") (with exactly the currency's digits)."""
    digits = minor_digits(currency)
    return Decimal(amount_minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def _check_amount_minor(amount_minor: int, *, field: str = "amount") -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise Invalid(_("The amount must be a whole number of minor units."), field=field)
    if amount_minor <= 0:
        raise Invalid(_("The amount must be more than zero."), field=field)
    if amount_minor > MAX_AMOUNT_MINOR:
        raise Invalid(_("The amount is too large."), field=field)
    return amount_minor


def _check_at(value: datetime.datetime | None, *, field: str) -> datetime.datetime:
    if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
        raise Invalid(_("A date and time with its time zone is needed."), field=field)
    if value > timezone.now() + datetime.timedelta(days=1):
        raise Invalid(_("This moment is in the future."), field=field)
    return value.astimezone(datetime.UTC)


def _text(value: str, *, field: str, limit: int, required: bool = False) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise Invalid(_("This field is required."), field=field)
    if len(value) > limit:
        raise Invalid(_("At most %(limit)d characters.") % {"limit": limit}, field=field)
    return value


def _storable(value: str) -> bool:
    # NUL (refused by PostgreSQL) and lone surrogates (not UTF-8) would fail at the database.
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _same_org(org: Organization, row: Any, *, field: str, label: str) -> None:
    if row is None or row.organization_id != org.pk:
        raise Invalid(_("No such %(what)s.") % {"what": label}, field=field)


def _language(value: str) -> str:
    value = (value or "").strip().lower()
    if value and not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", value):
        raise Invalid(_("Use a language code such as “es”."), field="language")
    return value


# --- references ----------------------------------------------------------------------------


def new_public_ref(prefix: str) -> str:
    """An opaque public reference: `g-` (gift), `a-` (allocation), `e-` (expense) + 16 base32
    characters from 80 random bits. It says nothing about the donor."""
    return f"{prefix}-{base64.b32encode(secrets.token_bytes(10)).decode().lower()}"


def _rf_check_digits(body: str) -> str:
    # ISO 11649: move "RF00" to the end, letters to numbers (A=10 … Z=35), 98 - (n mod 97).
    digits = "".join(str(int(char, 36)) for char in body + "RF00")
    return f"{98 - int(digits) % 97:02d}"


def new_payment_reference() -> str:
    """An ISO 11649 structured creditor reference, `RF` + 2 check digits + 12 digits.

    Digits only: with ISO 7064 MOD 97-10 every single wrong digit and every swap of two
    neighbours is then caught (a letter, read as two digits, would weaken that), so a
    transfer quoted with a typo is never matched to another donor's gift."""
    body = f"{secrets.randbelow(10**12):012d}"
    return f"RF{_rf_check_digits(body)}{body}"


def is_payment_reference(value: str) -> bool:
    """True for a well-formed RF creditor reference (spaces and case ignored)."""
    value = re.sub(r"\s+", "", value or "").upper()
    if not re.fullmatch(r"RF[0-9]{2}[0-9A-Z]{1,21}", value):
        return False
    return _rf_check_digits(value[4:]) == value[2:4]


# No I, L, O, U: nothing a reader can mistake for another character.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _mandate_reference() -> str:
    return "SOL-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _i in range(16))


# --- funds and campaigns -------------------------------------------------------------------


def ensure_general_fund(*, org: Organization) -> Fund:
    """The organization's unrestricted general fund (`general`), created on first use.

    Idempotent, also under concurrency: the unique slug makes a second creator read the first's.
    """
    fund = Fund.objects.filter(organization=org, slug=GENERAL_FUND).first()
    if fund is not None:
        return fund
    with translation.override(org.language or "en"):
        name = _("General fund")
    try:
        with transaction.atomic():
            fund = Fund.objects.create(
                organization=org, slug=GENERAL_FUND, name=name, restricted=False
            )
            audit.record(org=org, actor=_SYSTEM, code="fundraising.fund.created", subject=fund)
    except IntegrityError:
        return Fund.objects.get(organization=org, slug=GENERAL_FUND)
    return fund


def _slug(value: str) -> str:
    value = (value or "").strip()
    try:
        slug_validator(value)
    except ValidationError:
        raise Invalid(
            _(
                "Use 1–50 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
            ),
            field="slug",
        ) from None
    return value


def _texts(value: Any) -> dict[str, dict[str, str]]:
    """{lang: {key: text}} with short language codes and string texts."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 20:
        raise Invalid(_("Texts are given per language: {lang: {name: text}}."), field="texts")
    clean: dict[str, dict[str, str]] = {}
    for lang, texts in value.items():
        if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", lang):
            raise Invalid(_("Use a language code such as “es”."), field="texts")
        if not isinstance(texts, dict) or len(texts) > 20:
            raise Invalid(_("Texts are given per language: {lang: {name: text}}."), field="texts")
        for key, text in texts.items():
            if (
                not isinstance(key, str)
                or not isinstance(text, str)
                or len(text) > 20_000
                or not _storable(key + text)
            ):
                raise Invalid(
                    _("Texts are given per language: {lang: {name: text}}."), field="texts"
                )
        clean[lang] = {key: text.strip() for key, text in texts.items()}
    return clean


def create_fund(
    *,
    org: Organization,
    actor: Actor,
    slug: str,
    name: str,
    restricted: bool = True,
    description: str = "",
    texts: dict[str, Any] | None = None,
) -> Fund:
    """Create a fund. The slug is what the public ledger shows and never changes.

    Errors: Invalid (slug, name, texts), Conflict when the slug is taken.
    """
    slug = _slug(slug)
    name = _text(name, field="name", limit=200, required=True)
    clean_texts = _texts(texts)
    with transaction.atomic():
        if Fund.objects.filter(organization=org, slug=slug).exists():
            raise Conflict(_("A fund with this slug already exists."), field="slug")
        fund = Fund.objects.create(
            organization=org,
            slug=slug,
            name=name,
            restricted=bool(restricted),
            description=(description or "").strip(),
            texts=clean_texts,
        )
        audit.record(org=org, actor=actor, code="fundraising.fund.created", subject=fund)
    return fund


def update_fund(
    *,
    org: Organization,
    actor: Actor,
    fund: Fund,
    name: str | None = None,
    description: str | None = None,
    restricted: bool | None = None,
    texts: dict[str, Any] | None = None,
    archived: bool | None = None,
) -> Fund:
    """Change a fund's name, texts, restriction or archive it; its slug stays.

    The general fund is always unrestricted and never archived (Invalid).
    """
    _same_org(org, fund, field="fund", label=_("fund"))
    changed: list[str] = []
    with transaction.atomic():
        fund = Fund.objects.select_for_update().get(pk=fund.pk)
        if name is not None:
            fund.name = _text(name, field="name", limit=200, required=True)
            changed.append("name")
        if description is not None:
            fund.description = description.strip()
            changed.append("description")
        if texts is not None:
            fund.texts = _texts(texts)
            changed.append("texts")
        if restricted is not None:
            if fund.slug == GENERAL_FUND and restricted:
                raise Invalid(_("The general fund is unrestricted."), field="restricted")
            fund.restricted = bool(restricted)
            changed.append("restricted")
        if archived is not None:
            if fund.slug == GENERAL_FUND and archived:
                raise Invalid(_("The general fund cannot be archived."), field="archived")
            fund.archived_at = (fund.archived_at or timezone.now()) if archived else None
            changed.append("archived_at")
        fund.save()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.fund.updated",
            subject=fund,
            extra={"fields": changed},
        )
    return fund


def _usable_fund(org: Organization, fund: Fund | None) -> Fund:
    if fund is None:
        return ensure_general_fund(org=org)
    _same_org(org, fund, field="fund", label=_("fund"))
    if fund.archived_at is not None:
        raise Invalid(_("This fund is archived."), field="fund")
    return fund


def _preset_amounts(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 8:
        raise Invalid(_("At most 8 preset amounts."), field="preset_amounts")
    return [_check_amount_minor(v, field="preset_amounts") for v in value]


def _campaign_fields(org: Organization, data: dict[str, Any], campaign: Campaign | None) -> None:
    """Validate `data` in place: the campaign fields that were given."""
    if "slug" in data:
        data["slug"] = _slug(data["slug"])
        taken = Campaign.objects.filter(organization=org, slug=data["slug"])
        if campaign is not None:
            taken = taken.exclude(pk=campaign.pk)
        if taken.exists():
            raise Conflict(_("A campaign with this slug already exists."), field="slug")
    if "title" in data:
        data["title"] = _text(data["title"], field="title", limit=200, required=True)
    if "texts" in data:
        data["texts"] = _texts(data["texts"])
    if "fund" in data:
        data["fund"] = _usable_fund(org, data["fund"])
    if "currency" in data:
        data["currency"] = check_currency(data["currency"] or org.currency)
    if "goal_minor" in data:
        goal = data["goal_minor"] or 0
        if goal:
            _check_amount_minor(goal, field="goal")
        data["goal_minor"] = goal
    if "preset_amounts" in data:
        data["preset_amounts"] = _preset_amounts(data["preset_amounts"])
    if "published" in data:
        data["published"] = bool(data["published"])
    starts = data.get("starts_on", campaign.starts_on if campaign else None)
    ends = data.get("ends_on", campaign.ends_on if campaign else None)
    if starts and ends and ends < starts:
        raise Invalid(_("The campaign ends before it starts."), field="ends_on")


_CAMPAIGN_FIELDS = frozenset(
    {
        "slug",
        "title",
        "texts",
        "fund",
        "goal_minor",
        "currency",
        "starts_on",
        "ends_on",
        "preset_amounts",
        "published",
    }
)


def create_campaign(
    *,
    org: Organization,
    actor: Actor,
    slug: str,
    title: str,
    fund: Fund | None = None,
    texts: dict[str, Any] | None = None,
    goal_minor: int = 0,
    currency: str = "",
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
    preset_amounts: list[int] | None = None,
    published: bool = False,
) -> Campaign:
    """Create a campaign raising money for `fund` (the general fund when None).

    The currency defaults to the organization's; the goal is in its minor units (0: none shown).
    Errors: Invalid (any field), Conflict when the slug is taken.
    """
    data: dict[str, Any] = {
        "slug": slug,
        "title": title,
        "fund": fund,
        "texts": texts,
        "goal_minor": goal_minor,
        "currency": currency,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "preset_amounts": preset_amounts,
        "published": published,
    }
    with transaction.atomic():
        _campaign_fields(org, data, None)
        campaign = Campaign.objects.create(organization=org, **data)
        audit.record(org=org, actor=actor, code="fundraising.campaign.created", subject=campaign)
    return campaign


def update_campaign(
    *, org: Organization, actor: Actor, campaign: Campaign, **changes: Any
) -> Campaign:
    """Change the given fields of a campaign (any of create_campaign's).

    Gifts already made keep their fund. Errors: Invalid, Conflict when the new slug is taken.
    """
    _same_org(org, campaign, field="campaign", label=_("campaign"))
    unknown = set(changes) - _CAMPAIGN_FIELDS
    if unknown:
        raise Invalid(_("Unknown field."), field=sorted(unknown)[0])
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _campaign_fields(org, changes, campaign)
        for field, value in changes.items():
            setattr(campaign, field, value)
        campaign.save()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.campaign.updated",
            subject=campaign,
            extra={"fields": sorted(changes)},
        )
    return campaign


def _live_contact(org: Organization, contact: Contact | None, *, field: str) -> Contact:
    _same_org(org, contact, field=field, label=_("contact"))
    assert contact is not None
    if contact.erased_at is not None:
        raise Invalid(_("This contact was erased."), field=field)
    return contact


def create_peer_page(
    *,
    org: Organization,
    actor: Actor,
    campaign: Campaign,
    supporter: Contact,
    slug: str,
    title: str,
    story: str = "",
    goal_minor: int = 0,
    language: str = "",
) -> PeerPage:
    """A supporter's own page under a campaign; gifts through it count for both.

    Errors: Invalid (fields, an erased supporter), Conflict when the slug is taken in the campaign.
    """
    _same_org(org, campaign, field="campaign", label=_("campaign"))
    supporter = _live_contact(org, supporter, field="supporter")
    slug = _slug(slug)
    title = _text(title, field="title", limit=200, required=True)
    if goal_minor:
        _check_amount_minor(goal_minor, field="goal")
    with transaction.atomic():
        if PeerPage.objects.filter(campaign=campaign, slug=slug).exists():
            raise Conflict(_("A page with this slug already exists."), field="slug")
        page = PeerPage.objects.create(
            organization=org,
            campaign=campaign,
            supporter=supporter,
            slug=slug,
            title=title,
            story=(story or "").strip(),
            goal_minor=goal_minor or 0,
            language=_language(language),
        )
        audit.record(org=org, actor=actor, code="fundraising.peer_page.created", subject=page)
    return page


def hide_peer_page(*, org: Organization, actor: Actor, peer_page: PeerPage) -> PeerPage:
    """Take a peer page off the public site (gifts already made keep their credit). Idempotent."""
    _same_org(org, peer_page, field="peer_page", label=_("page"))
    with transaction.atomic():
        page = PeerPage.objects.select_for_update().get(pk=peer_page.pk)
        if page.hidden_at is None:
            page.hidden_at = timezone.now()
            page.save(update_fields=["hidden_at"])
            audit.record(org=org, actor=actor, code="fundraising.peer_page.hidden", subject=page)
    peer_page.hidden_at = page.hidden_at
    return page


# --- gifts ---------------------------------------------------------------------------------


def _new_donation(
    *,
    org: Organization,
    contact: Contact,
    amount_minor: int,
    currency: str,
    fund: Fund | None,
    method: str,
    frequency: str,
    campaign: Campaign | None,
    peer_page: PeerPage | None,
    language: str,
    plan: RecurringPlan | None,
    note: str = "",
    collection_date: datetime.date | None = None,
    sepa_sequence: str = "",
) -> Donation:
    contact = _live_contact(org, contact, field="contact_id")
    _check_amount_minor(amount_minor)
    currency = check_currency(currency)
    if method not in Method.values:
        raise Invalid(_("Unknown payment method."), field="method")
    if frequency not in Frequency.values:
        raise Invalid(_("Unknown frequency."), field="frequency")
    if peer_page is not None:
        _same_org(org, peer_page, field="peer_page", label=_("page"))
        if peer_page.hidden_at is not None:
            raise Invalid(_("This page was taken down."), field="peer_page")
        if campaign is None:
            campaign = peer_page.campaign
        elif peer_page.campaign_id != campaign.pk:
            raise Invalid(_("This page belongs to another campaign."), field="peer_page")
    if campaign is not None:
        _same_org(org, campaign, field="campaign", label=_("campaign"))
        if fund is None:
            fund = campaign.fund
        elif fund.pk != campaign.fund_id:
            raise Invalid(_("This campaign raises money for another fund."), field="fund")
    fund = _usable_fund(org, fund)
    if plan is not None:
        _same_org(org, plan, field="plan", label=_("plan"))
    if (collection_date is not None or sepa_sequence) and method != Method.SEPA:
        raise Invalid(
            _("A collection date is only for SEPA direct debits."), field="collection_date"
        )
    if sepa_sequence and sepa_sequence not in sepa.SEQUENCE_TYPES:
        raise Invalid(_("The sequence type must be FRST, RCUR or OOFF."), field="sepa_sequence")
    donation = Donation(
        organization=org,
        contact=contact,
        amount_minor=amount_minor,
        currency=currency,
        fund=fund,
        campaign=campaign,
        peer_page=peer_page,
        plan=plan,
        method=method,
        language=_language(language) or contact.language or org.language,
        public_ref=new_public_ref("g"),
        tracking_token=secrets.token_urlsafe(16),
        note=(note or "").strip(),
        collection_date=collection_date,
        sepa_sequence=sepa_sequence,
    )
    if method == Method.BANK_TRANSFER:
        # 10^12 references: a clash is astronomically rare, but the unique constraint would
        # turn it into an error for the donor, so draw again instead.
        donation.payment_reference = new_payment_reference()
        while Donation.objects.filter(
            organization=org, payment_reference=donation.payment_reference
        ).exists():
            donation.payment_reference = new_payment_reference()
    donation.save()
    return donation


def start_donation(
    *,
    org: Organization,
    actor: Actor,
    contact: Contact,
    amount_minor: int,
    currency: str,
    fund: Fund | None,
    method: str,
    frequency: str = Frequency.ONCE,
    campaign: Campaign | None = None,
    peer_page: PeerPage | None = None,
    language: str = "",
    plan: RecurringPlan | None = None,
    collection_date: datetime.date | None = None,
    sepa_sequence: str = "",
) -> Donation:
    """A pending gift, waiting for its money: nothing is posted to the ledger yet.

    Sets an opaque `public_ref` (`g-…`), a 128-bit `tracking_token` and, for a bank transfer,
    the RF `payment_reference` the donor quotes. `fund` None means the campaign's fund, else
    the general fund; a peer page implies its campaign. `frequency` says whether the donor
    asked for a recurring gift (the plan is created by `create_plan`). SEPA only:
    `collection_date`, the day the debit is to be collected (the export of that date takes
    it), and `sepa_sequence` (FRST, RCUR or OOFF; left empty, the export decides).
    Errors: Invalid (amount, currency, method, a fund other than the campaign's, an erased
    contact, rows of another organization, a collection date or sequence type on a gift
    that is not a SEPA debit).
    """
    with transaction.atomic():
        donation = _new_donation(
            org=org,
            contact=contact,
            amount_minor=amount_minor,
            currency=currency,
            fund=fund,
            method=method,
            frequency=frequency,
            campaign=campaign,
            peer_page=peer_page,
            language=language,
            plan=plan,
            collection_date=collection_date,
            sepa_sequence=sepa_sequence,
        )
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.donation.started",
            subject=donation,
            extra={"method": method, "frequency": frequency},
        )
    return donation


def _next_receipt_number(org: Organization, received_at: datetime.datetime) -> str:
    # Gapless per organization and year: the counter row is locked until the transaction
    # ends, so two confirmations never take the same number and a rollback gives it back.
    year = timezone.localtime(received_at, _zone(org)).year
    ReceiptCounter.objects.get_or_create(organization=org, year=year)
    counter = ReceiptCounter.objects.select_for_update().get(organization=org, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{year}-{counter.last:06d}"


def _zone(org: Organization) -> Any:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _enqueue_thank_you(donation_id: int) -> None:
    # The thank-you email (with the receipt) is the mail module's; a deployment without it
    # confirms gifts all the same.
    if importlib.util.find_spec("solidaria.fundraising.mail") is None:
        return
    from solidaria.fundraising import mail

    task = getattr(mail, "send_thank_you", None)
    if task is None:
        return
    transaction.on_commit(lambda: task.enqueue(donation_id))


def _confirm(
    donation: Donation,
    actor: Actor,
    received_at: datetime.datetime | None,
    provider_id: str,
) -> bool:
    """Lock and confirm; False when it was already confirmed. Call inside a transaction."""
    locked = Donation.objects.select_for_update().select_related("fund").get(pk=donation.pk)
    if locked.status == Donation.Status.CONFIRMED:
        donation.refresh_from_db()
        return False
    if locked.status != Donation.Status.PENDING:
        raise Conflict(_("Only a pending gift can be confirmed."))
    org = locked.organization
    now = timezone.now()
    received = _check_at(received_at or now, field="received_at")
    entry = post_entry(
        org=org,
        actor=actor,
        type="income",
        fund=locked.fund.slug,
        amount=locked.amount_minor,
        currency=locked.currency,
        ref=locked.public_ref,
        at=received,
    )
    locked.status = Donation.Status.CONFIRMED
    locked.received_at = received
    locked.confirmed_at = now
    locked.ledger_seq = entry.seq
    locked.receipt_number = _next_receipt_number(org, received)
    if provider_id and not locked.provider_id:
        locked.provider_id = provider_id[:100]
    locked.save()
    contact = locked.contact
    if contact.erased_at is None:
        # The timeline is staff-only, but it is the person's record: what was given is in
        # the gifts panel, not copied into free text that outlives corrections.
        add_activity(
            org=org,
            actor=actor,
            contact=contact,
            kind="donation",
            subject=_("Gift received (receipt %(number)s)") % {"number": locked.receipt_number},
            occurred_at=received,
        )
        add_contact_role(org=org, actor=actor, contact=contact, role=ContactRoleKind.DONOR)
    _enqueue_thank_you(locked.pk)
    for field in ("status", "received_at", "confirmed_at", "ledger_seq", "receipt_number"):
        setattr(donation, field, getattr(locked, field))
    donation.provider_id = locked.provider_id
    return True


def confirm_donation(
    *,
    donation: Donation,
    actor: Actor,
    received_at: datetime.datetime | None = None,
    provider_id: str = "",
) -> Donation:
    """The money arrived: post the `income` entry, number the receipt, thank the donor.

    Idempotent: confirming a confirmed gift changes nothing and posts nothing. Stores
    `ledger_seq`, `confirmed_at`, `received_at` (default now) and the next receipt number
    of the year (`2026-000001`, gapless per organization); adds a `donation` activity on the
    contact's timeline; enqueues `mail.send_thank_you` after commit when that module exists.
    Errors: Conflict for a failed or cancelled gift; Invalid for a naive or future moment.
    """
    with transaction.atomic():
        if _confirm(donation, actor, received_at, provider_id):
            audit.record(
                org=donation.organization,
                actor=actor,
                code="fundraising.donation.confirmed",
                subject=donation,
                extra={"ledger_seq": donation.ledger_seq},
            )
    return donation


def record_donation(
    *,
    org: Organization,
    actor: Actor,
    contact: Contact,
    amount_minor: int,
    currency: str,
    fund: Fund | None,
    method: str,
    received_at: datetime.datetime | None,
    campaign: Campaign | None = None,
    note: str = "",
    language: str = "",
) -> Donation:
    """A gift whose money is already here (cash, cheque, a transfer seen on the account, the
    API): start and confirm at once, in one transaction. Errors as start/confirm_donation."""
    with transaction.atomic():
        donation = _new_donation(
            org=org,
            contact=contact,
            amount_minor=amount_minor,
            currency=currency,
            fund=fund,
            method=method,
            frequency=Frequency.ONCE,
            campaign=campaign,
            peer_page=None,
            language=language,
            plan=None,
            note=note,
        )
        _confirm(donation, actor, received_at, "")
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.donation.recorded",
            subject=donation,
            extra={"method": method, "ledger_seq": donation.ledger_seq},
        )
    return donation


def _close_pending(donation: Donation, actor: Actor, status: str, reason: str) -> Donation:
    with transaction.atomic():
        locked = Donation.objects.select_for_update().get(pk=donation.pk)
        if locked.status == status:
            return locked
        if locked.status != Donation.Status.PENDING:
            raise Conflict(_("Only a pending gift can be failed or cancelled."))
        locked.status = status
        locked.failure_reason = (reason or "").strip()[:200]
        locked.save(update_fields=["status", "failure_reason"])
        audit.record(
            org=locked.organization,
            actor=actor,
            code=f"fundraising.donation.{status}",
            subject=locked,
        )
    return locked


def fail_donation(*, donation: Donation, actor: Actor, reason: str = "") -> Donation:
    """The payment did not go through (declined card, expired checkout, SEPA reject before
    settlement). Idempotent; a confirmed gift is refunded instead (Conflict)."""
    return _close_pending(donation, actor, Donation.Status.FAILED, reason)


def cancel_donation(*, donation: Donation, actor: Actor, reason: str = "") -> Donation:
    """Withdraw a pending gift (the donor changed their mind, a duplicate). Idempotent;
    Conflict for a confirmed or failed one."""
    return _close_pending(donation, actor, Donation.Status.CANCELLED, reason)


def refund_donation(
    *,
    donation: Donation,
    actor: Actor,
    amount_minor: int | None = None,
    reason: str = "",
    provider_id: str = "",
    at: datetime.datetime | None = None,
) -> Refund:
    """Give back all (`amount_minor` None) or part of what is left of a confirmed gift.

    Posts a `refund` entry with the gift's public_ref on its fund. Idempotent on
    `provider_id` (a SEPA return or card refund seen twice is booked once).
    Errors: Conflict when the gift is not confirmed, nothing is left to refund, or the fund
    no longer holds the money (it was spent); Invalid for an amount beyond what is left.
    """
    provider_id = (provider_id or "").strip()[:100]
    org = donation.organization
    with transaction.atomic():
        locked = Donation.objects.select_for_update().select_related("fund").get(pk=donation.pk)
        if provider_id:
            earlier = Refund.objects.filter(organization=org, provider_id=provider_id).first()
            if earlier is not None:
                return earlier
        if locked.status != Donation.Status.CONFIRMED:
            raise Conflict(_("Only a confirmed gift can be refunded."))
        left = locked.amount_minor - locked.refunded_minor
        if left <= 0:
            raise Conflict(_("This gift was already refunded in full."))
        amount = left if amount_minor is None else _check_amount_minor(amount_minor)
        if amount > left:
            raise Invalid(
                _("At most %(left)s %(currency)s is left to refund.")
                % {"left": from_minor(left, locked.currency), "currency": locked.currency},
                field="amount",
            )
        when = _check_at(at or timezone.now(), field="at")
        if not provider_id and locked.method in _CARD_METHODS and locked.provider_id:
            provider_id = _refund_at_provider(locked, amount)
        entry = post_entry(
            org=org,
            actor=actor,
            type="refund",
            fund=locked.fund.slug,
            amount=amount,
            currency=locked.currency,
            ref=locked.public_ref,
            at=when,
        )
        refund = Refund.objects.create(
            organization=org,
            donation=locked,
            amount_minor=amount,
            currency=locked.currency,
            reason=(reason or "").strip()[:200],
            provider_id=provider_id,
            at=when,
            ledger_seq=entry.seq,
        )
        locked.refunded_minor += amount
        locked.save(update_fields=["refunded_minor"])
        donation.refunded_minor = locked.refunded_minor
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.donation.refunded",
            subject=locked,
            extra={"refund": refund.pk, "ledger_seq": entry.seq},
        )
    return refund


_CARD_METHODS = frozenset({Method.STRIPE, Method.MOLLIE})


def _refund_at_provider(donation: Donation, amount: int) -> str:
    """Give a card gift's money back through its provider; the refund's provider id.

    The id follows the provider webhooks' running total (`<payment>:refunded:<total>`), so
    the `charge.refunded` / Mollie notification that follows finds this refund already
    booked instead of booking it a second time. The fund's balance is checked first: the
    money must not leave the card account unless the ledger can book it.
    """
    from solidaria.fundraising.payments import gateway_for
    from solidaria.fundraising.queries import refunded_under

    org = donation.organization
    held = fund_balance(org=org, fund=donation.fund.slug, currency=donation.currency)
    if held < amount:
        raise Conflict(
            _("The fund “%(fund)s” no longer holds this money: it was spent.")
            % {"fund": donation.fund.name}
        )
    provider = PaymentProvider.objects.filter(
        organization=org, kind=donation.method, enabled=True
    ).first()
    if provider is None:
        raise Conflict(_("The payment provider of this gift is not set up any more."))
    prefix = f"{donation.provider_id}:refunded:"
    earlier = refunded_under(donation=donation, prefix=prefix)
    gateway_for(provider).refund(
        provider_id=donation.provider_id, amount_minor=amount, currency=donation.currency
    )
    return f"{prefix}{earlier + amount}"


# --- the treasurer's books -----------------------------------------------------------------


def allocate(
    *,
    org: Organization,
    actor: Actor,
    from_fund: Fund,
    to_fund: Fund,
    amount_minor: int,
    currency: str,
    note: str = "",
    at: datetime.datetime | None = None,
) -> Allocation:
    """Move money from one fund to another; the donations it came from follow it (tracing).

    Errors: Invalid (same fund, amount, currency, an archived destination), Conflict when
    `from_fund` holds less than the amount in that currency.
    """
    _same_org(org, from_fund, field="from_fund", label=_("fund"))
    to_fund = _usable_fund(org, to_fund)
    if from_fund.pk == to_fund.pk:
        raise Invalid(_("Choose two different funds."), field="to_fund")
    _check_amount_minor(amount_minor)
    currency = check_currency(currency)
    note = _text(note, field="note", limit=200)
    when = _check_at(at or timezone.now(), field="at")
    with transaction.atomic():
        public_ref = new_public_ref("a")
        entry = post_entry(
            org=org,
            actor=actor,
            type="allocation",
            fund=from_fund.slug,
            to_fund=to_fund.slug,
            amount=amount_minor,
            currency=currency,
            ref=public_ref,
            at=when,
        )
        allocation = Allocation.objects.create(
            organization=org,
            from_fund=from_fund,
            to_fund=to_fund,
            amount_minor=amount_minor,
            currency=currency,
            public_ref=public_ref,
            note=note,
            at=when,
            ledger_seq=entry.seq,
        )
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.allocation.booked",
            subject=allocation,
            extra={"ledger_seq": entry.seq},
        )
    return allocation


def _sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def record_expense(
    *,
    org: Organization,
    actor: Actor,
    fund: Fund,
    amount_minor: int,
    currency: str,
    description: str,
    category: str,
    spent_at: datetime.datetime,
    evidence: UploadedFile | None = None,
    evidence_sha256: str = "",
) -> Expense:
    """Book money spent from a fund, with the SHA-256 of its evidence document.

    The description and category are public: what was bought, never who was helped. The
    evidence file is hashed in chunks and stored through Django's storage under its hash;
    a given `evidence_sha256` must match it. Errors: Invalid (fields, a hash that is not
    64 hex digits or disagrees with the file), Conflict when the fund holds less than the
    amount in that currency.
    """
    _same_org(org, fund, field="fund", label=_("fund"))
    _check_amount_minor(amount_minor)
    currency = check_currency(currency)
    description = _text(description, field="description", limit=200, required=True)
    category = _text(category, field="category", limit=50, required=True)
    spent = _check_at(spent_at, field="spent_at")
    stated = (evidence_sha256 or "").strip().lower()
    if stated and not re.fullmatch(r"[0-9a-f]{64}", stated):
        raise Invalid(_("A SHA-256 is 64 hexadecimal digits."), field="evidence_sha256")
    sha256 = stated
    if evidence is not None:
        sha256 = _sha256_of(evidence)
        if stated and stated != sha256:
            raise Invalid(
                _("The evidence file does not match the SHA-256 given."), field="evidence_sha256"
            )
    with transaction.atomic():
        public_ref = new_public_ref("e")
        # The ledger refuses first (Conflict), before any file is written.
        entry = post_entry(
            org=org,
            actor=actor,
            type="expense",
            fund=fund.slug,
            amount=amount_minor,
            currency=currency,
            ref=public_ref,
            at=spent,
            category=category,
            description=description,
            evidence_sha256=sha256,
        )
        expense = Expense(
            organization=org,
            fund=fund,
            amount_minor=amount_minor,
            currency=currency,
            description=description,
            category=category,
            spent_at=spent,
            evidence_sha256=sha256,
            public_ref=public_ref,
            ledger_seq=entry.seq,
        )
        if evidence is not None:
            # Named by its hash: the uploader's file name may name a person.
            suffix = PurePosixPath(evidence.name or "").suffix.lower()
            suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
            expense.evidence.save(f"{sha256}{suffix}", evidence, save=False)
        expense.save()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.expense.recorded",
            subject=expense,
            extra={"ledger_seq": entry.seq},
        )
    return expense


def reverse_expense(*, org: Organization, actor: Actor, expense: Expense, reason: str) -> Expense:
    """Correct a mistaken expense with a `reversal` entry (the log is never edited).

    The money returns to the fund. Errors: Invalid without a reason, Conflict when the
    expense was already reversed.
    """
    _same_org(org, expense, field="expense", label=_("expense"))
    reason = _text(reason, field="reason", limit=200, required=True)
    with transaction.atomic():
        locked = Expense.objects.select_for_update().select_related("fund").get(pk=expense.pk)
        if locked.reversal_seq is not None:
            raise Conflict(_("This expense was already reversed."))
        entry = post_entry(
            org=org,
            actor=actor,
            type="reversal",
            fund=locked.fund.slug,
            amount=locked.amount_minor,
            currency=locked.currency,
            ref=locked.public_ref,
            at=timezone.now(),
            reverses=locked.ledger_seq,
        )
        locked.reversal_seq = entry.seq
        locked.save(update_fields=["reversal_seq"])
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.expense.reversed",
            subject=locked,
            extra={"ledger_seq": entry.seq, "reason": reason},
        )
    expense.reversal_seq = locked.reversal_seq
    return locked


# --- recurring plans -----------------------------------------------------------------------

_MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}


def add_period(
    day: datetime.date, frequency: str, *, day_of_month: int | None = None
) -> datetime.date:
    """`day` moved on by one period of `frequency`, month-end safe.

    `day_of_month` is the plan's own day (default `day.day`): a plan due on the 31st falls on
    the 30th in April and the 28th/29th in February, and returns to the 31st in May.
    """
    months = _MONTHS.get(frequency)
    if months is None:
        raise Invalid(_("A one-off gift has no next date."), field="frequency")
    anchor = day_of_month or day.day
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def next_due_after(plan: RecurringPlan) -> datetime.date:
    """The plan's due date one period after its current `next_due` (today when it has none)."""
    current = plan.next_due or timezone.localdate()
    return add_period(current, plan.frequency, day_of_month=plan.day_of_month or None)


_PLAN_METHODS = frozenset({Method.SEPA, Method.STRIPE, Method.MOLLIE, Method.BANK_TRANSFER})
_MANDATE_REFERENCE = re.compile(r"^[A-Za-z0-9+?/:().,' -]{1,35}$")


def _iban(value: str, *, field: str = "iban") -> tuple[str, str]:
    """(compact IBAN, BIC derived from it or "")."""
    try:
        iban = schwifty.IBAN(value or "")
    except (ValueError, schwifty.exceptions.SchwiftyException):
        raise Invalid(_("This is not a valid IBAN."), field=field) from None
    bic = iban.bic
    return iban.compact, str(bic) if bic else ""


def _bic(value: str, *, field: str = "bic") -> str:
    try:
        return str(schwifty.BIC(value))
    except (ValueError, schwifty.exceptions.SchwiftyException):
        raise Invalid(_("This is not a valid BIC."), field=field) from None


def create_plan(
    *,
    org: Organization,
    actor: Actor,
    contact: Contact,
    amount_minor: int,
    currency: str,
    fund: Fund | None,
    frequency: str,
    method: str,
    iban: str = "",
    bic: str = "",
    account_holder: str = "",
    mandate_reference: str = "",
    mandate_signed_at: datetime.date | None = None,
    next_due: datetime.date | None = None,
    campaign: Campaign | None = None,
    language: str = "",
    provider_customer_id: str = "",
    provider_mandate_id: str = "",
) -> RecurringPlan:
    """A recurring gift, or the mandate of a one-off SEPA debit. For SEPA: a valid IBAN (BIC
    derived from it when not given), the date the mandate was signed, and a mandate
    reference (generated when not given); `account_holder` when the account is not in the
    donor's name.

    `next_due` defaults to today in the organization's time zone. A one-off (`once`) plan
    is SEPA only and has no `next_due`: the schedule never collects it, its single gift is
    started with `start_donation` (sequence OOFF).
    Errors: Invalid (fields, a one-off frequency other than SEPA, an IBAN on a non-SEPA
    plan, a future mandate date), Conflict when the mandate reference is taken.
    """
    contact = _live_contact(org, contact, field="contact_id")
    _check_amount_minor(amount_minor)
    currency = check_currency(currency)
    if campaign is not None:
        _same_org(org, campaign, field="campaign", label=_("campaign"))
        fund = fund or campaign.fund
    fund = _usable_fund(org, fund)
    once = frequency == Frequency.ONCE and method == Method.SEPA
    if frequency not in _MONTHS and not once:
        raise Invalid(_("Choose monthly, quarterly or yearly."), field="frequency")
    if method not in _PLAN_METHODS:
        raise Invalid(_("Unknown payment method for a recurring gift."), field="method")
    today = timezone.localdate(timezone=_zone(org))
    mandate_reference = (mandate_reference or "").strip()
    if method == Method.SEPA:
        if not iban:
            raise Invalid(_("A SEPA direct debit needs the donor's IBAN."), field="iban")
        iban, derived_bic = _iban(iban)
        bic = _bic(bic) if bic else derived_bic
        if mandate_signed_at is None:
            raise Invalid(_("When was the mandate signed?"), field="mandate_signed_at")
        if mandate_signed_at > today:
            raise Invalid(
                _("The mandate cannot be signed in the future."), field="mandate_signed_at"
            )
        if mandate_reference and not _MANDATE_REFERENCE.fullmatch(mandate_reference):
            raise Invalid(
                _("Up to 35 letters, digits and + ? / - : ( ) . , ' or spaces."),
                field="mandate_reference",
            )
        mandate_reference = mandate_reference or _mandate_reference()
        account_holder = _text(account_holder, field="account_holder", limit=70)
    elif iban or bic or mandate_reference or mandate_signed_at or account_holder:
        raise Invalid(_("An IBAN and mandate are only for SEPA direct debits."), field="iban")
    with transaction.atomic():
        if (
            mandate_reference
            and RecurringPlan.objects.filter(
                organization=org, mandate_reference=mandate_reference
            ).exists()
        ):
            raise Conflict(_("This mandate reference is already used."), field="mandate_reference")
        plan = RecurringPlan.objects.create(
            organization=org,
            contact=contact,
            amount_minor=amount_minor,
            currency=currency,
            fund=fund,
            campaign=campaign,
            frequency=frequency,
            method=method,
            next_due=None if once else next_due or today,
            day_of_month=0 if once else (next_due or today).day,
            language=_language(language) or contact.language or org.language,
            iban=iban,
            bic=bic,
            account_holder=account_holder,
            mandate_reference=mandate_reference,
            mandate_signed_at=mandate_signed_at,
            provider_customer_id=(provider_customer_id or "")[:100],
            provider_mandate_id=(provider_mandate_id or "")[:100],
        )
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.plan.created",
            subject=plan,
            extra={"method": method, "frequency": frequency},
        )
    return plan


def update_plan(
    *,
    plan: RecurringPlan,
    actor: Actor,
    amount_minor: int | None = None,
    fund: Fund | None = None,
    status: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
    account_holder: str | None = None,
    next_due: datetime.date | None = None,
    skip_next: bool = False,
) -> RecurringPlan:
    """Change a plan: its amount, fund, bank account (and its holder's name), next date;
    pause, resume or cancel it; or skip the next collection (`skip_next`: next_due moves on
    one period).

    A resumed plan whose date has passed is due again from today's period onwards.
    A new IBAN under a SEPA mandate makes the next collection a first one (FRST) again.
    Errors: Conflict for a cancelled plan (cancelling one again is a no-op); Invalid (fields).
    """
    org = plan.organization
    with transaction.atomic():
        locked = RecurringPlan.objects.select_for_update().get(pk=plan.pk)
        cancelled = RecurringPlan.Status.CANCELLED
        if locked.status == cancelled:
            if status == cancelled:
                return locked
            raise Conflict(_("This recurring gift was cancelled."))
        changed: list[str] = []
        if amount_minor is not None:
            locked.amount_minor = _check_amount_minor(amount_minor)
            changed.append("amount_minor")
        if fund is not None:
            locked.fund = _usable_fund(org, fund)
            changed.append("fund")
        if iban is not None or bic is not None or account_holder is not None:
            if locked.method != Method.SEPA:
                raise Invalid(
                    _("An IBAN and mandate are only for SEPA direct debits."), field="iban"
                )
            if iban is not None:
                new_iban, derived_bic = _iban(iban)
                if new_iban != locked.iban:
                    locked.first_collected = False
                locked.iban = new_iban
                locked.bic = derived_bic
                changed.append("iban")
            if bic:
                locked.bic = _bic(bic)
                changed.append("bic")
            if account_holder is not None:
                locked.account_holder = _text(account_holder, field="account_holder", limit=70)
                changed.append("account_holder")
            if not locked.bic:
                raise Invalid(_("Give the BIC of this account."), field="bic")
        if next_due is not None:
            locked.next_due = next_due
            locked.day_of_month = next_due.day
            changed.append("next_due")
        if skip_next:
            locked.next_due = next_due_after(locked)
            changed.append("next_due")
        if status is not None and status != locked.status:
            if status not in RecurringPlan.Status.values:
                raise Invalid(_("Unknown status."), field="status")
            if status == cancelled:
                locked.cancelled_at = timezone.now()
            elif status == RecurringPlan.Status.ACTIVE:
                today = timezone.localdate(timezone=_zone(org))
                while locked.next_due and locked.next_due < today:
                    locked.next_due = next_due_after(locked)
                locked.failures = 0
            locked.status = status
            changed.append("status")
        locked.save()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.plan.updated",
            subject=locked,
            extra={"fields": sorted(set(changed)), "status": locked.status},
        )
    return locked


# --- payment providers and settings --------------------------------------------------------

_PROVIDER_FIELDS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    # kind: (public settings, secrets, default api_base_url)
    PaymentProvider.Kind.STRIPE: (
        frozenset({"api_base_url"}),
        frozenset({"secret_key", "webhook_secret"}),
        "https://api.stripe.com",
    ),
    PaymentProvider.Kind.MOLLIE: (
        frozenset({"api_base_url"}),
        frozenset({"api_key", "webhook_secret"}),
        "https://api.mollie.com",
    ),
    PaymentProvider.Kind.SEPA: (
        frozenset({"creditor_name", "creditor_iban", "creditor_bic", "creditor_id"}),
        frozenset(),
        "",
    ),
}
PROVIDER_SECRETS = {kind: fields[1] for kind, fields in _PROVIDER_FIELDS.items()}
# Secrets an account works without: Mollie signs its webhooks only once a signing secret is
# set up in its dashboard; unsigned webhooks are still verified by fetching the payment back.
_OPTIONAL_SECRETS = {PaymentProvider.Kind.MOLLIE: frozenset({"webhook_secret"})}


def _base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(_("Give a web address (http or https)."), field="api_base_url")
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(value) > 300:
        raise Invalid(_("Give a web address (http or https)."), field="api_base_url")
    return value.strip().rstrip("/")


def _sepa_settings(settings: dict[str, str]) -> dict[str, str]:
    name = settings.get("creditor_name", "")
    # SEPA's character set: the bank refuses a file with anything else in the name.
    allowed = set(string.ascii_letters + string.digits + "/-?:().,'+ ")
    if not name.strip() or len(name) > 70 or set(name) - allowed:
        raise Invalid(
            _("Up to 70 Latin letters, digits, spaces and / - ? : ( ) . , ' +."),
            field="creditor_name",
        )
    iban, derived_bic = _iban(settings.get("creditor_iban", ""), field="creditor_iban")
    bic = settings.get("creditor_bic", "")
    bic = _bic(bic, field="creditor_bic") if bic else derived_bic
    if not bic:
        raise Invalid(_("Give the BIC of this account."), field="creditor_bic")
    try:
        creditor_id = at_02.validate(settings.get("creditor_id", ""))
    except Exception:  # stdnum's ValidationError family
        raise Invalid(
            _("This is not a valid SEPA creditor identifier."), field="creditor_id"
        ) from None
    return {
        "creditor_name": name.strip(),
        "creditor_iban": iban,
        "creditor_bic": bic,
        "creditor_id": creditor_id,
    }


def configure_payment_provider(
    *,
    org: Organization,
    actor: Actor,
    kind: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
    enabled: bool = True,
) -> PaymentProvider:
    """Create or replace the organization's account with a payment provider.

    stripe: secrets `secret_key`, `webhook_secret`; mollie: `api_key` and, optionally,
    `webhook_secret` (then every webhook must carry a valid signature); both an optional
    `api_base_url` (http/https; the provider's own by default). sepa: `creditor_name`,
    `creditor_iban`, `creditor_bic` (derived from the IBAN when left out) and `creditor_id`
    (its ISO 7064 check digits are checked). Secrets are write-only: an empty or missing
    secret keeps the stored one. Errors: Invalid for an unknown kind or field, a missing
    secret, a bad address, IBAN, BIC or creditor identifier.
    """
    if kind not in _PROVIDER_FIELDS:
        raise Invalid(_("Unknown payment provider."), field="kind")
    public_fields, secret_fields, default_url = _PROVIDER_FIELDS[kind]
    settings = dict(settings or {})
    secrets = dict(secrets or {})
    for field, value in {**settings, **secrets}.items():
        if field not in public_fields | secret_fields:
            raise Invalid(_("Unknown setting."), field=field)
        if value is not None and (not isinstance(value, str) or not _storable(value)):
            raise Invalid(_("Give this as text."), field=field)
    if kind == PaymentProvider.Kind.SEPA:
        clean = _sepa_settings({k: v or "" for k, v in settings.items()})
    else:
        clean = {"api_base_url": _base_url(settings.get("api_base_url") or default_url)}
    with transaction.atomic():
        provider = (
            PaymentProvider.objects.select_for_update().filter(organization=org, kind=kind).first()
        )
        stored = dict(provider.secrets) if provider is not None else {}
        for field in secret_fields:
            value = (secrets.get(field) or "").strip()
            if value:
                stored[field] = value
            if not stored.get(field) and field not in _OPTIONAL_SECRETS.get(kind, ()):
                raise Invalid(_("This secret is required."), field=field)
        if provider is None:
            provider = PaymentProvider(organization=org, kind=kind)
        provider.settings = clean
        provider.secrets = stored
        provider.enabled = bool(enabled)
        provider.save()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.provider.configured",
            subject=provider,
            # Which secrets changed, never their values.
            extra={"kind": kind, "secrets_set": sorted(f for f in secret_fields if secrets.get(f))},
        )
    return provider


_SETTINGS_TEXT = {"legal_name": 200, "tax_id": 40}


def update_fundraising_settings(
    *, org: Organization, actor: Actor, **changes: Any
) -> FundraisingSettings:
    """Change what receipts and donation pages need: legal_name, tax_id, address,
    fiscal_year_start_month (1–12), preset_amounts (minor units), texts per language,
    bank_iban, bank_bic (derived from the IBAN when not given). Errors: Invalid."""
    allowed = {*_SETTINGS_TEXT, "address", "fiscal_year_start_month", "preset_amounts"}
    allowed |= {"texts", "bank_iban", "bank_bic"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(_("Unknown field."), field=sorted(unknown)[0])
    with transaction.atomic():
        current, _created = FundraisingSettings.objects.select_for_update().get_or_create(
            organization=org
        )
        for field, limit in _SETTINGS_TEXT.items():
            if field in changes:
                setattr(current, field, _text(changes[field], field=field, limit=limit))
        if "address" in changes:
            current.address = (changes["address"] or "").strip()
        if "fiscal_year_start_month" in changes:
            month = changes["fiscal_year_start_month"]
            if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
                raise Invalid(_("A month from 1 to 12."), field="fiscal_year_start_month")
            current.fiscal_year_start_month = month
        if "preset_amounts" in changes:
            current.preset_amounts = _preset_amounts(changes["preset_amounts"])
        if "texts" in changes:
            current.texts = _texts(changes["texts"])
        if "bank_iban" in changes:
            if changes["bank_iban"]:
                current.bank_iban, current.bank_bic = _iban(changes["bank_iban"], field="bank_iban")
            else:
                current.bank_iban = current.bank_bic = ""
        if changes.get("bank_bic"):
            current.bank_bic = _bic(changes["bank_bic"], field="bank_bic")
        current.save()
        audit.record(
            org=org,
            actor=actor,
            code="fundraising.settings.updated",
            subject=current,
            extra={"fields": sorted(changes)},
        )
    return current
