"""The JSON view of an explanation (``model/runtime/explain.py``), as ``prediction`` and ``/api/predict`` send it.

Images travel as PNG data URLs, like ``preview``: the page shows them as they come, and
a JSON-only client needs nothing else.
"""

from __future__ import annotations

from typing import Any

from model.runtime.explain import Explanation
from server.storage.attempts import data_url


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    """``{"target", "heatmap", "peak_drop", "layers": [{"name", "shape", "channels", "mosaic"}]}``."""
    return {
        "target": explanation.target,
        "heatmap": data_url(explanation.heatmap),
        "peak_drop": explanation.peak_drop,
        "layers": [
            {
                "name": layer.name,
                "shape": list(layer.shape),
                "channels": layer.channels,
                "mosaic": data_url(layer.mosaic),
            }
            for layer in explanation.layers
        ],
    }
