"""Labelled attempts as a training set: the file ``export-labels`` writes and ``model.training.retrain`` reads.

One compressed ``.npz`` of parallel arrays, one row per labelled attempt: the 28x28 input
exactly as the model saw it (so training needs no preprocessing and cannot drift from
serving), the label a person gave, the digit the model answered (-1 for none), the
model version that answered, the room (the classroom code, "" for none), the drawer (the
attempt's daily pseudonym: the retrain's held-out split keeps each drawer on one side),
the time and the attempt id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LabelledSet:
    inputs: np.ndarray  # (n, 28, 28) uint8, ink high
    labels: np.ndarray  # (n,) uint8
    predicted: np.ndarray  # (n,) int8, -1 when the model read nothing
    model_versions: np.ndarray  # (n,) str
    rooms: np.ndarray  # (n,) str, the classroom code ("" for none)
    drawers: np.ndarray  # (n,) str
    created_at: np.ndarray  # (n,) float64, seconds since the epoch
    attempt_ids: np.ndarray  # (n,) str

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def empty(cls) -> LabelledSet:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> LabelledSet:
        """Build from tuples in field order (input, label, predicted, version, room, drawer, time, id)."""
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in fields(cls)]
        dtypes = (np.uint8, np.uint8, np.int8, str, str, str, np.float64, str)
        arrays = [np.asarray(column, dtype=dtype) for column, dtype in zip(columns, dtypes, strict=True)]
        arrays[0] = arrays[0].reshape(-1, 28, 28)
        return cls(*arrays)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{field.name: getattr(self, field.name) for field in fields(self)})

    @classmethod
    def load(cls, path: Path) -> LabelledSet:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(**{field.name: arrays[field.name] for field in fields(cls)})

    def subset(self, mask: np.ndarray) -> LabelledSet:
        return LabelledSet(*(getattr(self, field.name)[mask] for field in fields(self)))

    def counts(self) -> list[int]:
        """Labelled attempts per digit."""
        return [int(count) for count in np.bincount(self.labels, minlength=10)]

    def checksum(self) -> str:
        """SHA-256 over what training uses (inputs, labels, drawers), recorded in a retrained model's card."""
        digest = hashlib.sha256()
        for array in (self.inputs, self.labels):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\n".join(self.drawers.tolist()).encode())
        return digest.hexdigest()
