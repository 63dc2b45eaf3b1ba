"""Socket.IO handlers: parse the event, call the service, emit. Nothing else lives here.

Protocol (README, "Socket.IO protocol"): ``frame`` in, ``prediction`` out (later, from
the results loop, ``server/serving/results.py``: the handler only queues the frame); ``label`` in,
acknowledged; ``room`` out on connect, when ``auth`` named an opened classroom
(``server/access/rooms.py``); ``watch`` joins a classroom's dashboard feed; every rejected event
gets an ``error`` event with a stable code, and the connection stays usable.

Who may do what (README, "Security and privacy"): a connection shows the teacher key once,
in its connect ``auth``; ``watch`` needs it. A frame or label of an attempt another
connection started needs that attempt's ``owner_token`` or the key.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room, rooms
from flask_socketio import disconnect as drop_connection

from server.access.addresses import client_address
from server.access.limits import Verdict
from server.access.owners import Access
from server.access.rooms import FEED_PREFIX, feed, parse_room
from server.access.teacher import is_teacher_token
from server.errors import ProtocolError, error_event
from server.extensions import socketio
from server.live.protocol import parse_frame, parse_label_event
from server.serving.inference import Busy, Frame
from server.serving.service import RecognitionService
from server.storage.store import RoomRecord, StoreUnavailable

log = logging.getLogger("digits.live")


def service() -> RecognitionService:
    return current_app.extensions["service"]


def rejection(code: str, message: str, payload: Any = None) -> dict[str, Any]:
    """An ``error`` event's payload, echoing the attempt and seq the client sent, when it sent them."""
    sent = payload if isinstance(payload, dict) else {}
    return error_event(code, message, sent.get("attempt_id"), sent.get("seq"))


def reject(code: str, message: str, payload: Any = None) -> dict[str, Any]:
    """Emit an ``error`` event to the sender; the result doubles as the event's acknowledgement."""
    emit("error", rejection(code, message, payload))
    return {"ok": False, "code": code, "message": message}


FORBIDDEN = "This attempt belongs to another drawer: send its owner_token."
TOO_MANY = "Too many connections from your network: close other tabs or devices and try again."
COOLING = "Too many frames came from your network: wait {seconds} s, then reload the page."
FLOODING = "Too many frames for too long: this connection is closed. Wait a little, then reload the page."
SLOW_DOWN = "Too many frames: slow down and send the latest drawing. Frames over the limit are dropped."
ROOM_FULL = "This class is full: ask your teacher, or close other tabs and devices in the class."
INTERNAL = "Something went wrong on the server; the connection is still usable."
NOT_ADMITTED = "Something went wrong on the server as you connected; reload the page to try again."
STORE_DOWN = "The attempt store is unreachable; nothing was changed. Try again shortly."


def teacher_key(auth: Any) -> Any:
    return auth.get("token") if isinstance(auth, dict) else None


def room_to_join(auth: Any, address: str) -> RoomRecord | None:
    """The opened classroom a connection asks to join (``auth: {"room"}``); None for none or a free room.

    Raises ProtocolError (``bad_room``, ``unknown_room``, ``rate_limited`` for too many guesses, or
    ``store_unavailable``): the connection is still admitted, to draw on its own."""
    code = parse_room(auth.get("room") if isinstance(auth, dict) else None)
    try:
        room = service().check_room(code, address)
        return service().rooms.find_open(room)
    except StoreUnavailable:
        raise ProtocolError(
            "store_unavailable", "Classes cannot be joined right now; you can draw on your own."
        ) from None


@socketio.on("connect")
def connect(auth: Any = None) -> None:
    """Everyone may connect to draw, up to MAX_CONNECTIONS_PER_ADDRESS per address (then the connect is
    refused with a ``rate_limited`` reason), or ROOM_MAX_CONNECTIONS in an opened classroom named in
    ``auth`` (``room_full``); a wrong teacher key or class code gets an error at once, so it is noticed,
    and the connection still draws.

    It fails closed: ``on_error_default`` answers any other event's failure and keeps the connection,
    but a connect it answered would be admitted uncounted, past every per-address limit."""
    try:
        admit(auth)
    except ConnectionRefusedError:
        raise
    except Exception:
        log.exception("connect failed: refused")
        service().disconnect(request.sid)  # uncount it, if it was counted before the failure
        raise ConnectionRefusedError(NOT_ADMITTED, {"code": "internal_error", "message": NOT_ADMITTED}) from None


def admit(auth: Any) -> None:
    key = teacher_key(auth)
    teacher = is_teacher_token(key)
    service().start()  # at once after a fork (gunicorn.conf.py), else on the first connection
    address = client_address()
    try:
        room, refused = room_to_join(auth, address), None
    except ProtocolError as error:
        room, refused = None, error
    if not service().connect(request.sid, teacher, address, room.code if room else None):
        # The client's connect_error then has the message and data {code, message}.
        code, message = ("room_full", ROOM_FULL) if room else ("rate_limited", TOO_MANY)
        if (wait := service().address_limits.cooling(address)) > 0:
            message = COOLING.format(seconds=math.ceil(wait))
        raise ConnectionRefusedError(message, {"code": code, "message": message})
    if refused is not None:
        emit("error", rejection(refused.code, refused.message))
    if room is not None:
        emit("room", {"code": room.code, "name": room.name, "language": room.language})
    if key is not None and not teacher:
        emit("error", rejection("unauthorized", "The teacher key is wrong; drawing still works."))


@socketio.on("disconnect")
def disconnect(reason: Any = None) -> None:
    service().disconnect(request.sid)


def over_budget() -> bool:
    """Spend the frame budgets; False when the frame may go on. A refused frame is dropped here, before
    anything reads its image: the first is answered ``rate_limited`` (then one every 10 s), the rest
    silently, and a connection that keeps flooding is disconnected (``server/access/limits.py``)."""
    verdict = service().admit_frame(request.sid)
    if verdict is Verdict.ALLOW:
        return False
    if verdict is Verdict.TELL:
        emit("error", rejection("rate_limited", SLOW_DOWN))
    elif verdict is Verdict.DISCONNECT:
        log.warning("disconnected a connection that kept flooding frames")
        emit("error", rejection("rate_limited", FLOODING))
        transport = socketio.server.manager.eio_sid_from_sid(request.sid, "/")
        drop_connection()
        socketio.server.eio.disconnect(transport)  # close the socket too: a flooder would not close it itself
    return True


def take_turns() -> None:
    """Let the other connections run. Under eventlet a socket that always has data never blocks, so
    its green thread would never yield: a client flooding frames starved every other connection and
    gunicorn's heartbeat (the worker was killed). Cheap under threading (a bare sleep(0))."""
    socketio.sleep(0)


@socketio.on("frame")
def frame(payload: Any) -> None:
    take_turns()
    if over_budget():
        return
    svc = service()
    try:
        event = parse_frame(payload, svc.config["MAX_FRAME_BYTES"])
    except ProtocolError as error:
        reject(error.code, error.message, payload)
        return
    if not svc.may_draw(event.attempt_id, request.sid, event.owner_token, svc.is_teacher(request.sid)):
        reject("forbidden", FORBIDDEN, payload)
        return
    try:
        room = svc.frame_room(request.sid, event.room)
    except ProtocolError as error:
        reject(error.code, error.message, payload)
        return
    try:  # answered later by the results loop (server/serving/results.py): the handler never waits
        svc.submit(
            Frame(
                event.attempt_id,
                event.seq,
                event.image,
                event.final,
                svc.address(request.sid),
                room=room,
                explain=event.explain,
                sid=request.sid,
            )
        )
    except Busy:
        reject("busy", "The server is busy; this frame was not classified. Send it again shortly.", payload)


@socketio.on("label")
def label(payload: Any) -> dict[str, Any]:
    take_turns()
    if over_budget():
        return {"ok": False, "code": "rate_limited", "message": SLOW_DOWN}
    svc = service()
    try:
        event = parse_label_event(payload)
    except ProtocolError as error:
        return reject(error.code, error.message, payload)
    access = svc.access(event.attempt_id, request.sid, event.owner_token, svc.is_teacher(request.sid))
    if access is Access.FORBIDDEN:
        return reject("forbidden", FORBIDDEN, payload)
    if access is Access.UNKNOWN or not svc.label(event.attempt_id, event.label):
        return reject("unknown_attempt", "There is no attempt with this id.", payload)
    try:
        room = svc.room_of(event.attempt_id)
    except StoreUnavailable:  # the label is kept (spooled, as every write): only the live feed misses it
        log.warning("the store is unreachable: a label was kept but not shown on its dashboard")
    else:
        socketio.emit("label", {"attempt_id": event.attempt_id, "label": event.label}, to=feed(room))
    return {"ok": True, "attempt_id": event.attempt_id, "label": event.label}


@socketio.on("watch")
def watch(payload: Any = None) -> dict[str, Any]:
    """Join one classroom's live feed of finished attempts and labels (``{"room"}``, else the default room),
    leaving any other: teachers only, as it shows the drawings."""
    if not service().is_teacher(request.sid):
        return reject("unauthorized", "The live feed needs the teacher key: connect with auth {token}.", payload)
    if payload is not None and not isinstance(payload, dict):
        return reject("bad_payload", 'watch takes {"room"}, or nothing for the default room.', payload)
    try:
        room = parse_room(payload.get("room") if payload else None)
    except ProtocolError as error:
        return reject(error.code, error.message, payload)
    for joined in rooms():
        if joined.startswith(FEED_PREFIX):
            leave_room(joined)
    join_room(feed(room))
    return {"ok": True, "room": room}


@socketio.on_error_default
def internal_error(error: Exception) -> dict[str, Any]:
    """Any event's failure, answered with its code (echoing the attempt it was about); the connection stays."""
    args = getattr(request, "event", {}).get("args") or (None,)
    if isinstance(error, StoreUnavailable):  # a class's room could not be looked up, a label not recorded
        return reject("store_unavailable", STORE_DOWN, args[0])
    log.exception("socket event failed", exc_info=error)
    return reject("internal_error", INTERNAL, args[0])
