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


# -- tests mirror modules --------------------------------------------------------------------
#: Test files named after no module, and why (docs/ARCHITECTURE.md, "The tests", lists them).
NOT_A_MODULE = {
    "test_docs.py": "the documentation: ARCHITECTURE.md true to the tree, this naming rule",
    "test_dependencies.py": "the dependency rule between the packages, read from all of them",
    "test_packaging.py": "the wheel: the three packages and console scripts pyproject.toml ships",
    "test_service_unit.py": "the shipped systemd unit file (edge/data/), not a Python module",
    "test_service_mdwe.py": "MemoryDenyWriteExecute of the unit against the native libraries",
    "test_train_backends.py": "end to end: fer-train and fer-convert on each Keras backend",
}


def mirror_names() -> dict[str, list[str]]:
    """Each test file name a module allows -> the modules it names: ``test_X.py`` for the
    fer_edge module whose path ends in X (``quality``, ``faces_quality``, ``cli_run``; a package
    by its folder; a whole path wins over endings, so ``options`` is edge/options.py),
    ``test_train_X.py``/``test_convert_X.py`` for fer_train/fer_convert and
    ``test_helpers_X.py`` for a tests/helpers module."""
    whole: dict[str, list[str]] = {}
    ending: dict[str, list[str]] = {}
    roots = {"edge": REPO / "edge", "train": REPO / "train", "convert": REPO / "convert"}
    roots["helpers"] = REPO / "tests" / "helpers"
    for top, root in roots.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            if not parts or parts[-1] == "__main__":
                continue
            module = "/".join((root.relative_to(REPO).as_posix(), *parts))
            full = parts if top == "edge" else (top, *parts)
            whole.setdefault(f"test_{'_'.join(full)}.py", []).append(module)
            for i in range(1, len(parts) if top == "edge" else 0):
                ending.setdefault(f"test_{'_'.join(parts[i:])}.py", []).append(module)
    return {**ending, **whole}


def test_every_test_file_is_named_after_the_one_module_it_tests():
    names = mirror_names()
    assert names["test_quality.py"] == ["edge/faces/quality"]
    assert names["test_faces_quality.py"] == ["edge/faces/quality"]
    assert names["test_train_data.py"] == ["train/data"]
    assert names["test_options.py"] == ["edge/options"]
    assert len(names["test_devices.py"]) == 1  # train/devices.py is test_train_devices.py
    files = sorted(p.name for p in (REPO / "tests").glob("test_*.py"))
    assert len(files) >= 60
    unnamed = [f for f in files if f not in names and f not in NOT_A_MODULE]
    ambiguous = {f: names[f] for f in files if len(names.get(f, [])) > 1}
    assert unnamed == [] and ambiguous == {}
    assert sorted(set(NOT_A_MODULE) - set(files)) == []  # no stale exception
    assert sorted(set(NOT_A_MODULE) & set(names)) == []  # an exception that need not be one
    section = TEXT.split("### The tests", 1)[1].split("\n## ", 1)[0]
    assert [f for f in NOT_A_MODULE if f"`tests/{f}`" not in section] == []
