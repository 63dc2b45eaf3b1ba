"""What a recognizer process imports: image bytes in, a calibrated digit out.

``recognizer.py`` = ``decode.py`` (+ ``png.py``/``unfilter.py`` for plain PNGs) + ``preprocess.py``
+ ``litert.py`` + ``calibration.py``; ``worker.py`` is its end of the pipe. Also the files the
server shares with training: ``card.py``, ``versions.py``, ``labelled.py``, ``metrics.py``.

May import: numpy, scipy, Pillow, LiteRT, zlib-ng, numba; never ``model.training``, ``server`` or
TensorFlow (``tests/unit/test_layers.py`` checks).
"""
