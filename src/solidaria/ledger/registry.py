"""Books checks that `solidaria ledger verify` runs after checking the log itself.

A higher app (fundraising) registers a function that compares its own books with the log:

    register_books_check(check_donations)   # check_donations(org) -> Iterable[str]

Each yielded string is one problem; name the entry as "seq N" so the command can point at it.
"""

from collections.abc import Callable, Iterable

from solidaria.core.models import Organization

BooksCheck = Callable[[Organization], Iterable[str]]

_checks: list[BooksCheck] = []


def register_books_check(check: BooksCheck) -> BooksCheck:
    """Register `check` (usable as a decorator); registering the same function twice is a no-op."""
    if check not in _checks:
        _checks.append(check)
    return check


def books_checks() -> list[BooksCheck]:
    return list(_checks)
