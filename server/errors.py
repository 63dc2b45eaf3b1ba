"""The server's errors, in one hierarchy, so a store outage is never counted as a bad image.

* ``model.runtime.decode.ImageError``: the client's image is refused (4xx); the model's side.
* ``ApiError``: a REST request refused, with its status, code and headers (4xx).
* ``ProtocolError``: a Socket.IO event's payload refused; the connection stays usable.
* ``Unavailable``: the server could not do it, through no fault of the request (5xx):
  ``NotClassified`` (a recognizer process died or hung) and ``NotStored`` (the answer was
  ready but its attempt could not be kept, so it is not sent).

Every one carries a stable machine ``code`` that clients (and the page's translations) key on.
It lives at the top of ``server/`` because the API, the access checks and the serving layer
all raise these, and none of them may import the others' routes.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify


class ApiError(Exception):
    """A refusal with an HTTP status, a stable machine ``code``, a message for people and optional headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


class ProtocolError(ValueError):
    """A Socket.IO event's (or a REST field's) payload refused: answered with its ``code``; the connection stays."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Unavailable(Exception):
    """The server failed a request that may succeed if sent again: not the client's fault."""

    code = "unavailable"
    status = 503


class NotClassified(Unavailable):
    """The server failed over this frame's batch (its recognizer process died or hung)."""

    code = "internal_error"
    status = 500


class NotStored(Unavailable):
    """The answer was ready but its attempt could not be stored: it is not sent, so nothing answered is lost."""

    code = "store_unavailable"
    status = 503


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    """The API's one error shape: ``{"error": {"code", "message"}}`` with a fitting status."""
    return jsonify({"error": {"code": code, "message": message}}), status, headers or {}


ECHOED = 64  # the longest attempt_id an error echoes: an id's length (1 MB of one is not sent back)


def error_event(code: str, message: str, attempt_id: Any = None, seq: Any = None) -> dict[str, Any]:
    """An ``error`` event's payload; it echoes the attempt and seq it is about, when they are plain values."""
    error: dict[str, Any] = {"code": code, "message": message}
    for key, value in (("attempt_id", attempt_id), ("seq", seq)):
        whole_number = isinstance(value, int) and not isinstance(value, bool)
        if whole_number or (isinstance(value, str) and len(value) <= ECHOED):
            error[key] = value
    return error
