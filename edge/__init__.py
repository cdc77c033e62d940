"""fer_edge: the device package and the model contract shared by training and conversion.

Nothing in this package imports TensorFlow.
"""

__version__ = "0.1.0"
