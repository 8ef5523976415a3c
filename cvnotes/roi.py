r"""RoIPool and RoIAlign written out cell by cell, to show where RoIPool loses alignment.

Faster R-CNN (Ren et al., NeurIPS 2015) cuts a fixed-size feature out of
every proposal with **RoIPool**: the box is rounded to whole feature cells,
split into bins whose borders are rounded again, and each bin keeps its
maximum. The two roundings shift the pooled feature by up to a cell, which
is 16 input pixels at stride 16. Boxes barely notice, but a pixel-accurate
mask does. Mask R-CNN (He et al., ICCV 2017) therefore uses **RoIAlign**: no
rounding at all, each bin averages a few points sampled by bilinear
interpolation at their exact fractional positions.

The functions below compute the bins and sample points explicitly, so a
figure can draw them. They follow the conventions of ``torchvision.ops``
(``roi_pool`` and ``roi_align``, checked with torchvision 0.29), and the tests
compare their pooled values with torchvision's to 1e-6. Use torchvision's
functions in real models, since these are loops for teaching.

Coordinates: feature cell ``(row, column)`` covers ``[column, column + 1)``
horizontally. A box is ``(x1, y1, x2, y2)`` in input pixels and is multiplied
by ``spatial_scale`` (1 / stride) to reach feature cells.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "roi_align_reference",
    "roi_align_sample_points",
    "roi_pool_bins",
    "roi_pool_reference",
]


def _round_half_away(value: float) -> int:
    # C's round(), which torchvision uses; Python's round() sends halves to the even integer.
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


def _check_box(box: tuple[float, float, float, float] | Tensor) -> tuple[float, float, float, float]:
    values = [float(value) for value in (box.tolist() if isinstance(box, Tensor) else box)]
    if len(values) != 4:
        raise ValueError(f"box must be (x1, y1, x2, y2), got {box!r}")
    return values[0], values[1], values[2], values[3]


def roi_pool_bins(
    box: tuple[float, float, float, float] | Tensor,
    output_size: tuple[int, int],
    feature_size: tuple[int, int],
    spatial_scale: float = 1.0,
) -> list[list[tuple[int, int, int, int]]]:
    r"""Return the integer cell range of every RoIPool bin, as ``torchvision.ops.roi_pool`` forms them.

    The box corners are rounded to the nearest cell, $x_s = \mathrm{round}(s\,x_1)$
    and $x_e = \mathrm{round}(s\,x_2)$, the width counts cells inclusively,
    $W = \max(x_e - x_s + 1, 1)$, and bin $j$ of $P$ covers columns
    $[x_s + \lfloor jW/P \rfloor,\; x_s + \lceil (j + 1)W/P \rceil)$, clipped
    to the map. Rows follow the same rule. Neighbouring bins may share a
    column, and a bin may be empty after clipping.

    Args:
        box: ``(x1, y1, x2, y2)`` in input pixels.
        output_size: ``(P_h, P_w)`` bins.
        feature_size: ``(H, W)`` of the feature map.
        spatial_scale: Feature cells per input pixel (1 / stride).

    Returns:
        ``bins[i][j] = (row_start, row_end, column_start, column_end)``, end exclusive.

    Raises:
        ValueError: On a malformed box or non-positive sizes.

    Examples:
        >>> roi_pool_bins((0.6, 0.4, 3.4, 2.6), (1, 2), (4, 4))[0]
        [(0, 4, 1, 3), (0, 4, 2, 4)]
    """
    x1, y1, x2, y2 = _check_box(box)
    pooled_height, pooled_width = output_size
    height, width = feature_size
    if min(pooled_height, pooled_width, height, width) < 1:
        raise ValueError(
            f"output_size and feature_size must be positive, got {output_size!r} and {feature_size!r}"
        )
    start_x, end_x = _round_half_away(x1 * spatial_scale), _round_half_away(x2 * spatial_scale)
    start_y, end_y = _round_half_away(y1 * spatial_scale), _round_half_away(y2 * spatial_scale)
    bin_width = max(end_x - start_x + 1, 1) / pooled_width
    bin_height = max(end_y - start_y + 1, 1) / pooled_height

    def clip(value: int, limit: int) -> int:
        return min(max(value, 0), limit)

    bins = []
    for i in range(pooled_height):
        row_start = clip(math.floor(i * bin_height) + start_y, height)
        row_end = clip(math.ceil((i + 1) * bin_height) + start_y, height)
        row = []
        for j in range(pooled_width):
            column_start = clip(math.floor(j * bin_width) + start_x, width)
            column_end = clip(math.ceil((j + 1) * bin_width) + start_x, width)
            row.append((row_start, row_end, column_start, column_end))
        bins.append(row)
    return bins


def roi_pool_reference(
    features: Tensor,
    box: tuple[float, float, float, float] | Tensor,
    output_size: tuple[int, int],
    spatial_scale: float = 1.0,
) -> Tensor:
    """Max-pool each bin of [`roi_pool_bins`][cvnotes.roi.roi_pool_bins]; an empty bin gives 0.

    Args:
        features: ``(C, H, W)`` feature map.
        box: ``(x1, y1, x2, y2)`` in input pixels.
        output_size: ``(P_h, P_w)``.
        spatial_scale: Feature cells per input pixel.

    Returns:
        ``(C, P_h, P_w)`` pooled features, equal to ``torchvision.ops.roi_pool``.

    Raises:
        ValueError: If ``features`` is not 3-D, or on a malformed box.
    """
    if features.ndim != 3:
        raise ValueError(f"features must have shape (C, H, W), got {tuple(features.shape)}")
    bins = roi_pool_bins(box, output_size, tuple(features.shape[-2:]), spatial_scale)
    pooled = features.new_zeros(features.shape[0], *output_size)
    for i, row in enumerate(bins):
        for j, (row_start, row_end, column_start, column_end) in enumerate(row):
            if row_end > row_start and column_end > column_start:
                pooled[:, i, j] = features[:, row_start:row_end, column_start:column_end].amax(dim=(-2, -1))
    return pooled


def roi_align_sample_points(
    box: tuple[float, float, float, float] | Tensor,
    output_size: tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> Tensor:
    r"""Return the bilinear sample points of every RoIAlign bin, as ``torchvision.ops.roi_align`` places them.

    The box is scaled but not rounded. With ``aligned=True`` it is also
    shifted by half a cell, $x_s = s\,x_1 - \tfrac12$, because feature index
    $c$ is the value at continuous position $c + \tfrac12$. Each of the
    $P_w$ bins is $(s\,x_2 - s\,x_1) / P_w$ cells wide and contains a regular
    grid of ``sampling_ratio`` x ``sampling_ratio`` points at the centres of
    its sub-cells. With ``aligned=False`` (the original Mask R-CNN), there is
    no half-cell shift and the box is at least one cell wide.

    Args:
        box: ``(x1, y1, x2, y2)`` in input pixels.
        output_size: ``(P_h, P_w)`` bins.
        spatial_scale: Feature cells per input pixel.
        sampling_ratio: Points per bin along each axis (> 0). torchvision also
            accepts 0 (adaptive), which this teaching version does not.
        aligned: Apply the half-cell shift (``torchvision`` default is ``False``,
            Detectron2 and the figures use ``True``).

    Returns:
        ``(P_h, P_w, sampling_ratio, sampling_ratio, 2)`` points ``(y, x)`` in
        feature-index units, where index ``c`` is the centre of cell ``c``.

    Raises:
        ValueError: On a malformed box, non-positive sizes or ``sampling_ratio`` < 1.

    Examples:
        >>> points = roi_align_sample_points((0.0, 0.0, 4.0, 4.0), (1, 1), sampling_ratio=2)
        >>> points[0, 0].reshape(-1, 2).tolist()
        [[0.5, 0.5], [0.5, 2.5], [2.5, 0.5], [2.5, 2.5]]
    """
    x1, y1, x2, y2 = _check_box(box)
    pooled_height, pooled_width = output_size
    if min(pooled_height, pooled_width) < 1:
        raise ValueError(f"output_size must be positive, got {output_size!r}")
    if sampling_ratio < 1:
        raise ValueError(f"invalid sampling_ratio {sampling_ratio!r}: use an integer >= 1")
    shift = 0.5 if aligned else 0.0
    start_x, start_y = x1 * spatial_scale - shift, y1 * spatial_scale - shift
    roi_width = x2 * spatial_scale - shift - start_x
    roi_height = y2 * spatial_scale - shift - start_y
    if not aligned:
        # The original RoIAlign forces malformed boxes to one cell; the aligned version does not.
        roi_width, roi_height = max(roi_width, 1.0), max(roi_height, 1.0)
    bin_width, bin_height = roi_width / pooled_width, roi_height / pooled_height

    steps = (torch.arange(sampling_ratio, dtype=torch.float64) + 0.5) / sampling_ratio
    rows = start_y + (torch.arange(pooled_height, dtype=torch.float64).unsqueeze(1) + steps) * bin_height
    columns = start_x + (torch.arange(pooled_width, dtype=torch.float64).unsqueeze(1) + steps) * bin_width
    # rows: (P_h, g), columns: (P_w, g) -> (P_h, P_w, g, g, 2)
    grid_y = rows[:, None, :, None].expand(pooled_height, pooled_width, sampling_ratio, sampling_ratio)
    grid_x = columns[None, :, None, :].expand(pooled_height, pooled_width, sampling_ratio, sampling_ratio)
    return torch.stack([grid_y, grid_x], dim=-1)


def _bilinear(features: Tensor, y: float, x: float) -> Tensor:
    """Interpolate ``features`` (C, H, W) at index position (y, x) with torchvision's border rules."""
    height, width = features.shape[-2:]
    # A point more than one cell outside the map contributes 0.
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return features.new_zeros(features.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    dy, dx = y - y_low, x - x_low
    return (
        (1 - dy) * (1 - dx) * features[:, y_low, x_low]
        + (1 - dy) * dx * features[:, y_low, x_high]
        + dy * (1 - dx) * features[:, y_high, x_low]
        + dy * dx * features[:, y_high, x_high]
    )


def roi_align_reference(
    features: Tensor,
    box: tuple[float, float, float, float] | Tensor,
    output_size: tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> Tensor:
    """Average the bilinear samples of each bin of [`roi_align_sample_points`][cvnotes.roi.roi_align_sample_points].

    Args:
        features: ``(C, H, W)`` feature map.
        box: ``(x1, y1, x2, y2)`` in input pixels.
        output_size: ``(P_h, P_w)``.
        spatial_scale: Feature cells per input pixel.
        sampling_ratio: Points per bin along each axis (>= 1).
        aligned: Apply the half-cell shift.

    Returns:
        ``(C, P_h, P_w)`` features, equal to ``torchvision.ops.roi_align`` with the same arguments.

    Raises:
        ValueError: If ``features`` is not 3-D, or on invalid box or sizes.
    """
    if features.ndim != 3:
        raise ValueError(f"features must have shape (C, H, W), got {tuple(features.shape)}")
    points = roi_align_sample_points(box, output_size, spatial_scale, sampling_ratio, aligned)
    pooled = features.new_zeros(features.shape[0], *output_size)
    for i in range(output_size[0]):
        for j in range(output_size[1]):
            samples = [
                _bilinear(features, float(y), float(x)) for y, x in points[i, j].reshape(-1, 2).tolist()
            ]
            pooled[:, i, j] = torch.stack(samples).mean(dim=0)
    return pooled
