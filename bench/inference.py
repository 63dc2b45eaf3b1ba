"""Model latency per engine, single images and batches of 32, plus preprocessing per image size.

``python -m bench.inference`` prints one table; ratios are against Keras ``predict`` measured
in the same run (absolute times drift on shared machines).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from bench.timing import machine, median_ms
from model.runtime import card as model_card
from model.runtime.decode import decode_image
from model.runtime.litert import Classifier, to_input
from model.runtime.preprocess import prepare
from model.training.data import load_mnist
from model.training.export import to_tflite
from tests.support.images import big_digit, on_canvas, transparent_png

BATCH = 32


def onnx_runtime(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """The model converted by tf2onnx and run by ONNX Runtime on one thread.

    Converted from a ``tf.function``: tf2onnx's ``from_keras`` does not understand Keras 3 models.
    """
    import onnxruntime
    import tf2onnx

    spec = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image"),)

    @tf.function(input_signature=spec)
    def forward(x):
        return model(x, training=False)

    proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=17)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def engines(model: keras.Model) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """name -> a call from (n, 28, 28, 1) float32 images to (n, 10) probabilities."""
    compiled = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    xla = tf.function(lambda x: model(x, training=False), jit_compile=True, reduce_retracing=True)
    return {
        "Keras predict": lambda x: model.predict(x, verbose=0),
        "Keras direct call": lambda x: model(x, training=False).numpy(),
        "tf.function": lambda x: compiled(x).numpy(),
        "tf.function + XLA": lambda x: xla(x).numpy(),
        "LiteRT (XNNPACK, 1 thread): served, 8-bit weights": Classifier.load(model_card.TFLITE_PATH).predict,
        "LiteRT (XNNPACK, 1 thread): float32 weights": Classifier(to_tflite(model, eight_bit=False)).predict,
        "ONNX Runtime (tf2onnx, 1 thread)": onnx_runtime(model),
    }


def main() -> None:
    mnist = load_mnist()
    test_images = to_input(mnist.x_test)
    images = test_images[:BATCH]
    model = keras.models.load_model(model_card.KERAS_PATH)
    print(f"# Model inference ({machine()})\n")
    print(f"| engine | 1 image (ms) | batch of {BATCH} (ms per image) | vs Keras predict (1 image) | MNIST test |")
    print("|---|---:|---:|---:|---:|")
    baseline = None
    for name, call in engines(model).items():
        repeat = 30 if "predict" in name else 300
        one = median_ms(lambda call=call: call(images[:1]), repeat=repeat)
        many = median_ms(lambda call=call: call(images), repeat=repeat) / BATCH
        baseline = baseline or one
        outputs = np.concatenate([call(test_images[i : i + 500]) for i in range(0, len(test_images), 500)])
        accuracy = np.mean(outputs[:, :10].argmax(axis=1) == mnist.y_test)  # the best digit; column 10 is "not a digit"
        print(f"| {name} | {one:.3f} | {many:.4f} | {baseline / one:.0f}x faster | {accuracy:.2%} |")

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
