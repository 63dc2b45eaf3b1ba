"""Moderation: the teacher hides a drawing from the class's wall (``/wall``), or shows it again.

``PUT /api/attempts/<id>/hidden`` (teacher key; JSON ``{"hidden": true|false}``) keeps the flag with
the attempt (``Store.set_hidden``: a later write of the attempt's frames never clears it) and, once
that is durable, tells the attempt's room feed (Socket.IO ``hidden`` ``{attempt_id, hidden}``), so
every wall and dashboard watching the room drops the drawing at once. History (``GET
/api/attempts``) still lists a hidden attempt, with ``"hidden": true``. Deleting is the REST API's
``DELETE /api/attempts/<id>``, which tells the feed ``deleted``.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from server.access.teacher import require_teacher
from server.api.routes import attempt_uuid, service
from server.errors import ApiError

moderation = Blueprint("moderation", __name__, url_prefix="/api/attempts")


@moderation.put("/<attempt_id>/hidden")
def put_hidden(attempt_id: str):
    require_teacher()
    attempt_id = attempt_uuid(attempt_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("hidden"), bool):
        raise ApiError(400, "bad_request", 'Send JSON {"hidden": true} (or false to show it again).')
    attempt = service().hide(attempt_id, body["hidden"])
    if attempt is None:
        raise ApiError(404, "not_found", "There is no attempt with this id.")
    return jsonify({"attempt_id": attempt_id, "hidden": attempt.hidden, "room": attempt.room})
