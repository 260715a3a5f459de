"""Helpers for ledger tests: post entries with sensible defaults."""

import datetime
import itertools
from typing import Any

from solidaria.core.audit import Actor
from solidaria.core.models import Organization
from solidaria.ledger.actions import post_entry
from solidaria.ledger.models import LedgerEntry

TEST_ACTOR = Actor.system("test")
AT = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
_refs = itertools.count(1)


def post(org: Organization, type: str, amount: int, fund: str = "general", **fields: Any):
    """`post_entry` with a fresh ref, EUR and a fixed moment unless given."""
    fields.setdefault("currency", "EUR")
    fields.setdefault("at", AT)
    fields.setdefault("ref", f"R{next(_refs)}")
    return post_entry(org=org, actor=TEST_ACTOR, type=type, fund=fund, amount=amount, **fields)


def income(org: Organization, amount: int, fund: str = "general", **fields: Any) -> LedgerEntry:
    return post(org, "income", amount, fund, **fields)


def expense(org: Organization, amount: int, fund: str = "general", **fields: Any) -> LedgerEntry:
    return post(org, "expense", amount, fund, **fields)
