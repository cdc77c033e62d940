"""fer-train: fuse expression datasets, fine-tune ResNet50, evaluate per dataset and class."""

__version__ = "0.1.0"
