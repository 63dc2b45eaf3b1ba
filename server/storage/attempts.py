"""The attempt record: one per drawing (or upload), upserted as its frames are classified."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any


def new_attempt_id() -> str:
    """A time-based UUID, for attempts the server starts (REST calls)."""
    return str(uuid.uuid1())


@dataclass(frozen=True)
class Attempt:
    id: str
    created_at: float
    source: str  # canvas, upload, api or offline (a delivery)
    drawer: str  # the drawer's daily pseudonym (server/access/pseudonyms.py); stored and published as "session"
    digit: int | None
    confidence: float
    probabilities: list[float]
    image: bytes | None  # the drawing kept: a metadata-free PNG, bounded (model/runtime/drawing.py)
    input: bytes | None  # the 28x28 PNG the model saw
    model_version: str
    frames: int = 1
    latency_ms: float = 0.0
    final: bool = False
    label: int | None = None
    updated_at: float = field(default_factory=time.time)
    owner: str | None = None  # SHA-256 of the owner token (server/access/owners.py); never in summary()
    room: str = ""  # the classroom (server/access/rooms.py); "" is the default room
    hidden: bool = False  # hidden from the class's wall by the teacher (moderation); written on its own (set_hidden)

    def summary(self) -> dict[str, Any]:
        """The JSON view of an attempt for the API: everything but the drawing itself."""
        return {
            "attempt_id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "source": self.source,
            "session": self.drawer,  # the field's name since the first release: clients read it
            "digit": self.digit,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "label": self.label,
            "model_version": self.model_version,
            "frames": self.frames,
            "latency_ms": self.latency_ms,
            "final": self.final,
            "room": self.room,
            "hidden": self.hidden,
            "preview": data_url(self.input),
        }

    def to_json(self) -> str:
        """Lossless JSON for the spool (bytes as base64)."""
        record = asdict(self)
        for key in ("image", "input"):
            record[key] = None if record[key] is None else base64.b64encode(record[key]).decode()
        return json.dumps(record)

    @classmethod
    def from_json(cls, text: str) -> Attempt:
        record = json.loads(text)
        if "session" in record:  # spooled before the field was named for what it holds
            record["drawer"] = record.pop("session")
        for key in ("image", "input"):
            record[key] = None if record[key] is None else base64.b64decode(record[key])
        return cls(**record)


def data_url(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def day_of(timestamp: float) -> str:
    """The UTC day an attempt belongs to: the Cassandra history partition."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))
