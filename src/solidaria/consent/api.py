"""The consent API: /contacts/{id}/consents, to record a grant or withdrawal and read the state."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime

from solidaria.consent import actions, queries
from solidaria.consent.models import ConsentEvent, LawfulBasis
from solidaria.core.api import Input, caller_for, errors
from solidaria.people.access import contact_for
from solidaria.people.models import Channel

router = Router(tags=["consent"])


class ConsentIn(Input):
    purpose: str = Field(
        description="A purpose's code.", max_length=50, examples=["newsletter", "fundraising"]
    )
    channel: Channel
    granted: bool = Field(description="true for a grant, false for a withdrawal.")
    source: str = Field(
        description="Where it came from.", max_length=100, examples=["donation form"]
    )
    lawful_basis: LawfulBasis = LawfulBasis.CONSENT
    wording_version: str = Field("", max_length=50)
    at: AwareDatetime | None = Field(
        None, description="When it was given or withdrawn, if not now; never in the future."
    )


class ConsentEventOut(Schema):
    id: int
    purpose: str
    channel: Channel
    granted: bool
    lawful_basis: LawfulBasis
    source: str
    wording_version: str
    at: datetime.datetime
    recorded_at: datetime.datetime

    @staticmethod
    def resolve_purpose(event: ConsentEvent) -> str:
        return event.purpose.code


class ConsentStateOut(Schema):
    """The current state of one purpose × channel: granted only when the latest event is a
    grant (silence is no, and an erased contact is never reachable)."""

    purpose: str
    purpose_name: str
    channel: Channel
    granted: bool
    lawful_basis: LawfulBasis | None = Field(description="From the latest event, if any.")
    source: str | None
    at: datetime.datetime | None

    @staticmethod
    def resolve_lawful_basis(state: queries.ConsentState) -> str | None:
        return state.event.lawful_basis if state.event else None

    @staticmethod
    def resolve_source(state: queries.ConsentState) -> str | None:
        return state.event.source if state.event else None

    @staticmethod
    def resolve_at(state: queries.ConsentState) -> datetime.datetime | None:
        return state.event.at if state.event else None


class ConsentStates(Schema):
    items: list[ConsentStateOut]
    count: int
    history: list[ConsentEventOut] | None = Field(
        description="Every event, newest first, with `?history=true`; otherwise null."
    )


class ConsentQuery(Input):
    history: bool = False


@router.post(
    "/contacts/{id}/consents", response={201: ConsentEventOut, **errors(400, 401, 403, 404, 422)}
)
def record_consent(request: HttpRequest, id: int, payload: ConsentIn) -> Status[ConsentEvent]:
    """Record a grant or a withdrawal for one purpose × channel. Events are never changed:
    the latest (by `at`) is the current state."""
    who = caller_for(request, "consent.edit")
    contact = contact_for(org=who.org, contact_id=id)
    event = actions.record_consent(
        org=who.org, actor=who.actor, contact=contact, **payload.model_dump(exclude_unset=True)
    )
    return Status(201, event)


@router.get(
    "/contacts/{id}/consents", response={200: ConsentStates, **errors(400, 401, 403, 404, 422)}
)
def consent_states(request: HttpRequest, id: int, params: Query[ConsentQuery]) -> dict[str, Any]:
    """The current state of every active purpose × channel, and optionally the history."""
    who = caller_for(request, "consent.view")
    contact = contact_for(org=who.org, contact_id=id)
    states = queries.consent_states_for(contact=contact)
    history = list(queries.consent_history_for(contact=contact)) if params.history else None
    return {"items": states, "count": len(states), "history": history}
