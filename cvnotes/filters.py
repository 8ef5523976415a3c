"""Convolution filters drawn as images: the first layer's, and why deeper kernels are not pictures.

A first-layer filter of shape ``(C_in, k, k)`` with ``C_in`` = 1 (grey) or 3
(RGB) lives in pixel space: it is the image patch that the layer's output
responds to most, so it can be shown as a small picture. Krizhevsky, Sutskever
and Hinton (NeurIPS 2012, figure 3) drew the 96 first-layer filters of AlexNet
this way, and they read as oriented edges, gratings and colour blobs. A filter
of a deeper layer has one ``k x k`` slice per input channel, tens to hundreds
of them, and each slice weights a feature map rather than a colour. Drawing the
slices shows numbers, not a pattern in the image. Deeper layers are therefore
shown through what they respond to (activations, deconvolution as in Zeiler and
Fergus, ECCV 2014, or gradient ascent as in Simonyan, Vedaldi and Zisserman,
ICLR workshop 2014).

[`scale_filters`][cvnotes.filters.scale_filters] scales each filter to [0, 1] on
its own, [`filter_grid`][cvnotes.filters.filter_grid] tiles first-layer filters
into one image, and [`kernel_slice_grid`][cvnotes.filters.kernel_slice_grid]
tiles the single-channel slices of a deeper layer's kernels.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["filter_grid", "first_conv", "kernel_slice_grid", "scale_filters"]


def scale_filters(weight: Tensor) -> Tensor:
    r"""Scale each filter to [0, 1] by its own minimum and maximum.

    $\hat w = (w - \min w) / (\max w - \min w)$ over all entries of one filter
    (all its channels together, so the colour balance of an RGB filter is kept).
    Each filter gets its own scale, so a filter with small weights is as visible
    as one with large weights. Compare magnitudes with the weights themselves.

    Args:
        weight: Filters of shape ``(N, ...)``, for example a conv weight
            ``(C_out, C_in, k_h, k_w)``.

    Returns:
        Tensor of the same shape in [0, 1]. A constant filter, whose range is 0,
        becomes all zeros rather than NaN.

    Examples:
        >>> scale_filters(torch.tensor([[-1.0, 0.0, 1.0], [2.0, 2.0, 2.0]]))
        tensor([[0.0000, 0.5000, 1.0000],
                [0.0000, 0.0000, 0.0000]])
    """
    if weight.dim() < 2:
        raise ValueError(
            f"invalid weight shape {tuple(weight.shape)}: expected (N, ...) with one row per filter"
        )
    weight = weight.detach().to(torch.float32)
    flat = weight.flatten(1)
    low = flat.amin(dim=1, keepdim=True)
    value_range = flat.amax(dim=1, keepdim=True) - low
    # A constant filter has range 0; dividing by 1 instead leaves its zeros.
    safe_range = torch.where(value_range > 0, value_range, torch.ones_like(value_range))
    return ((flat - low) / safe_range).reshape(weight.shape)


def _tile(tiles: Tensor, num_columns: int, padding: int, pad_value: float) -> Tensor:
    """Tile ``(N, k_h, k_w, D)`` into one ``(rows * (k_h + p) - p, cols * (k_w + p) - p, D)`` image."""
    count, tile_h, tile_w, depth = tiles.shape
    num_rows = math.ceil(count / num_columns)
    height = num_rows * (tile_h + padding) - padding
    width = num_columns * (tile_w + padding) - padding
    grid = torch.full((height, width, depth), pad_value, dtype=tiles.dtype)
    for index in range(count):
        row, column = divmod(index, num_columns)
        top, left = row * (tile_h + padding), column * (tile_w + padding)
        grid[top : top + tile_h, left : left + tile_w] = tiles[index]
    return grid


def filter_grid(weight: Tensor, *, num_columns: int = 8, padding: int = 1, pad_value: float = 1.0) -> Tensor:
    """Tile first-layer filters, each scaled on its own, into one image to draw.

    Args:
        weight: First-layer weights ``(C_out, C_in, k_h, k_w)`` with ``C_in`` 1 or 3.
        num_columns: Filters per row of the grid.
        padding: Pixels between filters.
        pad_value: Value of the padding, in [0, 1] (1 is white).

    Returns:
        A float image in [0, 1] on the CPU: ``(H, W)`` for grey filters, ``(H, W, 3)``
        for RGB, ready for ``matplotlib``'s ``imshow``.

    Raises:
        ValueError: If the weight is not 4-D or ``C_in`` is neither 1 nor 3
            (such kernels are not images; use
            [`kernel_slice_grid`][cvnotes.filters.kernel_slice_grid]).

    Examples:
        >>> filter_grid(torch.randn(6, 3, 5, 5), num_columns=3).shape
        torch.Size([11, 17, 3])
    """
    if weight.dim() != 4 or weight.shape[1] not in (1, 3):
        raise ValueError(
            f"invalid weight shape {tuple(weight.shape)}: filter_grid draws first-layer filters "
            "(C_out, 1 or 3, k_h, k_w); use kernel_slice_grid for deeper kernels"
        )
    if num_columns < 1 or padding < 0:
        raise ValueError(f"invalid num_columns {num_columns} or padding {padding}: need >= 1 and >= 0")
    tiles = scale_filters(weight.detach().cpu()).permute(0, 2, 3, 1)
    grid = _tile(tiles, num_columns, padding, pad_value)
    return grid[..., 0] if grid.shape[-1] == 1 else grid


def kernel_slice_grid(
    weight: Tensor,
    *,
    max_out: int = 8,
    max_in: int = 8,
    padding: int = 1,
    pad_value: float = float("nan"),
) -> Tensor:
    """Tile the single-channel slices of a deeper layer's kernels: filters by rows, input channels by columns.

    Each slice ``weight[o, i]`` is the ``k x k`` pattern that filter ``o`` applies
    to input feature map ``i``. The slices share one scale, symmetric around 0,
    so that signs and magnitudes can be compared (draw with a diverging colour
    map). Slices are weights on feature maps, not colours, which is why they
    read as noise-like patterns.

    Args:
        weight: Kernels ``(C_out, C_in, k_h, k_w)`` of any conv layer.
        max_out: Number of filters (rows) to show.
        max_in: Number of input channels (columns) to show.
        padding: Pixels between slices.
        pad_value: Value of the padding; NaN draws as the background in ``imshow``.

    Returns:
        ``(H, W)`` image in [-1, 1] on the CPU: the weights divided by the largest
        absolute weight in the grid (unchanged if all are 0).

    Examples:
        >>> kernel_slice_grid(torch.randn(16, 8, 3, 3), max_out=2, max_in=4).shape
        torch.Size([7, 15])
    """
    if weight.dim() != 4:
        raise ValueError(f"invalid weight shape {tuple(weight.shape)}: expected (C_out, C_in, k_h, k_w)")
    if max_out < 1 or max_in < 1:
        raise ValueError(f"invalid max_out {max_out} or max_in {max_in}: both must be >= 1")
    selected = weight.detach().cpu().to(torch.float32)[:max_out, :max_in]
    scale = selected.abs().max()
    if scale > 0:
        selected = selected / scale
    num_out, num_in = selected.shape[:2]
    tiles = selected.reshape(num_out * num_in, *selected.shape[2:], 1)
    return _tile(tiles, num_in, padding, pad_value)[..., 0]


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """Return the name and module of the first ``nn.Conv2d`` in ``model.named_modules()`` order.

    For networks defined in the order they run (torchvision's ResNet, VGG,
    ``nn.Sequential``), this is the layer whose input is the image.

    Raises:
        ValueError: If the model has no ``nn.Conv2d``.

    Examples:
        >>> first_conv(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3)))[0]
        '0'
    """
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer")
