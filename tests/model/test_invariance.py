"""The same digit, drawn differently, gets the same answer."""

import numpy as np
import pytest

from model.runtime.litert import to_input
from tests.support.images import big_digit, dark_png, on_canvas, transparent_png, white_png

VARIANTS = {
    "shifted to the top left": lambda d: transparent_png(on_canvas(big_digit(d, 180), at=(5, 5))),
    "shifted to the bottom right": lambda d: transparent_png(on_canvas(big_digit(d, 180), at=(150, 150))),
    "small": lambda d: transparent_png(on_canvas(big_digit(d, 70), at=(60, 250))),
    "large": lambda d: transparent_png(on_canvas(big_digit(d, 330), at=(0, 0))),
    "thick pen": lambda d: transparent_png(on_canvas(big_digit(d, 200, thicken=6), at=(60, 40))),
    "on white": lambda d: white_png(on_canvas(big_digit(d, 200), at=(60, 40))),
    "inverted": lambda d: dark_png(on_canvas(big_digit(d, 200), at=(60, 40))),
    "white ink on transparent": lambda d: transparent_png(on_canvas(big_digit(d, 200), at=(60, 40)), (255, 255, 255)),
}


@pytest.fixture(scope="module")
def confident_digits(recognizer, mnist):
    """Forty test digits the model reads with certainty, so a change of answer means the pipeline moved it."""
    probabilities = recognizer.classifier.predict(to_input(mnist.x_test[:400]))
    sure = np.flatnonzero((probabilities.max(axis=1) > 0.999) & (probabilities.argmax(axis=1) == mnist.y_test[:400]))
    return [(mnist.x_test[i], int(mnist.y_test[i])) for i in sure[:40]]


@pytest.fixture(scope="module")
def base_answers(recognizer, confident_digits):
    return [
        recognizer.recognize(transparent_png(on_canvas(big_digit(d, 200), at=(60, 40)))).digit
        for d, _ in confident_digits
    ]


def test_base_drawing_reads_as_the_label(confident_digits, base_answers):
    assert base_answers == [label for _, label in confident_digits]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_answer_does_not_change(recognizer, confident_digits, base_answers, variant):
    answers = [recognizer.recognize(VARIANTS[variant](digit)).digit for digit, _ in confident_digits]
    changed = [(base, new) for base, new in zip(base_answers, answers, strict=True) if base != new]
    assert not changed, f"{variant}: answers changed {changed}"
