r"""Focal loss and alpha-balanced cross-entropy, computed in log-space.

The focal loss of Lin, Goyal, Girshick, He and Dollár ("Focal Loss for Dense
Object Detection", ICCV 2017) scales the cross-entropy of each example by
$(1 - p_t)^\gamma$, so that well-classified examples ($p_t \to 1$) add almost
nothing and the hard ones dominate the total:

$$
\mathrm{FL}(p_t) = -\alpha_t \, (1 - p_t)^{\gamma} \log p_t .
$$

Every quantity here is derived from the logits with ``logsigmoid`` and
``log_softmax``; no function takes the log of a probability. The modulating
factor is computed as $\exp(\gamma \log(1 - p_t))$ with $\log(1 - p_t)$ itself
in log-space, so values and gradients stay finite for any finite logit and any
$\gamma \ge 0$, including $0 < \gamma < 1$ where the derivative of
$(1 - p_t)^\gamma$ is unbounded at $p_t = 1$.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Reduction",
    "SigmoidFocalLoss",
    "SoftmaxFocalLoss",
    "balanced_cross_entropy",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
]

Reduction = Literal["none", "mean", "sum"]
_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"invalid reduction {reduction!r}: use one of 'none', 'mean' or 'sum'")


def _check_gamma(gamma: float) -> None:
    if not math.isfinite(gamma) or gamma < 0:
        raise ValueError(f"invalid gamma {gamma!r}: the focusing parameter must be a finite number >= 0")


def _check_binary_alpha(alpha: float | None) -> float | None:
    """Return alpha, or None when weighting is off (alpha is None or -1)."""
    if alpha is None or alpha == -1:
        return None
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(
            f"invalid alpha {alpha!r}: use a value in [0, 1], or -1 (or None) to turn class weighting off"
        )
    return float(alpha)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def sigmoid_focal_loss(
    logits: Tensor,
    targets: Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: Reduction = "none",
) -> Tensor:
    r"""Compute the binary (sigmoid) focal loss of Lin et al., ICCV 2017.

    With $p = \sigma(x)$ and target $t$,
    $p_t = p\,t + (1 - p)(1 - t)$ and $\alpha_t = \alpha\,t + (1 - \alpha)(1 - t)$:

    $$
    \mathrm{FL} = \alpha_t \, (1 - p_t)^{\gamma} \,
    \bigl[-t \log p - (1 - t) \log(1 - p)\bigr].
    $$

    For $t \in \{0, 1\}$ the bracket is $-\log p_t$, the paper's form. Soft
    targets in $[0, 1]$ are accepted and follow the same expression, as in
    ``torchvision.ops.sigmoid_focal_loss``, which this function matches to
    1e-6 wherever torchvision's result is finite. Unlike torchvision, the
    factor $(1 - p_t)^\gamma$ is computed as
    $\exp(\gamma \log(1 - p_t))$ from log-sigmoids, so the gradient stays
    finite at saturated logits even for $0 < \gamma < 1$.

    Each logit is an independent binary decision: one output per class and
    anchor in RetinaNet, one per pixel in binary segmentation.

    Args:
        logits: Raw scores $x$ of any shape (before the sigmoid).
        targets: Same shape as ``logits``; 1 for positives, 0 for negatives,
            or soft labels in $[0, 1]$. Treated as constants.
        alpha: Weight $\alpha$ of the positive class; negatives get
            $1 - \alpha$. ``-1`` or ``None`` turns weighting off
            ($\alpha_t = 1$). The paper's default is 0.25.
        gamma: Focusing parameter $\gamma \ge 0$; ``0`` gives
            (alpha-balanced) binary cross-entropy. The paper's default is 2.
        reduction: ``"none"`` returns the per-element loss with the shape of
            ``logits``; ``"mean"`` averages it; ``"sum"`` adds it up.

    Returns:
        The loss in nats, per element or reduced.

    Raises:
        ValueError: If ``alpha`` is outside $[0, 1]$ and not ``-1``, if
            ``gamma`` is negative, if ``reduction`` is unknown, or if the
            shapes of ``logits`` and ``targets`` differ.

    Examples:
        >>> logits = torch.tensor([4.0, -4.0, 0.0])
        >>> targets = torch.tensor([1.0, 1.0, 0.0])
        >>> loss = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=2.0)
        >>> [round(value, 4) for value in loss.tolist()]
        [0.0, 3.8749, 0.1733]
    """
    weight = _check_binary_alpha(alpha)
    _check_gamma(gamma)
    _check_reduction(reduction)
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits and targets must have the same shape, got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    targets = targets.to(logits.dtype)

    log_p = F.logsigmoid(logits)
    log_one_minus_p = F.logsigmoid(-logits)
    cross_entropy = -(targets * log_p + (1 - targets) * log_one_minus_p)

    if gamma > 0:
        # log(1 - p_t) = log(t (1 - p) + (1 - t) p). torch.log(0) = -inf drops a
        # term of a hard target exactly, and logaddexp keeps the sum in log-space.
        log_one_minus_pt = torch.logaddexp(
            torch.log(targets) + log_one_minus_p,
            torch.log1p(-targets) + log_p,
        )
        loss = torch.exp(gamma * log_one_minus_pt) * cross_entropy
    else:
        # (1 - p_t) ** 0 is 1 even where p_t = 1, which exp(0 * -inf) is not.
        loss = cross_entropy

    if weight is not None:
        alpha_t = weight * targets + (1 - weight) * (1 - targets)
        loss = alpha_t * loss
    return _reduce(loss, reduction)


def balanced_cross_entropy(
    logits: Tensor,
    targets: Tensor,
    alpha: float | None = 0.25,
    reduction: Reduction = "none",
) -> Tensor:
    r"""Compute the alpha-balanced binary cross-entropy $-\alpha_t \log p_t$.

    This is the baseline of Lin et al. (ICCV 2017, section 3.1): it reweights
    positives against negatives but, unlike the focal loss, it cannot tell an
    easy example from a hard one. It equals [`sigmoid_focal_loss`][cvnotes.losses.sigmoid_focal_loss] with
    ``gamma=0``.

    Args:
        logits: Raw scores of any shape.
        targets: Same shape as ``logits``; labels or soft labels in $[0, 1]$.
        alpha: Weight of the positive class; ``-1`` or ``None`` turns
            weighting off, which gives plain binary cross-entropy.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        The loss in nats, per element or reduced.

    Raises:
        ValueError: On an invalid ``alpha``, ``reduction`` or shape.
    """
    return sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=0.0, reduction=reduction)


def _class_weights(
    alpha: float | Sequence[float] | Tensor | None,
    num_classes: int,
    like: Tensor,
) -> Tensor | None:
    if alpha is None:
        return None
    weights = torch.as_tensor(alpha, dtype=like.dtype, device=like.device)
    if weights.ndim == 0:
        weights = weights.expand(num_classes)
    if weights.shape != (num_classes,):
        raise ValueError(
            f"alpha must be a number or contain one weight per class ({num_classes}), "
            f"got shape {tuple(weights.shape)}"
        )
    _check_weight_values(weights)
    return weights


def _check_weight_values(weights: Tensor) -> None:
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError(f"invalid alpha {weights.tolist()}: class weights must be finite and >= 0")


def softmax_focal_loss(
    logits: Tensor,
    targets: Tensor,
    alpha: float | Sequence[float] | Tensor | None = None,
    gamma: float = 2.0,
    reduction: Reduction = "mean",
    ignore_index: int = -100,
) -> Tensor:
    r"""Compute the multi-class (softmax) focal loss with per-class weights.

    With $p = \operatorname{softmax}(x)$ over $C$ classes, target class $y$ and
    $p_t = p_y$:

    $$
    \mathrm{FL} = -\alpha_y \, (1 - p_t)^{\gamma} \log p_t .
    $$

    Lin et al. (ICCV 2017) use one sigmoid per class and note that the
    multi-class extension is straightforward. Use this softmax form when
    exactly one class is true per example (image classification, semantic
    segmentation). $\log p_t$ comes from ``log_softmax`` and
    $\log(1 - p_t)$ from a log-sum-exp over the other classes, so no step
    subtracts a probability from 1.

    With ``gamma=0`` the result equals
    ``torch.nn.functional.cross_entropy(logits, targets, weight=alpha,
    ignore_index=ignore_index, reduction=reduction)``; ``"mean"`` follows the
    same convention and divides by the sum of the weights $\alpha_y$ of the
    counted elements.

    Args:
        logits: Raw scores of shape $(N, C)$ or $(N, C, d_1, \ldots, d_k)$,
            the layout of ``torch.nn.functional.cross_entropy``; $C \ge 2$.
        targets: Class indices in $[0, C)$ of shape $(N)$ or
            $(N, d_1, \ldots, d_k)$.
        alpha: ``None`` for no weighting, one number for all classes, or a
            sequence / tensor of $C$ non-negative weights $\alpha_c$.
        gamma: Focusing parameter $\gamma \ge 0$.
        reduction: ``"none"`` returns the loss with the shape of ``targets``
            (0 at ignored elements), ``"mean"`` the weighted mean over counted
            elements, ``"sum"`` their sum.
        ignore_index: Target value that contributes neither loss nor
            gradient, as in ``cross_entropy``.

    Returns:
        The loss in nats, per element or reduced. A ``"mean"`` over no counted
        element is NaN, as for ``cross_entropy``.

    Raises:
        ValueError: On a negative ``gamma``, an unknown ``reduction``,
            weights that are negative, non-finite or of the wrong length,
            fewer than 2 classes, or targets whose shape does not match.
        IndexError: If a target (other than ``ignore_index``) is outside
            $[0, C)$.

    Examples:
        >>> logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 3.0]])
        >>> targets = torch.tensor([0, 1])
        >>> loss = softmax_focal_loss(logits, targets, gamma=2.0, reduction="none")
        >>> [round(value, 4) for value in loss.tolist()]
        [0.0041, 2.821]
    """
    _check_gamma(gamma)
    _check_reduction(reduction)
    if logits.ndim < 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, C, ...) with C >= 2 classes, got {tuple(logits.shape)}")
    expected_target_shape = (logits.shape[0], *logits.shape[2:])
    if tuple(targets.shape) != expected_target_shape:
        raise ValueError(
            f"targets must have shape {expected_target_shape} for logits of shape "
            f"{tuple(logits.shape)}, got {tuple(targets.shape)}"
        )
    num_classes = logits.shape[1]
    weights = _class_weights(alpha, num_classes, logits)

    targets = targets.long()
    counted = targets != ignore_index
    if bool(((targets[counted] < 0) | (targets[counted] >= num_classes)).any()):
        bad = targets[counted & ((targets < 0) | (targets >= num_classes))][0].item()
        raise IndexError(f"target {bad} is outside the class range [0, {num_classes})")
    # Ignored positions get class 0 so that gather stays in range. Their loss is zeroed below.
    safe_targets = torch.where(counted, targets, torch.zeros_like(targets)).unsqueeze(1)

    log_probs = F.log_softmax(logits, dim=1)
    log_pt = log_probs.gather(1, safe_targets).squeeze(1)
    loss = -log_pt

    if gamma > 0:
        # log(1 - p_t) = logsumexp of the other classes' log-probabilities,
        # which stays finite (C >= 2) where 1 - exp(log_pt) would round to 0.
        is_target = torch.zeros_like(log_probs, dtype=torch.bool).scatter_(1, safe_targets, True)
        log_one_minus_pt = torch.logsumexp(log_probs.masked_fill(is_target, -math.inf), dim=1)
        loss = torch.exp(gamma * log_one_minus_pt) * loss

    if weights is not None:
        alpha_t = weights[safe_targets.squeeze(1)]
    else:
        alpha_t = torch.ones_like(loss)
    alpha_t = alpha_t * counted
    loss = alpha_t * loss

    if reduction == "mean":
        return loss.sum() / alpha_t.sum()
    return _reduce(loss, reduction)


class SigmoidFocalLoss(nn.Module):
    """Module form of [`sigmoid_focal_loss`][cvnotes.losses.sigmoid_focal_loss] with fixed hyper-parameters.

    Like PyTorch's loss modules it averages by default. A dense detector such as
    RetinaNet instead sums the loss and divides by the number of positive anchors:
    use ``reduction="sum"`` and divide yourself.

    Args:
        alpha: Weight of the positive class, or ``-1`` / ``None`` for none.
        gamma: Focusing parameter, >= 0.
        reduction: ``"none"``, ``"mean"`` (default) or ``"sum"``.

    Examples:
        >>> criterion = SigmoidFocalLoss(alpha=0.25, gamma=2.0, reduction="sum")
        >>> loss = criterion(torch.zeros(4), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    """

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: Reduction = "mean") -> None:
        super().__init__()
        # Validate at construction so a bad setting fails before training starts.
        self.alpha = _check_binary_alpha(alpha)
        _check_gamma(gamma)
        _check_reduction(reduction)
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return sigmoid_focal_loss(logits, targets, self.alpha, self.gamma, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}, reduction={self.reduction!r}"


class SoftmaxFocalLoss(nn.Module):
    """Module form of [`softmax_focal_loss`][cvnotes.losses.softmax_focal_loss]; per-class weights are a buffer.

    Args:
        alpha: ``None``, one number, or one non-negative weight per class.
        gamma: Focusing parameter, >= 0.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        ignore_index: Target value that is skipped.
    """

    def __init__(
        self,
        alpha: float | Sequence[float] | Tensor | None = None,
        gamma: float = 2.0,
        reduction: Reduction = "mean",
        ignore_index: int = -100,
    ) -> None:
        super().__init__()
        _check_gamma(gamma)
        _check_reduction(reduction)
        weights = None
        if alpha is not None:
            # Check the values now; the number of weights is checked against C on the first call.
            weights = torch.as_tensor(alpha, dtype=torch.float32)
            _check_weight_values(weights)
        self.register_buffer("alpha", weights)
        self.gamma = gamma
        self.reduction = reduction
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return softmax_focal_loss(logits, targets, self.alpha, self.gamma, self.reduction, self.ignore_index)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, reduction={self.reduction!r}, ignore_index={self.ignore_index}"
