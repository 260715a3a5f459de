"""Suite-wide test settings only; fixtures live next to the tests that use them."""

from django.conf import settings


def pytest_configure() -> None:
    # Argon2 is deliberately slow; the suite creates hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
