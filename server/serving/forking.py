"""The web process's end of the recognizer template (``model/runtime/template.py``).

``RecognizerTemplate.spawn`` asks the template for a recognizer process and returns a handle on
it and the web process's ends of its two pipes. The template is started on first use, one per web
process, and started again if it died. The request goes over a real (not green) Unix socket, sent and
answered in one of eventlet's OS threads (``off_the_loop``): it waits for a fork, and at the very
first request for the template's own start-up (imports, the compiled kernels), while every
connection is served on. The recognizer's pipes are ordinary pipes, green files under eventlet
as ``subprocess`` makes them: a Unix socket in their place, green, made the 50-drawer p99
half again as long (``python -m bench.live --versus``).

A forked recognizer is the template's child, not ours: ``ForkedProcess`` watches it by pid
(``kill(pid, 0)``), and its exit code is the template's to know, not ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO

from server.concurrency import eventlet_active, off_the_loop

ROOT = Path(__file__).resolve().parents[2]  # where ``python -m model.runtime.template`` finds ``model``
PID_SIZE = 4


class ForkedProcess:
    """A recognizer process forked by the template: ``subprocess.Popen``'s ``pid``, ``poll``, ``wait`` and
    ``kill``, with ``-1`` for "it ended" (its exit code went to the template)."""

    ENDED = -1

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = self.ENDED
            except PermissionError:  # the pid went to someone else's process: ours ended
                self.returncode = self.ENDED
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        """The return code once it ended, or None when it still runs after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class RecognizerTemplate:
    """Starts the template on first use and asks it for recognizer processes, one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def spawn(self, settings: dict) -> tuple[ForkedProcess, BinaryIO, BinaryIO]:
        """A new recognizer process serving ``settings`` (model and card paths, image limits), and our ends of
        its two pipes: the one we read its answers from, the one we write batches to."""
        child_reads, we_write = os.pipe()
        we_read, child_writes = os.pipe()
        try:
            with self._lock:
                if self._process is None or self._process.poll() is not None:
                    self._start()
                try:
                    pid = off_the_loop(self._request, settings, [child_reads, child_writes])
                except OSError:  # the template died since the last request: a new one, once
                    self._start()
                    pid = off_the_loop(self._request, settings, [child_reads, child_writes])
        except BaseException:
            os.close(we_read)
            os.close(we_write)
            raise
        finally:
            os.close(child_reads)
            os.close(child_writes)
        return ForkedProcess(pid), pipe_file(we_read, "rb"), pipe_file(we_write, "wb")

    def _request(self, settings: dict, descriptors: list[int]) -> int:
        """Send one request and wait for the pid: blocking, in an OS thread."""
        socket.send_fds(self._control, [json.dumps(settings).encode()], descriptors)
        answer = self._control.recv(PID_SIZE)
        if len(answer) != PID_SIZE:
            raise ConnectionResetError("the recognizer template closed its socket")
        return int.from_bytes(answer, "big", signed=True)

    def _start(self) -> None:
        self._stop()
        ours, theirs = real_socket_module().socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "model.runtime.template", str(theirs.fileno())],
                cwd=ROOT,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self._control = ours

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()  # the template reads the end of its socket and exits
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None


def pipe_file(descriptor: int, mode: str) -> BinaryIO:
    """A buffered file on our end of a pipe: green under eventlet (as ``subprocess`` makes its pipes there)."""
    if eventlet_active():
        from eventlet import greenio

        return greenio.GreenPipe(descriptor, mode)
    return os.fdopen(descriptor, mode)


def real_socket_module():
    """``socket`` itself, even where eventlet made it green: the template's socket is used from an OS thread."""
    if eventlet_active():
        from eventlet import patcher

        return patcher.original("socket")
    return socket


_template = RecognizerTemplate()


def recognizer_template() -> RecognizerTemplate:
    """This process's template (gunicorn's worker makes its own after the fork: nothing is started before)."""
    return _template
