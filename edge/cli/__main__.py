"""``python -m fer_edge.cli``: the service's fallback ExecStart."""

from . import main

main(prog_name="fer-edge")
