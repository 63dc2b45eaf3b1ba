import numpy as np
import tensorflow as tf

from model.runtime.litert import to_input
from model.training.network import CLASSES, augment, build_model, random_stroke_width


def test_model_maps_the_input_contract_to_the_digits_and_not_a_digit():
    model = build_model()
    assert model.input_shape == (None, 28, 28, 1)
    probabilities = model(np.zeros((2, 28, 28, 1), np.float32), training=False).numpy()
    assert probabilities.shape == (2, CLASSES) == (2, 11)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_augment_keeps_shape_range_and_most_of_the_ink(mnist):
    images = tf.constant(to_input(mnist.x_train[:64]))
    augmented = augment(images, tf.constant([3, 4])).numpy()
    assert augmented.shape == images.shape
    assert augmented.min() >= 0.0
    assert augmented.max() <= 1.0
    ink_before = images.numpy().sum(axis=(1, 2, 3))
    ink_after = augmented.sum(axis=(1, 2, 3))
    # Thinning a thin digit can take most of its ink, but it never wipes the digit out.
    assert np.all(ink_after > 0.15 * ink_before)
    assert np.all(augmented.max(axis=(1, 2, 3)) > 0.4)


def test_augment_is_reproducible_for_a_seed_and_varies_across_seeds(mnist):
    images = tf.constant(to_input(mnist.x_train[:8]))
    first = augment(images, tf.constant([1, 2])).numpy()
    assert np.array_equal(first, augment(images, tf.constant([1, 2])).numpy())
    assert not np.array_equal(first, augment(images, tf.constant([1, 3])).numpy())


def test_stroke_width_thickens_and_thins(mnist):
    images = tf.constant(to_input(mnist.x_train[:256]))
    changed = random_stroke_width(images, tf.constant([5, 6])).numpy()
    ink_ratio = changed.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert (ink_ratio > 1.2).any(), "some digits get thicker"
    assert (ink_ratio < 0.9).any(), "some digits get thinner"
