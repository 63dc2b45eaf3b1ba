"""The digit model: the runtime a recognizer process imports, and the training that makes it.

The committed model lives here: ``digits.tflite`` (served), ``digits.keras`` (retrained from),
``digits.json`` (its card: version, calibration, recipe) and ``reports/``.
"""
