"""The form staff use to record a grant or a withdrawal of consent."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from solidaria.consent.defaults import purpose_label
from solidaria.consent.models import LawfulBasis, Purpose
from solidaria.people.models import Channel


def _granted(value: str) -> bool:
    return value == "yes"


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    granted = forms.TypedChoiceField(
        label=_("Answer"),
        choices=[("yes", _("Grant: they agree")), ("no", _("Withdraw: they do not agree"))],
        coerce=_granted,
        widget=forms.RadioSelect,
        initial="yes",
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=100,
        initial="staff",
        help_text=_("Where the answer came from: staff, a paper form, a phone call…"),
    )
    lawful_basis = forms.ChoiceField(
        label=_("Lawful basis"), choices=LawfulBasis.choices, initial=LawfulBasis.CONSENT
    )
    wording_version = forms.CharField(
        label=_("Wording version"),
        max_length=50,
        required=False,
        help_text=_("Which version of the consent text the person saw, if you keep versions."),
    )
    at = forms.DateTimeField(
        label=_("When"),
        required=False,
        help_text=_("Leave empty for now; a date in the past for a paper form."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args: Any, purposes: list[Purpose], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "consent-%s")
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [(p.code, purpose_label(p.code, p.name)) for p in purposes]
