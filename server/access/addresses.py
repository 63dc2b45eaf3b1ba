"""Who is asking: the one place the server reads a client's address.

Abuse limits count per address, not per connection (a reconnect must not reset them). The
address is ``request.remote_addr``: the socket's peer, or, behind ``PROXY_COUNT`` trusted
proxies, the client X-Forwarded-For names (werkzeug's ProxyFix rewrites ``remote_addr`` in
``create_app``). Everything else calls this function, so that wiring stays in one place.
The address itself is never stored: an attempt keeps only a daily pseudonym of it.
"""

from __future__ import annotations

from flask import request


def client_address() -> str:
    """The client's address for the current request or Socket.IO event ("" when unknown)."""
    return request.remote_addr or ""
