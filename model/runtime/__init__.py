"""What a recognizer process imports: image bytes in, a calibrated digit out.

``recognizer.py`` = ``decode.py`` (+ ``png.py``/``unfilter.py`` for plain PNGs) + ``preprocess.py``
(+ ``filters.py``/``filter_kernels.py``) + ``litert.py`` + ``calibration.py``; ``kernels.py`` loads the
compiled kernels; ``worker.py`` is its end of the pipe. Also the files the
server shares with training: ``card.py``, ``versions.py``, ``labelled.py``, ``metrics.py``.

May import: numpy, Pillow, LiteRT, zlib-ng, numba; never SciPy (serving does not install it),
``model.training``, ``server`` or TensorFlow (``tests/unit/test_layers.py`` checks).
"""
