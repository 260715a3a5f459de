"""Reading bank statements: CAMT.053 and MT940 into the same lines (pure: no database)."""

import dataclasses
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solidaria.fundraising.statements import (
    CAMT053,
    MT940,
    RETURN_REASONS,
    REVERSAL,
    StatementError,
    StatementLine,
    parse_statement,
)
from solidaria.fundraising.tests.bankfiles import OWN_IBAN, Row, camt053, mt940

IBANS = ["DE89370400440532013000", "FR1420041010050500013M02606", "NL91ABNA0417164300", ""]


def _rows(lines: tuple[StatementLine, ...]) -> list[Row]:
    fields = {f.name for f in dataclasses.fields(Row)}
    return [
        Row(**{k: v for k, v in dataclasses.asdict(line).items() if k in fields}) for line in lines
    ]


# -- generated statements, both formats

_WORD_CHARS = st.characters(categories=["Ll", "Lo", "Nd"], exclude_characters="\x00")
# Lower-case and caseless letters only: an upper-case ISO reason code (AC04…) never appears
# in generated text by chance, so the only reason codes are those the test puts there.
_WORDS = st.lists(
    st.text(_WORD_CHARS | st.sampled_from(".,-()'"), min_size=1, max_size=12), max_size=6
).map(" ".join)
_E2E = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=35).filter(
    lambda s: s not in {"NONREF", "NOTPROVIDED"}
)


@st.composite
def _statement_rows(draw: st.DrawFn, *, currency: str) -> list[Row]:
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        amount = draw(st.integers(min_value=1, max_value=10**9))
        credit = draw(st.booleans())
        reason = "" if credit else draw(st.sampled_from(["", *sorted(RETURN_REASONS)]))
        rows.append(
            Row(
                booked_on=draw(st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31))),
                amount_minor=amount if credit else -amount,
                currency=currency,
                reference=draw(_WORDS)[:200],
                end_to_end_id=draw(st.one_of(st.just(""), _E2E)),
                counterparty_name=draw(_WORDS)[:52].strip(),  # ?32 + ?33, 27 each
                counterparty_iban=draw(st.sampled_from(IBANS)),
                return_reason=reason,
                bank_reference=draw(
                    st.one_of(st.just(""), st.text("0123456789ABCDEF", min_size=1, max_size=16))
                ),
            )
        )
    return rows


@pytest.mark.slow
@given(st.sampled_from(["EUR", "JPY", "KWD"]).flatmap(lambda c: _statement_rows(currency=c)))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_camt053_lines_come_back_as_written(rows: list[Row]) -> None:
    """Slow: 60 generated statements written and read back."""
    # when
    statement = parse_statement(camt053(rows))

    # then
    assert statement.file_format == CAMT053
    assert statement.account == OWN_IBAN
    assert _rows(statement.lines) == rows


@pytest.mark.slow
@given(st.sampled_from(["EUR", "JPY", "KWD"]).flatmap(lambda c: _statement_rows(currency=c)))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_mt940_lines_come_back_as_written(rows: list[Row]) -> None:
    """Slow: 60 generated statements written and read back."""
    # given: MT940 carries a return reason in the purpose text, as banks write it
    expected = [
        dataclasses.replace(r, reference=f"{r.return_reason} {r.reference}".strip())
        if r.return_reason
        else r
        for r in rows
    ]

    # when
    statement = parse_statement(mt940(rows, currency=rows[0].currency))

    # then
    assert statement.file_format == MT940
    assert _rows(statement.lines) == expected


@pytest.mark.slow
@given(_statement_rows(currency="EUR"), st.sampled_from(["02", "04", "08"]))
@settings(max_examples=40)
def test_line_keys_are_unique_and_the_same_in_any_layout(rows: list[Row], version: str) -> None:
    """Slow: 40 generated statements, each read in two layouts."""
    # given: the same lines twice over (two identical gifts on one day stay two lines)
    rows = rows + [dataclasses.replace(r, bank_reference="") for r in rows]

    # when
    camt = parse_statement(camt053(rows, version=version)).lines
    camt_02 = parse_statement(camt053(rows)).lines

    # then
    keys = [line.line_key for line in camt]
    assert len(set(keys)) == len(keys)
    assert all(len(k) == 64 for k in keys)
    assert keys == [line.line_key for line in camt_02]


@pytest.mark.slow
@given(
    _statement_rows(currency="EUR"),
    _statement_rows(currency="EUR"),
    _statement_rows(currency="EUR"),
    st.sampled_from([camt053, mt940]),
)
@settings(max_examples=40)
def test_overlapping_statements_give_the_shared_lines_the_same_keys(
    before: list[Row], shared: list[Row], after: list[Row], render
) -> None:
    """Slow: 40 generated pairs of overlapping statements."""
    # given: two files that share the lines of some days
    shared_days = {r.booked_on for r in shared}
    before = [r for r in before if r.booked_on not in shared_days]
    after = [r for r in after if r.booked_on not in shared_days]

    # when
    first = parse_statement(render(before + shared)).lines
    second = parse_statement(render(shared + after)).lines

    # then
    assert [line.line_key for line in first[len(before) :]] == [
        line.line_key for line in second[: len(shared)]
    ]


@pytest.mark.slow
@given(st.binary(max_size=400))
@settings(max_examples=200)
def test_any_bytes_give_lines_or_a_statement_error(data: bytes) -> None:
    """Slow: 200 generated files."""
    # when / then: never another exception
    try:
        parse_statement(data)
    except StatementError as error:
        message = error.message
    else:
        message = "read"
    assert message


@pytest.mark.slow
@given(st.text(max_size=300))
@settings(max_examples=200)
def test_mt940_looking_garbage_gives_lines_or_a_statement_error(tail: str) -> None:
    """Slow: 200 generated files."""
    # when / then
    try:
        parse_statement(f":20:X\n:25:DE89370400440532013000\n:61:{tail}".encode())
    except StatementError as error:
        message = error.message
    else:
        message = "read"
    assert message


# -- hand-written files in the banks' documented layouts

CAMT_02 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>053D2026-11-25T06:00:00</MsgId><CreDtTm>2026-11-25T06:00:00.0+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>0352C5320261125060000</Id>
      <ElctrncSeqNb>230</ElctrncSeqNb>
      <CreDtTm>2026-11-25T06:00:00.0+01:00</CreDtTm>
      <Acct><Id><IBAN>ES91 2100 0418 4502 0005 1332</IBAN></Id><Ccy>EUR</Ccy>
        <Svcr><FinInstnId><BIC>CAIXESBBXXX</BIC></FinInstnId></Svcr></Acct>
      <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-24</Dt></Dt></Bal>
      <Ntry>
        <Amt Ccy="EUR">25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-24</Dt></BookgDt><ValDt><Dt>2026-11-24</Dt></ValDt>
        <AcctSvcrRef>2026112400001</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">25.00</Amt></TxAmt></AmtDtls>
          <RltdPties>
            <Dbtr><Nm>Núria Puig i Font</Nm></Dbtr>
            <DbtrAcct><Id><IBAN>ES7620770024003102575766</IBAN></Id></DbtrAcct>
            <Cdtr><Nm>Associació Solidària</Nm></Cdtr>
            <CdtrAcct><Id><IBAN>ES9121000418450200051332</IBAN></Id></CdtrAcct>
          </RltdPties>
          <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
            <Ref>RF18 5390 0754 7034</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-25</Dt></BookgDt><ValDt><Dt>2026-11-25</Dt></ValDt>
        <AcctSvcrRef>2026112500007</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>ESDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><Btch><PmtInfId>SOL20261125-ABCDEFGHJKLM-RCUR</PmtInfId><NbOfTxs>2</NbOfTxs></Btch></NtryDtls>
        <AddtlNtryInf>SEPA CORE DIRECT DEBIT COLLECTION</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">40.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-25</Dt></BookgDt><ValDt><Dt>2026-11-25</Dt></ValDt>
        <AcctSvcrRef>2026112500008</AcctSvcrRef>
        <NtryDtls>
          <Btch><PmtInfId>SOL20261125-ABCDEFGHJKLM-FRST</PmtInfId><NbOfTxs>2</NbOfTxs></Btch>
          <TxDtls><Refs><EndToEndId>SOL-E2E-ONE</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">15.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>Ana García</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>ES7620770024003102575766</IBAN></Id></DbtrAcct></RltdPties></TxDtls>
          <TxDtls><Refs><AcctSvcrRef>2026112500008-2</AcctSvcrRef><EndToEndId>SOL-E2E-TWO</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">25.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>Luis Pérez</Nm></Dbtr></RltdPties></TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">12.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-26</Dt></BookgDt><ValDt><Dt>2026-11-26</Dt></ValDt>
        <AcctSvcrRef>2026112600009</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>SOL-ABCDEFGHJKLMNPQRSTUV</EndToEndId><MndtId>SOL-MANDATE1</MndtId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">12.50</Amt></TxAmt></AmtDtls>
          <RltdPties>
            <Dbtr><Nm>Hans Müller</Nm></Dbtr>
            <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
            <Cdtr><Nm>Associacio Solidaria</Nm></Cdtr>
            <CdtrAcct><Id><IBAN>ES9121000418450200051332</IBAN></Id></CdtrAcct>
          </RltdPties>
          <RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf></RtrInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
        <BookgDt><Dt>2026-11-26</Dt></BookgDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_a_camt053_001_02_statement_as_spanish_and_german_banks_write_it() -> None:
    # when
    statement = parse_statement(CAMT_02.encode())

    # then
    assert (statement.file_format, statement.account) == (CAMT053, OWN_IBAN)
    transfer, batch, one, two, returned = statement.lines  # the pending entry is not booked
    assert (transfer.booked_on, transfer.amount_minor, transfer.currency) == (
        date(2026, 11, 24),
        2500,
        "EUR",
    )
    assert transfer.reference == "RF18 5390 0754 7034"
    assert transfer.end_to_end_id == ""
    assert (transfer.counterparty_name, transfer.counterparty_iban) == (
        "Núria Puig i Font",
        "ES7620770024003102575766",
    )
    assert (batch.amount_minor, batch.batch_reference) == (3000, "SOL20261125-ABCDEFGHJKLM-RCUR")
    assert batch.reference == "SEPA CORE DIRECT DEBIT COLLECTION"
    # A batch booked with its transactions becomes one line per transaction.
    assert [(t.amount_minor, t.end_to_end_id) for t in (one, two)] == [
        (1500, "SOL-E2E-ONE"),
        (2500, "SOL-E2E-TWO"),
    ]
    assert (one.bank_reference, two.bank_reference) == ("2026112500008/1", "2026112500008-2")
    assert returned.amount_minor == -1250
    assert (returned.end_to_end_id, returned.return_reason) == ("SOL-ABCDEFGHJKLMNPQRSTUV", "AC04")
    # The other party of a return is the donor, not our own account.
    assert returned.counterparty_iban == "DE89370400440532013000"
    assert len({line.line_key for line in statement.lines}) == 5


CAMT_08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-25T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt><Id>S1</Id>
      <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="EUR">7.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-11-25T10:11:12+01:00</DtTm></BookgDt>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>SOL-REVERSED</EndToEndId></Refs>
          <Amt Ccy="EUR">7.50</Amt><CdtDbtInd>DBIT</CdtDbtInd>
          <RltdPties><Dbtr><Pty><Nm>فاطمة الزهراء</Nm></Pty></Dbtr>
            <DbtrAcct><Id><IBAN>NL20INGB0001234567</IBAN></Id></DbtrAcct></RltdPties>
          <RmtInf><Ustrd>Gift</Ustrd><Ustrd>november</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">3.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-11-25</Dt></BookgDt>
        <AddtlNtryInf>Bank fees November</AddtlNtryInf>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def test_a_camt053_001_08_statement_with_a_reversal_and_a_fee() -> None:
    # when
    statement = parse_statement(CAMT_08.encode())

    # then
    reversal, fee = statement.lines
    assert (reversal.booked_on, reversal.amount_minor, reversal.return_reason) == (
        date(2026, 11, 25),
        -750,
        REVERSAL,
    )
    assert reversal.counterparty_name == "فاطمة الزهراء"
    assert reversal.reference == "Gift november"
    assert (fee.amount_minor, fee.reference, fee.return_reason) == (-300, "Bank fees November", "")


MT940_DE = "\r\n".join(
    [
        ":20:STARTUMSE",
        ":25:37040044/0532013000",
        ":28C:00112/001",
        ":60F:C261124EUR1000,00",
        ":61:2611251125C25,00NTRFNONREF//0000012345",
        ":86:166?00SEPA-GUTSCHRIFT?109310?20EREF+NOTPROVIDED?21SVWZ+Spende RF18 5390 075?224 7034",
        "?30COBADEFFXXX?31DE44500105175407324931?32Müller, Jürgen",
        ":61:2611261126D12,50NDDTNONREF//0000012346",
        ":86:109?00SEPA-RUECKLASTSCHRIFT?20EREF+SOL-ABCDEFGHJKLMNPQRSTUV?21MREF+SOL-MANDATE1",
        "?22SVWZ+RUECKLASTSCHRIFT AC04 Kon?23to erloschen?31DE89370400440532013000?32Hans Mueller",
        ":61:2611261126C30,00NDDTNONREF",
        ":86:171?00SEPA-LASTSCHRIFT SAMMLER?20KREF+SOL20261125-ABCDEFGHJKLM?21SVWZ+2 Lastschriften",
        ":62F:C261126EUR1042,50",
        "-",
    ]
)


def test_an_mt940_statement_in_the_german_layout() -> None:
    # when
    statement = parse_statement(MT940_DE.encode())

    # then
    assert (statement.file_format, statement.account) == (MT940, "37040044/0532013000")
    credit, returned, batch = statement.lines
    assert (credit.booked_on, credit.amount_minor, credit.currency) == (
        date(2026, 11, 25),
        2500,
        "EUR",
    )
    assert credit.reference == "Spende RF18 5390 0754 7034"
    assert credit.end_to_end_id == ""
    assert (credit.counterparty_name, credit.counterparty_iban) == (
        "Müller, Jürgen",
        "DE44500105175407324931",
    )
    assert credit.bank_reference == "0000012345"
    assert (returned.amount_minor, returned.return_reason) == (-1250, "AC04")
    assert returned.end_to_end_id == "SOL-ABCDEFGHJKLMNPQRSTUV"
    assert (batch.amount_minor, batch.batch_reference) == (3000, "SOL20261125-ABCDEFGHJKLM")


MT940_NL = "\r\n".join(
    [
        "{1:F01ABNANL2AXXXX0000000000}{2:I940ABNANL2AXXXXN}{4:",
        ":20:940S261125",
        ":25:NL91ABNA0417164300",
        ":28C:000",
        ":60F:C261124EUR1000,00",
        ":61:261125C25,00N654NONREF",
        ":86:/EREF/NOTPROVIDED//CNTP/NL20INGB0001234567/INGBNL2A/J. de Vries/Utrecht/REMI/USTD//Gift",
        " RF18 5390 0754 7034/",
        ":61:261125RC12,50N654NONREF",
        ":86:/RTRN/MD06/EREF/SOL-ABCDEFGHJKLMNPQRSTUV//CNTP/NL20INGB0001234567/INGBNL2A/J. de Vries",
        "//REMI/USTD//Terugboeking/",
        ":61:261125D1,00N654NONREF",
        ":86:/TRTP/SEPA OVERBOEKING/REMI/USTD//Kosten/",
        ":62F:C261125EUR1011,50",
        "-}",
    ]
)


def test_an_mt940_message_in_the_dutch_layout_inside_a_swift_envelope() -> None:
    # when
    statement = parse_statement(MT940_NL.encode())

    # then
    assert statement.account == "NL91ABNA0417164300"
    gift, reversal, fee = statement.lines
    assert gift.reference == "Gift RF18 5390 0754 7034"
    assert (gift.counterparty_name, gift.counterparty_iban) == ("J. de Vries", "NL20INGB0001234567")
    # RC: the reversal of a credit, money going out.
    assert (reversal.amount_minor, reversal.return_reason) == (-1250, "MD06")
    assert reversal.end_to_end_id == "SOL-ABCDEFGHJKLMNPQRSTUV"
    assert (fee.amount_minor, fee.reference, fee.return_reason) == (-100, "Kosten", "")


# -- what is refused, and why


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"name,amount\nAna,12.50\n", "neither a CAMT.053"),
        (b"%PDF-1.7 ...", "neither a CAMT.053"),
        (b"<html><body>Hi</body></html>", "not a CAMT.053 statement"),
        (b"<Document><BkToCstmrStmt/>", "malformed"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"/>',
            "not a CAMT.053 statement",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>',
            "no statement",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&e;</Document>',
            "DTD",
        ),
        (b":20:X\r\n:60F:C261124EUR0,00\r\n:62F:C261124EUR0,00\r\n-", "no account"),
    ],
)
def test_files_that_are_not_statements_are_refused_with_the_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(StatementError, match=reason):
        parse_statement(data)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ('<Amt Ccy="EUR">abc</Amt><CdtDbtInd>CRDT</CdtDbtInd>', "not an amount"),
        ('<Amt Ccy="EUR">1.005</Amt><CdtDbtInd>CRDT</CdtDbtInd>', "more decimals"),
        ('<Amt Ccy="EUR">-5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>', "not an amount"),
        ('<Amt Ccy="eu">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>', "not a currency"),
        ("<CdtDbtInd>CRDT</CdtDbtInd>", "no amount"),
        ('<Amt Ccy="EUR">5.00</Amt><CdtDbtInd>X</CdtDbtInd>', "indicator"),
        (
            '<Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-13-01</Dt></BookgDt>',
            "date",
        ),
    ],
)
def test_a_bad_camt_entry_is_named_in_the_error(entry: str, reason: str) -> None:
    # given
    data = (
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>'
        "<Acct><Id><IBAN>ES9121000418450200051332</IBAN></Id></Acct>"
        f"<Ntry>{entry}<Sts>BOOK</Sts></Ntry></Stmt></BkToCstmrStmt></Document>"
    ).encode()

    # when / then
    with pytest.raises(StatementError, match=f"entry 1: .*{reason}"):
        parse_statement(data)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    # given
    data = b"<" + b" " * (20 * 1024 * 1024)

    # when / then
    with pytest.raises(StatementError, match="larger than 20 MB"):
        parse_statement(data)
