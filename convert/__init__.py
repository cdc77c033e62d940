"""fer-convert: quantise a trained Keras expression model to TFLite with a parity check.

Needs TensorFlow (the ``train`` extra); the device side (:mod:`fer_edge`) never does.
"""

__version__ = "0.1.0"
