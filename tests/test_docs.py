"""docs/ARCHITECTURE.md is true to the tree: the paths it lists exist, and it names every
fer_edge module that training and conversion use."""

from __future__ import annotations

import re

from helpers.source import REPO, uses

TEXT = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def listed_paths() -> list[str]:
    """The paths of the folder tree under "## The folders" (indentation gives the folder)."""
    block = TEXT.split("## The folders", 1)[1].split("```", 2)[1]
    paths, folders = [], []
    for line in block.splitlines():
        token = line.strip().split(" ")[0]
        if not (token.endswith("/") or token.endswith(".py")):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        folders = folders[:depth]
        paths.append("".join(folders) + token)
        if token.endswith("/"):
            folders.append(token)
    return paths


def test_every_path_in_the_folder_tree_exists():
    paths = listed_paths()
    assert len(paths) >= 60 and "edge/record/window.py" in paths
    assert [p for p in paths if not (REPO / p).exists()] == []


def test_every_path_named_in_the_text_exists():
    named = set(re.findall(r"`((?:edge|train|convert|docs|examples|bench)/[\w/.-]+)`", TEXT))
    assert named and [p for p in sorted(named) if not (REPO / p).exists()] == []


def test_the_fer_edge_modules_training_and_conversion_use_are_named():
    for package in ("fer_train", "fer_convert"):
        for name in uses(package, "fer_edge") - {"fer_edge.contract"}:
            assert f"`{name.removeprefix('fer_edge.')}`" in TEXT, f"{package} uses {name}"
