r"""Occlusion sensitivity: cover part of the image and watch the class probability.

Zeiler and Fergus ("Visualizing and Understanding Convolutional Networks",
ECCV 2014) slide a grey square over the image and record, for each position,
the probability of the correct class. Where the probability falls, the model
used that part of the image as evidence for the class.

[`occlusion_sensitivity`][cvnotes.occlusion.occlusion_sensitivity] returns two
maps per image. With $p$ the softmax probability of the target class, $x$ the
image and $x_{\setminus w}$ the image with window $w$ replaced by the baseline,
and $W(i, j)$ the windows that cover pixel $(i, j)$:

$$
P(i, j) = \frac{1}{|W(i, j)|} \sum_{w \in W(i, j)} p(x_{\setminus w}), \qquad
D(i, j) = p(x) - P(i, j).
$$

The probability map $P$ is what Zeiler and Fergus draw. The drop map $D$ uses
the sign convention of this package: **positive** where covering the pixel
lowers the probability (evidence for the class), **negative** where covering it
raises the probability (the pixel counted against the class).

How this relates to captum's ``Occlusion`` (captum 0.9): captum reports the
output difference $f(x) - f(x_{\setminus w})$ averaged over the windows that
cover each input element, which is $D$ when $f$ is the target's softmax
probability. captum starts windows at multiples of the stride and crops the
last one at the border when the stride does not divide ``size - window``. Here
the last window is moved back inside the image instead, so every window covers
the same area. The two agree exactly when the stride divides ``size - window``
(the tests check this to 1e-6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from cvnotes._targets import TargetLike, resolve_targets

__all__ = ["OcclusionResult", "normalized_fill", "occlusion_sensitivity", "window_starts"]


def normalized_fill(value: float, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    r"""Return the model-space value of a uniform colour ``value``, one number per channel.

    Under the normalisation $(x - \mu) / \sigma$, black (``value=0`` in [0, 1]
    pixel units) becomes $-\mu / \sigma$ and mid grey (``value=0.5``) becomes
    $(0.5 - \mu) / \sigma$. A baseline of 0 in model space
    is the data set's mean colour, not black.

    Args:
        value: Pixel value in [0, 1] (0 black, 0.5 mid grey, 1 white).
        mean: Per-channel mean $\mu$ of the normalisation.
        std: Per-channel standard deviation $\sigma$, all > 0.

    Returns:
        Tensor of shape ``(C, 1, 1)``, to pass as ``baseline``.

    Examples:
        >>> normalized_fill(0.0, mean=[0.5], std=[0.25]).flatten()
        tensor([-2.])
    """
    mean_tensor = torch.as_tensor(mean, dtype=torch.float32)
    std_tensor = torch.as_tensor(std, dtype=torch.float32)
    if mean_tensor.shape != std_tensor.shape or mean_tensor.dim() != 1:
        raise ValueError(
            f"invalid mean {list(mean)} and std {list(std)}: pass one number per channel for each"
        )
    if bool((std_tensor <= 0).any()):
        raise ValueError(f"invalid std {list(std)}: every standard deviation must be > 0")
    return ((value - mean_tensor) / std_tensor)[:, None, None]


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Return the start offsets of the windows along one axis, covering every pixel.

    Windows start at ``0, stride, 2 * stride, ...``. When the stride does not
    reach ``size - window`` exactly, one last window starts at ``size - window``,
    so the border pixels are covered by a full window too.

    Examples:
        >>> window_starts(10, 4, 3)
        [0, 3, 6]
        >>> window_starts(10, 4, 4)
        [0, 4, 6]
    """
    if not 1 <= window <= size:
        raise ValueError(f"invalid window {window}: it must be between 1 and the image size {size}")
    if stride < 1:
        raise ValueError(f"invalid stride {stride}: it must be >= 1")
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f"invalid {name} {value!r}: pass an int or a pair (height, width)")
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class OcclusionResult:
    """Occlusion maps of a batch.

    Attributes:
        probability: $P$, the mean probability of the target class over the
            windows covering each pixel, shape ``(B, H, W)``.
        drop: $D = p(x) - P$, shape ``(B, H, W)``: positive where covering the
            pixel lowers the probability.
        base_probability: $p(x)$ of the unoccluded images, shape ``(B,)``.
        target: The class of each image, shape ``(B,)``.
        num_windows: How many occluded images were evaluated per input image.
    """

    probability: Tensor
    drop: Tensor
    base_probability: Tensor
    target: Tensor
    num_windows: int


@torch.no_grad()
def occlusion_sensitivity(
    model: nn.Module,
    inputs: Tensor,
    target: TargetLike = None,
    *,
    window: int | tuple[int, int],
    stride: int | tuple[int, int],
    baseline: float | Tensor = 0.0,
    batch_size: int = 64,
) -> OcclusionResult:
    """Slide an occluding window over each image and map the target class's probability.

    Window, stride and baseline are in the model's input space: pixels of the
    tensor the model receives, after any normalisation. A baseline of ``0.0``
    is therefore the data set's mean colour for a normalised model. To occlude
    with black or grey, pass ``normalized_fill(0.0, mean, std)`` or
    ``normalized_fill(0.5, mean, std)`` (see
    [`normalized_fill`][cvnotes.occlusion.normalized_fill]). The window covers all
    channels.

    Args:
        model: A classifier returning logits ``(B, num_classes)``; the softmax is
            taken here. Call ``model.eval()`` first.
        inputs: Images as the model takes them, ``(B, C, H, W)`` or ``(C, H, W)``.
        target: One class for all images, one per image, or ``None`` for each
            image's top class.
        window: Window height and width in pixels (an int for a square).
        stride: Step between window positions in pixels, at most the window size
            so that no pixel is skipped.
        baseline: The value written into the window: a number, or a tensor that
            broadcasts to ``(C, H, W)`` (such as ``(C, 1, 1)`` per channel).
        batch_size: How many occluded images go through the model in one
            forward pass.

    Returns:
        An [`OcclusionResult`][cvnotes.occlusion.OcclusionResult] with the
        probability map, the drop map and the unoccluded probability.

    Raises:
        ValueError: If a shape, window, stride, target or batch size is invalid.

    Examples:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2)).eval()
        >>> result = occlusion_sensitivity(model, torch.rand(1, 1, 4, 4), window=2, stride=1)
        >>> tuple(result.probability.shape), result.num_windows
        ((1, 4, 4), 9)
    """
    if inputs.dim() == 3:
        inputs = inputs.unsqueeze(0)
    if inputs.dim() != 4:
        raise ValueError(f"invalid inputs shape {tuple(inputs.shape)}: expected (B, C, H, W) or (C, H, W)")
    if batch_size < 1:
        raise ValueError(f"invalid batch_size {batch_size}: it must be >= 1")
    window_h, window_w = _pair(window, "window")
    stride_h, stride_w = _pair(stride, "stride")
    if stride_h > window_h or stride_w > window_w:
        raise ValueError(
            f"invalid stride {(stride_h, stride_w)} for window {(window_h, window_w)}: "
            "a stride larger than the window leaves pixels uncovered"
        )
    _, channels, height, width = inputs.shape
    fill = torch.as_tensor(baseline, dtype=inputs.dtype, device=inputs.device)
    try:
        fill = fill.expand(channels, height, width)
    except RuntimeError as exc:
        raise ValueError(
            f"invalid baseline shape {tuple(fill.shape)}: it must broadcast to (C, H, W) = "
            f"{(channels, height, width)}"
        ) from exc
    positions = [
        (top, left)
        for top in window_starts(height, window_h, stride_h)
        for left in window_starts(width, window_w, stride_w)
    ]

    base_probabilities = model(inputs).softmax(dim=1)
    if base_probabilities.dim() != 2 or base_probabilities.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"invalid model output shape {tuple(base_probabilities.shape)}: expected logits (B, num_classes)"
        )
    classes = resolve_targets(target, base_probabilities)
    base = base_probabilities.gather(1, classes[:, None])[:, 0]

    # Coverage counts are the same for every image; every count is >= 1 because the
    # last window on each axis ends at the border.
    counts = torch.zeros(height, width, dtype=inputs.dtype, device=inputs.device)
    for top, left in positions:
        counts[top : top + window_h, left : left + window_w] += 1

    probability_maps = []
    for image, label in zip(inputs, classes.tolist(), strict=True):
        summed = torch.zeros(height, width, dtype=inputs.dtype, device=inputs.device)
        for first in range(0, len(positions), batch_size):
            chunk = positions[first : first + batch_size]
            occluded = image.expand(len(chunk), -1, -1, -1).clone()
            for index, (top, left) in enumerate(chunk):
                rows, cols = slice(top, top + window_h), slice(left, left + window_w)
                occluded[index, :, rows, cols] = fill[:, rows, cols]
            probabilities = model(occluded).softmax(dim=1)[:, label]
            for probability, (top, left) in zip(probabilities, chunk, strict=True):
                summed[top : top + window_h, left : left + window_w] += probability
        probability_maps.append(summed / counts)

    probability = torch.stack(probability_maps)
    return OcclusionResult(
        probability=probability,
        drop=base[:, None, None] - probability,
        base_probability=base,
        target=classes,
        num_windows=len(positions),
    )
