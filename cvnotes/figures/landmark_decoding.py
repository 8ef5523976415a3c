"""Figure of the landmark section: decoding error against heatmap stride, argmax vs soft-argmax.

Random landmarks are encoded with [`encode_heatmaps`][cvnotes.landmarks.encode_heatmaps]
at several strides and decoded back. The clean panel isolates the rounding
error of each decoder. The noisy panel adds Gaussian noise to the heatmaps
as a stand-in for an imperfect network.
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from cvnotes import landmarks
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["decoding_errors", "landmark_decoding_error"]

# Mean distance from a uniform random point in a unit square to its centre: (sqrt(2) + asinh(1)) / 6.
MEAN_ROUNDING_DISTANCE = (math.sqrt(2) + math.asinh(1)) / 6


def decoding_errors(
    points: torch.Tensor,
    image_size: int,
    stride: int,
    sigma: float,
    noise: float = 0.0,
    window: int = 3,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Encode ``points`` at ``stride``, decode them four ways, and return the mean errors in input pixels.

    Args:
        points: ``(K, 2)`` landmark positions ``(x, y)`` in input pixels.
        image_size: Side of the square input image in pixels.
        stride: Input pixels per heatmap cell.
        sigma: Gaussian standard deviation in heatmap cells.
        noise: Standard deviation of Gaussian noise added to every heatmap cell.
        window: Half-size in cells of the local soft-argmax window.
        generator: Random generator for the noise.

    Returns:
        Mean Euclidean error for ``"argmax"``, ``"argmax_quarter"``, ``"soft_argmax"`` and
        ``"soft_argmax_local"``.
    """
    heatmaps = landmarks.encode_heatmaps(points, (image_size, image_size), stride=stride, sigma=sigma)
    if noise > 0:
        heatmaps = heatmaps + noise * torch.randn(heatmaps.shape, generator=generator, dtype=heatmaps.dtype)
    decoded = {
        "argmax": landmarks.argmax_decode(heatmaps, stride),
        "argmax_quarter": landmarks.argmax_decode(heatmaps, stride, quarter_offset=True),
        "soft_argmax": landmarks.soft_argmax_decode(heatmaps, stride),
        "soft_argmax_local": landmarks.soft_argmax_decode(heatmaps, stride, window=window),
    }
    return {name: float((values - points).norm(dim=1).mean()) for name, values in decoded.items()}


_TEXT = {
    "ko": {
        "title": "heatmap stride에 따른 landmark decoding 오차 (무작위 landmark {count}개, σ = {sigma:g} cell)",
        "clean": "깨끗한 Gaussian heatmap",
        "noisy": "잡음을 더한 heatmap (표준편차 {noise:g})",
        "x": "heatmap stride (입력 pixel / cell)",
        "y": "평균 오차 (입력 pixel)",
        "argmax": "argmax",
        "argmax_quarter": "argmax + 1/4 cell 보정",
        "soft_argmax": "soft-argmax (전체 map)",
        "soft_argmax_local": "soft-argmax (peak 주변 ±{window} cell)",
        "bound": "반올림만의 기대 오차 0.383 × stride",
    },
    "en": {
        "title": "Landmark decoding error against heatmap stride ({count} random landmarks, σ = {sigma:g} cells)",
        "clean": "clean Gaussian heatmaps",
        "noisy": "heatmaps with added noise (std {noise:g})",
        "x": "heatmap stride (input pixels per cell)",
        "y": "mean error (input pixels)",
        "argmax": "argmax",
        "argmax_quarter": "argmax + quarter-cell shift",
        "soft_argmax": "soft-argmax (whole map)",
        "soft_argmax_local": "soft-argmax (±{window} cells around the peak)",
        "bound": "expected rounding error alone, 0.383 × stride",
    },
}

_STYLES = {
    "argmax": {"color": "#d73027", "marker": "o"},
    "argmax_quarter": {"color": "#fc8d59", "marker": "s"},
    "soft_argmax": {"color": "#4575b4", "marker": "^"},
    "soft_argmax_local": {"color": "#1a9850", "marker": "D"},
}


@recipe(
    "landmark-decoding-error",
    title={
        "ko": "stride에 따른 argmax·soft-argmax decoding 오차",
        "en": "Argmax and soft-argmax decoding error by stride",
    },
    params={
        "image_size": 256,
        "strides": [1, 2, 4, 8, 16],
        "sigma": 2.0,
        "num_points": 100,
        "margin": 96,
        "noise": 0.05,
        "window": 5,
    },
    code=(landmarks,),
)
def landmark_decoding_error(context: RecipeContext) -> RecipeOutput:
    """Measure the mean decoding error of four decoders at each stride, on clean and noisy heatmaps."""
    params = context.params
    generator = torch.Generator().manual_seed(context.seed)
    size, margin = params["image_size"], params["margin"]
    # A 96-pixel margin keeps each landmark 5.5 cells (2.75 sigma) from the edge even at stride 16,
    # so the map edge cuts off little of a Gaussian.
    points = margin + (size - 2 * margin) * torch.rand(
        params["num_points"], 2, generator=generator, dtype=torch.float64
    )

    errors = {"clean": {}, "noisy": {}}
    for stride in params["strides"]:
        errors["clean"][stride] = decoding_errors(
            points, size, stride, params["sigma"], window=params["window"]
        )
        errors["noisy"][stride] = decoding_errors(
            points, size, stride, params["sigma"], params["noise"], params["window"], generator
        )
    metrics = {
        f"{condition}_{name}_stride{stride}": value
        for condition, by_stride in errors.items()
        for stride, values in by_stride.items()
        for name, value in values.items()
    }

    strides = params["strides"]
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(11.6, 4.6))
        panels = figure.subplots(1, 2)
        for axes, condition in zip(panels, ("clean", "noisy"), strict=True):
            axes.plot(
                strides,
                [MEAN_ROUNDING_DISTANCE * stride for stride in strides],
                color="0.5",
                linestyle=":",
                label=text["bound"],
            )
            for name, style in _STYLES.items():
                values = [errors[condition][stride][name] for stride in strides]
                label = text[name].format(window=params["window"])
                axes.plot(strides, values, linewidth=1.8, markersize=5, label=label, **style)
            axes.set_xscale("log", base=2)
            axes.set_xticks(strides, [str(stride) for stride in strides])
            axes.xaxis.set_minor_formatter(NullFormatter())
            axes.set_ylim(bottom=0)
            axes.set_ylabel(text["y"])
            axes.set_xlabel(text["x"])
            title = text[condition].format(noise=params["noise"])
            axes.set_title(title, fontsize=10)
        panels[0].legend(loc="upper left", fontsize=8)
        figure.suptitle(text["title"].format(count=params["num_points"], sigma=params["sigma"]), fontsize=11)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
