"""Normalization of what people type: names, emails, phones, and words for search."""

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Arabic tatweel is decoration, not a letter; alef variants are folded so أحمد finds احمد.
_ARABIC_FOLD = str.maketrans({"\u0640": None, "أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})


def fold(text: str) -> str:
    """Lower-case, without accents or Arabic diacritics: “Núñez” → “nunez”, “مُحَمَّد” → “محمد”."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold().translate(_ARABIC_FOLD)


def clean_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def normalize_email(raw: str) -> str:
    """The address, validated for syntax only (no DNS), lower-cased; ValueError if invalid."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from error
    return result.normalized.lower()


def normalize_phone(raw: str, *, region: str) -> str:
    """E.164 (`+34612345678`), reading national numbers in `region`; ValueError if invalid."""
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"“{raw}” is not a phone number.") from error
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError(f"“{raw}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def name_words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def phone_terms(e164: str) -> list[str]:
    """The digits with the country code, the national number, and the number as dialled at
    home (with its trunk prefix or leading zero: `0612…` in France or Italy), so a search
    for the start of any of them finds it."""
    digits = e164.lstrip("+")
    terms = [digits]
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return terms
    dialled = re.sub(
        r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    )
    for term in (str(number.national_number), dialled):
        if term and term not in terms:
            terms.append(term)
    return terms


def search_terms(*, names: list[str], emails: list[str], phones: list[str]) -> set[str]:
    """Every word a contact can be found by, each at most 100 characters."""
    terms: set[str] = set()
    for name in names:
        terms.update(name_words(name))
    for email in emails:
        terms.add(email)
        local = email.split("@", 1)[0]
        terms.update(name_words(local))
    for phone in phones:
        terms.update(phone_terms(phone))
    return {term[:100] for term in terms if term}


_PHONE_QUERY = re.compile(r"^\+?[\d\s().-]{4,}$")


def query_terms(query: str, *, region: str) -> list[str]:
    """Folded search words from what someone typed into the search box.

    A phone-looking query becomes its digits, which start one of a number's search words
    however it was typed (see `phone_terms`); a whole number dialled from abroad (`+34…`,
    `0034…`) becomes its E.164 digits. An email-looking word stays whole; other words are
    folded like names. Each word is cut like the stored ones, so a long one still matches.
    """
    query = query.strip()
    if not query:
        return []
    terms: list[str] = []
    if _PHONE_QUERY.match(query):
        terms.append(_phone_query_digits(query, region=region))
    else:
        for word in query.split():
            if "@" in word:
                terms.append(word.lower())
            else:
                terms.extend(name_words(word))
    return [term[:100] for term in terms if term][:6]


_DIALLED_FROM_ABROAD = frozenset(
    {
        phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
        phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD,
    }
)


def _phone_query_digits(query: str, *, region: str) -> str:
    digits = re.sub(r"\D", "", query)
    try:
        number = phonenumbers.parse(query, region.upper() or None, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is not None
        and number.country_code_source in _DIALLED_FROM_ABROAD
        and phonenumbers.is_valid_number(number)
        # The whole number, as typed: not the start of a longer one that happens to be valid
        # once the country's rules rewrite it.
        and digits.endswith(phonenumbers.national_significant_number(number))
    ):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    # Only part of a number: "00" is how most of the world starts dialling abroad.
    return digits[2:] if digits.startswith("00") else digits
