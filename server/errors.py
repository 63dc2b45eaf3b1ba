"""The REST API's one error type, shared by every blueprint and by the access checks.

It lives apart from ``api.py`` so that ``teacher.py`` and ``owners.py`` can raise it
without importing the routes that call them.
"""

from __future__ import annotations


class ApiError(Exception):
    """A refusal with an HTTP status, a stable machine ``code``, a message for people and optional headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
