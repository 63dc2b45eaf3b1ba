"""The engines: a recognizer in a child process answers exactly like one in the thread, and survives its child dying."""

import os
import signal

import numpy as np
import pytest

from model.runtime import card as model_card
from model.runtime.decode import ImageError
from server.serving.engines import EngineFailed, LocalEngine, RecognizerProcess
from tests.support.images import blank_png, drawing
from tests.support.waiting import wait_until


def recognizer_process(recognizer) -> RecognizerProcess:
    return RecognizerProcess(str(model_card.TFLITE_PATH), str(model_card.CARD_PATH), recognizer.limits)


@pytest.fixture(scope="module")
def process(recognizer):
    engine = recognizer_process(recognizer)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def batch(mnist) -> list[bytes]:
    drawings = [drawing(mnist.x_test[i]) for i in range(8)]
    return [*drawings, b"definitely not an image", blank_png(60)]


def test_a_child_process_answers_like_the_thread(process, recognizer, batch, mnist):
    local = LocalEngine(recognizer)(batch)
    remote = process(batch)
    assert [r.digit for r in remote[:8]] == [r.digit for r in local[:8]] == list(mnist.y_test[:8])
    for here, there in zip(local[:8], remote[:8], strict=True):
        np.testing.assert_allclose(here.probabilities, there.probabilities, atol=1e-6)
        assert there.preview_png == here.preview_png
        assert set(there.timings) == {"decode_ms", "preprocess_ms", "inference_ms"}
    assert isinstance(remote[8], ImageError)
    assert remote[8].code == "unsupported_format"
    assert remote[9].digit is None
    assert remote[9].reason == "blank"


def test_only_the_frames_that_ask_are_explained_in_the_child(process, batch):
    asked, plain, broken, blank = process([batch[0], batch[1], batch[8], batch[9]], explain=[True, False, True, True])
    assert asked.explanation is not None
    assert asked.explanation.target == asked.digit
    assert plain.explanation is None, "the normal path is unchanged"
    assert isinstance(broken, ImageError)
    assert blank.explanation is None, "nothing to explain"


def test_a_dead_child_costs_one_batch_and_is_replaced(process, batch, mnist):
    process(batch[:1])  # the child is up
    assert process.alive()
    dead = process.pid
    os.kill(dead, signal.SIGKILL)
    wait_until(lambda: not process.alive(), what="the engine to notice its child died")
    with pytest.raises(EngineFailed):
        process(batch[:2])
    assert process.pid != dead
    assert process.alive(), "the replacement child is up"
    assert [r.digit for r in process(batch[:3])] == list(mnist.y_test[:3])


def test_a_hung_child_is_replaced(recognizer, batch, mnist):
    engine = recognizer_process(recognizer)
    engine(batch[:1])
    engine.batch_timeout = 0.5
    hung = engine.pid
    os.kill(hung, signal.SIGSTOP)
    with pytest.raises(EngineFailed):
        engine(batch[:1])
    assert engine.pid != hung
    engine.batch_timeout = 30.0
    assert engine(batch[:1])[0].digit == mnist.y_test[0]
    engine.close()


def test_closing_stops_the_child(recognizer, batch):
    engine = recognizer_process(recognizer)
    engine(batch[:1])
    child = engine._process
    engine.close()
    assert child.poll() is not None
    assert not engine.alive(), "a closed engine recognizes nothing"
