"""SEPA checks and pain.008 files (pure: no database)."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import defusedxml.ElementTree
import pytest
import sepaxml
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from solidaria.fundraising import sepa
from solidaria.fundraising.sepa import Creditor, Debit, SepaError

CREDITOR = Creditor(
    name="Associació Solidària de Gràcia",
    iban="ES91 2100 0418 4502 0005 1332",
    bic="CAIXESBBXXX",
    creditor_id="ES23ZZZ47690558N",
)
COLLECTION = date(2026, 12, 1)
IBANS = [
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "IT60X0542811101000000123456",
    "ES7620770024003102575766",
]
SEPA_CHARSET = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]*$")


@cache
def _xsd(schema: str) -> xmlschema.XMLSchema:
    # The official XSD shipped inside sepaxml, loaded here on its own (not through our code).
    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / f"{schema}.xsd"))


def _debit(n: int, **fields: object) -> Debit:
    values: dict = {
        "end_to_end_id": f"E2E-{n}",
        "amount_minor": 1000 + n,
        "debtor_name": f"Donor {n}",
        "iban": IBANS[n % len(IBANS)],
        "mandate_reference": f"MANDATE-{n}",
        "mandate_signed_at": date(2025, 1, 15),
        "sequence": "FRST" if n % 2 else "RCUR",
        "description": f"Donation {n}",
    }
    values.update(fields)
    return Debit(**values)


def _ns(xml: bytes) -> tuple[ET.Element, dict[str, str]]:
    root = defusedxml.ElementTree.fromstring(xml)
    return root, {"p": root.tag[1:].split("}")[0]}


@pytest.mark.slow
@pytest.mark.parametrize("schema", ["pain.008.001.02", "pain.008.001.08"])
def test_a_collection_file_is_valid_with_one_block_per_sequence_type(schema: str) -> None:
    """Slow: the first run in a process parses the official XSDs (a few tenths of a second)."""
    # given
    debits = [
        _debit(1, debtor_name="José Núñez Ibáñez", sequence="FRST"),
        _debit(2, debtor_name="محمد العلي", sequence="RCUR", bic="ABNANL2A"),
        _debit(3, debtor_name="Søren Ærø & Łukasz Żółć", sequence="FRST"),
        _debit(4, debtor_name="Jürgen Müller-Lüdenscheidt", sequence="RCUR", amount_minor=5),
    ]

    # when
    xml = sepa.build_pain008(
        CREDITOR, COLLECTION, debits, message_id="SOL20261201-TEST", schema=schema
    )

    # then
    _xsd(schema).validate(xml.decode())
    root, ns = _ns(xml)
    assert ns["p"] == f"urn:iso:std:iso:20022:tech:xsd:{schema}"
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", ns)
    assert header.findtext("p:MsgId", namespaces=ns) == "SOL20261201-TEST"
    assert header.findtext("p:NbOfTxs", namespaces=ns) == "4"
    assert Decimal(header.findtext("p:CtrlSum", namespaces=ns)) == Decimal("30.11")
    blocks = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", ns)
    assert [b.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns) for b in blocks] == ["FRST", "RCUR"]
    assert [b.findtext("p:PmtInfId", namespaces=ns) for b in blocks] == [
        "SOL20261201-TEST-FRST",
        "SOL20261201-TEST-RCUR",
    ]
    frst, rcur = blocks
    assert frst.findtext("p:ReqdColltnDt", namespaces=ns) == "2026-12-01"
    assert frst.findtext("p:CtrlSum", namespaces=ns) == "20.04"
    assert rcur.findtext("p:CtrlSum", namespaces=ns) == "10.07"
    names = [n.text for n in root.iterfind(".//p:Dbtr/p:Nm", ns)]
    assert names[0] == "Jose Nunez Ibanez"
    assert names[1] == "Soren AEro + Lukasz Zolc"
    assert all(SEPA_CHARSET.match(name) for name in names)
    amounts = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns): tx.find("p:InstdAmt", ns)
        for tx in root.iterfind(".//p:DrctDbtTxInf", ns)
    }
    assert amounts["E2E-4"].text == "0.05"
    assert amounts["E2E-1"].get("Ccy") == "EUR"
    creditor_name = root.findtext(".//p:Cdtr/p:Nm", namespaces=ns)
    assert creditor_name == "Associacio Solidaria de Gracia"
    assert root.findtext(".//p:CdtrSchmeId//p:Othr/p:Id", namespaces=ns) == "ES23ZZZ47690558N"


@pytest.mark.parametrize("schema", ["pain.008.001.02", "pain.008.001.08"])
def test_one_off_debits_have_their_own_ooff_block_after_frst_and_rcur(schema: str) -> None:
    # given
    debits = [
        _debit(1, sequence="OOFF", amount_minor=3000),
        _debit(2, sequence="RCUR"),
        _debit(3, sequence="FRST"),
        _debit(4, sequence="OOFF", amount_minor=500),
    ]

    # when
    xml = sepa.build_pain008(
        CREDITOR, COLLECTION, debits, message_id="SOL20261201-OOFF1", schema=schema
    )

    # then
    _xsd(schema).validate(xml.decode())
    root, ns = _ns(xml)
    blocks = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", ns)
    assert [b.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns) for b in blocks] == [
        "FRST",
        "RCUR",
        "OOFF",
    ]
    ooff = blocks[2]
    assert ooff.findtext("p:PmtInfId", namespaces=ns) == "SOL20261201-OOFF1-OOFF"
    assert ooff.findtext("p:NbOfTxs", namespaces=ns) == "2"
    assert ooff.findtext("p:CtrlSum", namespaces=ns) == "35.00"
    assert [
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns)
        for tx in ooff.iterfind("p:DrctDbtTxInf", ns)
    ] == ["E2E-1", "E2E-4"]


def test_a_file_with_only_recurring_debits_has_one_block() -> None:
    # when
    xml = sepa.build_pain008(CREDITOR, COLLECTION, [_debit(2), _debit(4)])

    # then
    _xsd("pain.008.001.02").validate(xml.decode())
    root, ns = _ns(xml)
    assert [s.text for s in root.iterfind(".//p:SeqTp", ns)] == ["RCUR"]


def test_the_creation_time_is_the_given_moment_in_utc() -> None:
    # when
    xml = sepa.build_pain008(
        CREDITOR, COLLECTION, [_debit(1)], created_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    )

    # then
    root, ns = _ns(xml)
    assert root.findtext(".//p:GrpHdr/p:CreDtTm", namespaces=ns) == "2026-11-25T09:30:00"


def test_the_creditor_bic_comes_from_the_iban_when_not_given() -> None:
    # when
    xml = sepa.build_pain008(
        Creditor(
            name="Coop", iban="DE89370400440532013000", bic="", creditor_id="DE98ZZZ09999999999"
        ),
        COLLECTION,
        [_debit(1)],
    )

    # then
    root, ns = _ns(xml)
    assert root.findtext(".//p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=ns) == "COBADEFFXXX"


@pytest.mark.parametrize(
    ("debits", "message"),
    [
        ([], "at least one debit"),
        ([_debit(1, currency="USD")], "euros only"),
        ([_debit(1, amount_minor=0)], "positive"),
        ([_debit(1, iban="DE89370400440532013001")], "debit 1 .*not a valid IBAN"),
        ([_debit(1), _debit(2, bic="NOTABIC")], "debit 2 .*not a valid BIC"),
        ([_debit(1, sequence="FNAL")], "FRST, RCUR or OOFF"),
        ([_debit(1, mandate_reference="/bad//ref")], "mandate reference"),
        ([_debit(1, end_to_end_id="has space")], "end-to-end"),
        ([_debit(1, debtor_name="😀😀")], "name is empty"),
        ([_debit(1), _debit(2, end_to_end_id="E2E-1")], "share an end-to-end id"),
    ],
)
def test_bad_debits_are_refused_with_a_clear_message(debits: list[Debit], message: str) -> None:
    # when / then
    with pytest.raises(SepaError, match=message):
        sepa.build_pain008(CREDITOR, COLLECTION, debits)


def test_a_bad_creditor_is_refused() -> None:
    # given
    bad = Creditor(name="Coop", iban=CREDITOR.iban, bic="", creditor_id="ES24ZZZ47690558N")

    # when / then
    with pytest.raises(SepaError, match="not a valid SEPA creditor identifier"):
        sepa.build_pain008(bad, COLLECTION, [_debit(1)])


def test_an_unknown_schema_is_refused() -> None:
    with pytest.raises(SepaError, match="Unknown SEPA schema"):
        sepa.build_pain008(CREDITOR, COLLECTION, [_debit(1)], schema="pain.008.003.02")


def test_an_invalid_document_is_caught_by_the_xsd_check() -> None:
    # given: a valid file with its creditor identifier removed
    xml = sepa.build_pain008(CREDITOR, COLLECTION, [_debit(1)])
    broken = xml.replace(b"<MsgId>", b"<Nonsense/><MsgId>", 1)

    # when / then
    with pytest.raises(SepaError, match=r"does not follow pain\.008\.001\.02"):
        sepa.validate_pain008(broken)


# -- checks


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("es91 2100 0418 4502 0005 1332", "ES9121000418450200051332"),
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
    ],
)
def test_valid_ibans_come_back_compact(raw: str, compact: str) -> None:
    assert sepa.validate_iban(raw) == compact


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "missing"),
        ("DE89370400440532013001", "checksum"),
        ("DE8937040044053201300", "length"),
        ("XX89370400440532013000", "not a valid IBAN"),
    ],
)
def test_invalid_ibans_say_why(raw: str, reason: str) -> None:
    with pytest.raises(SepaError, match=reason):
        sepa.validate_iban(raw)


def test_bics_are_checked() -> None:
    assert sepa.validate_bic("cobadeffxxx") == "COBADEFFXXX"
    with pytest.raises(SepaError, match="not a valid BIC"):
        sepa.validate_bic("COBADEFFX")


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        ("ES 23 ZZZ 47690558N", "ES23ZZZ47690558N"),
        ("DE98ZZZ09999999999", "DE98ZZZ09999999999"),
        ("NL42ZZZ123456780001", "NL42ZZZ123456780001"),
        ("IT66ZZZA1B2C3D4E5F6G7H8", "IT66ZZZA1B2C3D4E5F6G7H8"),
        ("de98abc09999999999", "DE98ABC09999999999"),  # the business code is not checked
    ],
)
def test_valid_creditor_ids(raw: str, compact: str) -> None:
    assert sepa.validate_creditor_id(raw) == compact


@pytest.mark.parametrize(
    "raw", ["", "DE99ZZZ09999999999", "ES23ZZZ47690558M", "23ZZZ47690558N", "DE98ZZZ"]
)
def test_invalid_creditor_ids(raw: str) -> None:
    with pytest.raises(SepaError, match="creditor identifier"):
        sepa.validate_creditor_id(raw)


@given(st.text(max_size=60).filter(lambda s: s.strip()))
def test_creditor_id_check_digits_are_iso_7064_mod_97_10(national_id: str) -> None:
    # given: an identifier built by the rule: digits over national id + country + "00"
    national = "".join(c for c in national_id.upper() if c.isascii() and c.isalnum())[:28]
    if not national:
        return
    number = int("".join(str(int(c, 36)) for c in national + "ES00"))
    valid = f"ES{98 - number % 97:02d}ZZZ{national}"
    wrong = f"ES{(98 - number % 97 + 1) % 97:02d}ZZZ{national}"

    # then
    assert sepa.validate_creditor_id(valid) == valid
    with pytest.raises(SepaError):
        sepa.validate_creditor_id(wrong)


def test_generated_references_are_valid_and_distinct() -> None:
    # when
    mandates = {sepa.make_mandate_reference() for _ in range(200)}
    ends = {sepa.make_end_to_end_id() for _ in range(200)}
    message = sepa.make_message_id(COLLECTION)

    # then
    assert len(mandates) == len(ends) == 200
    assert all(len(m) <= 35 and sepa.validate_mandate_reference(m) == m for m in mandates)
    assert all(re.fullmatch(r"SOL-[A-Z2-9]{20}", e) for e in ends)
    assert re.fullmatch(r"SOL20261201-[A-Z2-9]{12}", message)
    assert len(sepa.payment_information_id(message, "FRST")) <= 35


@pytest.mark.parametrize("ref", ["M-1", "MANDAT 2024/17", "A" * 35, "x:y?(z).,'+"])
def test_valid_mandate_references(ref: str) -> None:
    assert sepa.validate_mandate_reference(ref) == ref


@pytest.mark.parametrize("ref", ["", "A" * 36, "/M1", "M1/", "M//1", "Mañana", "M_1"])
def test_invalid_mandate_references(ref: str) -> None:
    with pytest.raises(SepaError, match="mandate reference"):
        sepa.validate_mandate_reference(ref)


@given(st.text(max_size=200), st.integers(min_value=1, max_value=140))
def test_sepa_text_is_always_in_the_sepa_character_set(text: str, max_length: int) -> None:
    # when
    out = sepa.sepa_text(text, max_length=max_length)

    # then
    assert SEPA_CHARSET.match(out)
    assert len(out) <= max_length
    assert out == out.strip()


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=99_999_999),
            st.text(min_size=1, max_size=80).filter(lambda s: sepa.sepa_text(s, max_length=70)),
            st.sampled_from(["FRST", "RCUR"]),
            st.sampled_from(IBANS),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(sepa.SCHEMAS),
)
@settings(max_examples=40, deadline=None)
@pytest.mark.slow
def test_any_collection_is_valid_and_adds_up(
    rows: list[tuple[int, str, str, str]], schema: str
) -> None:
    """Slow: 40 generated files, each checked against the official XSD."""
    # given
    debits = [
        _debit(i, amount_minor=amount, debtor_name=name, sequence=seq, iban=iban)
        for i, (amount, name, seq, iban) in enumerate(rows)
    ]

    # when
    xml = sepa.build_pain008(CREDITOR, COLLECTION, debits, schema=schema)

    # then
    _xsd(schema).validate(xml.decode())
    root, ns = _ns(xml)
    total = sum(Decimal(a.text) for a in root.iterfind(".//p:InstdAmt", ns))
    assert total == Decimal(sum(amount for amount, *_ in rows)) / 100
    assert Decimal(root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns)) == total
    for block in root.iterfind(".//p:PmtInf", ns):
        seq = block.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns)
        count = sum(1 for *_, s, _i in rows if s == seq)
        assert block.findtext("p:NbOfTxs", namespaces=ns) == str(count)
