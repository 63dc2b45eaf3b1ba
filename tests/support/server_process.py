"""Start ``python -m server`` (what ``make run`` runs) as a real process for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
TEACHER_TOKEN = "test-teacher-key-not-a-secret"  # every test server's key, so tests can act as the teacher
TEACHER_HEADERS = {"Authorization": f"Bearer {TEACHER_TOKEN}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(base: str, process: subprocess.Popen, timeout: float = 60, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting up
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            output = log.read_bytes() if log is not None else (process.stderr.read() if process.stderr else b"")
            raise RuntimeError(f"the server did not start: {output.decode(errors='replace')[-3000:]}")
        time.sleep(0.2)


def start_server(
    data: Path, command: list[str] | None = None, port: int | None = None, cwd: Path = ROOT, **settings: str
) -> tuple[subprocess.Popen, str]:
    """Start a server on a free port (or ``port``) with its own SQLite file and spool in ``data``.

    ``command`` defaults to ``python -m server``, run in ``cwd`` (this tree; a benchmark may
    pass another revision's); ``{port}`` in its arguments is filled in, and ``PORT`` is set in
    its environment. Its stderr goes to ``data/server.log``: a pipe nobody reads would block the
    server once it has written 64 KB (werkzeug logs every request). Returns the process, once
    healthy, and its base URL.
    """
    port = port or free_port()
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # as in an activated virtualenv
        "PORT": str(port),
        "STORE_URL": f"sqlite:///{data / 'attempts.db'}",
        "SPOOL_PATH": str(data / "spool.db"),
        "MODELS_DIR": str(data / "models"),
        "LOG_FLUSH_SECONDS": "0.05",
        "DATA_DIR": str(data),
        "TEACHER_TOKEN": TEACHER_TOKEN,
        # Tests post back to back from one address; test_rate_limits checks the limit itself.
        "REST_RATE_LIMIT_PER_SECOND": "1000",
        "REST_RATE_LIMIT_BURST": "1000",
        **settings,
    }
    log = data / "server.log"  # a file, not a pipe: a pipe nobody reads blocks the server once full
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [part.replace("{port}", str(port)) for part in command] if command else [sys.executable, "-m", "server"],
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: stopping it stops its workers and children too
        )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process, log=log)
    return process, base


def stop_server(process: subprocess.Popen) -> None:
    """Stop a server and everything it started (gunicorn's worker, recognizer processes), politely first."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived its master, or a stuck child
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


@contextmanager
def running_server(
    data: Path, command: list[str] | None = None, port: int | None = None, cwd: Path = ROOT, **settings: str
) -> Iterator[str]:
    """``start_server`` for the length of a ``with`` block; yields the base URL and stops the server after."""
    process, base = start_server(data, command, port, cwd, **settings)
    try:
        yield base
    finally:
        stop_server(process)
