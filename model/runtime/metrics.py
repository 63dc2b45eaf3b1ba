"""Accuracy and confusion matrices, shared by evaluation, the comparison report and the server's stats."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(labels: Sequence[int] | np.ndarray, predictions: Sequence[int] | np.ndarray) -> np.ndarray:
    """A 10x10 count matrix: row = true digit, column = predicted digit."""
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return matrix


def format_confusion(matrix: np.ndarray) -> str:
    """A fixed-width text table for terminals and logs."""
    width = max(5, len(str(int(matrix.max()))) + 1)
    header = "true\\pred" + "".join(f"{digit:>{width}}" for digit in range(10))
    rows = [f"{digit:>9}" + "".join(f"{count:>{width}}" for count in row) for digit, row in enumerate(matrix)]
    return "\n".join([header, *rows])
