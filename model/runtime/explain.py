"""A view inside the network: what drove a decision, and what each convolution layer saw.

Asked for per frame (the page's "Look inside"), computed in the recognizer child process
next to the recognition, and never on the normal path (``bench/explain.py`` measures both).

* **Heat map by occlusion.** LiteRT has no gradients, so Grad-CAM is out; instead a black
  patch (the background: it erases ink) slides over the 28x28 input, every occluded copy
  goes through the model in one batch, and each pixel's heat is the mean drop of the chosen
  class's probability over the patches that covered it. Model-agnostic and honest: it
  measures the model's own answer, nothing reconstructed.
* **Activations.** A second interpreter keeps every intermediate tensor
  (``experimental_preserve_all_tensors``); each convolution's output (after its ReLU, when
  that is a separate op) is found from the graph's operators, not from fixed tensor indices,
  so any model that ``model/training/export.py`` writes for this family works, whatever its output
  width (10 digits, or 11 with "not a digit").
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from model.runtime.drawing import gray_png
from model.runtime.litert import Classifier, to_input

PATCH = 6  # pixels per side of the occluding patch: about a stroke's width and a bit
STRIDE = 2  # 12 x 12 = 144 positions on 28x28, one model call with the original image
TOP_CHANNELS = 16  # the most active channels of a layer shown, as a 4x4 mosaic
CONVOLUTIONS = {"CONV_2D", "DEPTHWISE_CONV_2D"}
ACTIVATIONS = {"RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU"}


@dataclass(frozen=True)
class LayerView:
    """One convolution layer's output: a mosaic of its most active channels, tiled row-major."""

    name: str  # the Keras layer, as the exported graph names it (e.g. "conv2d_1")
    shape: tuple[int, int, int]  # height, width, channels of the whole layer
    channels: list[int]  # which channels the mosaic shows, strongest first
    mosaic: bytes  # PNG: tiles of height x width, one pixel apart, each scaled to its own maximum


@dataclass(frozen=True)
class Explanation:
    """What an explained recognition carries besides the answer."""

    target: int  # the class explained: the model's top class for this input
    heatmap: bytes  # PNG 28x28: 255 where hiding the ink cost the target class most
    peak_drop: float  # the hottest pixel's mean drop in probability (0-1): what 255 stands for
    layers: list[LayerView]


def occlusions(image: np.ndarray, patch: int = PATCH, stride: int = STRIDE) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The image followed by one copy per patch position with that patch blacked out, and the positions."""
    size = image.shape[0]
    corners = [(top, left) for top in range(0, size - patch + 1, stride) for left in range(0, size - patch + 1, stride)]
    batch = np.repeat(image[None], len(corners) + 1, axis=0)
    for index, (top, left) in enumerate(corners, start=1):
        batch[index, top : top + patch, left : left + patch] = 0
    return batch, corners


def heat(drops: np.ndarray, corners: list[tuple[int, int]], size: int = 28, patch: int = PATCH) -> np.ndarray:
    """Each pixel's mean drop over the patches that covered it (negative drops, where hiding helped, count 0)."""
    total = np.zeros((size, size), dtype=np.float64)
    covered = np.zeros((size, size), dtype=np.float64)
    for drop, (top, left) in zip(np.maximum(drops, 0.0), corners, strict=True):
        total[top : top + patch, left : left + patch] += drop
        covered[top : top + patch, left : left + patch] += 1
    return total / np.maximum(covered, 1)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Scaled so the largest value is 255 (all zero stays zero)."""
    peak = float(values.max()) if values.size else 0.0
    return np.zeros(values.shape, np.uint8) if peak <= 0 else np.round(values / peak * 255).astype(np.uint8)


def mosaic(activation: np.ndarray, top: int = TOP_CHANNELS) -> tuple[list[int], np.ndarray]:
    """The ``top`` channels of an (h, w, c) activation with the largest mean, tiled in a square-ish grid."""
    height, width, count = activation.shape
    channels = [int(c) for c in np.argsort(-activation.mean(axis=(0, 1)), kind="stable")[: min(top, count)]]
    columns = int(np.ceil(np.sqrt(len(channels))))
    rows = int(np.ceil(len(channels) / columns))
    tiled = np.zeros((rows * (height + 1) - 1, columns * (width + 1) - 1), dtype=np.uint8)
    for index, channel in enumerate(channels):
        row, column = divmod(index, columns)
        y, x = row * (height + 1), column * (width + 1)
        tiled[y : y + height, x : x + width] = to_uint8(activation[..., channel])
    return channels, tiled


def layer_name(tensor_name: str, index: int) -> str:
    """The Keras layer in an exported tensor's name ("…/conv2d_1/convolution;…" -> "conv2d_1"), else conv_N."""
    found = re.search(r"([A-Za-z0-9_]*conv[A-Za-z0-9_]*)/(?:convolution|Conv2D|depthwise)", tensor_name)
    return found.group(1) if found else f"conv_{index + 1}"


def convolution_outputs(interpreter: Interpreter) -> list[int]:
    """The tensor index of each convolution layer's output, in graph order, after its ReLU if that is its own op.

    Read from the operators (LiteRT's graph), so nothing depends on how a given export numbered
    its tensors; the converter usually fuses the ReLU into the convolution, and when it does not,
    the layer's output is the activation that follows. In an ensemble, only the first member's
    layers: those the first convolution's output flows into (the other members start from the
    input, not from it), a view of one network rather than the same layers three times over.
    """
    operators = interpreter._get_ops_details()  # the only graph view LiteRT's Python API offers
    consumers: dict[int, list[dict]] = {}
    for operator in operators:
        for tensor in operator["inputs"]:
            consumers.setdefault(int(tensor), []).append(operator)
    convolutions = [operator for operator in operators if operator["op_name"] in CONVOLUTIONS]
    member = downstream(convolutions[0], consumers) if convolutions else set()
    outputs = []
    for operator in convolutions:
        if operator["index"] not in member:
            continue
        output = int(operator["outputs"][0])
        after = consumers.get(output, [])
        if len(after) == 1 and after[0]["op_name"] in ACTIVATIONS:
            output = int(after[0]["outputs"][0])
        outputs.append(output)
    return outputs


def downstream(start: dict, consumers: dict[int, list[dict]]) -> set[int]:
    """The indices of ``start`` and of every operator its outputs flow into."""
    seen, waiting = {start["index"]}, [start]
    while waiting:
        for tensor in waiting.pop()["outputs"]:
            for operator in consumers.get(int(tensor), []):
                if operator["index"] not in seen:
                    seen.add(operator["index"])
                    waiting.append(operator)
    return seen


class Explainer:
    """Heat maps and layer views for one model; thread-safe (interpreters are per thread), built on first use.

    Its interpreters are its own: the recognizer's batch interpreter is never resized to the
    occlusion batch, so explaining one frame does not slow the next normal batch down.
    """

    def __init__(self, model_content: bytes) -> None:
        self._model_content = model_content
        self._occluder = Classifier(model_content)  # its own interpreters, sized for the occlusion batch
        self._local = threading.local()

    def _inspector(self) -> tuple[Interpreter, list[int]]:
        """This thread's interpreter that keeps intermediate tensors, and its convolution outputs."""
        local = self._local
        if getattr(local, "interpreter", None) is None:
            with warnings.catch_warnings():  # "for debugging only": it is what reading activations needs
                warnings.simplefilter("ignore")
                interpreter = Interpreter(
                    model_content=self._model_content,
                    experimental_preserve_all_tensors=True,
                    # Without the default delegate every op runs on its own, so every output is kept.
                    experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                )
            interpreter.allocate_tensors()
            local.interpreter, local.outputs = interpreter, convolution_outputs(interpreter)
        return local.interpreter, local.outputs

    def layers(self, image: np.ndarray) -> list[LayerView]:
        """Each convolution layer's activations for one prepared 28x28 uint8 image."""
        interpreter, outputs = self._inspector()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], to_input(image[None]))
        interpreter.invoke()
        details = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
        views = []
        for index, tensor in enumerate(outputs):
            activation = interpreter.get_tensor(tensor)[0]
            channels, tiled = mosaic(activation)
            name = layer_name(details[tensor]["name"], index)
            views.append(LayerView(name, tuple(int(n) for n in activation.shape), channels, gray_png(tiled)))
        return views

    def occlusion(self, image: np.ndarray) -> tuple[int, np.ndarray]:
        """The model's top class for the image, and each pixel's mean probability drop when hidden."""
        batch, corners = occlusions(image)
        probabilities = self._occluder.predict(to_input(batch))
        target = int(np.argmax(probabilities[0]))
        return target, heat(probabilities[0, target] - probabilities[1:, target], corners, image.shape[0])

    def explain(self, image: np.ndarray) -> Explanation:
        """The heat map and the layer views of one prepared 28x28 uint8 image (the model's input)."""
        image = np.asarray(image, dtype=np.uint8).reshape(28, 28)
        target, drops = self.occlusion(image)
        return Explanation(target, gray_png(to_uint8(drops)), float(drops.max()), self.layers(image))
