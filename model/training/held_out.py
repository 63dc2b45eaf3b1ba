"""The held-out data a model is calibrated on, and the fit: shared by training and the retrain.

Training (``model.training.train``) holds out a seeded slice of MNIST's training images and
draws a generated validation set of every kind from it with the next seed (font digits,
MNIST digits re-drawn as canvases, chalk, photos and scans, non-digits). Neither is ever
trained on: not by training, which stops early on them, and not by a retrain
(``model.training.retrain``), which fine-tunes on the rest of MNIST. So both commands fit
the temperature and the not-a-digit threshold (``model.runtime.calibration``) on the same
kind of data the same way, and a retrained candidate is as honest as the model it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from model.runtime.calibration import (
    DIGITS,
    FALSE_REJECT_BUDGET,
    MNIST_FALSE_REJECT_BUDGET,
    Calibration,
    choose_threshold,
    negative_log_likelihood,
)
from model.runtime.litert import Classifier, to_input
from model.training.data import Mnist
from model.training.training_data import Counts, Generated, load_or_generate

# Training draws its generated training data with the recipe's seed and the validation set with this many after
# it (``held_out_split``, which the retrain's refit calls too).
VALIDATION_SEED_OFFSET = 1


@dataclass(frozen=True)
class HeldOut:
    """Held-out inputs with their labels (0-9, or "not a digit") and kinds ("mnist", "font", a realistic
    or a non-digit kind), so each kind of real digit can be held to its own refusal budget."""

    images: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray

    def fitted_on(self) -> dict[str, int]:
        """How many of each kind: what a card's calibration says it was fitted on."""
        return {str(kind): int(count) for kind, count in zip(*np.unique(self.kinds, return_counts=True), strict=True)}


def split_validation(
    mnist: Mnist, size: int, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out a seeded random slice of ``size`` of the 60k training images for early stopping."""
    order = np.random.default_rng(seed).permutation(len(mnist.y_train))
    held, kept = order[:size], order[size:]
    return (mnist.x_train[kept], mnist.y_train[kept]), (mnist.x_train[held], mnist.y_train[held])


def with_generated(
    images: np.ndarray, labels: np.ndarray, counts: Counts, seed: int
) -> tuple[np.ndarray, np.ndarray, Generated]:
    """MNIST images followed by the generated set made from them (cached after the first run)."""
    generated = load_or_generate(counts, seed, images, labels)
    return np.concatenate([images, generated.images]), np.concatenate([labels, generated.labels]), generated


def validation_set(images: np.ndarray, labels: np.ndarray, counts: Counts, seed: int, passes: int = 1) -> HeldOut:
    """Held-out MNIST digits followed by the generated validation set drawn from them, each row with its kind.

    ``passes`` sets are drawn, with seeds ``seed``, ``seed + 1``...: each deals the digits out to the drawn kinds
    anew (``model.training.selection`` draws ten, so each kind meets most writers)."""
    generated = [load_or_generate(counts, seed + index, images, labels) for index in range(passes)]
    return HeldOut(
        np.concatenate([images, *(part.images for part in generated)]),
        np.concatenate([labels, *(part.labels for part in generated)]),
        np.concatenate([np.full(len(labels), "mnist"), *(part.kinds for part in generated)]),
    )


def held_out_split(
    mnist: Mnist, validation_size: int, seed: int, counts: Counts
) -> tuple[tuple[np.ndarray, np.ndarray], HeldOut]:
    """The MNIST training images a model may learn from, and the held-out set it is calibrated on: the rest of
    MNIST's training images with the generated validation set drawn from them (seed ``seed`` plus
    ``VALIDATION_SEED_OFFSET``). Training stops and calibrates on it; the retrain refits on the same."""
    kept, (x_val, y_val) = split_validation(mnist, validation_size, seed)
    return kept, validation_set(x_val, y_val, counts, seed + VALIDATION_SEED_OFFSET)


def held_out_digit_sets(labels: np.ndarray, kinds: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """The held-out real digits, set by set (MNIST, re-drawn kinds, fonts), each with its false-refusal budget."""
    drawn = (kinds != "mnist") & (kinds != "font") & (labels < DIGITS)
    return [
        (kinds == "mnist", MNIST_FALSE_REJECT_BUDGET),
        (drawn, FALSE_REJECT_BUDGET),
        (kinds == "font", FALSE_REJECT_BUDGET),
    ]


def calibrate(classifier: Classifier, held_out: HeldOut) -> Calibration:
    """The served model's calibration, fitted on its own answers to the held-out set (``fit_calibration``)."""
    return fit_calibration(classifier.predict_all(to_input(held_out.images)), held_out)


def fit_calibration(raw: np.ndarray, held_out: HeldOut) -> Calibration:
    """Temperature on the whole held-out set; the threshold from its real digits, set by set.

    A model without the "not a digit" output (an older 10-class one) gets a temperature fitted on the
    digits alone and no threshold: it refuses nothing, as its card says."""
    if raw.shape[1] <= DIGITS:
        digits = held_out.labels < DIGITS
        return Calibration(fit_temperature(raw[digits], held_out.labels[digits]))
    temperature = fit_temperature(raw, held_out.labels)
    calibrated = Calibration(temperature).probabilities(raw)
    threshold = choose_threshold(
        [
            (calibrated[inside, DIGITS], budget)
            for inside, budget in held_out_digit_sets(held_out.labels, held_out.kinds)
        ]
    )
    return Calibration(temperature, threshold)


def fit_temperature(raw: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the held-out negative log-likelihood (searched on log T).

    Here, in training, not in ``model.runtime.calibration`` beside ``scaled``: serving installs no SciPy."""
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(raw, labels, float(np.exp(log_t))), bounds=(-3.0, 3.0), method="bounded"
    )
    return float(np.exp(result.x))
