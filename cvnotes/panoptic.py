r"""Panoptic segmentation: merging instances with stuff, and panoptic quality (PQ).

Kirillov, He, Girshick, Rother and Dollár ("Panoptic Segmentation", CVPR 2019)
give every pixel a class and, for *things* (countable objects: person, car),
an instance id. *Stuff* (amorphous regions: sky, road) gets one segment per
class. Unlike instance segmentation, the segments may not overlap, and there
are no scores in the output.

Panoptic quality compares a predicted segmentation with the ground truth
class by class. A predicted and a ground-truth segment of the same class
*match* when their IoU exceeds 0.5. Because segments do not overlap, at most
one prediction can pass that threshold for a ground-truth segment, so the
matching is unique without any assignment step. Then

$$
\mathrm{PQ} = \frac{\sum_{(p, g) \in TP} \mathrm{IoU}(p, g)}{|TP| + \tfrac12 |FP| + \tfrac12 |FN|}
= \underbrace{\frac{\sum_{TP} \mathrm{IoU}}{|TP|}}_{\mathrm{SQ}}
\times \underbrace{\frac{|TP|}{|TP| + \tfrac12 |FP| + \tfrac12 |FN|}}_{\mathrm{RQ}} .
$$

Segments are given as an id map plus a table ``{segment id: class}``, the way
the COCO panoptic format stores them.

Void and crowd, as the paper defines them:

- Ground-truth pixels with id ``void_id`` (unlabelled) are **void**. They are
  removed from every predicted segment before its IoU is computed, and they
  never count as errors.
- A ground-truth segment listed in ``crowd_ids`` marks a group of things
  whose instances were not separated. It is never matched, so it makes no FN.
- An unmatched prediction is not a FP if more than half of it lies on void
  pixels or on crowd regions of its own class.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = [
    "ClassQuality",
    "PanopticQuality",
    "merge_instances",
    "panoptic_quality",
    "segment_iou",
]

MATCH_IOU = 0.5


@dataclass(frozen=True)
class ClassQuality:
    """Counts and qualities of one class.

    Attributes:
        tp: Matched pairs (IoU > 0.5).
        fp: Unmatched predicted segments that are not ignored.
        fn: Unmatched ground-truth segments (crowd excluded).
        iou_sum: Sum of the IoUs of the matched pairs.
    """

    tp: int
    fp: int
    fn: int
    iou_sum: float

    @property
    def sq(self) -> float:
        """Segmentation quality: mean IoU of the matches (0 without matches)."""
        return self.iou_sum / self.tp if self.tp else 0.0

    @property
    def rq(self) -> float:
        """Recognition quality: an F1 score of the matching."""
        denominator = self.tp + 0.5 * self.fp + 0.5 * self.fn
        return self.tp / denominator if denominator else 0.0

    @property
    def pq(self) -> float:
        """Panoptic quality, ``sq * rq``."""
        denominator = self.tp + 0.5 * self.fp + 0.5 * self.fn
        return self.iou_sum / denominator if denominator else 0.0


@dataclass(frozen=True)
class PanopticQuality:
    """PQ, SQ and RQ averaged over classes, with the per-class values.

    The averages are means over the classes that occur (``tp + fp + fn > 0``)
    of the per-class PQ, SQ and RQ. So the average PQ is in general **not**
    the product of the average SQ and RQ, even though each class's PQ is.

    Attributes:
        pq: Mean PQ over the counted classes.
        sq: Mean SQ over the counted classes.
        rq: Mean RQ over the counted classes.
        per_class: ``{class: ClassQuality}`` for every counted class.
        things: ``(pq, sq, rq)`` over thing classes, when thing classes were given.
        stuff: ``(pq, sq, rq)`` over stuff classes, when thing classes were given.
    """

    pq: float
    sq: float
    rq: float
    per_class: dict[int, ClassQuality]
    things: tuple[float, float, float] | None = field(default=None)
    stuff: tuple[float, float, float] | None = field(default=None)


def _average(qualities: list[ClassQuality]) -> tuple[float, float, float]:
    if not qualities:
        return 0.0, 0.0, 0.0
    count = len(qualities)
    return (
        sum(quality.pq for quality in qualities) / count,
        sum(quality.sq for quality in qualities) / count,
        sum(quality.rq for quality in qualities) / count,
    )


def _check_ids(name: str, ids: Tensor, segments: Mapping[int, int], void_id: int) -> None:
    present = {int(value) for value in torch.unique(ids).tolist()} - {void_id}
    missing = sorted(present - set(segments))
    if missing:
        raise ValueError(
            f"{name} contains segment ids {missing} that have no class in its segment table; "
            f"add them or set those pixels to void_id={void_id}"
        )


def segment_iou(pred_mask: Tensor, gt_mask: Tensor, void_mask: Tensor | None = None) -> float:
    r"""Return the IoU of two masks, with the prediction's void pixels removed first.

    $$
    \mathrm{IoU} = \frac{|p \cap g|}{|p \setminus v| + |g| - |p \cap g|}
    $$

    where $v$ is the ground-truth void region.

    Args:
        pred_mask: ``(H, W)`` bool mask of the predicted segment.
        gt_mask: ``(H, W)`` bool mask of the ground-truth segment.
        void_mask: ``(H, W)`` bool mask of void ground-truth pixels, or ``None``.

    Returns:
        The IoU in [0, 1]; 0 when both masks are empty.

    Examples:
        >>> pred = torch.tensor([[True, True, False]])
        >>> gt = torch.tensor([[False, True, True]])
        >>> round(segment_iou(pred, gt), 4)
        0.3333
    """
    if void_mask is not None:
        pred_mask = pred_mask & ~void_mask
    intersection = int((pred_mask & gt_mask).sum())
    union = int(pred_mask.sum()) + int(gt_mask.sum()) - intersection
    return intersection / union if union else 0.0


def panoptic_quality(
    pred: Tensor,
    pred_segments: Mapping[int, int],
    gt: Tensor,
    gt_segments: Mapping[int, int],
    *,
    void_id: int = 0,
    crowd_ids: Collection[int] = (),
    thing_classes: Collection[int] | None = None,
) -> PanopticQuality:
    """Compute panoptic quality (Kirillov et al., CVPR 2019) of one image.

    Args:
        pred: ``(H, W)`` integer map of predicted segment ids; ``void_id`` marks unlabelled pixels.
        pred_segments: ``{segment id: class}`` for every id in ``pred`` except ``void_id``.
        gt: ``(H, W)`` integer map of ground-truth segment ids; ``void_id`` marks void pixels.
        gt_segments: ``{segment id: class}`` for every id in ``gt`` except ``void_id``.
        void_id: Id of unlabelled (prediction) and void (ground truth) pixels.
        crowd_ids: Ground-truth segment ids that are crowd regions.
        thing_classes: Classes that are things; when given, separate thing and
            stuff averages are returned as well.

    Returns:
        A [`PanopticQuality`][cvnotes.panoptic.PanopticQuality]. For a data set,
        add the per-class counts over images before dividing; averaging
        per-image PQ is not the data-set PQ.

    Raises:
        ValueError: If the maps differ in shape or are not 2-D, or if an id has no class.

    Examples:
        >>> gt = torch.tensor([[1, 1, 2, 2]])
        >>> pred = torch.tensor([[1, 1, 1, 2]])
        >>> result = panoptic_quality(pred, {1: 0, 2: 0}, gt, {1: 0, 2: 0})
        >>> round(result.pq, 4), result.per_class[0].tp, result.per_class[0].fp
        (0.3333, 1, 1)
    """
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise ValueError(
            f"pred and gt must be 2-D maps of the same shape, got {tuple(pred.shape)} and {tuple(gt.shape)}"
        )
    _check_ids("pred", pred, pred_segments, void_id)
    _check_ids("gt", gt, gt_segments, void_id)
    crowd_ids = set(crowd_ids)
    void = gt == void_id
    pred_ids = [int(value) for value in torch.unique(pred).tolist() if value != void_id]
    gt_ids = [int(value) for value in torch.unique(gt).tolist() if value != void_id]

    counts: dict[int, dict[str, float]] = {}

    def count(category: int) -> dict[str, float]:
        return counts.setdefault(category, {"tp": 0, "fp": 0, "fn": 0, "iou_sum": 0.0})

    matched_pred: set[int] = set()
    for gt_id in gt_ids:
        category = gt_segments[gt_id]
        if gt_id in crowd_ids:
            continue
        gt_mask = gt == gt_id
        best = None
        for pred_id in pred_ids:
            if pred_segments[pred_id] != category or pred_id in matched_pred:
                continue
            iou = segment_iou(pred == pred_id, gt_mask, void)
            # IoU > 0.5 can hold for at most one prediction, so the first one found is the match.
            if iou > MATCH_IOU:
                best = (pred_id, iou)
                break
        if best is None:
            count(category)["fn"] += 1
        else:
            matched_pred.add(best[0])
            count(category)["tp"] += 1
            count(category)["iou_sum"] += best[1]

    for pred_id in pred_ids:
        if pred_id in matched_pred:
            continue
        category = pred_segments[pred_id]
        pred_mask = pred == pred_id
        crowd_of_class = torch.zeros_like(void)
        for crowd_id in crowd_ids:
            if gt_segments.get(crowd_id) == category:
                crowd_of_class |= gt == crowd_id
        ignored = int((pred_mask & (void | crowd_of_class)).sum())
        # A prediction that lies mostly on void or same-class crowd is neither right nor wrong.
        if ignored > 0.5 * int(pred_mask.sum()):
            continue
        count(category)["fp"] += 1

    per_class = {
        category: ClassQuality(int(values["tp"]), int(values["fp"]), int(values["fn"]), values["iou_sum"])
        for category, values in sorted(counts.items())
    }
    pq, sq, rq = _average(list(per_class.values()))
    things = stuff = None
    if thing_classes is not None:
        thing_classes = set(thing_classes)
        things = _average([quality for category, quality in per_class.items() if category in thing_classes])
        stuff = _average(
            [quality for category, quality in per_class.items() if category not in thing_classes]
        )
    return PanopticQuality(pq=pq, sq=sq, rq=rq, per_class=per_class, things=things, stuff=stuff)


def merge_instances(
    semantic: Tensor,
    masks: Tensor,
    classes: Tensor,
    scores: Tensor,
    thing_classes: Collection[int],
    *,
    score_threshold: float = 0.5,
    overlap_threshold: float = 0.5,
    min_stuff_area: int = 0,
    void_id: int = 0,
) -> tuple[Tensor, dict[int, int]]:
    """Combine overlapping scored instance masks and a semantic map into one panoptic map.

    Instance segmentation may output overlapping masks with scores. Panoptic
    segmentation needs one label per pixel, so the overlaps must be resolved.
    This function follows the heuristic that Kirillov et al. (CVPR 2019)
    describe for combining an instance and a semantic model:

    1. Drop instances scored below ``score_threshold`` and sort the rest by score, highest first.
    2. Give each instance the pixels that no higher-scored instance took. If
       less than ``overlap_threshold`` of its mask remains, drop it.
    3. Fill the pixels left over with the stuff classes of ``semantic``, one
       segment per class. Thing classes in ``semantic`` are not used, and a
       stuff segment smaller than ``min_stuff_area`` pixels is dropped.
       Those pixels stay void.

    Args:
        semantic: ``(H, W)`` class map of the semantic model.
        masks: ``(K, H, W)`` bool instance masks.
        classes: ``(K,)`` instance classes (thing classes).
        scores: ``(K,)`` instance scores.
        thing_classes: Classes that are things.
        score_threshold: Minimum score of an instance.
        overlap_threshold: Minimum fraction of an instance's mask that must stay visible.
        min_stuff_area: Minimum area in pixels of a stuff segment.
        void_id: Id of unassigned pixels.

    Returns:
        ``(panoptic, segments)``: an ``(H, W)`` id map and ``{segment id: class}``.
        Instances get ids 1, 2, ... in score order, then stuff classes follow.

    Raises:
        ValueError: If the shapes disagree or ``void_id`` is positive
            (ids from 1 upward are assigned to segments).

    Examples:
        >>> semantic = torch.zeros(2, 4, dtype=torch.long)
        >>> masks = torch.tensor([[[True, True, False, False]] * 2, [[False, True, True, False]] * 2])
        >>> panoptic, segments = merge_instances(
        ...     semantic, masks, torch.tensor([1, 1]), torch.tensor([0.9, 0.8]), thing_classes={1})
        >>> panoptic[0].tolist(), segments
        ([1, 1, 2, 3], {1: 1, 2: 1, 3: 0})
    """
    if semantic.ndim != 2 or masks.ndim != 3 or masks.shape[1:] != semantic.shape:
        raise ValueError(
            f"semantic must be (H, W) and masks (K, H, W) with the same H, W, got "
            f"{tuple(semantic.shape)} and {tuple(masks.shape)}"
        )
    if classes.shape != (masks.shape[0],) or scores.shape != (masks.shape[0],):
        raise ValueError(
            f"classes and scores must have shape ({masks.shape[0]},), got {tuple(classes.shape)} "
            f"and {tuple(scores.shape)}"
        )
    if void_id > 0:
        raise ValueError(f"invalid void_id {void_id!r}: use 0 or a negative id, segments are numbered from 1")
    thing_classes = set(thing_classes)
    panoptic = torch.full(semantic.shape, void_id, dtype=torch.long)
    taken = torch.zeros(semantic.shape, dtype=torch.bool)
    segments: dict[int, int] = {}
    next_id = 1

    for index in torch.argsort(scores, descending=True, stable=True).tolist():
        if scores[index] < score_threshold:
            continue
        mask = masks[index].bool()
        area = int(mask.sum())
        visible = mask & ~taken
        if area == 0 or int(visible.sum()) < overlap_threshold * area:
            continue
        panoptic[visible] = next_id
        taken |= visible
        segments[next_id] = int(classes[index])
        next_id += 1

    for category in torch.unique(semantic).tolist():
        if category in thing_classes:
            continue
        region = (semantic == category) & ~taken
        if int(region.sum()) == 0 or int(region.sum()) < min_stuff_area:
            continue
        panoptic[region] = next_id
        segments[next_id] = int(category)
        next_id += 1
    return panoptic, segments
