"""The dependency rule of docs/ARCHITECTURE.md, read from the source (lazy imports included).

fer_edge imports neither fer_train, fer_convert nor TensorFlow; fer_edge.contract reaches no
OpenCV through anything it imports; no two fer_edge modules import each other, even lazily;
fer_train never imports fer_convert. The last two tests check the same at run time, by importing
every module in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

from helpers.source import graph, imports, modules, uses

EDGE = modules("fer_edge")
GRAPH = graph("fer_edge")


def top_levels(name: str) -> set[str]:
    return {m.split(".")[0] for m in imports(name, EDGE[name])}


def test_fer_edge_imports_neither_training_nor_conversion_nor_tensorflow():
    assert len(EDGE) >= 40
    bad = {"fer_train", "fer_convert", "tensorflow", "keras", "tf_keras"}
    offenders = {name: sorted(top_levels(name) & bad) for name in EDGE}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_contract_reaches_no_opencv():
    contract = [name for name in EDGE if name.startswith("fer_edge.contract")]
    reached, todo = set(), list(contract)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(GRAPH[name])
    assert len(contract) >= 7
    assert {name for name in reached if "cv2" in top_levels(name)} == set()
    assert {name for name in reached if not name.startswith("fer_edge.contract")} == set()


def test_no_import_cycles_among_fer_edge_modules():
    cycles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "visiting"
        for dep in sorted(GRAPH[name]):
            if state.get(dep) == "visiting":
                cycles.append(" -> ".join(trail[trail.index(dep) :] + [dep]))
            elif dep not in state:
                visit(dep, trail + [dep])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_training_never_imports_conversion():
    assert len(uses("fer_convert", "fer_train")) >= 3  # the scan sees cross-package imports
    assert uses("fer_train", "fer_convert") == set()


# -- the same rules at run time: importing every module -------------------------------------
def test_importing_every_fer_edge_module_does_not_import_tensorflow():
    code = (
        "import pkgutil, importlib, sys, fer_edge\n"
        "mods = [m.name for m in pkgutil.walk_packages(fer_edge.__path__, 'fer_edge.')\n"
        "        if not m.name.endswith('__main__')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "print(len(mods)); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 30  # every module of every subpackage


def test_the_contract_imports_no_opencv():
    """Training tools and card readers use the contract without OpenCV or a runtime."""
    code = (
        "import importlib, pkgutil, sys, fer_edge.contract as c\n"
        "mods = [m.name for m in pkgutil.iter_modules(c.__path__, 'fer_edge.contract.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cv2', 'tensorflow', 'keras')]\n"
        "print(len(mods), bad); sys.exit(1 if bad or len(mods) < 6 else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
