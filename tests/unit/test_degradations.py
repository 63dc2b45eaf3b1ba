"""model/training/degradations.py: every family draws inside its ranges, and a rendered image shows each parameter.

Each test renders a real MNIST digit with one parameter changed and measures that parameter
back from the image file: the pen from the ink's area, the capture's resolution from how
little a round trip through that resolution changes the image, blur from the edges'
steepness, contrast from the darkest ink, the file format from the file.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from model.training import degradations
from model.training.degradations import PAPER, Degradation, render
from model.training.realistic import DRAWN_KINDS, STREAMS

RANGES = {  # family: {field: (lowest, highest)} as the family's docstring promises
    "thick_blurred": {"pen": (4, 24), "blur": (1.6, 10.5), "contrast": (0.6, 1.0), "resolution": (0, 0)},
    "low_resolution": {"pen": (0, 0), "resolution": (8, 16), "blur": (0.0, 2.0), "contrast": (0.7, 1.0)},
    "thin_faint": {"pen": (-3, -1), "contrast": (0.25, 0.5), "jpeg_quality": (30, 74), "resolution": (0, 0)},
    "thumbnail": {"pen": (3, 21), "resolution": (8, 14), "contrast": (0.45, 0.95), "jpeg_quality": (25, 69)},
}
PLAIN = Degradation(height=200)


def gray(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)


def rendered(digit: np.ndarray, degradation: Degradation) -> np.ndarray:
    """The same placement for every degradation: one seed."""
    return gray(render(digit, degradation, np.random.default_rng(3)))


@pytest.fixture(scope="module")
def digit(mnist) -> np.ndarray:
    return mnist.x_test[0]  # a 7 from a writer training never sees


@pytest.mark.parametrize("family", list(degradations.FAMILIES))
def test_every_family_draws_inside_its_ranges(family):
    rng = np.random.default_rng(0)
    draws = [degradations.FAMILIES[family](rng) for _ in range(300)]
    for field, (lowest, highest) in RANGES[family].items():
        values = [getattr(draw, field) for draw in draws]
        assert lowest <= min(values), (family, field, min(values))
        assert max(values) <= highest, (family, field, max(values))
        if lowest != highest:
            assert max(values) - min(values) >= 0.5 * (highest - lowest), f"{family}.{field} hardly varies"


def test_every_family_is_a_realistic_kind_with_its_own_seed_stream():
    assert set(degradations.FAMILIES) <= set(DRAWN_KINDS)
    assert len(set(STREAMS.values())) == len(STREAMS), "two kinds share a random stream"


def ink_area(image: np.ndarray) -> int:
    return int((image < PAPER / 2).sum())


def test_a_fatter_pen_has_more_ink_and_a_thinner_one_less(digit):
    plain = ink_area(rendered(digit, PLAIN))
    assert ink_area(rendered(digit, replace(PLAIN, pen=8))) > 1.6 * plain
    assert ink_area(rendered(digit, replace(PLAIN, pen=-3))) < 0.8 * plain


def round_trip(image: np.ndarray, height: int, resolution: int) -> np.ndarray:
    """The image through the capture's resolution and back: what a capture at ``resolution`` cannot change."""
    size = (image.shape[1], image.shape[0])
    small = (round(size[0] * resolution / height), round(size[1] * resolution / height))
    picture = Image.fromarray(image, "F")
    return np.asarray(picture.resize(small, Image.Resampling.BOX).resize(size, Image.Resampling.BILINEAR))


@pytest.mark.parametrize("resolution", [8, 12, 16])
def test_a_low_resolution_capture_holds_no_detail_finer_than_its_resolution(digit, resolution):
    captured = rendered(digit, replace(PLAIN, resolution=resolution))
    sharp = rendered(digit, PLAIN)
    lost_by_captured = np.abs(round_trip(captured, 200, resolution) - captured).mean()
    lost_by_sharp = np.abs(round_trip(sharp, 200, resolution) - sharp).mean()
    assert lost_by_captured < 0.5 * lost_by_sharp, (lost_by_captured, lost_by_sharp)


def steepest_edge(image: np.ndarray) -> float:
    rows, columns = np.gradient(image)
    return float(np.percentile(np.hypot(rows, columns), 99.9))


def test_blur_softens_edges_in_proportion(digit):
    sharp = steepest_edge(rendered(digit, PLAIN))
    soft = steepest_edge(rendered(digit, replace(PLAIN, blur=2.0)))
    softer = steepest_edge(rendered(digit, replace(PLAIN, blur=6.0)))
    assert softer < soft < 0.6 * sharp
    assert softer < 0.5 * soft


@pytest.mark.parametrize("contrast", [1.0, 0.6, 0.3])
def test_contrast_is_the_darkest_inks_share_of_the_paper(digit, contrast):
    image = rendered(digit, replace(PLAIN, pen=4, contrast=contrast))
    assert image.max() == pytest.approx(PAPER, abs=1)
    assert 1 - image.min() / PAPER == pytest.approx(contrast, abs=0.02)


def test_jpeg_quality_makes_a_jpeg_and_a_lower_quality_a_smaller_one(digit):
    rng = np.random.default_rng
    png = render(digit, PLAIN, rng(3))
    good, poor = (render(digit, replace(PLAIN, jpeg_quality=q), rng(3)) for q in (90, 20))
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert Image.open(io.BytesIO(good)).format == Image.open(io.BytesIO(poor)).format == "JPEG"
    assert len(poor) < 0.8 * len(good)
    assert np.abs(gray(poor) - gray(png)).mean() > np.abs(gray(good) - gray(png)).mean()


def test_every_draw_leaves_a_digit_the_size_it_asked_for(digit):
    rng = np.random.default_rng(5)
    for family in degradations.FAMILIES.values():
        for _ in range(10):
            degradation = family(rng)
            image = gray(render(digit, degradation, rng))
            ink_rows = np.flatnonzero((image < PAPER * (1 - degradation.contrast / 2)).any(axis=1))
            assert len(ink_rows), "no ink"
            tall = ink_rows[-1] - ink_rows[0] + 1
            assert (
                0.7 * degradation.height
                <= tall
                <= degradation.height + 2 * max(degradation.pen, 0) + 4 * (degradation.blur + 2)
            ), (degradation, tall)
