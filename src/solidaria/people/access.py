"""The one way a request reaches a contact: through the acting organization."""

from django.utils.translation import gettext as _

from solidaria.core.errors import NotFound
from solidaria.core.models import Organization
from solidaria.people.models import Contact


def contact_for(*, org: Organization, contact_id: int | str) -> Contact:
    """The organization's contact with this id; NotFound for a missing or foreign one."""
    try:
        pk = int(contact_id)
    except (TypeError, ValueError):
        raise NotFound(_("No such contact.")) from None
    contact = Contact.objects.filter(organization=org, pk=pk).first()
    if contact is None:
        raise NotFound(_("No such contact."))
    return contact
