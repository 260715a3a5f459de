"""Secrets at rest: encrypted in the database, readable only with the configured keys."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from solidaria.core.crypto import WrongKeyError, decrypt, encrypt
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.fundraising.models import PaymentProvider

pytestmark = pytest.mark.django_db


def _raw_secrets(provider: PaymentProvider) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets FROM fundraising_paymentprovider WHERE id = %s", [provider.pk]
        )
        return cursor.fetchone()[0]


def test_secrets_are_stored_encrypted_and_read_back_in_clear():
    # given
    org = OrganizationFactory()

    # when
    provider = PaymentProvider.objects.create(
        organization=org, kind="mollie", secrets={"api_key": "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"}
    )

    # then
    raw = _raw_secrets(provider)
    assert "dHar4XY7" not in raw
    assert PaymentProvider.objects.get(pk=provider.pk).secrets == {
        "api_key": "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
    }


def test_a_value_no_configured_key_opens_raises_instead_of_returning_ciphertext(settings):
    # given
    token = encrypt("IBAN ES91 2100 0418 4502 0005 1332")

    # when
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    # then
    with pytest.raises(WrongKeyError):
        decrypt(token)


def test_keys_rotate_a_new_first_key_encrypts_and_the_old_one_still_decrypts(settings):
    # given
    old = settings.ENCRYPTION_KEYS[0]
    token = encrypt("secret")
    new = Fernet.generate_key().decode()

    # when
    settings.ENCRYPTION_KEYS = [new, old]
    fresh = encrypt("secret")

    # then
    assert decrypt(token) == "secret"
    settings.ENCRYPTION_KEYS = [new]
    assert decrypt(fresh) == "secret"
    with pytest.raises(WrongKeyError):
        decrypt(token)
