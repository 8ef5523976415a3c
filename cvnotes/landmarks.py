r"""Landmark heatmaps: Gaussian targets, argmax decoding and soft-argmax decoding.

Heatmap regression (used by the stacked hourglass network of Newell, Yang
and Deng, ECCV 2016) predicts one map per landmark, trained towards a
Gaussian at the landmark. Decoding by **argmax** returns the centre of the
best cell, so its error grows with the heatmap stride: at stride $s$ a
landmark can sit up to $s/2$ input pixels from the nearest cell centre in
each axis. The **soft-argmax** of integral regression (Sun, Xiao, Wei,
Liang and Wei, "Integral Human Pose Regression", ECCV 2018) takes the
expected position under the normalised heatmap instead,

$$
\hat u = \sum_{ij} j\,P_{ij}, \quad \hat v = \sum_{ij} i\,P_{ij}, \qquad
P = \frac{\max(H, 0)}{\sum \max(H, 0)} \ \text{or}\ \mathrm{softmax}(\beta H),
$$

which is differentiable and returns sub-cell positions.

Coordinates: input pixel centres are at integer positions. Heatmap cell
$(i, j)$ at stride $s$ covers input pixels $[js, (j + 1)s)$ horizontally, so
its centre is at $x = js + (s - 1)/2$; [`to_input_pixels`][cvnotes.landmarks.to_input_pixels]
and [`to_heatmap_cells`][cvnotes.landmarks.to_heatmap_cells] convert.
Landmarks are ``(x, y)`` pairs.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "argmax_decode",
    "encode_heatmaps",
    "soft_argmax_decode",
    "to_heatmap_cells",
    "to_input_pixels",
]


def _check_stride(stride: int) -> None:
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"invalid stride {stride!r}: use a positive integer such as 4")


def to_heatmap_cells(points: Tensor, stride: int) -> Tensor:
    r"""Convert ``(x, y)`` input-pixel positions to continuous heatmap-cell positions, $u = (x - (s - 1)/2) / s$."""
    _check_stride(stride)
    return (points - (stride - 1) / 2) / stride


def to_input_pixels(cells: Tensor, stride: int) -> Tensor:
    r"""Convert continuous heatmap-cell positions back to input pixels, $x = s\,u + (s - 1)/2$."""
    _check_stride(stride)
    return cells * stride + (stride - 1) / 2


def encode_heatmaps(
    landmarks: Tensor, image_size: tuple[int, int], stride: int = 4, sigma: float = 2.0
) -> Tensor:
    r"""Render one Gaussian heatmap per landmark at the given stride.

    $$
    H^{(k)}_{ij} = \exp\Bigl(-\frac{(j - u_k)^2 + (i - v_k)^2}{2\sigma^2}\Bigr),
    $$

    where $(u_k, v_k)$ is landmark $k$ in continuous cell units, so the peak
    keeps its sub-cell position instead of snapping to a cell.

    Args:
        landmarks: ``(K, 2)`` positions ``(x, y)`` in input pixels.
        image_size: ``(height, width)`` of the input image in pixels; each must be divisible by ``stride``.
        stride: Input pixels per heatmap cell.
        sigma: Standard deviation in heatmap cells (> 0).

    Returns:
        ``(K, height / stride, width / stride)`` heatmaps with peak value 1 at the landmark.

    Raises:
        ValueError: If ``landmarks`` is not ``(K, 2)``, the size is not divisible by
            ``stride``, or ``sigma`` is not positive.

    Examples:
        >>> heatmaps = encode_heatmaps(torch.tensor([[5.5, 1.5]]), (8, 8), stride=2, sigma=1.0)
        >>> heatmaps.shape, round(heatmaps[0, 0, 2].item(), 3)
        (torch.Size([1, 4, 4]), 0.779)
    """
    _check_stride(stride)
    if landmarks.ndim != 2 or landmarks.shape[1] != 2:
        raise ValueError(f"landmarks must have shape (K, 2), got {tuple(landmarks.shape)}")
    height, width = image_size
    if height % stride or width % stride:
        raise ValueError(f"image_size {image_size!r} must be divisible by stride {stride}")
    if not sigma > 0:
        raise ValueError(f"invalid sigma {sigma!r}: use a standard deviation > 0 in heatmap cells")
    cells = to_heatmap_cells(landmarks.to(torch.float64), stride)
    columns = torch.arange(width // stride, dtype=torch.float64)
    rows = torch.arange(height // stride, dtype=torch.float64)
    dx = columns.view(1, 1, -1) - cells[:, 0].view(-1, 1, 1)
    dy = rows.view(1, -1, 1) - cells[:, 1].view(-1, 1, 1)
    return torch.exp(-(dx**2 + dy**2) / (2 * sigma**2))


def _check_heatmaps(heatmaps: Tensor) -> None:
    if heatmaps.ndim < 2:
        raise ValueError(f"heatmaps must have shape (..., H, W), got {tuple(heatmaps.shape)}")


def argmax_decode(heatmaps: Tensor, stride: int = 4, quarter_offset: bool = False) -> Tensor:
    """Decode each heatmap to the centre of its highest cell, in input pixels.

    Args:
        heatmaps: ``(..., H, W)`` heatmaps.
        stride: Input pixels per heatmap cell.
        quarter_offset: Move the result a quarter cell towards the higher of
            the two neighbours in each axis. Many pose-estimation code bases use
            this cheap refinement; it halves the worst-case rounding error but
            is still not sub-pixel accurate.

    Returns:
        ``(..., 2)`` positions ``(x, y)`` in input pixels. Ties go to the first
        cell in row-major order (``torch.argmax``).

    Raises:
        ValueError: If ``heatmaps`` has fewer than 2 dimensions.

    Examples:
        >>> heatmaps = torch.zeros(1, 4, 4)
        >>> heatmaps[0, 1, 2] = 1.0
        >>> argmax_decode(heatmaps, stride=4).tolist()
        [[9.5, 5.5]]
    """
    _check_heatmaps(heatmaps)
    height, width = heatmaps.shape[-2:]
    flat = heatmaps.reshape(-1, height * width)
    index = flat.argmax(dim=1)
    rows = torch.div(index, width, rounding_mode="floor")
    columns = index % width
    cells = torch.stack([columns, rows], dim=1).to(torch.float64)

    if quarter_offset:
        maps = heatmaps.reshape(-1, height, width)
        batch = torch.arange(maps.shape[0])
        # Neighbours outside the map count as equal, which gives no shift in that direction.
        right = maps[batch, rows, (columns + 1).clamp(max=width - 1)]
        left = maps[batch, rows, (columns - 1).clamp(min=0)]
        below = maps[batch, (rows + 1).clamp(max=height - 1), columns]
        above = maps[batch, (rows - 1).clamp(min=0), columns]
        cells[:, 0] += 0.25 * torch.sign(right - left).to(torch.float64)
        cells[:, 1] += 0.25 * torch.sign(below - above).to(torch.float64)
    return to_input_pixels(cells, stride).reshape(*heatmaps.shape[:-2], 2)


def soft_argmax_decode(
    heatmaps: Tensor, stride: int = 4, beta: float | None = None, window: int | None = None
) -> Tensor:
    r"""Decode each heatmap to its expected position, with sub-pixel precision (Sun et al., ECCV 2018).

    Args:
        heatmaps: ``(..., H, W)`` heatmaps.
        stride: Input pixels per heatmap cell.
        beta: ``None`` normalises the clamped heatmap, $P = \max(H, 0) / \sum \max(H, 0)$,
            which suits Gaussian-shaped maps. A number uses $\mathrm{softmax}(\beta H)$
            as integral regression does on raw network outputs.
        window: If given, only cells within ``window`` cells (Chebyshev distance)
            of the argmax take part. Background noise far from the peak then
            cannot pull the estimate towards the map centre.

    Returns:
        ``(..., 2)`` positions ``(x, y)`` in input pixels.

    Raises:
        ValueError: If ``heatmaps`` has fewer than 2 dimensions, ``window`` is negative,
            or a clamped heatmap sums to zero.

    Examples:
        >>> heatmaps = encode_heatmaps(torch.tensor([[45.3, 47.8]]), (96, 96), stride=4)
        >>> [round(value, 3) for value in soft_argmax_decode(heatmaps, stride=4)[0].tolist()]
        [45.3, 47.8]
    """
    _check_heatmaps(heatmaps)
    if window is not None and window < 0:
        raise ValueError(f"invalid window {window!r}: use a number of cells >= 0, or None")
    height, width = heatmaps.shape[-2:]
    maps = heatmaps.reshape(-1, height, width).to(torch.float64)
    rows = torch.arange(height, dtype=torch.float64).view(1, -1, 1)
    columns = torch.arange(width, dtype=torch.float64).view(1, 1, -1)

    inside = torch.ones_like(maps, dtype=torch.bool)
    if window is not None:
        index = maps.reshape(maps.shape[0], -1).argmax(dim=1)
        peak_rows = torch.div(index, width, rounding_mode="floor").view(-1, 1, 1)
        peak_columns = (index % width).view(-1, 1, 1)
        inside = ((rows - peak_rows).abs() <= window) & ((columns - peak_columns).abs() <= window)

    if beta is None:
        weights = maps.clamp(min=0) * inside
        total = weights.sum(dim=(-2, -1), keepdim=True)
        if bool((total == 0).any()):
            raise ValueError(
                "a heatmap has no positive value to normalise; pass beta to use a softmax instead"
            )
        probabilities = weights / total
    else:
        logits = (beta * maps).masked_fill(~inside, float("-inf"))
        probabilities = torch.softmax(logits.reshape(maps.shape[0], -1), dim=1).view_as(maps)

    expected_x = (probabilities * columns).sum(dim=(-2, -1))
    expected_y = (probabilities * rows).sum(dim=(-2, -1))
    cells = torch.stack([expected_x, expected_y], dim=1)
    return to_input_pixels(cells, stride).reshape(*heatmaps.shape[:-2], 2)
