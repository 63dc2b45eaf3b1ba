"""The teacher's classrooms: open one, show its code and QR code, list and close them.

``POST /api/rooms`` opens a room (``server/access/rooms.py``) and answers its six-digit code,
the join link (the page with ``?room=<code>``) and a QR code of that link, made here with segno
(pure Python, no dependencies) so a projector shows it without any other service. A pupil's
page asks ``GET /api/rooms/<code>`` (no key) for the class's name and language; a miss spends
one of the address's guesses, like a miss on connect. The rest needs the teacher key.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import segno
from flask import Blueprint, Response, current_app, jsonify, request

from server.access.addresses import client_address
from server.access.rooms import OPENED_CODE, UNKNOWN, room_json
from server.access.teacher import require_teacher
from server.api.routes import service
from server.errors import ApiError, ProtocolError
from server.storage.store import RoomRecord

rooms_api = Blueprint("rooms", __name__, url_prefix="/api/rooms")


def join_url(code: str) -> str:
    """The page a pupil opens: the server's own address as the request saw it (PROXY_COUNT applies),
    or PUBLIC_URL when set (a server behind a proxy that rewrites the host)."""
    base = current_app.config["PUBLIC_URL"].rstrip("/") or request.host_url.rstrip("/")
    return f"{base}/?room={code}"


def qr_svg(url: str) -> bytes:
    """The join link as a QR code: black on white with the quiet zone, scalable to any projector."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=10, border=4, xmldecl=False, title="Join the class")
    return buffer.getvalue()


def described(room: RoomRecord) -> dict[str, Any]:
    url = join_url(room.code)
    qr = "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url)).decode()
    return {**room_json(room, service().rooms.idle_seconds), "join_url": url, "qr": qr}


def open_room_or_404(code: str, fresh: bool = True) -> RoomRecord:
    room = service().rooms.find_open(code, fresh) if OPENED_CODE.fullmatch(code) else None
    if room is None:
        raise ApiError(404, "unknown_room", "There is no open class with this code.")
    return room


@rooms_api.post("")
def open_room():
    require_teacher()
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", 'Send JSON {"name": "7B", "language": "de"} (both optional).')
    try:
        room = service().rooms.open(body.get("name") or "", body.get("language") or "")
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error)) from None
    return jsonify(described(room)), 201


@rooms_api.get("")
def list_rooms():
    require_teacher()
    return jsonify({"rooms": [described(room) for room in service().rooms.list_open()]})


@rooms_api.get("/<code>")
def show_room(code: str):
    """What a pupil's page needs: the class's name and language. No key; misses are rate limited."""
    try:
        service().check_room(code, client_address())
    except ProtocolError as error:
        status = 429 if error.code == "rate_limited" else 404
        message = UNKNOWN if error.code == "unknown_room" else error.message
        raise ApiError(status, error.code if status == 429 else "unknown_room", message) from None
    room = open_room_or_404(code, fresh=False)  # check_room has just read it: no second store read per pupil
    return jsonify({"code": room.code, "name": room.name, "language": room.language})


@rooms_api.delete("/<code>")
def close_room(code: str):
    require_teacher()
    if not OPENED_CODE.fullmatch(code) or not service().rooms.close(code):
        raise ApiError(404, "unknown_room", "There is no open class with this code.")
    return jsonify({"code": code, "closed": True})


@rooms_api.get("/<code>/qr.svg")
def room_qr(code: str):
    require_teacher()
    room = open_room_or_404(code)
    return Response(qr_svg(join_url(room.code)), mimetype="image/svg+xml")
