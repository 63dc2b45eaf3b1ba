import keras
import numpy as np
import tensorflow as tf

from model.runtime.litert import to_input
from model.training.network import (
    CLASSES,
    DRAWS,
    Augment,
    augment,
    build_model,
    ensemble,
    members_of,
    random_stroke_width,
)
from model.training.selection import combine
from model.training.train import Recipe, seeded_draws, trainer


def test_model_maps_the_input_contract_to_the_digits_and_not_a_digit():
    model = build_model()
    assert model.input_shape == (None, 28, 28, 1)
    probabilities = model(np.zeros((2, 28, 28, 1), np.float32), training=False).numpy()
    assert probabilities.shape == (2, CLASSES) == (2, 11)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_augment_keeps_shape_range_and_most_of_the_ink(mnist):
    images = tf.constant(to_input(mnist.x_train[:64]))
    augmented = augment(images, seeded_draws(64, tf.constant([3, 4]))).numpy()
    assert augmented.shape == images.shape
    assert augmented.min() >= 0.0
    assert augmented.max() <= 1.0
    ink_before = images.numpy().sum(axis=(1, 2, 3))
    ink_after = augmented.sum(axis=(1, 2, 3))
    # Thinning a thin digit can take most of its ink, but it never wipes the digit out.
    assert np.all(ink_after > 0.15 * ink_before)
    assert np.all(augmented.max(axis=(1, 2, 3)) > 0.4)


def test_augment_is_reproducible_for_a_seed_and_varies_across_seeds(mnist):
    images = tf.constant(to_input(mnist.x_train[:8]))
    first = augment(images, seeded_draws(8, tf.constant([1, 2]))).numpy()
    assert np.array_equal(first, augment(images, seeded_draws(8, tf.constant([1, 2]))).numpy())
    assert not np.array_equal(first, augment(images, seeded_draws(8, tf.constant([1, 3]))).numpy())


def test_seeded_draws_are_the_shipped_models_streams():
    """Each distortion keeps the stateless stream it was drawn from when the shipped models were trained."""
    seed = tf.constant([7, 8], tf.int64)
    draws = seeded_draws(5, seed).numpy()
    geometry, stroke = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    angle, _, _, shift, _ = tf.unstack(tf.random.experimental.stateless_split(geometry, 5))
    assert draws.shape == (5, DRAWS)
    np.testing.assert_array_equal(draws[:, 0], tf.random.stateless_uniform([5], angle).numpy())
    np.testing.assert_array_equal(draws[:, 3:5], tf.random.stateless_uniform([5, 2], shift).numpy())
    np.testing.assert_array_equal(draws[:, 5], tf.random.stateless_uniform([5, 1, 1, 1], stroke).numpy().ravel())


def test_stroke_width_thickens_and_thins(mnist):
    images = tf.constant(to_input(mnist.x_train[:256]))
    changed = random_stroke_width(images, np.random.default_rng(5).random(256, np.float32)).numpy()
    ink_ratio = changed.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert (ink_ratio > 1.2).any(), "some digits get thicker"
    assert (ink_ratio < 0.9).any(), "some digits get thinner"


def test_the_augment_layer_distorts_in_training_only(mnist):
    """The layer an accelerator's backend trains through: seeded, and a pass-through at inference."""
    images = to_input(mnist.x_train[:16])
    layer = Augment(seed=3)
    assert np.array_equal(np.asarray(layer(images, training=False)), images)
    distorted = np.asarray(layer(images, training=True))
    assert distorted.shape == images.shape
    assert not np.array_equal(distorted, images)
    again = np.asarray(Augment(seed=3)(images, training=True))
    np.testing.assert_array_equal(distorted, again)


def test_on_tensorflow_the_plain_model_trains_and_tf_data_augments(mnist):
    model = build_model()
    assert keras.backend.backend() == "tensorflow"
    trained, data = trainer(model, (mnist.x_train[:256], mnist.y_train[:256]), Recipe(batch_size=64))
    assert trained is model
    assert data["steps_per_epoch"] == 4
    images, labels = next(iter(data["x"]))
    assert images.shape == (64, 28, 28, 1)
    assert labels.shape == (64,)


def test_off_tensorflow_the_augment_layer_trains_the_model_in_place(mnist, monkeypatch):
    """The accelerator's path (JAX has no tf.data), taken here on TensorFlow: the model learns behind an
    Augment layer from plain arrays, and what is returned (and saved) is the model alone."""
    from model.training import train as training

    monkeypatch.setattr(training, "on_tensorflow", lambda: False)
    model = build_model()
    wrapped, fed = trainer(model, (mnist.x_train[:256], mnist.y_train[:256]), Recipe())
    assert isinstance(wrapped.layers[0], Augment)
    assert wrapped.layers[1] is model
    assert fed["x"].shape == (256, 28, 28, 1)
    assert fed["x"].dtype == np.float32
    recipe = Recipe(epochs=1, polish_epochs=1, batch_size=64, members=2)
    data, held_out = (mnist.x_train[:256], mnist.y_train[:256]), (mnist.x_test[:64], mnist.y_test[:64])
    trained, members = training.train(data, held_out, recipe)
    assert [(member["seed"], member["epochs_run"]) for member in members] == [(2026, 2), (2027, 2)]
    assert len(members_of(trained)) == 2
    for member in members_of(trained):
        assert not any(isinstance(layer, Augment) for layer in member.layers)
    assert trained.predict(to_input(mnist.x_test[:4]), verbose=0).shape == (4, CLASSES)


def test_the_ensemble_answers_its_members_geometric_mean_and_saves(tmp_path, mnist):
    """The served model: the members' mean log-probability, renormalized; saved and loaded as one model,
    members (and their own weights) intact; one member is that member."""
    keras.utils.set_random_seed(5)
    members = [build_model(), build_model()]
    model = ensemble(members)
    images = to_input(mnist.x_test[:8])
    expected = combine([member.predict(images, verbose=0) for member in members])  # what the selection judges
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-4, atol=1e-6)
    model.save(tmp_path / "ensemble.keras")
    loaded = keras.models.load_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, rtol=1e-4, atol=1e-6)
    assert [len(member.layers) for member in members_of(loaded)] == [len(members[0].layers)] * 2
    single = build_model()
    assert ensemble([single]) is single
    assert members_of(single) == [single]
