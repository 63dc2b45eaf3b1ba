"""The seed projects' way of serving, kept as the benchmark's baseline (not used by the product).

Flask-SocketIO in threading mode; each frame is decoded, converted to gray, inverted,
resized to 28x28 and classified with Keras ``model.predict``, one frame at a time, on
the handler thread. Same protocol and same model file as the real server.

    python -m bench.baseline_server --port 8100
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from flask import Flask
from flask_socketio import SocketIO, emit
from PIL import Image, ImageOps

from model.runtime import card as model_card

app = Flask(__name__)
socketio = SocketIO(app, async_mode="threading", max_http_buffer_size=8 * 1024 * 1024)
model = keras.models.load_model(model_card.KERAS_PATH)
model_lock = threading.Lock()  # the seeds shared one global model across requests


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@socketio.on("frame")
def frame(payload):
    sent = payload["image"]  # a data URL, or PNG bytes (a binary attachment) as the page sends now
    raw = sent if isinstance(sent, bytes) else base64.b64decode(sent.split(",", 1)[-1])
    image = Image.open(io.BytesIO(raw)).convert("L")
    image = ImageOps.invert(image).resize((28, 28))
    pixels = np.asarray(image, dtype=np.float32)[None, :, :, None] / 255.0
    with model_lock:
        probabilities = model.predict(pixels, verbose=0)[0]
    emit(
        "prediction",
        {
            "attempt_id": payload["attempt_id"],
            "seq": payload["seq"],
            "digit": int(probabilities.argmax()),
            "confidence": float(probabilities.max()),
            "probabilities": probabilities.tolist(),
            "final": payload.get("final", False),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8100)
    port = parser.parse_args().port
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True)
