"""Forms of the public giving pages: the donation form and the "start your own page" form.

They check types and shapes, and turn what people type into Decimal amounts and minor units;
the domain actions own the rules. Amounts are read the way people write them in their language:
"12,50" and "1.000" in Spanish or German, "12.50" and "1,000" in English — and "12.50" in any
language, as the preset buttons and outside programs send it.
"""

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision, get_decimal_symbol
from django import forms
from django.utils.translation import gettext_lazy as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from solidaria.fundraising.models import Frequency, Method
from solidaria.people.normalize import clean_spaces, normalize_email

MIN_AMOUNT = Decimal("1.00")
# One gift above this is a typing slip (an extra zero or two), not a donation form's business.
MAX_AMOUNT = Decimal("1000000")
BUILT_IN_PRESETS = (10, 25, 50, 100)  # in major units, when neither campaign nor org set any

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Spaces, apostrophes and Arabic separators people put between thousands.
_GROUPING_MARKS = {" ", "\u00a0", "\u202f", "\u2009", "'", "’", "٬"}


def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def parse_amount(text: str, *, locale: str, currency: str) -> Decimal:
    """The amount a person typed, as a Decimal with at most the currency's minor digits.

    A lone separator is the decimal one unless it is followed by exactly three digits and is not
    the language's decimal symbol ("1.000" is a thousand in Spanish, "1.5" one and a half
    everywhere); with both "," and "." the last one is decimal. Raises ValueError with a message
    fit for the person.
    """
    cleaned = []
    for char in text.strip().translate(_ARABIC_DIGITS):
        if char in _GROUPING_MARKS or unicodedata.category(char) == "Sc":
            continue
        cleaned.append("." if char == "٫" else char)
    raw = "".join(cleaned).upper().removesuffix(currency.upper()).removeprefix(currency.upper())
    if not raw or any(char not in "0123456789.," for char in raw) or not raw[0].isdigit():
        raise ValueError(_("Enter an amount in numbers, such as 25 or 12.50."))
    separators = [char for char in raw if char in ".,"]
    if "." in separators and "," in separators:
        decimal_mark = separators[-1]
        group_mark = "," if decimal_mark == "." else "."
        if separators.count(decimal_mark) > 1:
            raise ValueError(_("Enter an amount in numbers, such as 25 or 12.50."))
        whole, _mark, fraction = raw.partition(decimal_mark)
        whole = _ungroup(whole, group_mark)
    elif separators:
        mark = separators[0]
        if len(separators) > 1:
            whole, fraction = _ungroup(raw, mark), ""
        else:
            whole, _mark, fraction = raw.partition(mark)
            if len(fraction) == 3 and mark != get_decimal_symbol(locale or "en"):
                whole, fraction = whole + fraction, ""
    else:
        whole, fraction = raw, ""
    if not whole or (fraction and not fraction.isdigit()):
        raise ValueError(_("Enter an amount in numbers, such as 25 or 12.50."))
    try:
        amount = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation as error:
        raise ValueError(_("Enter an amount in numbers, such as 25 or 12.50.")) from error
    digits = minor_digits(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-digits)):
        if digits == 0:
            raise ValueError(_("Enter a whole amount, without decimals."))
        raise ValueError(_("Use at most %(digits)d decimals.") % {"digits": digits})
    return amount


def _ungroup(text: str, mark: str) -> str:
    """Digits grouped by threes ("1.000.000"), without the marks; ValueError otherwise."""
    groups = text.split(mark)
    if not groups[0] or len(groups[0]) > 3 or any(len(group) != 3 for group in groups[1:]):
        raise ValueError(_("Enter an amount in numbers, such as 25 or 12.50."))
    return "".join(groups)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_digits(currency)))


def from_minor(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_digits(currency))


def check_amount_bounds(amount: Decimal) -> None:
    if amount < MIN_AMOUNT:
        raise ValueError(_("The smallest gift we can take is 1.00."))
    if amount > MAX_AMOUNT:
        raise ValueError(_("That is more than we can take online; please contact us."))


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    help: str = ""


@dataclass
class GivingOffer:
    """What one donation form offers: built by the view from the organization's settings."""

    locale: str
    currency: str
    presets: list[Choice]  # value: a machine amount ("25.00"), label: "25 €"
    methods: list[Choice]
    funds: list[Choice] = field(default_factory=list)  # empty: no choice (campaign's fund)
    purposes: list[Choice] = field(default_factory=list)
    default_amount: str = ""


HONEYPOT = "website"


class DonationForm(forms.Form):
    """One gift: amount, frequency, designation, method, who gives, and their consents."""

    amount = forms.CharField(label=_("Amount"), required=False, max_length=40)
    amount_other = forms.CharField(
        label=_("Other amount"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 10}),
    )
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3, required=False)
    campaign = forms.CharField(widget=forms.HiddenInput, max_length=50, required=False)
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=[(value, label) for value, label in Frequency.choices],
        initial=Frequency.ONCE,
        widget=forms.RadioSelect,
    )
    # Checked by the page against the organization's funds; a campaign page ignores it.
    fund = forms.CharField(label=_("Where your gift goes"), required=False, widget=forms.Select)
    method = forms.ChoiceField(label=_("How you pay"), widget=forms.RadioSelect)
    iban = forms.CharField(
        label=_("IBAN"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    account_holder = forms.CharField(label=_("Account holder"), required=False, max_length=70)
    mandate = forms.BooleanField(
        label=_("I sign this direct debit mandate"),
        required=False,
    )
    given_name = forms.CharField(
        label=_("Given name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label=_("Family name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    consents = forms.MultipleChoiceField(
        label=_("Keep in touch"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    # As the page shows them, so the error summary lists errors in the order people meet them.
    field_order = [
        "amount",
        "amount_other",
        "frequency",
        "fund",
        "given_name",
        "family_name",
        "email",
        "method",
        "iban",
        "account_holder",
        "mandate",
        "consents",
    ]

    def __init__(self, *args: Any, offer: GivingOffer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer = offer
        self.fields["currency"].initial = offer.currency
        self.fields["amount"].initial = offer.default_amount
        self.fields["method"].choices = [(m.value, m.label) for m in offer.methods]
        if len(offer.methods) == 1:
            self.fields["method"].initial = offer.methods[0].value
        self.fields["fund"].widget.choices = [("", _("Where it is most needed"))] + [
            (f.value, f.label) for f in offer.funds
        ]
        self.fields["consents"].choices = [(p.value, p.label) for p in offer.purposes]
        self.fields["amount_other"].label = _("Other amount (%(currency)s)") % {
            "currency": offer.currency
        }

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or self.offer.currency).upper()
        if currency != self.offer.currency:
            raise forms.ValidationError(
                _("Gifts here are in %(currency)s."), params={"currency": self.offer.currency}
            )
        return currency

    def clean_email(self) -> str:
        try:
            return normalize_email(self.cleaned_data["email"])
        except ValueError:
            raise forms.ValidationError(
                _("Enter an email address such as name@example.org.")
            ) from None

    def clean_given_name(self) -> str:
        value = clean_spaces(self.cleaned_data["given_name"])
        if not value:
            raise forms.ValidationError(_("This field is required."))
        return value

    def clean_family_name(self) -> str:
        return clean_spaces(self.cleaned_data.get("family_name", ""))

    def clean_account_holder(self) -> str:
        return clean_spaces(self.cleaned_data.get("account_holder", ""))

    def clean_website(self) -> str:
        if self.cleaned_data.get(HONEYPOT):
            # Filled only by robots: the field is hidden from people and screen readers.
            raise forms.ValidationError(_("Leave this field empty."))
        return ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        currency = self.offer.currency
        other = (data.get("amount_other") or "").strip()
        chosen = other or (data.get("amount") or "").strip()
        field_name = "amount_other" if other else "amount"
        if not chosen:
            self.add_error("amount", _("Choose or enter an amount."))
        else:
            try:
                amount = parse_amount(chosen, locale=self.offer.locale, currency=currency)
                check_amount_bounds(amount)
            except ValueError as error:
                self.add_error(field_name, str(error))
            else:
                data["amount_decimal"] = amount
                data["amount_minor"] = to_minor(amount, currency)
        if data.get("method") == Method.SEPA:
            self._clean_sepa(data)
        return data

    def _clean_sepa(self, data: dict[str, Any]) -> None:
        raw = (data.get("iban") or "").strip()
        if not raw:
            self.add_error("iban", _("Enter the IBAN of the account to debit."))
        else:
            try:
                data["iban"] = IBAN(raw).compact
            except SchwiftyException:
                self.add_error(
                    "iban", _("This is not a valid IBAN; check it on your bank card or statement.")
                )
        if not data.get("account_holder"):
            self.add_error("account_holder", _("Enter the name of the account holder."))
        if not data.get("mandate"):
            self.add_error(
                "mandate", _("Tick the box to sign the mandate, or choose another way to pay.")
            )


class StartPageForm(forms.Form):
    """A supporter's own page under a campaign."""

    given_name = DonationForm.base_fields["given_name"]
    family_name = DonationForm.base_fields["family_name"]
    email = DonationForm.base_fields["email"]
    title = forms.CharField(label=_("Title of your page"), max_length=200)
    story = forms.CharField(
        label=_("Why you support this campaign"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    goal = forms.CharField(
        label=_("Your goal"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 10}),
    )
    website = DonationForm.base_fields["website"]

    clean_given_name = DonationForm.clean_given_name
    clean_family_name = DonationForm.clean_family_name
    clean_email = DonationForm.clean_email
    clean_website = DonationForm.clean_website

    def __init__(self, *args: Any, locale: str, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale = locale
        self.currency = currency
        self.fields["goal"].label = _("Your goal (%(currency)s, optional)") % {"currency": currency}

    def clean_title(self) -> str:
        value = clean_spaces(self.cleaned_data["title"])
        if not value:
            raise forms.ValidationError(_("This field is required."))
        return value

    def clean_story(self) -> str:
        return self.cleaned_data.get("story", "").strip()

    def clean_goal(self) -> int:
        raw = (self.cleaned_data.get("goal") or "").strip()
        if not raw:
            return 0
        try:
            amount = parse_amount(raw, locale=self.locale, currency=self.currency)
            check_amount_bounds(amount)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        return to_minor(amount, self.currency)
