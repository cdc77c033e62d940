"""Faces in a frame: detectors (YuNet, Haar), their model files, the crop step and the tracker."""
