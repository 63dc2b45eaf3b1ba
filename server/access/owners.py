"""Owner tokens: an attempt belongs to whoever drew it.

The server hands the drawer a random token with the attempt's first answer and keeps only
its SHA-256, so a leaked database cannot be replayed as tokens. A later frame, label or
delete for the attempt from another connection (a reconnect, a restart, a REST client)
must show the token; teachers, with their key, may change any attempt.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets

OWNER_HEADER = "X-Owner-Token"
MIN_TOKEN_CHARS = 16  # a token a page makes itself: the page's are 32 characters (192 random bits)


class Access(enum.Enum):
    """What a caller may do with an attempt id."""

    ALLOWED = "allowed"  # its creator's connection, its owner token, or the teacher key
    FORBIDDEN = "forbidden"  # the attempt exists and belongs to someone else
    UNKNOWN = "unknown"  # no such attempt (yet): a frame starts it, anything else is 404


def new_owner_token() -> tuple[str, str]:
    """A fresh token (192 random bits) and the hash that is stored in its place."""
    token = secrets.token_urlsafe(24)
    return token, owner_hash(token)


def is_page_token(token: str | None) -> bool:
    """Whether ``token`` can be one a page made for its attempt: long enough to be as hard to guess as ours."""
    return token is not None and len(token) >= MIN_TOKEN_CHARS


def owner_token_for(proposed: str | None) -> tuple[str, str]:
    """A new attempt's token and its hash: the one the page sent with its first frame, else a fresh one.

    The page makes its own (as many random bits as ours), so an attempt whose first answer never arrives
    (the connection dropped) and that it finishes offline is still provably its own when it is delivered."""
    if is_page_token(proposed):
        return proposed, owner_hash(proposed)
    return new_owner_token()


def owner_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def owns(stored_hash: str | None, token: str | None) -> bool:
    """Whether ``token`` is the one whose hash was stored, compared in constant time.

    Attempts stored before owners existed have no hash: only a teacher may change them.
    """
    if not stored_hash or not token:
        return False
    return hmac.compare_digest(stored_hash, owner_hash(token))
