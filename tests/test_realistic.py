"""Accuracy on realistic inputs of every kind, with the floors the product promises.

``bench/recognition.py`` prints the same figures with more images; this test keeps a
floor under them so a change to the pipeline or the model cannot quietly lose them.
"""

import collections

import pytest

from model.realistic import KINDS, samples
from model.recognizer import Recognizer

OVERALL_FLOOR = 0.97
PER_KIND_FLOOR = 0.93


@pytest.fixture(scope="module")
def accuracy_by_kind(mnist):
    recognizer = Recognizer.load()
    results = collections.defaultdict(list)
    for sample in samples(mnist, per_kind=100, seed=7):
        results[sample.kind].append(recognizer.recognize(sample.data).digit == sample.label)
    return results


def test_every_kind_is_generated(accuracy_by_kind):
    assert set(accuracy_by_kind) == set(KINDS)
    assert all(len(results) == 100 for results in accuracy_by_kind.values())


def test_overall_accuracy(accuracy_by_kind):
    correct = sum(sum(results) for results in accuracy_by_kind.values())
    total = sum(len(results) for results in accuracy_by_kind.values())
    assert correct / total >= OVERALL_FLOOR


@pytest.mark.parametrize("kind", KINDS)
def test_accuracy_per_kind(accuracy_by_kind, kind):
    results = accuracy_by_kind[kind]
    assert sum(results) / len(results) >= PER_KIND_FLOOR, f"{kind}: {sum(results)}/{len(results)}"
