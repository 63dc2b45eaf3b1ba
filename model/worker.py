"""The recognizer's end of a pipe: what a recognizer child process runs (``server/engines.py`` starts it).

It lives in ``model`` so that the child imports only what recognition needs (NumPy,
SciPy, Pillow, LiteRT), not the web server: about 23 MB less per child.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection
from pathlib import Path

from model.decode import Limits
from model.recognizer import Recognition, Recognizer

ModelPaths = tuple[str, str]  # (model, card)
Batch = tuple[ModelPaths, list[bytes]]  # the model the server wants, and the images


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


def serve(connection: Connection, model_path: str, card_path: str, limits: Limits) -> None:
    """A batch of raw images in, one Recognition or ImageError per image out, until the pipe closes."""
    recognizer = Recognizer.load(Path(model_path), Path(card_path), limits)
    while True:
        try:
            wanted, raws = connection.recv()
        except (EOFError, OSError):
            return
        recognizer = follow(recognizer, wanted)
        results = recognizer.recognize_batch(raws)
        for result in results:
            if isinstance(result, Recognition):
                _ = result.preview_png  # encoded here, off the server's GIL; it travels in the pickle
        connection.send(results)
