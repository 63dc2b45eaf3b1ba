"""A live model swap: promote and rollback switch running servers, and no frame in flight fails."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.support.images import big_digit, data_url, on_canvas, transparent_png
from tests.support.server_process import ROOT, TEACHER_HEADERS, running_server
from tests.support.versions import make_version
from tests.support.waiting import PredictLoad, wait_until

NEXT = "20990101-000000-next"


@pytest.fixture(scope="module")
def seven(mnist) -> str:
    return data_url(transparent_png(on_canvas(big_digit(mnist.x_test[0], 200))))


def answered_by(client, seven: str) -> str:
    """The model version stored with a fresh prediction (an answer means its attempt is stored)."""
    response = client.post("/api/predict", json={"image": seven})
    assert response.status_code == 200
    return client.get(f"/api/attempts/{response.json['attempt_id']}").json["model_version"]


@pytest.mark.parametrize("processes", [True, False], ids=["recognizer-processes", "in-thread"])
def test_promote_and_rollback_switch_the_app_under_load(make_app, app_config, teacher_client, seven, processes):
    make_version(Path(app_config["MODELS_DIR"]), NEXT)
    app = make_app(INFERENCE_PROCESSES=processes)
    client = teacher_client(app)
    builtin = client.get("/healthz").json["model"]["version"]
    assert answered_by(client, seven) == builtin
    with PredictLoad(app, seven, drawers=2) as load:
        load.wait_for_answers(5)  # drawing is under way on the built-in model
        response = client.post(f"/api/models/{NEXT}/activate")
        assert response.status_code == 200
        assert response.json["active"] == NEXT
        assert client.get("/healthz").json["model"]["version"] == NEXT
        assert answered_by(client, seven) == NEXT
        load.wait_for_answers(5)  # the drawers are answered by the new model too
        assert client.post("/api/models/rollback").json["active"] == builtin
        assert answered_by(client, seven) == builtin
        load.wait_for_answers(5)
    assert load.failures == [], "no frame failed during the swaps"
    store = app.extensions["service"].store
    answered = {store.get(attempt_id).model_version for attempt_id in load.acknowledged}
    assert answered == {builtin, NEXT}


def test_the_models_route_lists_versions_and_refusals_change_nothing(make_app, app_config, teacher_client, seven):
    models = Path(app_config["MODELS_DIR"])
    make_version(models, NEXT)
    make_version(models, "20990102-000000-rejected", gate={"accepted": False, "reasons": ["worse on held-out"]})
    (make_version(models, "20990103-000000-corrupt") / "digits.tflite").write_bytes(b"garbage")
    client = teacher_client(make_app(INFERENCE_PROCESSES=False))
    listing = client.get("/api/models").json
    builtin = listing["active"]
    listed = [v["version"] for v in listing["versions"]]
    assert listed[1:] == [NEXT, "20990102-000000-rejected", "20990103-000000-corrupt"]
    assert listing["versions"][0]["builtin"]
    assert listing["versions"][0]["active"]
    assert "not a usable model" in listing["versions"][3]["error"]
    assert listing["retrain"] == {"state": "idle"}
    for version, status, code in [
        ("no-such-version", 404, "not_found"),
        ("20990102-000000-rejected", 409, "model_refused"),
        ("20990103-000000-corrupt", 409, "model_refused"),
    ]:
        response = client.post(f"/api/models/{version}/activate")
        assert (response.status_code, response.json["error"]["code"]) == (status, code)
        assert client.get("/api/models").json["active"] == builtin
        assert answered_by(client, seven) == builtin
    assert client.post("/api/models/rollback").status_code == 409
    assert client.delete(f"/api/models/{builtin}").status_code == 409
    assert client.delete("/api/models/20990102-000000-rejected").json == {"discarded": "20990102-000000-rejected"}


def keep_predicting(base: str, seven: str, stop: threading.Event, failures: list) -> None:
    session = requests.Session()
    while not stop.is_set():
        response = session.post(f"{base}/api/predict", json={"image": seven}, timeout=30)
        if response.status_code != 200:
            failures.append(response.status_code)


def flask_command(data: Path, *args: str) -> str:
    """Run ``flask --app server ...`` the way an operator would, against a running server's data folder."""
    environment = {
        **os.environ,
        "STORE_URL": f"sqlite:///{data / 'attempts.db'}",
        "SPOOL_PATH": str(data / "cli-spool.db"),
        "MODELS_DIR": str(data / "models"),
        "DATA_DIR": str(data),  # its teacher key, not the repository's
        "INFERENCE_WORKERS": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def version_of(base: str) -> str:
    return requests.get(f"{base}/healthz", timeout=5).json()["model"]["version"]


@pytest.mark.slow
def test_a_running_server_follows_promote_and_rollback_through_the_data_folder(tmp_path, seven):
    make_version(tmp_path / "models", NEXT)
    with running_server(tmp_path, MODEL_POLL_SECONDS="0.2") as base:
        builtin = version_of(base)
        stop, failures = threading.Event(), []
        drawer = threading.Thread(target=keep_predicting, args=(base, seven, stop, failures))
        drawer.start()
        try:
            assert f"* {builtin}" in flask_command(tmp_path, "models")
            assert NEXT in flask_command(tmp_path, "promote", NEXT)
            wait_until(lambda: version_of(base) == NEXT, timeout=10, what="the server to follow the promotion")
            assert answered_by_server(base, seven) == NEXT
            assert builtin in flask_command(tmp_path, "rollback")
            wait_until(lambda: version_of(base) == builtin, timeout=10, what="the server to follow the rollback")
            assert answered_by_server(base, seven) == builtin
        finally:
            stop.set()
            drawer.join(timeout=30)
    assert failures == []


def answered_by_server(base: str, seven: str) -> str:
    attempt_id = requests.post(f"{base}/api/predict", json={"image": seven}, timeout=30).json()["attempt_id"]
    return requests.get(f"{base}/api/attempts/{attempt_id}", headers=TEACHER_HEADERS, timeout=5).json()["model_version"]


@pytest.mark.slow
def test_a_second_web_process_follows_through_redis(tmp_path, redis_url, seven):
    shared = tmp_path / "models"
    make_version(shared, NEXT)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    # A long poll period: only the message queue can make the second process follow within the wait.
    settings = {"MESSAGE_QUEUE_URL": redis_url, "MODELS_DIR": str(shared), "MODEL_POLL_SECONDS": "3600"}
    with running_server(tmp_path / "a", **settings) as first, running_server(tmp_path / "b", **settings) as second:
        builtin = version_of(second)
        assert (
            requests.post(f"{first}/api/models/{NEXT}/activate", headers=TEACHER_HEADERS, timeout=30).status_code == 200
        )
        wait_until(lambda: version_of(second) == NEXT, timeout=5, what="the second process to follow")
        assert answered_by_server(second, seven) == NEXT
        assert requests.post(f"{first}/api/models/rollback", headers=TEACHER_HEADERS, timeout=30).status_code == 200
        wait_until(lambda: version_of(second) == builtin, timeout=5, what="the second process to roll back")
        assert answered_by_server(second, seven) == builtin


def test_a_broken_pointer_keeps_the_model_and_is_not_retried_every_poll(app_config, monkeypatch):
    from server.config import load_config
    from server.versions import switch as switch_module
    from server.versions.switch import ModelSwitch

    logged = []
    monkeypatch.setattr(switch_module.log, "error", lambda message, *args: logged.append(message % args))

    models = Path(app_config["MODELS_DIR"])
    broken = make_version(models, "20990104-000000-broken")
    applied = []
    switch = ModelSwitch(load_config(app_config), applied.append)
    (models / "active").write_text('{"version": "20990104-000000-broken", "previous": []}')
    (broken / "digits.tflite").write_bytes(b"broken")
    assert not switch.follow()
    assert not switch.follow()
    assert applied == []
    assert switch.current.builtin
    assert len([line for line in logged if "cannot switch" in line]) == 1, "logged once, not every poll"
    make_version(models, NEXT)
    assert switch.follow(NEXT)
    assert [files.version for files in applied] == [NEXT]
