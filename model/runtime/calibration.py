"""Answers that know their limits: calibrated confidence and the "not a digit" decision.

A network trained with cross-entropy is overconfident: its softmax says 100 % for a
digit it gets wrong. Temperature scaling (Guo et al., 2017) divides the log-odds by one
number fitted on held-out data, which keeps the ranking (the answer never changes) and
makes "90 % sure" right about nine times in ten. The model's eleventh output is the
"not a digit" class, trained on generated letters, symbols, shapes and scribbles; an
input is refused when its calibrated probability reaches a threshold chosen on held-out
data so that almost no real digit is refused.

Both numbers live in the model card (``calibration``), so every engine that serves a
model applies the same ones. A card without them (an older 10-class model) serves raw
probabilities and refuses nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DIGITS = 10
ECE_BINS = 15
MNIST_FALSE_REJECT_BUDGET = 0.0013  # MNIST digits are clean: refusing one costs test accuracy, so almost none
FALSE_REJECT_BUDGET = 0.004  # share of other held-out real digits a threshold may refuse when it is chosen


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    not_a_digit_threshold: float | None = None  # None: the model has no reject class

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> Calibration:
        fields = card.get("calibration") or {}
        return cls(float(fields.get("temperature", 1.0)), fields.get("not_a_digit_threshold"))

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, classes) from the model's softmax outputs."""
        return scaled(raw, self.temperature)

    def answers(self, raw: np.ndarray) -> Answers:
        """What the server answers for each row of the model's outputs: calibrated, a digit, or refused."""
        calibrated = self.probabilities(raw)
        digits, confidence = digit_answers(calibrated)
        return Answers(calibrated, digits, confidence, self.refused(calibrated))

    def refused(self, calibrated: np.ndarray) -> np.ndarray:
        """Which rows are not digits: their reject-class probability reaches the threshold."""
        if self.not_a_digit_threshold is None or calibrated.shape[1] <= DIGITS:
            return np.zeros(len(calibrated), dtype=bool)
        return calibrated[:, DIGITS] >= self.not_a_digit_threshold


@dataclass(frozen=True)
class Answers:
    """Served answers for a batch: the calibrated probabilities, the best digit and its probability, and
    which rows are refused as not a digit."""

    probabilities: np.ndarray
    digits: np.ndarray
    confidence: np.ndarray
    refused: np.ndarray

    def right(self, labels: np.ndarray) -> np.ndarray:
        """Which rows were answered with their label; a refusal is never right."""
        return (self.digits == labels) & ~self.refused


def scaled(raw: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same as dividing the logits by T, since softmax ignores a shift."""
    logits = np.log(np.clip(np.asarray(raw, dtype=np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(raw: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    probabilities = scaled(raw, temperature)
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0))))


def choose_threshold(digit_sets: list[tuple[np.ndarray, float]]) -> float:
    """The lowest threshold that refuses at most its budget of every held-out set of real digits.

    ``digit_sets`` pairs each set's not-a-digit scores with its budget. Each set (MNIST,
    canvases and photos, fonts) is held to its own, so no kind of input pays for another's
    easy score.
    """
    return float(max(np.quantile(scores, 1.0 - budget, method="higher") for scores, budget in digit_sets)) + 1e-6


def digit_answers(calibrated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best digit of each row and its calibrated probability (the reject class aside)."""
    digits = calibrated[:, :DIGITS].argmax(axis=1)
    return digits, calibrated[np.arange(len(digits)), digits]


def reliability(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per confidence bin (equal width on [0, 1]): how many answers, how sure they were, how often right."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in itertools.pairwise(edges):
        inside = (confidences > low) & (confidences <= high)
        if inside.any():
            rows.append(
                {
                    "low": float(low),
                    "high": float(high),
                    "count": int(inside.sum()),
                    "confidence": float(confidences[inside].mean()),
                    "accuracy": float(correct[inside].mean()),
                }
            )
    return rows


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the count-weighted gap between confidence and accuracy over ``bins`` equal-width bins."""
    total = len(confidences)
    return float(
        sum(
            row["count"] / total * abs(row["confidence"] - row["accuracy"])
            for row in reliability(confidences, correct, bins)
        )
    )
