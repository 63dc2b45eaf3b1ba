"""The REST API (described in ``openapi.py``, served at ``/api/openapi.json``).

Errors are always JSON ``{"error": {"code", "message"}}`` with a fitting status; no
stack trace ever reaches a client.

Reading the class's attempts and stats needs the teacher key (``server/access/teacher.py``);
one attempt may also be read, relabelled or deleted with its owner token
(``X-Owner-Token``, ``server/access/owners.py``), which every predict answer carries.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from model.runtime.decode import ImageError, UnsupportedFormat, sniff_format
from server.access.addresses import client_address
from server.access.owners import OWNER_HEADER, Access
from server.access.rooms import parse_room
from server.access.teacher import is_teacher, require_teacher, unauthorized
from server.api.openapi import SPEC
from server.errors import ApiError, ProtocolError, Unavailable, error_response
from server.live.protocol import parse_flag, parse_label
from server.serving.inference import Busy, Frame
from server.serving.service import RecognitionService
from server.storage.attempts import Attempt, data_url, new_attempt_id
from server.storage.stats import summarize
from server.storage.store import StoreUnavailable

api = Blueprint("api", __name__, url_prefix="/api")
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "BMP": "image/bmp", "WEBP": "image/webp"}
MAX_TIMESTAMP = 32_503_680_000.0  # the year 3000: later than any attempt, within every store's dates


def service() -> RecognitionService:
    return current_app.extensions["service"]


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


def json_body() -> dict[str, Any]:
    """The request's JSON object; empty when it sent none (or not an object)."""
    body = request.get_json(silent=True) if request.is_json else None
    return body if isinstance(body, dict) else {}


def field(name: str) -> Any:
    """A request's field ``name``: from the JSON body when it has one, else the query or form (a string)."""
    body = json_body()
    return body[name] if name in body else request.values.get(name)


def room_arg() -> str:
    """The classroom of a request: ``room`` in the query, form or JSON body; default room when absent."""
    try:
        return parse_room(field("room"))
    except ProtocolError as error:
        raise ApiError(400, error.code, error.message) from None


ROOM_STATUS = {"unknown_room": 404, "rate_limited": 429}  # else 400 (bad_room) or 503 (store)


def drawing_room(room: str, address: str) -> str:
    """The room a new attempt is logged in: an opened room must be open (``server/access/rooms.py``)."""
    try:
        return service().check_room(room, address)
    except ProtocolError as error:
        raise ApiError(ROOM_STATUS.get(error.code, 400), error.code, error.message) from None


TEXT_FLAGS = {"true": True, "false": False}  # how a query or form field says it


def explain_arg() -> bool:
    """Whether a predict call asks for a view inside the network: ``explain`` true/false (JSON boolean, or
    the words in the query or form); absent is false; anything else is 400 ``bad_payload``, like the socket's."""
    body = json_body()
    if "explain" in body:
        value = body["explain"]  # a JSON boolean
    else:
        text = request.values.get("explain")  # the words "true" or "false"
        value = False if text is None else TEXT_FLAGS.get(text, text)
    try:
        return parse_flag("explain", value)
    except ProtocolError as error:
        raise ApiError(400, error.code, error.message) from None


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
    address = client_address()
    room = drawing_room(room_arg(), address)
    frame = Frame(attempt_id, 0, image, True, address, room=room, explain=explain_arg(), source=source)
    answer = service().classify(frame)
    prediction = answer.prediction(0)  # the REST attempt's only answer: it carries the owner token
    return jsonify({key: prediction[key] for key in prediction if key not in ("seq", "final")})


@api.post("/number")
def number():
    """A whole number written in one row: every digit with its box. Not logged as an attempt.

    Read by the recognizer processes through the inference queue, with its fair share and limits.
    """
    image, _ = uploaded_image()
    reading = service().read_number(image, client_address())
    return jsonify(
        {
            "number": reading.number,
            "digits": [
                {"digit": d.digit, "confidence": d.confidence, "box": list(d.box), "preview": data_url(d.preview_png)}
                for d in reading.digits
            ],
        }
    )


def timestamp_arg(text: str) -> float:
    """A query's timestamp (``before``), within the years every store can index; else 400 bad_query."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_TIMESTAMP:  # NaN fails it too
        raise ApiError(400, "bad_query", "before must be a timestamp (seconds since the epoch).")
    return value


@api.get("/attempts")
def attempts():
    require_teacher()
    limit = int_arg("limit", 20, 1, 100)
    before = request.args.get("before")
    before_time = timestamp_arg(before) if before is not None else None
    page = service().store.recent(limit, before_time, room_arg())
    return jsonify(
        {
            "attempts": [attempt.summary() for attempt in page],
            "next_before": page[-1].created_at if len(page) == limit else None,
        }
    )


def found(attempt_id: str) -> Attempt:
    attempt = service().find(attempt_uuid(attempt_id))
    if attempt is None:
        raise ApiError(404, "not_found", "There is no attempt with this id.")
    return attempt


def require_owner(attempt_id: str) -> str:
    """The attempt's canonical id, once the caller has shown its owner token or the teacher key.

    No credential at all is 401 (as for every teacher route); a token that is not this
    attempt's is 403, and nothing is read or changed.
    """
    attempt_id = attempt_uuid(attempt_id)
    teacher = is_teacher()
    token = request.headers.get(OWNER_HEADER) or None
    if not teacher and token is None:
        raise unauthorized("This needs the attempt's owner token (X-Owner-Token) or the teacher key.")
    access = service().access(attempt_id, None, token, teacher)
    if access is Access.UNKNOWN:
        raise ApiError(404, "not_found", "There is no attempt with this id.")
    if access is Access.FORBIDDEN:
        raise ApiError(403, "forbidden", "This attempt belongs to someone else.")
    return attempt_id


@api.get("/attempts/<attempt_id>")
def attempt(attempt_id: str):
    return jsonify(found(require_owner(attempt_id)).summary())


@api.delete("/attempts/<attempt_id>")
def delete_attempt(attempt_id: str):
    attempt_id = require_owner(attempt_id)
    if not service().delete(attempt_id):
        raise ApiError(404, "not_found", "There is no attempt with this id.")
    return jsonify({"deleted": attempt_id})


@api.get("/attempts/<attempt_id>/image")
def attempt_image(attempt_id: str):
    require_teacher()
    drawing = found(attempt_id).image
    if not drawing:
        raise ApiError(404, "not_found", "This attempt has no stored drawing.")
    try:
        mime = MIME_TYPES[sniff_format(drawing)]
    except UnsupportedFormat:
        mime = "application/octet-stream"
    return Response(drawing, mimetype=mime)  # no-store, as every API answer (create_app)


@api.put("/attempts/<attempt_id>/label")
def put_label(attempt_id: str):
    attempt_id = require_owner(attempt_id)
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
    require_teacher()
    days, room = int_arg("days", 30, 1, 366), room_arg()
    summary: dict[str, Any] = summarize(service().store.outcomes(time.time() - days * 86400, room))
    return jsonify({"days": days, "room": room, **summary})


@api.get("/openapi.json")
def openapi():
    return jsonify(SPEC)


def api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.headers)


def image_error(error: ImageError):
    return error_response(error.status, error.code, str(error))


def unavailable(error: Unavailable):
    return error_response(error.status, error.code, str(error))


def busy(error: Busy):
    return error_response(503, "busy", "The server is busy; try again in a moment.")


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


def register_error_handlers(app: Flask) -> None:
    """One JSON error shape for every blueprint's routes (the REST API, models, rooms, ...)."""
    for kind, handler in (
        (ApiError, api_error),
        (ImageError, image_error),
        (Unavailable, unavailable),
        (Busy, busy),
        (StoreUnavailable, store_unavailable),
        (HTTPException, http_error),
        (Exception, internal_error),
    ):
        app.register_error_handler(kind, handler)
