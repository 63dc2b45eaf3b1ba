import numpy as np

from model.runtime.metrics import confusion_matrix, format_confusion


def test_confusion_matrix_counts_rows_as_truth():
    matrix = confusion_matrix([1, 1, 7, 3], [1, 7, 7, 3])
    assert matrix.shape == (10, 10)
    assert matrix[1, 1] == 1
    assert matrix[1, 7] == 1
    assert matrix[7, 7] == 1
    assert matrix.sum() == 4


def test_confusion_matrix_of_nothing_is_zero():
    assert not confusion_matrix([], []).any()


def test_format_confusion_has_a_row_per_digit():
    text = format_confusion(np.eye(10, dtype=int) * 1000)
    lines = text.splitlines()
    assert len(lines) == 11
    assert lines[1].split()[:2] == ["0", "1000"]
