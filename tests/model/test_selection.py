"""Choosing the served members among more trained ones (``model.training.selection``), on the shipped members."""

import json

import keras
import numpy as np
import pytest

from model.runtime import card as model_card
from model.runtime.calibration import Calibration
from model.runtime.litert import Classifier, to_input
from model.training.export import to_tflite
from model.training.held_out import calibrate, split_validation, validation_set
from model.training.network import ensemble, members_of
from model.training.selection import SELECTION_SEED_OFFSET, Judged, choose, combine, margins, rank
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
    one = validation_set(images, labels, SMALL, seed=43, passes=1)
    two = validation_set(images, labels, SMALL, seed=43, passes=2)
    np.testing.assert_array_equal(two.images[two.kinds == "mnist"], images)
    assert (two.kinds == "font").sum() == 2 * SMALL.font_digits
    assert (two.labels == 10).sum() == 2 * SMALL.non_digits
    drawn = (two.labels < 10) & (two.kinds != "mnist") & (two.kinds != "font")
    assert drawn.sum() >= 2 * 0.99 * SMALL.drawn_digits, "a drawing preprocessing finds empty is dropped, rarely"
    pass_1, pass_2 = one.images[len(labels) :], two.images[len(one.labels) :]
    assert not np.array_equal(pass_1[: len(pass_2)], pass_2[: len(pass_1)]), "each pass is drawn with its own seed"
    assert {"thick_blurred", "thumbnail", "photo", "font", "letter"} <= set(two.fitted_on())


def test_the_members_that_meet_the_goals_with_most_room_are_served(held_out_digits, validation):
    """Two good networks (the shipped model's first two members) and a confidently wrong one: choosing two of
    three keeps the good ones, the record ranks every pair, and the chosen pair's answers, calibration and
    margins are what its own ensemble, exported and calibrated as training does, gives."""
    good = members_of(keras.models.load_model(model_card.KERAS_PATH))[:2]
    candidates = [good[0], confidently_wrong(good[1]), good[1]]
    names = ["model-1.keras", "model-2.keras", "model-3.keras"]
    chosen, record = choose(candidates, names, 2, validation, recipe_seed=41, passes=1, counts=SMALL)

    assert chosen == [0, 2]
    subsets = record["subsets"]
    assert subsets[0]["members"] == ["model-1.keras", "model-3.keras"]
    least = [subset["least_margin"] for subset in subsets]
    assert len(least) == 3, "every pair is on the record"
    assert least == sorted(least, reverse=True)
    assert all(margin < -0.5 for margin in least[1:]), "a wrong member ruins any pair"
    assert {"mnist", "font", "thick_blurred", "non_digits"} <= set(subsets[0]["margins"])
    assert record["selection_set"]["seeds"] == [41 + SELECTION_SEED_OFFSET] * 2

    selection = validation_set(*held_out_digits, SMALL, seed=41 + SELECTION_SEED_OFFSET, passes=1)
    served = Classifier(to_tflite(ensemble([candidates[index] for index in chosen])))
    each = [Classifier(to_tflite(candidates[index])).predict_all(to_input(selection.images)) for index in chosen]
    answers = served.predict_all(to_input(selection.images))
    np.testing.assert_allclose(combine(each), answers, atol=2e-3)  # 8-bit round-off only
    calibration = calibrate(served, validation)
    assert calibration.temperature == pytest.approx(subsets[0]["calibration"]["temperature"], rel=1e-3)
    threshold = subsets[0]["calibration"]["not_a_digit_threshold"]
    assert calibration.not_a_digit_threshold == pytest.approx(threshold, abs=2e-3)
    measured = margins(answers, calibration, selection)
    for kind, margin in subsets[0]["margins"].items():
        inside = selection.labels >= 10 if kind == "non_digits" else (selection.kinds == kind) & (selection.labels < 10)
        assert measured[kind] == pytest.approx(margin, abs=1.5 / inside.sum()), f"{kind}: at most one drawing apart"


def test_ties_go_to_the_subset_refusing_more_non_digits():
    def judged(indexes, least, non_digits):
        return Judged(indexes, Calibration(), {"mnist": least, "non_digits": non_digits})

    first, second, third = judged((0, 1), -0.001, 0.01), judged((0, 2), -0.00101, 0.02), judged((1, 2), 0.0, 0.0)
    assert [one.indexes for one in rank([first, second, third])] == [(1, 2), (0, 2), (0, 1)]


def test_nothing_is_chosen_when_every_network_is_served(validation):
    members = [keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])] * 2
    for count in (2, 3):
        assert choose(members, ["a", "b"], count, validation, 41, passes=1, counts=SMALL) == ([0, 1], None)


def test_the_recorded_choice_is_the_shipped_model():
    """model/reports/member-selection.json: the committed command's choice among the five trained members is the
    three the shipped model holds (docs/model.md)."""
    record = json.loads((model_card.MODEL_DIR / "reports" / "member-selection.json").read_text())
    chosen = [candidate["keras_sha256"] for candidate in record["candidates"] if candidate["file"] in record["chosen"]]
    assert chosen == [member["keras_sha256"] for member in model_card.read_card()["members"]]
    assert record["subsets"][0]["members"] == record["chosen"]
    assert len(record["subsets"]) == 10, "every three of five"
