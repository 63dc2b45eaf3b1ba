"""The comparison report says how our model trained, from its card, without passing accelerator time for ours."""

from model.runtime import card as model_card
from model.training.compare import our_training


def test_our_row_says_how_many_networks_and_where_they_trained():
    shipped = our_training(model_card.read_card())
    assert shipped.startswith("3 network(s), up to 38 epochs each")
    assert "trained on an accelerator (KERAS_BACKEND=jax), so its seconds are not this machine's" in shipped
    here = our_training({"epochs_run": 27})
    assert here.startswith("1 network(s), up to 27 epochs each")
    assert "accelerator" not in here
