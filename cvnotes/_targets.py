"""Choice of the explained class, shared by the attribution methods."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

TargetLike = int | Sequence[int] | Tensor | None


def resolve_targets(target: TargetLike, scores: Tensor) -> Tensor:
    """Return one class index per image: ``target`` checked and expanded, or the top-scoring class.

    Args:
        target: One class index for every image, one per image, or ``None``.
        scores: Logits or probabilities, shape ``(B, num_classes)``.

    Raises:
        ValueError: If ``target`` has the wrong length or an index out of range.
    """
    batch_size, num_classes = scores.shape
    if target is None:
        return scores.argmax(dim=1)
    target = torch.as_tensor(target, dtype=torch.long, device=scores.device)
    if target.dim() == 0:
        target = target.expand(batch_size)
    if target.shape != (batch_size,):
        raise ValueError(
            f"invalid target shape {tuple(target.shape)}: pass one class index, or one per image ({batch_size})"
        )
    if bool(((target < 0) | (target >= num_classes)).any()):
        raise ValueError(f"invalid target {target.tolist()}: class indices must be in [0, {num_classes})")
    return target
