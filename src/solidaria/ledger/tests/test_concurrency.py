"""Concurrent appends on PostgreSQL: the head lock keeps seqs gapless and balances exact."""

import threading

import pytest
from django.db import connection, connections

from solidaria.core.errors import Conflict
from solidaria.core.tests.factories import OrganizationFactory
from solidaria.ledger import queries
from solidaria.ledger.tests.factories import expense, income
from solidaria.ledger.verify import verify_ledger


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_are_serialized():
    """Slow: four threads, each with its own PostgreSQL connection, race to post."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is one in-memory connection; PostgreSQL only")
    # given
    org = OrganizationFactory()
    income(org, 1000, ref="seed")
    refused: list[int] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                income(org, 10, ref=f"W{worker}-{i}")
                try:
                    expense(org, 60)
                except Conflict:
                    refused.append(worker)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    size = queries.log_size(org=org)
    assert size == 1 + 40 + 40 - len(refused)
    assert queries.fund_balance(org=org, fund="general", currency="EUR") == (
        1000 + 400 - 60 * (40 - len(refused))
    )
    assert verify_ledger(org=org).ok
