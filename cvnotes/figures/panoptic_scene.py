"""Figure of the panoptic vs instance segmentation section: one synthetic scene, four views, PQ.

The ground truth and the "predictions" are drawn by code: a semantic map
whose sky/grass border is off by a few rows, and scored instance masks that
overlap, include a duplicate, a low-scored box, a false detection and a miss.
[`merge_instances`][cvnotes.panoptic.merge_instances] turns them into a
panoptic map and [`panoptic_quality`][cvnotes.panoptic.panoptic_quality] scores it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cvnotes import panoptic
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["panoptic_scene", "synthetic_panoptic_scene"]

SKY, GRASS, PERSON, CAR = 0, 1, 2, 3
THING_CLASSES = (PERSON, CAR)
# One hue per class in every panel: cars red, people blue to purple. Each instance
# takes its own shade of its class hue, so instances stay apart and the class stays readable.
_CLASS_COLORS = {
    SKY: (0.62, 0.79, 0.95),
    GRASS: (0.55, 0.78, 0.45),
    PERSON: (0.2, 0.3, 0.75),
    CAR: (0.89, 0.1, 0.11),
}
# In the order of the predicted masks: car, person A, person B, A (dup.), person?, car (low).
_INSTANCE_COLORS = [
    (0.89, 0.1, 0.11),
    (0.12, 0.35, 0.85),
    (0.5, 0.2, 0.65),
    (0.3, 0.6, 0.95),
    (0.75, 0.35, 0.9),
    (0.55, 0.05, 0.05),
]
# Person C, which no prediction finds, in the ground-truth panel.
_MISSED_PERSON_COLOR = (0.2, 0.15, 0.45)


def _ellipse(shape: tuple[int, int], center: tuple[float, float], radii: tuple[float, float]) -> torch.Tensor:
    rows, columns = torch.meshgrid(torch.arange(shape[0]), torch.arange(shape[1]), indexing="ij")
    # A strict inequality avoids one-pixel spikes where the radius is a whole number.
    return ((rows - center[0]) / radii[0]) ** 2 + ((columns - center[1]) / radii[1]) ** 2 < 1


def _rectangle(shape: tuple[int, int], rows: tuple[int, int], columns: tuple[int, int]) -> torch.Tensor:
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[rows[0] : rows[1], columns[0] : columns[1]] = True
    return mask


def synthetic_panoptic_scene(height: int = 64, width: int = 96, horizon: int = 28) -> dict[str, Any]:
    """Build the ground truth and the predictions of the panoptic figure.

    Returns:
        ``gt`` (id map), ``gt_segments``, ``semantic`` (predicted class map),
        ``masks``, ``classes``, ``scores`` and ``labels`` (one short name per instance).
    """
    shape = (height, width)
    car = _rectangle(shape, (34, 51), (6, 36))
    person_a = _ellipse(shape, (37, 54), (13, 5))
    person_b = _ellipse(shape, (39, 61), (14, 5))
    person_c = _ellipse(shape, (42, 84), (8, 3))

    # Ground truth: stuff first, then things painted over it. Person B is in front of person A.
    gt = torch.zeros(shape, dtype=torch.long)
    gt[:horizon] = 1
    gt[horizon:] = 2
    gt[horizon - 1 : horizon + 1] = 0  # an unlabelled band on the horizon: void
    gt_segments = {1: SKY, 2: GRASS}
    for segment_id, (mask, category) in enumerate(
        ((car, CAR), (person_a, PERSON), (person_b, PERSON), (person_c, PERSON)), start=3
    ):
        gt[mask] = segment_id
        gt_segments[segment_id] = category

    # Predictions: the semantic border 3 rows low, the car shifted, person C missed.
    semantic = torch.full(shape, GRASS, dtype=torch.long)
    semantic[: horizon + 3] = SKY
    shifted_car = torch.roll(car, shifts=(2, 3), dims=(0, 1))
    duplicate_a = _ellipse(shape, (38, 55), (12, 5))
    spurious = _ellipse(shape, (56, 46), (5, 3))
    masks = torch.stack([shifted_car, person_a, person_b, duplicate_a, spurious, car])
    classes = torch.tensor([CAR, PERSON, PERSON, PERSON, PERSON, CAR])
    scores = torch.tensor([0.95, 0.9, 0.75, 0.7, 0.6, 0.3])
    labels = ["car", "person A", "person B", "A (dup.)", "person?", "car (low)"]
    # The semantic model labels thing pixels too; merge_instances takes things from the masks only.
    semantic[shifted_car] = CAR
    semantic[person_a | person_b] = PERSON
    return {
        "gt": gt,
        "gt_segments": gt_segments,
        "semantic": semantic,
        "masks": masks,
        "classes": classes,
        "scores": scores,
        "labels": labels,
    }


def _colour_segments(
    ids: torch.Tensor, segments: dict[int, int], thing_colors: dict[int, tuple[float, float, float]]
) -> np.ndarray:
    """Return an RGB image: stuff in its class colour, each thing segment in its own colour, void white."""
    image = np.ones((*ids.shape, 3))
    for segment_id, category in segments.items():
        mask = (ids == segment_id).numpy()
        image[mask] = thing_colors[segment_id] if category in THING_CLASSES else _CLASS_COLORS[category]
    return image


_TEXT = {
    "ko": {
        "title": "같은 장면의 네 가지 보기와 panoptic quality",
        "gt": "정답 panoptic map (흰색 = void)",
        "semantic": "semantic segmentation 예측\n(class 색만, instance 구분 없음)",
        "instances": "instance segmentation 예측\n(겹치는 mask + 점수, class 색의 명암)",
        "panoptic": "겹침을 점수 순으로 정리한\npanoptic 예측",
        "classes": {
            SKY: "하늘 (stuff)",
            GRASS: "풀밭 (stuff)",
            PERSON: "사람 (thing)",
            CAR: "자동차 (thing)",
        },
        "header": ["class", "TP", "FP", "FN", "SQ", "RQ", "PQ"],
        "mean": "평균",
        "labels": ["자동차", "사람 A", "사람 B", "A (중복)", "사람?", "자동차 (낮은 점수)"],
    },
    "en": {
        "title": "Four views of one scene, and panoptic quality",
        "gt": "ground-truth panoptic map (white = void)",
        "semantic": "semantic segmentation prediction\n(class colours only, no instances)",
        "instances": "instance segmentation prediction\n(overlapping masks + scores, shades of the class colour)",
        "panoptic": "panoptic prediction, overlaps\nresolved in score order",
        "classes": {SKY: "sky (stuff)", GRASS: "grass (stuff)", PERSON: "person (thing)", CAR: "car (thing)"},
        "header": ["class", "TP", "FP", "FN", "SQ", "RQ", "PQ"],
        "mean": "mean",
        "labels": ["car", "person A", "person B", "A (dup.)", "person?", "car (low)"],
    },
}


@recipe(
    "panoptic-scene",
    title={
        "ko": "semantic·instance·panoptic 예측과 PQ",
        "en": "Semantic, instance and panoptic predictions with PQ",
    },
    params={"height": 64, "width": 96, "horizon": 28, "score_threshold": 0.5, "overlap_threshold": 0.5},
    code=(panoptic,),
)
def panoptic_scene(context: RecipeContext) -> RecipeOutput:
    """Merge the scene's predictions into a panoptic map and score it against the ground truth."""
    params = context.params
    scene = synthetic_panoptic_scene(params["height"], params["width"], params["horizon"])
    pred, pred_segments = panoptic.merge_instances(
        scene["semantic"],
        scene["masks"],
        scene["classes"],
        scene["scores"],
        THING_CLASSES,
        score_threshold=params["score_threshold"],
        overlap_threshold=params["overlap_threshold"],
    )
    quality = panoptic.panoptic_quality(
        pred, pred_segments, scene["gt"], scene["gt_segments"], thing_classes=THING_CLASSES
    )
    metrics: dict[str, Any] = {"pq": quality.pq, "sq": quality.sq, "rq": quality.rq}
    metrics["things_pq"], metrics["things_sq"], metrics["things_rq"] = quality.things
    metrics["stuff_pq"], metrics["stuff_sq"], metrics["stuff_rq"] = quality.stuff
    for category, values in quality.per_class.items():
        for name in ("tp", "fp", "fn"):
            metrics[f"class{category}_{name}"] = getattr(values, name)
        for name in ("pq", "sq", "rq"):
            metrics[f"class{category}_{name}"] = getattr(values, name)
    metrics["num_instances_in"] = int(scene["masks"].shape[0])
    metrics["num_things_out"] = sum(1 for category in pred_segments.values() if category in THING_CLASSES)

    # Colours: ground-truth things as listed; predicted things take the colour of the mask they came from.
    if len(scene["masks"]) != len(_INSTANCE_COLORS):
        raise ValueError(f"the scene has {len(scene['masks'])} masks but {len(_INSTANCE_COLORS)} colours")
    instance_colors = list(_INSTANCE_COLORS)
    gt_things = [
        segment for segment, category in sorted(scene["gt_segments"].items()) if category in THING_CLASSES
    ]
    gt_colors = dict(
        zip(
            gt_things,
            [instance_colors[0], instance_colors[1], instance_colors[2], _MISSED_PERSON_COLOR],
            strict=True,
        )
    )
    pred_colors = {}
    for segment_id, category in pred_segments.items():
        if category in THING_CLASSES:
            overlaps = (scene["masks"] & (pred == segment_id)).flatten(1).sum(dim=1)
            pred_colors[segment_id] = instance_colors[int(overlaps.argmax())]
    gt_image = _colour_segments(scene["gt"], scene["gt_segments"], gt_colors)
    semantic_image = np.zeros((*scene["semantic"].shape, 3))
    for category, color in _CLASS_COLORS.items():
        semantic_image[(scene["semantic"] == category).numpy()] = color
    pred_image = _colour_segments(pred, pred_segments, pred_colors)

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(13.0, 7.0))
        grid = figure.add_gridspec(2, 3, width_ratios=[1, 1, 1.05])
        panels = [figure.add_subplot(grid[row, column]) for row in range(2) for column in range(2)]
        table_axes = figure.add_subplot(grid[:, 2])

        panels[0].imshow(gt_image)
        panels[0].set_title(text["gt"], fontsize=10)
        panels[1].imshow(semantic_image)
        panels[1].set_title(text["semantic"], fontsize=10)
        class_handles = [
            Patch(color=_CLASS_COLORS[category], label=text["classes"][category])
            for category in (PERSON, CAR)
        ]
        panels[1].legend(handles=class_handles, loc="lower left", fontsize=7.5, ncol=2, frameon=True)

        panels[2].imshow(np.ones((*scene["semantic"].shape, 3)) * 0.95)
        handles = []
        for index, (mask, score, label) in enumerate(
            zip(scene["masks"], scene["scores"].tolist(), text["labels"], strict=True)
        ):
            color = instance_colors[index]
            overlay = np.zeros((*mask.shape, 4))
            overlay[mask.numpy()] = (*color, 0.3)
            panels[2].imshow(overlay)
            linestyle = "--" if score < params["score_threshold"] else "-"
            panels[2].contour(
                mask.numpy().astype(float), levels=[0.5], colors=[color], linewidths=1.4, linestyles=linestyle
            )
            handles.append(Line2D([], [], color=color, linestyle=linestyle, label=f"{label}: {score:.2f}"))
        panels[2].legend(handles=handles, loc="upper left", fontsize=7.5, ncol=2, frameon=True)
        panels[2].set_title(text["instances"], fontsize=10)
        panels[3].imshow(pred_image)
        panels[3].set_title(text["panoptic"], fontsize=10)
        for axes in panels:
            axes.set_xticks([])
            axes.set_yticks([])
            axes.grid(False)

        rows_text = []
        for category, values in quality.per_class.items():
            rows_text.append(
                [
                    text["classes"][category],
                    values.tp,
                    values.fp,
                    values.fn,
                    f"{values.sq:.3f}",
                    f"{values.rq:.3f}",
                    f"{values.pq:.3f}",
                ]
            )
        rows_text.append(
            [text["mean"], "", "", "", f"{quality.sq:.3f}", f"{quality.rq:.3f}", f"{quality.pq:.3f}"]
        )
        table_axes.axis("off")
        table = table_axes.table(cellText=rows_text, colLabels=text["header"], loc="center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        table.scale(1.0, 1.8)
        for (_, column), cell in table.get_celld().items():
            cell.set_width(0.26 if column == 0 else 0.12)
        figure.suptitle(text["title"])
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
