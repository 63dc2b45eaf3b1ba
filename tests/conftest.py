"""Shared fixtures: the real MNIST cache and the committed model."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model import card as model_card
from model.data import Mnist, load_mnist
from model.litert import Classifier


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load(model_card.TFLITE_PATH)
