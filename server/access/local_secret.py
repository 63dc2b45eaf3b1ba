"""A secret kept in the data folder, mode 0600, made once and shared by every process of the server."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_or_create(path: Path) -> tuple[str, bool]:
    """The secret in ``path``, else a new one written there with mode 0600; and whether it is new.

    O_EXCL: of two processes starting together, one writes and the other reads its secret.
    """
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    return secret, True
