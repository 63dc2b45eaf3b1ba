"""The recognizer: image bytes in, a digit (or a number) with everything the UI shows out.

``Recognizer.load().recognize(data)`` reads one digit; ``recognize_number`` reads a row
of digits; ``recognize_batch`` is the entry point that the server uses for canvas frames,
answering many clients with one model call.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from model.runtime import card as model_card
from model.runtime.calibration import DIGITS, Calibration
from model.runtime.decode import DEFAULT_LIMITS, ImageError, Limits, decode_image, image_bytes
from model.runtime.drawing import gray_png, stored_png
from model.runtime.explain import Explainer, Explanation
from model.runtime.litert import Classifier, to_input
from model.runtime.preprocess import CONTRACT, Prepared, prepare
from model.runtime.segment import segment_digits

LOW_CONFIDENCE = CONTRACT["low_confidence"]  # below this the caller should say "not sure" (the browser too)

T = TypeVar("T")


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """The result of ``function()`` and the milliseconds it took."""
    started = time.perf_counter()
    result = function()
    return result, (time.perf_counter() - started) * 1000.0


@dataclass(frozen=True)
class Recognition:
    """One digit's answer. ``digit`` is None when there was nothing to read, or it was not a digit (``reason``).

    Probabilities are calibrated (``model.runtime.calibration``): of the answers given with 90 %
    confidence, about nine in ten are right. ``probabilities`` has one per digit and sums
    to 1 minus ``not_a_digit``, the probability that the drawing is no digit at all.
    """

    digit: int | None
    confidence: float  # the answer's probability: the digit's, or not_a_digit's when refused
    probabilities: list[float]
    image: np.ndarray | None  # the 28x28 uint8 input the model saw
    reason: str | None = None  # "blank", "too_faint", "too_small" or "not_a_digit" when digit is None
    box: tuple[int, int, int, int] | None = None  # where the digit is, in source pixels
    timings: dict[str, float] = field(default_factory=dict)  # decode_ms, preprocess_ms, inference_ms
    version: str = ""  # the model version that answered: a swap may land while a frame is in flight
    stored_png: bytes | None = None  # the drawing to keep, re-encoded clean (model/runtime/drawing.py); None: keep none
    not_a_digit: float = 0.0
    explanation: Explanation | None = None  # only when asked for (model/runtime/explain.py): heat map and layer views

    @property
    def low_confidence(self) -> bool:
        return self.digit is not None and self.confidence < LOW_CONFIDENCE

    @functools.cached_property
    def preview_png(self) -> bytes | None:
        """Encoded once: the server both sends and stores it."""
        return None if self.image is None else gray_png(self.image)


@dataclass(frozen=True)
class NumberRecognition:
    """A row of digits read left to right; ``number`` is their concatenation ("" when blank)."""

    number: str
    digits: list[Recognition]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class NumberImage:
    """An image to read as a whole row of digits, in a batch of single-digit images (``recognize_items``)."""

    data: bytes


def answer(
    prepared: Prepared,
    probabilities: np.ndarray | None,
    timings: dict[str, float],
    version: str = "",
    drawing: bytes | None = None,
    refused: bool = False,
) -> Recognition:
    """Package one prepared image, its calibrated probabilities and whether they say "not a digit"."""
    if prepared.image is None or probabilities is None:
        return Recognition(None, 0.0, [0.0] * DIGITS, None, prepared.reason, None, timings, version, drawing)
    not_a_digit = float(probabilities[DIGITS]) if len(probabilities) > DIGITS else 0.0
    digit = int(np.argmax(probabilities[:DIGITS]))
    return Recognition(
        digit=None if refused else digit,
        confidence=not_a_digit if refused else float(probabilities[digit]),
        probabilities=[float(p) for p in probabilities[:DIGITS]],
        image=prepared.image,
        reason="not_a_digit" if refused else None,
        box=prepared.box,
        timings=timings,
        version=version,
        stored_png=drawing,
        not_a_digit=not_a_digit,
    )


class Recognizer:
    """One model version behind the MNIST-style preprocessing; thread-safe and never changed in place.

    A live model swap replaces the whole Recognizer, so a batch in flight finishes on the
    model it started with, and every Recognition names that model's version.
    """

    def __init__(
        self,
        classifier: Classifier,
        version: str,
        limits: Limits = DEFAULT_LIMITS,
        files: tuple[Path, Path] | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.classifier = classifier
        self.version = version
        self.limits = limits
        self.files = files  # (model, card) it was loaded from: a recognizer child process loads the same
        self.calibration = calibration or Calibration()  # from the card: every engine answers alike

    @classmethod
    def load(
        cls,
        path: Path = model_card.TFLITE_PATH,
        card_path: Path = model_card.CARD_PATH,
        limits: Limits = DEFAULT_LIMITS,
    ) -> Recognizer:
        card = model_card.read_card(Path(card_path))
        files = (Path(path), Path(card_path))
        return cls(Classifier.load(Path(path)), card["version"], limits, files, Calibration.from_card(card))

    @functools.cached_property
    def explainer(self) -> Explainer:
        """Built on the first frame that asks for a view inside: the normal path never pays for it."""
        return Explainer(self.classifier.model_content)

    def explained(self, result: Recognition | ImageError) -> Recognition | ImageError:
        """The recognition with its explanation, when there was an input to explain."""
        if isinstance(result, ImageError) or result.image is None:
            return result
        return dataclasses.replace(result, explanation=self.explainer.explain(result.image))

    def classify(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, classes) for n prepared 28x28 uint8 images, in one model call.

        The columns are the digits 0-9 and, for a model with a reject class, "not a digit".
        """
        images = np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28)
        if len(images) == 0:
            return np.zeros((0, DIGITS), dtype=np.float32)
        return self.calibration.probabilities(self.classifier.predict(to_input(images)))

    def refused(self, probabilities: np.ndarray) -> np.ndarray:
        """Which rows of ``classify``'s output are not digits."""
        return self.calibration.refused(probabilities)

    def decode(self, data: bytes | str) -> tuple[bytes, Image.Image]:
        """The bytes sent (base64 decoded) and the image they hold."""
        raw = image_bytes(data, self.limits)
        return raw, decode_image(raw, self.limits)

    def prepare(self, data: bytes | str, keep: bool = True) -> tuple[Prepared, dict[str, float], bytes | None]:
        """Decode and preprocess (the CPU work before the model), with timings, and the drawing if ``keep``."""
        (raw, image), decode_ms = timed(lambda: self.decode(data))
        drawing = stored_png(image, self.limits.max_stored_bytes if keep else 0, raw)  # before preprocessing
        prepared, preprocess_ms = timed(lambda: prepare(image))
        return prepared, {"decode_ms": decode_ms, "preprocess_ms": preprocess_ms}, drawing

    def recognize(self, data: bytes | str) -> Recognition:
        """The digit in one image: raw bytes, a data URL or base64. Raises ``ImageError`` for bad input."""
        prepared, timings, drawing = self.prepare(data)
        if prepared.image is None:
            return answer(prepared, None, {**timings, "inference_ms": 0.0}, self.version, drawing)
        probabilities, inference_ms = timed(lambda: self.classify(prepared.image))
        timings = {**timings, "inference_ms": inference_ms}
        return answer(prepared, probabilities[0], timings, self.version, drawing, bool(self.refused(probabilities)[0]))

    def recognize_batch(
        self, items: Sequence[bytes | str], keep: Sequence[bool] | None = None, explain: Sequence[bool] | None = None
    ) -> list[Recognition | ImageError]:
        """Many single-digit images, one model call for all readable ones; a bad image fails alone.

        Each result is a Recognition, or the ImageError that refused that item, so one
        stranger's broken upload never costs the other frames of a batch their answers.
        ``keep`` says which items' drawings are kept (final frames: a draft's would be
        overwritten anyway), so drafts cost no re-encoding; None keeps every one.
        ``explain`` says which items also get an explanation (model/runtime/explain.py); None: none.
        """
        keep = [True] * len(items) if keep is None else keep
        prepared: list[tuple[Prepared, dict[str, float], bytes | None] | ImageError] = []
        for item, kept in zip(items, keep, strict=True):
            try:
                prepared.append(self.prepare(item, kept))
            except ImageError as error:
                prepared.append(error)
        readable = [
            i for i, item in enumerate(prepared) if not isinstance(item, ImageError) and item[0].image is not None
        ]
        probabilities, inference_ms = timed(
            lambda: (
                self.classify(np.stack([prepared[i][0].image for i in readable])) if readable else np.zeros((0, DIGITS))
            )
        )
        by_index = dict(zip(readable, probabilities, strict=True))
        refused = dict(zip(readable, self.refused(probabilities), strict=True))
        share = inference_ms / max(1, len(readable))
        results = [
            item
            if isinstance(item, ImageError)
            else answer(
                item[0],
                by_index.get(index),
                {**item[1], "inference_ms": share if index in by_index else 0.0},
                self.version,
                item[2],
                bool(refused.get(index, False)),
            )
            for index, item in enumerate(prepared)
        ]
        explain = [False] * len(items) if explain is None else explain
        return [self.explained(result) if wanted else result for result, wanted in zip(results, explain, strict=True)]

    def recognize_number(self, data: bytes | str) -> NumberRecognition:
        """Every digit in a row, left to right, and the number they spell; marks that are not digits are skipped."""
        image, decode_ms = timed(lambda: decode_image(data, self.limits))
        segments, preprocess_ms = timed(lambda: segment_digits(image))
        if not segments:
            return NumberRecognition("", [], {"decode_ms": decode_ms, "preprocess_ms": preprocess_ms})
        probabilities, inference_ms = timed(lambda: self.classify(np.stack([s.image for s in segments])))
        timings = {"decode_ms": decode_ms, "preprocess_ms": preprocess_ms, "inference_ms": inference_ms}
        rows = zip(segments, probabilities, self.refused(probabilities), strict=True)
        digits = [answer(segment, row, timings, self.version) for segment, row, refused in rows if not refused]
        return NumberRecognition("".join(str(d.digit) for d in digits), digits, timings)

    def recognize_items(
        self,
        items: Sequence[bytes | NumberImage],
        keep: Sequence[bool] | None = None,
        explain: Sequence[bool] | None = None,
    ) -> list[Recognition | NumberRecognition | ImageError]:
        """A mixed batch, in order: digits in one model call, each NumberImage read as a row.

        This is how ``/api/number`` shares the inference queue and its recognizer processes
        with every frame, rather than decoding in the web process. ``keep`` is as for
        ``recognize_batch`` (a number's drawing is never kept: it is not an attempt), and so is
        ``explain`` (a number is never explained).
        """
        keep = [True] * len(items) if keep is None else keep
        explain = [False] * len(items) if explain is None else explain
        digits = [i for i, item in enumerate(items) if not isinstance(item, NumberImage)]
        read = self.recognize_batch([items[i] for i in digits], [keep[i] for i in digits], [explain[i] for i in digits])
        results: dict[int, Recognition | NumberRecognition | ImageError] = dict(zip(digits, read, strict=True))
        for index, item in enumerate(items):
            if isinstance(item, NumberImage):
                try:
                    results[index] = self.recognize_number(item.data)
                except ImageError as error:
                    results[index] = error
        return [results[index] for index in range(len(items))]
