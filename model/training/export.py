"""Convert the Keras model to a LiteRT flatbuffer for serving.

LiteRT with XNNPACK classifies one image about five times faster than a compiled
``tf.function`` and 300 times faster than ``model.predict`` on these CPUs, with the
same accuracy (see ``bench/inference.py``). The conversion goes through a SavedModel,
the one route that carries Keras 3 variables into the flatbuffer.
"""

from __future__ import annotations

import tempfile

import keras
import tensorflow as tf


def to_tflite(model: keras.Model) -> bytes:
    """A float32 ``.tflite`` with a dynamic batch dimension, so one call can classify many images."""
    with tempfile.TemporaryDirectory() as saved_model:
        model.export(saved_model, format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(saved_model).convert()
