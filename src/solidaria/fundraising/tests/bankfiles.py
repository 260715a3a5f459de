"""Small writers of bank statements for tests: CAMT.053 XML and MT940 text.

They follow the banks' documented layouts (ISO 20022 camt.053.001.02 and .08; MT940 with
the German DFÜ `:86:` structure `?20…` / `EREF+` / `SVWZ+`), independently of our parser.
"""

from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from babel.numbers import get_currency_precision

OWN_IBAN = "ES9121000418450200051332"


@dataclass(frozen=True)
class Row:
    """What a test expects back from the parser for one line."""

    booked_on: date
    amount_minor: int  # signed
    currency: str = "EUR"
    reference: str = ""
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    return_reason: str = ""
    bank_reference: str = ""
    batch_reference: str = ""


def decimal_text(amount_minor: int, currency: str, separator: str = ".") -> str:
    digits = get_currency_precision(currency)
    whole, fraction = divmod(abs(amount_minor), 10**digits)
    return f"{whole}{separator}{fraction:0{digits}d}" if digits else f"{whole}{separator}"


# -- CAMT.053


def _party(tag: str, name: str, iban: str, version: str) -> str:
    out = ""
    if name:
        name_xml = f"<Nm>{escape(name)}</Nm>"
        # From camt.053.001.08 on, a party sits inside <Pty>.
        out += (
            f"<{tag}><Pty>{name_xml}</Pty></{tag}>"
            if version >= "08"
            else f"<{tag}>{name_xml}</{tag}>"
        )
    if iban:
        out += f"<{tag}Acct><Id><IBAN>{iban}</IBAN></Id></{tag}Acct>"
    return out


def camt053(rows: list[Row], *, account: str = OWN_IBAN, version: str = "02") -> bytes:
    """A camt.053.001.<version> statement with one entry (and one TxDtls) per row."""
    entries = []
    for row in rows:
        credit = row.amount_minor > 0
        amount = f'<Amt Ccy="{row.currency}">{decimal_text(row.amount_minor, row.currency)}</Amt>'
        status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= "08" else "<Sts>BOOK</Sts>"
        refs = f"<EndToEndId>{escape(row.end_to_end_id or 'NOTPROVIDED')}</EndToEndId>"
        if row.counterparty_name or row.counterparty_iban:
            if credit:
                parties = _party("Dbtr", row.counterparty_name, row.counterparty_iban, version)
                parties += _party("Cdtr", "Us", account, version)
            else:
                parties = _party("Dbtr", "Us", account, version)
                parties += _party("Cdtr", row.counterparty_name, row.counterparty_iban, version)
            parties = f"<RltdPties>{parties}</RltdPties>"
        else:
            parties = ""
        remittance = (
            f"<RmtInf><Ustrd>{escape(row.reference)}</Ustrd></RmtInf>" if row.reference else ""
        )
        reason = (
            f"<RtrInf><Rsn><Cd>{row.return_reason}</Cd></Rsn></RtrInf>"
            if row.return_reason and row.return_reason != "RVSL"
            else ""
        )
        tx_amount = amount if version >= "04" else f"<AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>"
        batch = (
            f"<Btch><PmtInfId>{row.batch_reference}</PmtInfId></Btch>"
            if row.batch_reference
            else ""
        )
        entries.append(
            "<Ntry>"
            + amount
            + f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>"
            + ("<RvslInd>true</RvslInd>" if row.return_reason == "RVSL" else "")
            + status
            + f"<BookgDt><Dt>{row.booked_on.isoformat()}</Dt></BookgDt>"
            + f"<ValDt><Dt>{row.booked_on.isoformat()}</Dt></ValDt>"
            + (
                f"<AcctSvcrRef>{escape(row.bank_reference)}</AcctSvcrRef>"
                if row.bank_reference
                else ""
            )
            + "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            + "<NtryDtls>"
            + batch
            + f"<TxDtls><Refs>{refs}</Refs>{tx_amount}{parties}{remittance}{reason}</TxDtls>"
            + "</NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-25T06:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>STMT-1</Id><CreDtTm>2026-11-25T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id></Acct>"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


# -- MT940 (German DFÜ layout of :86:)


def _chunks(text: str, size: int) -> list[str]:
    """Fixed-width sub-fields; a space never ends one (banks' software trims those)."""
    chunks: list[str] = []
    while text:
        cut = size
        while cut > 1 and text[cut - 1 : cut] == " ":
            cut -= 1
        chunks.append(text[:cut])
        text = text[cut:]
    return chunks or [""]


def mt940(rows: list[Row], *, account: str = OWN_IBAN, currency: str = "EUR") -> bytes:
    """An MT940 statement; every row must be in `currency`, a debit's return reason is
    written at the start of the purpose, as German banks do (`SVWZ+AC04 …`)."""
    first = rows[0].booked_on if rows else date(2026, 11, 25)
    out = [
        ":20:STARTUMSE",
        f":25:{account}",
        ":28C:00001/001",
        f":60F:C{first:%y%m%d}{currency}0,00",
    ]
    for row in rows:
        assert row.currency == currency
        mark = "C" if row.amount_minor > 0 else "D"
        amount = decimal_text(row.amount_minor, currency, separator=",")
        bank_ref = f"//{row.bank_reference}" if row.bank_reference else ""
        out.append(
            f":61:{row.booked_on:%y%m%d}{row.booked_on:%m%d}{mark}{amount}NTRFNONREF{bank_ref}"
        )
        purpose = f"EREF+{row.end_to_end_id}" if row.end_to_end_id else ""
        if row.batch_reference:
            purpose += f"KREF+{row.batch_reference}"
        text = (
            f"{row.return_reason} {row.reference}".strip() if row.return_reason else row.reference
        )
        purpose += f"SVWZ+{text}"
        segments = ["166?00SEPA-GUTSCHRIFT" if mark == "C" else "109?00SEPA-LASTSCHRIFT"]
        codes = [f"{n:02d}" for n in [*range(20, 30), *range(60, 64)]]
        chunks = _chunks(purpose, 27)
        assert len(chunks) <= len(codes), "purpose too long for the test writer"
        segments += [f"?{code}{chunk}" for code, chunk in zip(codes, chunks, strict=False)]
        if row.counterparty_iban:
            segments.append(f"?31{row.counterparty_iban}")
        if row.counterparty_name:
            name = _chunks(row.counterparty_name, 27)
            assert len(name) <= 2, "name too long for ?32 and ?33"
            segments += [f"?{32 + i}{part}" for i, part in enumerate(name[:2])]
        out.append(":86:" + "\n".join(segments))
    last = rows[-1].booked_on if rows else first
    out += [f":62F:C{last:%y%m%d}{currency}0,00", "-"]
    return "\r\n".join(out).encode()
