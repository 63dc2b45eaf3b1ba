"""The REST API through Flask's test client, on a real SQLite file."""

import io
import os
import signal

import numpy as np
import pytest
from PIL import Image

from model.runtime import card as model_card
from tests.support.images import big_digit, data_url, encode, on_canvas, row, transparent_png, white_png
from tests.support.waiting import wait_until


def wait_stored(client, attempt_id: str) -> dict:
    """The attempt once the store has it (not only the attempt log's memory)."""
    service = client.application.extensions["service"]
    wait_until(lambda: service.store.get(attempt_id) is not None, what=f"attempt {attempt_id} to be stored")
    return client.get(f"/api/attempts/{attempt_id}").json


def test_predict_with_a_multipart_upload(client, mnist):
    upload = white_png(on_canvas(big_digit(mnist.x_test[1], 220)))  # a 2
    response = client.post("/api/predict", data={"file": (io.BytesIO(upload), "two.png")})
    assert response.status_code == 200
    body = response.json
    assert body["digit"] == 2
    assert len(body["probabilities"]) == 10
    stored = wait_stored(client, body["attempt_id"])
    assert stored["source"] == "upload"
    assert stored["final"] is True


def test_predict_refuses_what_is_no_digit_with_the_same_fields(client, non_digit_png, recognizer):
    response = client.post("/api/predict", data={"file": (io.BytesIO(non_digit_png), "word.png")})
    assert response.status_code == 200
    body = response.json
    assert (body["digit"], body["reason"]) == (None, "not_a_digit")
    assert body["not_a_digit"] == body["confidence"] >= recognizer.calibration.not_a_digit_threshold
    assert wait_stored(client, body["attempt_id"])["digit"] is None


def test_predict_with_json_data_url(client, seven_png):
    response = client.post("/api/predict", json={"image": data_url(seven_png)})
    assert response.status_code == 200
    assert response.json["digit"] == 7
    assert wait_stored(client, response.json["attempt_id"])["source"] == "api"


def test_predict_with_bare_base64(client, seven_png):
    import base64

    response = client.post("/api/predict", json={"image": base64.b64encode(seven_png).decode()})
    assert response.json["digit"] == 7


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"explain": "true"}, "json": {"image": "SEVEN"}},
        {"json": {"image": "SEVEN", "explain": True}},
        {"data": {"file": "SEVEN", "explain": "true"}},
    ],
    ids=["query", "json", "form"],
)
def test_predict_explains_when_asked(client, seven_png, request_kwargs):
    kwargs = {key: dict(value) for key, value in request_kwargs.items()}
    for body in (kwargs.get("json"), kwargs.get("data")):
        for name in ("image", "file"):
            if body and body.get(name) == "SEVEN":
                body[name] = data_url(seven_png) if name == "image" else (io.BytesIO(seven_png), "seven.png")
    response = client.post("/api/predict", **kwargs)
    assert response.status_code == 200
    explanation = response.json["explanation"]
    assert explanation["target"] == 7
    assert explanation["heatmap"].startswith("data:image/png;base64,")
    assert len(explanation["layers"]) == 3


def test_predict_explains_only_when_asked(client, seven_png):
    for query in ({}, {"explain": "false"}):
        response = client.post("/api/predict", query_string=query, json={"image": data_url(seven_png)})
        assert response.status_code == 200
        assert "explanation" not in response.json


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"explain": "yes"}},
        {"json_explain": 1},
        {"json_explain": "true"},
        {"query_string": {"explain": ""}},
    ],
)
def test_predict_refuses_a_malformed_explain_flag(client, seven_png, request_kwargs):
    body = {"image": data_url(seven_png)}
    if "json_explain" in request_kwargs:
        body["explain"] = request_kwargs["json_explain"]
    response = client.post("/api/predict", query_string=request_kwargs.get("query_string"), json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_payload"
    assert client.post("/api/predict", json={"image": data_url(seven_png)}).status_code == 200, "still serving"


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"data": "plain text body", "content_type": "text/plain"}, 400, "bad_request"),
        ({"json": {"picture": "x"}}, 400, "bad_request"),
        ({"json": ["not", "an", "object"]}, 400, "bad_request"),
        ({"data": "{broken json", "content_type": "application/json"}, 400, "bad_request"),
        ({"json": {"image": "%%%"}}, 400, "bad_encoding"),
        ({"json": {"image": ""}}, 400, "empty_image"),
        ({"data": {"file": (io.BytesIO(b"%PDF-1.4"), "digit.png")}}, 415, "unsupported_format"),
        ({"data": {"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00"), "d.png")}}, 400, "corrupt_image"),
    ],
)
def test_predict_rejects_bad_input_with_json_errors(client, request_kwargs, status, code):
    response = client.post("/api/predict", **request_kwargs)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_predict_rejects_oversized_uploads(make_app):
    noise = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 100), np.uint8)))
    response = (
        make_app(MAX_UPLOAD_BYTES=2000).test_client().post("/api/predict", data={"file": (io.BytesIO(noise), "n.png")})
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] in {"too_large", "image_too_large"}


def test_pixel_bombs_are_413(client):
    bomb = encode(Image.new("L", (5000, 5000), 255))
    response = client.post("/api/predict", data={"file": (io.BytesIO(bomb), "bomb.png")})
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_many_pixels"


def test_attempts_are_paged_newest_first(client, seven_png):
    ids = [client.post("/api/predict", json={"image": data_url(seven_png)}).json["attempt_id"] for _ in range(5)]
    for attempt_id in ids:
        wait_stored(client, attempt_id)
    first = client.get("/api/attempts?limit=3").json
    assert [a["attempt_id"] for a in first["attempts"]] == ids[::-1][:3]
    second = client.get(f"/api/attempts?limit=3&before={first['next_before']}").json
    assert [a["attempt_id"] for a in second["attempts"]] == ids[::-1][3:]
    assert second["next_before"] is None


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=abc", "before=yesterday", "before=nan", "before=inf", "before=1e20"]
)
def test_bad_paging_queries_are_400(client, query):
    response = client.get(f"/api/attempts?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_query"


def test_attempt_image_returns_the_stored_drawing(client, seven_png):
    attempt_id = client.post("/api/predict", json={"image": data_url(seven_png)}).json["attempt_id"]
    wait_stored(client, attempt_id)
    response = client.get(f"/api/attempts/{attempt_id}/image")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    kept, sent = (np.asarray(Image.open(io.BytesIO(png))) for png in (response.data, seven_png))
    np.testing.assert_array_equal(kept, sent)  # the same pixels, re-encoded (tests/system/test_stored_drawing.py)


def test_unknown_and_malformed_attempt_ids(client):
    assert client.get("/api/attempts/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get("/api/attempts/00000000-0000-4000-8000-000000000000/image").status_code == 404
    response = client.get("/api/attempts/'; DROP TABLE attempts;--")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_attempt_id"


def test_label_round_trip_and_stats(client, seven_png):
    attempt_id = client.post("/api/predict", json={"image": data_url(seven_png)}).json["attempt_id"]
    wait_stored(client, attempt_id)
    assert client.put(f"/api/attempts/{attempt_id}/label", json={"label": 1}).json == {
        "attempt_id": attempt_id,
        "label": 1,
    }
    wait_until(lambda: wait_stored(client, attempt_id)["label"] == 1, what="the stored label")
    stats = client.get("/api/stats").json
    assert stats["counts"][7] >= 1
    assert stats["labelled"] == 1
    assert stats["accuracy"] == 0.0
    assert stats["confusion"][1][7] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"label": 11}, 400, "bad_label"), ({"label": "7"}, 400, "bad_label"), ({}, 400, "bad_request")],
)
def test_bad_labels_are_400(client, seven_png, body, status, code):
    attempt_id = client.post("/api/predict", json={"image": data_url(seven_png)}).json["attempt_id"]
    response = client.put(f"/api/attempts/{attempt_id}/label", json=body)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_label_for_unknown_attempt_is_404(client):
    response = client.put("/api/attempts/00000000-0000-4000-8000-000000000000/label", json={"label": 1})
    assert response.status_code == 404


def test_unknown_routes_and_methods_are_json(client):
    assert client.get("/api/nothing-here").json["error"]["code"] == "not_found"
    response = client.delete("/api/predict")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_health_reports_model_workers_and_store(client):
    health = client.get("/healthz").json
    assert health["status"] == "ok"
    assert health["model"] == {
        "loaded": True,
        "version": model_card.read_card()["version"],
        "workers": {"ready": 2, "total": 2},
    }
    assert health["store"] == {"store": "ok", "spool_depth": 0}


def test_health_is_degraded_while_no_worker_can_classify(make_app, seven_png):
    client = make_app(INFERENCE_WORKERS=1).test_client()
    assert client.get("/healthz").json["status"] == "ok"  # the first request starts the runtime
    [engine] = client.application.extensions["service"].queue.engines
    os.kill(engine.pid, signal.SIGKILL)  # the worker's recognizer process dies between frames
    wait_until(lambda: client.get("/healthz").json["status"] == "degraded", what="degraded health")
    assert client.get("/healthz").json["model"]["loaded"] is False
    assert client.get("/healthz").json["model"]["workers"] == {"ready": 0, "total": 1}
    assert client.get("/healthz").json["store"]["store"] == "ok", "the store is not what is wrong"
    # The next frame costs one batch and brings a new recognizer process: healthy again.
    assert client.post("/api/predict", json={"image": data_url(seven_png)}).status_code == 500
    assert client.get("/healthz").json["model"]["workers"] == {"ready": 1, "total": 1}
    assert client.get("/healthz").json["status"] == "ok"


def test_a_full_inference_queue_answers_503_busy(make_app, seven_png):
    response = make_app(MAX_PENDING=0).test_client().post("/api/predict", json={"image": data_url(seven_png)})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "busy"
    assert response.json["error"]["message"]


READS = ["/api/attempts", "/api/attempts/00000000-0000-4000-8000-000000000000", "/api/stats"]


@pytest.mark.parametrize("path", [*READS, "/api/attempts/00000000-0000-4000-8000-000000000000/image"])
def test_reads_while_the_store_is_down_answer_503_store_unavailable(store_down_app, teacher_headers, path):
    response = store_down_app.test_client().get(path, headers=teacher_headers)
    assert response.status_code == 503
    assert response.json["error"]["code"] == "store_unavailable"
    assert response.json["error"]["message"]


def test_security_headers(client):
    response = client.get("/healthz")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_init_db_reports_an_unreachable_store(make_app):
    result = make_app(STORE_URL="cassandra://127.0.0.1:1/nowhere").test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert "unreachable" in result.output


def test_init_db_command_is_idempotent(app):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0
        assert "Schema ready" in result.output


def test_number_reads_a_row_of_digits(client, mnist):
    response = client.post("/api/number", json={"image": data_url(transparent_png(row(mnist, "2047", gap=30)))})
    assert response.status_code == 200
    assert response.json["number"] == "2047"
    assert [d["digit"] for d in response.json["digits"]] == [2, 0, 4, 7]
    assert client.get("/api/attempts").json["attempts"] == [], "reading a number is not an attempt"


def test_number_rejects_bad_images(client):
    response = client.post("/api/number", json={"image": "data:image/png;base64,iVBORw0KGgoAAAAN"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "corrupt_image"
