"""Leaf bytes: our fast path equals RFC 8785 (the `rfc8785` package) on the subset we write."""

import datetime

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from solidaria.ledger.canonical import (
    MAX_SAFE_INTEGER,
    NotCanonicalizable,
    canonical,
    format_time,
    public_entry,
)

_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
_keys = st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=12)
_ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
_values = st.recursive(
    _text | _ints,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.slow
@given(obj=st.dictionaries(_keys, _values, max_size=12))
def test_fast_path_equals_rfc8785(obj):
    """Slow: a hundred generated nested objects through both encoders (property test)."""
    assert canonical(obj) == rfc8785.dumps(obj)


@given(
    seq=st.integers(min_value=0, max_value=MAX_SAFE_INTEGER),
    amount=st.integers(min_value=1, max_value=MAX_SAFE_INTEGER),
    ref=_text,
    description=_text,
)
def test_public_entries_equal_rfc8785(seq, amount, ref, description):
    entry = public_entry(
        seq=seq,
        type="expense",
        at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        fund="general",
        amount=amount,
        currency="EUR",
        ref=ref,
        description=description,
    )
    assert canonical(entry) == rfc8785.dumps(entry)


@pytest.mark.parametrize(
    "obj",
    [
        {"a": 2**53},
        {"a": -(2**53)},
        {"a": "\ud800"},
        {"a": "x\x00y"},
        {"é": 1},
        {"a": 1.5},
        {1: 2},
    ],
)
def test_values_outside_the_subset_are_refused(obj):
    with pytest.raises(NotCanonicalizable):
        canonical(obj)


def test_entries_leave_out_empty_optional_keys_and_write_utc_seconds():
    # given
    madrid = datetime.timezone(datetime.timedelta(hours=2))

    # when
    entry = public_entry(
        seq=3,
        type="income",
        at=datetime.datetime(2026, 6, 1, 12, 30, 15, 999, tzinfo=madrid),
        fund="general",
        amount=2500,
        currency="EUR",
        ref="D-1",
    )

    # then
    assert canonical(entry) == (
        b'{"amount":2500,"at":"2026-06-01T10:30:15Z","currency":"EUR","fund":"general",'
        b'"ref":"D-1","seq":3,"type":"income"}'
    )
    assert format_time(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)) == "2026-01-01T00:00:00Z"
