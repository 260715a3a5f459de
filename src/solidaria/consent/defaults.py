"""The purposes every new organization starts with (it can add its own)."""

from django.utils.translation import gettext_lazy as _

DEFAULT_PURPOSES = {
    "newsletter": (_("Newsletter"), _("News about our work, a few times a year.")),
    "fundraising": (_("Fundraising appeals"), _("Requests to support a campaign or give again.")),
    "project_updates": (_("Project updates"), _("What the projects you support achieved.")),
    "volunteering": (_("Volunteering calls"), _("Invitations to volunteer.")),
    "service": (_("Service messages"), _("Messages about a service you receive from us.")),
}


def purpose_label(code: str, stored_name: str) -> str:
    """A default purpose's name in the reader's language; an organization's own as stored."""
    if code in DEFAULT_PURPOSES:
        return str(DEFAULT_PURPOSES[code][0])
    return stored_name
