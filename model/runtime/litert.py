"""Run the exported model with LiteRT: the fast, small-footprint engine used for serving.

A LiteRT interpreter is not thread-safe, so ``Classifier`` keeps one per thread; the
flatbuffer itself is read once and shared.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from model.runtime.calibration import Calibration

if TYPE_CHECKING:
    from ai_edge_litert.interpreter import Interpreter


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28, 1) in [0, 1], the model's input contract."""
    return (images.astype(np.float32) / 255.0)[..., None]


class Classifier:
    """Probabilities for batches of prepared (n, 28, 28, 1) float32 images."""

    def __init__(self, model_content: bytes, threads: int = 1) -> None:
        self._model_content = model_content
        self._threads = threads
        self._local = threading.local()

    @property
    def model_content(self) -> bytes:
        """The flatbuffer, for another view of the same model (``model/runtime/explain.py``)."""
        return self._model_content

    @classmethod
    def load(cls, path: Path, threads: int = 1) -> Classifier:
        return cls(Path(path).read_bytes(), threads=threads)

    def _interpreter(self, batch: int) -> Interpreter:
        """This thread's interpreter, resized only when the batch size changes."""
        local = self._local
        if getattr(local, "interpreter", None) is None:
            # Imported here: training reads ``to_input`` on machines without LiteRT (an accelerator's).
            from ai_edge_litert.interpreter import Interpreter

            local.interpreter = Interpreter(model_content=self._model_content, num_threads=self._threads)
            local.batch = None
        if local.batch != batch:
            input_index = local.interpreter.get_input_details()[0]["index"]
            local.interpreter.resize_tensor_input(input_index, [batch, 28, 28, 1])
            local.interpreter.allocate_tensors()
            local.batch = batch
        return local.interpreter

    def predict(self, images: np.ndarray) -> np.ndarray:
        """One model call for the whole batch; returns (n, classes) probabilities (10 digits, then "not a digit")."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        interpreter = self._interpreter(len(images))
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], images)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

    def predict_all(self, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Probabilities for any number of images, in fixed-size chunks to bound memory."""
        return np.concatenate([self.predict(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])

    def accuracy(self, images: np.ndarray, labels: np.ndarray, calibration: Calibration | None = None) -> float:
        """The share answered right; with a calibration, as served: a "not a digit" refusal counts as wrong."""
        return float((calibration or Calibration()).answers(self.predict_all(images)).right(labels).mean())
