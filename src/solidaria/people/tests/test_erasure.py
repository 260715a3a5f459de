"""What an erased contact looks like to the people who still see its row."""

import pytest
from django.utils import translation

from solidaria.core.tests.factories import OrganizationFactory
from solidaria.people.actions import erase_contact
from solidaria.people.models import ContactRole
from solidaria.people.tests.factories import TEST_ACTOR, make_contact

pytestmark = pytest.mark.django_db


def test_an_erased_contact_is_labelled_in_the_readers_language_and_keeps_no_roles():
    # given
    org = OrganizationFactory()
    contact = make_contact(org, roles=["beneficiary", "donor"], language="ar")

    # when
    erased = erase_contact(org=org, actor=TEST_ACTOR, contact=contact)

    # then
    assert erased.name == f"Erased contact #{erased.pk}"  # stable for the API
    with translation.override("de"):
        assert erased.display_name == f"Gelöschter Kontakt Nr. {erased.pk}"
    with translation.override("ar"):
        assert str(erased) == f"جهة اتصال ممحوة رقم {erased.pk}"
    assert not ContactRole.objects.filter(contact=erased).exists()
    assert erased.language == ""
