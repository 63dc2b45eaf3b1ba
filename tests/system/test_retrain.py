"""The gated retrain: splitting by drawer, refusing bad input, a small real fine-tune, a failing gate."""

import json
import subprocess
import sys

import numpy as np
import pytest

from model.runtime import card as model_card
from model.runtime.labelled import LabelledSet
from model.runtime.versions import ModelVersions, VersionError
from model.training import retrain
from tests.support.labelled import generated_attempts, store_attempts, write_attempts
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


@pytest.mark.parametrize(
    ("candidate", "baseline", "reasons"),
    [
        (retrain.Scores(0.9965, 0.90), retrain.Scores(0.9964, 0.80), []),
        (retrain.Scores(0.9955, 0.80), retrain.Scores(0.9964, 0.80), []),
        (retrain.Scores(0.9949, 0.90), retrain.Scores(0.9950, 0.80), ["below 99.5%"]),
        (retrain.Scores(0.9952, 0.90), retrain.Scores(0.9964, 0.80), ["fell 0.12 points"]),
        (retrain.Scores(0.9964, 0.79), retrain.Scores(0.9964, 0.80), ["held-out accuracy 79.00%"]),
        (retrain.Scores(0.9964, 0.80, 0.88), retrain.Scores(0.9964, 0.80, 0.91), []),
        (retrain.Scores(0.9964, 0.80, 0.85), retrain.Scores(0.9964, 0.80, 0.91), ["refuses 85.0% of non-digits"]),
    ],
)
def test_the_gate(candidate, baseline, reasons):
    failures = retrain.gate(candidate, baseline)
    assert len(failures) == len(reasons)
    for failure, reason in zip(failures, reasons, strict=True):
        assert reason in failure


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
    assert card["calibration"] == model_card.read_card()["calibration"], "the parent's calibration, carried over"
    assert card["fine_tuning"]["non_digits_per_epoch"] == retrain.FAST.non_digits_per_epoch
    assert card["non_digits_refused"] == verdict["non_digits_refused"] > 0.8
    assert "non-digits refused" in result.stdout
    assert (models / verdict["version"] / "digits.tflite").stat().st_size > 100_000
    assert not (models / "active").exists(), "a retrain never promotes"


def test_a_failing_gate_changes_nothing(tmp_path, labelled_file, capsys, monkeypatch):
    import keras

    monkeypatch.setattr(retrain, "MIN_MNIST_ACCURACY", 0.9999)  # the model scores 99.62 %
    monkeypatch.setattr(retrain, "fine_tune", lambda keras_path, *args: keras.models.load_model(keras_path))
    models = tmp_path / "models"
    code, out, _ = run_main(capsys, "--data", str(labelled_file), "--models-dir", str(models), "--fast")
    verdict = json.loads(out.strip().splitlines()[-1])
    assert code == retrain.EXIT_REJECTED
    assert verdict["accepted"] is False
    assert "gate: REJECTED: MNIST accuracy 99.62% is below 100.0%" in out
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
