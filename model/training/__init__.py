"""How the model is made: MNIST and generated data, the network, training, retraining and reports.

Run as commands (``make train``, ``make retrain``, ``make evaluate``, ``make compare``); the server
starts the retrain as a process and never imports this package.

May import: ``model.runtime``, TensorFlow/Keras, and ``server.storage`` (the retrain reads the
class's labelled attempts from the store).
"""
