"""The browser's offline recognizer equals the server's, in real headless Chromium.

The page's fallback (``frontend/js/offline.js``: the server's own ``.tflite`` run by LiteRT.js, behind
``frontend/js/preprocess.js``) is fed the same PNG canvases the server reads: 570 of the realistic kinds
(``model/training/realistic.py``: transparent and white canvases, small digits in a kiosk's corner, thin
and thick pens) and generated non-digits. For at least 99.5 % of them the browser's digit (or its
refusal and reason) is the server's, and the 28x28 inputs the two models see differ by at most 2/255
in mean absolute value, each of them. Also: the constants both sides use are one file, the card's
SHA-256 is checked before the model is used, and the in-memory batch fix changes nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import requests
from ai_edge_litert.interpreter import Interpreter

from model.runtime import preprocess
from model.runtime.recognizer import Recognizer
from model.training import realistic
from tests.support.chromium import PNG_PIXELS
from tests.support.server_process import running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CANVAS_KINDS = ("canvas_transparent", "canvas_white", "kiosk_corner")
PER_KIND = 170
NON_DIGITS = 60
AGREEMENT = 0.995
MAX_MEAN_DIFFERENCE = 2.0  # in 0-255 units: 2/255 of the input's range

# In the page: decode each PNG as the pad's canvas holds a drawing (a 2-D canvas, read back with
# getImageData), and recognize it with the offline recognizer.
RECOGNIZE = (
    """
async (pngs) => {"""
    + PNG_PIXELS
    + """
  if (!window.parity) {
    const { OfflineRecognizer } = await import("/static/js/offline.js");
    window.parity = await new OfflineRecognizer().load();
  }
  const results = [];
  for (const png of pngs) {
    const pixels = await pngPixels(png);
    const answer = await window.parity.recognize(pixels);
    results.push({ digit: answer.digit, reason: answer.reason, input: answer.input ? Array.from(answer.input) : null,
                   confidence: answer.confidence });
  }
  return results;
}
"""
)


def canvases(mnist) -> list[tuple[str, bytes]]:
    """Seeded realistic canvases of the page's kinds, and generated non-digits (letters, shapes, scribbles)."""
    found = []
    for offset, kind in enumerate(CANVAS_KINDS):
        rng = np.random.default_rng([25, offset])
        for index in rng.choice(len(mnist.y_test), size=PER_KIND, replace=False):
            found.append((kind, realistic.DRAWN_KINDS[kind](mnist.x_test[index], rng)))
    found += [(sample.kind, sample.data) for sample in realistic.non_digit_samples(NON_DIGITS, seed=25)]
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("parity-server")) as base:
        yield base


@pytest.fixture(scope="module")
def page(server, browser):
    """One page for the module (the recognizer loads once), in the run's Chromium (tests/system/conftest.py)."""
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(server)
    yield opened
    context.close()


def test_the_browser_reads_what_the_server_reads(page, mnist):
    recognizer = Recognizer.load()
    samples = canvases(mnist)
    assert len(samples) >= 500
    browser = []
    for start in range(0, len(samples), 40):
        chunk = [base64.b64encode(data).decode() for _, data in samples[start : start + 40]]
        browser += page.evaluate(RECOGNIZE, chunk)
    agree, differences, disagreements = 0, [], []
    for (kind, data), theirs in zip(samples, browser, strict=True):
        ours = recognizer.recognize(data)
        same = ours.digit == theirs["digit"] and ours.reason == theirs["reason"]
        agree += same
        if not same:
            disagreements.append((kind, ours.digit, ours.reason, theirs["digit"], theirs["reason"]))
        if ours.image is not None and theirs["input"] is not None:
            mine = np.asarray(theirs["input"], dtype=np.float64).reshape(28, 28)
            differences.append(float(np.abs(mine - ours.image.astype(np.float64)).mean()))
    share = agree / len(samples)
    print(
        f"parity: {agree}/{len(samples)} answers equal ({share:.2%}); worst input difference "
        f"{max(differences):.3f}/255, mean {np.mean(differences):.4f}/255; disagreements {disagreements}"
    )
    assert share >= AGREEMENT, disagreements
    assert max(differences) <= MAX_MEAN_DIFFERENCE
    assert len(differences) >= 0.9 * len(samples) - NON_DIGITS


def test_both_sides_read_one_contract(server):
    """The constants are one file: the server's module reads it, and the card sends it to the page."""
    contract = json.loads((ROOT / "model" / "runtime" / "preprocess.json").read_text())
    contract.pop("about")
    assert contract == preprocess.CONTRACT
    assert (
        contract["work_size"],
        contract["box_size"],
        contract["mnist_stroke"],
    ) == (preprocess.WORK_SIZE, preprocess.BOX_SIZE, preprocess.MNIST_STROKE)
    card = requests.get(f"{server}/api/model/card", timeout=10).json()
    assert card["preprocess"] == contract
    source = (ROOT / "frontend" / "js" / "preprocess.js").read_text()
    for name in ("128", "0.25", "2.8", "0.07", "56"):  # no constant restated in the port
        assert f" {name};" not in source, name
        assert f"= {name}," not in source, name


def test_the_page_checks_the_model_it_is_given(server, page):
    card = requests.get(f"{server}/api/model/card", timeout=10).json()
    model = requests.get(f"{server}{card['tflite']}", timeout=10)
    assert hashlib.sha256(model.content).hexdigest() == card["sha256"]
    assert model.headers["X-Model-Version"] == card["version"]
    checked = page.evaluate(
        """async () => {
          const { sha256Fallback, sha256Hex, fixedBatch } = await import("/static/js/offline.js");
          const card = await (await fetch("/api/model/card")).json();
          const bytes = new Uint8Array(await (await fetch(card.tflite)).arrayBuffer());
          const fixed = fixedBatch(bytes);
          let changed = 0;
          for (let i = 0; i < bytes.length; i++) changed += bytes[i] !== fixed[i];
          return { subtle: await sha256Hex(bytes), fallback: sha256Fallback(bytes), changed, size: fixed.length,
                   tampered: sha256Fallback(fixed) === card.sha256 };
        }"""
    )
    assert checked["subtle"] == checked["fallback"] == card["sha256"]
    assert checked["size"] == len(model.content)
    # Only -1 -> 1 in shape signatures: at most 4 bytes for each tensor whose batch dimension is dynamic.
    tensors = Interpreter(model_content=model.content).get_tensor_details()
    dynamic = sum(1 for tensor in tensors if len(tensor["shape_signature"]) and tensor["shape_signature"][0] == -1)
    assert 0 < checked["changed"] <= 4 * dynamic
    assert checked["tampered"] is False
