"""Train the production digit CNN: ``python -m model.train``.

Reads top to bottom like the Keras MNIST example: data, model, augmentation, fit,
evaluate, save. The run is seeded; the same seed, data and code give the same model
up to floating-point round-off in multithreaded kernels.
"""

from __future__ import annotations

import argparse
import math
import time

import keras
import numpy as np
import tensorflow as tf

from model import card as model_card
from model.data import Mnist, load_mnist, to_input
from model.export import to_tflite
from model.litert import Classifier
from model.network import augment, build_model

BATCH_SIZE = 128
VALIDATION_SIZE = 5000


def split_validation(mnist: Mnist, seed: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out a seeded random slice of the 60k training images for early stopping."""
    order = np.random.default_rng(seed).permutation(len(mnist.y_train))
    held, kept = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    return (mnist.x_train[kept], mnist.y_train[kept]), (mnist.x_train[held], mnist.y_train[held])


def training_dataset(images: np.ndarray, labels: np.ndarray, seed: int) -> tf.data.Dataset:
    """An endless, shuffled, augmented stream; each batch gets its own stateless seed."""
    batches = (
        tf.data.Dataset.from_tensor_slices((to_input(images), labels.astype(np.int32)))
        .shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(BATCH_SIZE, drop_remainder=True)
    )
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return (
        tf.data.Dataset.zip((batches, seeds))
        .map(lambda batch, batch_seed: (augment(batch[0], batch_seed), batch[1]), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def train(mnist: Mnist, epochs: int, seed: int) -> tuple[keras.Model, keras.callbacks.History]:
    """Fit the CNN with a cosine learning-rate decay and early stopping on validation accuracy."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_val, y_val) = split_validation(mnist, seed)
    steps_per_epoch = math.ceil(len(y_train) / BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * steps_per_epoch, alpha=0.01)
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # The cosine schedule does its best work late, so early stopping only watches the second half.
    stop_early = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=8, restore_best_weights=True, start_from_epoch=epochs // 2, verbose=1
    )
    history = model.fit(
        training_dataset(x_train, y_train, seed),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        validation_data=(to_input(x_val), y_val),
        callbacks=[stop_early],
        verbose=1,
    )
    return model, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    mnist = load_mnist()
    code_version = model_card.code_version()  # before training: the code the model was trained from
    started = time.perf_counter()
    model, history = train(mnist, epochs=args.epochs, seed=args.seed)
    training_seconds = time.perf_counter() - started

    model.save(model_card.KERAS_PATH)
    model_card.TFLITE_PATH.write_bytes(to_tflite(model))
    _, keras_accuracy = model.evaluate(to_input(mnist.x_test), mnist.y_test, verbose=0)
    served_accuracy = Classifier.load(model_card.TFLITE_PATH).accuracy(to_input(mnist.x_test), mnist.y_test)

    card = {
        "name": "digits_cnn",
        "version": f"{time.strftime('%Y%m%d')}-{code_version}",
        "test_accuracy": served_accuracy,
        "keras_test_accuracy": float(keras_accuracy),
        "test_images": len(mnist.y_test),
        "parameters": model.count_params(),
        "training_seconds": round(training_seconds, 1),
        "epochs_run": len(history.history["loss"]),
        "epochs_max": args.epochs,
        "best_val_accuracy": float(max(history.history["val_accuracy"])),
        "seed": args.seed,
        "batch_size": BATCH_SIZE,
        "data_sha256": mnist.checksum(),
        "code_version": code_version,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "preprocessing": model_card.PREPROCESSING_CONTRACT,
    }
    model_card.write_card(card)
    print(f"test accuracy {served_accuracy:.4f} (LiteRT), {keras_accuracy:.4f} (Keras); saved {model_card.KERAS_PATH}")


if __name__ == "__main__":
    main()
