"""The teacher key: who may watch the class, read every attempt, relabel or delete any, and change the model.

``TEACHER_TOKEN`` comes from the environment; without it the server makes one on its
first start and keeps it in ``DATA_DIR/teacher_token`` (mode 0600), the way Jupyter keeps
its token, so a classroom server needs no setup and the key survives restarts. The
dashboard link printed at start carries the key in its fragment, which browsers never
send to the server or put in a Referer.

REST callers send ``Authorization: Bearer <key>``; Socket.IO clients send
``auth: {"token": <key>}`` once, on connect. Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any

from flask import current_app, request

from server.access.local_secret import read_or_create
from server.errors import ApiError

TOKEN_FILE = "teacher_token"
log = logging.getLogger("digits.teacher")


def token_path(config: dict[str, Any]) -> Path:
    return Path(config["DATA_DIR"]) / TOKEN_FILE


def ensure_teacher_token(config: dict[str, Any]) -> tuple[str, bool]:
    """The configured key, else the kept one, else a new one written with mode 0600; and whether it is new."""
    if config["TEACHER_TOKEN"]:
        return config["TEACHER_TOKEN"], False
    return read_or_create(token_path(config))


def dashboard_link(host: str, port: int | str, token: str) -> str:
    """The link a teacher opens: the key travels in the fragment, never to the server in a request line."""
    return f"http://{host}:{port}/dashboard#token={token}"


def announce(config: dict[str, Any], token: str) -> None:
    """Log the dashboard link once, where gunicorn (which never runs ``python -m server``) shows it."""
    log.warning("Teacher dashboard: %s", dashboard_link(config["HOST"], config["PORT"], token))


def is_teacher_token(candidate: Any) -> bool:
    """Whether ``candidate`` is the teacher key, in constant time.

    Encoded with ``surrogatepass``: JSON can carry a lone surrogate, which plain UTF-8 cannot
    encode, and a key check that raises would let its connection past the connect handler."""
    if not isinstance(candidate, str) or not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"), current_app.config["TEACHER_TOKEN"].encode())


def bearer() -> str | None:
    """The request's ``Authorization: Bearer`` credential, if it has one."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def unauthorized(message: str = "This needs the teacher key: Authorization: Bearer <key>.") -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="teacher"'})


def is_teacher() -> bool:
    """Whether this request carries the teacher key; a wrong key is refused outright, never ignored."""
    credential = bearer()
    if credential is None:
        return False
    if not is_teacher_token(credential):
        raise unauthorized("The teacher key is wrong.")
    return True


def require_teacher() -> None:
    """Raise a 401 ``ApiError`` unless the request carries the teacher key."""
    if not is_teacher():
        raise unauthorized()
