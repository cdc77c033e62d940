"""The crop recipe's checked values."""

from __future__ import annotations

import pytest

from fer_edge.contract.recipe import CropRecipe


def test_recipe_rejects_bad_values():
    with pytest.raises(ValueError):
        CropRecipe(size=4)
    with pytest.raises(ValueError):
        CropRecipe(margin=-0.1)
