"""The public entry and its leaf bytes: RFC 8785 (JSON Canonicalization Scheme) UTF-8.

Our entries are flat JSON objects whose keys are ASCII and whose values are strings and
integers within ±(2^53 − 1). For exactly that subset, JCS is what Python's own encoder writes
with sorted keys, no whitespace and no ASCII escaping: JCS sorts keys by UTF-16 code units
(the same order as code points for ASCII), writes integers as ECMAScript does (plain decimal
below 2^53), and escapes strings like JSON.stringify (`\\b \\t \\n \\f \\r`, other controls as
lowercase `\\u00xx`, `"` and `\\`, nothing else). `canonical` refuses anything outside the
subset instead of silently writing bytes another implementation would not; the tests prove
the equality against the `rfc8785` package with hypothesis.
"""

import datetime
import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class NotCanonicalizable(ValueError):
    """A value outside the subset whose JCS form the fast path writes exactly."""


def check_text(value: str) -> None:
    """Refuse NUL (PostgreSQL cannot store it) and lone surrogates (not UTF-8 encodable)."""
    if "\x00" in value:
        raise NotCanonicalizable("Text may not contain the NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotCanonicalizable("Text must be valid Unicode (no lone surrogates).") from None


def _check(value: Any) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonicalizable("Integers must lie within ±(2^53 − 1).")
        return
    if isinstance(value, str):
        check_text(value)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise NotCanonicalizable("Object keys must be ASCII strings.")
            check_text(key)
            _check(item)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check(item)
        return
    raise NotCanonicalizable(f"Cannot canonicalize a {type(value).__name__}.")


def canonical(obj: dict[str, Any]) -> bytes:
    """The RFC 8785 bytes of `obj`, which must be a JSON object of the supported subset."""
    if not isinstance(obj, dict):
        raise NotCanonicalizable("The ledger canonicalizes JSON objects only.")
    _check(obj)
    return _encoder.encode(obj).encode("utf-8")


def canonical_unchecked(obj: dict[str, Any]) -> bytes:
    """`canonical` without the subset check, for values already checked (the hot paths)."""
    return _encoder.encode(obj).encode("utf-8")


def canonical_text_unchecked(obj: dict[str, Any]) -> str:
    """The canonical form as text (the stored `body`), without the subset check."""
    return _encoder.encode(obj)


def format_time(moment: datetime.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC (seconds precision), as entries and checkpoints write it."""
    moment = moment.astimezone(datetime.UTC)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def public_entry(
    *,
    seq: int,
    type: str,
    at: datetime.datetime | str,
    fund: str,
    amount: int,
    currency: str,
    ref: str,
    to_fund: str = "",
    reverses: int | None = None,
    category: str = "",
    description: str = "",
    evidence_sha256: str = "",
) -> dict[str, Any]:
    """The public JSON object of an entry; empty optional keys are left out."""
    entry: dict[str, Any] = {
        "seq": seq,
        "type": type,
        "at": at if isinstance(at, str) else format_time(at),
        "fund": fund,
        "amount": amount,
        "currency": currency,
        "ref": ref,
    }
    if to_fund:
        entry["to_fund"] = to_fund
    if reverses is not None:
        entry["reverses"] = reverses
    if category:
        entry["category"] = category
    if description:
        entry["description"] = description
    if evidence_sha256:
        entry["evidence_sha256"] = evidence_sha256
    return entry
