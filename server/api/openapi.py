"""The OpenAPI 3.0 description of the REST API, served at ``/api/openapi.json``.

``tests/app/test_openapi.py`` keeps it true: the spec validates, every route is described,
every described route exists, and real responses match their documented status codes.
"""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def error_responses(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed request or image",
        401: "No teacher key (or owner token) sent, or a wrong teacher key; see WWW-Authenticate",
        403: "The owner token sent is not this attempt's: nothing was read or changed",
        404: "No such attempt, model version or open classroom (unknown_room)",
        409: "Refused, nothing changed: a model that cannot be served or failed its gate, or a retrain is running",
        413: "Image or request too large",
        415: "Not an allowed image type (PNG, JPEG, GIF, BMP, WebP)",
        500: "The server failed to classify the image (a recognizer process died or hung); retry",
        429: "Too many requests from this client address (server/access/limits.py); see Retry-After",
        503: "Busy, or the store is unreachable",
    }
    return {
        str(status): {"description": reasons[status], "content": {"application/json": {"schema": ERROR}}}
        for status in statuses
    }


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
TEACHER = "Teacher only: send the teacher key as Authorization: Bearer <key> (server/access/teacher.py)."
OWNER = (
    "The attempt's owner (X-Owner-Token: the owner_token its prediction gave) or a teacher "
    "(Authorization: Bearer <key>). No credential: 401; another attempt's token: 403."
)
ACTIVE = {
    "type": "object",
    "properties": {"active": {"type": "string"}, "card": {"type": "object"}},
}
ATTEMPT_ID = {"name": "attempt_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
PROBABILITIES = {"type": "array", "items": {"type": "number"}, "minItems": 10, "maxItems": 10}
DIGIT = {"type": "integer", "minimum": 0, "maximum": 9, "nullable": True}
ROOM_CODE = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{0,16}$",
    "description": "A classroom code (server/access/rooms.py); absent or empty: the default room. Else 400 bad_room.",
}
ROOM = {"name": "room", "in": "query", "schema": ROOM_CODE}
OPENED_ROOM = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{6}$"}}
ROOM_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": "^[0-9]{6}$"},
        "name": {"type": "string"},
        "language": {"type": "string", "enum": ["", "en", "de", "es", "fr", "ar"]},
        "join_url": {"type": "string"},
        "qr": {"type": "string", "description": "The join link's QR code as an SVG data URL"},
        "created_at": {"type": "number"},
        "expires_at": {"type": "number", "description": "When it closes unless used (ROOM_IDLE_MINUTES)"},
    },
}
EXPLAINING = (
    "Also answer with a view inside the network (model/runtime/explain.py): an occlusion heat map and each "
    "convolution layer's activations. Absent: false. Anything but true or false: 400 bad_payload."
)
EXPLAIN = {"name": "explain", "in": "query", "schema": {"type": "boolean"}, "description": EXPLAINING}
EXPLAIN_FORM = {"type": "string", "enum": ["true", "false"], "description": EXPLAINING}
DATA_URL = {"type": "string", "pattern": "^data:image/png;base64,", "description": "a PNG as a data URL"}
EXPLANATION = {
    "type": "object",
    "description": "Only when explain was asked and there was a digit to read (absent for a blank image).",
    "required": ["target", "heatmap", "peak_drop", "layers"],
    "properties": {
        "target": {"type": "integer", "minimum": 0, "description": "The class explained: the model's top class"},
        "heatmap": {
            **DATA_URL,
            "description": "28x28 grayscale PNG aligned with preview: 255 where blacking out a 6x6 patch "
            "lowered the target's probability most",
        },
        "peak_drop": {"type": "number", "minimum": 0, "maximum": 1, "description": "The probability drop 255 means"},
        "layers": {
            "type": "array",
            "description": "Each convolution layer, input to output (of an ensemble, its first network's)",
            "items": {
                "type": "object",
                "required": ["name", "shape", "channels", "mosaic"],
                "properties": {
                    "name": {"type": "string"},
                    "shape": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "minItems": 3,
                        "maxItems": 3,
                        "description": "height, width, channels",
                    },
                    "channels": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "description": "The channels shown, most active first",
                    },
                    "mosaic": {
                        **DATA_URL,
                        "description": "grayscale PNG: the channels' activations tiled row by row, one pixel apart",
                    },
                },
            },
        },
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Digits: live handwritten-digit recognizer",
        "version": "1.0.0",
        "description": "Classify drawings of digits and browse the attempt log. The live protocol is Socket.IO; "
        "see the README. Every /api/ answer carries Cache-Control: no-store. Attempts are kept RETENTION_DAYS "
        "(default 30), then forgotten; no IP address or Socket.IO session id is stored.",
    },
    "paths": {
        "/api/predict": {
            "post": {
                "summary": "Classify one image; answered only once its attempt is durably logged",
                "description": "The answer is sent only after the attempt is in the store or the server's "
                "fsynced local spool, so an answered attempt survives a crash. 503 store_unavailable: neither "
                "could keep it, and the image was not answered.",
                "parameters": [ROOM, EXPLAIN],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "room": ROOM_CODE,
                                    "explain": EXPLAIN_FORM,
                                },
                                "required": ["file"],
                            }
                        },
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "image": {"type": "string", "description": "data URL or base64"},
                                    "room": ROOM_CODE,
                                    "explain": {"type": "boolean", "description": EXPLAINING},
                                },
                                "required": ["image"],
                            }
                        },
                    },
                },
                "responses": {
                    "200": json_response("The prediction", {"$ref": "#/components/schemas/Prediction"}),
                    **error_responses(400, 413, 415, 500, 503),
                },
            }
        },
        "/api/number": {
            "post": {
                "summary": "Read a whole number written in one row (not logged)",
                "description": "Read by the recognizer processes through the same inference queue as every "
                "frame, with the caller's address's fair share of it: 503 busy when that is spent.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"image": {"type": "string"}},
                                "required": ["image"],
                            }
                        },
                        "multipart/form-data": {
                            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                        },
                    },
                },
                "responses": {
                    "200": json_response(
                        "The number and its digits, left to right",
                        {
                            "type": "object",
                            "properties": {
                                "number": {"type": "string"},
                                "digits": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "digit": DIGIT,
                                            "confidence": {"type": "number"},
                                            "box": {"type": "array", "items": {"type": "integer"}},
                                            "preview": {"type": "string", "nullable": True},
                                        },
                                    },
                                },
                            },
                        },
                    ),
                    **error_responses(400, 413, 415, 500, 503),
                },
            }
        },
        "/api/attempts": {
            "get": {
                "summary": "Attempts, newest first, paged by creation time",
                "description": TEACHER,
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "before", "in": "query", "schema": {"type": "number"}},
                    ROOM,
                ],
                "responses": {
                    "200": json_response(
                        "A page of attempts",
                        {
                            "type": "object",
                            "properties": {
                                "attempts": {"type": "array", "items": {"$ref": "#/components/schemas/Attempt"}},
                                "next_before": {"type": "number", "nullable": True},
                            },
                        },
                    ),
                    **error_responses(400, 503),
                },
            }
        },
        "/api/attempts/{attempt_id}": {
            "get": {
                "summary": "One attempt",
                "parameters": [ATTEMPT_ID],
                "description": OWNER,
                "responses": {
                    "200": json_response("The attempt", {"$ref": "#/components/schemas/Attempt"}),
                    **error_responses(400, 404, 503),
                },
            },
            "delete": {
                "summary": "Delete an attempt and its drawing from every table",
                "description": OWNER + " Returns once the deletion is durable (in the store or the spool).",
                "parameters": [ATTEMPT_ID],
                "responses": {
                    "200": json_response("Deleted", {"type": "object", "properties": {"deleted": {"type": "string"}}}),
                    **error_responses(400, 404, 503),
                },
            },
        },
        "/api/attempts/{attempt_id}/image": {
            "get": {
                "summary": "The stored drawing of an attempt",
                "description": TEACHER,
                "parameters": [ATTEMPT_ID],
                "responses": {
                    "200": {
                        "description": "The drawing as kept: a PNG of its pixels only, without "
                        "metadata, within MAX_STORED_IMAGE_BYTES (attempts stored by older versions: as sent). "
                        "404 when none was kept (STORE_IMAGES=false, or too large even when shrunk)",
                        "content": {"image/png": {}, "image/jpeg": {}, "image/gif": {}, "image/webp": {}},
                    },
                    **error_responses(400, 404, 503),
                },
            }
        },
        "/api/attempts/{attempt_id}/label": {
            "put": {
                "summary": "Set (or clear with null) the digit a person says the drawing is",
                "description": OWNER,
                "parameters": [ATTEMPT_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"label": DIGIT}, "required": ["label"]}
                        }
                    },
                },
                "responses": {
                    "200": json_response(
                        "The label was recorded",
                        {"type": "object", "properties": {"attempt_id": {"type": "string"}, "label": DIGIT}},
                    ),
                    **error_responses(400, 404, 503),
                },
            }
        },
        "/api/stats": {
            "get": {
                "summary": "Counts per digit, accuracy over labelled attempts and the confusion matrix",
                "description": TEACHER,
                "parameters": [{"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1}}, ROOM],
                "responses": {
                    "200": json_response("Statistics over finished attempts", {"$ref": "#/components/schemas/Stats"}),
                    **error_responses(400, 503),
                },
            }
        },
        "/api/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": json_response("OpenAPI 3", {"type": "object"})}}
        },
        "/api/models": {
            "get": {
                "summary": "Model versions with their cards, the active one, accuracy on labelled attempts per "
                "version and the last retrain's state",
                "description": TEACHER,
                "responses": {"200": json_response("The versions", {"$ref": "#/components/schemas/Models"})},
            }
        },
        "/api/models/{version}/activate": {
            "post": {
                "summary": "Serve this version in every running process, without a restart",
                "description": TEACHER + " Frames in flight finish on the old model. 409: the version cannot "
                "be served (corrupt or foreign model, or it failed its gate); nothing changed.",
                "parameters": [VERSION],
                "responses": {"200": json_response("Now active", ACTIVE), **error_responses(404, 409)},
            }
        },
        "/api/models/rollback": {
            "post": {
                "summary": "Return every process to the version active before this one",
                "description": TEACHER,
                "responses": {"200": json_response("Now active", ACTIVE), **error_responses(409)},
            }
        },
        "/api/models/{version}": {
            "delete": {
                "summary": "Discard a candidate that was never active",
                "description": TEACHER,
                "parameters": [VERSION],
                "responses": {
                    "200": json_response(
                        "Deleted", {"type": "object", "properties": {"discarded": {"type": "string"}}}
                    ),
                    **error_responses(404, 409),
                },
            }
        },
        "/api/retrain": {
            "get": {
                "summary": "The last retrain: idle, running (with progress), done (with the gate's result) or failed",
                "description": TEACHER,
                "responses": {"200": json_response("Its state", {"$ref": "#/components/schemas/Retrain"})},
            },
            "post": {
                "summary": "Start a retrain in the background (the command `make retrain` runs)",
                "description": TEACHER + " It writes a candidate version and never promotes it.",
                "responses": {
                    "202": json_response("Started", {"$ref": "#/components/schemas/Retrain"}),
                    **error_responses(409),
                },
            },
        },
        "/api/rooms": {
            "post": {
                "summary": "Open a classroom: a six-digit code, the join link and its QR code for the projector",
                "description": TEACHER + " Its connections and frames count against the room's own budget "
                "(ROOM_MAX_CONNECTIONS, ROOM_RATE_LIMIT_PER_SECOND), not the address's.",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewRoom"}}}},
                "responses": {"201": json_response("Opened", ROOM_SCHEMA), **error_responses(400)},
            },
            "get": {
                "summary": "The open classrooms",
                "description": TEACHER,
                "responses": {
                    "200": json_response(
                        "Open rooms",
                        {"type": "object", "properties": {"rooms": {"type": "array", "items": ROOM_SCHEMA}}},
                    )
                },
            },
        },
        "/api/rooms/{code}": {
            "get": {
                "summary": "A class's name and language, for a pupil's page (no key)",
                "description": "404 unknown_room for a code that is not open; each miss spends one of the "
                "address's guesses (ROOM_GUESSES_PER_MINUTE), then 429 for every code.",
                "parameters": [OPENED_ROOM],
                "responses": {
                    "200": json_response(
                        "The open room",
                        {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "name": {"type": "string"},
                                "language": {"type": "string"},
                            },
                        },
                    ),
                    **error_responses(404, 503),
                },
            },
            "delete": {
                "summary": "Close a classroom now: its code is refused from then on",
                "description": TEACHER,
                "parameters": [OPENED_ROOM],
                "responses": {
                    "200": json_response(
                        "Closed",
                        {"type": "object", "properties": {"code": {"type": "string"}, "closed": {"type": "boolean"}}},
                    ),
                    **error_responses(404),
                },
            },
        },
        "/api/rooms/{code}/qr.svg": {
            "get": {
                "summary": "The join link as a QR code (SVG), for the projector",
                "description": TEACHER,
                "parameters": [OPENED_ROOM],
                "responses": {
                    "200": {"description": "The QR code", "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                    **error_responses(404),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Whether inference workers can classify, and whether the store is ok or degraded "
                "(attempts spooled locally)",
                "responses": {"200": json_response("Health", {"$ref": "#/components/schemas/Health"})},
            }
        },
    },
    "components": {
        "securitySchemes": {
            "teacherKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "The teacher key: TEACHER_TOKEN, or the one the server made and printed at "
                "first start (DATA_DIR/teacher_token)",
            },
            "ownerToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Owner-Token",
                "description": "An attempt's owner_token, from its prediction",
            },
        },
        "schemas": {
            "NewRoom": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 40, "description": "What the class is called: 7B"},
                    "language": {
                        "type": "string",
                        "enum": ["", "en", "de", "es", "fr", "ar"],
                        "description": "The language pupils' pages show, unless a pupil chose one (?lang=)",
                    },
                },
            },
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            },
            "Prediction": {
                "type": "object",
                "required": ["attempt_id", "digit", "confidence", "probabilities"],
                "properties": {
                    "attempt_id": {"type": "string"},
                    "digit": DIGIT,
                    "confidence": {"type": "number"},
                    "probabilities": PROBABILITIES,
                    "not_a_digit": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "description": "Calibrated probability that the drawing is no digit at all; "
                        "`digit` is null with reason `not_a_digit` when it reaches the model card's threshold",
                    },
                    "low_confidence": {"type": "boolean"},
                    "reason": {
                        "type": "string",
                        "nullable": True,
                        "description": "why digit is null: blank, too_faint, too_small or not_a_digit",
                    },
                    "preview": {"type": "string", "nullable": True, "description": "data URL of the 28x28 input"},
                    "owner_token": {
                        "type": "string",
                        "description": "Proof that the attempt is yours: send it as X-Owner-Token to read, "
                        "relabel or delete it. Only its SHA-256 is stored; keep it, it is not shown again.",
                    },
                    "explanation": EXPLANATION,
                },
            },
            "Attempt": {
                "type": "object",
                "properties": {
                    "attempt_id": {"type": "string"},
                    "created_at": {"type": "number"},
                    "updated_at": {"type": "number"},
                    "source": {"type": "string", "enum": ["canvas", "upload", "api"]},
                    "session": {
                        "type": "string",
                        "description": "The drawer's pseudonym: HMAC-SHA256 of the connection (or the REST "
                        "caller's address) and the UTC day; the same for one drawer within a day, never an "
                        "address or session id",
                    },
                    "digit": DIGIT,
                    "confidence": {"type": "number"},
                    "probabilities": PROBABILITIES,
                    "label": DIGIT,
                    "model_version": {"type": "string"},
                    "frames": {"type": "integer"},
                    "latency_ms": {"type": "number"},
                    "final": {"type": "boolean"},
                    "room": ROOM_CODE,
                    "hidden": {
                        "type": "boolean",
                        "description": "The teacher hid it from the class's wall (PUT /api/attempts/{id}/hidden)",
                    },
                    "preview": {"type": "string", "nullable": True},
                },
            },
            "Stats": {
                "type": "object",
                "properties": {
                    "days": {"type": "integer"},
                    "room": ROOM_CODE,
                    "attempts": {"type": "integer"},
                    "counts": {"type": "array", "items": {"type": "integer"}},
                    "labelled": {"type": "integer"},
                    "correct": {"type": "integer"},
                    "accuracy": {"type": "number", "nullable": True},
                    "per_digit_accuracy": {"type": "array", "items": {"type": "number", "nullable": True}},
                    "confusion": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                },
            },
            "Models": {
                "type": "object",
                "properties": {
                    "active": {"type": "string"},
                    "previous": {"type": "array", "items": {"type": "string"}},
                    "versions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "version": {"type": "string"},
                                "builtin": {"type": "boolean"},
                                "active": {"type": "boolean"},
                                "card": {"type": "object", "nullable": True},
                                "error": {"type": "string", "nullable": True},
                            },
                        },
                    },
                    "labelled_accuracy": {"type": "object", "nullable": True},
                    "retrain": {"$ref": "#/components/schemas/Retrain"},
                },
            },
            "Retrain": {
                "type": "object",
                "properties": {
                    "state": {"type": "string", "enum": ["idle", "running", "done", "failed"]},
                    "stage": {"type": "string"},
                    "progress": {"type": "number"},
                    "result": {"type": "object"},
                    "error": {"type": "string"},
                },
            },
            "Health": {
                "type": "object",
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["ok", "degraded"],
                        "description": "degraded when no inference worker can classify or the store is unreachable",
                    },
                    "model": {
                        "type": "object",
                        "properties": {
                            "loaded": {"type": "boolean", "description": "at least one inference worker can classify"},
                            "version": {"type": "string"},
                            "workers": {
                                "type": "object",
                                "description": "workers whose thread runs and whose recognizer (process) is alive",
                                "properties": {"ready": {"type": "integer"}, "total": {"type": "integer"}},
                            },
                        },
                    },
                    "store": {
                        "type": "object",
                        "properties": {
                            "store": {"type": "string", "enum": ["ok", "degraded"]},
                            "spool_depth": {"type": "integer", "description": "writes waiting for the store"},
                        },
                        "description": "Stable fields only: why the store failed goes to the server's log",
                    },
                    "queue_depth": {"type": "integer"},
                },
            },
        },
    },
}

# The teacher's hands on the wall (server/api/moderation.py) and the lesson's downloads (server/api/lesson_export.py).
ANY_ROOM = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,16}$"},
    "description": "Any room code: an opened room (open, closed or expired) or a free-form one. Else 400 bad_room.",
}
LESSON_EXPORT = (
    " Streamed as it is read from the store, a page of attempts at a time: finished attempts only, newest "
    "first. Columns: id, created_at (ISO 8601, UTC), digit, confidence, label, model_version, room, "
    "room_name, source, frames, hidden, drawing (its file in drawings.zip, empty when none is there)."
)
MODERATION_PATHS: dict[str, Any] = {
    "/api/attempts/{attempt_id}/hidden": {
        "put": {
            "summary": "Hide an attempt from the class's wall, or show it again",
            "description": TEACHER + " Kept with the attempt (its later writes keep it); once durable, the room's "
            "Socket.IO feed gets hidden {attempt_id, hidden}, so every wall and dashboard drops it. The history "
            "still lists it, with hidden true.",
            "parameters": [ATTEMPT_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"hidden": {"type": "boolean"}},
                            "required": ["hidden"],
                        }
                    }
                },
            },
            "responses": {
                "200": json_response(
                    "Hidden (or shown again)",
                    {
                        "type": "object",
                        "properties": {
                            "attempt_id": {"type": "string"},
                            "hidden": {"type": "boolean"},
                            "room": ROOM_CODE,
                        },
                    },
                ),
                **error_responses(400, 404, 503),
            },
        }
    },
    "/api/rooms/{code}/attempts.csv": {
        "get": {
            "summary": "A room's attempts as CSV, for the lesson's records",
            "description": TEACHER + LESSON_EXPORT + " UTF-8 with a byte order mark.",
            "parameters": [ANY_ROOM],
            "responses": {
                "200": {
                    "description": "The CSV, as an attachment",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **error_responses(400, 503),
            },
        }
    },
    "/api/rooms/{code}/drawings.zip": {
        "get": {
            "summary": "A room's kept drawings as a ZIP (<created>_<id>.png each) with attempts.csv inside",
            "description": TEACHER + LESSON_EXPORT + " Drawings hidden from the wall are left out of the ZIP "
            "(their rows stay in the CSV); attempts without a kept drawing have none.",
            "parameters": [ANY_ROOM],
            "responses": {
                "200": {
                    "description": "The ZIP, as an attachment",
                    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                },
                **error_responses(400, 503),
            },
        }
    },
}
SPEC["paths"].update(MODERATION_PATHS)


TEACHER_ONLY = [
    ("/api/attempts", "get"),
    ("/api/attempts/{attempt_id}/image", "get"),
    ("/api/stats", "get"),
    ("/api/models", "get"),
    ("/api/models/{version}/activate", "post"),
    ("/api/models/rollback", "post"),
    ("/api/models/{version}", "delete"),
    ("/api/retrain", "get"),
    ("/api/retrain", "post"),
    ("/api/rooms", "post"),
    ("/api/rooms", "get"),
    ("/api/rooms/{code}", "delete"),
    ("/api/rooms/{code}/qr.svg", "get"),
    ("/api/attempts/{attempt_id}/hidden", "put"),
    ("/api/rooms/{code}/attempts.csv", "get"),
    ("/api/rooms/{code}/drawings.zip", "get"),
]
OWNER_OR_TEACHER = [
    ("/api/attempts/{attempt_id}", "get"),
    ("/api/attempts/{attempt_id}", "delete"),
    ("/api/attempts/{attempt_id}/label", "put"),
]


def require_security(spec: dict[str, Any]) -> None:
    """Every protected operation names its schemes and documents its refusals, from the two lists above."""
    for routes, security, refusals in (
        (TEACHER_ONLY, [{"teacherKey": []}], (401,)),
        (OWNER_OR_TEACHER, [{"teacherKey": []}, {"ownerToken": []}], (401, 403)),
    ):
        for path, method in routes:
            operation = spec["paths"][path][method]
            operation["security"] = security
            operation["responses"].update(error_responses(*refusals))


RETRY_AFTER = {"description": "Seconds until the address may call again", "schema": {"type": "integer"}}


def require_rate_limits(spec: dict[str, Any]) -> None:
    """Every operation under /api/ except this description is rate limited per client address: 429."""
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/") or path == "/api/openapi.json":
            continue
        for operation in operations.values():
            operation["responses"].update(error_responses(429))
            operation["responses"]["429"]["headers"] = {"Retry-After": RETRY_AFTER}


# The browser's offline fallback and kiosks (server/api/browser_model.py, deliveries.py, kiosks.py; docs/offline.md).
DELIVERED = {
    "type": "object",
    "properties": {
        "attempt_id": {"type": "string", "format": "uuid"},
        "stored": {"type": "boolean", "description": "false: the server had it already (nothing changed)"},
        "server": {"type": "object", "description": "The server's own answer: digit, confidence, model_version"},
    },
}
OFFLINE_PATHS: dict[str, Any] = {
    "/api/model/card": {
        "get": {
            "summary": "The model this process serves, for the browser's offline recognizer",
            "description": "Its version, the SHA-256 of its .tflite (the page checks the bytes against it), the "
            "card's calibration and classes, and the preprocessing contract (model/runtime/preprocess.json).",
            "responses": {
                "200": json_response(
                    "The served model",
                    {
                        "type": "object",
                        "required": ["version", "sha256", "tflite", "card", "preprocess"],
                        "properties": {
                            "version": {"type": "string"},
                            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            "tflite": {"type": "string", "description": "Where its .tflite is"},
                            "card": {"type": "object"},
                            "preprocess": {"type": "object"},
                        },
                    },
                )
            },
        }
    },
    "/api/model/digits.tflite": {
        "get": {
            "summary": "The served model's .tflite, byte for byte (or the named version's)",
            "parameters": [{"name": "version", "in": "query", "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The LiteRT flatbuffer; X-Model-Version names its version",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                },
                **error_responses(404),
            },
        }
    },
    "/api/deliveries": {
        "post": {
            "summary": "Deliver an attempt drawn while the server was unreachable (idempotent by attempt id)",
            "description": "The server re-recognizes the drawing with its own model and stores it (source offline, "
            "drawn_at as its time) with the browser's answer and claimed model version beside it. An attempt it "
            "already has is a no-op (stored false; a label is still kept) for its owner token, 403 forbidden for "
            "any other; 503 busy while the same attempt's delivery is in flight. A class closed since it was drawn "
            "logs it in the default room.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["attempt_id", "owner_token", "image", "model_version", "drawn_at"],
                            "properties": {
                                "attempt_id": {"type": "string", "format": "uuid"},
                                "owner_token": {"type": "string", "minLength": 16, "maxLength": 128},
                                "image": DATA_URL,
                                "digit": DIGIT,
                                "reason": {"type": "string", "nullable": True},
                                "confidence": {"type": "number", "nullable": True},
                                "model_version": {"type": "string"},
                                "label": DIGIT,
                                "drawn_at": {"type": "number"},
                                "kiosk_id": {"type": "string"},
                                "room": ROOM_CODE,
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": json_response("Stored now (stored true) or before (stored false)", DELIVERED),
                **error_responses(400, 403, 413, 415, 500, 503),
            },
        }
    },
    "/api/deliveries/{attempt_id}": {
        "get": {
            "summary": "An offline attempt's two answers: the browser's (kept as delivered) and the server's",
            "description": OWNER,
            "parameters": [ATTEMPT_ID],
            "responses": {"200": json_response("Both answers", {"type": "object"}), **error_responses(400, 404)},
        }
    },
    "/api/kiosks/heartbeat": {
        "post": {
            "summary": "A kiosk says it is alive (every 30 s): its model, online and offline time, deliveries waiting",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["kiosk_id"],
                            "properties": {
                                "kiosk_id": {"type": "string"},
                                "model_version": {"type": "string"},
                                "online_seconds": {"type": "number"},
                                "offline_seconds": {"type": "number"},
                                "waiting": {"type": "integer"},
                                "attempts_today": {"type": "integer"},
                                "state": {"type": "string", "enum": ["online", "offline"]},
                            },
                        }
                    }
                },
            },
            "responses": {"200": json_response("Kept", {"type": "object"}), **error_responses(400)},
        }
    },
    "/api/kiosks": {
        "get": {
            "summary": "Every kiosk's latest heartbeat, for the dashboard's kiosk panel",
            "description": TEACHER,
            "responses": {"200": json_response("The kiosks", {"type": "object"})},
        }
    },
}
SPEC["paths"].update(OFFLINE_PATHS)
TEACHER_ONLY.append(("/api/kiosks", "get"))
OWNER_OR_TEACHER.append(("/api/deliveries/{attempt_id}", "get"))


require_security(SPEC)
require_rate_limits(SPEC)
