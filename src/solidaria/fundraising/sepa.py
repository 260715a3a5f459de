"""SEPA direct debit: account and creditor checks, identifiers, and pain.008 files.

Pure functions, no models: `banking.export_sepa_collection` gathers the debits and stores
what `build_pain008` returns. Every file is checked against the official XSD that `sepaxml`
bundles before it is returned, so a file the bank would reject is never handed out.
"""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sepaxml
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaDD
from stdnum.eu import at_02
from stdnum.exceptions import ValidationError as StdnumValidationError
from text_unidecode import unidecode  # sepaxml's own transliteration (one of its dependencies)

if TYPE_CHECKING:
    import xmlschema

SCHEMAS = ("pain.008.001.02", "pain.008.001.08")
# One payment-information block per type, in this order: first and recurring collections
# under a standing mandate, then one-off debits (a mandate used once).
SEQUENCE_TYPES = ("FRST", "RCUR", "OOFF")
SEPA_CURRENCY = "EUR"

# The SEPA (EPC) Latin character set: what every bank in the scheme must accept.
_SEPA_DISALLOWED = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_SPACES = re.compile(r"\s+")
# Identifiers (message, payment information, end-to-end, mandate): the same set without the
# space, never starting or ending with "/" nor containing "//" (EPC implementation guidelines).
_IDENTIFIER = re.compile(r"^(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+]{1,35}(?<!/)$")
# Mandate references may hold inner spaces (mandates signed on paper often do).
_MANDATE = re.compile(
    r"^(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+](?:[A-Za-z0-9/\-?:().,'+ ]{0,33}[A-Za-z0-9\-?:().,'+])?$"
)
# Letters that Unicode does not decompose into a base letter plus an accent.
_LATIN_EXTRA = str.maketrans(
    {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Ł": "L",
     "ł": "l", "Đ": "D", "đ": "d", "Þ": "Th", "þ": "th", "&": "+", "’": "'", "‘": "'"}
)  # fmt: skip
_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


class SepaError(ValueError):
    """Bad SEPA input or an invalid generated file; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class Debit:
    """One collection under a mandate. `amount_minor` is in euro cents."""

    end_to_end_id: str
    amount_minor: int
    debtor_name: str
    iban: str
    mandate_reference: str
    mandate_signed_at: date
    sequence: str  # FRST, RCUR or OOFF
    description: str
    bic: str = ""
    currency: str = SEPA_CURRENCY


# -- checks


def validate_iban(value: str) -> str:
    """The IBAN in compact upper-case form; `SepaError` saying what is wrong otherwise."""
    raw = (value or "").strip()
    if not raw:
        raise SepaError(_("The IBAN is missing."))
    try:
        return str(IBAN(raw).compact)
    except SchwiftyException as error:
        raise SepaError(
            _("“%(iban)s” is not a valid IBAN: %(reason)s.") % {"iban": raw, "reason": error}
        ) from error


def validate_bic(value: str) -> str:
    """The BIC (8 or 11 characters, upper case); `SepaError` otherwise."""
    raw = (value or "").strip()
    try:
        return str(BIC(raw).compact)
    except SchwiftyException as error:
        raise SepaError(
            _("“%(bic)s” is not a valid BIC: %(reason)s.") % {"bic": raw, "reason": error}
        ) from error


def bic_for_iban(iban: str) -> str:
    """The bank's BIC looked up from the IBAN's bank code, or "" when schwifty does not know it."""
    try:
        bic = IBAN(iban).bic
    except SchwiftyException:
        return ""
    return str(bic.compact) if bic else ""


def validate_creditor_id(value: str) -> str:
    """A SEPA creditor identifier (AT-02), compact and upper case; `SepaError` otherwise.

    The check digits (positions 3-4) are ISO 7064 MOD 97-10 over the national identifier
    followed by the country code and "00"; the creditor business code (positions 5-7, often
    "ZZZ") is not part of the check.
    """
    raw = (value or "").strip()
    if not raw:
        raise SepaError(_("The SEPA creditor identifier is missing."))
    try:
        return str(at_02.validate(raw))
    except StdnumValidationError as error:
        raise SepaError(
            _("“%(id)s” is not a valid SEPA creditor identifier: %(reason)s.")
            % {"id": raw, "reason": error.message}
        ) from error


def validate_mandate_reference(value: str) -> str:
    """A mandate reference: 1-35 characters of the SEPA set, no space or "/" at either end."""
    raw = (value or "").strip()
    if not _MANDATE.match(raw):
        raise SepaError(
            _(
                "“%(ref)s” is not a valid mandate reference: use 1 to 35 letters, digits, "
                "spaces or / - ? : ( ) . , ' +."
            )
            % {"ref": raw}
        )
    return raw


def sepa_text(text: str, *, max_length: int) -> str:
    """`text` in the SEPA character set: “Núñez & Søn” → “Nunez + Son”, Arabic transliterated."""
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_LATIN_EXTRA))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    latin = unidecode(plain)
    cleaned = _SPACES.sub(" ", _SEPA_DISALLOWED.sub(" ", latin)).strip()
    return cleaned[:max_length].strip()


# -- identifiers


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def make_mandate_reference(prefix: str = "SOL-") -> str:
    """A new mandate reference: the prefix and 16 random characters (80 bits), ≤ 35 in all."""
    return validate_mandate_reference(_random_id(prefix, 16))


def make_end_to_end_id(prefix: str = "SOL-") -> str:
    """A new end-to-end id: the bank quotes it back on the statement and on a return."""
    ref = _random_id(prefix, 20)
    if not _IDENTIFIER.match(ref):
        raise SepaError(_("The end-to-end id prefix is not in the SEPA character set."))
    return ref


def make_message_id(collection_date: date) -> str:
    """A message id (≤ 30 characters, so `<message id>-FRST` (or -RCUR, -OOFF) fits in 35)."""
    return _random_id(f"SOL{collection_date:%Y%m%d}-", 12)


def payment_information_id(message_id: str, sequence: str) -> str:
    """The PmtInfId of one sequence-type block: what a bank quotes on a batch credit."""
    return f"{message_id}-{sequence}"


# -- pain.008


@lru_cache(maxsize=len(SCHEMAS))
def _schema(schema: str) -> "xmlschema.XMLSchema":
    # Imported here: xmlschema takes a second to import, and only exports need it.
    import xmlschema

    path = Path(sepaxml.__file__).parent / "schemas" / f"{schema}.xsd"
    return xmlschema.XMLSchema(str(path))


def validate_pain008(xml: bytes, schema: str = "pain.008.001.02") -> None:
    """Check `xml` against the official XSD of `schema`; `SepaError` with the first problem."""
    import xmlschema

    try:
        _schema(schema).validate(xml.decode("utf-8"))
    except xmlschema.XMLSchemaValidationError as error:
        raise SepaError(
            _("The SEPA file does not follow %(schema)s: %(reason)s")
            % {"schema": schema, "reason": error.reason or error.message}
        ) from error


class _SepaDD(SepaDD):
    """sepaxml's writer with our ids: a fixed message id and one known PmtInfId per block.

    sepaxml draws random ids; reconciliation needs to recognise a bank's batch credit by the
    PmtInfId of the block it pays, so each block is named `<message id>-<FRST|RCUR|OOFF>`.
    """

    def __init__(self, config: dict[str, Any], *, schema: str, message_id: str, at: datetime):
        super().__init__(config, schema=schema, clean=True)
        header = self._xml.find("CstmrDrctDbtInitn/GrpHdr")
        header.find("MsgId").text = message_id
        header.find("CreDtTm").text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self.msg_id = message_id

    def _finalize_batch(self) -> None:
        super()._finalize_batch()
        for block in self._xml.iter("PmtInf"):
            sequence = block.find("PmtTpInf/SeqTp").text
            block.find("PmtInfId").text = payment_information_id(self.msg_id, sequence)


def _check_debit(debit: Debit, index: int) -> dict[str, Any]:
    where = _("debit %(n)s (%(id)s)") % {"n": index + 1, "id": debit.end_to_end_id}
    try:
        if debit.currency != SEPA_CURRENCY:
            raise SepaError(_("SEPA direct debits are in euros only."))
        if not isinstance(debit.amount_minor, int) or debit.amount_minor <= 0:
            raise SepaError(_("The amount must be a positive number of cents."))
        if debit.sequence not in SEQUENCE_TYPES:
            raise SepaError(_("The sequence type must be FRST, RCUR or OOFF."))
        if not _IDENTIFIER.match(debit.end_to_end_id):
            raise SepaError(_("The end-to-end id is not a valid SEPA identifier."))
        payment: dict[str, Any] = {
            "name": sepa_text(debit.debtor_name, max_length=70),
            "IBAN": validate_iban(debit.iban),
            "amount": debit.amount_minor,
            "type": debit.sequence,
            "mandate_id": validate_mandate_reference(debit.mandate_reference),
            "mandate_date": debit.mandate_signed_at,
            "description": sepa_text(debit.description, max_length=140) or "-",
            "endtoend_id": debit.end_to_end_id,
        }
        if not payment["name"]:
            raise SepaError(_("The debtor's name is empty in the SEPA character set."))
        if debit.bic:
            payment["BIC"] = validate_bic(debit.bic)
    except SepaError as error:
        raise SepaError(f"{where}: {error.message}") from error
    return payment


def build_pain008(
    creditor: Creditor,
    collection_date: date,
    debits: list[Debit],
    *,
    message_id: str | None = None,
    created_at: datetime | None = None,
    schema: str = "pain.008.001.02",
) -> bytes:
    """A pain.008 direct debit file (UTF-8 XML bytes), valid against the official XSD.

    One payment-information block per sequence type present (FRST, RCUR, then OOFF for
    one-off debits), each named
    `payment_information_id(message_id, sequence)`. Names and descriptions are transliterated
    to the SEPA character set. Raises `SepaError` naming the first bad field or debit.
    """
    if schema not in SCHEMAS:
        raise SepaError(_("Unknown SEPA schema %(schema)s.") % {"schema": schema})
    if not debits:
        raise SepaError(_("A SEPA file needs at least one debit."))
    message_id = message_id or make_message_id(collection_date)
    if not _IDENTIFIER.match(message_id) or len(message_id) > 30:
        raise SepaError(_("The message id is not a valid SEPA identifier of 30 characters."))
    name = sepa_text(creditor.name, max_length=70)
    if not name:
        raise SepaError(_("The creditor name is missing."))
    config: dict[str, Any] = {
        "name": name,
        "IBAN": validate_iban(creditor.iban),
        "batch": True,
        "creditor_id": validate_creditor_id(creditor.creditor_id),
        "currency": SEPA_CURRENCY,
    }
    bic = creditor.bic or bic_for_iban(config["IBAN"])
    if bic:
        config["BIC"] = validate_bic(bic)
    elif schema == "pain.008.001.02":
        raise SepaError(_("The creditor BIC is missing (pain.008.001.02 requires it)."))
    payments = [_check_debit(debit, i) for i, debit in enumerate(debits)]
    if len({p["endtoend_id"] for p in payments}) != len(payments):
        raise SepaError(_("Two debits share an end-to-end id."))
    writer = _SepaDD(
        config, schema=schema, message_id=message_id, at=created_at or datetime.now(tz=UTC)
    )
    for sequence in SEQUENCE_TYPES:  # sepaxml keeps insertion order: FRST, RCUR, OOFF
        for payment in payments:
            if payment["type"] == sequence:
                writer.add_payment({**payment, "collection_date": collection_date})
    xml: bytes = writer.export(validate=False)
    validate_pain008(xml, schema)  # same XSD as sepaxml's validate=True, loaded once
    return xml
