"""What a model card says about its training data: dataset descriptions and a fine-tune's lineage.

A card names datasets and describes them; it never records a local path. A model fine-tuned
from another keeps its parent's record (``training.parent``): the parent's datasets count as
trained on, and a subject is unseen only if neither model trained on it, so ``fer-train
evaluate`` never scores a parent's training faces as held out.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fer_edge.contract.card import ModelCard, card_path_for, read_card
from fer_edge.contract.errors import CardError

log = logging.getLogger(__name__)

DESCRIPTIONS = {
    "fer2013": "FER2013 (48x48 grey faces; original labels; images under unclear terms)",
    "ferplus": "FER+ (FER2013's faces, 10 crowd votes each; labels MIT, Microsoft; "
    "images FER2013's, unclear terms)",
    "ckplus": "CK+ (posed expressions; non-commercial research only; contempt excluded)",
    "jaffe": "JAFFE (posed expressions of 10 Japanese women; non-commercial research only)",
    "folder": "a local image folder (<label>/ sub-folders)",
}


def describe_source(name: str, kind: str, label_mode: str | None = None) -> dict:
    """A card's entry for one dataset: name, kind and description (never a path)."""
    text = DESCRIPTIONS.get(kind, kind)
    if kind == "ferplus" and label_mode:
        text += f"; {label_mode} labels"
    return {"name": name, "kind": kind, "description": text}


def parent_training(start) -> dict | None:
    """The training record in the card of the model a run starts from, or None without one."""
    if start is None:
        return None
    try:
        if start.weights == "default":
            from fer_edge.classify.packaged_model import default_model_path

            card: ModelCard = read_card(default_model_path().with_suffix(".json"))
        else:
            card = read_card(card_path_for(start.path))
    except CardError:
        log.warning("%s: no model card, so no record of its training data", start.weights)
        return None
    return card.training or None


def merge_held_out(own: dict, parent: dict) -> dict:
    """Per dataset and split, the subjects held out by both runs (unseen by the fine-tuned
    model); a dataset only one of them trained on keeps that one's subjects."""
    merged: dict[str, dict[str, list[str]]] = {}
    for name in sorted(set(own) | set(parent)):
        if name not in parent or name not in own:
            merged[name] = dict(own.get(name) or parent[name])
            continue
        splits = set(own[name]) | set(parent[name])
        merged[name] = {
            s: sorted(set(own[name].get(s, [])) & set(parent[name].get(s, []))) for s in splits
        }
    return merged


def training_datasets(own: list[dict], parent: dict | None) -> list[dict]:
    """This run's datasets, then the parent's (marked ``"via": "parent"``) not already listed."""
    out = [dict(d) for d in own]
    names = {d["name"] for d in out}
    for entry in (parent or {}).get("datasets", []):
        if entry.get("name") in names:
            continue
        clean = {k: v for k, v in entry.items() if k != "path"}
        if "description" not in clean and isinstance(entry.get("path"), str):
            # older cards wrote a description in "path"; keep it only if it is not a path
            if not Path(entry["path"]).is_absolute():
                clean["description"] = entry["path"]
        out.append({**clean, "via": "parent"})
        names.add(entry.get("name"))
    return out


def parent_record(parent: dict) -> dict:
    """What the card keeps of the parent's own training record."""
    keep = ("datasets", "held_out_subjects", "class_prior", "label_mode", "weights", "parent")
    record = {k: parent[k] for k in keep if k in parent}
    record["datasets"] = training_datasets([], {"datasets": parent.get("datasets", [])})
    for entry in record["datasets"]:
        entry.pop("via", None)
    return record
