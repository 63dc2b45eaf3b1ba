import io

import numpy as np
import pytest
from PIL import Image

from model.runtime import card as model_card
from model.runtime.decode import CorruptImage, ImageError, UnsupportedFormat
from model.runtime.preprocess import Prepared
from model.runtime.recognizer import LOW_CONFIDENCE, answer
from tests.support.images import blank_png, data_url, drawing


def drawn(mnist, index: int) -> bytes:
    return drawing(mnist.x_test[index], at=(80, 60))


def test_recognize_returns_everything_the_ui_shows(recognizer, mnist):
    result = recognizer.recognize(data_url(drawn(mnist, 0)))
    assert result.digit == 7
    assert result.confidence == max(result.probabilities)
    assert sum(result.probabilities) + result.not_a_digit == pytest.approx(1.0, abs=1e-4)
    assert len(result.probabilities) == 10
    assert result.not_a_digit < 0.01
    assert not result.low_confidence
    preview = Image.open(io.BytesIO(result.preview_png))
    assert preview.size == (28, 28)
    assert np.array_equal(np.asarray(preview), result.image)
    assert set(result.timings) == {"decode_ms", "preprocess_ms", "inference_ms"}
    assert all(value >= 0 for value in result.timings.values())


def test_blank_canvas_is_no_digit_never_a_guess(recognizer):
    result = recognizer.recognize(blank_png())
    assert result.digit is None
    assert result.reason == "blank"
    assert result.confidence == 0.0
    assert result.preview_png is None


def test_low_confidence_is_reported():
    probabilities = np.full(10, 0.5 / 9)
    probabilities[3] = 0.5
    result = answer(Prepared(np.zeros((28, 28), np.uint8)), probabilities, {})
    assert result.digit == 3
    assert result.confidence < LOW_CONFIDENCE
    assert result.low_confidence


def test_a_refusal_says_not_a_digit_and_keeps_what_the_model_saw():
    probabilities = np.array([0.01] * 10 + [0.9])
    result = answer(Prepared(np.zeros((28, 28), np.uint8)), probabilities, {}, refused=True)
    assert (result.digit, result.reason) == (None, "not_a_digit")
    assert result.confidence == result.not_a_digit == pytest.approx(0.9)
    assert result.image is not None
    assert len(result.probabilities) == 10
    assert not result.low_confidence


def test_a_batch_with_nothing_to_read_answers_every_item(recognizer):
    results = recognizer.recognize_batch([blank_png(), blank_png(40)])
    assert [result.reason for result in results] == ["blank", "blank"]


def test_bad_input_raises_typed_errors(recognizer):
    with pytest.raises(UnsupportedFormat):
        recognizer.recognize(b"GIF8 not really")
    with pytest.raises(CorruptImage):
        recognizer.recognize(b"\x89PNG\r\n\x1a\nbroken")


def test_classify_is_one_model_call_for_a_batch(recognizer, mnist, monkeypatch):
    calls = []
    predict = recognizer.classifier.predict
    monkeypatch.setattr(recognizer.classifier, "predict", lambda images: calls.append(len(images)) or predict(images))
    probabilities = recognizer.classify(mnist.x_test[:32])
    assert calls == [32]
    assert probabilities.shape == (32, 11), "the digits, then not a digit"
    assert (probabilities.argmax(axis=1) == mnist.y_test[:32]).mean() > 0.95


def test_recognize_batch_matches_one_by_one_with_one_model_call(recognizer, mnist, monkeypatch):
    items = [drawn(mnist, index) for index in range(6)] + [blank_png(50)]
    items.append(b"definitely not an image")
    singles = [recognizer.recognize(item) for item in items[:7]]
    calls = []
    predict = recognizer.classifier.predict
    monkeypatch.setattr(recognizer.classifier, "predict", lambda images: calls.append(len(images)) or predict(images))
    many = recognizer.recognize_batch(items)
    assert calls == [6]
    assert [r.digit for r in many[:7]] == [r.digit for r in singles[:7]]
    assert many[6].reason == "blank"
    assert isinstance(many[7], ImageError)
    assert many[7].code == "unsupported_format"
    for one, batched in zip(singles[:6], many[:6], strict=True):
        np.testing.assert_allclose(one.probabilities, batched.probabilities, atol=1e-5)


def test_recognizer_carries_the_version_on_the_model_card(recognizer):
    assert recognizer.version == model_card.read_card()["version"]
