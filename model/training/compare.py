"""Compare the seed projects' models with ours on the same data and machine.

``python -m model.training.compare`` trains shortened versions of every seed model (a few
epochs, the SVM on a 10,000-image subset) and writes ``model/reports/comparison.md``
with PNG plots; ``--full`` trains them as long as their seeds did. Our model is the
committed one: its training time comes from its model card, its accuracy is measured
again here.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import matplotlib
import numpy as np
from keras import layers
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from model.runtime import card as model_card
from model.runtime.calibration import Calibration
from model.runtime.litert import Classifier, to_input
from model.runtime.metrics import confusion_matrix
from model.training.data import Mnist, load_mnist

matplotlib.use("Agg")
import matplotlib.pyplot as plt

REPORT_DIR = Path(__file__).resolve().parents[1] / "reports"
TIMING_IMAGES = 1000


@dataclass
class Result:
    name: str
    source: str
    accuracy: float
    parameters: int
    training_seconds: float
    ms_per_image: float
    note: str


def softmax_regression() -> keras.Model:
    """Seed 000: the TensorFlow beginners' softmax regression on raw pixels."""
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])


def seed000_cnn() -> keras.Model:
    """Seed 000: TensorFlow's 'Deep MNIST' - two 5x5 conv + max-pool layers, dense 1024, dropout."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(1024, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def seed002_cnn() -> keras.Model:
    """Seed 002: Conv64-3x3, Conv32-3x3, Flatten, Dense10."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )


def seed003_cnn() -> keras.Model:
    """Seed 003: Conv30-5x5, pool, Conv15-3x3, pool, dropout, Dense128, Dense50, Dense10."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(30, 5, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(15, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(50, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


@dataclass
class KerasSeed:
    name: str
    source: str
    build: Callable[[], keras.Model]
    optimizer: Callable[[], keras.optimizers.Optimizer]
    batch_size: int
    short_epochs: int
    full_epochs: int


KERAS_SEEDS = [
    KerasSeed("Softmax regression", "seed 000", softmax_regression, lambda: keras.optimizers.SGD(0.5), 100, 1, 2),
    KerasSeed("Deep-MNIST CNN", "seed 000", seed000_cnn, lambda: keras.optimizers.Adam(1e-4), 50, 1, 17),
    KerasSeed("Two-conv CNN", "seed 002", seed002_cnn, lambda: keras.optimizers.Adam(), 128, 1, 3),
    KerasSeed("Small CNN", "seed 003", seed003_cnn, lambda: keras.optimizers.Adam(), 200, 2, 10),
]


def ms_per_image(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> float:
    """Batched throughput: milliseconds per image over a batch, after one warm-up call."""
    predict(images[:10])
    started = time.perf_counter()
    predict(images)
    return (time.perf_counter() - started) * 1000 / len(images)


def run_keras_seed(seed: KerasSeed, mnist: Mnist, full: bool) -> Result:
    keras.utils.set_random_seed(0)
    model = seed.build()
    model.compile(optimizer=seed.optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = seed.full_epochs if full else seed.short_epochs
    started = time.perf_counter()
    model.fit(to_input(mnist.x_train), mnist.y_train, batch_size=seed.batch_size, epochs=epochs, verbose=2)
    seconds = time.perf_counter() - started
    predictions = model.predict(to_input(mnist.x_test), batch_size=1000, verbose=0).argmax(axis=1)
    return Result(
        name=seed.name,
        source=seed.source,
        accuracy=float(np.mean(predictions == mnist.y_test)),
        parameters=model.count_params(),
        training_seconds=seconds,
        ms_per_image=ms_per_image(model.predict_on_batch, to_input(mnist.x_test[:TIMING_IMAGES])),
        note=f"{epochs} epoch(s), batch {seed.batch_size}",
    )


def run_sklearn(name: str, estimator, mnist: Mnist, train_images: int, parameters: Callable, note: str) -> Result:
    flat_train = mnist.x_train[:train_images].reshape(train_images, -1) / 255.0
    flat_test = mnist.x_test.reshape(len(mnist.x_test), -1) / 255.0
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(flat_train, mnist.y_train[:train_images])
    seconds = time.perf_counter() - started
    predictions = estimator.predict(flat_test)
    return Result(
        name=name,
        source="seed 003",
        accuracy=float(np.mean(predictions == mnist.y_test)),
        parameters=parameters(estimator),
        training_seconds=seconds,
        ms_per_image=ms_per_image(estimator.predict, flat_test[:TIMING_IMAGES]),
        note=note,
    )


def run_ours(mnist: Mnist) -> tuple[Result, np.ndarray]:
    card = model_card.read_card()
    classifier = Classifier.load(model_card.TFLITE_PATH)
    answers = Calibration.from_card(card).answers(classifier.predict_all(to_input(mnist.x_test)))
    result = Result(
        name="Ours (shipped, LiteRT)",
        source="this project",
        # As served: a "not a digit" refusal counts as an error (no other model here can refuse).
        accuracy=float(answers.right(mnist.y_test).mean()),
        parameters=int(card["parameters"]),
        training_seconds=float(card["training_seconds"]),
        ms_per_image=ms_per_image(classifier.predict, to_input(mnist.x_test[:TIMING_IMAGES])),
        note=our_training(card),
    )
    return result, answers.digits


def our_training(card: dict) -> str:
    """How the shipped model trained, from its card: how many networks, for how long, and where."""
    members = card.get("members") or [{}]
    elsewhere = sorted({member["trained_on"] for member in members if member.get("trained_on")})
    where = f"; trained on {', '.join(elsewhere)}, so its seconds are not this machine's" if elsewhere else ""
    return (
        f"{len(members)} network(s), up to {card['epochs_run']} epochs each, with augmentation on MNIST and generated "
        f"drawings{where}; a refusal counts as an error (full training, from the model card)"
    )


def plot_accuracy_vs_time(results: list[Result], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for result in results:
        axes.scatter(result.training_seconds, result.accuracy * 100)
        axes.annotate(
            result.name,
            (result.training_seconds, result.accuracy * 100),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    axes.set_xscale("log")
    axes.set_xlabel("training time on this machine (s, log scale)")
    axes.set_ylabel("MNIST test accuracy (%)")
    axes.set_title("Accuracy against training time")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_confusion(matrix: np.ndarray, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(5.5, 5))
    shown = matrix.astype(float)
    np.fill_diagonal(shown, np.nan)
    axes.imshow(shown, cmap="Reds")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axes.text(column, row, str(count), ha="center", va="center", fontsize=7)
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Our model: confusion matrix (errors shaded)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_errors(mnist: Mnist, predictions: np.ndarray, path: Path, columns: int = 10) -> None:
    wrong = np.flatnonzero(predictions != mnist.y_test)
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure, grid = plt.subplots(rows, columns, figsize=(columns * 1.0, rows * 1.15), squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, index in zip(grid.flat, wrong, strict=False):
        axes.imshow(mnist.x_test[index], cmap="gray_r")
        axes.set_title(f"{mnist.y_test[index]}→{predictions[index]}", fontsize=8)
    figure.suptitle("Test digits our model gets wrong (true→predicted)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(results: list[Result], full: bool, path: Path) -> None:
    mode = (
        "full-length training, as in the seeds"
        if full
        else ("**shortened** training (`python -m model.training.compare --full` trains as long as the seeds did)")
    )
    lines = [
        "# The seeds' models compared with ours",
        "",
        f"Generated by `python -m model.training.compare` on {time.strftime('%Y-%m-%d')}, on this project's "
        f"2-core CPU machine, with the official 60,000/10,000 MNIST split; {mode}. Inference time is "
        "milliseconds per image in a "
        f"batch of {TIMING_IMAGES} (Keras `predict_on_batch`, scikit-learn `predict`, LiteRT for ours).",
        "",
        "| model | from | test accuracy | error rate | parameters | training time | ms / image | training |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.source} | {result.accuracy:.2%} | {1 - result.accuracy:.2%} | "
            f"{result.parameters:,} | {result.training_seconds:.0f} s | {result.ms_per_image:.3f} | {result.note} |"
        )
    lines += [
        "",
        'Only ours answers honestly beyond MNIST: calibrated confidence, "not a digit" for letters, shapes '
        "and scribbles, and unseen handwriting; see [honesty.md](honesty.md) (`python -m model.training.honesty`). "
        "Every seed model above answers a digit for anything it is shown.",
        "",
        "![accuracy against training time](accuracy_vs_time.png)",
        "",
        "![confusion matrix of our model](confusion_ours.png)",
        "",
        "![test digits our model gets wrong](errors_ours.png)",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="train the seed models as long as their seeds did")
    args = parser.parse_args()

    mnist = load_mnist()
    svm_images = 60000 if args.full else 10000
    mlp_iterations = 200 if args.full else 15
    results = [run_keras_seed(seed, mnist, args.full) for seed in KERAS_SEEDS]
    results.append(
        run_sklearn(
            "Multilayer perceptron (100 hidden)",
            MLPClassifier(hidden_layer_sizes=(100,), max_iter=mlp_iterations, random_state=0),
            mnist,
            60000,
            lambda mlp: sum(w.size for w in mlp.coefs_) + sum(b.size for b in mlp.intercepts_),
            f"scikit-learn, {mlp_iterations} iterations",
        )
    )
    results.append(
        run_sklearn(
            "SVM (RBF kernel)",
            SVC(kernel="rbf", gamma="scale"),
            mnist,
            svm_images,
            lambda svm: int(svm.support_vectors_.size + svm.dual_coef_.size),
            f"scikit-learn, trained on {svm_images:,} images; parameters = support vectors x 784 + coefficients",
        )
    )
    ours, predictions = run_ours(mnist)
    results.append(ours)

    REPORT_DIR.mkdir(exist_ok=True)
    plot_accuracy_vs_time(results, REPORT_DIR / "accuracy_vs_time.png")
    plot_confusion(confusion_matrix(mnist.y_test, predictions), REPORT_DIR / "confusion_ours.png")
    plot_errors(mnist, predictions, REPORT_DIR / "errors_ours.png")
    write_report(results, args.full, REPORT_DIR / "comparison.md")
    print((REPORT_DIR / "comparison.md").read_text())


if __name__ == "__main__":
    main()
