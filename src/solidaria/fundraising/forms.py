"""Forms of the staff fundraising pages. They check types and shapes; the actions own the rules.

Amounts are typed as decimals in the currency's major unit ("12.50") and turned into minor
units by `actions.to_minor`, which refuses more decimals than the currency has.
"""

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from solidaria.core.errors import Invalid
from solidaria.fundraising import actions
from solidaria.fundraising.models import (
    Campaign,
    Donation,
    Fund,
    FundraisingSettings,
    Method,
    RecurringPlan,
)
from solidaria.fundraising.queries import DonationFilters
from solidaria.people.forms import apply_invalid

# The interface languages: every public text can be written in each.
LANGUAGES = [code for code, _name in settings.LANGUAGES]
CAMPAIGN_TEXTS = ("title", "summary", "body")
SETTINGS_TEXTS = ("intro", "thanks", "receipt_footer")
# Methods staff record by hand: the money is already here.
RECORDED_METHODS = [(m.value, m.label) for m in (Method.CASH, Method.CHEQUE, Method.BANK_TRANSFER)]
# Suggestions for an expense's category; any short word is accepted.
EXPENSE_CATEGORIES = (
    "food",
    "supplies",
    "rent",
    "utilities",
    "transport",
    "salaries",
    "equipment",
    "services",
    "fees",
    "training",
)
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_STATEMENT_BYTES = 20 * 1024 * 1024

__all__ = ["apply_invalid"]


def fund_choices(funds: list[Fund], *, blank: str = "") -> list[tuple[str, str]]:
    choices = [(fund.slug, f"{fund.name} ({fund.slug})") for fund in funds]
    return [("", blank), *choices] if blank else choices


def campaign_choices(campaigns: list[Campaign], *, blank: str) -> list[tuple[str, str]]:
    return [("", blank), *((c.slug, c.title) for c in campaigns)]


class AmountField(forms.DecimalField):
    """A positive decimal amount; the currency's rules are checked by `to_minor`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Amount"))
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("max_digits", 15)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")


class CurrencyField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Currency"))
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("min_length", 3)
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocapitalize": "characters", "size": "4"})

    def clean(self, value: Any) -> str:
        return str(super().clean(value) or "").upper()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


class DayField(forms.DateField):
    """A calendar day within reason: years 1900–9998 (a typo like 0202 is an error, not a 500)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", DateInput())
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not datetime.date(1900, 1, 1) <= value <= datetime.date(9998, 12, 31):
            raise forms.ValidationError(_("Enter a date between 1900 and 9998."))


def moment_of(day: datetime.date) -> datetime.datetime:
    """A day typed by staff as a moment: now for today, else noon in the current time zone.

    Pages run in the organization's time zone (`org_view`), so the day is the local one."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def minor_or_error(
    form: forms.Form, amount: Decimal | None, currency: str, field: str = "amount"
) -> int | None:
    """The amount in minor units, or None with the error shown on `field`."""
    if amount is None:
        return None
    try:
        return actions.to_minor(amount, currency, field=field)
    except Invalid as error:
        apply_invalid(form, error, {"currency": "currency"})
        return None


def parse_presets(text: str, currency: str) -> list[int]:
    """ "10, 25, 50" → [1000, 2500, 5000] in `currency`'s minor units. Invalid otherwise."""
    amounts = [part.strip() for part in (text or "").replace(";", ",").split(",")]
    return [actions.to_minor(part, currency, field="preset_amounts") for part in amounts if part]


def presets_text(presets: list[int], currency: str) -> str:
    return ", ".join(str(actions.from_minor(p, currency)) for p in presets or [])


# --- funds and campaigns -------------------------------------------------------------------


class FundForm(forms.Form):
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=50,
        help_text=_("Shown in the public ledger; it never changes. Lowercase, digits, hyphens."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    restricted = forms.BooleanField(
        label=_("Restricted (the money is kept for this purpose)"), required=False
    )
    archived = forms.BooleanField(label=_("Archived (no new gifts)"), required=False)

    def __init__(self, *args: Any, fund: Fund | None = None, **kwargs: Any) -> None:
        if fund is not None:
            kwargs.setdefault(
                "initial",
                {
                    "slug": fund.slug,
                    "name": fund.name,
                    "description": fund.description,
                    "restricted": fund.restricted,
                    "archived": fund.archived_at is not None,
                },
            )
        super().__init__(*args, **kwargs)
        if fund is None:
            del self.fields["archived"]
            self.fields["restricted"].initial = True
        else:
            del self.fields["slug"]


class CampaignForm(forms.Form):
    """A campaign with its texts in every interface language (one fieldset per language)."""

    slug = forms.SlugField(
        label=_("Slug"), max_length=50, help_text=_("Part of its public address.")
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    fund = forms.ChoiceField(label=_("Fund"))
    goal = AmountField(label=_("Goal"), required=False, help_text=_("Leave empty for no goal."))
    currency = CurrencyField()
    starts_on = DayField(label=_("Starts on"), required=False)
    ends_on = DayField(label=_("Ends on"), required=False)
    preset_amounts = forms.CharField(
        label=_("Preset amounts"),
        required=False,
        max_length=200,
        help_text=_("Up to 8 amounts separated by commas, e.g. 10, 25, 50."),
    )
    published = forms.BooleanField(label=_("Published"), required=False)

    def __init__(
        self,
        *args: Any,
        funds: list[Fund],
        campaign: Campaign | None = None,
        default_currency: str = "",
        **kwargs: Any,
    ) -> None:
        if campaign is not None:
            initial = {
                "slug": campaign.slug,
                "title": campaign.title,
                "fund": campaign.fund.slug,
                "goal": actions.from_minor(campaign.goal_minor, campaign.currency)
                if campaign.goal_minor
                else None,
                "currency": campaign.currency,
                "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "preset_amounts": presets_text(campaign.preset_amounts, campaign.currency),
                "published": campaign.published,
            }
            for lang in LANGUAGES:
                texts = (campaign.texts or {}).get(lang, {})
                for key in CAMPAIGN_TEXTS:
                    initial[f"{key}_{lang}"] = texts.get(key, "")
            kwargs.setdefault("initial", initial)
        else:
            kwargs.setdefault("initial", {"currency": default_currency})
        super().__init__(*args, **kwargs)
        self.fields["fund"].choices = fund_choices(funds)
        for lang in LANGUAGES:
            self.fields[f"title_{lang}"] = forms.CharField(
                label=_("Title"), required=False, max_length=200
            )
            self.fields[f"summary_{lang}"] = forms.CharField(
                label=_("Summary"), required=False, max_length=500
            )
            self.fields[f"body_{lang}"] = forms.CharField(
                label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 5})
            )
            for key in CAMPAIGN_TEXTS:
                self.fields[f"{key}_{lang}"].widget.attrs["lang"] = lang

    def language_groups(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(code, name, its three fields) per language, for one fieldset each."""
        return [
            (
                lang,
                str(settings.LANGUAGE_NAMES[lang]),
                [self[f"{key}_{lang}"] for key in CAMPAIGN_TEXTS],
            )
            for lang in LANGUAGES
        ]

    def texts(self) -> dict[str, dict[str, str]]:
        data = self.cleaned_data
        texts: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            entry = {key: data.get(f"{key}_{lang}", "") for key in CAMPAIGN_TEXTS}
            if any(entry.values()):
                texts[lang] = entry
        return texts

    def action_data(self, funds: dict[str, Fund]) -> dict[str, Any] | None:
        """The action's keyword arguments, or None with the errors shown on the form."""
        data = self.cleaned_data
        currency = data["currency"]
        try:
            goal = actions.to_minor(data["goal"], currency, field="goal") if data["goal"] else 0
            presets = parse_presets(data["preset_amounts"], currency)
        except Invalid as error:
            apply_invalid(self, error)
            return None
        return {
            "title": data["title"],
            "fund": funds[data["fund"]],
            "texts": self.texts(),
            "goal_minor": goal,
            "currency": currency,
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "preset_amounts": presets,
            "published": data["published"],
        }


# --- gifts ---------------------------------------------------------------------------------


class DonationFilterForm(forms.Form):
    """The filters above the gift list. Bad values are shown as errors and ignored."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Donation.Status.choices]
    )
    method = forms.ChoiceField(
        label=_("Method"), required=False, choices=[("", _("Any method")), *Method.choices]
    )
    fund = forms.ChoiceField(label=_("Fund"), required=False)
    campaign = forms.ChoiceField(label=_("Campaign"), required=False)
    date_from = DayField(label=_("Received from"), required=False)
    date_to = DayField(label=_("Received until"), required=False)
    ref = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=40,
        help_text=_("Public reference, transfer reference or receipt number"),
    )
    # One donor's gifts, from the contact page's gifts panel.
    contact = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, funds: list[Fund], campaigns: list[Campaign], **kwargs: Any):
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        self.fields["fund"].choices = fund_choices(funds, blank=str(_("Any fund")))
        self.fields["campaign"].choices = campaign_choices(campaigns, blank=str(_("Any campaign")))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end is before the start."))
        return data

    def filters(self) -> DonationFilters:
        if not self.is_bound:
            return DonationFilters()
        self.is_valid()
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        return DonationFilters(
            status=data.get("status", ""),
            method=data.get("method", ""),
            fund=data.get("fund", ""),
            campaign=data.get("campaign", ""),
            received_from=_local_midnight(start) if start else None,
            received_to=_local_midnight(end + datetime.timedelta(days=1)) if end else None,
            ref=data.get("ref", ""),
            contact_id=data.get("contact"),
        )


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


class RecordDonationForm(forms.Form):
    """A gift whose money is here: cash, a cheque, a transfer seen on the account."""

    contact = forms.IntegerField(
        label=_("Donor"),
        widget=forms.Select,
        error_messages={"required": _("Choose the donor.")},
    )
    amount = AmountField()
    currency = CurrencyField()
    method = forms.ChoiceField(label=_("Method"), choices=RECORDED_METHODS)
    fund = forms.ChoiceField(label=_("Fund"), required=False)
    campaign = forms.ChoiceField(label=_("Campaign"), required=False)
    received_on = DayField(label=_("Received on"))
    note = forms.CharField(
        label=_("Note (staff only)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        funds: list[Fund],
        campaigns: list[Campaign],
        candidates: list[Any],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", "gift-%s")
        super().__init__(*args, **kwargs)
        self.fields["fund"].choices = fund_choices(funds, blank=str(_("The campaign's or general")))
        self.fields["campaign"].choices = campaign_choices(campaigns, blank=str(_("No campaign")))
        self.set_candidates(candidates)

    def set_candidates(self, candidates: list[Any]) -> None:
        choices: list[tuple[Any, str]] = [
            ("", _("Choose a contact") if candidates else _("No contact found"))
        ]
        for candidate in candidates:
            emails = list(candidate.emails.all())
            label = f"{candidate.name} · {emails[0].email}" if emails else candidate.name
            choices.append((candidate.pk, label))
        self.fields["contact"].widget.choices = choices


class RefundForm(forms.Form):
    amount = AmountField(required=False, help_text=_("Leave empty to refund what is left."))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


# --- recurring plans -----------------------------------------------------------------------


class PlanAmountForm(forms.Form):
    amount = AmountField(label=_("New amount"))


PLAN_STATUS_ACTIONS = {
    "pause": RecurringPlan.Status.PAUSED,
    "resume": RecurringPlan.Status.ACTIVE,
    "cancel": RecurringPlan.Status.CANCELLED,
}


# --- the treasurer -------------------------------------------------------------------------


class ExpenseForm(forms.Form):
    fund = forms.ChoiceField(label=_("Fund"))
    amount = AmountField()
    currency = CurrencyField()
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        help_text=_("Public: say what was bought, never who was helped."),
    )
    category = forms.CharField(
        label=_("Category"),
        max_length=50,
        widget=forms.TextInput(attrs={"list": "expense-categories", "autocomplete": "off"}),
    )
    spent_on = DayField(label=_("Spent on"))
    evidence = forms.FileField(
        label=_("Evidence (invoice, receipt, photo)"),
        required=False,
        help_text=_("Its SHA-256 fingerprint is published in the ledger; the file stays private."),
    )

    def __init__(self, *args: Any, funds: list[Fund], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "expense-%s")
        super().__init__(*args, **kwargs)
        self.fields["fund"].choices = fund_choices(funds)

    def clean_evidence(self) -> Any:
        evidence = self.cleaned_data.get("evidence")
        if evidence is not None and evidence.size > MAX_EVIDENCE_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return evidence


class ReverseExpenseForm(forms.Form):
    reason = forms.CharField(label=_("Why is it reversed?"), max_length=200)


class AllocationForm(forms.Form):
    from_fund = forms.ChoiceField(label=_("From fund"))
    to_fund = forms.ChoiceField(label=_("To fund"))
    amount = AmountField()
    currency = CurrencyField()
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, funds: list[Fund], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "allocation-%s")
        super().__init__(*args, **kwargs)
        self.fields["from_fund"].choices = fund_choices(funds)
        self.fields["to_fund"].choices = fund_choices(funds)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("from_fund") and data.get("from_fund") == data.get("to_fund"):
            self.add_error("to_fund", _("Choose two different funds."))
        return data


class SepaExportForm(forms.Form):
    date = DayField(label=_("Collection date"))


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Bank statement"), help_text=_("CAMT.053 (XML) or MT940, as your bank gives it.")
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class MatchLineForm(forms.Form):
    ref = forms.CharField(
        label=_("Gift"),
        max_length=40,
        help_text=_("Its public reference (g-…), transfer reference (RF…) or receipt number."),
    )


class IgnoreLineForm(forms.Form):
    note = forms.CharField(label=_("Why"), max_length=200, required=False)


class AnnualStatementsForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=9999)


# --- payment providers and settings --------------------------------------------------------


class SecretInput(forms.PasswordInput):
    """Write-only: never rendered with its value; left empty, the stored secret stays."""

    def __init__(self) -> None:
        super().__init__(render_value=False, attrs={"autocomplete": "new-password"})


class StripeForm(forms.Form):
    secret_key = forms.CharField(label=_("Secret key"), required=False, widget=SecretInput())
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret"), required=False, widget=SecretInput()
    )
    api_base_url = forms.CharField(
        label=_("API address"),
        required=False,
        max_length=300,
        help_text=_("Leave empty for Stripe's own."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False)


class MollieForm(forms.Form):
    api_key = forms.CharField(label=_("API key"), required=False, widget=SecretInput())
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret"),
        required=False,
        widget=SecretInput(),
        help_text=_("Optional. Once set, Mollie webhooks without a valid signature are refused."),
    )
    api_base_url = forms.CharField(
        label=_("API address"),
        required=False,
        max_length=300,
        help_text=_("Leave empty for Mollie's own."),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False)


class SepaProviderForm(forms.Form):
    creditor_name = forms.CharField(label=_("Creditor name"), max_length=70)
    creditor_iban = forms.CharField(label=_("IBAN"), max_length=42)
    creditor_bic = forms.CharField(
        label=_("BIC"),
        max_length=11,
        required=False,
        help_text=_("Found from the IBAN when empty."),
    )
    creditor_id = forms.CharField(label=_("SEPA creditor identifier"), max_length=35)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)


PROVIDER_FORMS: dict[str, type[forms.Form]] = {
    "stripe": StripeForm,
    "mollie": MollieForm,
    "sepa": SepaProviderForm,
}


class SettingsForm(forms.Form):
    legal_name = forms.CharField(label=_("Legal name"), max_length=200, required=False)
    tax_id = forms.CharField(label=_("Tax id"), max_length=40, required=False)
    address = forms.CharField(
        label=_("Address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    fiscal_year_start_month = forms.TypedChoiceField(
        label=_("The fiscal year starts in"), coerce=int, choices=[]
    )
    preset_amounts = forms.CharField(
        label=_("Preset amounts"),
        required=False,
        max_length=200,
        help_text=_("Up to 8 amounts separated by commas, e.g. 10, 25, 50."),
    )
    bank_iban = forms.CharField(label=_("IBAN for transfers"), max_length=42, required=False)
    bank_bic = forms.CharField(
        label=_("BIC"),
        max_length=11,
        required=False,
        help_text=_("Found from the IBAN when empty."),
    )

    def __init__(
        self, *args: Any, current: FundraisingSettings, currency: str, **kwargs: Any
    ) -> None:
        initial = {
            "legal_name": current.legal_name,
            "tax_id": current.tax_id,
            "address": current.address,
            "fiscal_year_start_month": current.fiscal_year_start_month,
            "preset_amounts": presets_text(current.preset_amounts, currency),
            "bank_iban": current.bank_iban,
            "bank_bic": current.bank_bic,
        }
        for lang in LANGUAGES:
            texts = (current.texts or {}).get(lang, {})
            for key in SETTINGS_TEXTS:
                initial[f"{key}_{lang}"] = texts.get(key, "")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["fiscal_year_start_month"].choices = list(MONTHS.items())
        labels = {
            "intro": _("Donation page introduction"),
            "thanks": _("Thank-you text"),
            "receipt_footer": _("Receipt footer"),
        }
        for lang in LANGUAGES:
            for key in SETTINGS_TEXTS:
                self.fields[f"{key}_{lang}"] = forms.CharField(
                    label=labels[key],
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 3, "lang": lang}),
                )

    def language_groups(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        return [
            (
                lang,
                str(settings.LANGUAGE_NAMES[lang]),
                [self[f"{key}_{lang}"] for key in SETTINGS_TEXTS],
            )
            for lang in LANGUAGES
        ]

    def action_data(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        try:
            presets = parse_presets(data["preset_amounts"], self.currency)
        except Invalid as error:
            apply_invalid(self, error)
            return None
        texts: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            entry = {key: data.get(f"{key}_{lang}", "") for key in SETTINGS_TEXTS}
            if any(entry.values()):
                texts[lang] = entry
        return {
            "legal_name": data["legal_name"],
            "tax_id": data["tax_id"],
            "address": data["address"],
            "fiscal_year_start_month": data["fiscal_year_start_month"],
            "preset_amounts": presets,
            "bank_iban": data["bank_iban"].replace(" ", ""),
            "bank_bic": data["bank_bic"].strip(),
            "texts": texts,
        }
