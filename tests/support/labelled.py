"""Generated labelled attempts for retrain tests: outline digits, prepared exactly as the server would."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from model.runtime.drawing import gray_png
from model.runtime.labelled import LabelledSet
from model.runtime.recognizer import Recognizer
from model.training.data import Mnist
from model.training.realistic import DRAWN_KINDS, outline_samples
from server.storage.attempts import Attempt
from tests.support.records import make_attempt


def generated_attempts(count: int, drawers: int = 10, seed: int = 0) -> LabelledSet:
    """``count`` outline digits as labelled attempts from ``drawers`` drawers, answered by the committed model."""
    recognizer = Recognizer.load()
    rows = []
    for index, sample in enumerate(outline_samples(count, seed)):
        seen = recognizer.recognize(sample.data)
        predicted = -1 if seen.digit is None else seen.digit
        drawer = f"drawer-{index // 10 % drawers}"  # each drawer draws every digit
        rows.append((seen.image, sample.label, predicted, recognizer.version, "", drawer, float(index), str(index)))
    return LabelledSet.from_rows(rows)


def drawn_attempts(mnist: Mnist, count: int, kind: str, drawers: int = 10, seed: int = 0) -> LabelledSet:
    """``count`` MNIST training digits drawn as a realistic ``kind`` (``thick_blurred``...) as labelled attempts,
    answered by the committed model. The writers are outside the held-out split the retrain calibrates on (and
    the MNIST test set its gate scores), so a retrain on them tunes on nothing it is measured or calibrated by."""
    from model.training.held_out import split_validation
    from model.training.train import Recipe

    (digits, labels), _ = split_validation(mnist, Recipe().validation_size, Recipe().seed)
    rng = np.random.default_rng(seed)
    recognizer = Recognizer.load()
    rows = []
    for index, chosen in enumerate(rng.choice(len(labels), size=count, replace=False)):
        seen = recognizer.recognize(DRAWN_KINDS[kind](digits[chosen], rng))
        predicted = -1 if seen.digit is None else seen.digit
        drawer = f"drawer-{index % drawers}"
        rows.append(
            (seen.image, int(labels[chosen]), predicted, recognizer.version, "", drawer, float(index), str(index))
        )
    return LabelledSet.from_rows(rows)


def write_attempts(path: Path, count: int, drawers: int = 10, seed: int = 0) -> Path:
    generated_attempts(count, drawers, seed).save(path)
    return path


def store_attempts(store, data: LabelledSet) -> None:
    """Log a generated set as labelled attempts, as if drawers had drawn and corrected them."""
    attempts = []
    for index in range(len(data)):
        predicted = int(data.predicted[index])
        # Drawn in the last hour: within any retention period, which purges older attempts on start.
        record = make_attempt(time.time() - 3600 + index, digit=None if predicted < 0 else predicted)
        changes = {
            "input": gray_png(data.inputs[index]),
            "drawer": str(data.drawers[index]),
            "model_version": str(data.model_versions[index]),
            "label": int(data.labels[index]),
        }
        attempts.append(Attempt(**{**record.__dict__, **changes}))
    store.upsert(attempts)
    for attempt in attempts:
        store.set_label(attempt.id, attempt.label, attempt.created_at)
