"""The audit log's one writer, and the Actor every action receives."""

from dataclasses import dataclass
from typing import Any

from django.db import models

from solidaria.core.models import AuditEvent, Organization, User


@dataclass(frozen=True)
class Actor:
    """Who acts, and through which door: `web`, `api`, `cli`, `worker`, `webhook`, `demo`."""

    user: User | None
    via: str

    @classmethod
    def system(cls, via: str) -> "Actor":
        return cls(user=None, via=via)


def record(
    *,
    org: Organization | None,
    actor: Actor,
    code: str,
    subject: models.Model | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditEvent:
    """Insert one audit event. Call inside the action's transaction, so both land or neither.

    `extra` must hold no personal data beyond ids: the log outlives erasure.
    """
    subject_type = subject_id = ""
    if subject is not None:
        subject_type = f"{subject._meta.app_label}.{subject._meta.model_name}"
        subject_id = str(subject.pk)
    return AuditEvent.objects.create(
        organization=org,
        actor=actor.user,
        via=actor.via,
        code=code,
        subject_type=subject_type,
        subject_id=subject_id,
        extra=extra or {},
    )
