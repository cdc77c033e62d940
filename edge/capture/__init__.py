"""Frames in: cameras, streams and video files as one kind of source; image files."""
