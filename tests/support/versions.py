"""Model version folders for tests: copies of the committed model under another version name."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from model.runtime import card as model_card


def make_version(models: Path, name: str, **card_changes: Any) -> Path:
    """A version folder ``name`` holding the committed model, its card renamed to ``name`` (and changed)."""
    folder = models / name
    folder.mkdir(parents=True)
    shutil.copy(model_card.TFLITE_PATH, folder / "digits.tflite")
    shutil.copy(model_card.KERAS_PATH, folder / "digits.keras")
    card = {**model_card.read_card(), "version": name, **card_changes}
    model_card.write_card(card, folder / "digits.json")
    return folder
