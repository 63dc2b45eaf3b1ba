"""The digit model: MNIST data, training, evaluation and the recognizer used by the server."""
