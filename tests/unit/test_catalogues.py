"""The front end's message catalogues (``frontend/i18n/<language>.json``) against each other and the code.

Every language has the same keys, no empty text and the same ``{placeholders}``; every key the
pages use (``data-i18n`` attributes in the HTML, ``t("key")`` and key literals in the JavaScript)
exists; every error code the server sends has a message; and no key lies unused. No browser, no
server: it reads files.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
I18N = FRONTEND / "i18n"
PAGES = sorted(FRONTEND.glob("*.html"))
SCRIPTS = sorted((FRONTEND / "js").glob("*.js"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Keys looked up with a computed name: every member of these families counts as used.
DYNAMIC_FAMILIES = ("errors.", "retrain.stage.", "gate.why.")
# Codes the page itself gives to failures that never reached the server (live.js, app.js, models.js).
CLIENT_CODES = {"timeout", "network", "unknown", "busyRetrying"}
# Codes the page must know before the server sends them (issue 26: rooms and connection limits).
EXPECTED_CODES = {"rate_limited", "bad_image", "store_unavailable", "unknown_room", "too_many_connections"}


def strict_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicated, f"duplicate keys: {duplicated}"
    return dict(pairs)


def load(language: str) -> dict[str, str]:
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"), object_pairs_hook=strict_object)


def shipped_languages() -> list[str]:
    """The languages i18n.js offers (its LANGUAGES list), English first."""
    source = (FRONTEND / "js" / "i18n.js").read_text(encoding="utf-8")
    found = re.search(r"export const LANGUAGES = \[([^\]]*)\]", source)
    assert found, "i18n.js names its languages in `export const LANGUAGES = [...]`"
    return re.findall(r'"([a-z]{2,3})"', found.group(1))


LANGUAGES = shipped_languages()
OTHERS = [language for language in LANGUAGES if language != "en"]


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return load("en")


def test_every_shipped_language_has_a_catalogue_and_no_catalogue_is_unshipped():
    assert LANGUAGES[0] == "en"
    assert set(LANGUAGES) >= {"en", "de", "es", "fr", "ar"}
    assert sorted(path.stem for path in I18N.glob("*.json")) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_catalogue_is_a_flat_object_of_non_empty_strings(language):
    catalogue = load(language)
    assert catalogue, f"{language}.json is empty"
    for key, value in catalogue.items():
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*(\.[A-Za-z0-9_]+)+", key), f"{language}: odd key {key!r}"
        assert isinstance(value, str), f"{language}: {key} is not a string"
        assert value.strip(), f"{language}: {key} is empty"
        assert value == value.strip(), f"{language}: {key} has space around it"


@pytest.mark.parametrize("language", OTHERS)
def test_every_key_is_in_every_language_and_no_other(english, language):
    catalogue = load(language)
    assert sorted(set(english) - set(catalogue)) == [], f"missing from {language}.json"
    assert sorted(set(catalogue) - set(english)) == [], f"in {language}.json but not in en.json"


@pytest.mark.parametrize("language", OTHERS)
def test_placeholders_are_the_same_in_every_language(english, language):
    catalogue = load(language)
    for key, text in english.items():
        assert sorted(PLACEHOLDER.findall(catalogue[key])) == sorted(PLACEHOLDER.findall(text)), (
            f"{language}: {key} has other placeholders than English"
        )


@pytest.mark.parametrize("language", OTHERS)
def test_a_translation_is_translated_not_copied(english, language):
    """Some texts are the same in two languages ("Version", "{digit}: {percent}"), most are not."""
    catalogue = load(language)
    worded = [key for key, text in english.items() if re.search(r"[A-Za-z]{3}", PLACEHOLDER.sub("", text))]
    same = [key for key in worded if catalogue[key] == english[key]]
    assert len(same) <= 0.05 * len(worded), f"{language}: copied from English: {same}"


class I18nAttributes(HTMLParser):
    """The catalogue keys a page names (data-i18n, data-i18n-<attribute>) and its slots, per element."""

    VOID: ClassVar[set[str]] = {
        "meta",
        "link",
        "input",
        "img",
        "br",
        "hr",
        "source",
        "area",
        "base",
        "col",
        "embed",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.slots: dict[str, set[str]] = {}  # key of a data-i18n element -> its children's slot names
        self.stack: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attributes.items():
            if name.startswith("data-i18n") and name != "data-i18n-slot":
                assert value, f"<{tag} {name}> names no key"
                self.keys.add(value)
        if attributes.get("data-i18n"):
            self.slots.setdefault(attributes["data-i18n"], set())
        slot = attributes.get("data-i18n-slot")
        if slot is not None:
            parent = self.stack[-1] if self.stack else {}
            assert parent.get("data-i18n"), f"slot {slot!r} is not a direct child of a data-i18n element"
            self.slots[parent["data-i18n"]].add(slot)
        if tag not in self.VOID:
            self.stack.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def parsed_pages() -> list[I18nAttributes]:
    parsed = []
    for page in PAGES:
        parser = I18nAttributes()
        parser.feed(page.read_text(encoding="utf-8"))
        parsed.append(parser)
    return parsed


def script_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in SCRIPTS)


def keys_in_scripts(english: dict[str, str]) -> tuple[set[str], set[str]]:
    """Keys in t("...") calls, and key-shaped string literals of a catalogue namespace (maps of keys)."""
    source = script_text()
    called = set(re.findall(r"\bt\(\s*[\"']([^\"']+)[\"']", source))
    namespaces = {key.split(".")[0] for key in english}
    literals = {
        literal
        for literal in re.findall(r"[\"']([a-z][A-Za-z]*(?:\.[A-Za-z0-9_]+)+)[\"']", source)
        if literal.split(".")[0] in namespaces
    }
    return called, literals


def test_every_key_the_html_names_exists(english):
    assert PAGES, "no pages found"
    for parser in parsed_pages():
        assert sorted(parser.keys - set(english)) == []


def test_every_slot_is_a_placeholder_of_its_text_and_every_placeholder_a_slot(english):
    """data-i18n="dashboard.attempts" ("Attempts: {count}") keeps its <strong data-i18n-slot="count">."""
    for parser in parsed_pages():
        for key, slots in parser.slots.items():
            assert set(PLACEHOLDER.findall(english[key])) == slots, f"{key}: slots {slots} vs its text"


def test_every_key_the_scripts_use_exists(english):
    called, literals = keys_in_scripts(english)
    assert called, "no t() calls found"
    assert sorted(called - set(english)) == [], "t() with a key that is not in en.json"
    assert sorted(literals - set(english)) == [], "a key literal that is not in en.json"


def test_no_key_lies_unused(english):
    used = set(keys_in_scripts(english)[1]) | keys_in_scripts(english)[0]
    for parser in parsed_pages():
        used |= parser.keys
    unused = [key for key in english if key not in used and not key.startswith(DYNAMIC_FAMILIES)]
    assert unused == []


# How the server names its error codes: ApiError(400, "bad_query", ...), error_response(503, "busy", ...),
# ProtocolError("bad_label", ...), reject("rate_limited", ...), class attributes `code = "bad_image"`,
# {"code": "rate_limited", ...} and the HTTP status map {413: "too_large", ...}.
CODE_PATTERNS = [
    re.compile(r"ApiError\(\s*\d+,\s*\"([a-z_]+)\""),
    re.compile(r"error_response\(\s*[^,()]+,\s*\"([a-z_]+)\""),
    re.compile(r"(?:ProtocolError|reject|rejection|error_event)\(\s*\"([a-z_]+)\""),
    re.compile(r"^\s+code\s*(?::\s*str\s*)?=\s*\"([a-z_]+)\"", re.MULTILINE),
    re.compile(r"\"code\":\s*\"([a-z_]+)\""),
    re.compile(r"\b[1-5]\d\d:\s*\"([a-z_]+)\""),
]


def server_error_codes() -> set[str]:
    codes: set[str] = set()
    for folder in ("server", "model"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for pattern in CODE_PATTERNS:
                codes.update(pattern.findall(source))
    return codes


def test_every_error_code_the_server_sends_has_a_message(english):
    codes = server_error_codes()
    assert {"bad_image", "rate_limited", "store_unavailable", "not_found"} <= codes, "the code scan finds nothing"
    wanted = codes | EXPECTED_CODES | CLIENT_CODES
    missing = sorted(code for code in wanted if f"errors.{code}" not in english)
    assert missing == [], "add errors.<code> to every catalogue"


def test_the_page_keys_errors_on_their_code_and_falls_back_to_the_message():
    source = (FRONTEND / "js" / "i18n.js").read_text(encoding="utf-8")
    assert "errors.${code}" in source
    for path in SCRIPTS:  # no page shows a server's message by itself any more
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"textContent\s*=\s*[^;]*\.message\b", text), f"{path.name} shows a raw message"
