"""Tests of the keypoint, R-CNN, panoptic and landmark figures: they build offline, and the pages quote their numbers."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvnotes import panoptic
from cvnotes.figures import build_figures, figure_path, read_manifest, registered_recipes
from cvnotes.figures.landmark_decoding import MEAN_ROUNDING_DISTANCE
from cvnotes.figures.panoptic_scene import THING_CLASSES, synthetic_panoptic_scene
from cvnotes.figures.style import LANGUAGES

REPO = Path(__file__).resolve().parents[1]
RECIPES = {
    "corner-pooling": "object-detection",
    "centernet-decoding": "object-detection",
    "center-keypoint-check": "object-detection",
    "roi-pool-vs-align": "segmentation",
    "rcnn-heads": "segmentation",
    "panoptic-scene": "segmentation",
    "landmark-decoding-error": "segmentation",
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """Build every recipe of these chapters once, offline in the quick profile."""
    out_dir = tmp_path_factory.mktemp("figures")
    results = build_figures(list(RECIPES), out_dir=out_dir, profile="quick", offline=True)
    assert [result.status for result in results] == ["built"] * len(RECIPES)
    return {"out_dir": out_dir, **read_manifest(out_dir)}


def grey_pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("L"), dtype=np.float64)


def test_recipes_registered_with_both_titles():
    recipes = registered_recipes()
    for name in RECIPES:
        assert name in recipes
        assert set(recipes[name].title) == set(LANGUAGES)


@pytest.mark.parametrize("name", list(RECIPES))
def test_figure_built_in_both_languages(manifest, name):
    korean = grey_pixels(figure_path(manifest["out_dir"], name, "ko"))
    english = grey_pixels(figure_path(manifest["out_dir"], name, "en"))
    assert korean.std() > 10, f"{name}.ko.png looks blank"
    assert english.std() > 10, f"{name}.en.png looks blank"
    assert korean.shape != english.shape or not np.array_equal(korean, english), f"{name} is not translated"
    entry = manifest["recipes"][name]
    assert entry["offline"] is True
    assert entry["profile"] == "quick"


def test_each_figure_is_shown_on_its_page():
    for name, page in RECIPES.items():
        for language in LANGUAGES:
            text = (REPO / "docs" / f"{page}.{language}.md").read_text(encoding="utf-8")
            assert f"](figures/{name}.png)" in text, f"{page}.{language}.md does not show {name}"


def test_center_check_figure_rejects_only_the_mismatched_box(manifest):
    metrics = manifest["recipes"]["center-keypoint-check"]["metrics"]
    assert metrics["num_candidates"] == 3
    assert metrics["num_kept"] == 2
    assert metrics["mismatched_rejected"] is True


def test_decoding_figure_finds_every_object(manifest):
    metrics = manifest["recipes"]["centernet-decoding"]["metrics"]
    assert metrics["num_kept"] == metrics["num_objects"]
    assert metrics["min_iou_kept"] > 0.7
    assert metrics["max_score_dropped"] < 0.3


def test_panoptic_figure_metrics_match_direct_computation(manifest):
    metrics = manifest["recipes"]["panoptic-scene"]["metrics"]
    scene = synthetic_panoptic_scene()
    pred, segments = panoptic.merge_instances(
        scene["semantic"], scene["masks"], scene["classes"], scene["scores"], THING_CLASSES
    )
    result = panoptic.panoptic_quality(pred, segments, scene["gt"], scene["gt_segments"])
    assert metrics["pq"] == pytest.approx(result.pq)
    # The duplicate and the low-scored car are dropped; car, persons A and B and the spurious person stay.
    assert metrics["num_things_out"] == 4
    assert (metrics["class2_tp"], metrics["class2_fp"], metrics["class2_fn"]) == (2, 1, 1)


def test_rcnn_heads_figure_reads_the_models(manifest):
    metrics = manifest["recipes"]["rcnn-heads"]["metrics"]
    assert metrics["faster_output_keys"] == ["boxes", "labels", "scores"]
    assert metrics["mask_output_keys"] == ["boxes", "labels", "scores", "masks"]
    for part in ("backbone", "rpn", "box_head", "box_predictor"):
        assert metrics[f"faster_{part}_parameters"] == metrics[f"mask_{part}_parameters"], part
    assert "mask_head_parameters" not in {
        key.removeprefix("faster_") for key in metrics if key.startswith("faster_")
    }
    extra = metrics["mask_total_parameters"] - metrics["faster_total_parameters"]
    assert extra == metrics["mask_mask_head_parameters"] + metrics["mask_mask_predictor_parameters"]
    assert "14×14" in metrics["mask_roi_heads"]["mask_roi_pool"]


def test_landmark_figure_errors(manifest):
    metrics = manifest["recipes"]["landmark-decoding-error"]["metrics"]
    for stride in (1, 2, 4):
        assert metrics[f"clean_soft_argmax_stride{stride}"] < 0.01
        # Argmax follows the mean rounding distance 0.383 * stride within 15 % (100 random landmarks).
        assert metrics[f"clean_argmax_stride{stride}"] == pytest.approx(
            MEAN_ROUNDING_DISTANCE * stride, rel=0.15
        )
    assert metrics["noisy_soft_argmax_local_stride4"] < metrics["noisy_argmax_stride4"]
    assert metrics["noisy_soft_argmax_stride4"] > 5 * metrics["noisy_argmax_stride4"]


def test_mean_rounding_distance_constant():
    assert MEAN_ROUNDING_DISTANCE == pytest.approx((math.sqrt(2) + math.log(1 + math.sqrt(2))) / 6)
    assert f"{MEAN_ROUNDING_DISTANCE:.3f}" == "0.383"


def test_pages_quote_the_computed_numbers(manifest):
    recipes = manifest["recipes"]
    decoding = recipes["centernet-decoding"]["metrics"]
    triplets = recipes["center-keypoint-check"]["metrics"]
    pooling = recipes["corner-pooling"]["metrics"]
    roi = recipes["roi-pool-vs-align"]["metrics"]
    heads = recipes["rcnn-heads"]["metrics"]
    scene = recipes["panoptic-scene"]["metrics"]
    landmarks = recipes["landmark-decoding-error"]["metrics"]
    quoted = {
        "object-detection": [
            f"**{pooling['top_left_at_highlight']:.0f}**",
            f"**{decoding['num_objects']}**",
            f"{decoding['min_iou_kept']:.2f}",
            f"**{triplets['num_candidates']}**",
            f"**{triplets['num_kept']}**",
            f"{triplets['triplet_scores'][0]:.2f}",
            f"{triplets['triplet_scores'][2]:.2f}",
        ],
        "segmentation": [
            f"**{roi['center_shift_cells']:.2f}**",
            f"{heads['mask_box_head_parameters'] / 1e6:.2f}M",
            f"{heads['mask_mask_head_parameters'] / 1e6:.2f}M",
            f"{heads['mask_mask_predictor_parameters'] / 1e6:.2f}M",
            f"{heads['faster_total_parameters'] / 1e6:.1f}M",
            f"{heads['mask_total_parameters'] / 1e6:.1f}M",
            f"{scene['class2_rq']:.3f}",
            f"{scene['class3_sq']:.3f}",
            f"PQ {scene['pq']:.3f}",
            f"SQ {scene['sq']:.3f}",
            f"RQ {scene['rq']:.3f}",
            f"{landmarks['clean_argmax_stride4']:.1f} pixel",
            f"{landmarks['clean_soft_argmax_stride4']:.2f}",
            f"{landmarks['noisy_soft_argmax_stride4']:.1f}",
            f"{landmarks['noisy_soft_argmax_local_stride4']:.2f}",
        ],
    }
    assert quoted["object-detection"] == ["**7**", "**4**", "0.84", "**3**", "**2**", "0.80", "0.75"]
    assert quoted["segmentation"] == [
        "**0.85**",
        "13.90M",
        "2.36M",
        "0.29M",
        "41.8M",
        "44.5M",
        "0.667",
        "0.659",
        "PQ 0.744",
        "SQ 0.814",
        "RQ 0.917",
        "1.6 pixel",
        "0.00",
        "18.2",
        "0.36",
    ]
    for page, numbers in quoted.items():
        for language in LANGUAGES:
            text = (REPO / "docs" / f"{page}.{language}.md").read_text(encoding="utf-8")
            for number in numbers:
                assert number in text, f"{page}.{language}.md does not quote {number}"
