"""The REST API (described in ``openapi.py``, served at ``/api/openapi.json``).

Errors are always JSON ``{"error": {"code", "message"}}`` with a fitting status; no
stack trace ever reaches a client.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from model.decode import ImageError, UnsupportedFormat, sniff_format
from server.attempts import data_url, new_attempt_id
from server.inference import Busy, Frame
from server.openapi import SPEC
from server.protocol import ProtocolError, parse_label
from server.service import Digits
from server.stats import summarize
from server.stores import StoreUnavailable

api = Blueprint("api", __name__, url_prefix="/api")
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "BMP": "image/bmp", "WEBP": "image/webp"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def service() -> Digits:
    return current_app.extensions["digits"]


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def attempt_uuid(attempt_id: str) -> str:
    try:
        return str(uuid.UUID(attempt_id))
    except ValueError:
        raise ApiError(400, "bad_attempt_id", "The attempt id must be a UUID.") from None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "bad_query", f"{name} must be a whole number.") from None
    if not low <= number <= high:
        raise ApiError(400, "bad_query", f"{name} must be between {low} and {high}.")
    return number


def uploaded_image() -> tuple[bytes | str, str]:
    """The image of a predict call: multipart field ``file``, or JSON ``{"image": data URL or base64}``."""
    if "file" in request.files:
        return request.files["file"].read(), "upload"
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            raise ApiError(400, "bad_request", 'Send JSON {"image": "<data URL or base64>"}.')
        return body["image"], "api"
    raise ApiError(400, "bad_request", 'Send a multipart field "file" or JSON {"image": "<data URL or base64>"}.')


@api.post("/predict")
def predict():
    image, source = uploaded_image()
    attempt_id = new_attempt_id()
    answer = service().classify(Frame(attempt_id, 0, image, final=True), request.remote_addr or "", source)
    prediction = answer.prediction(0)
    return jsonify({key: prediction[key] for key in prediction if key not in ("seq", "final")})


@api.post("/number")
def number():
    """A whole number written in one row: every digit with its box. Not logged as an attempt."""
    image, _ = uploaded_image()
    reading = service().recognizer.recognize_number(image)
    return jsonify(
        {
            "number": reading.number,
            "digits": [
                {"digit": d.digit, "confidence": d.confidence, "box": list(d.box), "preview": data_url(d.preview_png)}
                for d in reading.digits
            ],
        }
    )


@api.get("/attempts")
def attempts():
    limit = int_arg("limit", 20, 1, 100)
    before = request.args.get("before")
    try:
        before_time = float(before) if before is not None else None
    except ValueError:
        raise ApiError(400, "bad_query", "before must be a timestamp (seconds since the epoch).") from None
    page = service().store.recent(limit, before_time)
    return jsonify(
        {
            "attempts": [attempt.summary() for attempt in page],
            "next_before": page[-1].created_at if len(page) == limit else None,
        }
    )


def found(attempt_id: str):
    attempt = service().find(attempt_uuid(attempt_id))
    if attempt is None:
        raise ApiError(404, "not_found", "There is no attempt with this id.")
    return attempt


@api.get("/attempts/<attempt_id>")
def attempt(attempt_id: str):
    return jsonify(found(attempt_id).summary())


@api.get("/attempts/<attempt_id>/image")
def attempt_image(attempt_id: str):
    drawing = found(attempt_id).image
    if not drawing:
        raise ApiError(404, "not_found", "This attempt has no stored drawing.")
    try:
        mime = MIME_TYPES[sniff_format(drawing)]
    except UnsupportedFormat:
        mime = "application/octet-stream"
    return Response(drawing, mimetype=mime, headers={"Cache-Control": "private, max-age=3600"})


@api.put("/attempts/<attempt_id>/label")
def put_label(attempt_id: str):
    attempt_id = attempt_uuid(attempt_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "label" not in body:
        raise ApiError(400, "bad_request", 'Send JSON {"label": 0-9} (or null to clear it).')
    try:
        label = None if body["label"] is None else parse_label(body["label"])
    except ProtocolError as error:
        raise ApiError(400, error.code, error.message) from None
    if not service().label(attempt_id, label):
        raise ApiError(404, "not_found", "There is no attempt with this id.")
    return jsonify({"attempt_id": attempt_id, "label": label})


@api.get("/stats")
def stats():
    days = int_arg("days", 30, 1, 366)
    summary: dict[str, Any] = summarize(service().store.outcomes(time.time() - days * 86400))
    return jsonify({"days": days, **summary})


@api.get("/openapi.json")
def openapi():
    return jsonify(SPEC)


@api.errorhandler(ApiError)
def api_error(error: ApiError):
    return error_response(error.status, error.code, error.message)


@api.errorhandler(ImageError)
def image_error(error: ImageError):
    return error_response(error.status, error.code, str(error))


@api.errorhandler(Busy)
def busy(error: Busy):
    return error_response(503, "busy", "The server is busy; try again in a moment.")


@api.errorhandler(StoreUnavailable)
def store_unavailable(error: StoreUnavailable):
    return error_response(503, "store_unavailable", "The attempt store is unreachable; try again shortly.")


def http_error(error: HTTPException):
    """Routing and protocol errors as JSON under /api; the pages keep Flask's own."""
    if not request.path.startswith("/api/"):
        return error
    code = {413: "too_large", 404: "not_found", 405: "method_not_allowed"}.get(error.code, "bad_request")
    return error_response(error.code or 400, code, error.description or error.name)


def internal_error(error: Exception):
    """Never a stack trace to a client; the log has it."""
    current_app.logger.exception("request failed", exc_info=error)
    return error_response(500, "internal_error", "Something went wrong on the server.")
