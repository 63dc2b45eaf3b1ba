"""Train the committed recipe on an accelerator.

``KERAS_BACKEND=jax python scripts/accelerated_training.py OUT SEED...``: the same code as
``make train`` (``model.training.train``), on JAX: the ``Augment`` layer distorts each
batch on the device where the CPU's tf.data pipeline would. Every model learns from the committed
recipe's data (its seed draws the generated drawings; their fonts are not on an accelerator's machine,
so carry ``.cache``); a seed here changes only the starting weights, the order of the images and their
distortions. Each run trains one member and writes OUT/model-SEED.keras and OUT/model-SEED.json (what the
card records of its training); the ensemble, its export, calibration and card are made on the CPU:
``python -m model.training.train --assemble OUT/model-2026.keras OUT/model-2027.keras OUT/model-2028.keras``.
Given more members than the recipe serves (``--members``, three), ``--assemble`` serves the subset that meets
issue 24's goals with the most room on a selection set no test shares (``model.training.selection``).
On an H200 one run takes about 3.5 minutes (four at once), against about an hour on this project's
two cores. ``DEADLINE`` (Unix time) ends training after the epoch that passes it: device time is counted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import keras

from model.training.data import load_mnist
from model.training.train import Recipe, datasets, member_record, train_member


class Deadline(keras.callbacks.Callback):
    """Ends training after the epoch that passes ``end`` (Unix time)."""

    def __init__(self, end: float) -> None:
        super().__init__()
        self.end = end

    def on_epoch_end(self, epoch, logs=None) -> None:
        if time.time() > self.end:
            print("deadline: training stops here", flush=True)
            self.model.stop_training = True


def trained_on() -> str:
    """What the card says the member trained on: the same script also runs on a machine without an accelerator."""
    device = keras.distribution.list_devices()[0]
    return "the CPU" if device.startswith("cpu") else "an accelerator"


def main() -> None:
    out, seeds = Path(sys.argv[1]), [int(seed) for seed in sys.argv[2:]]
    mnist = load_mnist()
    training, validation = datasets(mnist, Recipe())
    for seed in seeds:
        recipe = Recipe(seed=seed)
        started = time.perf_counter()
        deadline = [Deadline(float(os.environ.get("DEADLINE", "inf")))]
        model, histories = train_member(training, (validation.images, validation.labels), recipe, None, deadline)
        model.save(out / f"model-{seed}.keras")
        record = member_record(seed, histories, time.perf_counter() - started)
        record["trained_on"] = f"{trained_on()} (KERAS_BACKEND={keras.backend.backend()})"
        record["recipe"] = recipe.record()
        (out / f"model-{seed}.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"model-{seed}:", record)


if __name__ == "__main__":
    main()
