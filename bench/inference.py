"""Model latency per engine, single images and batches of 32, plus preprocessing per image size.

``python -m bench.inference`` prints one table; ratios are against Keras ``predict`` measured
in the same run (absolute times drift on shared machines).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

from bench.timing import machine, median_ms
from model import card as model_card
from model.data import load_mnist, to_input
from model.decode import decode_image
from model.litert import Classifier
from model.preprocess import prepare
from tests.images import big_digit, on_canvas, transparent_png

BATCH = 32


def engines(model: keras.Model) -> dict[str, tuple]:
    """name -> (single-image call, batch call)."""
    compiled = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    xla = tf.function(lambda x: model(x, training=False), jit_compile=True, reduce_retracing=True)
    litert = Classifier.load(model_card.TFLITE_PATH)
    return {
        "Keras predict": (lambda x: model.predict(x, verbose=0),) * 2,
        "Keras direct call": (lambda x: model(x, training=False).numpy(),) * 2,
        "tf.function": (lambda x: compiled(x).numpy(),) * 2,
        "tf.function + XLA": (lambda x: xla(x).numpy(),) * 2,
        "LiteRT (XNNPACK, 1 thread)": (litert.predict,) * 2,
    }


def main() -> None:
    mnist = load_mnist()
    images = to_input(mnist.x_test[:BATCH])
    model = keras.models.load_model(model_card.KERAS_PATH)
    print(f"# Model inference ({machine()})\n")
    print(f"| engine | 1 image (ms) | batch of {BATCH} (ms per image) | vs Keras predict (1 image) |")
    print("|---|---:|---:|---:|")
    baseline = None
    for name, (single, batched) in engines(model).items():
        repeat = 30 if "predict" in name else 300
        one = median_ms(lambda single=single: single(images[:1]), repeat=repeat)
        many = median_ms(lambda batched=batched: batched(images), repeat=repeat) / BATCH
        baseline = baseline or one
        print(f"| {name} | {one:.3f} | {many:.4f} | {baseline / one:.0f}x faster |")
    print("\nONNX Runtime: not measured; tf2onnx is not in this project's dependencies (Keras 3 export is via LiteRT).")

    print("\n# Preprocessing (decode + MNIST-style normalisation), median of 200, one thread\n")
    print("| canvas | PNG bytes | decode (ms) | preprocess (ms) | total (ms) |")
    print("|---|---:|---:|---:|---:|")
    for size in (200, 400, 1000):
        coverage = on_canvas(big_digit(mnist.x_test[0], int(size * 0.6)), size=size, at=(size // 8, size // 10))
        raw = transparent_png(coverage)
        decode = median_ms(lambda raw=raw: decode_image(raw))
        image = decode_image(raw)
        normalise = median_ms(lambda image=image: prepare(image))
        print(
            f"| {size}x{size} transparent | {len(raw):,} | {decode:.2f} | {normalise:.2f} | {decode + normalise:.2f} |"
        )


if __name__ == "__main__":
    main()
