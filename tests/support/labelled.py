"""Generated labelled attempts for retrain tests: outline digits, prepared exactly as the server would."""

from __future__ import annotations

import time
from pathlib import Path

from model.runtime.drawing import gray_png
from model.runtime.labelled import LabelledSet
from model.runtime.recognizer import Recognizer
from model.training.realistic import outline_samples
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
