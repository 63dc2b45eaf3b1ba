"""model/training/honesty.py and the card's calibration: honest answers, measured on inputs never trained on.

The card's temperature and not-a-digit threshold are checked against values recomputed
here on a fixed held-out sample, and the rates the issue asks for are held above floors
set just under what the committed model measures on these seeded samples (see
model/reports/honesty.md for the full-size run).
"""

from __future__ import annotations

import numpy as np
import pytest

from model.runtime import card as model_card
from model.runtime.calibration import (
    Calibration,
    choose_threshold,
    digit_answers,
    expected_calibration_error,
)
from model.runtime.litert import to_input
from model.training.held_out import fit_temperature, held_out_digit_sets, held_out_split
from model.training.honesty import (
    ECE_GOAL,
    MNIST_GOAL,
    SURE,
    SURE_BUT_WRONG_BUDGET,
    measure,
    sure_but_wrong,
    sure_floor,
)
from model.training.train import Recipe
from model.training.training_data import Counts

# Measured on the committed ensemble (per_kind=100, non_digits=600, seed 11; model/reports/honesty.md has
# 1,000 a kind): MNIST 99.67 %, every realistic kind 98 % or more, unseen fonts 99.9 %, non-digits about 95 %
# refused, rings and bars read as digits, MNIST 0.09 % refused; none of MNIST's 24 wrong answers (a refusal is
# not an answer) is called "Sure", which the page says from 99.9 %. On the held-out sample below, the "Sure"
# floor the rule picks is 0.999 itself (its most confident wrong answer: 0.9987): a model that moves it fails.
# The floors and ceilings sit just beyond.
FLOORS = {
    "mnist_accuracy": MNIST_GOAL,  # the goal itself; a refusal counts as an error
    "realistic_accuracy": 0.99,
    "kind_accuracy": 0.97,
    "unseen_fonts": 0.98,
    "non_digits_refused": 0.93,
    "ambiguous_kept": 0.98,
}
CEILINGS = {
    "mnist_refused": 0.003,
    "realistic_refused": 0.01,
    "ece": ECE_GOAL,  # the goal itself
    "kind_ece": 0.05,  # 100 drawings a kind: one confident error moves it a point
    "sure_but_wrong": SURE_BUT_WRONG_BUDGET,  # the goal itself
}


@pytest.fixture(scope="module")
def numbers(recognizer, mnist) -> dict:
    return measure(recognizer, mnist, per_kind=100, non_digits=600, seed=11)


@pytest.fixture(scope="module")
def held_out_sample(mnist, recognizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs on a fixed held-out sample like the one training calibrates on: MNIST's validation
    digits (never trained on) and generated drawings of the validation seed."""
    recipe = Recipe()
    counts = Counts(font_digits=500, drawn_digits=600, non_digits=600)
    _, held_out = held_out_split(mnist, recipe.validation_size, recipe.seed, counts)
    return recognizer.classifier.predict_all(to_input(held_out.images)), held_out.labels, held_out.kinds


def test_the_card_temperature_is_what_the_held_out_sample_gives(held_out_sample):
    raw, labels, _ = held_out_sample
    card = Calibration.from_card(model_card.read_card())
    assert card.temperature == pytest.approx(fit_temperature(raw, labels), rel=0.15)


def test_the_card_threshold_refuses_almost_no_held_out_digit(held_out_sample):
    raw, labels, kinds = held_out_sample
    card = Calibration.from_card(model_card.read_card())
    calibrated = card.probabilities(raw)
    digit_sets = held_out_digit_sets(labels, kinds)
    for inside, _ in digit_sets:
        assert card.refused(calibrated[inside]).mean() <= 0.01
    recomputed = choose_threshold([(calibrated[inside, 10], budget) for inside, budget in digit_sets])
    assert card.not_a_digit_threshold == pytest.approx(recomputed, abs=0.15)
    assert card.refused(calibrated[labels == 10]).mean() >= 0.9, "and refuses the held-out non-digits"


def test_calibrated_confidence_is_honest_on_the_held_out_sample(held_out_sample):
    raw, labels, _ = held_out_sample
    calibrated = Calibration.from_card(model_card.read_card()).probabilities(raw)
    digits, confidence = digit_answers(calibrated[labels < 10])
    assert expected_calibration_error(confidence, digits == labels[labels < 10]) <= CEILINGS["ece"]


def test_mnist_is_read_as_well_as_ever_counting_refusals_as_errors(numbers):
    assert numbers["mnist"]["accuracy"] >= FLOORS["mnist_accuracy"]
    assert numbers["mnist"]["refused"] <= CEILINGS["mnist_refused"]


def test_calibration_error_is_small_on_mnist_and_realistic_inputs(numbers):
    for name in ("mnist", "realistic"):
        assert numbers[name]["ece_after"] <= CEILINGS["ece"], name


def test_realistic_inputs_of_every_kind_are_read(numbers):
    assert numbers["realistic"]["accuracy"] >= FLOORS["realistic_accuracy"]
    assert numbers["realistic"]["refused"] <= CEILINGS["realistic_refused"]
    for kind, row in numbers["realistic_kinds"].items():
        assert row["accuracy"] >= FLOORS["kind_accuracy"], kind


def test_every_realistic_kind_is_calibrated_on_its_own(numbers):
    """A mix can hide a kind that is overconfident: each kind's ECE, and the degraded kinds are among them."""
    assert {"thick_blurred", "low_resolution", "thin_faint", "thumbnail"} <= set(numbers["realistic_kinds"])
    for kind, row in numbers["realistic_kinds"].items():
        assert row["ece_after"] <= CEILINGS["kind_ece"], kind


def test_wrong_answers_are_rarely_called_sure(numbers):
    for name in ("mnist", "realistic"):
        assert numbers[name]["sure_but_wrong"] <= CEILINGS["sure_but_wrong"], name


def test_unseen_font_families_are_read(numbers):
    rows = numbers["unseen_font_families"]
    assert len(rows) >= 5
    right = sum(row["accuracy"] * row["count"] for row in rows.values())
    assert right / sum(row["count"] for row in rows.values()) >= FLOORS["unseen_fonts"]


def test_non_digits_are_refused(numbers):
    assert numbers["non_digits"]["all"]["refused"] >= FLOORS["non_digits_refused"]
    assert set(numbers["non_digits"]) >= {"letter", "word", "symbol", "shape", "scribble", "scratch"}


def test_rings_and_bars_stay_digits(numbers):
    for kind in ("ring", "bar"):
        assert numbers["ambiguous"][kind]["read_as_its_digit"] >= FLOORS["ambiguous_kept"], kind


def test_the_page_says_sure_only_where_held_out_wrong_answers_almost_never_reach(held_out_sample):
    """The "Sure" floor is chosen on held-out data: at most 2 % of its wrong answers reach it."""
    raw, labels, _ = held_out_sample
    answers = Calibration.from_card(model_card.read_card()).answers(raw)
    wrong = (labels < 10) & (answers.digits != labels) & ~answers.refused
    right = (labels < 10) & (answers.digits == labels) & ~answers.refused
    assert wrong.sum() >= 20, "enough wrong answers to judge"
    assert sure_but_wrong(answers, labels, labels < 10) <= SURE_BUT_WRONG_BUDGET
    assert sure_floor(answers.confidence[wrong]) <= SURE
    assert (answers.confidence[right] >= SURE).mean() >= 0.8, "most right answers are still called Sure"


def test_the_sure_floor_is_the_lowest_round_one_within_the_budget():
    confidences = np.array([0.999, 0.99, 0.98] + [0.5] * 97)
    assert sure_floor(confidences, budget=0.02) == 0.981  # 0.999 and 0.99 are 2 in 100
    assert sure_floor(confidences, budget=0.01) == 0.991
    assert sure_floor(confidences, budget=0.01, step=0.005) == 0.995
    assert sure_floor(np.array([])) == 0.001
