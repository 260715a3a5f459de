"""Properties of the normalization behind storage and search (people/normalize.py)."""

import unicodedata

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from solidaria.people.normalize import (
    fold,
    name_words,
    normalize_email,
    normalize_phone,
    query_terms,
    search_terms,
)

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
E164 = phonenumbers.PhoneNumberFormat.E164
# Letters of the languages the product speaks (en, es, ca, it, de, fr, ar), both cases.
OUR_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "áéíóúàèìòùâêîôûäëïöüÿçñßœæŀÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÄËÏÖÜŸÇÑŒÆĿ"
    "ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىةـًٌٍَُِّْ"
)
# Text a person's name may hold: letters of any script, marks, spaces, hyphens, apostrophes.
name_text = st.text(
    alphabet=st.one_of(
        st.characters(categories=["L", "M"]),
        st.sampled_from(" -'’."),
    ),
    max_size=60,
)
any_text = st.text(max_size=80)
regions = st.sampled_from(["", "es", "ZZ", *REGIONS])


@given(any_text)
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(any_text)
def test_fold_leaves_no_combining_marks(text):
    assert not any(unicodedata.combining(ch) for ch in fold(text))


@given(any_text)
def test_fold_output_is_already_case_folded(text):
    # Case folding is Unicode's lower-casing for comparison (it keeps Cherokee's uppercase).
    folded = fold(text)
    assert folded.casefold() == folded


@given(st.text(alphabet=OUR_LETTERS + " ", max_size=40))
def test_fold_ignores_case_in_our_languages(text):
    folded = fold(text)
    assert not any(ch.isupper() for ch in folded)
    assert fold(text.upper()) == fold(text.lower()) == folded


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("García", "garcia"),
        ("NÚÑEZ", "nunez"),
        ("Straße", "strasse"),
        ("Çağlar", "caglar"),
        ("مُحَمَّد", "محمد"),
        ("أحمد", "احمد"),
        ("فاطمة", "فاطمه"),
        ("ســـلام", "سلام"),
    ],
)
def test_fold_examples(typed, folded):
    assert fold(typed) == folded


@st.composite
def typed_phones(draw):
    """A real number of some country, typed as people do, with that country as the region."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from(
            [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
        )
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None and phonenumbers.is_valid_number(example))
    style = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                E164,
            ]
        )
    )
    return (
        region,
        phonenumbers.format_number(example, style),
        phonenumbers.format_number(example, E164),
    )


@given(typed_phones(), st.sampled_from(REGIONS))
def test_normalize_phone_gives_the_e164_that_parses_back_to_itself(typed_phone, elsewhere):
    region, typed, e164 = typed_phone

    # when
    stored = normalize_phone(typed, region=region)

    # then: the same number wherever it is read again, since it carries its country code
    assert stored == e164
    assert phonenumbers.format_number(phonenumbers.parse(stored), E164) == stored
    assert normalize_phone(stored, region=elsewhere) == stored
    assert normalize_phone(stored, region="") == stored


@given(st.one_of(any_text, st.from_regex(r"\+?[0-9 ().-]{0,25}", fullmatch=True)), regions)
def test_normalize_phone_accepts_or_raises_value_error_and_what_it_accepts_round_trips(raw, region):
    try:
        stored = normalize_phone(raw, region=region)
    except ValueError:
        return
    assert stored.startswith("+")
    assert stored[1:].isdigit()
    assert normalize_phone(stored, region="") == stored


@given(any_text)
def test_normalize_email_accepts_or_raises_value_error_and_is_stable(raw):
    try:
        email = normalize_email(raw)
    except ValueError:
        return
    assert email == email.lower()
    assert normalize_email(email) == email


@given(any_text, regions)
def test_query_terms_never_raises_on_any_text(query, region):
    terms = query_terms(query, region=region)
    assert len(terms) <= 6
    assert all(term and term == term.strip() for term in terms)


@given(st.lists(name_text, min_size=1, max_size=3))
def test_search_terms_contain_the_folded_words_of_the_names(names):
    terms = search_terms(names=names, emails=[], phones=[])
    for name in names:
        for word in name_words(name):
            assert word[:100] in terms
    assert all(0 < len(term) <= 100 for term in terms)


@settings(max_examples=200)
@given(name_text, st.sampled_from(["ES", "MA", "DE"]))
def test_a_name_typed_into_search_finds_its_contact(name, region):
    # given: a contact with this name
    terms = search_terms(names=[name], emails=[], phones=[])

    # when: someone types the name (or its start) into the search box
    for typed in (name, name[: len(name) // 2]):
        wanted = query_terms(typed, region=region)

        # then: every search word starts one of the contact's words
        for word in wanted:
            assert any(term.startswith(word) for term in terms), (word, sorted(terms))


@given(
    st.from_regex(r"[a-z][a-z0-9._-]{0,20}@[a-z]{1,10}\.(org|es|com)", fullmatch=True),
    st.integers(min_value=1, max_value=30),
)
def test_an_email_prefix_finds_its_contact(email, cut):
    terms = search_terms(names=[], emails=[email], phones=[])
    for word in query_terms(email[:cut], region="ES"):
        assert any(term.startswith(word) for term in terms), (word, sorted(terms))


@given(typed_phones(), st.integers(min_value=4, max_value=20))
def test_a_phone_typed_in_any_usual_form_or_its_start_finds_its_contact(typed_phone, cut):
    # given
    region, typed, e164 = typed_phone
    terms = search_terms(names=[], emails=[], phones=[e164])
    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    # when / then: with or without the country code, whole or only its start
    for query in (typed, e164, national, international, e164[1:]):
        for typed_part in (query, query[:cut]):
            for word in query_terms(typed_part, region=region):
                assert any(term.startswith(word) for term in terms), (typed_part, sorted(terms))
