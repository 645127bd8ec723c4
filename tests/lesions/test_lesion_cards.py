"""Every bundled lesion model has a recipe, and its card's figures come back from the shipped weights.

The fast test recomputes each figure on the first 8 held-out studies (the card states them as
``metrics_subset``) and asks for the card's value, inside its 95 % CI; the slow one recomputes
the card's main figures on all 30 held-out studies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from osteoscan.lesions.bundle import ASSETS, read_card
from osteoscan.lesions.recipes import CHECK_STUDIES, RECIPES, figures, load, recipe, scaled, studies


def test_every_bundled_lesion_model_has_a_recipe_and_card_figures():
    script_built = {"hotspot_detector"}  # scripts/build_detector.py, run by build_models.py too
    shipped = sorted(p.stem for p in ASSETS.glob("*.safetensors"))
    assert shipped == sorted({r.name for r in RECIPES} | script_built)
    build = (Path(__file__).parents[2] / "scripts" / "build_models.py").read_text()
    assert all(f"scripts/build_{n.split('_')[-1]}.py" in build for n in script_built)
    for r in RECIPES:
        card = read_card(ASSETS / r.name)
        assert card["held_out"] == r.held_out.describe() and "site_c" not in r.data.sites
        if r.select is not None:  # selected on profiles neither trained nor tested on
            assert not set(r.select.sites) & (set(r.data.sites) | set(r.held_out.sites))
            assert card["training"]["selected_on"] == r.select.describe()
        for block in card["metrics"].values():
            assert block["ci_low"] <= block["value"] <= block["ci_high"]
            assert 0 < block["n_patients"] <= r.held_out.n
        assert all(need in {x.name for x in RECIPES[:RECIPES.index(r)]} for need in r.needs)


@pytest.mark.parametrize("name", [r.name for r in RECIPES])
def test_card_figures_recomputed_on_a_subset_lie_in_the_card_ci(name):
    torch.set_num_threads(2)
    r = recipe(name)
    stated = read_card(ASSETS / name)["metrics_subset"]
    assert stated["studies"] == CHECK_STUDIES
    fresh = figures(r, load(r, ASSETS / name), studies(r.held_out, CHECK_STUDIES), n_boot=0)
    for key, value in ((k, b["value"]) for k, b in fresh.items()):
        block = stated[key]
        assert block["ci_low"] <= value <= block["ci_high"], (key, value, block)
        assert value == pytest.approx(block["value"], abs=1e-3)  # CPU kernels may differ a little


@pytest.mark.slow
@pytest.mark.parametrize("name", [r.name for r in RECIPES])
def test_card_figures_recomputed_on_all_held_out_studies_equal_the_card(name):
    r = recipe(name)
    card = read_card(ASSETS / name)
    fresh = figures(r, load(r, ASSETS / name))
    for key, block in card["metrics"].items():
        assert block["ci_low"] <= fresh[key]["value"] <= block["ci_high"]
        assert fresh[key]["value"] == pytest.approx(block["value"], abs=1e-3)


def test_scaled_recipe_keeps_the_recipe_and_shrinks_data_and_epochs():
    r = scaled(recipe("hotspot_unet"), 0.1)
    assert [s.studies for s in r.stages] == [12, 7] and [s.epochs for s in r.stages] == [1, 1]
    assert r.config == recipe("hotspot_unet").config and r.data.n == 12 and r.held_out.n == 4
    assert r.select.n == 2 and r.select.sites == recipe("hotspot_unet").select.sites
    assert scaled(recipe("region_unet"), 0.1).select is None


def test_a_stage_is_resumed_only_for_the_same_recipe():
    from osteoscan.lesions.recipes import stage_key

    r = recipe("hotspot_unet")
    assert stage_key(r, 0) == stage_key(recipe("hotspot_unet"), 0) != stage_key(r, 1)
    assert stage_key(scaled(r, 0.1), 0) != stage_key(r, 0)


def test_bundled_lesion_cards_are_model_cards_that_rebuild_through_the_registry():
    from safetensors.torch import load_file

    from osteoscan.artefacts import read_card_file
    from osteoscan.models import create_model, model_info

    tasks = {"hotspot-segmentation": "segmentation", "skeletal-regions": "segmentation",
             "lesion-classification": "lesion-classification"}
    for r in RECIPES:
        card = read_card_file(ASSETS / f"{r.name}.json")
        assert model_info(card.architecture).task == tasks[card.task]
        net = create_model(card.architecture, **card.model_kwargs)
        net.load_state_dict(load_file(str(ASSETS / f"{r.name}.safetensors")), strict=True)
        assert card.metrics and card.settings["held_out"] == r.held_out.describe()
    assert read_card_file(ASSETS / "lesion_classifier.json").positive == "malignant"


def test_a_card_in_the_older_flat_format_still_loads(tmp_path):
    import json
    import shutil

    from osteoscan.lesions.hotspots import HotspotSegmenter

    card = read_card(ASSETS / "hotspot_unet")
    flat = {k: v for k, v in card.items() if k != "metrics"}  # as the stage wrote it before
    (tmp_path / "old.json").write_text(json.dumps(flat))
    shutil.copy(ASSETS / "hotspot_unet.safetensors", tmp_path / "old.safetensors")
    seg = HotspotSegmenter.load(tmp_path / "old")
    assert seg.card["threshold"] == card["threshold"] and seg.card["work_shape"] == [512, 128]


def test_the_detector_recipe_names_the_columns_the_bundled_detector_takes():
    """scripts/build_detector.py rebuilds what ships: its context columns are the bundled
    card's and the picture variant's (a column added to context.FEATURES later does not
    change the recipe), and it draws the uptake balance when the recipe says so."""
    import importlib.util
    import json

    from osteoscan.lesions.context import FEATURES

    path = Path(__file__).parents[2] / "scripts" / "build_detector.py"
    spec = importlib.util.spec_from_file_location("build_detector", path)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    card = json.loads((ASSETS / "hotspot_detector.json").read_text())
    assert tuple(card["features"]) == build.CONTEXT_FEATURES
    assert set(build.CONTEXT_FEATURES) <= set(FEATURES)
    assert build.recipe()[build.recipe().index("--context-features") + 1] == FEATURES[0]
    picture = json.loads((ASSETS / "picture" / "hotspot_detector.json").read_text())
    assert tuple(picture["features"]) == build.CONTEXT_FEATURES
    assert ("--uptake-balance" in build.recipe()) == build.UPTAKE_BALANCE
