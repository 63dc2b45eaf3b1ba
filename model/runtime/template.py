"""The recognizer template: one process that has loaded everything a recognizer needs, and forks recognizers.

Each recognizer process used to start from nothing (``python -m model.runtime.worker``): its own
copy of NumPy, LiteRT, numba and the LLVM state behind the compiled kernels, about 50 MB of
private memory each, plus a second or two of imports before it could answer. The web process
now starts this template once (``server/serving/forking.py``); it imports and warms all of that,
freezes it (``gc.freeze``: the collector will not write to those pages), and then forks a
recognizer for each request. A fork shares every page it does not write to, so two recognizers
cost little more than one (``python -m bench.footprint``), and a recognizer that replaces a dead
one is ready in milliseconds.

The request comes over a Unix socket of datagrams (``SOCK_SEQPACKET``): the recognizer's settings
as JSON, with the recognizer's ends of its two pipes to the web process passed along
(``SCM_RIGHTS``). The answer is the new process's pid. The forked recognizer serves
``model.runtime.worker.serve`` on those pipes until the web process closes them. The template
ends when the web process does (its control socket closes); it never reads an image itself.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import struct
import sys
from pathlib import Path

from model.runtime import kernels
from model.runtime.decode import Limits
from model.runtime.worker import Channel, serve

PID = struct.Struct("!i")
MAX_REQUEST = 4096
TEMPLATE_NAME, RECOGNIZER_NAME = "digits-template", "digits-recogniz"  # at most 15 characters


def name_process(name: str) -> None:
    """The name ``ps``, ``top`` and psutil show (Linux): a forked recognizer keeps the template's command line."""
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name)


def recognize(descriptors: list[int], settings: dict) -> None:
    """A forked recognizer's life: serve batches from its pipes until the web process closes them."""
    name_process(RECOGNIZER_NAME)
    for descriptor in descriptors:
        os.set_blocking(descriptor, True)  # a flag of the pipe's end, which eventlet may have set where it came from
    reader, writer = os.fdopen(descriptors[0], "rb"), os.fdopen(descriptors[1], "wb")
    limits = Limits(settings["max_bytes"], settings["max_pixels"], settings["max_stored_bytes"])
    serve(Channel(reader, writer), settings["model_path"], settings["card_path"], limits)


def fork_recognizer(control: socket.socket, settings: dict, descriptors: list[int]) -> int:
    """Fork a recognizer on its two pipes (read, write); in the template, the child's pid (the child never
    returns)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            recognize(descriptors, settings)
        except BaseException as error:  # a recognizer reports and exits: it must never return into the loop
            print(f"recognizer process {os.getpid()}: {error!r}", file=sys.stderr)
            code = 1
        finally:
            os._exit(code)
    for descriptor in descriptors:
        os.close(descriptor)
    return pid


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    name_process(TEMPLATE_NAME)
    kernels.warm()  # compiled (or read from numba's cache) once, here, for every recognizer
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the recognizers: no zombies
    gc.collect()
    gc.freeze()  # what is loaded now stays on pages the recognizers share
    while True:
        message, descriptors, _, _ = socket.recv_fds(control, MAX_REQUEST, 2)
        if not message:
            return  # the web process is gone
        pid = fork_recognizer(control, json.loads(message), descriptors)
        control.sendall(PID.pack(pid))


if __name__ == "__main__":
    main()
