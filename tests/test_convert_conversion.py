"""The conversion pipeline: what a run folder tells it (the crop recipe the model trained with)."""

from __future__ import annotations


def test_conversion_crops_by_the_recipe_the_model_was_trained_with(tmp_path):
    import json

    from fer_convert.conversion import Source
    from fer_edge.contract.recipe import CropRecipe

    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"stand-in")
    recorded = CropRecipe(32, 0.2, False)
    (run / "run.json").write_text(
        json.dumps({"crop": recorded.to_dict(), "parameters": {"image_size": 32}})
    )
    assert Source(run / "model.keras", run, None).recipe(32) == recorded  # the run's
    assert Source(run / "model.keras", None, None).recipe(32) == CropRecipe(32)  # no record
