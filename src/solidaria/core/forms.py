"""Forms of the administration pages: they validate input; the actions decide."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from solidaria.core import queries
from solidaria.core.models import Organization, User
from solidaria.core.queries import AuditFilters
from solidaria.core.roles import Role


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return f"{obj.full_name} ({obj.email})" if obj.full_name else obj.email


class AuditFilterForm(forms.Form):
    code = forms.CharField(
        label=_("Event"),
        required=False,
        max_length=80,
        help_text=_("An exact code, or its beginning ending in a dot, such as “people.”."),
    )
    actor = StaffChoiceField(
        label=_("Staff member"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Anyone"),
    )
    subject_type = forms.CharField(
        label=_("Subject type"),
        required=False,
        max_length=40,
        help_text=_("Such as “core.membership”."),
    )
    subject_id = forms.CharField(label=_("Subject id"), required=False, max_length=40)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["actor"].queryset = queries.staff_users_for(org=org)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("subject_id") and not cleaned.get("subject_type"):
            self.add_error("subject_type", _("Give the subject type with the subject id."))
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> AuditFilters:
        """The filters of a valid form; dates are whole days in the organization's time zone."""
        data = self.cleaned_data
        actor = data.get("actor")
        return AuditFilters(
            code=data.get("code", "").strip(),
            actor_id=actor.pk if actor else None,
            subject_type=data.get("subject_type", "").strip(),
            subject_id=data.get("subject_id", "").strip(),
            since=self._start_of(data.get("date_from")),
            until=self._start_of(data["date_to"] + timedelta(days=1))
            if data.get("date_to")
            else None,
        )

    def _start_of(self, day: date | None) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(self.org.time_zone))


class AddStaffForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Without one, the person sets their own with “Forgot your password?” on the "
            "login page. Someone who already has an account keeps their password."
        ),
    )

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if password:
            password_validation.validate_password(password)
        return password


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, such as “Website sign-up form”."),
    )


class OrganizationSettingsForm(forms.Form):
    require_mfa = forms.BooleanField(
        label=_("Require two-factor authentication for all staff"),
        required=False,
        help_text=_(
            "Staff without an authenticator app or a security key are asked to set one up "
            "before they can open any page of the organization."
        ),
    )
