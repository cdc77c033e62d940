"""The model contract: what training, conversion and the device agree on.

Labels, crop recipe, pixels, model card, errors and atomic writes. Imports no OpenCV.
"""
