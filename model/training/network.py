"""The production CNN and the augmentation that prepares it for how people really draw.

Input contract (shared with ``model.runtime.preprocess``): float32 ``(28, 28, 1)`` in [0, 1],
ink high on a zero background, the digit fitted into 20x20 and centred by its centre
of mass in 28x28, exactly like MNIST. Output: eleven softmax probabilities, the digits
0-9 and "not a digit" (``CLASSES``; ``model.runtime.calibration`` turns them into answers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers

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


def random_affine(images: tf.Tensor, seed: tf.Tensor, limits: Augmentation = AUGMENTATION) -> tf.Tensor:
    """Rotate +-12 deg, scale 0.85-1.15, shear +-0.15 and shift +-2 px (by default), one matrix per image.

    People slant, shrink and misplace digits even after centring; one projective op per
    batch keeps this cheap on the CPU.
    """
    count = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, 5)
    degrees, shear, shift = limits.rotation_degrees, limits.shear, limits.shift_pixels
    angle = tf.random.stateless_uniform([count], seeds[0], -degrees, degrees) * (math.pi / 180.0)
    scale = tf.random.stateless_uniform([count], seeds[1], limits.scale_min, limits.scale_max)
    shear = tf.random.stateless_uniform([count], seeds[2], -shear, shear)
    shift = tf.random.stateless_uniform([count, 2], seeds[3], -shift, shift)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output-to-input mapping about the image centre (13.5, 13.5).
    a0, a1 = cos, -sin + shear * cos
    b0, b1 = sin, cos + shear * sin
    centre = 13.5
    a2 = centre - a0 * centre - a1 * centre - shift[:, 0]
    b2 = centre - b0 * centre - b1 * centre - shift[:, 1]
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def random_stroke_width(images: tf.Tensor, seed: tf.Tensor, share: float = AUGMENTATION.stroke_share) -> tf.Tensor:
    """Thicken a quarter of the batch and thin another quarter (by default): pens, fingers and fonts differ."""
    count = tf.shape(images)[0]
    choice = tf.random.stateless_uniform([count, 1, 1, 1], seed)
    thick = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
    thin = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
    # Thinning a faint stroke can erase it; keep the original where it would vanish.
    thin = tf.where(tf.reduce_max(thin, axis=[1, 2, 3], keepdims=True) > 0.5, thin, images)
    return tf.where(choice < share, thick, tf.where(choice > 1.0 - share, thin, images))


def augment(images: tf.Tensor, seed: tf.Tensor, limits: Augmentation = AUGMENTATION) -> tf.Tensor:
    """The full training-time distortion: geometry first, then stroke width."""
    seeds = tf.random.experimental.stateless_split(seed, 2)
    geometry = random_affine(images, seeds[0], limits)
    return tf.clip_by_value(random_stroke_width(geometry, seeds[1], limits.stroke_share), 0.0, 1.0)
