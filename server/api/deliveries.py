"""Attempts drawn while the server was unreachable, delivered once it is back: ``POST /api/deliveries``.

The page (``frontend/js/outbox.js``) keeps every attempt finished offline in IndexedDB and posts each
one here as JSON: ``{"attempt_id", "owner_token", "image", "digit", "reason", "confidence",
"model_version", "label", "drawn_at", "kiosk_id"?, "room"?}``. The server

* re-recognizes the drawing with its own model, through the inference queue like ``/api/predict``
  (the same image limits and error codes: ``model/runtime/decode.py``), and logs the attempt with
  ``source`` ``offline``, its ``created_at`` the time it was drawn (never in the future, never before
  the retention period) and its owner the token the page made for it;
* keeps the browser's answer beside it (``server/storage/offline.py``): its digit or refusal, and the
  model version it claims, as text, and whether this server knows a version of that name;
* is idempotent by attempt id: an attempt it already has (a retry after a lost answer, a second tab)
  is a no-op (``"stored": false``) when the owner token is the attempt's, and 403 ``forbidden``, with
  nothing changed, when it is not.

Every ``/api/`` route's address budget applies (``server/access/limits.py``), and the request size limit.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, jsonify, request

from model.runtime.decode import ImageError
from server.access.addresses import client_address
from server.access.owners import Access, is_page_token, owner_hash
from server.access.rooms import DEFAULT_ROOM
from server.api.routes import drawing_room, found, require_owner, room_arg, service
from server.errors import ApiError, ProtocolError
from server.live.protocol import finite_number, parse_attempt_id, parse_label, parse_owner_token
from server.serving.inference import Frame
from server.serving.tracker import Tracked
from server.storage.attempts import Attempt
from server.storage.offline import OfflineAnswer
from server.storage.store import StoreUnavailable

deliveries = Blueprint("deliveries", __name__, url_prefix="/api")
log = logging.getLogger("digits.deliveries")
REASONS = (None, "blank", "too_faint", "too_small", "not_a_digit")
KIOSK_ID = re.compile(r"[\w .-]{1,64}")  # letters and digits of any script: frontend/js/kiosk.js kioskName
MAX_VERSION_CHARS = 80
VERSION_TEXT = re.compile(rf"[!-~]{{1,{MAX_VERSION_CHARS}}}")  # printable ASCII, as version names are
DEFAULT_HORIZON = 30 * 86400  # how old a drawing may claim to be when attempts are kept forever


class InFlight:
    """The attempt ids whose delivery this process is recognizing now. A second delivery of one is answered
    503 ``busy`` (the outbox sends it again later) rather than recognized and stored a second time."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, attempt_id: str) -> Iterator[bool]:
        """Hold the id for the block; yields False, holding nothing, when another delivery holds it."""
        with self._lock:
            mine = attempt_id not in self._ids
            self._ids.add(attempt_id)
        try:
            yield mine
        finally:
            if mine:
                with self._lock:
                    self._ids.discard(attempt_id)


DELIVERING = InFlight()


def refused(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def checked(parse, value: Any) -> Any:
    try:
        return parse(value)
    except ProtocolError as error:
        raise refused(error.code, error.message) from None


def parse_delivery(body: Any) -> dict[str, Any]:
    """The delivery's fields, checked; ApiError 400 with the protocol's codes for anything else."""
    if not isinstance(body, dict):
        raise refused("bad_payload", "Send one offline attempt as a JSON object.")
    token = checked(parse_owner_token, body.get("owner_token"))
    if not is_page_token(token):
        raise refused("bad_owner_token", "owner_token must be the token the page made for the attempt.")
    image = body.get("image")
    if not isinstance(image, str) or not image:
        raise refused("bad_image", "image must be the drawing as a PNG data URL.")
    digit = body.get("digit")
    if digit is not None:
        digit = checked(parse_label, digit)
    reason = body.get("reason")
    if reason not in REASONS:
        raise refused("bad_payload", f"reason must be one of {', '.join(str(r) for r in REASONS)}.")
    confidence = body.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1
    ):
        raise refused("bad_payload", "confidence must be a number from 0 to 1, or null.")
    version = body.get("model_version")
    if not isinstance(version, str) or not VERSION_TEXT.fullmatch(version):
        raise refused(
            "bad_payload", f"model_version must be the version the page ran (1-{MAX_VERSION_CHARS} characters)."
        )
    label = body.get("label")
    if label is not None:
        label = checked(parse_label, label)
    drawn_at = finite_number(body.get("drawn_at"))
    if drawn_at is None:
        raise refused("bad_payload", "drawn_at must be when it was drawn, in seconds since the epoch.")
    kiosk_id = body.get("kiosk_id", "")
    if kiosk_id != "" and (not isinstance(kiosk_id, str) or not KIOSK_ID.fullmatch(kiosk_id)):
        raise refused("bad_payload", "kiosk_id must be 1-64 letters, digits, spaces, '.', '_' or '-'.")
    return {
        "attempt_id": checked(parse_attempt_id, body.get("attempt_id")),
        "owner_token": token,
        "image": image,
        "digit": digit,
        "reason": reason,
        "confidence": None if confidence is None else float(confidence),
        "model_version": version,
        "label": label,
        "drawn_at": drawn_at,
        "kiosk_id": kiosk_id,
    }


def drawn_time(claimed: float) -> float:
    """When it was drawn, as the page says, kept within [now - retention, now]."""
    now = time.time()
    horizon = service().retention_seconds or DEFAULT_HORIZON
    return min(max(claimed, now - horizon + 60), now)


@deliveries.post("/deliveries")
def deliver():
    delivery = parse_delivery(request.get_json(silent=True) if request.is_json else None)
    attempt_id, token = delivery["attempt_id"], delivery["owner_token"]
    recognition = service()
    known = {files.version for files in recognition.models.versions.all()}
    drawn_at = drawn_time(delivery["drawn_at"])
    browser = OfflineAnswer(
        attempt_id=attempt_id,
        delivered_at=time.time(),
        drawn_at=drawn_at,
        digit=delivery["digit"],
        reason=delivery["reason"],
        confidence=delivery["confidence"],
        claimed_version=delivery["model_version"],
        version_known=delivery["model_version"] in known,
        kiosk_id=delivery["kiosk_id"],
    )
    with DELIVERING.hold(attempt_id) as mine:
        if not mine:  # the same attempt from another tab, or a retry while the first is still recognized
            raise ApiError(503, "busy", "This attempt is being delivered already; send it again in a moment.")
        access = recognition.access(attempt_id, None, token, False)  # held: no other delivery of it runs now
        if access is Access.FORBIDDEN:
            raise ApiError(403, "forbidden", "An attempt with this id exists and belongs to someone else.")
        existing = recognition.find(attempt_id) if access is Access.ALLOWED else None
        if existing is not None and existing.final:
            return delivered_before(existing, browser, delivery["label"])
        return deliver_new(attempt_id, token, delivery, browser, existing)


def delivered_before(existing: Attempt, browser: OfflineAnswer, label: int | None) -> Response:
    """A delivery of an attempt the server already finished (a retry after a lost answer, another tab, or a final
    frame that reached the server before the connection dropped): nothing is recognized again, but a label the
    drawer gave offline is kept, and so is the browser's answer, for an attempt drawn offline."""
    recognition = service()
    if label is not None:
        recognition.label(existing.id, label)
    if existing.source == "offline":
        recognition.store.save_offline_answer(browser)  # in case the first delivery's answer was lost
    return jsonify({"attempt_id": existing.id, "stored": False, "server": server_answer(existing)})


def deliver_new(
    attempt_id: str, token: str, delivery: dict[str, Any], browser: OfflineAnswer, existing: Attempt | None
) -> Response:
    """Recognize and store the attempt, once, with the browser's answer beside the server's."""
    recognition = service()
    room = delivery_room(room_arg(), client_address())
    recognition.tracker.claim(
        attempt_id,
        Tracked(browser.drawn_at, existing.frames if existing else 0, None, False, owner_hash(token)),
    )
    frame = Frame(attempt_id, 0, delivery["image"], True, client_address(), room=room, source="offline")
    try:
        answer = recognition.classify(frame)
    except ImageError:
        recognition.tracker.forget(attempt_id)
        raise
    if delivery["label"] is not None:
        recognition.label(attempt_id, delivery["label"])
    recognition.store.save_offline_answer(browser)
    if recognition.retention_seconds:
        recognition.store.purge_offline_answers(time.time() - recognition.retention_seconds)
    return jsonify({"attempt_id": attempt_id, "stored": True, "server": server_answer(answer.attempt)})


def delivery_room(room: str, address: str) -> str:
    """The room an offline attempt is logged in: the class it was drawn in, or the default room once that class
    has closed, as the live page leaves a class that ends (refusing it lost a pupil's drawing). An address out
    of code guesses is answered 429, which the outbox retries: the drawing still reaches its class."""
    try:
        return drawing_room(room, address)
    except ApiError as error:
        if error.code == "unknown_room":
            return DEFAULT_ROOM
        raise


@deliveries.after_app_request
def forget_with_the_attempt(response):
    """An attempt deleted through the API (``DELETE /api/attempts/<id>``) takes the browser's answer with it."""
    if request.method == "DELETE" and request.endpoint == "api.delete_attempt" and response.status_code == 200:
        attempt_id = str(uuid.UUID(request.view_args["attempt_id"]))  # the route took it: a UUID
        try:
            service().store.forget_offline_answer(attempt_id)
        except StoreUnavailable:
            log.error("the browser's answer of deleted attempt %s could not be deleted", attempt_id)
    return response


def server_answer(attempt) -> dict[str, Any]:
    return {"digit": attempt.digit, "confidence": attempt.confidence, "model_version": attempt.model_version}


@deliveries.get("/deliveries/<attempt_id>")
def delivered(attempt_id: str):
    """The browser's answer kept for an offline attempt, beside the server's (owner or teacher)."""
    attempt_id = require_owner(attempt_id)
    answer = service().store.offline_answer(attempt_id)
    if answer is None:
        raise ApiError(404, "not_found", "This attempt was not delivered from offline.")
    attempt = found(attempt_id)
    return jsonify(
        {
            "attempt_id": attempt_id,
            "source": attempt.source,
            "server": server_answer(attempt),
            "browser": answer.summary(),
        }
    )
