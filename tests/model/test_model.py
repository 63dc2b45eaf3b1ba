"""The committed model: it loads, it matches its card, it reaches the target, its card holds `make train`'s recipe."""

import json
import subprocess
import sys

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from model.runtime import card as model_card
from model.runtime.calibration import Calibration
from model.runtime.litert import to_input
from model.runtime.metrics import confusion_matrix
from model.training.network import INPUT_SHAPE
from model.training.train import parent_of, parse_arguments, parse_recipe, trained_elsewhere

TARGET_ACCURACY = 0.996


def last_digit(value: float) -> float:
    """One unit in the last decimal place the card wrote ``value`` with: the rounding it allows."""
    return 10.0 ** -len(repr(value).partition(".")[2])


def test_card_describes_the_shipped_model():
    card = model_card.read_card()
    for key in ("test_accuracy", "parameters", "training_seconds", "epochs_run", "data_sha256", "code_version"):
        assert key in card
    assert card["preprocessing"] == model_card.PREPROCESSING_CONTRACT
    assert card["test_accuracy"] >= TARGET_ACCURACY


def test_card_names_the_committed_files_by_sha256():
    assert model_card.read_card()["files_sha256"] == model_card.files_sha256()


def test_make_train_defaults_are_the_recipe_on_the_card():
    """`make train` runs `python -m model.training.train` with no flags: its defaults are the shipped model's recipe
    (the shipped members were trained by it on an accelerator, one seed each, and assembled: ``--assemble``)."""
    card = model_card.read_card()
    assert card["recipe"] == parse_recipe([]).record()
    assert card["epochs_run"] <= card["recipe"]["epochs"] + card["recipe"]["polish_epochs"]


def test_a_polish_names_the_model_it_started_from(tmp_path):
    """``--start-from`` runs only the polishing cycle; the card names the parent by version and SHA-256."""
    arguments = ["--start-from", str(tmp_path / "digits.keras"), "--polish-epochs", "2"]
    recipe, start_from, assembled = parse_arguments(arguments)
    assert (start_from, recipe.polish_epochs, assembled) == (tmp_path / "digits.keras", 2, [])
    assert parse_arguments([])[1:] == (None, []), "no flag: trained from scratch"
    (tmp_path / "digits.keras").write_bytes(b"weights")
    assert parent_of(tmp_path / "digits.keras") == {
        "version": None,
        "keras_sha256": "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c",
    }
    (tmp_path / "digits.json").write_text('{"version": "20261130-ab29a02"}')
    assert parent_of(tmp_path / "digits.keras")["version"] == "20261130-ab29a02"
    shipped = model_card.read_card()["started_from"]
    assert shipped is None or set(shipped) == {"version", "keras_sha256"}


def test_the_card_names_each_member_of_the_ensemble():
    """Every member is on the card with its seed (the recipe's seed, then the next ones) and how it trained."""
    card = model_card.read_card()
    members = card["members"]
    assert len(members) == card["recipe"]["members"]
    assert [member["seed"] for member in members] == [card["recipe"]["seed"] + index for index in range(len(members))]
    for member in members:
        assert member["epochs_run"] <= card["recipe"]["epochs"] + card["recipe"]["polish_epochs"]


def test_members_trained_elsewhere_are_assembled_with_their_records(tmp_path):
    """``--assemble`` takes what scripts/accelerated_training.py writes: model-SEED.keras and its record."""
    _, _, assembled = parse_arguments(["--assemble", str(tmp_path / "model-2027.keras"), str(tmp_path / "other.keras")])
    assert assembled == [tmp_path / "model-2027.keras", tmp_path / "other.keras"]
    (tmp_path / "model-2027.keras").write_bytes(b"weights")
    (tmp_path / "model-2027.json").write_text('{"seed": 2027, "epochs_run": 30, "training_seconds": 178.0}')
    assert trained_elsewhere(tmp_path / "model-2027.keras") == {
        "file": "model-2027.keras",
        "keras_sha256": "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c",
        "seed": 2027,
        "epochs_run": 30,
        "training_seconds": 178.0,
    }
    (tmp_path / "other.keras").write_bytes(b"weights")
    assert set(trained_elsewhere(tmp_path / "other.keras")) == {"file", "keras_sha256"}, "no seed in its name"


def test_assembling_keeps_the_data_the_members_learned_from(tmp_path):
    """Members trained elsewhere learned from the committed recipe's data; the validation set they are calibrated
    and chosen on must be drawn the same way, so the flags that change it are refused."""
    for flag in (["--seed", "7"], ["--validation-size", "100"]):
        with pytest.raises(SystemExit):
            parse_arguments(["--assemble", str(tmp_path / "model-1.keras"), *flag])
    assert parse_arguments(["--seed", "7"])[0].seed == 7, "training from scratch may use another seed"
    with pytest.raises(SystemExit):  # the card and the selection's record name each member by its file
        parse_arguments(["--assemble", str(tmp_path / "a" / "model-1.keras"), str(tmp_path / "b" / "model-1.keras")])


def test_card_was_trained_on_this_data(mnist):
    assert model_card.read_card()["data_sha256"] == mnist.checksum()


def test_committed_model_reaches_the_accuracy_on_its_card(mnist, classifier):
    card = model_card.read_card()
    accuracy = classifier.accuracy(to_input(mnist.x_test), mnist.y_test, Calibration.from_card(card))
    assert accuracy == pytest.approx(card["test_accuracy"], abs=last_digit(card["test_accuracy"]))
    assert accuracy >= TARGET_ACCURACY


def test_input_contract_on_the_card_is_the_models():
    contract = model_card.read_card()["preprocessing"]
    served = Interpreter(model_path=str(model_card.TFLITE_PATH)).get_input_details()[0]
    assert [int(size) for size in served["shape"][1:]] == contract["input_shape"] == list(INPUT_SHAPE)
    assert np.dtype(served["dtype"]).name == contract["dtype"]
    assert to_input(np.zeros((1, 28, 28), np.uint8)).shape[1:] == INPUT_SHAPE
    assert to_input(np.zeros((1, 28, 28), np.uint8)).dtype.name == contract["dtype"]


def test_keras_and_litert_models_agree(mnist, classifier):
    import keras  # slow to import: only this test needs it

    model = keras.models.load_model(model_card.KERAS_PATH)
    assert model.input_shape == (None, *INPUT_SHAPE)
    images = to_input(mnist.x_test[:200])
    keras_probabilities, served = model.predict(images, verbose=0), classifier.predict(images)
    # The served weights are 8-bit (model/training/export.py): round-off, never another answer here.
    np.testing.assert_array_equal(keras_probabilities.argmax(axis=1), served.argmax(axis=1))
    np.testing.assert_allclose(keras_probabilities, served, atol=0.05)


def test_batched_and_single_calls_agree(mnist, classifier):
    images = to_input(mnist.x_test[:5])
    batched = classifier.predict(images)
    singles = np.concatenate([classifier.predict(image[None]) for image in images])
    np.testing.assert_allclose(batched, singles, atol=1e-6)


def test_errors_are_spread_not_one_broken_digit(mnist, classifier):
    predictions = classifier.predict_all(to_input(mnist.x_test))[:, :10].argmax(axis=1)
    matrix = confusion_matrix(mnist.y_test, predictions)
    per_digit = matrix.diagonal() / matrix.sum(axis=1)
    assert per_digit.min() > 0.99


def test_evaluate_cli_prints_json_last():
    result = subprocess.run(
        [sys.executable, "-m", "model.training.evaluate"], capture_output=True, text=True, check=True, timeout=300
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["n"] == 10000
    recorded = model_card.read_card()["test_accuracy"]
    assert summary["accuracy"] == pytest.approx(recorded, abs=last_digit(recorded))
    assert "true\\pred" in result.stdout
