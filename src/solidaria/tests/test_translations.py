"""Every string of the interface exists in all 7 languages, with its placeholders intact.

`make messages` (run by CI before the suite) extracts every string from code and templates
into the .po files, so a new untranslated string fails here.
"""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}")


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(line: str) -> str:
    body = line[line.index('"') + 1 : line.rindex('"')]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr list, flags."""
    entries: list[dict] = []
    entry: dict = {"flags": set(), "msgstr": {}}
    field = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, field = {"flags": set(), "msgstr": {}}, None
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgstr["):
            field = ("msgstr", int(line[7 : line.index("]")]))
            entry["msgstr"][field[1]] = _unquote(line)
        elif line.startswith(("msgctxt", "msgid_plural", "msgid", "msgstr")):
            field = line.split(" ", 1)[0]
            if field == "msgstr":
                entry["msgstr"][0] = _unquote(line)
                field = ("msgstr", 0)
            else:
                entry[field] = _unquote(line)
        elif line.startswith('"') and field is not None:
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += _unquote(line)
            else:
                entry[field] += _unquote(line)
    return [e for e in entries if e["msgid"]]  # the header has an empty msgid


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated_with_its_placeholders(language):
    # given
    entries = read_po(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")

    # then
    assert len(entries) > 100
    problems = []
    for entry in entries:
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {entry['msgid']!r}")
        for form, text in entry["msgstr"].items():
            if not text.strip():
                problems.append(f"untranslated: {entry['msgid']!r}")
                continue
            source = entry["msgid_plural"] if form and "msgid_plural" in entry else entry["msgid"]
            if sorted(_PLACEHOLDER.findall(source)) != sorted(_PLACEHOLDER.findall(text)):
                # a plural form may drop %(count)s ("one contact"), nothing else
                missing = set(_PLACEHOLDER.findall(source)) - set(_PLACEHOLDER.findall(text))
                extra = set(_PLACEHOLDER.findall(text)) - set(_PLACEHOLDER.findall(source))
                if extra or (missing and not entry.get("msgid_plural")):
                    problems.append(f"placeholders differ: {entry['msgid']!r} -> {text!r}")
    assert not problems, f"{language}: " + "\n".join(problems[:40])


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalog_matches_the_po_file(language):
    # given
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    # then: the .mo that Django loads says what the .po says (run `make messages` after edits)
    for entry in read_po(folder / "django.po"):
        if "msgid_plural" in entry or "fuzzy" in entry["flags"]:
            continue
        if "msgctxt" in entry:
            got = compiled.pgettext(entry["msgctxt"], entry["msgid"])
        else:
            got = compiled.gettext(entry["msgid"])
        assert got == entry["msgstr"][0], entry["msgid"]
