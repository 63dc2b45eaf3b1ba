"""Fine-tune the active model on the class's labelled attempts, behind a gate: ``make retrain``.

``python -m model.training.retrain`` reads the labelled attempts (from ``STORE_URL``, or an
``export-labels`` file with ``--data``), holds out a fifth of them split by drawer (one
person's digits are never on both sides), fine-tunes the active model on the rest mixed
with MNIST (so it does not forget MNIST) with the training augmentation, a low learning
rate and a fixed seed, and writes a candidate version folder (``model/runtime/versions.py``):
``.keras``, ``.tflite`` and a card with both accuracies, the data's checksum and counts.

For a model with the "not a digit" class, each epoch also mixes in generated non-digits
(``model.training.synthetic``), so fine-tuning on digits alone does not wear the reject class away;
the candidate keeps its parent's calibration (temperature and threshold).

The gate accepts the candidate only if its MNIST test accuracy (a refusal counts as an
error) is at least 99.5 % and not more than 0.1 points below the current model's, its
held-out accuracy on the labelled attempts is at least the current model's, and it
refuses at most 3 points fewer of 200 generated non-digits (held-out fonts) than the
current model. The command prints the comparison
table and, as its last line, one JSON object; it exits 1 when the gate fails and 2 when
it could not retrain at all (no labelled data, too few per digit, another retrain
running). It never changes the active version: ``flask --app server promote`` does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from model.runtime import card as model_card
from model.runtime.calibration import Calibration
from model.runtime.labelled import LabelledSet
from model.runtime.litert import Classifier, to_input
from model.runtime.versions import (
    RETRAIN_STATUS_FILE,
    ModelFiles,
    ModelVersions,
    VersionError,
    atomic_write,
    builtin_files,
)
from model.training.data import DataError, Mnist, load_mnist
from model.training.synthetic import NOT_A_DIGIT

MIN_MNIST_ACCURACY = 0.995
MAX_MNIST_DROP = 0.001
MAX_REFUSAL_DROP = 0.03  # the candidate may refuse at most this share fewer of the gate's non-digits
GATE_NON_DIGITS = 200  # generated non-digits (held-out fonts, a fixed seed) the gate scores both models on
HOLDOUT_FRACTION = 0.2
MIN_DRAWERS_FOR_DRAWER_SPLIT = 5
EXIT_REJECTED, EXIT_CANNOT = 1, 2


class RetrainError(Exception):
    """Retraining cannot start or go on; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class Settings:
    # Measured on 5,000 outline-digit attempts (bench/retrain.py): frozen batch norm, 1e-4 and
    # 30k MNIST images an epoch kept MNIST at 99.65 %; 2e-4 with 16k (and twice the attempts)
    # or unfrozen batch norm cost MNIST 0.1-0.2 points.
    epochs: int = 4
    learning_rate: float = 1e-4
    mnist_per_epoch: int = 30_000  # MNIST training images mixed into each epoch, so it does not forget
    attempt_share: float = 0.12  # labelled attempts per MNIST image in an epoch: a small class's are repeated
    non_digits_per_epoch: int = 4_000  # generated non-digits mixed in, so the "not a digit" class is not forgotten
    min_per_digit: int = 5
    seed: int = 2026
    freeze_batch_norm: bool = True  # keep MNIST's normalisation statistics: the guard against forgetting


FAST = Settings(epochs=1, mnist_per_epoch=2_000, min_per_digit=2, non_digits_per_epoch=200)  # tests: seconds


@dataclass(frozen=True)
class Scores:
    mnist: float
    holdout: float
    non_digits: float = 0.0  # share of the gate's generated non-digits refused


# The data


def check_enough(data: LabelledSet, min_per_digit: int) -> None:
    """Refuse a data set that cannot teach or measure anything."""
    if len(data) == 0:
        raise RetrainError("There are no labelled attempts: label some drawings (tap the right digit) first.")
    short = [digit for digit, count in enumerate(data.counts()) if count < min_per_digit]
    if short:
        raise RetrainError(
            f"Too few labelled attempts for digit(s) {', '.join(map(str, short))}: "
            f"need at least {min_per_digit} of every digit, have {data.counts()}."
        )


def split_by_drawer(data: LabelledSet, seed: int) -> tuple[np.ndarray, str]:
    """A mask of the held-out attempts (about a fifth), and how it was split.

    Whole drawers go to the held-out side until it holds a fifth, so the held-out score
    says how the model reads people it has not learnt from. With fewer than five drawers
    that cannot give a fair fifth, so single attempts are held out instead (said so).
    """
    rng = np.random.default_rng(seed)
    target = max(1, round(HOLDOUT_FRACTION * len(data)))
    drawers = np.unique(data.drawers)
    if len(drawers) < MIN_DRAWERS_FOR_DRAWER_SPLIT:
        held = np.zeros(len(data), dtype=bool)
        held[rng.permutation(len(data))[:target]] = True
        return held, f"by attempt (only {len(drawers)} drawer(s): too few to hold out whole drawers)"
    held = np.zeros(len(data), dtype=bool)
    for drawer in rng.permutation(drawers):
        if held.sum() >= target:
            break
        held |= data.drawers == drawer
    return held, f"by drawer ({len(np.unique(data.drawers[held]))} of {len(drawers)} drawers held out)"


def mixed_training_set(
    mnist: Mnist, attempts: LabelledSet, settings: Settings, non_digits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The labelled attempts (repeated when few) mixed with a seeded sample of MNIST training images and,
    for a model with a "not a digit" class, generated non-digits labelled as such."""
    rng = np.random.default_rng(settings.seed)
    chosen = rng.choice(len(mnist.y_train), size=min(settings.mnist_per_epoch, len(mnist.y_train)), replace=False)
    repeats = attempt_repeats(len(attempts), len(chosen), settings.attempt_share)
    images = np.concatenate([mnist.x_train[chosen], *[attempts.inputs] * repeats, non_digits])
    labels = np.concatenate(
        [mnist.y_train[chosen], *[attempts.labels] * repeats, np.full(len(non_digits), NOT_A_DIGIT)]
    )
    return images, labels


def non_digit_replay(current: ModelFiles, settings: Settings) -> np.ndarray:
    """Generated non-digits (training fonts, the retrain's seed; cached) for a model that has the reject class."""
    if len(current.card().get("classes") or []) <= NOT_A_DIGIT or settings.non_digits_per_epoch == 0:
        return np.zeros((0, 28, 28), np.uint8)
    from model.training.training_data import Counts, load_or_generate

    counts = Counts(font_digits=0, drawn_digits=0, non_digits=settings.non_digits_per_epoch)
    return load_or_generate(counts, settings.seed, np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)).images


def attempt_repeats(attempts: int, mnist_images: int, share: float) -> int:
    """How often each attempt appears per epoch (each time augmented differently): at least once."""
    return max(1, round(share * mnist_images / max(1, attempts)))


# Training


def fine_tune(
    keras_path: Path,
    images: np.ndarray,
    labels: np.ndarray,
    settings: Settings,
    on_step: Callable[[int, int], None],
):
    """Continue training the current model at a low, decaying learning rate, with the training augmentation."""
    import keras

    from model.training.train import Recipe, training_dataset

    recipe = Recipe(seed=settings.seed)  # the training's batch size and augmentation, the retrain's seed
    keras.utils.set_random_seed(settings.seed)
    model = keras.models.load_model(keras_path)
    if settings.freeze_batch_norm:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False  # Keras 3 then also runs it in inference mode
    steps_per_epoch = math.ceil(len(labels) / recipe.batch_size)
    total = settings.epochs * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(settings.learning_rate, decay_steps=total, alpha=0.1)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")

    class Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.done = 0

        def on_train_batch_end(self, batch, logs=None) -> None:
            self.done += 1
            on_step(self.done, total)

    model.fit(
        training_dataset(images, labels, recipe),
        steps_per_epoch=steps_per_epoch,
        epochs=settings.epochs,
        callbacks=[Progress()],
        verbose=0,
    )
    return model


def train_with_progress(current: ModelFiles, mnist: Mnist, train: LabelledSet, settings: Settings, status: Status):
    """``fine_tune`` with a progress bar on stderr and progress in the status file."""
    from tqdm import tqdm  # imported here: a refused retrain should not wait for TensorFlow to load

    images, labels = mixed_training_set(mnist, train, settings, non_digit_replay(current, settings))
    with tqdm(total=1, desc="fine-tuning", unit="step", file=sys.stderr) as bar:

        def on_step(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            status.update(force=False, progress=done / total)

        return fine_tune(current.keras, images, labels, settings, on_step)


# Measuring and the gate


def write_and_measure(model, folder: Path, current: ModelFiles, mnist: Mnist, holdout: LabelledSet):
    """Save the candidate (.keras, .tflite) and score it and the current model the same way."""
    from model.training.export import to_tflite

    model.save(folder / "digits.keras")
    (folder / "digits.tflite").write_bytes(to_tflite(model))
    # The candidate keeps its parent's calibration (temperature and not-a-digit threshold): fine-tuning at a
    # low rate barely moves the logits' scale, and the card says it was carried over.
    calibration = Calibration.from_card(current.card())
    gate_set = gate_non_digits()
    return (
        scores(current.tflite, mnist, holdout, calibration, gate_set),
        scores(folder / "digits.tflite", mnist, holdout, calibration, gate_set),
    )


def scores(tflite: Path, mnist: Mnist, holdout: LabelledSet, calibration: Calibration, gate_set: np.ndarray) -> Scores:
    """MNIST test and held-out accuracy as served (calibrated, a "not a digit" refusal counts as wrong),
    and the share of the gate's non-digits refused."""
    classifier = Classifier.load(tflite)
    refused = calibration.answers(classifier.predict_all(to_input(gate_set))).refused
    return Scores(
        classifier.accuracy(to_input(mnist.x_test), mnist.y_test, calibration),
        classifier.accuracy(to_input(holdout.inputs), holdout.labels, calibration),
        float(refused.mean()) if len(refused) else 0.0,
    )


def gate_non_digits() -> np.ndarray:
    """The gate's non-digits: generated from held-out fonts with a fixed seed, prepared as the server would."""
    from model.runtime.decode import decode_image
    from model.runtime.preprocess import prepare
    from model.training.realistic import non_digit_samples

    images = [prepare(decode_image(sample.data)).image for sample in non_digit_samples(GATE_NON_DIGITS, seed=99)]
    return np.stack([image for image in images if image is not None])


def gate(candidate: Scores, baseline: Scores) -> list[str]:
    """Why the candidate must not be served; empty when it passes."""
    failures = []
    if candidate.mnist < MIN_MNIST_ACCURACY:
        failures.append(f"MNIST accuracy {candidate.mnist:.2%} is below {MIN_MNIST_ACCURACY:.1%}")
    if candidate.mnist < baseline.mnist - MAX_MNIST_DROP - 1e-9:
        failures.append(f"MNIST accuracy fell {100 * (baseline.mnist - candidate.mnist):.2f} points (at most 0.1)")
    if candidate.holdout < baseline.holdout:
        failures.append(f"held-out accuracy {candidate.holdout:.2%} is below the current {baseline.holdout:.2%}")
    if candidate.non_digits < baseline.non_digits - MAX_REFUSAL_DROP - 1e-9:
        failures.append(
            f"refuses {candidate.non_digits:.1%} of non-digits, the current model {baseline.non_digits:.1%} "
            f"(at most {100 * MAX_REFUSAL_DROP:.0f} points fewer)"
        )
    return failures


def table(current: str, baseline: Scores, version: str, candidate: Scores, failures: list[str], held: int) -> str:
    floor = max(MIN_MNIST_ACCURACY, baseline.mnist - MAX_MNIST_DROP)
    rows = [
        f"current {current}, candidate {version}",
        f"{'':28}{'current':>12}{'candidate':>12}   gate",
        f"{'MNIST test (10,000)':28}{baseline.mnist:>12.2%}{candidate.mnist:>12.2%}   >= {floor:.2%}",
        f"{f'held-out attempts ({held})':28}{baseline.holdout:>12.2%}{candidate.holdout:>12.2%}"
        f"   >= {baseline.holdout:.2%}",
        f"{'non-digits refused':28}{baseline.non_digits:>12.2%}{candidate.non_digits:>12.2%}"
        f"   >= {max(0.0, baseline.non_digits - MAX_REFUSAL_DROP):.2%}",
        "gate: " + ("ACCEPTED" if not failures else "REJECTED: " + "; ".join(failures)),
    ]
    return "\n".join(rows)


# Progress for the dashboard


class Status:
    """The retrain's state in a JSON file the dashboard reads (``--status``); a no-op without one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.state: dict[str, Any] = {"state": "running", "stage": "starting", "progress": 0.0, "pid": os.getpid()}
        self._written = 0.0
        self.update(started_at=time.time())

    def update(self, force: bool = True, **changes: Any) -> None:
        self.state.update(changes)
        if self.path is not None and (force or time.monotonic() - self._written > 0.5):
            atomic_write(self.path, json.dumps(self.state) + "\n")
            self._written = time.monotonic()


# The command


def new_version() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-ft-{model_card.code_version()}"


def retrain(
    data: LabelledSet, versions: ModelVersions, settings: Settings, status: Status, out: TextIO | None = None
) -> dict[str, Any]:
    """The whole retrain: split, fine-tune, export, measure, gate, write the candidate. Returns the JSON result."""
    out = out or sys.stdout
    started = time.perf_counter()
    check_enough(data, settings.min_per_digit)
    current = versions.active()
    if not current.keras.exists():
        raise RetrainError(f"The current model {current.version} has no Keras file to fine-tune ({current.keras}).")
    held, split = split_by_drawer(data, settings.seed)
    train, holdout = data.subset(~held), data.subset(held)
    print(f"{len(data)} labelled attempts: {len(train)} to train on, {len(holdout)} held out, split {split}", file=out)
    mnist = load_mnist()
    status.update(stage="training")
    model = train_with_progress(current, mnist, train, settings, status)
    status.update(stage="measuring", progress=1.0)
    version = new_version()
    with versions.staged(version) as staging:
        baseline, candidate = write_and_measure(model, staging, current, mnist, holdout)
        failures = gate(candidate, baseline)
        card = candidate_card(current, version, settings, baseline, candidate, failures)
        card.update(
            parameters=model.count_params(),
            data_sha256=mnist.checksum(),
            training_seconds=round(time.perf_counter() - started, 1),
            labelled_data={
                "sha256": data.checksum(),
                "attempts": len(data),
                "per_digit": data.counts(),
                "train_attempts": len(train),
                "holdout_attempts": len(holdout),
                "split": split,
            },
        )
        model_card.write_card(card, staging / "digits.json")
    print(table(current.version, baseline, version, candidate, failures, len(holdout)), file=out)
    return {
        "version": version,
        "accepted": not failures,
        "mnist_accuracy": candidate.mnist,
        "holdout_accuracy": candidate.holdout,
        "non_digits_refused": candidate.non_digits,
        "baseline_holdout_accuracy": baseline.holdout,
        "baseline_mnist_accuracy": baseline.mnist,
        "baseline_version": current.version,
        "holdout_attempts": len(holdout),
        "seconds": card["training_seconds"],
        "reasons": failures,
    }


def candidate_card(
    current: ModelFiles, version: str, settings: Settings, baseline: Scores, candidate: Scores, failures: list[str]
) -> dict[str, Any]:
    """The candidate's model card: what it was tuned from, how, what it scored and the gate's verdict."""
    import keras
    import tensorflow as tf

    return {
        "name": current.card().get("name", "digits_cnn"),
        "version": version,
        "parent_version": current.version,
        "test_accuracy": candidate.mnist,
        "test_images": 10_000,
        "holdout_accuracy": candidate.holdout,
        "non_digits_refused": candidate.non_digits,
        "baseline": {
            "version": current.version,
            "test_accuracy": baseline.mnist,
            "holdout_accuracy": baseline.holdout,
            "non_digits_refused": baseline.non_digits,
        },
        "gate": {"accepted": not failures, "reasons": failures},
        **{key: current.card()[key] for key in ("classes", "calibration") if key in current.card()},
        "fine_tuning": {
            "epochs": settings.epochs,
            "learning_rate": settings.learning_rate,
            "mnist_per_epoch": settings.mnist_per_epoch,
            "attempt_share": settings.attempt_share,
            "non_digits_per_epoch": settings.non_digits_per_epoch,
            "freeze_batch_norm": settings.freeze_batch_norm,
            "seed": settings.seed,
        },
        "code_version": model_card.code_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "preprocessing": model_card.PREPROCESSING_CONTRACT,
        "created_at": time.time(),
    }


def load_data(args: argparse.Namespace) -> LabelledSet:
    """The labelled attempts: an exported file, or straight from the store (paged)."""
    if args.data:
        return LabelledSet.load(args.data)
    from server.storage.label_export import collect
    from server.storage.store import StoreUnavailable
    from server.storage.urls import open_store

    store = open_store(args.store_url)
    try:
        return collect(store.labelled())[0]
    except StoreUnavailable as error:
        raise RetrainError(f"The attempt store is unreachable: {error}") from error
    finally:
        store.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from server.config import load_config

    config = load_config()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store-url", default=config["STORE_URL"], help="default: STORE_URL")
    parser.add_argument("--data", type=Path, help="an export-labels .npz instead of the store")
    parser.add_argument("--models-dir", type=Path, default=Path(config["MODELS_DIR"]), help="default: MODELS_DIR")
    parser.add_argument("--fast", action="store_true", help="one short epoch (tests)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--status", type=Path, help=f"progress and result (default <models-dir>/{RETRAIN_STATUS_FILE})")
    args = parser.parse_args(argv)
    args.status = args.status or args.models_dir / RETRAIN_STATUS_FILE  # the dashboard shows any retrain's result
    args.versions = ModelVersions(args.models_dir, builtin_files(config["MODEL_PATH"], config["MODEL_CARD_PATH"]))
    return args


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    settings = FAST if args.fast else Settings()
    settings = Settings(**{**settings.__dict__, "seed": args.seed, "epochs": args.epochs or settings.epochs})
    try:
        with args.versions.retrain_lock():
            status = Status(args.status)
            try:
                result = retrain(load_data(args), args.versions, settings, status)
            except (RetrainError, VersionError, DataError) as error:
                status.update(state="failed", error=str(error))
                raise
            except Exception as error:  # the dashboard must not wait for a retrain that crashed
                status.update(state="failed", error=f"the retrain failed unexpectedly: {error}")
                raise
            status.update(state="done", stage="done", result=result)
    except (RetrainError, VersionError, DataError) as error:  # DataError: MNIST is missing (`make data`)
        print(f"retrain: {error}", file=sys.stderr)
        print(json.dumps({"version": None, "accepted": False, "error": str(error)}))
        return EXIT_CANNOT
    print(json.dumps(result))
    return 0 if result["accepted"] else EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())
