"""What every API router shares: the bearer token, the caller it stands for, error schemas.

`solidaria.api` installs `BearerToken` on every operation and maps errors to the schemas
below; each app's `api.py` starts its handlers with `caller_for(request, permission)`.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from ninja import Schema
from ninja.security import HttpBearer
from pydantic import ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from solidaria.core.access import require, token_for
from solidaria.core.audit import Actor
from solidaria.core.models import ApiToken, Membership, Organization


class BearerToken(HttpBearer):
    """`Authorization: Bearer sol_…`: an active token of a current member of the organization."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return token_for(token)


@dataclass(frozen=True)
class Caller:
    org: Organization
    membership: Membership
    actor: Actor


def caller_for(request: HttpRequest, permission: str) -> Caller:
    """The organization and actor behind the request's token; Forbidden without `permission`."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    membership: Membership = token.membership  # type: ignore[attr-defined]
    require(membership, permission)
    return Caller(
        org=token.organization, membership=membership, actor=Actor(user=token.user, via="api")
    )


class Error(Schema):
    detail: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(Schema):
    detail: list[FieldError]


def errors(*statuses: int) -> dict[int, type[Schema]]:
    """The error responses an operation can answer, for its `response=` declaration."""
    return {status: ValidationErrors if status == 422 else Error for status in statuses}


# The oldest moment an API client may state; older ones are typing mistakes, and years
# before 1 AD overflow once converted to UTC.
EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)


def _text_ok(value: str) -> None:
    # PostgreSQL refuses NUL in text, and a lone surrogate (valid in JSON's \u escapes) cannot
    # be encoded as UTF-8 on either database: both would otherwise surface as a 500.
    if "\x00" in value:
        raise PydanticCustomError("null_character", "Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_unicode", "Invalid Unicode text.") from None


class Input(Schema):
    """Base of every request body and query: unknown fields and unstorable text are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if isinstance(value, str):
            _text_ok(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    _text_ok(item)
        elif isinstance(value, datetime.datetime) and value.tzinfo and value < EARLIEST:
            raise PydanticCustomError("too_early", "A moment after 1900-01-01.")
        return value
