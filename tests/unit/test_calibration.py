"""model/runtime/calibration.py: temperature scaling, the not-a-digit decision and the calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from model.runtime.calibration import (
    Calibration,
    choose_threshold,
    digit_answers,
    expected_calibration_error,
    reliability,
    scaled,
)
from model.training.held_out import fit_temperature


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def overconfident_sample(true_temperature: float, count: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs whose labels are drawn from softmax(logits / T): a model T times too sure."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, (count, 11))
    honest = softmax(logits / true_temperature)
    labels = np.array([rng.choice(11, p=row) for row in honest])
    return softmax(logits), labels


def test_scaling_keeps_the_ranking_and_sums_to_one():
    raw = softmax(np.random.default_rng(1).normal(0, 5, (50, 11)))
    for temperature in (0.5, 1.0, 2.5):
        calibrated = scaled(raw, temperature)
        np.testing.assert_array_equal(calibrated.argmax(axis=1), raw.argmax(axis=1))
        np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(scaled(raw, 1.0), raw, atol=1e-6)
    assert scaled(raw, 2.0).max(axis=1).mean() < raw.max(axis=1).mean(), "a temperature above 1 softens"


def test_the_fitted_temperature_recovers_how_overconfident_the_model_is():
    raw, labels = overconfident_sample(2.0)
    assert fit_temperature(raw, labels) == pytest.approx(2.0, rel=0.1)


def test_calibration_lowers_the_error_on_an_overconfident_model():
    raw, labels = overconfident_sample(2.0)
    temperature = fit_temperature(raw, labels)
    before = expected_calibration_error(raw.max(axis=1), raw.argmax(axis=1) == labels)
    after_probs = scaled(raw, temperature)
    after = expected_calibration_error(after_probs.max(axis=1), after_probs.argmax(axis=1) == labels)
    assert before > 0.1
    assert after < 0.03


def test_ece_is_the_weighted_gap_per_bin():
    confidences = np.array([0.95] * 10 + [0.55] * 10)
    correct = np.array([True] * 9 + [False] + [True] * 5 + [False] * 5)
    # bin 0.93-1.0: conf 0.95, acc 0.9; bin 0.53-0.6: conf 0.55, acc 0.5 -> (0.05 + 0.05) / 2
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.05)
    rows = reliability(confidences, correct)
    assert [row["count"] for row in rows] == [10, 10]


def test_the_threshold_refuses_at_most_the_budget_of_every_digit_set():
    """Each set is held to its own budget: the harder one sets the threshold."""
    rng = np.random.default_rng(3)
    sets = [rng.beta(1, 50, 5000), rng.beta(1, 20, 2000)]  # not-a-digit scores of real digits: mostly tiny
    threshold = choose_threshold([(scores, 0.01) for scores in sets])
    for scores in sets:
        assert np.mean(scores >= threshold) <= 0.01
    assert np.mean(sets[1] >= threshold) > 0.002, "the harder set sets the threshold, not the easy one"


def test_refusal_needs_a_reject_class_and_a_threshold():
    calibrated = np.array([[0.05] * 10 + [0.5], [0.09] * 10 + [0.1]], dtype=np.float32)
    assert Calibration(1.0, 0.4).refused(calibrated).tolist() == [True, False]
    assert Calibration(1.0, None).refused(calibrated).tolist() == [False, False]
    assert Calibration(1.0, 0.4).refused(calibrated[:, :10]).tolist() == [False, False], "a 10-class model"


def test_the_card_carries_the_calibration_and_an_old_card_gets_none():
    calibration = Calibration.from_card({"calibration": {"temperature": 1.7, "not_a_digit_threshold": 0.3}})
    assert calibration == Calibration(1.7, 0.3)
    assert Calibration.from_card({"version": "old"}) == Calibration(1.0, None)
    assert Calibration.from_card({"calibration": calibration.record()}) == calibration


def test_digit_answers_leave_the_reject_class_aside():
    calibrated = np.array([[0.1, 0.2] + [0.0] * 8 + [0.7]])
    digits, confidence = digit_answers(calibrated)
    assert digits.tolist() == [1]
    assert confidence.tolist() == pytest.approx([0.2])


def test_served_answers_count_a_refusal_as_never_right():
    raw = np.array([[0.9] + [0.01] * 9 + [0.01], [0.01] * 10 + [0.9], [0.02, 0.8] + [0.02] * 8 + [0.02]])
    answers = Calibration(1.0, 0.5).answers(raw)
    assert answers.digits.tolist() == [0, 0, 1]
    assert answers.refused.tolist() == [False, True, False]
    assert answers.right(np.array([0, 0, 2])).tolist() == [True, False, False]
    np.testing.assert_allclose(answers.confidence, [answers.probabilities[0, 0], answers.probabilities[1, 0], 0.8])
