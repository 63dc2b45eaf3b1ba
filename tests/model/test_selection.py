"""Choosing the served members among more trained ones (``model.training.selection``), on the shipped members."""

import keras
import numpy as np
import pytest

from model.runtime import card as model_card
from model.runtime.litert import Classifier, to_input
from model.training.export import to_tflite
from model.training.held_out import calibrate, split_validation, validation_set
from model.training.network import ensemble, members_of
from model.training.selection import choose, margins, selection_set
from model.training.train import Recipe
from model.training.training_data import Counts

SMALL = Counts(font_digits=100, drawn_digits=500, non_digits=200)


@pytest.fixture(scope="module")
def held_out_digits(mnist):
    """1,000 of training's held-out MNIST digits: what the validation and selection sets are drawn from."""
    _, (images, labels) = split_validation(mnist, Recipe().validation_size, Recipe().seed)
    return images[:1000], labels[:1000]


@pytest.fixture(scope="module")
def validation(held_out_digits):
    return validation_set(*held_out_digits, SMALL, seed=41)


def confidently_wrong(member: keras.Model) -> keras.Model:
    """A copy of a good member whose last layer answers the next class: a network that trained badly."""
    wrong = keras.models.clone_model(member)
    wrong.set_weights(member.get_weights())
    last = wrong.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([np.roll(kernel, 1, axis=1), np.roll(bias, 1)])
    return wrong


def test_the_selection_set_redraws_the_held_out_digits_once_a_pass(held_out_digits):
    images, labels = held_out_digits
    one = selection_set(images, labels, seed=43, passes=1, counts=SMALL)
    two = selection_set(images, labels, seed=43, passes=2, counts=SMALL)
    mnist = two.kinds == "mnist"
    np.testing.assert_array_equal(two.images[mnist], images)
    assert len(two.labels) - len(labels) == 2 * (len(one.labels) - len(labels)), "a pass adds as many as the first"
    first, second = two.images[len(one.labels) :], one.images[len(labels) :]
    assert not np.array_equal(first[: len(second)], second), "each pass is drawn with its own seed"
    drawn = two.fitted_on()
    assert {"thick_blurred", "thumbnail", "photo", "font", "letter"} <= set(drawn)


def test_the_members_that_meet_the_goals_with_most_room_are_served(held_out_digits, validation):
    """Two good networks (the shipped model's first two members) and a confidently wrong one: choosing two of
    three keeps the good ones, the record ranks every pair, and the chosen pair's margins are what its own
    ensemble, exported and calibrated as training does, measures."""
    good = members_of(keras.models.load_model(model_card.KERAS_PATH))[:2]
    candidates = [good[0], confidently_wrong(good[1]), good[1]]
    names = ["model-1.keras", "model-2.keras", "model-3.keras"]
    chosen, record = choose(candidates, names, 2, validation, seed=43, passes=1, counts=SMALL)

    assert chosen == [0, 2]
    subsets = record["subsets"]
    assert subsets[0]["members"] == ["model-1.keras", "model-3.keras"]
    least = [subset["least_margin"] for subset in subsets]
    assert len(least) == 3, "every pair is on the record"
    assert least == sorted(least, reverse=True)
    assert all(subset["least_margin"] < -0.5 for subset in subsets[1:]), "a wrong member ruins any pair"
    assert {"mnist", "font", "thick_blurred", "non_digits"} <= set(subsets[0]["margins"])

    selection = selection_set(*held_out_digits, seed=43, passes=1, counts=SMALL)
    served = Classifier(to_tflite(ensemble([candidates[index] for index in chosen])))
    measured = margins(served.predict_all(to_input(selection.images)), calibrate(served, validation), selection)
    for kind, margin in subsets[0]["margins"].items():
        assert measured[kind] == pytest.approx(margin, abs=0.02), kind


def test_nothing_is_chosen_when_every_network_is_served(validation):
    members = [keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])] * 2
    assert choose(members, ["a", "b"], 2, validation, seed=43) == ([0, 1], None)
