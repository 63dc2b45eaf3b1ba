"""Decode + preprocess per canvas size and colour mode, against another revision in the same run.

``python -m bench.preprocess [--versus REV] [--repeat N]`` draws an MNIST test digit (blown
up as the tests do) on uncropped canvases of several sizes, saved the ways clients send
them: RGB on white, RGBA on a transparent ground, L grayscale, P palette and JPEG, and
reads the real Chromium frames in ``bench/frames/``. It
prints the median decode and preprocess times on one thread for this tree and for
``REV`` (default ``HEAD``; ``git archive`` of its ``model/``, loaded beside ours), timed
alternately so drift on a shared machine hits both alike, and the largest difference
between the two 28x28 inputs. The goal (issue 12) is at most 1 ms for a 500x500 RGB PNG.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from bench.timing import machine
from model.runtime import decode, preprocess
from model.training.data import load_mnist
from tests.support.images import CLEAR, COLOUR_MODES, big_digit, on_canvas

ROOT = Path(__file__).resolve().parent.parent
SIZES = (280, 400, 500, 800, 1000)
GOAL_MS = 1.0
FRAMES = ROOT / "bench" / "frames"  # real canvas frames from Chromium


@dataclass(frozen=True)
class Pipeline:
    """One revision's decode and prepare."""

    name: str
    decode_image: Callable[[bytes], Image.Image]
    prepare: Callable[[Image.Image], object]


def revision_pipeline(revision: str, folder: Path) -> Pipeline:
    """``model/runtime/``'s decode and prepare as they are at ``revision``, imported under their own names while
    our ``model`` package steps aside; their functions keep the modules they were imported with."""
    archive = subprocess.run(
        ["git", "archive", revision, "model/__init__.py", "model/runtime"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    ours = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "model"}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        old_decode = importlib.import_module("model.runtime.decode")
        old_preprocess = importlib.import_module("model.runtime.preprocess")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == "model"]:
            del sys.modules[name]
        sys.modules.update(ours)
    return Pipeline(revision, old_decode.decode_image, old_preprocess.prepare)


def alternate_medians(calls: list[Callable[[], object]], repeat: int, warmup: int = 10) -> list[float]:
    """Median ms of each call, timed in turn so a slow spell of the machine hits them all."""
    samples: list[list[float]] = [[] for _ in calls]
    for round_ in range(warmup + repeat):
        for call, times in zip(calls, samples, strict=True):
            started = time.perf_counter()
            call()
            if round_ >= warmup:
                times.append(time.perf_counter() - started)
    return [statistics.median(times) * 1000.0 for times in samples]


def measure(raw: bytes, pipelines: list[Pipeline], repeat: int) -> tuple[list[float], list[float], int]:
    """Decode ms and preprocess ms per pipeline, and the largest pixel difference of their 28x28 inputs."""
    decoded = [pipeline.decode_image(raw) for pipeline in pipelines]
    decode_ms = alternate_medians([lambda p=p: p.decode_image(raw) for p in pipelines], repeat)
    prepare_ms = alternate_medians(
        [lambda p=p, image=image: p.prepare(image) for p, image in zip(pipelines, decoded, strict=True)], repeat
    )
    inputs = [pipeline.prepare(image).image for pipeline, image in zip(pipelines, decoded, strict=True)]
    difference = int(np.abs(inputs[0].astype(int) - inputs[-1].astype(int)).max())
    return decode_ms, prepare_ms, difference


def inputs(digit: np.ndarray, sizes: list[int]) -> Iterator[tuple[str, str, bytes]]:
    """(canvas, mode, file): the digit on every size in every colour mode, then the real Chromium frames."""
    for size in sizes:
        coverage = on_canvas(big_digit(digit, int(size * 0.6)), size=size, at=(size // 8, size // 10))
        for mode, save in COLOUR_MODES.items():
            yield f"{size}x{size}", mode, save(coverage)
    for path in sorted(FRAMES.glob("*.png")):
        yield path.stem, "Chromium frame", path.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versus", default="HEAD", help="git revision to compare with ('' for none)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    digit = load_mnist().x_test[CLEAR[7]]
    ours = Pipeline("this tree", decode.decode_image, preprocess.prepare)
    with tempfile.TemporaryDirectory() as folder, threadpool_limits(1):  # BLAS and OpenMP on one thread
        pipelines = [revision_pipeline(args.versus, Path(folder)), ours] if args.versus else [ours]
        names = " | ".join(f"{p.name} decode / prep / total" for p in pipelines)
        print(f"# Decode + preprocess, median of {args.repeat}, one thread ({machine()})\n")
        print(f"| canvas | mode | bytes | {names} (ms) | max diff |")
        print("|---|---|---:|" + "---:|" * len(pipelines) + "---:|")
        for canvas, mode, raw in inputs(digit, [int(size) for size in args.sizes.split(",")]):
            decode_ms, prepare_ms, difference = measure(raw, pipelines, args.repeat)
            times = zip(decode_ms, prepare_ms, strict=True)
            cells = " | ".join(f"{d:.2f} / {p:.2f} / **{d + p:.2f}**" for d, p in times)
            print(f"| {canvas} | {mode} | {len(raw):,} | {cells} | {difference} |", flush=True)
    print(f"\nGoal: 500x500 RGB PNG decode + preprocess at most {GOAL_MS:.1f} ms on one core.")


if __name__ == "__main__":
    main()
