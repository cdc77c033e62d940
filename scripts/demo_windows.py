"""Print the daemon's window records as a short table a person can read (the demo's view)."""

from __future__ import annotations

import sys

from fer_edge.record.jsonl import read_windows
from fer_edge.record.timeutil import iso


def main(log_dir: str) -> None:
    for r in read_windows(log_dir):
        head = f"{iso(r.start)[11:19]}-{iso(r.end)[11:19]}  {r.tracks:>2} faces"
        seen = r.faces_readable + r.faces_unreadable
        if r.faces_unreadable:
            why = ", ".join(f"{k} {n}" for k, n in r.unreadable.items())
            head += f" ({r.faces_unreadable / seen:.0%} of sightings unreadable: {why})"
        if r.suppressed:
            print(f"{head}  suppressed (fewer than {r.min_group} faces)")
            continue
        top = sorted(r.shares.items(), key=lambda kv: kv[1], reverse=True)[:3]
        shares = ", ".join(f"{label} {share:.0%}" for label, share in top if share >= 0.01)
        prior = "on" if r.prior_correction else "off"
        print(f"{head}  {shares}  (mean confidence {r.mean_confidence:.2f}, prior {prior})")


if __name__ == "__main__":
    main(sys.argv[1])
