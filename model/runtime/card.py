"""Where the shipped model lives, and the model card that travels beside it.

The card is the contract between training and serving: the server reads the
preprocessing contract and the version from it, the tests compare the reloaded model
against the accuracy it records, the files against their SHA-256 and ``make train``'s
defaults against the recipe that made them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

MODEL_DIR = Path(__file__).resolve().parents[1]  # model/: the committed model and its card
KERAS_PATH = MODEL_DIR / "digits.keras"
TFLITE_PATH = MODEL_DIR / "digits.tflite"
CARD_PATH = MODEL_DIR / "digits.json"

PREPROCESSING_CONTRACT = {
    "input_shape": [28, 28, 1],
    "dtype": "float32",
    "scale": "uint8 / 255, in [0, 1]",
    "polarity": "ink high (white digit on black), like MNIST",
    "geometry": "digit fitted into a 20x20 box keeping aspect ratio, placed in 28x28 by centre of mass",
    "output": "softmax probabilities for digits 0-9",
}


def code_version() -> str:
    """The git commit the model was trained from, marked dirty when the tree had edits."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=MODEL_DIR
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!digits.*", ":!reports"],
            capture_output=True,
            text=True,
            check=True,
            cwd=MODEL_DIR,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def files_sha256(paths: tuple[Path, ...] = (KERAS_PATH, TFLITE_PATH)) -> dict[str, str]:
    """The SHA-256 of each model file by name: the card then names the exact files it describes."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def read_card(path: Path = CARD_PATH) -> dict[str, Any]:
    """The model card as a dict."""
    return json.loads(path.read_text())


def write_card(card: dict[str, Any], path: Path = CARD_PATH) -> None:
    """Write the card as stable, reviewable JSON."""
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
