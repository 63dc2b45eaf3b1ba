"""The generated part of the training data, made once and cached: ``model.training.train`` mixes it with MNIST.

Three generated sets, each a batch of prepared 28x28 inputs with labels (0-9, or
``NOT_A_DIGIT``):

* **font digits** from the training font families (``model.training.fonts``), every one different;
* **drawn digits**: MNIST *training* digits re-drawn as the realistic kinds people send
  (canvases, a kiosk corner, chalk, photos, scans; ``model.training.realistic``), encoded as those
  files are and decoded again, so the model meets JPEG noise and uneven paper in training;
* **non-digits**: letters, words, symbols, shapes, scribbles (``model.training.synthetic``).

Held-out font families never appear here. The split seeds differ, so the validation
part (early stopping, the calibration and the rejection threshold) is never trained on.
Generation runs in two processes (~3 ms an image) and is cached under ``.cache`` by a
hash of the code and the counts.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.runtime.decode import decode_image
from model.runtime.preprocess import prepare
from model.training import fonts, synthetic
from model.training.data import cache_dir
from model.training.realistic import DRAWN_KINDS

HERE = Path(__file__).resolve().parent
# The code that draws: a change redraws.
SOURCES = (
    HERE / "synthetic.py",
    HERE / "fonts.py",
    HERE / "realistic.py",
    HERE / "degradations.py",
    HERE.parent / "runtime" / "preprocess.py",
)
CHUNK = 500


@dataclass(frozen=True)
class Counts:
    font_digits: int
    drawn_digits: int  # spread over the realistic kinds
    non_digits: int


TRAINING_COUNTS = Counts(font_digits=30_000, drawn_digits=36_000, non_digits=40_000)
VALIDATION_COUNTS = Counts(font_digits=3_000, drawn_digits=5_000, non_digits=4_000)


@dataclass(frozen=True)
class Generated:
    images: np.ndarray  # (n, 28, 28) uint8
    labels: np.ndarray  # (n,) int64, 0-9 or NOT_A_DIGIT
    kinds: np.ndarray  # (n,) str: "font", a realistic kind, or a non-digit kind

    @classmethod
    def concat(cls, parts: list[Generated]) -> Generated:
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("images", "labels", "kinds")))


def font_digit_chunk(seed: tuple[int, ...], count: int) -> Generated:
    rng = np.random.default_rng(seed)
    files = fonts.training_files()
    images, labels = [], []
    while len(images) < count:
        label = int(rng.integers(0, 10))
        image = synthetic.prepared(synthetic.font_digit_coverage(label, synthetic.pick(files, rng), rng), rng)
        if image is not None:
            images.append(image)
            labels.append(label)
    return Generated(np.stack(images), np.asarray(labels), np.full(count, "font"))


def non_digit_chunk(seed: tuple[int, ...], count: int) -> Generated:
    rng = np.random.default_rng(seed)
    files = fonts.training_files()
    names, shares = list(synthetic.NON_DIGIT_SHARES), list(synthetic.NON_DIGIT_SHARES.values())
    images, kinds = [], []
    while len(images) < count:
        kind = names[int(rng.choice(len(names), p=shares))]
        image = synthetic.prepared(synthetic.NON_DIGIT_KINDS[kind](files, rng), rng)
        if image is not None:
            images.append(image)
            kinds.append(kind)
    return Generated(np.stack(images), np.full(count, synthetic.NOT_A_DIGIT), np.asarray(kinds))


def drawn_digit_chunk(seed: tuple[int, ...], digits: np.ndarray, labels: np.ndarray) -> Generated:
    """Each MNIST digit re-drawn as one realistic kind in turn, through the real decoder and preprocessing."""
    rng = np.random.default_rng(seed)
    kinds = list(DRAWN_KINDS)
    images, kept, names = [], [], []
    for index, (digit, label) in enumerate(zip(digits, labels, strict=True)):
        kind = kinds[index % len(kinds)]
        image = prepare(decode_image(DRAWN_KINDS[kind](digit, rng))).image
        if image is not None:
            images.append(image)
            kept.append(int(label))
            names.append(kind)
    return Generated(np.stack(images), np.asarray(kept), np.asarray(names))


def generate(counts: Counts, seed: int, digits: np.ndarray, labels: np.ndarray, processes: int = 2) -> Generated:
    """All three sets; ``digits``/``labels`` are the MNIST images the drawn kind re-draws (a random subset)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(labels), size=min(counts.drawn_digits, len(labels)), replace=False)
    jobs = [(font_digit_chunk, ((seed, 0, i), n)) for i, n in enumerate(chunks(counts.font_digits))]
    jobs += [(non_digit_chunk, ((seed, 1, i), n)) for i, n in enumerate(chunks(counts.non_digits))]
    for i, start in enumerate(range(0, len(chosen), CHUNK)):
        picked = chosen[start : start + CHUNK]
        jobs.append((drawn_digit_chunk, ((seed, 2, i), digits[picked], labels[picked])))
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(run_job, jobs)
    return Generated.concat(parts)


def run_job(function: Callable[..., Generated], arguments: tuple) -> Generated:
    """A picklable trampoline: the pool calls this with a chunk function and its arguments."""
    return function(*arguments)


def chunks(total: int) -> list[int]:
    return [min(CHUNK, total - start) for start in range(0, total, CHUNK)]


def cache_key(counts: Counts, seed: int, digits: np.ndarray) -> str:
    digest = hashlib.sha256(repr((counts, seed)).encode())
    for source in SOURCES:
        digest.update(source.read_bytes())
    digest.update(np.ascontiguousarray(digits).tobytes())
    return digest.hexdigest()[:16]


def load_or_generate(counts: Counts, seed: int, digits: np.ndarray, labels: np.ndarray) -> Generated:
    """The generated set from the cache, made (and cached) on first use."""
    path = cache_dir() / f"generated-{cache_key(counts, seed, digits)}.npz"
    if path.exists():
        with np.load(path) as arrays:
            return Generated(arrays["images"], arrays["labels"], arrays["kinds"])
    fonts.training_files()  # fail now, naming the packages, rather than in a worker
    generated = generate(counts, seed, digits, labels)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, images=generated.images, labels=generated.labels, kinds=generated.kinds)
    partial.replace(path)
    return generated
