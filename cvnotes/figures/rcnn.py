"""Figures of the Mask R-CNN vs Faster R-CNN section: RoIPool against RoIAlign, and the two heads.

The pooled values come from ``torchvision.ops.roi_pool`` and ``roi_align``. The
bins and sample points drawn over them come from [`cvnotes.roi`][cvnotes.roi],
which the tests compare with torchvision's values. The model comparison builds
torchvision's two detectors without weights (nothing is downloaded) and reads
the module tree, the parameter counts and the output keys off the models.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from torch import nn
from torchvision.ops import MultiScaleRoIAlign, roi_align, roi_pool

from cvnotes import roi
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["describe_rcnn_models", "rcnn_heads", "roi_pool_vs_align", "roi_figure_inputs"]


def roi_figure_inputs(params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the feature map ``(1, 1, H, W)`` and the box row ``(1, 5)`` that the RoI figure pools."""
    size = params["feature_size"]
    rows, columns = np.mgrid[0:size, 0:size]
    # A smooth bump plus a ramp, rounded to integers so the cell values stay readable.
    values = 9 * np.exp(-((rows - 3.2) ** 2 + (columns - 4.6) ** 2) / 6.0) + 0.4 * columns
    features = torch.tensor(np.round(values), dtype=torch.float64).view(1, 1, size, size)
    box = torch.tensor([[0.0, *params["box"]]], dtype=torch.float64)
    return features, box


_ROI_TEXT = {
    "ko": {
        "title": "소수점 좌표의 box 하나, {out}×{out} 출력: RoIPool vs RoIAlign (torchvision.ops)",
        "pool": "RoIPool: box와 bin 경계를 정수 cell로 반올림,\nbin마다 최댓값",
        "align": "RoIAlign (aligned=True): 반올림 없음,\nbin마다 {ratio}×{ratio}개 점을 bilinear 보간해 평균",
        "box": "실제 box",
        "quantised": "반올림된 box",
        "samples": "sample 점",
        "result": "출력",
    },
    "en": {
        "title": "One box with fractional corners, {out}×{out} output: RoIPool vs RoIAlign (torchvision.ops)",
        "pool": "RoIPool: box and bin edges rounded to whole cells,\nmaximum per bin",
        "align": "RoIAlign (aligned=True): no rounding,\nmean of {ratio}×{ratio} bilinear samples per bin",
        "box": "true box",
        "quantised": "rounded box",
        "samples": "sample points",
        "result": "output",
    },
}


def _draw_features(axes, features: np.ndarray) -> None:
    size = features.shape[0]
    axes.imshow(features, cmap="Greys", vmin=0, vmax=features.max() * 1.6, extent=(0, size, size, 0))
    for row in range(size):
        for column in range(size):
            axes.text(
                column + 0.5, row + 0.5, f"{features[row, column]:g}", ha="center", va="center", fontsize=7
            )
    axes.set_xticks(range(size + 1))
    axes.set_yticks(range(size + 1))
    axes.tick_params(labelsize=7, length=0)
    axes.grid(True, color="0.7", linewidth=0.5, alpha=1.0)


@recipe(
    "roi-pool-vs-align",
    title={"ko": "RoIPool과 RoIAlign의 bin 비교", "en": "RoIPool and RoIAlign bins compared"},
    params={"feature_size": 8, "box": [1.3, 0.8, 6.1, 5.6], "output_size": 2, "sampling_ratio": 2},
    code=(roi,),
)
def roi_pool_vs_align(context: RecipeContext) -> RecipeOutput:
    """Pool one fractional box with RoIPool and RoIAlign and draw the bins each one uses."""
    params = context.params
    features, rois = roi_figure_inputs(params)
    out = params["output_size"]
    ratio = params["sampling_ratio"]
    box = rois[0, 1:]
    size = params["feature_size"]

    pooled = roi_pool(features, rois, (out, out), spatial_scale=1.0)[0, 0]
    aligned = roi_align(features, rois, (out, out), 1.0, ratio, aligned=True)[0, 0]
    bins = roi.roi_pool_bins(box, (out, out), (size, size))
    # Sample points are in index units, where index c is the centre of cell c. The plot puts cell c at [c, c + 1).
    points = roi.roi_align_sample_points(box, (out, out), sampling_ratio=ratio, aligned=True) + 0.5

    row_start, row_end = bins[0][0][0], bins[-1][-1][1]
    column_start, column_end = bins[0][0][2], bins[-1][-1][3]
    true_center = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    quantised_center = ((column_start + column_end) / 2, (row_start + row_end) / 2)
    metrics = {
        "roi_pool": pooled.tolist(),
        "roi_align": aligned.tolist(),
        "quantised_box": [column_start, row_start, column_end, row_end],
        "center_shift_cells": float(
            np.hypot(float(quantised_center[0] - true_center[0]), float(quantised_center[1] - true_center[1]))
        ),
    }

    figures: dict[str, Figure] = {}
    feature_values = features[0, 0].numpy()
    x1, y1, x2, y2 = box.tolist()
    for language in LANGUAGES:
        text = _ROI_TEXT[language]
        figure = Figure(figsize=(12.4, 5.0))
        grid = figure.add_gridspec(2, 3, width_ratios=[1, 1, 0.42])
        pool_axes = figure.add_subplot(grid[:, 0])
        align_axes = figure.add_subplot(grid[:, 1])
        pool_out = figure.add_subplot(grid[0, 2])
        align_out = figure.add_subplot(grid[1, 2])

        _draw_features(pool_axes, feature_values)
        for row in bins:
            for row_from, row_to, column_from, column_to in row:
                pool_axes.add_patch(
                    Rectangle(
                        (column_from, row_from),
                        column_to - column_from,
                        row_to - row_from,
                        fill=True,
                        facecolor="#fdae61",
                        alpha=0.25,
                        edgecolor="#d7301f",
                        linewidth=2,
                    )
                )
        pool_axes.add_patch(
            Rectangle(
                (x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="#2c7bb6", linewidth=2, linestyle="--"
            )
        )
        pool_axes.legend(
            handles=[
                Line2D([], [], color="#2c7bb6", linestyle="--", linewidth=2, label=text["box"]),
                Patch(facecolor="#fdae61", alpha=0.5, edgecolor="#d7301f", label=text["quantised"]),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.04),
            ncol=2,
            fontsize=9,
        )
        pool_axes.set_title(text["pool"], fontsize=10)

        _draw_features(align_axes, feature_values)
        align_axes.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="#2c7bb6", linewidth=2)
        )
        for step in range(1, out):
            align_axes.axvline(
                x1 + step * (x2 - x1) / out, ymin=1 - y2 / size, ymax=1 - y1 / size, color="#2c7bb6"
            )
            align_axes.axhline(y1 + step * (y2 - y1) / out, xmin=x1 / size, xmax=x2 / size, color="#2c7bb6")
        flat = points.reshape(-1, 2).numpy()
        align_axes.plot(flat[:, 1], flat[:, 0], "o", color="#d7301f", markersize=5, label=text["samples"])
        align_axes.set_title(text["align"].format(ratio=ratio), fontsize=10)
        align_axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04), fontsize=9)

        for axes, values, name, color in (
            (pool_out, pooled, "RoIPool", "#fdae61"),
            (align_out, aligned, "RoIAlign", "#abd9e9"),
        ):
            axes.imshow(np.zeros((out, out)), cmap="Greys", vmin=0, vmax=1)
            for i in range(out):
                for j in range(out):
                    axes.text(j, i, f"{float(values[i, j]):.3g}", ha="center", va="center", fontsize=11)
            axes.set_title(f"{name} {text['result']}", fontsize=10, backgroundcolor=color)
            axes.set_xticks([])
            axes.set_yticks([])
            axes.grid(False)
            for spine in axes.spines.values():
                spine.set_visible(False)
        figure.suptitle(text["title"].format(out=out))
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


def _count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def _describe(module: nn.Module) -> str:
    """Return a one-line summary of a head module: class name and the shape that matters."""
    name = type(module).__name__
    if isinstance(module, MultiScaleRoIAlign):
        height, width = module.output_size
        return f"{name} {height}×{width}, no parameters"
    layers = [
        child for child in module.modules() if isinstance(child, nn.Conv2d | nn.Linear | nn.ConvTranspose2d)
    ]
    parts = []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            parts.append(f"fc {layer.in_features}→{layer.out_features}")
        else:
            kernel = "×".join(str(value) for value in layer.kernel_size)
            kind = "deconv" if isinstance(layer, nn.ConvTranspose2d) else "conv"
            parts.append(f"{kind}{kernel} {layer.in_channels}→{layer.out_channels}")
    # Repeated identical layers (the four convolutions of the mask head) are written once with a count.
    grouped: list[list] = []
    for part in parts:
        if grouped and grouped[-1][0] == part:
            grouped[-1][1] += 1
        else:
            grouped.append([part, 1])
    return f"{name}: " + ", ".join(part if count == 1 else f"{count} × {part}" for part, count in grouped)


def describe_rcnn_models(image_size: tuple[int, int] = (96, 128), num_classes: int = 91) -> dict[str, Any]:
    """Build Faster and Mask R-CNN (ResNet-50 FPN) without weights and describe their heads.

    Both come from torchvision's builders with ``weights=None, weights_backbone=None``,
    so nothing is downloaded and the parameters are random. ``min_size`` and
    ``max_size`` are set to the image size so that one CPU forward pass stays
    short. The resizing transform does not change any layer.

    Args:
        image_size: ``(height, width)`` of the random test image.
        num_classes: Classes including the background (91 for COCO in torchvision).

    Returns:
        Per model (``"faster"``, ``"mask"``): parameter counts of the backbone with FPN,
        the RPN and each ``roi_heads`` child, one line per ``roi_heads`` child, the
        output keys and shapes in eval mode, and build and forward times in seconds.
    """
    from torchvision.models.detection import fasterrcnn_resnet50_fpn, maskrcnn_resnet50_fpn

    image = torch.rand(3, *image_size)
    side = max(image_size)
    described: dict[str, Any] = {}
    for key, builder in (("faster", fasterrcnn_resnet50_fpn), ("mask", maskrcnn_resnet50_fpn)):
        start = time.perf_counter()
        model = builder(
            weights=None,
            weights_backbone=None,
            num_classes=num_classes,
            min_size=min(image_size),
            max_size=side,
        )
        build_s = time.perf_counter() - start
        model.eval()
        start = time.perf_counter()
        with torch.no_grad():
            output = model([image])[0]
        forward_s = time.perf_counter() - start

        heads = {name: child for name, child in model.roi_heads.named_children()}
        described[key] = {
            "builder": builder.__name__,
            "parameters": {
                "backbone": _count(model.backbone),
                "rpn": _count(model.rpn),
                **{name: _count(child) for name, child in heads.items()},
            },
            "total_parameters": _count(model),
            "roi_heads": {name: _describe(child) for name, child in heads.items()},
            "outputs": {name: list(value.shape) for name, value in output.items()},
            "build_s": round(build_s, 2),
            "forward_s": round(forward_s, 2),
        }
    return described


_HEADS_TEXT = {
    "ko": {
        "title": "torchvision의 두 모델을 가중치 없이 만들어 비교한 roi_heads",
        "params": "parameter 수 (백만)",
        "outputs": "eval 모드 출력 key (입력 {height}×{width} 이미지 1장)",
        "total": "전체 {total:.1f}M",
        "parts": {
            "backbone": "backbone + FPN",
            "rpn": "RPN",
            "box_head": "box_head",
            "box_predictor": "box_predictor",
            "mask_head": "mask_head",
            "mask_predictor": "mask_predictor",
        },
    },
    "en": {
        "title": "roi_heads of torchvision's two models, built without weights",
        "params": "parameters (millions)",
        "outputs": "output keys in eval mode (one {height}×{width} image)",
        "total": "total {total:.1f}M",
        "parts": {
            "backbone": "backbone + FPN",
            "rpn": "RPN",
            "box_head": "box_head",
            "box_predictor": "box_predictor",
            "mask_head": "mask_head",
            "mask_predictor": "mask_predictor",
        },
    },
}


@recipe(
    "rcnn-heads",
    title={"ko": "Faster R-CNN과 Mask R-CNN의 head 비교", "en": "Faster R-CNN and Mask R-CNN heads compared"},
    params={"image_size": [96, 128], "num_classes": 91},
)
def rcnn_heads(context: RecipeContext) -> RecipeOutput:
    """Draw the roi_heads module lines, parameter counts and output keys of both models."""
    height, width = context.params["image_size"]
    described = describe_rcnn_models((height, width), context.params["num_classes"])
    metrics: dict[str, Any] = {}
    for key, info in described.items():
        metrics[f"{key}_total_parameters"] = info["total_parameters"]
        metrics[f"{key}_output_keys"] = list(info["outputs"])
        for part, count in info["parameters"].items():
            metrics[f"{key}_{part}_parameters"] = count
        metrics[f"{key}_roi_heads"] = info["roi_heads"]
        metrics[f"{key}_build_s"] = info["build_s"]
        metrics[f"{key}_forward_s"] = info["forward_s"]

    parts = ["backbone", "rpn", "box_head", "box_predictor", "mask_head", "mask_predictor"]
    names = {"faster": "Faster R-CNN", "mask": "Mask R-CNN"}
    colors = {"faster": "#4575b4", "mask": "#d73027"}
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _HEADS_TEXT[language]
        figure = Figure(figsize=(12.6, 6.0))
        grid = figure.add_gridspec(2, 2, height_ratios=[0.75, 1], width_ratios=[1, 1])
        tree_axes = [figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])]
        bars = figure.add_subplot(grid[1, :])

        for axes, key in zip(tree_axes, ("faster", "mask"), strict=True):
            info = described[key]
            axes.axis("off")
            lines = [f"{info['builder']}(weights=None)", "roi_heads:"]
            for name, line in info["roi_heads"].items():
                count = info["parameters"][name]
                lines.append(f"  {name}: {line}" + (f"  [{count / 1e6:.2f}M]" if count else ""))
            lines.append("")
            lines.append(text["outputs"].format(height=height, width=width) + ":")
            lines.append(
                "  " + ", ".join(f"{name} {tuple(shape)}" for name, shape in info["outputs"].items())
            )
            axes.text(0.0, 1.0, names[key], fontsize=12, color=colors[key], va="top")
            axes.text(
                0.0,
                0.86,
                "\n".join(lines),
                fontsize=7.6,
                va="top",
                family=["DejaVu Sans Mono", "NanumGothic"],
            )

        positions = np.arange(len(parts))
        width_bar = 0.38
        for offset, key in ((-width_bar / 2, "faster"), (width_bar / 2, "mask")):
            counts = [described[key]["parameters"].get(part, 0) / 1e6 for part in parts]
            label = f"{names[key]} ({text['total'].format(total=described[key]['total_parameters'] / 1e6)})"
            drawn = bars.bar(positions + offset, counts, width_bar, color=colors[key], label=label)
            bars.bar_label(
                drawn, labels=[f"{count:.2f}" if count else "-" for count in counts], fontsize=8, padding=2
            )
        bars.set_xticks(positions, [text["parts"][part] for part in parts])
        bars.set_ylabel(text["params"])
        bars.legend(loc="upper right")
        bars.set_ylim(0, 1.15 * max(described["mask"]["parameters"]["backbone"] / 1e6, 1))
        figure.suptitle(text["title"])
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
