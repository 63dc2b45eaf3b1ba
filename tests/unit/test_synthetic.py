"""model/training/synthetic.py: generated digits and non-digits, drawn as a canvas sends them."""

from __future__ import annotations

import numpy as np
import pytest

from model.training import fonts, synthetic


@pytest.fixture(scope="module")
def training_fonts() -> list[str]:
    return fonts.training_files()


def test_font_digits_become_mnist_style_inputs(training_fonts):
    rng = np.random.default_rng(0)
    images = [synthetic.prepared(synthetic.font_digit_coverage(d, training_fonts[d], rng), rng) for d in range(10)]
    assert all(image is not None and image.shape == (28, 28) and image.dtype == np.uint8 for image in images)
    assert all(image.max() > 200 for image in images), "ink is high, like MNIST"


def test_generation_is_seeded(training_fonts):
    def draw(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return synthetic.prepared(synthetic.letter(training_fonts, rng), rng)

    np.testing.assert_array_equal(draw(4), draw(4))
    assert not np.array_equal(draw(4), draw(5))


@pytest.mark.parametrize("kind", list(synthetic.NON_DIGIT_KINDS))
def test_every_non_digit_kind_draws_something_the_server_can_read(kind, training_fonts):
    rng = np.random.default_rng(1)
    images = [synthetic.prepared(synthetic.NON_DIGIT_KINDS[kind](training_fonts, rng), rng) for _ in range(10)]
    assert sum(image is not None for image in images) >= 9


def test_letters_that_people_write_as_digits_are_not_non_digits():
    for look_alike in "OoQDIlijJZzSsBbGgqTtad":  # the list in synthetic.LETTERS's comment
        assert look_alike not in synthetic.LETTERS
    assert "!" not in synthetic.SYMBOLS, "without its dot, a 1"


def test_shares_cover_every_kind():
    assert set(synthetic.NON_DIGIT_SHARES) == set(synthetic.NON_DIGIT_KINDS)
    assert sum(synthetic.NON_DIGIT_SHARES.values()) == pytest.approx(1.0)


def test_canvas_styles_are_transparent_white_or_dark():
    rng = np.random.default_rng(2)
    coverage = np.zeros((40, 40), np.float32)
    coverage[10:30, 18:22] = 1.0
    modes = {synthetic.on_canvas(coverage, rng).mode for _ in range(40)}
    assert modes == {"RGBA", "L"}
