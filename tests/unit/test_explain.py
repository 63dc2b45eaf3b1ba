"""model/runtime/explain.py: the occlusion heat map and the convolution layers' activations, on the shipped model
and on another model of the same family exported by model/training/export.py."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from model.runtime import card as model_card
from model.runtime.explain import PATCH, STRIDE, Explainer, convolution_outputs, layer_name, mosaic, occlusions
from tests.support.images import CLEAR


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.mode == "L", "grayscale, like the preview"
    return np.asarray(image)


@pytest.fixture(scope="module")
def explainer() -> Explainer:
    return Explainer(model_card.TFLITE_PATH.read_bytes())


def test_occlusions_are_the_image_then_one_blacked_out_patch_each():
    image = np.full((28, 28), 200, dtype=np.uint8)
    batch, corners = occlusions(image)
    side = (28 - PATCH) // STRIDE + 1
    assert len(corners) == side * side
    assert batch.shape == (side * side + 1, 28, 28)
    assert np.array_equal(batch[0], image), "the first is the original"
    assert all((batch[1:] == 0).sum(axis=(1, 2)) == PATCH * PATCH)


def test_the_heat_map_is_a_28x28_image_on_the_ink(explainer, mnist):
    for label in (7, 2, 0, 4):
        image = mnist.x_test[CLEAR[label]]
        explanation = explainer.explain(image)
        assert explanation.target == label, "it explains the model's answer"
        heat = pixels(explanation.heatmap)
        assert heat.shape == (28, 28)
        assert heat.dtype == np.uint8
        assert heat.max() == 255, "scaled to its peak"
        assert 0 < explanation.peak_drop <= 1
        ink = image > 128
        assert heat[ink].mean() > 2 * heat[~ink].mean(), f"the heat of the {label} lies on its strokes"


def test_a_blank_input_has_no_heat(explainer):
    explanation = explainer.explain(np.zeros((28, 28), dtype=np.uint8))
    assert pixels(explanation.heatmap).max() == 0, "hiding nothing changes nothing"
    assert explanation.peak_drop == 0


def test_every_convolution_layer_is_shown_as_a_mosaic(explainer, mnist):
    explanation = explainer.explain(mnist.x_test[CLEAR[3]])
    assert [layer.shape for layer in explanation.layers] == [(24, 24, 32), (12, 12, 64), (10, 10, 64)]
    for layer in explanation.layers:
        height, width, channels = layer.shape
        assert len(layer.channels) == 16
        assert len(set(layer.channels)) == 16
        assert all(0 <= channel < channels for channel in layer.channels)
        tiles = pixels(layer.mosaic)
        assert tiles.shape == (4 * height + 3, 4 * width + 3), "a 4x4 grid, one pixel apart"
        assert tiles.max() == 255, "a layer that saw a digit is not dark"
        assert "conv" in layer.name


def test_the_mosaic_puts_the_strongest_channels_first():
    activation = np.zeros((2, 2, 3), dtype=np.float32)
    activation[..., 2], activation[0, 0, 0] = 5.0, 1.0
    channels, tiled = mosaic(activation, top=2)
    assert channels == [2, 0]
    assert tiled.shape == (2, 5)
    assert tiled[:, :2].min() == 255
    assert tiled[0, 3] == 255
    assert tiled[1, 4] == 0


def test_layer_names_come_from_the_exported_graph():
    name = "m/re_lu_1/Relu;m/batch_normalization_1/batchnorm/add_1;m/conv2d_1/convolution;m/bn/sub1"
    assert layer_name(name, 0) == "conv2d_1"
    assert layer_name("StatefulPartitionedCall:0", 2) == "conv_3"


def test_the_normal_model_call_is_left_alone(explainer, recognizer, mnist):
    """Explaining uses interpreters of its own: the recognizer's is never resized to the occlusion batch."""
    recognizer.classify(mnist.x_test[:3])
    before = recognizer.classifier._local.batch
    explainer.explain(mnist.x_test[0])
    assert recognizer.classifier._local.batch == before


def test_any_model_of_the_family_with_eleven_outputs(tmp_path):
    """Nothing depends on the shipped model's tensor numbering or on ten outputs: a fresh export of
    another member of the family (two convolutions, 11 classes as with "not a digit") is explained."""
    import keras
    from keras import layers

    from model.training.export import to_tflite
    from model.training.network import INPUT_SHAPE, conv_block

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            *conv_block(8, 5),
            layers.MaxPooling2D(),
            *conv_block(4, 3),
            layers.Flatten(),
            layers.Dense(11, activation="softmax"),
        ]
    )
    content = to_tflite(model)
    explanation = Explainer(content).explain(np.eye(28, dtype=np.uint8) * 255)
    assert 0 <= explanation.target < 11
    assert [layer.shape for layer in explanation.layers] == [(24, 24, 8), (10, 10, 4)]
    assert [len(layer.channels) for layer in explanation.layers] == [8, 4]
    from ai_edge_litert.interpreter import Interpreter

    assert len(convolution_outputs(Interpreter(model_content=content))) == 2


def test_an_ensemble_shows_one_members_layers():
    """The served ensemble holds the same layers once per member: the view shows the first member's."""
    import keras
    from ai_edge_litert.interpreter import Interpreter
    from keras import layers

    from model.training.export import to_tflite
    from model.training.network import INPUT_SHAPE, conv_block, ensemble

    keras.utils.set_random_seed(2)
    members = [
        keras.Sequential(
            [
                keras.Input(INPUT_SHAPE),
                *conv_block(8, 5),
                layers.MaxPooling2D(),
                *conv_block(4 + extra, 3),
                layers.Flatten(),
                layers.Dense(11, activation="softmax"),
            ]
        )
        for extra in (0, 2)
    ]
    content = to_tflite(ensemble(members))
    explanation = Explainer(content).explain(np.eye(28, dtype=np.uint8) * 255)
    assert [layer.shape for layer in explanation.layers] == [(24, 24, 8), (10, 10, 4)], "the first member's"
    assert len(convolution_outputs(Interpreter(model_content=content))) == 2
