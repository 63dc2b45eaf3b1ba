"""The REST rate limit per client address: every /api/ request that does work spends a token.

One ``before_request`` hook for the whole app, so a new route (``/api/models`` included) is
limited without remembering to. Only the machine-readable description is free.
"""

from __future__ import annotations

import math

from flask import Flask, current_app, request

from server.addresses import client_address

FREE = {"/api/openapi.json"}


def limit_rest():
    """Answer 429 ``rate_limited`` with Retry-After when the caller's address has spent its requests."""
    if not request.path.startswith("/api/") or request.path in FREE:
        return None
    wait = current_app.extensions["digits"].limits.request_wait(client_address())
    if not wait:
        return None
    from server.api import error_response  # the API's error shape; imported late, as api imports the service

    retry_after = str(max(1, math.ceil(wait)))
    message = f"Too many requests from your network: try again in {retry_after} s."
    return error_response(429, "rate_limited", message, {"Retry-After": retry_after})


def install(app: Flask) -> None:
    app.before_request(limit_rest)
