"""The dashboard after a retrain the gate refused, in real headless Chromium against a real server: the teacher
reads, in the page's language, which number fell, from what to what, what is allowed and what to do (the
catalogues' ``gate.why.<code>`` sentences, numbers in the language's format), and never a raw code.

The refusal is written to the models folder's status file the way ``python -m model.training.retrain`` writes it
(its own ``gate`` and ``Status``), not trained: a real fine-tune costs minutes, and no cheap setting makes every
check fail at once with numbers known in advance. A real refused retrain, its ``failures`` and its status file are
covered by tests/system/test_retrain.py (test_a_failing_gate_changes_nothing).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from model.runtime import card as model_card
from model.runtime.versions import RETRAIN_STATUS_FILE
from model.training import retrain
from tests.support.server_process import TEACHER_TOKEN, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
I18N = Path(__file__).resolve().parents[2] / "frontend" / "i18n"
LANGUAGES = ["en", "de", "es", "fr", "ar"]
DECIMAL_COMMA = {"de", "es", "fr"}  # "93,5 %"; English and Arabic (Latin digits, bidi marks) write "93.5%"
BIDI_MARKS = re.compile("[\u200e\u200f\u061c\u2066-\u2069]")
CODES = re.compile(r"\b(?:" + "|".join(retrain.REASONS) + r")\b")

# Every check of the gate fails: MNIST falls below the minimum and by more than allowed, the class's held-out
# drawings are read worse, and non-digits are refused 4 points less than by the current model and 2 less than by
# the shipped one (the floor: at least 93.5 %).
CURRENT = retrain.Scores(0.9962, 0.90, 0.965)
CANDIDATE = retrain.Scores(0.9948, 0.85, 0.925)
SHIPPED_NON_DIGITS = 0.945
FAILURES = retrain.gate(CANDIDATE, CURRENT, SHIPPED_NON_DIGITS, held_out_attempts=60)


def normalized(text: str) -> str:
    """Text as read: bidi marks out (Intl puts them around numbers), any run of spaces (no-break too) one space."""
    return " ".join(BIDI_MARKS.sub("", text).split())


def localized(number: str, language: str) -> str:
    """ "93.5%" / "4.0" as the language writes them."""
    return number.replace(".", ",").replace("%", " %") if language in DECIMAL_COMMA else number


def expected_sentence(failure: retrain.Failure, language: str) -> str:
    """The language's ``gate.why.<code>`` with the failure's numbers, formatted as the command line formats them
    in English (``Failure.sentence``), then as the language writes them."""
    record = failure.record()
    digits = failure.decimals
    words = {
        **{name: f"{record[name]:.{digits}%}" for name in ("before", "after", "allowed")},
        **{name: f"{100 * record[name]:.{digits}f}" for name in ("drop", "limit")},
    }
    template = json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))[f"gate.why.{failure.code}"]
    return normalized(re.sub(r"\{(\w+)\}", lambda match: localized(words[match.group(1)], language), template))


def write_refused_status(models: Path) -> dict:
    """The status file of a finished retrain whose candidate the gate refused, as ``retrain.main`` leaves it."""
    shipped = model_card.read_card()["version"]
    result = {
        "version": "20250101-120000-ft-test",
        "accepted": False,
        "mnist_accuracy": CANDIDATE.mnist,
        "holdout_accuracy": CANDIDATE.holdout,
        "non_digits_refused": CANDIDATE.non_digits,
        "baseline_holdout_accuracy": CURRENT.holdout,
        "baseline_mnist_accuracy": CURRENT.mnist,
        "baseline_non_digits_refused": CURRENT.non_digits,
        "baseline_version": shipped,
        "shipped_non_digits_refused": SHIPPED_NON_DIGITS,
        "shipped_version": shipped,
        "holdout_attempts": 60,
        "seconds": 42.0,
        "reasons": [failure.reason() for failure in FAILURES],
        "failures": [failure.record() for failure in FAILURES],
        "sentences": [failure.sentence() for failure in FAILURES],
    }
    models.mkdir(parents=True, exist_ok=True)
    status = retrain.Status(models / RETRAIN_STATUS_FILE)
    status.update(state="done", stage="done", result=result)
    return result


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m server`` whose models folder holds the last retrain's refusal."""
    data = tmp_path_factory.mktemp("retrain-dashboard")
    write_refused_status(data / "models")
    with running_server(data) as base:
        yield base


def test_every_gate_check_fails_in_this_refusal():
    assert [failure.code for failure in FAILURES] == list(retrain.REASONS)
    floor = FAILURES[-1]
    assert (floor.code, f"{floor.allowed:.1%}") == ("refusal_floor", "93.5%")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_says_why_the_gate_refused_in_the_pages_language(server, browser, language):
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server}/dashboard?lang={language}#token={TEACHER_TOKEN}")
        page.wait_for_selector("html[data-translated]", timeout=15000)
        why = page.get_by_test_id("gate-why").locator("li")
        why.nth(len(FAILURES) - 1).wait_for(timeout=15000)
        assert page.evaluate("document.documentElement.lang") == language

        catalogue = json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))
        assert normalized(page.get_by_test_id("gate").inner_text()) == normalized(catalogue["gate.rejectedWhy"])
        shown = [normalized(text) for text in why.all_inner_texts()]
        assert shown == [expected_sentence(failure, language) for failure in FAILURES]
        if language == "en":
            assert shown == [normalized(failure.sentence()) for failure in FAILURES], "as the command line says it"
        floor = shown[-1]
        if language in DECIMAL_COMMA:  # the floor and its numbers in the language's own format
            assert all(number in floor for number in ("94,5 %", "92,5 %", "93,5 %", "2,0", "1,0")), floor
        else:
            assert all(number in floor for number in ("94.5%", "92.5%", "93.5%", "2.0", "1.0")), floor
        cells = [normalized(text) for text in page.get_by_test_id("comparison").locator("td").all_inner_texts()]
        assert localized("92.5%", language) in cells, "the candidate's refusals in the table, in the same format"

        visible = normalized(page.locator("body").inner_text())
        assert not CODES.findall(visible), "no raw code on the page"
        assert "{" not in visible, "every placeholder filled"
        if language != "en":
            assert not [failure for failure in FAILURES if failure.reason() in visible], "no English machine reason"
        assert page.get_by_test_id("promote-candidate").is_hidden(), "a refused candidate is not offered"
        assert errors == []
    finally:
        context.close()
