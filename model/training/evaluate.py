"""Reload the committed model and measure it on the 10,000 MNIST test images.

``python -m model.training.evaluate`` prints the accuracy and the confusion matrix, and as its
last line a JSON object ``{"accuracy": ..., "n": 10000}`` for scripts to parse.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from model.runtime import card as model_card
from model.runtime.calibration import Calibration
from model.runtime.litert import Classifier, to_input
from model.runtime.metrics import confusion_matrix, format_confusion
from model.training.data import Mnist, load_mnist


def evaluate(model_path: Path = model_card.TFLITE_PATH, mnist: Mnist | None = None) -> dict[str, float | int]:
    """Accuracy of the served LiteRT model on the MNIST test set, as served: with the calibration of the
    card beside the model, a "not a digit" refusal counts as an error. Prints the confusion matrix too."""
    mnist = mnist or load_mnist()
    card_path = Path(model_path).with_suffix(".json")
    calibration = Calibration.from_card(model_card.read_card(card_path)) if card_path.exists() else Calibration()
    answers = calibration.answers(Classifier.load(model_path).predict_all(to_input(mnist.x_test)))
    accuracy = float(answers.right(mnist.y_test).mean())
    print(
        f"MNIST test accuracy: {accuracy:.4%} on {len(mnist.y_test)} images ({model_path.name}); "
        f"{answers.refused.sum()} refused as not a digit"
    )
    print(format_confusion(confusion_matrix(mnist.y_test, answers.digits)))
    return {"accuracy": accuracy, "n": len(mnist.y_test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=model_card.TFLITE_PATH, help="a .tflite file")
    args = parser.parse_args()
    print(json.dumps(evaluate(args.model)))


if __name__ == "__main__":
    main()
