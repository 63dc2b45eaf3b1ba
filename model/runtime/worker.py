"""The recognizer's end of its pipes: the loop a recognizer process runs (forked by ``template.py``).

It lives in ``model`` so that the recognizer imports only what recognition needs (NumPy,
Pillow, LiteRT, numba), not the web server: about 23 MB less per process, and nothing of
the server's concurrency (eventlet's monkey-patching stays in the web process). Batches
come in and results go out as length-prefixed pickles (``Channel``) on plain pipes, which
a green thread and a real thread wait on alike.
"""

from __future__ import annotations

import pickle
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO

from model.runtime.decode import Limits
from model.runtime.recognizer import NumberImage, NumberRecognition, Recognition, Recognizer

ModelPaths = tuple[str, str]  # (model, card)
# The model the server wants, the images (a NumberImage is read as a row of digits), whose drawing to keep,
# which to explain (model/runtime/explain.py: computed here, off the server, only for the frames that ask).
Batch = tuple[ModelPaths, list[bytes | NumberImage], list[bool], list[bool]]


def follow(recognizer: Recognizer, wanted: ModelPaths) -> Recognizer:
    """The recognizer for the model the server asked for: a live swap reaches the child with its next batch.

    The server checked the model before asking, so a failure here is unexpected; the child
    then keeps answering with the model it has (its Recognitions say which).
    """
    if recognizer.files == (Path(wanted[0]), Path(wanted[1])):
        return recognizer
    try:
        return Recognizer.load(Path(wanted[0]), Path(wanted[1]), recognizer.limits)
    except Exception as error:
        print(f"recognizer process: cannot load {wanted[0]} ({error}); keeping {recognizer.version}", file=sys.stderr)
        return recognizer


class Channel:
    """Whole Python objects over a pair of pipes: an 8-byte length, then the pickle.

    Both ends are this project's own processes, so pickle is safe here; nothing from the
    network is ever unpickled (clients' images travel as bytes inside the batch).
    """

    HEADER = struct.Struct("!Q")

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self.reader, self.writer = reader, writer

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(self.HEADER.pack(len(data)) + data)
        self.writer.flush()

    def recv(self) -> Any:
        (length,) = self.HEADER.unpack(self._read(self.HEADER.size))
        return pickle.loads(self._read(length))

    def _read(self, count: int) -> bytes:
        """Exactly ``count`` bytes. A green pipe (the server's end, under eventlet) may return fewer than
        asked while the rest is still on its way: a short read is not the end, only an empty one is."""
        chunks, remaining = [], count
        while remaining > 0:
            data = self.reader.read(remaining)
            if not data:
                raise EOFError("the other end closed the pipe")
            chunks.append(data)
            remaining -= len(data)
        return b"".join(chunks)


def serve(connection: Channel, model_path: str, card_path: str, limits: Limits) -> None:
    """A batch of raw images in, one Recognition (a NumberRecognition for a NumberImage) or ImageError
    per image out, until the pipe closes."""
    recognizer = Recognizer.load(Path(model_path), Path(card_path), limits)
    while True:
        try:
            wanted, raws, keep, explain = connection.recv()
        except (EOFError, OSError):
            return
        recognizer = follow(recognizer, wanted)
        results = recognizer.recognize_items(raws, keep, explain)
        for result in results:
            for recognition in result.digits if isinstance(result, NumberRecognition) else [result]:
                if isinstance(recognition, Recognition):
                    _ = recognition.preview_png  # encoded here, off the server's GIL; it travels in the pickle
        connection.send(results)
