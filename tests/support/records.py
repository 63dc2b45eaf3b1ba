"""Attempt records for store and log tests."""

from __future__ import annotations

import time

from server.storage.attempts import Attempt, new_attempt_id


def make_attempt(
    created_at: float | None = None,
    attempt_id: str | None = None,
    digit: int | None = 3,
    final: bool = True,
    frames: int = 1,
    room: str = "",
) -> Attempt:
    return Attempt(
        id=attempt_id or new_attempt_id(),
        created_at=time.time() if created_at is None else created_at,
        source="canvas",
        drawer="drawer-1",
        digit=digit,
        confidence=0.75,
        probabilities=[0.025] * 9 + [0.775],
        image=b"\x89PNG drawing",
        input=b"\x89PNG input",
        model_version="v1",
        frames=frames,
        latency_ms=4.5,
        final=final,
        owner="0f" * 32,  # an owner token's SHA-256
        room=room,
    )
