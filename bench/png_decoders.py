"""Plain-PNG decoders side by side: the numba kernel, pyspng (libspng) and Pillow, to the same output.

``python -m bench.png_decoders [--repeat N] [--rounds N]`` decodes the page's own frames
(``bench/frames/page-*.png``, cropped, at most 256 px, RGBA), the recorded Chromium
canvases, and an MNIST digit on uncropped 500x500 and 1000x1000 canvases saved as RGB on
white and RGBA on transparent, each into what the recognizer reads: luminance (Pillow's
``L``) and alpha when there is one, as an ``L`` or ``LA`` image (``model/runtime/decode.py``).

* **kernel**: ``model.runtime.png.luminance``, as served: chunks and CRCs checked, zlib-ng
  inflates, the numba kernel (``model/runtime/unfilter.py``) unfilters and takes luminance.
* **pyspng + numpy**: ``pyspng.load`` (libspng inflates with the system zlib and unfilters),
  then Pillow's integer luminance formula in numpy.
* **pyspng + Pillow**: ``pyspng.load``, then ``Image.fromarray(...).convert("L"/"LA")``.
* **Pillow**: ``Image.open(...).convert("L"/"LA")``, the path before the kernel.

Every decoder's output is checked equal to the kernel's, to the bit, before it is timed;
calls are timed in turn (so a slow spell of this shared machine hits all alike), one thread,
and each row prints the median in milliseconds. ``--rounds`` repeats the whole table.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyspng
from PIL import Image
from threadpoolctl import threadpool_limits

from bench.timing import machine
from model.runtime import kernels, png
from model.training.data import load_mnist
from tests.support.images import CLEAR, big_digit, encode, on_canvas, transparent_png, white_rgb

FRAMES = Path(__file__).resolve().parent / "frames"
MAX_PIXELS = 4_000_000
Decoder = Callable[[bytes], Image.Image]


def kernel(raw: bytes) -> Image.Image:
    return png.luminance(raw, MAX_PIXELS)


def gray(rgb: np.ndarray) -> np.ndarray:
    """Pillow's ``L24`` (ITU-R 601-2 luma in 16-bit fixed point, rounded), in numpy."""
    wide = rgb.astype(np.uint32)
    return ((wide[..., 0] * 19595 + wide[..., 1] * 38470 + wide[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def pyspng_numpy(raw: bytes) -> Image.Image:
    pixels = pyspng.load(raw)
    if pixels.ndim == 2:
        return Image.fromarray(pixels)
    if pixels.shape[2] == 2:
        return Image.merge("LA", (Image.fromarray(pixels[..., 0].copy()), Image.fromarray(pixels[..., 1].copy())))
    luminance = Image.fromarray(gray(pixels[..., :3]))
    if pixels.shape[2] == 3:
        return luminance
    return Image.merge("LA", (luminance, Image.fromarray(np.ascontiguousarray(pixels[..., 3]))))


def pyspng_pillow(raw: bytes) -> Image.Image:
    pixels = pyspng.load(raw)
    if pixels.ndim == 2:
        return Image.fromarray(pixels)
    image = Image.fromarray(pixels, {2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]])
    mode = "LA" if pixels.shape[2] in (2, 4) else "L"
    return image if image.mode == mode else image.convert(mode)


def pillow(raw: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(raw))
    mode = "LA" if image.mode in ("LA", "RGBA") else "L"
    return image.convert(mode)


DECODERS: dict[str, Decoder] = {
    "kernel": kernel,
    "pyspng + numpy": pyspng_numpy,
    "pyspng + Pillow": pyspng_pillow,
    "Pillow": pillow,
}


def inputs() -> Iterator[tuple[str, list[bytes]]]:
    """(name, files): the page's frames as one set, the Chromium canvases, then uncropped canvases."""
    yield "the page's frames (35, ≤ 256 px RGBA)", [path.read_bytes() for path in sorted(FRAMES.glob("page-*.png"))]
    for path in sorted(FRAMES.glob("*.png")):
        if not path.stem.startswith("page-"):
            yield f"Chromium {path.stem}", [path.read_bytes()]
    digit = load_mnist().x_test[CLEAR[7]]
    for size in (500, 1000):
        coverage = on_canvas(big_digit(digit, int(size * 0.6)), size=size, at=(size // 8, size // 10))
        yield f"{size}x{size} RGB white", [encode(white_rgb(coverage))]
        yield f"{size}x{size} RGBA transparent", [transparent_png(coverage)]


def check_same(files: list[bytes]) -> None:
    for raw in files:
        expected = kernel(raw)
        assert expected is not None, "a plain PNG"
        for name, decoder in DECODERS.items():
            image = decoder(raw)
            assert image.mode == expected.mode, name
            assert np.array_equal(np.asarray(image), np.asarray(expected)), name


def medians(files: list[bytes], repeat: int, warmup: int = 10) -> list[float]:
    """Median ms per file set and decoder (the set's files decoded in one call), timed in turn."""
    decoders = list(DECODERS.values())
    samples: list[list[float]] = [[] for _ in decoders]
    for round_ in range(warmup + repeat):
        for decoder, times in zip(decoders, samples, strict=True):
            started = time.perf_counter()
            for raw in files:
                decoder(raw)
            if round_ >= warmup:
                times.append((time.perf_counter() - started) / len(files))
    return [statistics.median(times) * 1000.0 for times in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="print the table this many times")
    args = parser.parse_args()
    sets = list(inputs())
    for _, files in sets:
        check_same(files)
    kernels.warm()
    with threadpool_limits(1):
        for round_ in range(args.rounds):
            print(f"\n# Plain PNG -> luminance (+ alpha), median ms of {args.repeat}, one thread ({machine()})")
            print(f"round {round_ + 1} of {args.rounds}; every output equal to the kernel's, to the bit\n")
            print("| input | bytes | " + " | ".join(DECODERS) + " |")
            print("|---|---:|" + "---:|" * len(DECODERS))
            for name, files in sets:
                size = round(statistics.mean(len(raw) for raw in files))
                times = " | ".join(f"{ms:.2f}" for ms in medians(files, args.repeat))
                print(f"| {name} | {size:,} | {times} |", flush=True)


if __name__ == "__main__":
    main()
