"""The dependency rule of docs/ARCHITECTURE.md, read from the source (lazy imports included).

fer_edge imports neither fer_train, fer_convert nor TensorFlow; fer_edge.contract reaches no
OpenCV through anything it imports; no two fer_edge modules import each other, even lazily;
fer_train never imports fer_convert.
"""

from __future__ import annotations

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
