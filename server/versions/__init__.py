"""Which model version serves: the live switch between versions and the background retrain job.

``switch.py`` watches the active pointer (``model/runtime/versions.py``) and swaps the model in every
process; ``retrain_job.py`` runs ``python -m model.training.retrain`` in its own process.

May import: ``model.runtime`` and the top-level modules; never ``model.training`` (it runs as a command).
"""
