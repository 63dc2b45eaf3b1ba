"""Who is calling, as far as the server can tell: one function, so proxy handling lives in one place."""

from __future__ import annotations

from flask import request


def client_address() -> str:
    """The caller's address; behind PROXY_COUNT trusted proxies, ProxyFix (create_app) has already put the
    client's own address from X-Forwarded-For here. Used only as a pseudonym's input, never stored."""
    return request.remote_addr or ""
