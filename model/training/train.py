"""Train the production digit CNNs, the served ensemble: ``python -m model.training.train``.

Reads top to bottom like the Keras MNIST example: data, model, augmentation, fit,
calibrate, evaluate, save; the fit is two cosine cycles, a long one from scratch and a short
polishing one from a low rate, run for each member of the ensemble (``Recipe.members`` networks,
seeds ``seed``, ``seed + 1``...; ``model.training.network.ensemble``). The data is MNIST plus generated drawings
(``model.training.training_data``): digits in many handwriting fonts, MNIST digits re-drawn as
canvases, chalk and photos, and non-digits for the eleventh, "not a digit" class. The
held-out part of both calibrates the answers (``model.runtime.calibration``).

The run is seeded; the same seed, data and code give the same model on the same backend, up to
floating-point round-off in multithreaded kernels (the CPU's tf.data pipeline and an accelerator's JAX draw
their starting weights, image order and distortions differently, so each rebuilds its own members).
Every choice that decides the weights is a field of ``Recipe``, whose defaults are the committed model's recipe
(its card records the recipe, and tests/model/test_model.py holds the two equal), so
``make train`` trains with them (about an hour a member on two cores). The shipped members were
trained by this code on an accelerator (``scripts/accelerated_training.py``, one member a seed)
and assembled here (``--assemble``), where the export, the calibration and the card are made; given more
networks than ``--members``, it serves the subset ``model.training.selection`` chooses on data no test shares.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import keras
import numpy as np

from model.runtime import card as model_card
from model.runtime.litert import to_input
from model.training import fonts
from model.training.data import Mnist, load_mnist
from model.training.held_out import HeldOut, calibrate, held_out_split, with_generated
from model.training.network import (
    DRAWS,
    INPUT_SHAPE,
    Augment,
    Augmentation,
    augment,
    build_model,
    ensemble,
    members_of,
)
from model.training.training_data import TRAINING_COUNTS, VALIDATION_COUNTS


@dataclass(frozen=True)
class Recipe:
    """Everything besides data and code that decides the weights; the defaults made the committed model."""

    epochs: int = 30  # at most: early stopping may end sooner (16 underfit: MNIST 99.56 %, still rising)
    seed: int = 2026
    batch_size: int = 128
    validation_size: int = 5000  # training images held out for early stopping
    learning_rate: float = 2e-3  # Adam's at the start of a cosine decay over all the epochs...
    final_learning_rate_fraction: float = 0.01  # ...down to this share of it
    early_stopping_patience: int = 4  # epochs without a better validation accuracy
    early_stopping_from: float = 0.5  # share of the epochs before early stopping watches: the cosine works late
    dropout: float = 0.3
    mnist_repeats: int = 3  # MNIST shown this many times an epoch, so 106k generated drawings do not outweigh it
    # A second, short cosine cycle from a low rate (a warm restart) over the same data: it taught the
    # degraded kinds and the non-digits without costing MNIST, where two models trained from scratch on
    # them fell to 99.55 and 99.47 % (docs/model.md). ``--start-from`` runs it alone, on a model the first
    # cycle made.
    polish_epochs: int = 8
    polish_learning_rate: float = 3e-4
    # Networks in the served ensemble, each trained as above from its own seed (seed, seed + 1...) on the same
    # data. Three: the most whose 8-bit model call stays under 0.2 ms (0.16 ms; four take 0.21). One network
    # alone refused 94.6-96.0 % of the non-digits and read thumbnails at 98.4-98.7 %; docs/model.md has the rest.
    members: int = 3
    augmentation: Augmentation = field(default_factory=Augmentation)

    def record(self) -> dict:
        """The recipe as the model card stores it."""
        return asdict(self)

    def steps_per_epoch(self, count: int) -> int:
        """Batches in one pass over ``count`` training images (the last one may be short)."""
        return math.ceil(count / self.batch_size)


def on_tensorflow() -> bool:
    """Whether Keras runs on TensorFlow (the CPU's backend, with tf.data) rather than, say, JAX on an accelerator."""
    return keras.backend.backend() == "tensorflow"


def seeded_draws(count: int, seed):
    """A batch's uniform draws (``DRAWS`` per image) from its stateless seed: the streams the shipped models'
    augmentation was drawn from (angle, scale, shear, shift and stroke each from their own split seed)."""
    import tensorflow as tf

    geometry, stroke = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    angle, scale, shear, shift, _ = tf.unstack(tf.random.experimental.stateless_split(geometry, 5))
    columns = [(angle, 1), (scale, 1), (shear, 1), (shift, 2), (stroke, 1)]
    draws = tf.concat([tf.random.stateless_uniform([count, width], part) for part, width in columns], axis=1)
    return tf.ensure_shape(draws, [count, DRAWS])


def training_dataset(images: np.ndarray, labels: np.ndarray, recipe: Recipe):
    """An endless, shuffled, augmented tf.data stream; each batch gets its own stateless seed."""
    import tensorflow as tf

    batches = (
        tf.data.Dataset.from_tensor_slices((to_input(images), labels.astype(np.int32)))
        .shuffle(len(labels), seed=recipe.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(recipe.batch_size, drop_remainder=True)
    )
    seeds = tf.data.Dataset.random(seed=recipe.seed).batch(2)
    draw = recipe.batch_size
    return (
        tf.data.Dataset.zip((batches, seeds))
        .map(
            lambda batch, seed: (augment(batch[0], seeded_draws(draw, seed), recipe.augmentation), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def trainer(model: keras.Model, training: tuple[np.ndarray, np.ndarray], recipe: Recipe) -> tuple[keras.Model, dict]:
    """What ``fit`` trains, and the data it feeds it. On TensorFlow: the model itself on the tf.data
    stream, whose pipeline augments (the stream the shipped models were trained on). Elsewhere (JAX on an
    accelerator has no tf.data): the model behind an ``Augment`` layer, on plain arrays it distorts on the
    device."""
    images, labels = training
    if on_tensorflow():
        steps_per_epoch = recipe.steps_per_epoch(len(labels))
        # The stream shuffles itself; fit's own shuffle (on by default) does not apply to a dataset and says so.
        return model, {
            "x": training_dataset(images, labels, recipe),
            "steps_per_epoch": steps_per_epoch,
            "shuffle": False,
        }
    augmented = keras.Sequential([keras.Input(INPUT_SHAPE), Augment(recipe.augmentation, recipe.seed), model])
    return augmented, {"x": to_input(images), "y": labels.astype(np.int32), "batch_size": recipe.batch_size}


def fit(
    model: keras.Model,
    training: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    recipe: Recipe,
    cycle: tuple[int, float, bool],
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> keras.callbacks.History:
    """One cosine cycle of Adam, ``cycle`` = (epochs, learning rate, stop early?)."""
    x_val, y_val = validation
    epochs, learning_rate, stop_early = cycle
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate,
        decay_steps=epochs * recipe.steps_per_epoch(len(training[1])),
        alpha=recipe.final_learning_rate_fraction,
    )
    fitted, data = trainer(model, training, recipe)
    fitted.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # The cosine schedule does its best work late, so early stopping only watches the later epochs.
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_accuracy",
        patience=recipe.early_stopping_patience,
        restore_best_weights=True,
        start_from_epoch=int(epochs * recipe.early_stopping_from),
        verbose=1,
    )
    return fitted.fit(
        **data,
        epochs=epochs,
        validation_data=(to_input(x_val), y_val),
        callbacks=([stopping] if stop_early else []) + (callbacks or []),
        verbose=1 if fitted is model else 2,  # a progress bar on the CPU; a line per epoch in an accelerator's log
    )


def train_member(
    training: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    recipe: Recipe,
    start_from: keras.Model | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[keras.Model, list[keras.callbacks.History]]:
    """One network from scratch (one long cycle with early stopping), then the short polishing cycle.

    Given ``start_from`` (a network the first cycle made), only the polishing cycle runs, on it."""
    keras.utils.set_random_seed(recipe.seed)
    histories = []
    model = start_from
    if model is None:
        model = build_model(recipe.dropout)
        first = (recipe.epochs, recipe.learning_rate, True)
        histories.append(fit(model, training, validation, recipe, first, callbacks))
    if recipe.polish_epochs:
        polish = (recipe.polish_epochs, recipe.polish_learning_rate, False)
        histories.append(fit(model, training, validation, recipe, polish, callbacks))
    return model, histories


def train(
    training: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    recipe: Recipe,
    start_from: keras.Model | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[keras.Model, list[dict]]:
    """The ensemble: ``recipe.members`` networks, member ``i`` trained by ``train_member`` with seed ``seed + i``.

    The seed changes only a member's starting weights, the order of its images and their distortions:
    every member learns from the same data. Given ``start_from``, each of its members is polished instead.
    Returns the model and, per member, what the card records of its training."""
    parents = members_of(start_from) if start_from is not None else [None] * recipe.members
    members, records = [], []
    for index, parent in enumerate(parents):
        started = time.perf_counter()
        seed = recipe.seed + index
        member, histories = train_member(training, validation, replace(recipe, seed=seed), parent, callbacks)
        members.append(member)
        records.append(member_record(seed, histories, time.perf_counter() - started))
    return ensemble(members), records


def member_record(seed: int, histories: list[keras.callbacks.History], seconds: float) -> dict:
    """What the card records of a member's training (``members``), here or on an accelerator."""
    return {
        "seed": seed,
        "epochs_run": sum(len(history.history["loss"]) for history in histories),
        "best_val_accuracy": float(max(max(history.history["val_accuracy"]) for history in histories)),
        "training_seconds": round(seconds, 1),
    }


def datasets(mnist: Mnist, recipe: Recipe) -> tuple[tuple[np.ndarray, np.ndarray], HeldOut]:
    """The training set (MNIST ``mnist_repeats`` times and the generated drawings) and the held-out set
    that stops training early and calibrates it."""
    (x_mnist, y_mnist), held_out = held_out_split(mnist, recipe.validation_size, recipe.seed, VALIDATION_COUNTS)
    x_train, y_train, _ = with_generated(x_mnist, y_mnist, TRAINING_COUNTS, recipe.seed)
    x_train = np.concatenate([x_train, *[x_mnist] * (recipe.mnist_repeats - 1)])
    y_train = np.concatenate([y_train, *[y_mnist] * (recipe.mnist_repeats - 1)])
    return (x_train, y_train), held_out


def parse_arguments(argv: list[str] | None = None) -> tuple[Recipe, Path | None, list[Path]]:
    """A flag for each number of the recipe (``--epochs``, ``--batch-size``...), defaulting to the committed
    model's; ``--start-from MODEL.keras``: only the polishing cycle, on each of that model's members;
    ``--assemble A.keras B.keras...``: no training, the ensemble of networks trained elsewhere."""
    parser = argparse.ArgumentParser(description=__doc__)
    defaults = Recipe()
    numbers = [choice for choice in fields(Recipe) if isinstance(getattr(defaults, choice.name), int | float)]
    for choice in numbers:
        default = getattr(defaults, choice.name)
        flag = f"--{choice.name.replace('_', '-')}"
        parser.add_argument(flag, type=type(default), default=default, help="default: %(default)s")
    parser.add_argument("--start-from", type=Path, help="a .keras model the first cycle made: polish it only")
    parser.add_argument(
        "--assemble",
        type=Path,
        nargs="+",
        default=[],
        help="members trained elsewhere (model-SEED.keras); more than --members: the best subset is served",
    )
    args = parser.parse_args(argv)
    recipe = Recipe(**{choice.name: getattr(args, choice.name) for choice in numbers})
    if args.assemble and (recipe.seed, recipe.validation_size) != (defaults.seed, defaults.validation_size):
        # The validation and selection sets must be drawn as the members' own validation set was.
        parser.error("--assemble takes members trained on the committed recipe's data: keep --seed, --validation-size")
    if len({path.name for path in args.assemble}) < len(args.assemble):
        parser.error("--assemble: two members share a file name, and the card names each member by its file")
    return recipe, args.start_from, args.assemble


def parse_recipe(argv: list[str] | None = None) -> Recipe:
    """The recipe the command line asks for (no flags: the committed model's)."""
    return parse_arguments(argv)[0]


def trained_elsewhere(path: Path) -> dict:
    """What the card records of a member trained elsewhere: its file's SHA-256 and, when the training wrote one,
    the record beside it (``model-SEED.json``: seed, epochs, validation accuracy, seconds)."""
    record = {"file": path.name, "keras_sha256": model_card.files_sha256((path,))[path.name]}
    seed = re.fullmatch(r"model-(\d+)\.keras", path.name)
    if seed:
        record["seed"] = int(seed.group(1))
    if path.with_suffix(".json").exists():
        record.update(model_card.read_card(path.with_suffix(".json")))
    return record


def parent_of(path: Path) -> dict:
    """What the card says about the model a polish started from: its file's SHA-256 and, from the card
    beside it (a committed model's, or a version folder's), its version."""
    card_path = path.with_suffix(".json")
    version = model_card.read_card(card_path)["version"] if card_path.exists() else None
    return {"version": version, "keras_sha256": model_card.files_sha256((path,))[path.name]}


def main() -> None:
    import tensorflow as tf

    from model.runtime.litert import Classifier
    from model.training.export import to_tflite
    from model.training.selection import choose

    recipe, start_from, member_files = parse_arguments()
    parent = parent_of(start_from) if start_from else None  # read now: the model may be overwritten below
    mnist = load_mnist()
    code_version = model_card.code_version()  # before training: the code the model was trained from
    training, validation = datasets(mnist, recipe)
    selection_record = None
    if member_files:
        candidates = [keras.models.load_model(path) for path in member_files]
        names = [path.name for path in member_files]
        chosen, selection_record = choose(candidates, names, recipe.members, validation, recipe.seed)
        model = ensemble([candidates[index] for index in chosen])
        members = [trained_elsewhere(member_files[index]) for index in chosen]
    else:
        first = keras.models.load_model(start_from) if start_from else None
        model, members = train(training, (validation.images, validation.labels), recipe, first)
    recipe = replace(recipe, members=len(members))  # what the model holds (assembled or polished: not the flag)

    model.save(model_card.KERAS_PATH)
    model_card.TFLITE_PATH.write_bytes(to_tflite(model))
    classifier = Classifier.load(model_card.TFLITE_PATH)
    calibration = calibrate(classifier, validation)
    keras_accuracy = (model.predict(to_input(mnist.x_test), verbose=0).argmax(axis=1) == mnist.y_test).mean()
    served_accuracy = classifier.accuracy(to_input(mnist.x_test), mnist.y_test, calibration)

    card = {
        "name": model.name,
        "version": f"{time.strftime('%Y%m%d')}-{code_version}",
        "test_accuracy": served_accuracy,
        "keras_test_accuracy": float(keras_accuracy),
        "test_images": len(mnist.y_test),
        "parameters": model.count_params(),
        "training_seconds": round(sum(member.get("training_seconds", 0.0) for member in members), 1),
        "epochs_run": max(member.get("epochs_run", 0) for member in members),  # the most a member ran
        "recipe": recipe.record(),
        "members": members,
        "selection": selection_record,  # None: every network trained or given is served
        "started_from": parent,  # None: trained from scratch
        "classes": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "not_a_digit"],
        "calibration": {**calibration.record(), "fitted_on": validation.fitted_on()},
        "training_data": {
            "mnist": len(mnist.y_train) - recipe.validation_size,
            "generated": {"training": asdict(TRAINING_COUNTS), "validation": asdict(VALIDATION_COUNTS)},
            "font_families": list(fonts.TRAINING),
            "held_out_font_families": list(fonts.HELD_OUT),
        },
        "files_sha256": model_card.files_sha256(),
        "data_sha256": mnist.checksum(),
        "code_version": code_version,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "preprocessing": model_card.PREPROCESSING_CONTRACT,
    }
    model_card.write_card(card)
    print(
        f"test accuracy {served_accuracy:.4f} (LiteRT, calibrated, a refusal counts as an error), "
        f"{keras_accuracy:.4f} (Keras); temperature {calibration.temperature:.3f}, "
        f"not-a-digit threshold {calibration.not_a_digit_threshold:.4f}; saved {model_card.KERAS_PATH}"
    )


if __name__ == "__main__":
    main()
