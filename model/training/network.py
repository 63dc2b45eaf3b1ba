"""The production CNN, the ensemble of them that is served, and the augmentation that prepares it for how
people really draw.

Input contract (shared with ``model.runtime.preprocess``): float32 ``(28, 28, 1)`` in [0, 1],
ink high on a zero background, the digit fitted into 20x20 and centred by its centre
of mass in 28x28, exactly like MNIST. Output: eleven softmax probabilities, the digits
0-9 and "not a digit" (``CLASSES``; ``model.runtime.calibration`` turns them into answers).

The served model is an ensemble of a few of these networks (``ensemble``), each trained from its
own seed on the same data: they disagree on different drawings, so their mean answer is right
more often and refuses more non-digits than any one of them (docs/model.md). Exported with 8-bit
weights (``model.training.export``), three of them cost less than one in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

INPUT_SHAPE = (28, 28, 1)
CLASSES = 11  # the digits, then "not a digit"


@dataclass(frozen=True)
class Augmentation:
    """How far training distorts each image; the training recipe (and so the model card) carries it."""

    rotation_degrees: float = 12.0  # uniform in +-this
    scale_min: float = 0.85
    scale_max: float = 1.15
    shear: float = 0.15  # uniform in +-this
    shift_pixels: float = 2.0  # uniform in +-this, along each axis
    stroke_share: float = 0.25  # of each batch thickened, and as much again thinned


AUGMENTATION = Augmentation()


def conv_block(filters: int, kernel: int, padding: str = "valid") -> list[layers.Layer]:
    """Convolution without bias, then batch norm and ReLU (BN folds into the conv when exported)."""
    return [
        layers.Conv2D(filters, kernel, padding=padding, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
    ]


def build_model(dropout: float = 0.3, classes: int = CLASSES) -> keras.Model:
    """A small VGG-style CNN: ~263k parameters, ~7 MFLOP per image, well under 1 ms on one core."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE),
            *conv_block(32, 5),
            layers.MaxPooling2D(),
            *conv_block(64, 3, padding="same"),
            *conv_block(64, 3),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(dropout),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(dropout),
            layers.Dense(classes, activation="softmax"),
        ],
        name="digits_cnn",
    )


def ensemble(members: list[keras.Model]) -> keras.Model:
    """One model answering the members' mean log-probability, renormalized: the geometric mean of their answers.

    In log space a member that is sure something is not a 7 outweighs one that mildly thinks it is,
    which the plain mean would not do. One member is itself. Each member keeps its own layers (and
    its batch-norm statistics), so a retrain fine-tunes them all at once through the mean answer."""
    if len(members) == 1:
        return members[0]
    for index, member in enumerate(members):
        member.name = f"member_{index}"  # the members were all built as "digits_cnn"; a model needs unique names
    images = keras.Input(INPUT_SHAPE)
    logs = [ops.log(ops.clip(member(images), 1e-12, 1.0)) for member in members]
    return keras.Model(images, layers.Softmax()(layers.Average()(logs)), name="digits_ensemble")


def members_of(model: keras.Model) -> list[keras.Model]:
    """The networks an ``ensemble`` averages (a single network: itself)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested or [model]


DRAWS = 6  # uniform numbers in [0, 1) per image: angle, scale, shear, shift across, shift down, stroke


def scaled(draw, low: float, high: float):
    """A uniform draw in [0, 1) moved to [low, high) as TensorFlow's stateless_uniform moves it (in float32)."""
    return draw * (np.float32(high) - np.float32(low)) + np.float32(low)


def random_affine(images, draws, limits: Augmentation = AUGMENTATION):
    """Rotate +-12 deg, scale 0.85-1.15, shear +-0.15 and shift +-2 px (by default), one matrix per image.

    People slant, shrink and misplace digits even after centring; one projective op per
    batch keeps this cheap on the CPU. ``draws`` holds each image's uniform numbers (``DRAWS``
    columns), drawn by whoever calls: written in ``keras.ops``, the same distortion runs in the
    CPU's tf.data pipeline and on an accelerator's backend.
    """
    degrees, shear, shift = limits.rotation_degrees, limits.shear, limits.shift_pixels
    angle = scaled(draws[:, 0], -degrees, degrees) * (math.pi / 180.0)
    scale = scaled(draws[:, 1], limits.scale_min, limits.scale_max)
    shear = scaled(draws[:, 2], -shear, shear)
    shift_x, shift_y = scaled(draws[:, 3], -shift, shift), scaled(draws[:, 4], -shift, shift)
    cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
    # Output-to-input mapping about the image centre (13.5, 13.5).
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    centre = 13.5
    a2 = centre - a0 * centre - a1 * centre - shift_x
    b2 = centre - b0 * centre - b1 * centre - shift_y
    zeros = ops.zeros_like(a0)
    transforms = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant")


def random_stroke_width(images, draws, share: float = AUGMENTATION.stroke_share):
    """Thicken a quarter of the batch and thin another quarter (by default): pens, fingers and fonts differ.

    ``draws``: one uniform number in [0, 1) per image."""
    choice = ops.reshape(draws, (-1, 1, 1, 1))
    thick = ops.max_pool(images, 2, strides=1, padding="same")
    thin = -ops.max_pool(-images, 2, strides=1, padding="same")
    # Thinning a faint stroke can erase it; keep the original where it would vanish.
    thin = ops.where(ops.max(thin, axis=(1, 2, 3), keepdims=True) > 0.5, thin, images)
    return ops.where(choice < share, thick, ops.where(choice > 1.0 - share, thin, images))


def augment(images, draws, limits: Augmentation = AUGMENTATION):
    """The full training-time distortion: geometry first, then stroke width (``draws``: ``DRAWS`` per image)."""
    geometry = random_affine(images, draws, limits)
    return ops.clip(random_stroke_width(geometry, draws[:, 5], limits.stroke_share), 0.0, 1.0)


class Augment(layers.Layer):
    """``augment`` as the first layer of a training-only model, drawing from a seeded generator.

    Backends without tf.data (JAX on an accelerator) distort each batch this way, on the device;
    at inference the layer passes images through unchanged."""

    def __init__(self, limits: Augmentation = AUGMENTATION, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        draws = keras.random.uniform((ops.shape(images)[0], DRAWS), seed=self.seed_generator)
        return augment(images, draws, self.limits)
