"""``model/runtime/filters.py`` equals ``scipy.ndimage`` to the bit: serving dropped SciPy, not its numbers.

Random images and masks of many sizes (down to one pixel, so windows wider than the image reflect
more than once), every window size preprocessing uses and more, float32 as preprocessing passes
them. Equal to the bit, so preprocessing's output is too.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from model.runtime import filters

SHAPES = [(1, 1), (1, 7), (6, 1), (2, 3), (5, 90), (37, 12), (128, 96), (128, 128)]


def images(seed: int):
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        yield rng.random(shape).astype(np.float32)
        yield (rng.random(shape) > 0.7).astype(np.float32) * rng.random(shape).astype(np.float32)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 15, 32, 33, 40])
def test_uniform_filter_equals_scipys_to_the_bit(size):
    for image in images(size):
        ours = filters.uniform_filter(image, size)
        assert ours.dtype == np.float32
        assert np.array_equal(ours, ndimage.uniform_filter(image, size=size)), image.shape


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 32, (1, 5), (3, 1), (7, 3), (2, 12), (13, 13)])
def test_maximum_and_minimum_filters_equal_scipys(size):
    for image in images(7):
        assert np.array_equal(filters.maximum_filter(image, size), ndimage.maximum_filter(image, size=size))
        assert np.array_equal(filters.minimum_filter(image, size), ndimage.minimum_filter(image, size=size))


def test_center_of_mass_equals_scipys_to_the_bit():
    for image in images(3):
        if image.sum() > 0:
            assert filters.center_of_mass(image) == ndimage.center_of_mass(image)


def test_binary_filters_equal_scipys():
    for image in images(4):
        mask = image > 0.5
        assert np.array_equal(filters.dilated(mask), ndimage.binary_dilation(mask))
        assert np.array_equal(filters.eroded(mask), ndimage.binary_erosion(mask))
        assert np.array_equal(filters.grown(mask), ndimage.maximum_filter(mask, size=3))


@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 0.45, 0.6, 1.0])
def test_components_equal_scipys_labels_and_boxes(density):
    rng = np.random.default_rng(int(density * 100))
    for shape in [*SHAPES, (480, 300)]:
        mask = rng.random(shape) < density
        found = filters.components(mask)
        labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
        assert found.count == count
        assert np.array_equal(found.labels, labels)
        boxes = [(cols.start, rows.start, cols.stop, rows.stop) for rows, cols in ndimage.find_objects(labels)]
        assert found.boxes == boxes


def test_components_of_shapes_that_join_late():
    """A U, a spiral and a comb: pieces first seen apart that meet further down keep the first one's number."""
    mask = np.zeros((40, 40), bool)
    mask[5:30, 5] = mask[5:30, 15] = mask[29, 5:16] = True  # a U: two arms joined at the bottom
    mask[2:38, 20:38:3] = True
    mask[37, 20:36] = True  # a comb: six teeth joined by one bar
    mask[0, 39] = mask[1, 38] = True  # a diagonal: 8-connected only
    found = filters.components(mask)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    assert found.count == count == 3
    assert np.array_equal(found.labels, labels)
