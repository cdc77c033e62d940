"""The packages' import graph, read from the source (lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

from . import REPO

PACKAGES = {"fer_edge": REPO / "edge", "fer_train": REPO / "train", "fer_convert": REPO / "convert"}


def modules(package: str) -> dict[str, Path]:
    """Module name -> file, for every module of ``package`` (``data/`` folders hold none)."""
    root = PACKAGES[package]
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join((package, *parts))
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """Every module ``path`` imports anywhere, as absolute names (``from X import y`` gives X
    and X.y, which may be a submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    mods = modules(package)
    return {
        name: {m for m in imports(name, path) if m in mods and m != name}
        for name, path in mods.items()
    }


def uses(package: str, other: str) -> set[str]:
    """The modules of ``other`` that ``package`` imports anywhere."""
    theirs = modules(other)
    return {
        m for name, path in modules(package).items() for m in imports(name, path) if m in theirs
    }
