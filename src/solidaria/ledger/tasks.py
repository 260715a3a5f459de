"""Checkpoints: every 10 minutes for each organization whose log grew, and on demand."""

from datetime import timedelta

from django.db.models import F, OuterRef, Subquery
from django_tasks import task

from solidaria.core import periodic
from solidaria.core.audit import Actor
from solidaria.core.models import Organization
from solidaria.ledger.actions import make_checkpoint
from solidaria.ledger.models import Checkpoint, LedgerHead


def grown_organization_ids() -> list[int]:
    """Organizations whose log holds entries no checkpoint covers yet."""
    last = (
        Checkpoint.objects.filter(organization=OuterRef("organization"))
        .order_by("-tree_size")
        .values("tree_size")[:1]
    )
    heads = LedgerHead.objects.annotate(signed=Subquery(last))
    grown = heads.filter(size__gt=0).filter(signed__isnull=True) | heads.filter(
        size__gt=F("signed")
    )
    return sorted(grown.values_list("organization_id", flat=True))


@periodic.every(timedelta(minutes=10), name="ledger.checkpoint_grown_logs")
def checkpoint_grown_logs() -> list[int]:
    """Sign a checkpoint for every organization whose log grew since its last one."""
    actor = Actor.system("worker")
    done = []
    for org in Organization.objects.filter(id__in=grown_organization_ids()):
        make_checkpoint(org=org, actor=actor)
        done.append(org.id)
    return done


@task()
def checkpoint_organization(organization_id: int) -> int:
    """On demand (enqueue with `.enqueue(org.id)`): sign a checkpoint; returns its tree size."""
    org = Organization.objects.get(id=organization_id)
    return make_checkpoint(org=org, actor=Actor.system("worker")).tree_size
