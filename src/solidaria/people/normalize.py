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
    """The digits with the country code, and the national number, so either finds it."""
    digits = e164.lstrip("+")
    terms = [digits]
    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        return terms
    if national != digits:
        terms.append(national)
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

    A phone-looking query becomes digits (and its E.164 form when it parses in `region`); an
    email-looking word stays whole; other words are folded like names.
    """
    query = query.strip()
    if not query:
        return []
    if _PHONE_QUERY.match(query):
        digits = re.sub(r"\D", "", query)
        try:
            return [normalize_phone(query, region=region).lstrip("+")]
        except ValueError:
            return [digits]
    terms: list[str] = []
    for word in query.split():
        if "@" in word:
            terms.append(word.lower())
        else:
            terms.extend(name_words(word))
    return terms[:6]
