"""Secrets encrypted at rest: model fields whose database value is a Fernet token.

The keys come from `settings.ENCRYPTION_KEYS` (SOLIDARIA_ENCRYPTION_KEYS, or a key generated
once under the data directory), never from the database, so a dump alone reveals nothing.
The first key encrypts; every key decrypts, so keys can be rotated by putting a new one first.
A value that no key opens raises `WrongKey` instead of handing back ciphertext as if it were
the secret.
"""

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class WrongKeyError(Exception):
    """The stored value was encrypted with a key that is not in ENCRYPTION_KEYS."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plain: str) -> str:
    return _fernet(tuple(settings.ENCRYPTION_KEYS)).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(tuple(settings.ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise WrongKeyError(
            "An encrypted value cannot be read with the configured SOLIDARIA_ENCRYPTION_KEYS."
        ) from None


class EncryptedTextField(models.TextField):
    """Text stored encrypted; the empty string stays empty (nothing to hide, and queryable)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON object stored encrypted as one token; reads back as a dict."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        return value if isinstance(value, dict) else json.loads(value or "{}")

    def get_prep_value(self, value: Any) -> Any:
        return encrypt(json.dumps(value or {}, sort_keys=True))
