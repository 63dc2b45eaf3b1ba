"""Kiosks that say they are alive: ``POST /api/kiosks/heartbeat`` (anonymous) and ``GET /api/kiosks`` (teacher).

A kiosk's page (``/?kiosk=1&kiosk_id=NAME``, ``frontend/js/kiosk.js``) posts a heartbeat every 30 s:
``{"kiosk_id", "model_version", "online_seconds", "offline_seconds", "waiting", "attempts_today", "state"}``.
The latest one of each kiosk is kept (``server/storage/offline.py``); the teacher's dashboard shows them
(``frontend/js/kiosks.js``): last seen, whether it answers online or from the browser, attempts today,
deliveries waiting. A kiosk silent for longer than ``SILENT_AFTER`` seconds is shown as silent: its
network or its power is gone, and its own page keeps answering (and keeping attempts) meanwhile.

Heartbeats are anonymous, like drawing: the address's REST budget limits them like any request
(``server/access/limits.py``), and the kiosk's address is kept only as the day's pseudonym.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, jsonify, request

from server.access.addresses import client_address
from server.access.teacher import require_teacher
from server.api.deliveries import KIOSK_ID, VERSION_TEXT
from server.api.routes import service
from server.errors import ApiError
from server.live.protocol import finite_number
from server.storage.offline import KioskRecord

kiosks_api = Blueprint("kiosks_api", __name__, url_prefix="/api")
HEARTBEAT_SECONDS = 30
SILENT_AFTER = 3 * HEARTBEAT_SECONDS
MAX_SECONDS = 10 * 365 * 86400
MAX_COUNT = 1_000_000
STATES = ("online", "offline")


def number(body: dict[str, Any], name: str, high: float, whole: bool = False) -> float:
    value = finite_number(body.get(name, 0))
    if value is None or not 0 <= value <= high:
        raise ApiError(400, "bad_payload", f"{name} must be a number from 0 to {high:,}.")
    if whole and value != int(value):
        raise ApiError(400, "bad_payload", f"{name} must be a whole number.")
    return int(value) if whole else float(value)


@kiosks_api.post("/kiosks/heartbeat")
def heartbeat():
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_payload", "Send the heartbeat as a JSON object.")
    kiosk_id, version, state = body.get("kiosk_id"), body.get("model_version", ""), body.get("state", "online")
    if not isinstance(kiosk_id, str) or not KIOSK_ID.fullmatch(kiosk_id):
        raise ApiError(400, "bad_payload", "kiosk_id must be 1-64 letters, digits, spaces, '.', '_' or '-'.")
    if not isinstance(version, str) or (version != "" and not VERSION_TEXT.fullmatch(version)):
        raise ApiError(400, "bad_payload", "model_version must be a version name.")
    if state not in STATES:
        raise ApiError(400, "bad_payload", "state must be online or offline.")
    record = KioskRecord(
        kiosk_id=kiosk_id,
        last_seen=time.time(),
        model_version=version,
        online_seconds=number(body, "online_seconds", MAX_SECONDS),
        offline_seconds=number(body, "offline_seconds", MAX_SECONDS),
        waiting=int(number(body, "waiting", MAX_COUNT, whole=True)),
        attempts_today=int(number(body, "attempts_today", MAX_COUNT, whole=True)),
        state=state,
        session=service().pseudonyms(client_address()),
    )
    service().store.save_kiosk(record)
    return jsonify({"ok": True, "next_in": HEARTBEAT_SECONDS})


@kiosks_api.get("/kiosks")
def kiosks():
    require_teacher()
    now = time.time()
    return jsonify(
        {
            "kiosks": [
                {
                    "kiosk_id": kiosk.kiosk_id,
                    "last_seen": kiosk.last_seen,
                    "state": kiosk.state if now - kiosk.last_seen <= SILENT_AFTER else "silent",
                    "model_version": kiosk.model_version,
                    "online_seconds": kiosk.online_seconds,
                    "offline_seconds": kiosk.offline_seconds,
                    "waiting": kiosk.waiting,
                    "attempts_today": kiosk.attempts_today,
                }
                for kiosk in service().store.kiosks()
            ],
            "silent_after": SILENT_AFTER,
        }
    )
