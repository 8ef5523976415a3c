"""Tests of the CNN visualization recipes: quick figures offline, and the full profile's code path.

The full profile needs ImageNet-pretrained weights, which tests cannot download. Its code path
runs here with a randomly initialised ResNet-18 in place of the pretrained model, together with the
real preprocessing of the torchvision weights (which needs no download).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torchvision
from matplotlib.figure import Figure

from cvnotes import models
from cvnotes.assets import AssetMissingError
from cvnotes.figures import RecipeContext, build_figures, get_recipe, run_recipe
from cvnotes.figures.build import missing_figures
from cvnotes.figures.cnn_visualization import load_subject
from cvnotes.figures.style import LANGUAGES, figure_style

RECIPES = ["cnn-first-layer-filters", "cnn-occlusion", "cnn-grad-cam"]


@pytest.fixture(scope="module")
def quick_outputs():
    return {name: run_recipe(name, offline=True) for name in RECIPES}


def test_quick_recipes_draw_both_languages(quick_outputs):
    for name, output in quick_outputs.items():
        assert set(output.figures) == set(LANGUAGES), name
        for figure in output.figures.values():
            assert isinstance(figure, Figure)
            assert len(figure.axes) >= 2
        assert output.png("ko") != output.png("en"), f"{name}: labels not translated"


def test_quick_recipes_record_model_and_prediction(quick_outputs):
    for name, output in quick_outputs.items():
        metrics = output.metrics
        assert metrics["held_out_accuracy"] >= 0.85, name
        assert metrics["held_out_size"] == 2000
    for name in ("cnn-occlusion", "cnn-grad-cam"):
        metrics = quick_outputs[name].metrics
        assert 0.0 < metrics["predicted_probability"] <= 1.0
        assert metrics["predicted_class"] in metrics["top_probabilities"]
        assert metrics["true_class"] == "Coat"


def test_quick_occlusion_metrics_consistent(quick_outputs):
    metrics = quick_outputs["cnn-occlusion"].metrics
    assert metrics["base_probability"] == metrics["predicted_probability"]
    assert metrics["max_drop"] == pytest.approx(
        metrics["base_probability"] - metrics["min_probability"], abs=1e-3
    )
    assert metrics["num_windows"] == 12 * 12


def test_quick_filter_shapes(quick_outputs):
    metrics = quick_outputs["cnn-first-layer-filters"].metrics
    assert metrics["first_layer_shape"] == [16, 1, 3, 3]
    assert metrics["deeper_layer_shape"] == [32, 16, 3, 3]


def random_resnet(*, offline: bool, arch: str = "resnet18", cache=None) -> models.PretrainedClassifier:
    """Stand in for pretrained_resnet: same return type, random weights, the real preprocessing."""
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    torch.manual_seed(0)
    return models.PretrainedClassifier(
        model=torchvision.models.resnet18(weights=None).eval(),
        preprocess=weights.transforms(),
        categories=tuple(weights.meta["categories"]),
        asset_name="resnet18-imagenet",
    )


def full_context(name: str) -> RecipeContext:
    params = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in get_recipe(name).params.items()
    }
    # ResNet-18 has the same layer names as ResNet-50; a large window keeps occlusion at 4 passes.
    params["full"].update(arch="resnet18", occlusion_window=112, occlusion_stride=112)
    return RecipeContext(profile="full", offline=True, seed=0, params=params)


@pytest.mark.parametrize("name", RECIPES)
def test_full_profile_path_with_random_resnet(name, monkeypatch):
    monkeypatch.setattr(models, "pretrained_resnet", random_resnet)
    with figure_style():
        output = get_recipe(name).function(full_context(name))
        pngs = {language: output.png(language) for language in LANGUAGES}
    assert all(len(png) > 10_000 for png in pngs.values())
    assert output.metrics["weights"] == "resnet18-imagenet"
    assert output.metrics["photo"] == "cat"
    if name == "cnn-first-layer-filters":
        assert output.metrics["first_layer_shape"] == [64, 3, 7, 7]
        assert output.metrics["deeper_layer_shape"] == [64, 64, 3, 3]
    if name == "cnn-grad-cam":
        assert output.metrics["cam_layer_size"] == [7, 7]
        assert "true_class" not in output.metrics
    if name == "cnn-occlusion":
        assert output.metrics["num_windows"] == 4
        # Mid grey after ImageNet normalisation, one value per channel.
        assert output.metrics["baseline_model_space"] == pytest.approx(
            [(0.5 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.5 - 0.406) / 0.225], abs=1e-4
        )


def test_load_subject_moves_model_and_image_to_device(monkeypatch):
    # Tensors on the "meta" device have shapes but no data, so the move is checked without a GPU.
    monkeypatch.setattr(models, "pretrained_resnet", random_resnet)
    context = dataclasses.replace(full_context("cnn-grad-cam"), device="meta")
    subject = load_subject(context)
    assert {parameter.device.type for parameter in subject.model.parameters()} == {"meta"}
    assert subject.inputs.device.type == "meta"
    assert subject.picture.shape == (224, 224, 3), "the picture for display stays a NumPy array"


def test_full_profile_offline_without_weights_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path))
    with pytest.raises(AssetMissingError, match="resnet50-imagenet"):
        run_recipe("cnn-grad-cam", profile="full", offline=True)


def test_full_build_offline_records_missing_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path / "cache"))
    results = build_figures(RECIPES, out_dir=tmp_path / "figures", profile="full", offline=True)
    assert [result.status for result in results] == ["missing"] * 3
    for result in results:
        assert "resnet50-imagenet" in result.missing_assets
    assert set(missing_figures(tmp_path / "figures")) == set(RECIPES)
