"""Bank statements in: CAMT.053 (any camt.053.001.0x) and MT940, as one list of lines.

Pure: `parse_statement(data)` detects the format and returns a `Statement` whose lines carry
what reconciliation needs (signed amount in minor units, references, end-to-end id,
counterparty, SEPA return reason) and a stable `line_key`, so a line that appears in two
overlapping statement files is recognised as the same line.

CAMT is read with our own small parser over defusedxml (no DTDs, no entities, no network):
pycamt leaves out the return reason (`RtrInf`), the batch references (`Btch`, `PmtInfId`)
and the per-transaction entry references that reconciliation needs. MT940 goes through
`mt-940`, with the German (`?20…`, `EREF+`) and the Dutch/SWIFT (`/EREF/…/REMI/…`) `:86:`
layouts read into the same fields.
"""

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
import mt940
from babel.numbers import get_currency_precision
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _

CAMT053 = "camt.053"
MT940 = "mt940"
MAX_SIZE = 20 * 1024 * 1024  # a year of a busy account is a few MB
# A return or reversal the bank booked without an ISO reason code.
REVERSAL = "RVSL"

_CAMT_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SPACES = re.compile(r"\s+")
# ISO 20022 / EPC reason codes of SEPA R-transactions (returns, refunds, rejects, reversals).
RETURN_REASONS = frozenset(
    [
        "AC01",
        "AC04",
        "AC06",
        "AC13",
        "AG01",
        "AG02",
        "AM04",
        "AM05",
        "BE01",
        "BE05",
        "CNOR",
        "DNOR",
        "FF01",
        "FOCR",
        "FRAD",
        "MD01",
        "MD02",
        "MD06",
        "MD07",
        "MS02",
        "MS03",
        "RC01",
        "RR01",
        "RR02",
        "RR03",
        "RR04",
        "SL01",
        "TECH",
        "CUST",
        "DUPL",
        "UPAY",
    ]
)
_REASON_WORD = re.compile(r"\b(" + "|".join(sorted(RETURN_REASONS)) + r")\b")
_NO_REF = {"", "NONREF", "NOTPROVIDED"}

# mt-940 logs the text it cannot parse at ERROR: names and IBANs would land in the server's
# logs. We report the failure ourselves, to the person who uploaded the file.
logging.getLogger("mt940").setLevel(logging.CRITICAL)


class StatementError(ValueError):
    """The file is not a statement we can read; `message` says why and is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StatementLine:
    """One booked line. `amount_minor` is signed: credits positive, debits negative."""

    booked_on: date
    amount_minor: int
    currency: str
    reference: str = ""
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    return_reason: str = ""
    # The bank's own reference of the entry (CAMT AcctSvcrRef, MT940 `//` bank reference).
    bank_reference: str = ""
    # A batch booking's PmtInfId or message id (CAMT Btch, MT940 KREF/PREF).
    batch_reference: str = ""
    account: str = ""  # the statement's account this line was booked on
    line_key: str = ""


@dataclass(frozen=True)
class Statement:
    file_format: str  # camt.053 or mt940
    account: str  # the statement's own account: IBAN, or what the bank wrote
    lines: tuple[StatementLine, ...]


def parse_statement(data: bytes) -> Statement:
    """Read a CAMT.053 or MT940 file; `StatementError` with the reason when it is neither."""
    if not data or not data.strip():
        raise StatementError(_("The file is empty."))
    if len(data) > MAX_SIZE:
        raise StatementError(_("The file is larger than 20 MB."))
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        account, lines = _parse_camt(head)
        file_format = CAMT053
    elif re.search(rb"(?m)^:(20|25|61):", head) or head.startswith(b"{1:"):
        account, lines = _parse_mt940(head)
        file_format = MT940
    else:
        raise StatementError(_("This is neither a CAMT.053 (XML) nor an MT940 statement."))
    return Statement(file_format=file_format, account=account, lines=_with_keys(lines))


# -- shared


def _clean(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def _minor_units(amount: str | Decimal, currency: str) -> int:
    """A positive decimal amount in the currency's minor units; `StatementError` otherwise."""
    if not _CURRENCY.match(currency or ""):
        raise StatementError(_("“%(c)s” is not a currency code.") % {"c": currency})
    try:
        value = Decimal(str(amount).strip().replace(",", "."))
    except InvalidOperation as error:
        raise StatementError(_("“%(a)s” is not an amount.") % {"a": amount}) from error
    if not value.is_finite() or value < 0:
        raise StatementError(_("“%(a)s” is not an amount.") % {"a": amount})
    minor = value.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value():
        raise StatementError(
            _("“%(a)s” has more decimals than %(c)s allows.") % {"a": amount, "c": currency}
        )
    return int(minor)


def _with_keys(lines: list[StatementLine]) -> tuple[StatementLine, ...]:
    """Give each line its `line_key`: SHA-256 over the bank's reference (and day) if any,
    otherwise over what describes the line, plus its ordinal among identical lines of the
    file — so the same line in an overlapping file gets the same key, and two genuinely
    identical payments on one day stay two lines."""
    seen: Counter[str] = Counter()
    keyed = []
    for line in lines:
        if line.bank_reference:
            # Some banks number entries per day: the day is part of the reference.
            basis = "\x1f".join(
                ["ref", line.account, line.booked_on.isoformat(), line.bank_reference]
            )
        else:
            basis = "\x1f".join(
                [
                    "line",
                    line.account,
                    line.booked_on.isoformat(),
                    str(line.amount_minor),
                    line.currency,
                    line.reference,
                    line.end_to_end_id,
                    line.counterparty_name,
                    line.counterparty_iban,
                ]
            )
        ordinal = seen[basis]
        seen[basis] += 1
        digest = hashlib.sha256(f"{basis}\x1f{ordinal}".encode()).hexdigest()
        keyed.append(replace(line, line_key=digest))
    return tuple(keyed)


def _account(text: str) -> str:
    return text.replace(" ", "").upper()


def _return_reason_in(text: str) -> str:
    match = _REASON_WORD.search(text or "")
    return match.group(1) if match else ""


# -- CAMT.053


def _strip_namespaces(root: Element) -> str:
    namespace = ""
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            uri, _sep, local = element.tag[1:].partition("}")
            namespace = namespace or uri
            element.tag = local
    return namespace


def _text(element: Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return _clean(found.text) if found is not None and found.text else ""


def _parse_camt(data: bytes) -> tuple[str, list[StatementLine]]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise StatementError(
            _("The XML file declares a DTD or entities, which bank statements never do.")
        ) from error
    except ParseError as error:
        raise StatementError(_("The XML is malformed: %(e)s.") % {"e": error}) from error
    namespace = _strip_namespaces(root)
    if root.tag != "Document" or not _CAMT_NAMESPACE.match(namespace):
        raise StatementError(
            _("This XML file is not a CAMT.053 statement (namespace “%(ns)s”).")
            % {"ns": namespace or root.tag}
        )
    statements = root.findall("BkToCstmrStmt/Stmt")
    if not statements:
        raise StatementError(_("The CAMT.053 file holds no statement (Stmt)."))
    accounts: list[str] = []
    lines: list[StatementLine] = []
    for stmt in statements:
        account = _account(_text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id"))
        accounts.append(account)
        for index, entry in enumerate(stmt.findall("Ntry")):
            lines.extend(_camt_entry(entry, account, index + 1))
    return " ".join(dict.fromkeys(a for a in accounts if a)), lines


def _camt_amount(element: Element, path: str) -> tuple[int, str] | None:
    node = element.find(path)
    if node is None or not (node.text or "").strip():
        return None
    currency = node.get("Ccy", "")
    return _minor_units(node.text or "", currency), currency


def _camt_party(tx: Element, role: str) -> tuple[str, str]:
    """(name, IBAN) of `Dbtr` or `Cdtr` in a TxDtls, in any version's layout."""
    name = _text(tx, f"RltdPties/{role}/Nm") or _text(tx, f"RltdPties/{role}/Pty/Nm")
    iban = _text(tx, f"RltdPties/{role}Acct/Id/IBAN")
    return name, iban.replace(" ", "").upper()


def _camt_entry(entry: Element, account: str, number: int) -> list[StatementLine]:
    where = _("entry %(n)s") % {"n": number}
    status = _text(entry, "Sts/Cd") or _text(entry, "Sts")
    if status and status.upper() != "BOOK":
        return []  # pending and information-only entries are not booked money
    try:
        amount = _camt_amount(entry, "Amt")
        if amount is None:
            raise StatementError(_("it has no amount"))
        indicator = _text(entry, "CdtDbtInd")
        if indicator not in {"CRDT", "DBIT"}:
            raise StatementError(_("its credit/debit indicator is “%(i)s”") % {"i": indicator})
        booked = (_text(entry, "BookgDt/Dt") or _text(entry, "BookgDt/DtTm"))[:10] or (
            _text(entry, "ValDt/Dt") or _text(entry, "ValDt/DtTm")
        )[:10]
        try:
            booked_on = date.fromisoformat(booked[:10])
        except ValueError as error:
            raise StatementError(
                _("its booking date “%(d)s” is not a date") % {"d": booked}
            ) from error
    except StatementError as error:
        raise StatementError(
            _("CAMT.053 %(where)s: %(reason)s.") % {"where": where, "reason": error.message}
        ) from error
    reversal = _text(entry, "RvslInd").lower() in {"true", "1"}
    entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    batch = entry.find("NtryDtls/Btch")
    batch_ref = _text(batch, "PmtInfId") or _text(batch, "MsgId")
    details = entry.findall("NtryDtls/TxDtls")
    tx_amounts = [
        _camt_amount(tx, "Amt") or _camt_amount(tx, "AmtDtls/TxAmt/Amt") for tx in details
    ]
    common: dict[str, Any] = {
        "account": account,
        "booked_on": booked_on,
        "currency": amount[1],
        "bank_reference": entry_ref,
        "batch_reference": batch_ref,
    }
    sign = 1 if indicator == "CRDT" else -1
    if len(details) > 1 and all(a is not None for a in tx_amounts):
        # A batch booked with its transactions: one line per transaction, so each debit of
        # a collection (or each return) is matched on its own end-to-end id.
        out = []
        for index, (tx, tx_amount) in enumerate(zip(details, tx_amounts, strict=True)):
            tx_indicator = _text(tx, "CdtDbtInd") or indicator
            tx_sign = 1 if tx_indicator == "CRDT" else -1
            tx_ref = _text(tx, "Refs/AcctSvcrRef")
            fields = _camt_details(tx, tx_sign, account, reversal)
            out.append(
                StatementLine(
                    **{
                        **common,
                        "bank_reference": tx_ref
                        or (f"{entry_ref}/{index + 1}" if entry_ref else ""),
                        "amount_minor": tx_sign * tx_amount[0],  # type: ignore[index]
                        "currency": tx_amount[1],  # type: ignore[index]
                        **fields,
                    }
                )
            )
        return out
    tx = details[0] if details else None
    fields = _camt_details(tx, sign, account, reversal) if tx is not None else {}
    if tx is not None and not batch_ref:
        common["batch_reference"] = (
            _text(tx, "Refs/PmtInfId") if not fields.get("end_to_end_id") else ""
        )
    if not fields.get("reference"):
        fields["reference"] = _text(entry, "AddtlNtryInf")
    if reversal and not fields.get("return_reason"):
        fields["return_reason"] = REVERSAL
    return [StatementLine(**{**common, "amount_minor": sign * amount[0], **fields})]


def _camt_details(tx: Element, sign: int, account: str, reversal: bool) -> dict[str, Any]:
    unstructured = [_clean(u.text) for u in tx.findall("RmtInf/Ustrd") if u.text]
    structured = [_clean(r.text) for r in tx.findall("RmtInf/Strd/CdtrRefInf/Ref") if r.text]
    reference = _clean(" ".join(unstructured + structured)) or _text(tx, "AddtlTxInf")
    end_to_end = _text(tx, "Refs/EndToEndId")
    # The other party: the payer of a credit, the payee of a debit — unless that is our own
    # account, as on a returned direct debit where the parties are the original collection's.
    first, second = ("Dbtr", "Cdtr") if sign > 0 else ("Cdtr", "Dbtr")
    name, iban = _camt_party(tx, first)
    own = account.replace(" ", "").upper()
    if (own and iban == own) or (not name and not iban):
        other_name, other_iban = _camt_party(tx, second)
        if other_name or other_iban:
            name, iban = other_name, other_iban
    reason = _text(tx, "RtrInf/Rsn/Cd") or _text(tx, "RtrInf/Rsn/Prtry")
    if not reason and reversal:
        reason = REVERSAL
    return {
        "reference": reference[:400],
        "end_to_end_id": "" if end_to_end.upper() in _NO_REF else end_to_end[:35],
        "counterparty_name": name[:200],
        "counterparty_iban": iban[:34],
        "return_reason": reason[:8],
    }


# -- MT940

# Dutch and SWIFT-style `:86:` layout: /CODE/value/CODE/value…
_SLASH_CODES = ("EREF", "PREF", "RTRN", "REMI", "NAME", "IBAN", "CNTP", "MARF", "CSID", "TRTP")
_SLASH_FIELD = re.compile(r"/(" + "|".join(_SLASH_CODES) + r")/")


def _slash_fields(details: str) -> dict[str, str]:
    """`/EREF/E2E-1//CNTP/NL91ABNA…/ABNANL2A/J. Jansen/Utrecht/REMI/USTD//Gift/` → fields."""
    if not details.startswith("/") or not _SLASH_FIELD.search(details):
        return {}
    parts = _SLASH_FIELD.split(details)
    fields: dict[str, str] = {}
    for code, value in zip(parts[1::2], parts[2::2], strict=True):
        value = value.strip("/")
        if code == "CNTP":  # IBAN/BIC/name/city
            bits = value.split("/")
            fields["IBAN"] = bits[0] if bits else ""
            fields["NAME"] = bits[2] if len(bits) > 2 else ""
        elif code == "REMI":  # USTD//text or STRD/CUR/reference
            bits = [b for b in value.split("/") if b]
            if bits and bits[0] in {"USTD", "STRD"}:
                bits = bits[2:] if bits[0] == "STRD" and len(bits) > 2 else bits[1:]
            fields["REMI"] = "/".join(bits)
        elif code == "RTRN":
            fields["RTRN"] = value.split("/")[0]
        else:
            fields[code] = value
    return fields


def _mt940_line(
    tx: dict[str, Any], account: str, account_currency: str, number: int
) -> StatementLine:
    where = _("MT940 line %(n)s") % {"n": number}
    status = str(tx.get("status") or "").upper()
    amount = tx.get("amount")
    if status not in {"C", "D", "RC", "RD"} or amount is None:
        raise StatementError(_("%(where)s has no credit/debit mark.") % {"where": where})
    currency = str(tx.get("currency") or account_currency or "")
    try:
        minor = _minor_units(abs(amount.amount), currency)
    except StatementError as error:
        raise StatementError(f"{where}: {error.message}") from error
    # C credit, D debit; RC reverses a credit (money out), RD reverses a debit (money in).
    sign = 1 if status in {"C", "RD"} else -1
    booked = tx.get("entry_date") or tx.get("date")
    details = _clean(str(tx.get("transaction_details") or "").replace("\n", "").replace("\r", ""))
    slash = _slash_fields(details)
    if slash:
        reference = slash.get("REMI", "")
        end_to_end = slash.get("EREF", "")
        name, iban = slash.get("NAME", ""), slash.get("IBAN", "")
        batch = slash.get("PREF", "")
        reason = slash.get("RTRN", "")
    else:
        reference = _clean(tx.get("purpose")) if "purpose" in tx else details
        end_to_end = _clean(tx.get("end_to_end_reference"))
        name = _clean(tx.get("applicant_name") or tx.get("deviate_applicant"))
        iban = _clean(tx.get("applicant_iban") or tx.get("gvc_applicant_iban"))
        # mt-940 joins the `:61:` customer reference and the `:86:` KREF with a newline.
        batch = " ".join(
            part
            for part in str(tx.get("customer_reference") or "").split()
            if part.upper() not in _NO_REF
        )
        reason = ""
    if sign < 0 or status.startswith("R"):
        reason = reason or _return_reason_in(reference) or _return_reason_in(details)
        if not reason and status.startswith("R"):
            reason = REVERSAL
    bank_ref = _clean(tx.get("bank_reference"))
    return StatementLine(
        booked_on=date(booked.year, booked.month, booked.day),
        amount_minor=sign * minor,
        currency=currency,
        reference=reference[:400],
        end_to_end_id="" if end_to_end.upper() in _NO_REF else end_to_end[:35],
        counterparty_name=name[:200],
        counterparty_iban=iban.replace(" ", "").upper()[:34],
        return_reason=reason[:8],
        bank_reference="" if bank_ref.upper() in _NO_REF else bank_ref,
        batch_reference="" if batch.upper() in _NO_REF else batch,
        account=account,
    )


def _parse_mt940(data: bytes) -> tuple[str, list[StatementLine]]:
    if data.startswith(b"{1:"):  # a SWIFT envelope: the statement is block 4
        match = re.search(rb"\{4:\s*(.*?)\r?\n-\}", data, re.DOTALL)
        if not match:
            raise StatementError(_("The MT940 message has no text block ({4:…-})."))
        data = match.group(1)
    try:
        statements = mt940.parse_statements(data, options=mt940.Options.all())
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as error:
        detail = str(error)[:160]
        raise StatementError(_("The MT940 file is malformed: %(e)s") % {"e": detail}) from error
    if not statements:
        raise StatementError(_("The MT940 file holds no statement (:20:)."))
    accounts: list[str] = []
    lines: list[StatementLine] = []
    number = 0
    for statement in statements:
        account = _account(_clean(statement.data.get("account_identification")))
        if not account:
            raise StatementError(_("An MT940 statement has no account (:25:)."))
        accounts.append(account)
        currency = str(statement.data.get("currency") or "")
        for transaction in statement:
            number += 1
            lines.append(_mt940_line(transaction.data, account, currency, number))
    return " ".join(dict.fromkeys(accounts)), lines
