"""The gated retrain: splitting by drawer, refusing bad input, a small real fine-tune with its refitted calibration,
a failing gate and its sentences, the floor, and a chain of three retrains."""

import io
import json
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from model.runtime import card as model_card
from model.runtime.calibration import Calibration, expected_calibration_error
from model.runtime.labelled import LabelledSet
from model.runtime.litert import Classifier, to_input
from model.runtime.versions import ModelFiles, ModelVersions, VersionError
from model.training import retrain
from model.training.honesty import ECE_GOAL
from model.training.synthetic import NOT_A_DIGIT
from tests.support.labelled import drawn_attempts, generated_attempts, store_attempts, write_attempts
from tests.support.server_process import ROOT
from tests.support.waiting import wait_until


def tiny_set(per_digit: int, drawers: int) -> LabelledSet:
    count = 10 * per_digit
    rows = [
        (np.zeros((28, 28), np.uint8), i % 10, i % 10, "v1", "", f"d{i % drawers}", float(i), str(i))
        for i in range(count)
    ]
    return LabelledSet.from_rows(rows)


def test_the_holdout_is_a_fifth_and_no_drawer_is_on_both_sides():
    data = tiny_set(per_digit=20, drawers=10)
    held, how = retrain.split_by_drawer(data, seed=1)
    assert held.sum() == 40
    assert not set(data.drawers[held]) & set(data.drawers[~held])
    assert how.startswith("by drawer")
    again, _ = retrain.split_by_drawer(data, seed=1)
    np.testing.assert_array_equal(held, again)


def test_with_few_drawers_single_attempts_are_held_out_and_it_says_so():
    held, how = retrain.split_by_drawer(tiny_set(per_digit=10, drawers=2), seed=1)
    assert held.sum() == 20
    assert how.startswith("by attempt (only 2 drawer(s)")


def test_the_attempts_are_learned_and_the_replayed_images_are_marked_to_keep_their_answers():
    attempts = tiny_set(per_digit=2, drawers=2)  # 20 blank attempts
    mnist_train = (np.full((50, 28, 28), 1, np.uint8), np.arange(50) % 10)
    non_digits = np.full((7, 28, 28), 2, np.uint8)
    settings = replace(retrain.FAST, mnist_per_epoch=40, attempt_share=1.0)
    images, targets = retrain.mixed_training_set(mnist_train, attempts, settings, non_digits)
    repeats = retrain.attempt_repeats(len(attempts), 40, 1.0)
    learned = targets[:, 1] == 0
    assert learned.sum() == repeats * len(attempts) == 40
    np.testing.assert_array_equal(images[learned], np.concatenate([attempts.inputs] * repeats))
    np.testing.assert_array_equal(targets[learned, 0], np.concatenate([attempts.labels] * repeats))
    assert (images[~learned] > 0).all(), "MNIST and the non-digits are the replayed rows"
    assert (targets[-7:] == [NOT_A_DIGIT, 1]).all()


def test_the_loss_learns_an_attempts_label_and_holds_a_replayed_image_to_the_current_answer():
    from keras import ops

    candidate = np.array([[0.7, 0.2, 0.1]] * 3, np.float32)
    current = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]], np.float32)
    # Replayed and agreeing; an attempt; replayed and disagreeing. As fit hands them to a loss: float32.
    targets = np.array([[0, 1], [0, 0], [0, 1]], np.float32)
    outputs = ops.convert_to_tensor(np.concatenate([candidate, current], axis=1))
    values = ops.convert_to_numpy(retrain.keep_answers_loss(5.0)(ops.convert_to_tensor(targets), outputs))
    label_loss = -np.log(0.7)
    drift = np.sum(current[2] * np.log(current[2] / candidate[2]))
    np.testing.assert_allclose(values, [label_loss, label_loss, label_loss + 5 * drift], rtol=1e-5)


def test_while_fine_tuning_the_current_model_answers_as_served_and_only_the_candidate_learns():
    import keras

    def network() -> keras.Model:
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.5)])

    both = retrain.beside_current(network(), network())
    images = np.ones((2, 28, 28, 1), np.float32)
    answers = keras.ops.convert_to_numpy(both(images, training=True))
    assert (answers[:, : 28 * 28] != 1).any(), "the candidate trains with its dropout"
    assert (answers[:, 28 * 28 :] == 1).all(), "the current model answers without dropout"

    def dense() -> keras.Model:
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])

    candidate, current = dense(), dense()
    trained = retrain.beside_current(candidate, current).trainable_weights
    assert {id(weight) for weight in trained} == {id(weight) for weight in candidate.trainable_weights}
    assert len(trained) == 2, "the candidate's kernel and bias learn; nothing of the current model does"


@pytest.mark.parametrize(
    ("candidate", "baseline", "shipped", "reasons"),
    [
        (retrain.Scores(0.9965, 0.90), retrain.Scores(0.9964, 0.80), 0.0, []),
        (retrain.Scores(0.9955, 0.80), retrain.Scores(0.9964, 0.80), 0.0, []),
        (retrain.Scores(0.9949, 0.90), retrain.Scores(0.9950, 0.80), 0.0, ["below 99.5%"]),
        (retrain.Scores(0.9952, 0.90), retrain.Scores(0.9964, 0.80), 0.0, ["fell 0.12 points"]),
        (retrain.Scores(0.9964, 0.79), retrain.Scores(0.9964, 0.80), 0.0, []),
        (retrain.Scores(0.9964, 0.78), retrain.Scores(0.9964, 0.80), 0.0, ["held-out accuracy 78.00%"]),
        (retrain.Scores(0.9964, 0.80, 0.88), retrain.Scores(0.9964, 0.80, 0.91), 0.88, []),
        (retrain.Scores(0.9964, 0.80, 0.85), retrain.Scores(0.9964, 0.80, 0.91), 0.85, ["refuses 85.0% of non-digits"]),
        (retrain.Scores(0.9964, 0.80, 0.93), retrain.Scores(0.9964, 0.80, 0.94), 0.94, []),
        (retrain.Scores(0.9964, 0.80, 0.92), retrain.Scores(0.9964, 0.80, 0.94), 0.94, ["the shipped model 94.0%"]),
    ],
)
def test_the_gate(candidate, baseline, shipped, reasons):
    """With 100 held-out attempts, one drawing is a point: 79 % against 80 % is chance, 78 % is refused."""
    failures = retrain.gate(candidate, baseline, shipped, held_out_attempts=100)
    assert len(failures) == len(reasons)
    for failure, reason in zip(failures, reasons, strict=True):
        assert reason in failure.reason()


def test_the_floor_refuses_a_candidate_below_the_shipped_model_even_within_the_current_ones_limit():
    """A chain: the current model already refuses 2 points fewer than the shipped one; a candidate 2 more points
    down is within 3 points of the current model, and still refused, by the floor alone."""
    shipped = 0.94
    current = retrain.Scores(0.9962, 0.90, 0.92)
    candidate = retrain.Scores(0.9962, 0.95, 0.90)
    assert candidate.non_digits >= current.non_digits - retrain.MAX_REFUSAL_DROP, "within the relative limit"
    [failure] = retrain.gate(candidate, current, shipped, held_out_attempts=100)
    assert failure.code == "refusal_floor"
    assert failure.record() == pytest.approx(
        {
            "code": "refusal_floor",
            "before": 0.94,
            "after": 0.90,
            "allowed": 0.93,
            "drop": 0.04,
            "limit": 0.01,
            "decimals": 1,
        }
    )
    at_the_floor = retrain.Scores(0.9962, 0.95, 0.93)
    assert retrain.gate(at_the_floor, current, shipped, 100) == [], "at the floor itself: accepted"


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (
            retrain.Failure("mnist_drop", 0.9962, 0.9948, 0.9952, decimals=2),
            ["MNIST", "99.62%", "99.48%", "0.14 points", "0.10 points", "label more drawings of every digit"],
        ),
        (
            retrain.Failure("mnist_minimum", 0.9962, 0.9948, 0.995, decimals=2),
            ["MNIST", "99.62%", "99.48%", "0.14 points", "at least 99.50%", "label more drawings"],
        ),
        (
            retrain.Failure("holdout", 0.90, 0.85, 0.89),
            [
                "your class's drawings",
                "90.0%",
                "85.0%",
                "5.0 points",
                "one drawing fewer",
                "at least 89.0%",
                "label more drawings",
                "other pupils' drawings",
            ],
        ),
        (
            retrain.Failure("refusal_drop", 0.94, 0.905, 0.91),
            ["“not a digit”", "94.0%", "90.5%", "3.5 points", "3.0 points", "other pupils' drawings"],
        ),
        (
            retrain.Failure("refusal_floor", 0.94, 0.92, 0.93),
            ["“not a digit”", "came with the app", "94.0%", "92.0%", "2.0 points", "below 93.0%", "built-in model"],
        ),
    ],
)
def test_each_gate_failure_has_a_teachers_sentence_naming_the_number_and_what_to_do(failure, words):
    sentence = failure.sentence()
    for word in words:
        assert word in sentence, (word, sentence)
    assert "{" not in sentence, "every placeholder filled"


def test_every_gate_check_is_worded_in_the_catalogues_and_no_other():
    english = retrain.english_catalogue()
    worded = {key.removeprefix("gate.why.") for key in english if key.startswith("gate.why.")}
    assert worded == set(retrain.REASONS)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    code = retrain.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (LabelledSet.empty(), "There are no labelled attempts"),
        (tiny_set(per_digit=1, drawers=10), "Too few labelled attempts for digit(s) 0, 1, 2"),
    ],
)
def test_bad_data_is_refused_and_nothing_is_written(tmp_path, capsys, data, message):
    data.save(tmp_path / "labels.npz")
    code, out, err = run_main(capsys, "--data", str(tmp_path / "labels.npz"), "--models-dir", str(tmp_path / "m"))
    assert code == retrain.EXIT_CANNOT
    assert message in err
    assert json.loads(out.strip().splitlines()[-1])["accepted"] is False
    assert not [p for p in (tmp_path / "m").iterdir() if p.is_dir()], "no candidate"
    status = json.loads((tmp_path / "m" / "retrain.json").read_text())
    assert status["state"] == "failed"
    assert message in status["error"]


def test_a_retrain_while_another_runs_is_refused(tmp_path, capsys):
    tiny_set(per_digit=5, drawers=10).save(tmp_path / "labels.npz")
    versions = ModelVersions(tmp_path / "m")
    with versions.retrain_lock():
        code, _, err = run_main(capsys, "--data", str(tmp_path / "labels.npz"), "--models-dir", str(tmp_path / "m"))
    assert code == retrain.EXIT_CANNOT
    assert "already running" in err


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory):
    return write_attempts(tmp_path_factory.mktemp("labelled") / "labels.npz", 300)


def test_a_small_retrain_writes_a_candidate_and_a_gate_table(tmp_path, labelled_file):
    models = tmp_path / "models"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "model.training.retrain",
            "--data",
            str(labelled_file),
            "--models-dir",
            str(models),
            "--fast",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    verdict = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == (0 if verdict["accepted"] else retrain.EXIT_REJECTED), result.stderr
    assert set(verdict) >= {"version", "accepted", "mnist_accuracy", "holdout_accuracy", "baseline_holdout_accuracy"}
    assert "MNIST test (10,000)" in result.stdout
    assert "held-out attempts (60)" in result.stdout
    assert "gate: " in result.stdout
    assert "fine-tuning" in result.stderr, "a progress bar"
    card = json.loads((models / verdict["version"] / "digits.json").read_text())
    assert card["test_accuracy"] == verdict["mnist_accuracy"]
    assert card["holdout_accuracy"] == verdict["holdout_accuracy"]
    assert card["labelled_data"]["attempts"] == 300
    assert card["labelled_data"]["per_digit"] == [30] * 10
    assert card["labelled_data"]["sha256"] == LabelledSet.load(labelled_file).checksum()
    assert card["gate"]["accepted"] == verdict["accepted"]
    parent = Calibration.from_card(model_card.read_card())
    refitted = card["calibration"]
    assert refitted["parent"] == parent.record()
    assert refitted["temperature"] != parent.temperature, "refitted, not carried over"
    assert refitted["not_a_digit_threshold"] != parent.not_a_digit_threshold
    assert verdict["calibration"] == {key: refitted[key] for key in ("temperature", "not_a_digit_threshold")}
    assert refitted["fitted_on"]["mnist"] == 5000, "every held-out MNIST digit"
    assert refitted["fitted_on"]["font"] == retrain.FAST.calibration_counts.font_digits
    assert {"letter", "scribble", "shape"} <= set(refitted["fitted_on"]), "held-out generated non-digits"
    assert "calibration refitted: temperature" in result.stdout
    assert card["gate"]["shipped"]["non_digits_refused"] == verdict["shipped_non_digits_refused"]
    assert card["fine_tuning"]["non_digits_per_epoch"] == retrain.FAST.non_digits_per_epoch
    assert card["fine_tuning"]["keep_answers"] == retrain.FAST.keep_answers > 0
    assert card["non_digits_refused"] == verdict["non_digits_refused"] > 0.8
    assert verdict["non_digits_refused"] >= verdict["baseline_non_digits_refused"] - 0.01, "the refit keeps refusing"
    assert "non-digits refused" in result.stdout
    assert (models / verdict["version"] / "digits.tflite").stat().st_size > 100_000
    assert not (models / "active").exists(), "a retrain never promotes"


def test_a_failing_gate_changes_nothing(tmp_path, labelled_file, capsys, monkeypatch):
    import keras

    monkeypatch.setattr(retrain, "MIN_MNIST_ACCURACY", 0.9999)  # the model scores 99.62 %
    monkeypatch.setattr(retrain, "fine_tune", lambda keras_path, *args: keras.models.load_model(keras_path))
    models = tmp_path / "models"
    code, out, _ = run_main(capsys, "--data", str(labelled_file), "--models-dir", str(models), "--fast")
    lines = out.strip().splitlines()
    verdict = json.loads(lines[-1])
    assert code == retrain.EXIT_REJECTED
    assert verdict["accepted"] is False
    assert re.search(r"gate: REJECTED: MNIST accuracy 99\.\d\d% is below 100\.0%", out)
    [reason], [failure], [sentence] = verdict["reasons"], verdict["failures"], verdict["sentences"]
    assert reason.startswith("MNIST accuracy"), "the machine reason stays"
    assert failure["code"] == "mnist_minimum"
    assert failure["allowed"] == 0.9999
    assert "ordinary handwritten digits (the MNIST test)" in sentence
    assert "What to do: label more drawings" in sentence
    assert f"- {sentence}" in lines[:-1], "printed before the JSON line"
    status = json.loads((models / "retrain.json").read_text())
    assert status["result"]["sentences"] == [sentence]
    assert status["result"]["failures"] == [failure]
    versions = ModelVersions(models)
    with pytest.raises(VersionError, match="did not pass its gate"):
        versions.activate(verdict["version"])
    assert versions.active().builtin
    assert not (models / "active").exists()


def test_a_retrain_started_from_the_dashboard_api(make_app, teacher_client):
    app = make_app(INFERENCE_PROCESSES=False)
    client = teacher_client(app)
    versions = app.extensions["service"].models.versions
    with versions.retrain_lock():
        response = client.post("/api/retrain")
        assert (response.status_code, response.json["error"]["code"]) == (409, "retrain_running")
    assert client.get("/api/retrain").json == {"state": "idle"}


@pytest.mark.slow
def test_a_background_retrain_reports_progress_and_its_candidate_can_be_promoted(make_app, teacher_client):
    app = make_app(INFERENCE_PROCESSES=False, RETRAIN_FAST=True)
    store_attempts(app.extensions["service"].store, generated_attempts(200))
    client = teacher_client(app)
    assert client.post("/api/retrain").status_code == 202
    assert client.post("/api/retrain").status_code == 409, "one at a time"
    wait_until(lambda: client.get("/api/retrain").json["state"] != "running", timeout=240, what="the retrain")
    status = client.get("/api/retrain").json
    assert status["state"] == "done", status
    version = status["result"]["version"]
    listing = client.get("/api/models").json
    assert version in [v["version"] for v in listing["versions"]]
    assert listing["retrain"]["result"]["version"] == version
    if status["result"]["accepted"]:
        assert client.post(f"/api/models/{version}/activate").json["active"] == version
        wait_until(lambda: client.get("/healthz").json["model"]["version"] == version, what="the promoted model")
    else:
        assert client.post(f"/api/models/{version}/activate").status_code == 409
        assert client.delete(f"/api/models/{version}").status_code == 200


@pytest.mark.slow
def test_three_retrains_in_a_row_stay_accepted_within_the_floor_and_calibrated(tmp_path, mnist):
    """A class retrains on 500 labelled drawings of the style issue 24 found hard (thick, blurred), promotes the
    candidate and retrains on top of it, three times: each candidate passes the gate, refuses the gate's
    non-digits within a point of the current model and never below the shipped model's floor, and its refitted
    confidence stays honest. (500, as the issue's class: with 60 held out, one drawing is 1.7 points of the
    held-out check, and a tie lost by one drawing says nothing about the refit.)

    Honest means the issue's goal, an ECE of at most 2 % (ECE_GOAL), measured on the MNIST test set (held out from
    the fine-tuning and the refit); the shipped model's is 0.36 %. A refit fits one number, the temperature, on all
    5,000 held-out MNIST digits and the generated drawings, so its own error is small: the bound is there for a
    chain that would let the calibration drift (a parent's temperature on a model fine-tuned three times)."""
    versions = ModelVersions(tmp_path / "models")
    data = drawn_attempts(mnist, 500, "thick_blurred")
    shipped = None
    for _ in range(3):
        parent = versions.active()
        out = io.StringIO()
        result = retrain.retrain(data, versions, retrain.FAST, retrain.Status(None), out=out)
        assert result["accepted"], out.getvalue()
        assert result["baseline_version"] == parent.version
        shipped = shipped if shipped is not None else result["shipped_non_digits_refused"]
        assert result["shipped_non_digits_refused"] == shipped, "the floor's base is the shipped model every time"
        assert result["non_digits_refused"] >= result["baseline_non_digits_refused"] - 0.01, out.getvalue()
        assert result["non_digits_refused"] >= shipped - retrain.MAX_REFUSAL_DROP_FROM_SHIPPED
        versions.activate(result["version"])
        candidate = versions.active()
        assert candidate.card()["parent_version"] == parent.version
        assert candidate.card()["calibration"]["parent"] == Calibration.from_card(parent.card()).record()
        answers = Calibration.from_card(candidate.card()).answers(
            Classifier.load(candidate.tflite).predict_all(to_input(mnist.x_test))
        )
        ece = expected_calibration_error(answers.confidence, answers.digits == mnist.y_test)
        assert ece <= ECE_GOAL, (candidate.version, ece)
    assert len(versions.pointer()["previous"]) == 3, "three promoted retrains on top of the shipped model"


def served_accuracy(model: ModelFiles, attempts: LabelledSet) -> float:
    """How a model version reads drawings as the server answers them (its own calibration; a refusal is wrong)."""
    return Classifier.load(model.tflite).accuracy(
        to_input(attempts.inputs), attempts.labels, Calibration.from_card(model.card())
    )


@pytest.mark.slow
def test_a_retrain_on_the_style_the_model_reads_worst_is_accepted_and_halves_its_error(tmp_path):
    """Issue 24's class: 500 labelled hollow "bubble" digits (held-out fonts; the shipped model reads them worst of
    every style, about 77 %) from 30 drawers, retrained with the settings ``make retrain`` uses. The gate accepts,
    MNIST stays at 99.5 % or more, and on 300 other drawings of the style, never labelled, the error falls by at
    least half. Without holding the replayed images to the current answers the same retrain was refused: MNIST
    -0.11 points and non-digits refused -3.1 points (docs/model.md)."""
    versions = ModelVersions(tmp_path / "models")
    out = io.StringIO()
    result = retrain.retrain(
        generated_attempts(500, drawers=30, seed=7), versions, retrain.Settings(), retrain.Status(None), out=out
    )
    assert result["accepted"], out.getvalue()  # MNIST >= 99.5 %, non-digits within the floor: the gate's checks
    assert result["holdout_accuracy"] > result["baseline_holdout_accuracy"], "its own held-out drawers, read better"
    scored = generated_attempts(300, drawers=30, seed=8)
    before, after = served_accuracy(versions.builtin, scored), served_accuracy(versions.get(result["version"]), scored)
    assert 1 - after <= (1 - before) / 2, (before, after)
