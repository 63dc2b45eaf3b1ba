"""export-labels: the labelled attempts of either store as a training set and a summary."""

import json

import numpy as np
import pytest

from model.runtime.drawing import gray_png
from model.runtime.labelled import LabelledSet
from server.storage.attempts import Attempt
from server.storage.label_export import export_labels
from server.storage.urls import open_store
from tests.support.records import make_attempt


def labelled_attempts(mnist, count: int) -> list[Attempt]:
    """Attempts whose input is a real 28x28 MNIST image, labelled with its digit, answered by two versions."""
    attempts = []
    for index in range(count):
        record = make_attempt(1_700_000_000.0 + index, digit=int(mnist.y_test[index]))
        attempts.append(
            Attempt(
                **{
                    **record.__dict__,
                    "input": gray_png(mnist.x_test[index]),
                    "drawer": f"drawer-{index % 3}",
                    "room": "7B" if index % 2 else "",
                    "model_version": "v1" if index % 2 else "v2",
                    "digit": int(mnist.y_test[index]) if index % 4 else (int(mnist.y_test[index]) + 1) % 10,
                }
            )
        )
    return attempts


def fill(store, mnist) -> list[Attempt]:
    attempts = labelled_attempts(mnist, 12)
    unlabelled = make_attempt(1_700_000_100.0)
    no_input = Attempt(**{**make_attempt(1_700_000_101.0).__dict__, "input": None})
    broken_input = make_attempt(1_700_000_102.0)  # its "input" is not a 28x28 PNG
    store.upsert([*attempts, unlabelled, no_input, broken_input])
    for index, attempt in enumerate(attempts):
        store.set_label(attempt.id, int(mnist.y_test[index]), attempt.created_at)
    store.set_label(no_input.id, 4, no_input.created_at)
    store.set_label(broken_input.id, 5, broken_input.created_at)
    return attempts


def check_export(out, attempts, mnist) -> None:
    data = LabelledSet.load(out)
    assert len(data) == len(attempts)
    order = np.argsort(data.created_at)
    np.testing.assert_array_equal(data.inputs[order], mnist.x_test[:12])
    np.testing.assert_array_equal(data.labels[order], mnist.y_test[:12])
    assert data.attempt_ids[order].tolist() == [a.id for a in attempts]
    assert data.rooms[order].tolist() == [a.room for a in attempts], "each drawing's room, from the store"
    assert set(data.rooms.tolist()) == {"", "7B"}
    assert set(data.drawers.tolist()) == {"drawer-0", "drawer-1", "drawer-2"}
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["attempts"] == 12
    assert summary["per_digit"] == np.bincount(mnist.y_test[:12], minlength=10).tolist()
    assert summary["skipped_unreadable_input"] == 1
    assert set(summary["by_model_version"]) == {"v1", "v2"}
    v2 = summary["by_model_version"]["v2"]  # even indexes; 0, 4 and 8 were answered wrong
    assert (v2["labelled"], v2["correct"]) == (6, 3)
    assert sum(map(sum, v2["confusion"])) == 6


def test_export_from_sqlite_through_the_command(app, mnist, tmp_path):
    attempts = fill(app.extensions["service"].store, mnist)
    out = tmp_path / "export" / "labels.npz"
    result = app.test_cli_runner().invoke(args=["export-labels", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 labelled attempts from 3 drawers" in result.output
    check_export(out, attempts, mnist)


def test_export_with_nothing_labelled_writes_an_empty_set(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["export-labels", "--out", str(tmp_path / "none.npz")])
    assert result.exit_code == 0, result.output
    assert len(LabelledSet.load(tmp_path / "none.npz")) == 0


@pytest.mark.cassandra
def test_export_from_cassandra_pages_through_the_table(cassandra_url, mnist, tmp_path):
    store = open_store(cassandra_url)
    store.create_schema()
    try:
        attempts = fill(store, mnist)
        assert len(list(store.labelled(page_size=3))) == 13, "paged in threes: 12 usable and the broken input"
        export_labels(store, tmp_path / "labels.npz")
    finally:
        store.close()
    check_export(tmp_path / "labels.npz", attempts, mnist)
