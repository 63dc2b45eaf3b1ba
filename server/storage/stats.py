"""Classroom statistics over finished attempts: counts per digit, accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from model.runtime.metrics import confusion_matrix


def summarize(outcomes: Iterable[tuple[int | None, int | None]]) -> dict[str, Any]:
    """``outcomes`` are (predicted digit, label) pairs; label is None until a person gives one."""
    outcomes = list(outcomes)
    counts = [0] * 10
    for digit, _ in outcomes:
        if digit is not None:
            counts[digit] += 1
    labelled = [(digit, label) for digit, label in outcomes if digit is not None and label is not None]
    matrix = confusion_matrix([label for _, label in labelled], [digit for digit, _ in labelled])
    correct = int(matrix.trace())
    return {
        "attempts": len(outcomes),
        "counts": counts,
        "labelled": len(labelled),
        "correct": correct,
        "accuracy": correct / len(labelled) if labelled else None,
        "per_digit_accuracy": [
            (int(matrix[d, d]) / int(matrix[d].sum())) if matrix[d].sum() else None for d in range(10)
        ],
        "confusion": matrix.tolist(),
    }
