"""Face crops to class probabilities.

The TFLite runtime adapter, the packaged default model, prior correction.
"""
