r"""Keypoint-based detection: corner and centre pooling, heatmap targets, CenterNet decoding.

Three papers share the ideas in this module, and two of them are both called
"CenterNet". They are different models:

- **CornerNet** (Law & Deng, ECCV 2018) predicts a box as a pair of corners.
  One heatmap per class marks top-left corners, another bottom-right corners,
  and an embedding per corner decides which two corners belong together.
  *Corner pooling* lets a corner, which usually lies outside the object, see
  the object's edges.
- **CenterNet: Keypoint Triplets** (Duan et al., ICCV 2019) keeps CornerNet's
  corner pairs and adds a third keypoint, the centre. *Centre pooling* feeds
  the centre heatmap, and a box survives only if a centre keypoint of its
  class falls in the box's central region. The box is still defined by its
  two corners.
- **Objects as Points** (Zhou, Wang & Krähenbühl, arXiv 2019), whose code is
  also named CenterNet, drops corners altogether. An object is the peak of a
  class heatmap at its centre; a size head and an offset head at that peak
  give the box. Decoding needs no grouping and no NMS, only a 3 x 3 max-pool.

Heatmap targets of all three are penalty-reduced Gaussians: 1 at the
keypoint, decaying around it, so the focal-loss variant of CornerNet
penalises near misses less than far ones.

Coordinates: a heatmap cell ``(row, column)`` is ``(y, x)``; boxes are
``(x1, y1, x2, y2)`` in the same units as the heatmap unless a ``stride``
scales them to input pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "Detections",
    "center_keypoint_check",
    "center_pool",
    "central_region",
    "corner_pool_bottom_right",
    "corner_pool_top_left",
    "decode_centernet",
    "draw_gaussian",
    "gaussian_radius",
    "heatmap_peaks",
    "penalty_reduced_focal_loss",
]


def _check_feature_map(name: str, tensor: Tensor) -> None:
    if tensor.ndim < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions (..., H, W), got shape {tuple(tensor.shape)}"
        )


def _pooling_inputs(vertical: Tensor, horizontal: Tensor | None) -> tuple[Tensor, Tensor]:
    """Check the two maps of a pooling and use ``vertical`` for both when ``horizontal`` is ``None``."""
    horizontal = vertical if horizontal is None else horizontal
    _check_feature_map("vertical", vertical)
    if horizontal.shape != vertical.shape:
        raise ValueError(
            f"vertical and horizontal must have the same shape, got {tuple(vertical.shape)} "
            f"and {tuple(horizontal.shape)}"
        )
    return vertical, horizontal


def _reverse_cummax(tensor: Tensor, dim: int) -> Tensor:
    """Return the running maximum taken from the end of ``dim`` towards its start."""
    return torch.flip(torch.cummax(torch.flip(tensor, (dim,)), dim).values, (dim,))


def corner_pool_top_left(vertical: Tensor, horizontal: Tensor | None = None) -> Tensor:
    r"""Apply CornerNet's top-left corner pooling (Law & Deng, ECCV 2018).

    A top-left corner usually lies outside its object, so no local evidence
    marks it. Corner pooling brings the object's evidence to it. Each cell
    takes the maximum of ``vertical`` over the cells **below** it in its
    column and the maximum of ``horizontal`` over the cells to its **right**
    in its row, and adds the two:

    $$
    \mathrm{out}_{ij} = \max_{k \ge i} t_{kj} + \max_{k \ge j} l_{ik}.
    $$

    Args:
        vertical: Feature map $t$ of shape ``(..., H, W)``, scanned upwards.
        horizontal: Feature map $l$ of the same shape, scanned leftwards.
            ``None`` uses ``vertical`` for both, as in the figures.

    Returns:
        The pooled map, same shape as the inputs.

    Raises:
        ValueError: If an input has fewer than 2 dimensions or the shapes differ.

    Examples:
        >>> features = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
        >>> corner_pool_top_left(features)
        tensor([[3., 2.],
                [4., 0.]])
    """
    vertical, horizontal = _pooling_inputs(vertical, horizontal)
    return _reverse_cummax(vertical, -2) + _reverse_cummax(horizontal, -1)


def corner_pool_bottom_right(vertical: Tensor, horizontal: Tensor | None = None) -> Tensor:
    r"""Apply CornerNet's bottom-right corner pooling, the mirror of the top-left one.

    Each cell takes the maximum of ``vertical`` over the cells **above** it
    and the maximum of ``horizontal`` over the cells to its **left**:

    $$
    \mathrm{out}_{ij} = \max_{k \le i} b_{kj} + \max_{k \le j} r_{ik}.
    $$

    Args:
        vertical: Feature map of shape ``(..., H, W)``, scanned downwards.
        horizontal: Feature map of the same shape, scanned rightwards; ``None``
            uses ``vertical`` for both.

    Returns:
        The pooled map, same shape as the inputs.

    Raises:
        ValueError: If an input has fewer than 2 dimensions or the shapes differ.

    Examples:
        >>> features = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
        >>> corner_pool_bottom_right(features)
        tensor([[0., 2.],
                [4., 3.]])
    """
    vertical, horizontal = _pooling_inputs(vertical, horizontal)
    return torch.cummax(vertical, -2).values + torch.cummax(horizontal, -1).values


def center_pool(vertical: Tensor, horizontal: Tensor | None = None) -> Tensor:
    r"""Apply the centre pooling of CenterNet: Keypoint Triplets (Duan et al., ICCV 2019).

    The centre of an object need not be its most distinctive part. Centre
    pooling adds the maximum over the cell's whole column and the maximum over
    its whole row, so a centre cell receives the strongest evidence in both
    directions:

    $$
    \mathrm{out}_{ij} = \max_{k} v_{kj} + \max_{k} h_{ik}.
    $$

    Args:
        vertical: Feature map of shape ``(..., H, W)``, pooled along columns.
        horizontal: Feature map of the same shape, pooled along rows; ``None``
            uses ``vertical`` for both.

    Returns:
        The pooled map, same shape as the inputs.

    Raises:
        ValueError: If an input has fewer than 2 dimensions or the shapes differ.

    Examples:
        >>> features = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
        >>> center_pool(features)
        tensor([[3., 2.],
                [4., 3.]])
    """
    vertical, horizontal = _pooling_inputs(vertical, horizontal)
    column_max = vertical.amax(dim=-2, keepdim=True).expand_as(vertical)
    row_max = horizontal.amax(dim=-1, keepdim=True).expand_as(horizontal)
    return column_max + row_max


def gaussian_radius(height: float, width: float, min_overlap: float = 0.3) -> float:
    r"""Return the largest corner shift that keeps a box's IoU with the original above ``min_overlap``.

    CornerNet (Law & Deng, ECCV 2018) sets the radius of each Gaussian so that
    any pair of corners inside the radii still gives a box with IoU of at
    least ``min_overlap`` with the ground truth (the paper sets $t = 0.3$). Moving each
    corner by $r$ in both axes gives three worst cases, each a quadratic in
    $r$; the radius is the smallest of their admissible roots
    ($t$ = ``min_overlap``, $w$, $h$ the box size):

    - both corners inward: $(w - 2r)(h - 2r) \ge t\,wh$;
    - both corners outward: $wh \ge t\,(w + 2r)(h + 2r)$;
    - both moved the same way: $\frac{I}{2wh - I} \ge t$ with $I = (w - r)(h - r)$.

    The roots are derived here from these conditions.

    Args:
        height: Box height, in heatmap cells (> 0).
        width: Box width, in heatmap cells (> 0).
        min_overlap: Required IoU $t$ in (0, 1).

    Returns:
        The radius $r \ge 0$ in heatmap cells, not rounded.

    Raises:
        ValueError: If a size is not positive or ``min_overlap`` is outside (0, 1).

    Examples:
        >>> round(gaussian_radius(20.0, 20.0), 3)
        4.523
        >>> round(gaussian_radius(20.0, 20.0, min_overlap=0.7), 3)
        1.633
    """
    if not (height > 0 and width > 0):
        raise ValueError(f"box height and width must be > 0, got height={height!r}, width={width!r}")
    if not 0.0 < min_overlap < 1.0:
        raise ValueError(f"invalid min_overlap {min_overlap!r}: use an IoU in (0, 1)")
    t = min_overlap
    total, area = height + width, height * width

    inward = (total - math.sqrt(total**2 - 4 * (1 - t) * area)) / 4
    outward = (-t * total + math.sqrt((t * total) ** 2 + 4 * t * (1 - t) * area)) / (4 * t)
    same_way = (total - math.sqrt(total**2 - 4 * area * (1 - t) / (1 + t))) / 2
    return max(0.0, min(inward, outward, same_way))


def draw_gaussian(heatmap: Tensor, center: tuple[float, float], radius: float) -> Tensor:
    r"""Draw a penalty-reduced Gaussian peak into ``heatmap`` in place, keeping the maximum.

    The peak sits at the integer cell $\tilde p = \lfloor p \rfloor$ of the
    keypoint $p = (x, y)$ given in heatmap cells, and

    $$
    Y_{yx} = \exp\Bigl(-\frac{(x - \tilde p_x)^2 + (y - \tilde p_y)^2}{2\sigma^2}\Bigr),
    \qquad \sigma = \frac{2r + 1}{6},
    $$

    with $r = \lfloor \text{radius} \rfloor$. CornerNet states $\sigma = r/3$;
    the extra 1/6 keeps a one-cell peak when the radius rounds to 0. Where
    two objects of a class overlap, each cell keeps the larger value, as in
    Objects as Points (Zhou et al., 2019). The Gaussian is evaluated on the
    whole map, without a cut-off window.

    Args:
        heatmap: Map of one class, shape ``(H, W)``, modified in place.
        center: Keypoint ``(x, y)`` in heatmap cells; the fractional part is what
            the offset head learns.
        radius: Radius in cells, e.g. from [`gaussian_radius`][cvnotes.keypoints.gaussian_radius].

    Returns:
        ``heatmap``, for chaining.

    Raises:
        ValueError: If ``heatmap`` is not 2-D, the centre is outside it, or the radius is negative.

    Examples:
        >>> heatmap = draw_gaussian(torch.zeros(5, 5), (2.6, 1.2), radius=1.0)
        >>> heatmap[1, 2].item(), round(heatmap[1, 3].item(), 3)
        (1.0, 0.135)
    """
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be 2-D (H, W), got shape {tuple(heatmap.shape)}")
    if radius < 0:
        raise ValueError(f"invalid radius {radius!r}: use a value >= 0")
    height, width = heatmap.shape
    x, y = center
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"centre {center!r} lies outside the heatmap of size (H={height}, W={width})")
    peak_x, peak_y = math.floor(x), math.floor(y)
    sigma = (2 * math.floor(radius) + 1) / 6

    ys = torch.arange(height, dtype=heatmap.dtype, device=heatmap.device).unsqueeze(1)
    xs = torch.arange(width, dtype=heatmap.dtype, device=heatmap.device).unsqueeze(0)
    gaussian = torch.exp(-((xs - peak_x) ** 2 + (ys - peak_y) ** 2) / (2 * sigma**2))
    torch.maximum(heatmap, gaussian, out=heatmap)
    return heatmap


def penalty_reduced_focal_loss(
    logits: Tensor, targets: Tensor, alpha: float = 2.0, beta: float = 4.0
) -> Tensor:
    r"""Compute the heatmap focal loss of CornerNet and Objects as Points.

    With $p = \sigma(x)$ and Gaussian targets $y$ (exactly 1 at keypoints),

    $$
    L = -\frac{1}{N}\sum_{cij}
    \begin{cases}
      (1 - p)^{\alpha} \log p & y = 1, \\
      (1 - y)^{\beta} \, p^{\alpha} \log(1 - p) & \text{otherwise,}
    \end{cases}
    $$

    where $N$ is the number of keypoints. The factor $(1 - y)^\beta$ is the
    penalty reduction: a negative cell next to a keypoint (large $y$) costs
    little if it fires. Law & Deng (ECCV 2018) use $\alpha = 2$, $\beta = 4$.
    Logs come from ``logsigmoid`` so saturated logits stay finite.

    Args:
        logits: Raw heatmap scores, any shape, e.g. ``(N, C, H, W)``.
        targets: Gaussian targets in $[0, 1]$, same shape; cells equal to 1 are keypoints.
        alpha: Focusing exponent $\alpha \ge 0$.
        beta: Penalty-reduction exponent $\beta \ge 0$.

    Returns:
        Scalar loss in nats, divided by the number of keypoints (by 1 if there are none).

    Raises:
        ValueError: If the shapes differ or an exponent is negative.

    Examples:
        >>> targets = torch.tensor([[0.0, 0.5, 1.0]])
        >>> round(penalty_reduced_focal_loss(torch.tensor([[-4.0, 0.0, 4.0]]), targets).item(), 4)
        0.0108
    """
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits and targets must have the same shape, got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    if alpha < 0 or beta < 0:
        raise ValueError(f"alpha and beta must be >= 0, got alpha={alpha!r}, beta={beta!r}")
    targets = targets.to(logits.dtype)
    positive = targets == 1
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)

    positive_loss = torch.exp(alpha * log_not_p) * log_p
    negative_loss = (1 - targets) ** beta * torch.exp(alpha * log_p) * log_not_p
    loss = torch.where(positive, positive_loss, negative_loss)
    num_keypoints = max(int(positive.sum()), 1)
    return -loss.sum() / num_keypoints


def heatmap_peaks(
    heatmap: Tensor, k: int = 100, kernel_size: int = 3
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Find the top-``k`` local maxima of a class heatmap, as in Objects as Points.

    A cell is a peak when it equals the maximum of its
    ``kernel_size`` x ``kernel_size`` neighbourhood, which a max-pool with
    stride 1 computes for all cells at once. This replaces NMS. The test is
    an equality, so **equal neighbouring values are all kept**: a plateau of
    two cells with the same score gives two peaks, each reported once. The
    top ``k`` are then chosen jointly over classes and positions
    (``C * H * W`` candidates), highest score first. Among equal scores the
    order follows ``torch.topk`` and is not specified.

    Args:
        heatmap: Scores in $[0, 1]$ (after the sigmoid), shape ``(C, H, W)``.
        k: Number of peaks to return; capped at ``C * H * W``.
        kernel_size: Odd side of the max-pool window; 3 in the paper.

    Returns:
        ``(scores, classes, rows, columns)``, each of shape ``(k,)``. Cells that
        are not peaks have score 0, so they come last and can be dropped with
        a threshold.

    Raises:
        ValueError: If ``heatmap`` is not 3-D, ``k`` < 1 or ``kernel_size`` is not a positive odd number.

    Examples:
        >>> heatmap = torch.zeros(2, 4, 4)
        >>> heatmap[1, 2, 3] = 0.9
        >>> scores, classes, rows, columns = heatmap_peaks(heatmap, k=1)
        >>> round(scores.item(), 2), classes.item(), rows.item(), columns.item()
        (0.9, 1, 2, 3)
    """
    if heatmap.ndim != 3:
        raise ValueError(f"heatmap must have shape (C, H, W), got {tuple(heatmap.shape)}")
    if k < 1:
        raise ValueError(f"invalid k {k!r}: use k >= 1")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"invalid kernel_size {kernel_size!r}: use a positive odd number such as 3")
    num_classes, height, width = heatmap.shape

    neighbourhood_max = F.max_pool2d(
        heatmap.unsqueeze(0), kernel_size, stride=1, padding=kernel_size // 2
    ).squeeze(0)
    peaks = heatmap * (heatmap == neighbourhood_max)

    k = min(k, num_classes * height * width)
    scores, indices = torch.topk(peaks.reshape(-1), k)
    classes = torch.div(indices, height * width, rounding_mode="floor")
    positions = indices % (height * width)
    rows = torch.div(positions, width, rounding_mode="floor")
    columns = positions % width
    return scores, classes, rows, columns


@dataclass(frozen=True)
class Detections:
    """Boxes decoded from heatmaps.

    Attributes:
        boxes: ``(K, 4)`` boxes ``(x1, y1, x2, y2)`` in input pixels (heatmap cells times the stride).
        scores: ``(K,)`` peak scores.
        classes: ``(K,)`` class indices.
        centers: ``(K, 2)`` sub-cell centres ``(x, y)`` in heatmap cells (peak cell plus offset).
    """

    boxes: Tensor
    scores: Tensor
    classes: Tensor
    centers: Tensor

    def above(self, threshold: float) -> Detections:
        """Return the detections whose score exceeds ``threshold``."""
        keep = self.scores > threshold
        return Detections(self.boxes[keep], self.scores[keep], self.classes[keep], self.centers[keep])


def decode_centernet(
    heatmap: Tensor,
    size: Tensor,
    offset: Tensor,
    *,
    k: int = 100,
    stride: float = 4.0,
    kernel_size: int = 3,
) -> Detections:
    r"""Decode the three heads of Objects as Points (Zhou, Wang & Krähenbühl, 2019) into boxes.

    1. Peaks: [`heatmap_peaks`][cvnotes.keypoints.heatmap_peaks] keeps cells equal
       to their 3 x 3 max-pool (equal neighbours all survive) and takes the
       top ``k`` over classes and positions.
    2. At each peak $(\hat x, \hat y)$ the offset head gives the sub-cell shift
       $(\delta\hat x, \delta\hat y)$ lost by the stride, and the size head the
       box size $(\hat w, \hat h)$, both in heatmap cells.
    3. The box, scaled by the stride $R$ to input pixels, is

    $$
    R\,\bigl(\hat x + \delta\hat x - \tfrac{\hat w}{2},\;
    \hat y + \delta\hat y - \tfrac{\hat h}{2},\;
    \hat x + \delta\hat x + \tfrac{\hat w}{2},\;
    \hat y + \delta\hat y + \tfrac{\hat h}{2}\bigr).
    $$

    The size and offset heads are shared by all classes. No NMS follows.

    Args:
        heatmap: Class scores after the sigmoid, ``(C, H, W)``.
        size: Box width and height in heatmap cells, ``(2, H, W)`` (channel 0 is the width).
        offset: Sub-cell offsets ``(2, H, W)`` (channel 0 is x), usually in ``[0, 1)``.
        k: Number of boxes returned.
        stride: Output stride $R$ of the network (4 in the paper).
        kernel_size: Max-pool window for the peak test.

    Returns:
        [`Detections`][cvnotes.keypoints.Detections] sorted by score, ``k`` of them;
        filter with ``.above(threshold)``.

    Raises:
        ValueError: If the shapes do not match ``(C, H, W)``, ``(2, H, W)``, ``(2, H, W)``.

    Examples:
        >>> heatmap = torch.zeros(1, 8, 8)
        >>> heatmap[0, 4, 2] = 0.8
        >>> size = torch.full((2, 8, 8), 2.0)
        >>> offset = torch.full((2, 8, 8), 0.5)
        >>> decode_centernet(heatmap, size, offset, k=1, stride=4).boxes
        tensor([[ 6., 14., 14., 22.]])
    """
    if heatmap.ndim != 3:
        raise ValueError(f"heatmap must have shape (C, H, W), got {tuple(heatmap.shape)}")
    spatial = tuple(heatmap.shape[-2:])
    for name, head in (("size", size), ("offset", offset)):
        if head.shape != (2, *spatial):
            raise ValueError(
                f"{name} must have shape (2, {spatial[0]}, {spatial[1]}), got {tuple(head.shape)}"
            )

    scores, classes, rows, columns = heatmap_peaks(heatmap, k=k, kernel_size=kernel_size)
    center_x = columns.to(heatmap.dtype) + offset[0, rows, columns]
    center_y = rows.to(heatmap.dtype) + offset[1, rows, columns]
    half_width = size[0, rows, columns] / 2
    half_height = size[1, rows, columns] / 2
    boxes = torch.stack(
        [center_x - half_width, center_y - half_height, center_x + half_width, center_y + half_height], dim=1
    )
    return Detections(
        boxes=boxes * stride,
        scores=scores,
        classes=classes,
        centers=torch.stack([center_x, center_y], dim=1),
    )


def central_region(boxes: Tensor, n: int = 3) -> Tensor:
    r"""Return the central region of each box used by CenterNet: Keypoint Triplets.

    Duan et al. (ICCV 2019) define the central region as the box scaled by
    $1/n$ about its centre:

    $$
    c_{x_1} = \frac{(n + 1)\,x_1 + (n - 1)\,x_2}{2n}, \quad
    c_{x_2} = \frac{(n - 1)\,x_1 + (n + 1)\,x_2}{2n},
    $$

    and the same for $y$. The paper uses $n = 3$ for boxes smaller than 150
    pixels and $n = 5$ for larger ones, so large boxes get a relatively
    smaller region.

    Args:
        boxes: ``(K, 4)`` boxes ``(x1, y1, x2, y2)``.
        n: Odd integer >= 1; the region's side is $1/n$ of the box side.

    Returns:
        ``(K, 4)`` central regions in the same units.

    Raises:
        ValueError: If ``boxes`` is not ``(K, 4)`` or ``n`` < 1.

    Examples:
        >>> central_region(torch.tensor([[0.0, 0.0, 9.0, 6.0]]), n=3)
        tensor([[3., 2., 6., 4.]])
    """
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (K, 4), got {tuple(boxes.shape)}")
    if n < 1:
        raise ValueError(f"invalid n {n!r}: use an integer >= 1 (3 or 5 in the paper)")
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    return torch.stack(
        [
            ((n + 1) * x1 + (n - 1) * x2) / (2 * n),
            ((n + 1) * y1 + (n - 1) * y2) / (2 * n),
            ((n - 1) * x1 + (n + 1) * x2) / (2 * n),
            ((n - 1) * y1 + (n + 1) * y2) / (2 * n),
        ],
        dim=1,
    )


def center_keypoint_check(
    boxes: Tensor,
    box_classes: Tensor,
    corner_scores: Tensor,
    centers: Tensor,
    center_classes: Tensor,
    center_scores: Tensor,
    *,
    n: int = 3,
) -> tuple[Tensor, Tensor]:
    r"""Keep the corner-pair boxes that a centre keypoint confirms (Duan et al., ICCV 2019).

    A box built from two corners is kept only if some centre keypoint of the
    same class lies inside its [`central_region`][cvnotes.keypoints.central_region].
    A kept box gets the mean of its two corner scores and the best such centre
    score, $(s_{tl} + s_{br} + s_{c}) / 3$. A box made of one object's
    top-left corner and another object's bottom-right corner has its centre on
    neither object, so it finds no centre keypoint and is rejected.

    Args:
        boxes: ``(K, 4)`` boxes ``(x1, y1, x2, y2)`` from corner pairs.
        box_classes: ``(K,)`` class of each box.
        corner_scores: ``(K, 2)`` scores of the top-left and bottom-right corner.
        centers: ``(M, 2)`` centre keypoints ``(x, y)`` in the units of ``boxes``.
        center_classes: ``(M,)`` class of each centre keypoint.
        center_scores: ``(M,)`` score of each centre keypoint.
        n: Central-region scale, see [`central_region`][cvnotes.keypoints.central_region].

    Returns:
        ``(keep, scores)``: a ``(K,)`` bool mask and the ``(K,)`` triplet scores
        (0 for rejected boxes).

    Raises:
        ValueError: If the shapes are inconsistent.

    Examples:
        >>> boxes = torch.tensor([[0.0, 0.0, 9.0, 9.0]])
        >>> keep, scores = center_keypoint_check(
        ...     boxes, torch.tensor([0]), torch.tensor([[0.6, 0.9]]),
        ...     torch.tensor([[4.0, 5.0]]), torch.tensor([0]), torch.tensor([0.3]))
        >>> keep.tolist(), round(scores.item(), 2)
        ([True], 0.6)
    """
    num_boxes = boxes.shape[0]
    if box_classes.shape != (num_boxes,) or corner_scores.shape != (num_boxes, 2):
        raise ValueError(
            f"box_classes must be ({num_boxes},) and corner_scores ({num_boxes}, 2), got "
            f"{tuple(box_classes.shape)} and {tuple(corner_scores.shape)}"
        )
    num_centers = centers.shape[0]
    if (
        centers.shape != (num_centers, 2)
        or center_classes.shape != (num_centers,)
        or center_scores.shape != (num_centers,)
    ):
        raise ValueError(
            "centers must be (M, 2) with center_classes and center_scores of shape (M,), got "
            f"{tuple(centers.shape)}, {tuple(center_classes.shape)}, {tuple(center_scores.shape)}"
        )
    regions = central_region(boxes, n=n)

    # inside[b, m]: centre m has the class of box b and lies in its central region (borders included).
    x, y = centers[:, 0].unsqueeze(0), centers[:, 1].unsqueeze(0)
    inside = (
        (x >= regions[:, 0:1])
        & (x <= regions[:, 2:3])
        & (y >= regions[:, 1:2])
        & (y <= regions[:, 3:4])
        & (box_classes.unsqueeze(1) == center_classes.unsqueeze(0))
    )
    keep = inside.any(dim=1)
    best_center = torch.where(
        inside, center_scores.unsqueeze(0), torch.zeros_like(inside, dtype=center_scores.dtype)
    )
    best_center = best_center.amax(dim=1) if num_centers else torch.zeros(num_boxes)
    scores = torch.where(keep, (corner_scores.sum(dim=1) + best_center) / 3, torch.zeros_like(best_center))
    return keep, scores
