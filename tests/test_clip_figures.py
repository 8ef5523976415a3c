"""End-to-end tests of the CLIP zero-shot recipes, offline.

The full-profile recipes run on a random-init tiny open_clip model and CIFAR-100-format files that
the test writes, so their code paths run in CI although the figures mean nothing there.
"""

from __future__ import annotations

import json

import pytest
from clipfixtures import accept_fake_cifar, tiny_clip, write_cifar100

from cvnotes import models
from cvnotes.clip import FailureCase, ZeroShotEvaluation
from cvnotes.figures import build_figures
from cvnotes.figures import clip_zero_shot as recipes

CLIP_RECIPES = [
    "clip-sea-apple",
    "clip-sea-apple-mitigations",
    "clip-scene-vs-object",
    "clip-failures",
    "clip-similarity-matrix",
]


@pytest.fixture
def fresh_studies(monkeypatch):
    """Forget evaluations that another test computed in this process."""
    monkeypatch.setattr(recipes, "_STUDIES", {})


def test_normalization_recipe_in_quick_profile(tmp_path):
    results = build_figures(["clip-normalization-topk"], out_dir=tmp_path, profile="quick", offline=True)
    assert results[0].status == "built"
    metrics = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["recipes"][
        "clip-normalization-topk"
    ]["metrics"]
    assert metrics["dot_choice"] == "apple"
    assert metrics["cosine_choice"] == "sea"
    assert metrics["cosine_similarities"] == {"apple": 0.6, "sea": 0.8}
    # Row i of the per-image top-k belongs to image i; the per-class one has a row per class.
    assert len(metrics["topk_per_image"]) == 4
    assert len(metrics["topk_per_class"]) == 5
    for language in ("ko", "en"):
        assert (tmp_path / f"clip-normalization-topk.{language}.png").stat().st_size > 10_000


@pytest.mark.parametrize("offline", [True, False])
def test_quick_profile_shows_notes_without_network(tmp_path, no_network, fresh_studies, offline):
    results = build_figures(CLIP_RECIPES, out_dir=tmp_path, profile="quick", offline=offline)
    assert [result.status for result in results] == ["missing"] * len(CLIP_RECIPES)
    for result in results:
        assert result.command == "cvnotes fetch clip-vit-b-32-openai cifar-100"
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert set(CLIP_RECIPES) <= set(manifest["missing"])


def fake_cached_clip_weights(root) -> None:
    """Put a stand-in ViT-B/32 weight file where huggingface_hub's cache layout under ``root`` has it."""
    from cvnotes import assets

    (repository, file_name), *_ = assets.clip_weight_candidates("ViT-B-32", "openai")
    folder = assets.open_clip_dir(root) / f"models--{repository.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / file_name).write_bytes(b"weights")


def test_quick_profile_with_cached_assets(tmp_path, monkeypatch, capsys, no_network):
    from cvnotes import assets, cli
    from cvnotes.mkdocs_plugin import missing_figure_note

    cache = tmp_path / "cache"
    monkeypatch.setenv("CVNOTES_CACHE", str(cache))
    arguments = ["figures", "clip-sea-apple", "--offline", "--out", str(tmp_path / "figures")]
    # Empty cache: fetching is the fix.
    assert cli.main(["--lang", "en", *arguments]) == 0
    error = capsys.readouterr().err
    assert (
        "missing assets clip-vit-b-32-openai, cifar-100; run `cvnotes fetch clip-vit-b-32-openai cifar-100`"
        in error
    )

    write_cifar100(cache, images_per_class=1)
    fake_cached_clip_weights(cache)
    assert assets.is_cached("clip-vit-b-32-openai")
    assert assets.is_cached("cifar-100")
    assert cli.main(["--lang", "en", *arguments]) == 0
    captured = capsys.readouterr()
    assert (
        "warning: figure clip-sea-apple skipped: needs the full profile (cached: clip-vit-b-32-openai, "
        "cifar-100): use --profile full or CVNOTES_PROFILE=full"
    ) in captured.err
    assert "cvnotes fetch" not in captured.err
    assert "0 built, 0 up to date, 1 skipped" in captured.out
    assert cli.main(["--lang", "ko", *arguments]) == 0
    assert "full profile에서만 만드는 그림입니다 (캐시에 있는 자산: clip-vit-b-32-openai, cifar-100)" in (
        capsys.readouterr().err
    )

    entry = json.loads((tmp_path / "figures" / "manifest.json").read_text(encoding="utf-8"))["missing"][
        "clip-sea-apple"
    ]
    assert entry["needs_full_profile"] is True
    note = missing_figure_note("clip-sea-apple", entry, "en")
    assert "Its assets `clip-vit-b-32-openai`, `cifar-100` are already cached" in note
    assert "cvnotes fetch" not in note


def test_full_profile_offline_with_empty_cache(tmp_path, monkeypatch, no_network, fresh_studies):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path / "cache"))
    results = build_figures(CLIP_RECIPES[:1], out_dir=tmp_path / "figures", profile="full", offline=True)
    assert results[0].status == "missing"
    assert "clip-vit-b-32-openai" in results[0].command


def test_full_profile_recipes_run_end_to_end(tmp_path, monkeypatch, no_network, fresh_studies):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CVNOTES_CACHE", str(cache))
    write_cifar100(cache, images_per_class=2)
    accept_fake_cifar(monkeypatch)
    tiny = tiny_clip(tmp_path)
    requests = []

    def fake_pretrained_clip(*, offline, cache=None, model_name="ViT-B-32", pretrained="openai"):
        requests.append((offline, model_name, pretrained))
        return tiny

    monkeypatch.setattr(models, "pretrained_clip", fake_pretrained_clip)
    out_dir = tmp_path / "figures"
    results = build_figures(CLIP_RECIPES, out_dir=out_dir, profile="full", offline=True)

    assert [result.status for result in results] == ["built"] * len(CLIP_RECIPES)
    # One evaluation serves all recipes.
    assert requests == [(True, "ViT-B-32", "openai")]
    assert not tiny.model.training
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))["recipes"]
    for name in CLIP_RECIPES:
        for language in ("ko", "en"):
            assert (out_dir / f"{name}.{language}.png").stat().st_size > 10_000
        metrics = manifest[name]["metrics"]
        assert metrics["num_test_images"] == 200
        for variant in ("single", "ensemble", "renamed", "open_set"):
            assert 0.0 <= metrics[f"{variant}_top1"] <= metrics[f"{variant}_top5"] <= 1.0

    sea = manifest["clip-sea-apple"]["metrics"]
    assert sea["true_class"] == "sea"
    assert len(sea["top5"]) == 5
    mitigations = manifest["clip-sea-apple-mitigations"]["metrics"]
    assert len(mitigations["open_set_sea_top5"]) == 5
    scene = manifest["clip-scene-vs-object"]["metrics"]
    assert set(scene["single_class_accuracy"]) >= {"sea", "apple", "sweet pepper"}
    failures = manifest["clip-failures"]["metrics"]["failures"]
    assert [case["confidence"] for case in failures] == sorted(
        (case["confidence"] for case in failures), reverse=True
    )
    matrix = manifest["clip-similarity-matrix"]["metrics"]
    assert matrix["prompt_classes"][-1] == "sunset"
    assert len(matrix["similarity"]) == len(matrix["image_indices"]) == 11


def test_failure_gallery_draws_mined_cases(tmp_path, monkeypatch, no_network, fresh_studies):
    # A random-init model makes no scene -> object errors, so the gallery gets fixed cases.
    cache = tmp_path / "cache"
    monkeypatch.setenv("CVNOTES_CACHE", str(cache))
    write_cifar100(cache, images_per_class=1)
    accept_fake_cifar(monkeypatch)
    tiny = tiny_clip(tmp_path)
    monkeypatch.setattr(models, "pretrained_clip", lambda **options: tiny)
    cases = [FailureCase(index, "sea", "apple", 0.9 - index / 100) for index in range(3)]
    monkeypatch.setattr(ZeroShotEvaluation, "mine_failures", lambda self, *args, count=None: cases[:count])
    results = build_figures(["clip-failures"], out_dir=tmp_path / "figures", profile="full", offline=True)
    assert results[0].status == "built"
    metrics = json.loads((tmp_path / "figures" / "manifest.json").read_text(encoding="utf-8"))
    failures = metrics["recipes"]["clip-failures"]["metrics"]["failures"]
    assert [case["index"] for case in failures] == [0, 1, 2]
