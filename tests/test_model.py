"""The committed model: it loads, it matches its card, it reaches the target."""

import json
import subprocess
import sys

import numpy as np
import pytest

from model import card as model_card
from model.data import to_input
from model.metrics import confusion_matrix

TARGET_ACCURACY = 0.996


def test_card_describes_the_shipped_model():
    card = model_card.read_card()
    for key in ("test_accuracy", "parameters", "training_seconds", "epochs_run", "data_sha256", "code_version"):
        assert key in card
    assert card["preprocessing"] == model_card.PREPROCESSING_CONTRACT
    assert card["test_accuracy"] >= TARGET_ACCURACY


def test_card_was_trained_on_this_data(mnist):
    assert model_card.read_card()["data_sha256"] == mnist.checksum()


def test_committed_model_reaches_the_accuracy_on_its_card(mnist, classifier):
    card = model_card.read_card()
    accuracy = classifier.accuracy(to_input(mnist.x_test), mnist.y_test)
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)
    assert accuracy >= TARGET_ACCURACY


def test_keras_and_litert_models_agree(mnist, classifier):
    import keras  # slow to import: only this test needs it

    model = keras.models.load_model(model_card.KERAS_PATH)
    images = to_input(mnist.x_test[:200])
    np.testing.assert_allclose(model.predict(images, verbose=0), classifier.predict(images), atol=1e-4)


def test_batched_and_single_calls_agree(mnist, classifier):
    images = to_input(mnist.x_test[:5])
    batched = classifier.predict(images)
    singles = np.concatenate([classifier.predict(image[None]) for image in images])
    np.testing.assert_allclose(batched, singles, atol=1e-6)


def test_errors_are_spread_not_one_broken_digit(mnist, classifier):
    predictions = classifier.predict_all(to_input(mnist.x_test)).argmax(axis=1)
    matrix = confusion_matrix(mnist.y_test, predictions)
    per_digit = matrix.diagonal() / matrix.sum(axis=1)
    assert per_digit.min() > 0.99


def test_evaluate_cli_prints_json_last():
    result = subprocess.run(
        [sys.executable, "-m", "model.evaluate"], capture_output=True, text=True, check=True, timeout=300
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n"] == 10000
    assert summary["accuracy"] == pytest.approx(model_card.read_card()["test_accuracy"], abs=1e-4)
    assert "true\\pred" in result.stdout
