"""Figures of the CornerNet / CenterNet section: pooling, decoding and the centre-keypoint check.

Every number comes from [`cvnotes.keypoints`][cvnotes.keypoints]. The scenes are
synthetic and the "network outputs" are the training targets plus noise, so the
figures show what the decoding does, not what a trained model achieves.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from cvnotes import keypoints
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = [
    "center_keypoint_check_figure",
    "centernet_decoding",
    "corner_pooling",
    "synthetic_detection_scene",
]

# A sparse 6 x 6 feature map: a few strong responses, as on an object's edges.
_POOLING_FEATURES = [
    [0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 4, 0],
    [0, 0, 0, 2, 0, 0],
    [0, 3, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [0, 0, 5, 0, 0, 0],
]

_POOLING_TEXT = {
    "ko": {
        "title": "같은 feature map에 적용한 세 가지 pooling",
        "input": "입력 feature map",
        "top_left": "top-left corner pooling\n(아래쪽 최댓값 + 오른쪽 최댓값)",
        "bottom_right": "bottom-right corner pooling\n(위쪽 최댓값 + 왼쪽 최댓값)",
        "center": "center pooling\n(열 전체 최댓값 + 행 전체 최댓값)",
    },
    "en": {
        "title": "Three poolings applied to the same feature map",
        "input": "input feature map",
        "top_left": "top-left corner pooling\n(max below + max to the right)",
        "bottom_right": "bottom-right corner pooling\n(max above + max to the left)",
        "center": "center pooling\n(max of column + max of row)",
    },
}


def _draw_grid(axes, values: np.ndarray, title: str, vmax: float, highlight: tuple[int, int] | None) -> None:
    axes.imshow(values, cmap="Blues", vmin=0, vmax=vmax)
    rows, columns = values.shape
    for row in range(rows):
        for column in range(columns):
            value = values[row, column]
            color = "white" if value > 0.6 * vmax else "black"
            axes.text(column, row, f"{value:g}", ha="center", va="center", fontsize=9, color=color)
    if highlight is not None:
        row, column = highlight
        axes.add_patch(
            Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=2)
        )
    axes.set_title(title, fontsize=10)
    axes.set_xticks(range(columns))
    axes.set_yticks(range(rows))
    axes.tick_params(labelsize=7, length=0)
    axes.grid(False)


@recipe(
    "corner-pooling",
    title={"ko": "corner pooling과 center pooling", "en": "Corner pooling and centre pooling"},
    params={"features": _POOLING_FEATURES, "highlight": [1, 1]},
    code=(keypoints,),
)
def corner_pooling(context: RecipeContext) -> RecipeOutput:
    """Show top-left, bottom-right and centre pooling of one small feature map, values in the cells."""
    features = torch.tensor(context.params["features"], dtype=torch.float64)
    row, column = context.params["highlight"]
    pooled = {
        "top_left": keypoints.corner_pool_top_left(features),
        "bottom_right": keypoints.corner_pool_bottom_right(features),
        "center": keypoints.center_pool(features),
    }
    metrics = {f"{name}_at_highlight": float(values[row, column]) for name, values in pooled.items()}
    vmax = float(max(values.max() for values in pooled.values()))

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _POOLING_TEXT[language]
        figure = Figure(figsize=(12.0, 3.6))
        panels = figure.subplots(1, 4)
        _draw_grid(panels[0], features.numpy(), text["input"], vmax, (row, column))
        # Arrows from the highlighted cell: the directions top-left pooling scans. They run along the
        # cell borders (from the cell's lower right corner), so that no value in the grid is covered.
        corner = (column + 0.5, row + 0.5)
        for end in ((corner[0], row + 2.9), (column + 2.9, corner[1])):
            panels[0].add_patch(
                FancyArrowPatch(
                    corner,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=12,
                    color="#d62728",
                    linewidth=1.5,
                )
            )
        for axes, name in zip(panels[1:], ("top_left", "bottom_right", "center"), strict=True):
            _draw_grid(axes, pooled[name].numpy(), text[name], vmax, (row, column))
        figure.suptitle(text["title"])
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


def synthetic_detection_scene(image_size: int, boxes: list[list[float]], classes: list[int]) -> np.ndarray:
    """Return an RGB float image with a filled ellipse (class 0) or rectangle (class 1) per box."""
    image = np.full((image_size, image_size, 3), 0.93)
    ys, xs = np.mgrid[0:image_size, 0:image_size] + 0.5
    colors = {0: (0.85, 0.45, 0.2), 1: (0.25, 0.5, 0.75)}
    for (x1, y1, x2, y2), category in zip(boxes, classes, strict=True):
        if category == 0:
            inside = ((xs - (x1 + x2) / 2) / ((x2 - x1) / 2)) ** 2 + (
                (ys - (y1 + y2) / 2) / ((y2 - y1) / 2)
            ) ** 2 <= 1
        else:
            inside = (xs >= x1) & (xs <= x2) & (ys >= y1) & (ys <= y2)
        image[inside] = colors[category]
    return image


def _box_iou(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    top_left = torch.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = torch.minimum(first[:, None, 2:], second[None, :, 2:])
    intersection = (bottom_right - top_left).clamp(min=0).prod(dim=2)
    area_first = (first[:, 2:] - first[:, :2]).prod(dim=1)
    area_second = (second[:, 2:] - second[:, :2]).prod(dim=1)
    return intersection / (area_first[:, None] + area_second[None, :] - intersection)


_DECODING_TEXT = {
    "ko": {
        "title": "Objects as Points 방식의 decoding: heatmap peak → 크기·offset → box",
        "scene": "합성 장면과 정답 box",
        "heatmap": "heatmap (class별 최댓값), stride {stride}\n3×3 max-pool peak 상위 {k}개",
        "boxes": "점수 > {threshold:g}인 decoding 결과",
        "classes": ["원", "사각형"],
    },
    "en": {
        "title": "Decoding as in Objects as Points: heatmap peaks → size and offset → boxes",
        "scene": "synthetic scene and ground-truth boxes",
        "heatmap": "heatmap (max over classes), stride {stride}\ntop {k} peaks of the 3×3 max-pool test",
        "boxes": "decoded boxes with score > {threshold:g}",
        "classes": ["ellipse", "rectangle"],
    },
}


@recipe(
    "centernet-decoding",
    title={"ko": "CenterNet(Objects as Points) decoding", "en": "CenterNet (Objects as Points) decoding"},
    params={
        "image_size": 128,
        "stride": 4,
        "boxes": [
            [12.0, 14.0, 52.0, 62.0],
            [66.3, 20.7, 114.5, 50.2],
            [30.6, 74.1, 70.2, 118.8],
            [58.0, 62.0, 98.0, 96.0],
        ],
        "classes": [0, 1, 1, 0],
        "confidences": [0.92, 0.81, 0.67, 0.55],
        "distractor": [5, 24, 0, 0.26],
        "noise": 0.08,
        "size_noise": 0.06,
        "k": 10,
        "threshold": 0.3,
    },
    code=(keypoints,),
)
def centernet_decoding(context: RecipeContext) -> RecipeOutput:
    """Build targets for a synthetic scene, add noise, decode them and draw the boxes."""
    params = context.params
    stride, image_size = params["stride"], params["image_size"]
    cells = image_size // stride
    gt_boxes = torch.tensor(params["boxes"], dtype=torch.float64)
    gt_classes = params["classes"]

    # Stand-ins for the three heads: each object's Gaussian target scaled by a confidence,
    # uniform noise, one weak distractor peak, and sizes off by a few per cent.
    generator = torch.Generator().manual_seed(context.seed)
    heatmap = torch.zeros(2, cells, cells, dtype=torch.float64)
    size = torch.zeros(2, cells, cells, dtype=torch.float64)
    offset = torch.zeros(2, cells, cells, dtype=torch.float64)
    for box, category, confidence in zip(gt_boxes / stride, gt_classes, params["confidences"], strict=True):
        center_x, center_y = float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2
        width, height = float(box[2] - box[0]), float(box[3] - box[1])
        target = keypoints.draw_gaussian(
            torch.zeros(cells, cells, dtype=torch.float64),
            (center_x, center_y),
            keypoints.gaussian_radius(height, width),
        )
        torch.maximum(heatmap[category], confidence * target, out=heatmap[category])
        row, column = int(center_y), int(center_x)
        error = 1 + params["size_noise"] * torch.randn(2, generator=generator, dtype=torch.float64)
        size[:, row, column] = torch.tensor([width, height], dtype=torch.float64) * error
        offset[:, row, column] = torch.tensor([center_x - column, center_y - row], dtype=torch.float64)
    row, column, category, score = params["distractor"]
    heatmap[category, row, column] = max(float(heatmap[category, row, column]), score)
    size[:, row, column] = 6.0
    noisy = heatmap + params["noise"] * torch.rand(heatmap.shape, generator=generator, dtype=torch.float64)

    detections = keypoints.decode_centernet(noisy, size, offset, k=params["k"], stride=stride)
    kept = detections.above(params["threshold"])
    ious = _box_iou(kept.boxes, gt_boxes).amax(dim=1)
    metrics = {
        "num_objects": len(gt_classes),
        "num_kept": int(kept.scores.numel()),
        "min_iou_kept": float(ious.min()) if ious.numel() else 0.0,
        "max_score_dropped": float(detections.scores[detections.scores <= params["threshold"]].max()),
    }

    image = synthetic_detection_scene(image_size, params["boxes"], gt_classes)
    colors = ["#d95f02", "#1f78b4"]
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _DECODING_TEXT[language]
        figure = Figure(figsize=(12.0, 4.4))
        scene, heat, result = figure.subplots(1, 3)
        extent = (0, image_size, image_size, 0)
        scene.imshow(image, extent=extent)
        for box, category in zip(params["boxes"], gt_classes, strict=True):
            scene.add_patch(
                Rectangle(
                    (box[0], box[1]),
                    box[2] - box[0],
                    box[3] - box[1],
                    fill=False,
                    color="black",
                    linewidth=1.5,
                )
            )
            scene.text(box[0], box[1] - 2, text["classes"][category], fontsize=8)
        scene.set_title(text["scene"], fontsize=10)

        heat.imshow(noisy.amax(dim=0).numpy(), cmap="magma", vmin=0, vmax=1, extent=extent)
        for score, center, category in zip(
            detections.scores, detections.centers, detections.classes, strict=True
        ):
            x, y = (center * stride).tolist()
            marker = "o" if score > params["threshold"] else "x"
            heat.plot(
                x, y, marker, color=colors[int(category)], markersize=7, markeredgewidth=2, fillstyle="none"
            )
            heat.text(x + 2, y - 2, f"{float(score):.2f}", color="white", fontsize=7, clip_on=True)
        heat.set_title(text["heatmap"].format(stride=stride, k=params["k"]), fontsize=10)

        result.imshow(image, extent=extent)
        for box, score, category in zip(
            kept.boxes.tolist(), kept.scores.tolist(), kept.classes.tolist(), strict=True
        ):
            result.add_patch(
                Rectangle(
                    (box[0], box[1]),
                    box[2] - box[0],
                    box[3] - box[1],
                    fill=False,
                    color=colors[category],
                    linewidth=2,
                )
            )
            result.text(
                box[0] + 1,
                box[1] + 1,
                f"{text['classes'][category]} {score:.2f}",
                color="white",
                fontsize=8,
                va="top",
                bbox={"facecolor": colors[category], "edgecolor": "none", "pad": 1.5},
            )
        result.set_title(text["boxes"].format(threshold=params["threshold"]), fontsize=10)
        for axes in (scene, heat, result):
            axes.set_xlim(0, image_size)
            axes.set_ylim(image_size, 0)
            axes.grid(False)
            axes.tick_params(labelsize=7)
        figure.suptitle(text["title"])
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


_TRIPLET_TEXT = {
    "ko": {
        "title": "CenterNet(Keypoint Triplets): 중심 keypoint가 잘못 짝지은 corner를 걸러 낸다",
        "kept": "유지: 중심 영역에 같은 class의 중심 keypoint가 있음",
        "rejected": "제거: 중심 영역이 비어 있음 (다른 물체의 corner끼리 짝지음)",
        "region": "중심 영역 (n = {n})",
        "center": "중심 keypoint",
        "corner": "corner keypoint",
        "score": "점수 {score:.2f}",
    },
    "en": {
        "title": "CenterNet (Keypoint Triplets): a centre keypoint rejects mismatched corners",
        "kept": "kept: a centre keypoint of the class lies in the central region",
        "rejected": "rejected: empty central region (corners of two objects)",
        "region": "central region (n = {n})",
        "center": "centre keypoint",
        "corner": "corner keypoint",
        "score": "score {score:.2f}",
    },
}


@recipe(
    "center-keypoint-check",
    title={
        "ko": "중심 keypoint로 잘못된 corner 쌍 거르기",
        "en": "A centre keypoint rejects a box built from mismatched corners",
    },
    params={
        "image_size": 128,
        "boxes": [[10.0, 10.0, 50.0, 60.0], [62.0, 52.0, 116.0, 114.0]],
        "corner_scores": [[0.9, 0.8], [0.85, 0.75]],
        "center_scores": [0.7, 0.65],
        "n": 3,
    },
    code=(keypoints,),
)
def center_keypoint_check_figure(context: RecipeContext) -> RecipeOutput:
    """Pair every top-left with every bottom-right corner of one class and check each box's centre."""
    params = context.params
    objects = torch.tensor(params["boxes"], dtype=torch.float64)
    corner_scores = torch.tensor(params["corner_scores"], dtype=torch.float64)
    top_left, bottom_right = objects[:, :2], objects[:, 2:]

    # Every geometrically valid pair, as if the embeddings failed to tell the objects apart.
    candidates, pair_scores, pairs = [], [], []
    for i in range(len(objects)):
        for j in range(len(objects)):
            if bool((top_left[i] < bottom_right[j]).all()):
                candidates.append(torch.cat([top_left[i], bottom_right[j]]))
                pair_scores.append(torch.stack([corner_scores[i, 0], corner_scores[j, 1]]))
                pairs.append((i, j))
    boxes = torch.stack(candidates)
    centers = (top_left + bottom_right) / 2
    keep, triplet_scores = keypoints.center_keypoint_check(
        boxes,
        torch.zeros(len(boxes), dtype=torch.long),
        torch.stack(pair_scores),
        centers,
        torch.zeros(len(centers), dtype=torch.long),
        torch.tensor(params["center_scores"], dtype=torch.float64),
        n=params["n"],
    )
    regions = keypoints.central_region(boxes, n=params["n"])
    mismatched = [index for index, (i, j) in enumerate(pairs) if i != j]
    metrics = {
        "num_candidates": len(boxes),
        "num_kept": int(keep.sum()),
        "mismatched_rejected": all(not bool(keep[index]) for index in mismatched),
        "triplet_scores": [round(float(score), 4) for score in triplet_scores],
    }

    image = synthetic_detection_scene(params["image_size"], params["boxes"], [0] * len(objects))
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TRIPLET_TEXT[language]
        figure = Figure(figsize=(7.6, 6.4))
        axes = figure.subplots()
        size = params["image_size"]
        axes.imshow(image, extent=(0, size, size, 0))
        for box, region, kept, score in zip(
            boxes.tolist(), regions.tolist(), keep.tolist(), triplet_scores.tolist(), strict=True
        ):
            color, style = ("#1a9850", "-") if kept else ("#d73027", "--")
            axes.add_patch(
                Rectangle(
                    (box[0], box[1]),
                    box[2] - box[0],
                    box[3] - box[1],
                    fill=False,
                    color=color,
                    linestyle=style,
                    linewidth=2,
                )
            )
            axes.add_patch(
                Rectangle(
                    (region[0], region[1]),
                    region[2] - region[0],
                    region[3] - region[1],
                    color=color,
                    alpha=0.25,
                )
            )
            if kept:
                axes.text(
                    box[0] + 1,
                    box[3] - 3,
                    text["score"].format(score=score),
                    color="white",
                    fontsize=9,
                    bbox={"facecolor": color, "edgecolor": "none", "pad": 1.5},
                )
        axes.plot(centers[:, 0], centers[:, 1], "*", color="black", markersize=13, linestyle="none")
        corners = torch.cat([top_left, bottom_right])
        axes.plot(corners[:, 0], corners[:, 1], "s", color="#7b3294", markersize=7, linestyle="none")

        handles = [
            matplotlib.lines.Line2D([], [], color="#1a9850", linewidth=2, label=text["kept"]),
            matplotlib.lines.Line2D(
                [], [], color="#d73027", linewidth=2, linestyle="--", label=text["rejected"]
            ),
            matplotlib.patches.Patch(color="0.6", alpha=0.5, label=text["region"].format(n=params["n"])),
            matplotlib.lines.Line2D(
                [], [], marker="*", color="black", markersize=11, linestyle="none", label=text["center"]
            ),
            matplotlib.lines.Line2D(
                [], [], marker="s", color="#7b3294", markersize=7, linestyle="none", label=text["corner"]
            ),
        ]
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.06), fontsize=9, ncol=1)
        axes.set_xlim(0, size)
        axes.set_ylim(size, 0)
        axes.grid(False)
        axes.set_title(text["title"], fontsize=10)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
