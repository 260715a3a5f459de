"""Forms of the staff contact pages. They check types and shapes; the actions own the rules."""

import re
from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from solidaria.core.errors import Invalid
from solidaria.core.models import Organization
from solidaria.people.models import (
    ActivityKind,
    Channel,
    Contact,
    ContactKind,
    ContactRoleKind,
    RelationshipKind,
)
from solidaria.people.queries import ContactFilters

# The interface languages first, then languages the people our users serve often speak.
OTHER_LANGUAGES = {
    "am": _("Amharic"),
    "ber": _("Amazigh (Berber)"),
    "bg": _("Bulgarian"),
    "bm": _("Bambara"),
    "bn": _("Bengali"),
    "eu": _("Basque"),
    "fa": _("Persian"),
    "ff": _("Fula"),
    "gl": _("Galician"),
    "hi": _("Hindi"),
    "ku": _("Kurdish"),
    "nl": _("Dutch"),
    "pl": _("Polish"),
    "ps": _("Pashto"),
    "pt": _("Portuguese"),
    "ro": _("Romanian"),
    "ru": _("Russian"),
    "so": _("Somali"),
    "sq": _("Albanian"),
    "sw": _("Swahili"),
    "ti": _("Tigrinya"),
    "tl": _("Tagalog"),
    "tr": _("Turkish"),
    "uk": _("Ukrainian"),
    "ur": _("Urdu"),
    "wo": _("Wolof"),
    "zh": _("Chinese"),
}


def language_name(code: str) -> str:
    """A language code's name in the reader's language, or the code when we have no name."""
    names = {**settings.LANGUAGE_NAMES, **OTHER_LANGUAGES}
    return str(names.get(code, code))


def language_choices(*, extra: str = "", blank: str = "") -> list[Any]:
    interface = [(code, settings.LANGUAGE_NAMES[code]) for code, _name in settings.LANGUAGES]
    others = list(OTHER_LANGUAGES.items())
    known = {code for code, _name in interface + others}
    if extra and extra not in known:  # a code from an import or the API: keep it selectable
        others.append((extra, extra))
    return [
        ("", blank or _("Not known")),
        (_("Interface languages"), interface),
        (_("Other languages"), others),
    ]


def apply_invalid(form: forms.Form, error: Invalid, aliases: dict[str, str] | None = None) -> None:
    """Show a domain error's messages next to the fields they name (or above the form)."""
    aliases = aliases or {}
    for field, messages in (error.errors or {"": [error.message]}).items():
        name = aliases.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


# The contact's own fields that the form edits one to one (emails, phones and tags are lists).
CONTACT_SCALAR_FIELDS = (
    "kind",
    "given_name",
    "family_name",
    "name",
    "preferred_channel",
    "language",
    "street",
    "postal_code",
    "city",
    "region",
    "country",
    "birth_date",
    "notes",
    "external_id",
)


class ContactFilterForm(forms.Form):
    """The search box and filters above the contact list. Bad values are ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Name, email or phone"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *ContactKind.choices]
    )
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("Any role")), *ContactRoleKind.choices]
    )
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args: Any, tags: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", _("Any tag")), *((t, t) for t in tags)]
        # The same list as the contact form: asking the database which languages occur would
        # scan every contact on every page view.
        selected = str(self.data.get("language", "")) if self.is_bound else ""
        self.fields["language"].choices = language_choices(
            extra=selected[:8], blank=_("Any language")
        )

    def filters(self) -> ContactFilters:
        if not self.is_bound:
            return ContactFilters()
        self.is_valid()
        data = self.cleaned_data
        return ContactFilters(
            q=data.get("q", ""),
            kind=data.get("kind", ""),
            role=data.get("role", ""),
            tag=data.get("tag", ""),
            language=data.get("language", ""),
        )


def format_phone(number: str, *, country: str) -> str:
    """An E.164 number as people write it: national when it is from `country`."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    same_country = country and phonenumbers.region_code_for_number(parsed) == country.upper()
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if same_country
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


_MIN_INPUTS = 3  # empty inputs shown for emails and phones, so most people need no more
_MAX_INPUTS = 20


def _input_count(data: Any, prefix: str, existing: int) -> int:
    """How many numbered inputs (`email_0`, …) to build: enough for what exists or was posted."""
    posted = [int(m.group(1)) for key in data or {} if (m := re.fullmatch(rf"{prefix}_(\d+)", key))]
    count = max(_MIN_INPUTS, existing + 1, max(posted, default=-1) + 1)
    return min(count, _MAX_INPUTS)


class ContactForm(forms.Form):
    """Create or edit a contact; `action_data()` is what create/update_contact receive."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices)
    given_name = forms.CharField(
        label=_("Given name"), max_length=100, required=False, help_text=_("For a person.")
    )
    family_name = forms.CharField(
        label=_("Family name"), max_length=100, required=False, help_text=_("For a person.")
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_(
            "For an organization or a household. A person's name is made from the given "
            "and family names."
        ),
    )
    # email_0…, phone_0… are added in __init__
    preferred_channel = forms.ChoiceField(
        label=_("Preferred channel"),
        required=False,
        choices=[("", _("No preference")), *Channel.choices],
    )
    language = forms.ChoiceField(label=_("Language"), required=False)
    street = forms.CharField(label=_("Street address"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        required=False,
        help_text=_("Two-letter code, such as ES, FR or MA."),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        required=False,
        choices=ContactRoleKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas.")
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    external_id = forms.CharField(
        label=_("External id"),
        max_length=100,
        required=False,
        help_text=_("This contact's id in another system, such as a spreadsheet you import."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        org: Organization,
        contact: Contact | None = None,
        **kwargs: Any,
    ) -> None:
        self.org = org
        emails: list[str] = []
        phones: list[str] = []
        initial: dict[str, Any] = {"kind": ContactKind.PERSON, "country": org.country}
        if contact is not None:
            emails = [e.email for e in contact.emails.all()]
            phones = [format_phone(p.number, country=org.country) for p in contact.phones.all()]
            initial = {field: getattr(contact, field) for field in CONTACT_SCALAR_FIELDS}
            initial["roles"] = [r.role for r in contact.roles.all()]
            initial["tags"] = ", ".join(ct.tag.name for ct in contact.contact_tags.all())
        super().__init__(data, initial=initial, **kwargs)
        self.fields["language"].choices = language_choices(extra=initial.get("language", ""))
        self.email_names = self._add_inputs("email", emails, data)
        self.phone_names = self._add_inputs("phone", phones, data)

    def _add_inputs(self, prefix: str, values: list[str], data: Any) -> list[str]:
        names = []
        for i in range(_input_count(data, prefix, len(values))):
            name = f"{prefix}_{i}"
            if prefix == "email":
                label = _("Email %(number)s") % {"number": i + 1}
                widget = forms.EmailInput(attrs={"autocomplete": "off"})
                max_length = 254
            else:
                label = _("Phone %(number)s") % {"number": i + 1}
                widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
                max_length = 40
            help_text = ""
            if i == 0:
                help_text = (
                    _("The first address is the main one.")
                    if prefix == "email"
                    else _("Numbers from another country start with + and the country code.")
                )
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=max_length,
                widget=widget,
                help_text=help_text,
            )
            if i < len(values):
                self.initial[name] = values[i]
            names.append(name)
        return names

    @property
    def email_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.email_names]

    @property
    def phone_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.phone_names]

    def action_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = (*CONTACT_SCALAR_FIELDS, "roles")
        result = {field: data[field] for field in fields}
        result["emails"] = [data[name] for name in self.email_names if data[name].strip()]
        result["phones"] = [data[name] for name in self.phone_names if data[name].strip()]
        result["tags"] = [tag for tag in data["tags"].split(",") if tag.strip()]
        return result

    def apply_invalid(self, error: Invalid) -> None:
        """Map the action's errors to fields; an email or phone error to the input it names."""
        errors = dict(error.errors or {"": [error.message]})
        for group, names, message in (
            (
                "emails",
                self.email_names,
                _("Enter a valid email address, such as ana@example.org."),
            ),
            (
                "phones",
                self.phone_names,
                _("Enter a valid phone number; a number from another country starts with +."),
            ),
        ):
            for domain_message in errors.pop(group, []):
                bad = [
                    name
                    for name in names
                    if self.cleaned_data.get(name, "").strip()
                    and f"“{self.cleaned_data[name].strip()}”" in domain_message
                ]
                for name in bad or names[:1]:
                    if name not in self.errors:
                        self.add_error(name, message if bad else domain_message)
        if errors:
            apply_invalid(self, Invalid(error.message, errors=errors))


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "activity-%s")
        super().__init__(*args, **kwargs)


class RelationshipForm(forms.Form):
    kind = forms.ChoiceField(label=_("Relationship"), choices=RelationshipKind.choices)
    to_contact = forms.IntegerField(
        label=_("Contact"),
        widget=forms.Select,
        error_messages={"required": _("Choose a contact.")},
    )

    def __init__(self, *args: Any, candidates: list[Contact], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "relationship-%s")
        super().__init__(*args, **kwargs)
        self.set_candidates(candidates)

    def set_candidates(self, candidates: list[Contact]) -> None:
        choices: list[tuple[Any, str]] = [
            ("", _("Choose a contact") if candidates else _("No contact found"))
        ]
        for candidate in candidates:
            emails = list(candidate.emails.all())
            label = f"{candidate.name} · {emails[0].email}" if emails else candidate.name
            choices.append((candidate.pk, label))
        self.fields["to_contact"].widget.choices = choices
