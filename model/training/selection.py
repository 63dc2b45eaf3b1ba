"""Which trained networks make the served ensemble, when more were trained than the latency budget serves.

An accelerator trains a member in minutes, so it can train five where three fit the 0.2 ms model
call (``scripts/accelerated_training.py``). ``python -m model.training.train --assemble`` given more
files than ``--members`` keeps the subset whose calibrated ensemble meets issue 24's goals with the
most room: for each subset, the least of (measured - goal) over every realistic kind of digit, the
font digits, MNIST and the non-digits refused, on a **selection set** that no network trained on and
no test set shares. It holds training's 5,000 held-out MNIST digits as they are (never trained on:
early stopping and the calibration read them, so the ``mnist`` kind here is the validation set's
own) and ``SELECTION_PASSES`` passes that each draw every one of them once more, as one of the drawn
kinds dealt out anew, with its own seed: about 5,000 drawings a kind where the validation set has
500, which cannot tell ensembles apart (each reads each kind within a drawing or two of the others,
docs/model.md). Ties (the same least margin to 0.01 point) go to the subset refusing more non-digits.

A subset's answers are its members' own 8-bit answers combined as ``network.ensemble`` combines them
(``combine``), so each member is exported and run once, not once for every subset it is in; each
subset is then calibrated exactly as training calibrates (``held_out.fit_calibration``, on the
validation set).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import keras
import numpy as np

from model.runtime.calibration import DIGITS, Calibration
from model.runtime.litert import Classifier, to_input
from model.training.export import to_tflite
from model.training.held_out import VALIDATION_SEED_OFFSET, HeldOut, fit_calibration, validation_set
from model.training.honesty import MNIST_GOAL, NON_DIGIT_GOAL, REALISTIC_GOAL
from model.training.training_data import Counts

SELECTION_PASSES = 10  # the first time, drawing them takes about 8 minutes on two cores (then cached)
# The selection's passes draw with the seeds after the validation set's (``--assemble`` keeps the recipe's seed).
SELECTION_SEED_OFFSET = VALIDATION_SEED_OFFSET + 1
SELECTION_COUNTS = Counts(font_digits=500, drawn_digits=5_000, non_digits=1_000)  # each pass


def combine(probabilities: list[np.ndarray]) -> np.ndarray:
    """The ensemble's answer from its members' answers: the renormalized mean log-probability, as
    ``network.ensemble`` computes it inside the model."""
    logs = np.mean([np.log(np.clip(member, 1e-12, 1.0)) for member in probabilities], axis=0)
    exponents = np.exp(logs - logs.max(axis=1, keepdims=True))
    return exponents / exponents.sum(axis=1, keepdims=True)


def margins(raw: np.ndarray, calibration: Calibration, held_out: HeldOut) -> dict[str, float]:
    """Measured minus goal for every kind of real digit (accuracy, a refusal is an error) and for the
    non-digits (the share refused): negative where a goal is missed."""
    answers = calibration.answers(raw)
    right = answers.right(held_out.labels)
    digit = held_out.labels < DIGITS
    room = {}
    for kind in np.unique(held_out.kinds[digit]):
        goal = MNIST_GOAL if kind == "mnist" else REALISTIC_GOAL
        room[str(kind)] = float(right[digit & (held_out.kinds == kind)].mean()) - goal
    if (~digit).any():
        room["non_digits"] = float(answers.refused[~digit].mean()) - NON_DIGIT_GOAL
    return room


@dataclass(frozen=True)
class Judged:
    """One subset of the candidates: their indexes, its calibration and its room over every goal."""

    indexes: tuple[int, ...]
    calibration: Calibration
    margins: dict[str, float]

    @property
    def least(self) -> float:
        return min(self.margins.values())

    def record(self, names: list[str]) -> dict:
        worst = min(self.margins, key=self.margins.get)
        return {
            "members": [names[index] for index in self.indexes],
            "least_margin": round(self.least, 4),
            "worst": worst,
            "margins": {kind: round(value, 4) for kind, value in sorted(self.margins.items())},
            "calibration": self.calibration.record(),
        }


def rank(judged: list[Judged]) -> list[Judged]:
    """Best first: the largest least margin (to 0.01 point: closer is a tie), then the most non-digits refused;
    a full tie keeps the order the candidates were given in."""
    return sorted(judged, key=lambda one: (round(one.least, 4), one.margins.get("non_digits", 0.0)), reverse=True)


def judge(candidates: list[keras.Model], count: int, validation: HeldOut, selection: HeldOut) -> list[Judged]:
    """Every subset of ``count`` candidates, calibrated on ``validation`` and measured on ``selection``, ranked."""
    outputs = []
    for model in candidates:
        classifier = Classifier(to_tflite(model))
        outputs.append([classifier.predict_all(to_input(held_out.images)) for held_out in (validation, selection)])
    judged = []
    for subset in itertools.combinations(range(len(candidates)), count):
        calibration = fit_calibration(combine([outputs[index][0] for index in subset]), validation)
        room = margins(combine([outputs[index][1] for index in subset]), calibration, selection)
        judged.append(Judged(subset, calibration, room))
    return rank(judged)


def choose(
    candidates: list[keras.Model],
    names: list[str],
    count: int,
    validation: HeldOut,
    recipe_seed: int,
    passes: int = SELECTION_PASSES,
    counts: Counts = SELECTION_COUNTS,
) -> tuple[list[int], dict | None]:
    """The indexes of the ``count`` candidates to serve, and what the model card records of the choice (how the
    selection set was drawn, every subset's margins and calibration, best first; None when there was nothing to
    choose). The selection set is drawn from ``validation``'s MNIST digits."""
    if len(candidates) <= count:
        return list(range(len(candidates))), None
    seed = recipe_seed + SELECTION_SEED_OFFSET
    mnist = validation.kinds == "mnist"
    selection = validation_set(validation.images[mnist], validation.labels[mnist], counts, seed, passes)
    judged = judge(candidates, count, validation, selection)
    record = {
        "rule": (
            "the largest least margin over issue 24's goals on the selection set, then the most non-digits "
            "refused (model.training.selection)"
        ),
        "selection_set": {
            "seeds": [seed, seed + passes - 1],
            "passes": passes,
            "each_pass": asdict(counts),
            "drawn": selection.fitted_on(),
        },
        "subsets": [one.record(names) for one in judged],
    }
    return list(judged[0].indexes), record
