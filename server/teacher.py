"""Who may change the model: the one place the teacher check lives.

Every teacher-only route (listing, promoting, rolling back and discarding model versions,
starting a retrain) calls ``require_teacher()`` first. There is no teacher key yet, so it
admits everyone; the teacher-key issue (``TEACHER_TOKEN``, rooms and owner tokens) fills
it in here, and no route needs to change.
"""

from __future__ import annotations


def require_teacher() -> None:
    """Raise ``ApiError(403, "forbidden", ...)`` unless the request comes from a teacher; for now, admit everyone."""
