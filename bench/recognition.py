"""Recognition on realistic inputs: accuracy per kind and the time each step takes.

``python -m bench.recognition [--per-kind N]`` prints accuracy per kind of generated input
(see ``model/training/realistic.py``) and, for real Chromium canvas frames (``bench/frames/``),
the median decode, preprocess and model-call times on one thread.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from bench.timing import machine, median_ms
from model.runtime.decode import decode_image
from model.runtime.preprocess import prepare
from model.runtime.recognizer import Recognizer
from model.training.data import load_mnist
from model.training.realistic import samples

FRAMES = Path(__file__).resolve().parent / "frames"


def accuracy(recognizer: Recognizer, per_kind: int) -> None:
    results: dict[str, list[bool]] = collections.defaultdict(list)
    timings: dict[str, list[float]] = collections.defaultdict(list)
    for sample in samples(load_mnist(), per_kind=per_kind, seed=11):
        recognition = recognizer.recognize(sample.data)
        results[sample.kind].append(recognition.digit == sample.label)
        timings[sample.kind].append(recognition.timings["decode_ms"] + recognition.timings["preprocess_ms"])
    print(f"# Accuracy on realistic inputs ({per_kind} per kind, {machine()})\n")
    print("| kind | accuracy | median decode + preprocess (ms) |")
    print("|---|---:|---:|")
    for kind, outcomes in results.items():
        print(f"| {kind} | {np.mean(outcomes):.1%} | {np.median(timings[kind]):.2f} |")
    everything = [outcome for outcomes in results.values() for outcome in outcomes]
    print(f"| **overall** | **{np.mean(everything):.1%}** | |")


def frame_timings(recognizer: Recognizer) -> None:
    print("\n# Real Chromium canvas frames: median of 300 on one thread\n")
    print("| frame | bytes | decode (ms) | preprocess (ms) | decode + preprocess (ms) | model call (ms) | digit |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for path in sorted(FRAMES.glob("*.png")):
        raw = path.read_bytes()
        image = decode_image(raw)
        decode = median_ms(lambda raw=raw: decode_image(raw), repeat=300)
        preprocess = median_ms(lambda image=image: prepare(image), repeat=300)
        prepared = prepare(image).image
        model = median_ms(lambda prepared=prepared: recognizer.classify(prepared), repeat=300)
        digit = recognizer.recognize(raw).digit
        print(
            f"| {path.stem} | {len(raw):,} | {decode:.2f} | {preprocess:.2f} | {decode + preprocess:.2f} | "
            f"{model:.3f} | {digit} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-kind", type=int, default=300)
    args = parser.parse_args()
    recognizer = Recognizer.load()
    accuracy(recognizer, args.per_kind)
    frame_timings(recognizer)


if __name__ == "__main__":
    main()
