"""The recognizer's end of a pipe: what a recognizer child process runs (``server/engines.py`` starts it).

It lives in ``model`` so that the child imports only what recognition needs (NumPy,
SciPy, Pillow, LiteRT), not the web server: about 23 MB less per child.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from pathlib import Path

from model.decode import Limits
from model.recognizer import Recognition, Recognizer


def serve(connection: Connection, model_path: str, card_path: str, limits: Limits) -> None:
    """A batch of raw images in, one Recognition or ImageError per image out, until the pipe closes."""
    recognizer = Recognizer.load(Path(model_path), Path(card_path), limits)
    while True:
        try:
            raws = connection.recv()
        except (EOFError, OSError):
            return
        results = recognizer.recognize_batch(raws)
        for result in results:
            if isinstance(result, Recognition):
                _ = result.preview_png  # encoded here, off the server's GIL; it travels in the pickle
        connection.send(results)
