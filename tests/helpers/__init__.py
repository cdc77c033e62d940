"""Helpers shared by the tests: fakes, clips, brokers, tiny models, skips. Fixtures stay in
conftest.py; everything a test imports lives here."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
