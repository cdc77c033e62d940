"""Helpers shared by the tests: fakes, generated scenes and clips, brokers, tiny models."""
