"""server/serving/explanations.py: an explanation as the prediction event and /api/predict send it."""

import base64
import json

from model.runtime.explain import Explanation, LayerView
from server.serving.explanations import explanation_json


def test_images_travel_as_png_data_urls_and_the_rest_as_plain_json():
    explanation = Explanation(3, b"\x89PNG-heat", 0.25, [LayerView("conv2d_1", (24, 24, 32), [4, 1], b"\x89PNG-tiles")])
    payload = json.loads(json.dumps(explanation_json(explanation)))
    assert payload["target"] == 3
    assert payload["peak_drop"] == 0.25
    assert base64.b64decode(payload["heatmap"].removeprefix("data:image/png;base64,")) == b"\x89PNG-heat"
    [layer] = payload["layers"]
    assert layer == {
        "name": "conv2d_1",
        "shape": [24, 24, 32],
        "channels": [4, 1],
        "mosaic": "data:image/png;base64," + base64.b64encode(b"\x89PNG-tiles").decode(),
    }
