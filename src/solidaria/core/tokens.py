"""API token format: `sol_` + 40 url-safe random characters; stored as SHA-256 only."""

import hashlib
import secrets

TOKEN_PREFIX = "sol_"  # noqa: S105 (a marker, not a secret)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(30)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
