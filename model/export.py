"""Convert the Keras model to a LiteRT flatbuffer for serving.

LiteRT with XNNPACK classifies one image about five times faster than a compiled
``tf.function`` and 300 times faster than ``model.predict`` on these CPUs, with the
same accuracy (see ``bench/inference.py``).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def to_tflite(model: keras.Model) -> bytes:
    """A float32 ``.tflite`` with a dynamic batch dimension, so one call can classify many images."""
    signature = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name="image")
    function = tf.function(lambda image: model(image, training=False), input_signature=[signature])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], model)
    return converter.convert()
