import numpy as np
import pytest

from tests.support.images import CLEAR, row, transparent_png


def test_clear_digits_are_what_the_tests_assume(mnist):
    labels = [int(mnist.y_test[index]) for index in CLEAR.values()]
    assert labels == list(CLEAR)


@pytest.mark.parametrize("number", ["40721", "3", "9865", "1111"])
def test_a_row_of_digits_reads_as_a_number(recognizer, mnist, number):
    result = recognizer.recognize_number(transparent_png(row(mnist, number, gap=25)))
    assert result.number == number
    lefts = [d.box[0] for d in result.digits]
    assert lefts == sorted(lefts)
    assert set(result.timings) == {"decode_ms", "preprocess_ms", "inference_ms"}


def test_touching_digits_are_split(recognizer, mnist):
    result = recognizer.recognize_number(transparent_png(row(mnist, "2047", gap=-4)))
    assert result.number == "2047"


def test_broken_strokes_stay_one_digit(recognizer, mnist):
    canvas = row(mnist, "45", gap=30)
    columns = np.flatnonzero(canvas.max(axis=0) > 0.3)
    # Cut the 4 horizontally through its middle: two pieces stacked in one column.
    middle = int(np.flatnonzero(canvas[:, columns[0] : columns[0] + 60].max(axis=1) > 0.3).mean())
    canvas[middle : middle + 4, : columns[0] + 70] = 0
    assert recognizer.recognize_number(transparent_png(canvas)).number == "45"


def test_blank_row_is_an_empty_number(recognizer):
    result = recognizer.recognize_number(transparent_png(np.zeros((100, 400), np.float32)))
    assert result.number == ""
    assert result.digits == []
