"""What "Look inside" costs: ms per frame without and with an explanation, and the bytes it adds.

    python -m bench.explain [--count 200]

``--count`` MNIST test digits are drawn as the page sends them (a 400x400 transparent PNG,
``tests/support/images.py``) and recognized one frame per call, as a recognizer child process does
for a lone drawer: decode, preprocess, model, preview PNG. Each frame is timed three ways,
alternately in one process on one BLAS thread, so drift on a shared machine hits all alike:

* **without**: the normal path (``explain`` false);
* **with**: the same frame with its explanation (occlusion batch + activations + PNGs);
* **without, after with**: the normal path right after an explained frame, which shows
  that explaining leaves the recognizer's own interpreter alone (no resize between them).

It also splits the explanation into its occlusion and activation parts and prints the
size of what the ``prediction`` event carries with and without it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from threadpoolctl import threadpool_limits

from bench.timing import machine
from model.runtime.recognizer import Recognition, Recognizer
from model.training.data import load_mnist
from server.serving.explanations import explanation_json
from server.storage.attempts import data_url
from tests.support.images import drawing


def frame_ms(recognizer: Recognizer, frame: bytes, explain: bool) -> tuple[float, Recognition]:
    """One frame through the recognizer as the child process serves it, preview PNG included."""
    started = time.perf_counter()
    [result] = recognizer.recognize_batch([frame], [False], [explain])
    _ = result.preview_png
    return (time.perf_counter() - started) * 1000.0, result


def part_ms(function, image) -> float:
    started = time.perf_counter()
    function(image)
    return (time.perf_counter() - started) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200, help="MNIST test digits, one frame each")
    args = parser.parse_args()
    mnist = load_mnist()
    frames = [drawing(mnist.x_test[i]) for i in range(args.count)]
    recognizer = Recognizer.load()
    timings: dict[str, list[float]] = {"without": [], "with": [], "without, after with": []}
    occlusion, layers, plain_bytes, explained_bytes = [], [], [], []
    with threadpool_limits(1):
        for frame in frames[:10]:  # warm-up: interpreters built and sized, caches filled
            frame_ms(recognizer, frame, False)
            frame_ms(recognizer, frame, True)
        for frame in frames:
            without, plain = frame_ms(recognizer, frame, False)
            with_explain, explained = frame_ms(recognizer, frame, True)
            after, _ = frame_ms(recognizer, frame, False)
            for name, value in zip(timings, (without, with_explain, after), strict=True):
                timings[name].append(value)
            occlusion.append(part_ms(recognizer.explainer.occlusion, explained.image))
            layers.append(part_ms(recognizer.explainer.layers, explained.image))
            plain_bytes.append(len(data_url(plain.preview_png)))
            assert explained.explanation is not None
            explained_bytes.append(len(json.dumps(explanation_json(explained.explanation))))
    median = {name: statistics.median(values) for name, values in timings.items()}
    mean = {name: statistics.fmean(values) for name, values in timings.items()}
    print(f"# Look inside: cost per frame ({args.count} MNIST test digits as 400x400 canvas PNGs; {machine()})")
    print("| path | median ms/frame | mean ms/frame | ratio to without (median) |")
    print("|---|---:|---:|---:|")
    for name in timings:
        print(f"| {name} | {median[name]:.2f} | {mean[name]:.2f} | {median[name] / median['without']:.2f} |")
    print()
    parts = f"occlusion {statistics.median(occlusion):.2f} ms, layers {statistics.median(layers):.2f} ms"
    print(f"explanation alone (medians): {parts}")
    print(
        f"prediction payload: the explanation adds {statistics.median(explained_bytes) / 1024:.1f} KiB "
        f"of JSON (median; the preview's data URL is {statistics.median(plain_bytes) / 1024:.2f} KiB)"
    )


if __name__ == "__main__":
    main()
