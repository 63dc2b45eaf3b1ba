"""The labelled attempts of the log as a data set: ``flask --app server export-labels --out PATH``.

Reads either store a page at a time (``Store.labelled``), keeps only what training
needs (the 28x28 input the model saw, decoded from its stored PNG), and writes the
``.npz`` of ``model/runtime/labelled.py`` plus a JSON summary: counts per digit and, per model
version, the accuracy and confusion matrix of the model that answered.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from model.runtime.labelled import LabelledSet
from server.storage.attempts import Attempt
from server.storage.stats import summarize
from server.storage.store import Store


def model_input(png: bytes) -> np.ndarray | None:
    """The stored 28x28 input as uint8, or None when it is not one (it is then skipped)."""
    try:
        image = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return image if image.shape == (28, 28) else None


def collect(attempts: Iterable[Attempt]) -> tuple[LabelledSet, int]:
    """The data set of labelled attempts, and how many were skipped for an unreadable input."""
    rows, unreadable = [], 0
    for attempt in attempts:
        image = None if attempt.input is None or attempt.label is None else model_input(attempt.input)
        if image is None:
            unreadable += 1
            continue
        predicted = -1 if attempt.digit is None else attempt.digit
        version, when = attempt.model_version, attempt.created_at
        rows.append((image, attempt.label, predicted, version, attempt.room, attempt.drawer, when, attempt.id))
    return LabelledSet.from_rows(rows), unreadable


def accuracy_by_version(outcomes: Iterable[tuple[str, int | None, int]]) -> dict[str, dict[str, Any]]:
    """Per model version, from (version, predicted, label): labelled count, accuracy and confusion."""
    grouped: dict[str, list[tuple[int | None, int]]] = {}
    for version, predicted, label in outcomes:
        grouped.setdefault(version, []).append((predicted, label))
    by_version = {}
    for version in sorted(grouped):
        result = summarize(grouped[version])
        by_version[version] = {key: result[key] for key in ("labelled", "correct", "accuracy", "confusion")}
    return by_version


def store_accuracy_by_version(store: Store) -> dict[str, dict[str, Any]]:
    """``accuracy_by_version`` straight from the store, for the dashboard (no inputs decoded)."""
    return accuracy_by_version((a.model_version, a.digit, a.label) for a in store.labelled() if a.label is not None)


def summary(data: LabelledSet, unreadable: int) -> dict[str, Any]:
    return {
        "attempts": len(data),
        "per_digit": data.counts(),
        "drawers": len(set(data.drawers.tolist())),
        "skipped_unreadable_input": unreadable,
        "checksum": data.checksum(),
        "room": "the classroom code the drawing was made in ('' for the default room; server/access/rooms.py)",
        "by_model_version": accuracy_by_version(
            (version, None if predicted < 0 else int(predicted), int(label))
            for version, predicted, label in zip(data.model_versions, data.predicted, data.labels, strict=True)
        ),
    }


def export_labels(store: Store, out: Path) -> dict[str, Any]:
    """Write ``out`` (.npz) and ``out`` with .json: the labelled attempts and their summary."""
    data, unreadable = collect(store.labelled())
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data.save(out)
    report = summary(data, unreadable)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def format_report(report: dict[str, Any]) -> str:
    """The summary for a terminal: counts per digit, then each version's accuracy."""
    lines = [
        f"{report['attempts']} labelled attempts from {report['drawers']} drawers "
        f"({report['skipped_unreadable_input']} skipped: unreadable input)",
        "per digit: " + "  ".join(f"{digit}:{count}" for digit, count in enumerate(report["per_digit"])),
    ]
    for version, result in report["by_model_version"].items():
        accuracy = "–" if result["accuracy"] is None else f"{result['accuracy']:.1%}"
        lines.append(f"model {version}: {result['correct']}/{result['labelled']} right ({accuracy})")
    return "\n".join(lines)
