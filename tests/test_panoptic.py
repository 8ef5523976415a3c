"""Tests of cvnotes.panoptic: PQ on cases worked out by hand, void and crowd, merging instances."""

from __future__ import annotations

import pytest
import torch

from cvnotes.panoptic import ClassQuality, merge_instances, panoptic_quality, segment_iou


def test_perfect_prediction_scores_one():
    gt = torch.tensor([[1, 1, 2], [1, 3, 3]])
    result = panoptic_quality(gt.clone(), {1: 0, 2: 1, 3: 1}, gt, {1: 0, 2: 1, 3: 1})
    assert (result.pq, result.sq, result.rq) == (1.0, 1.0, 1.0)


def test_pq_one_match_miss_false_positive():
    # One class. gt: A = cols 0-3 (4 px), B = cols 6-7 (2 px). pred: P = cols 0-2 (3 px), Q = col 5 (1 px).
    # P vs A: intersection 3, union 4 -> IoU 0.75 > 0.5, a TP. B is unmatched (FN), Q is unmatched (FP).
    # PQ = 0.75 / (1 + 0.5 + 0.5) = 0.375, SQ = 0.75, RQ = 1 / 2 = 0.5.
    gt = torch.tensor([[1, 1, 1, 1, 9, 9, 2, 2]])
    pred = torch.tensor([[1, 1, 1, 7, 7, 3, 7, 7]])
    result = panoptic_quality(pred, {1: 0, 3: 0, 7: 1}, gt, {1: 0, 2: 0, 9: 1})
    person = result.per_class[0]
    assert (person.tp, person.fp, person.fn) == (1, 1, 1)
    assert person.sq == pytest.approx(0.75)
    assert person.rq == pytest.approx(0.5)
    assert person.pq == pytest.approx(0.375)
    # Class 1 (stuff): gt 9 = cols 4-5, pred 7 = cols 3, 4, 6, 7; intersection 1, union 2 + 4 - 1 = 5.
    # IoU 0.2 is no match: one FP and one FN, PQ = 0.
    stuff = result.per_class[1]
    assert (stuff.tp, stuff.fp, stuff.fn, stuff.pq) == (0, 1, 1, 0.0)
    assert result.pq == pytest.approx((0.375 + 0.0) / 2)


def test_iou_exactly_half_is_no_match():
    # gt A = 2 px of class 0, the rest is class 1. pred P (class 0) covers all 4 px:
    # IoU = 2 / 4 = 0.5, which is not > 0.5.
    gt = torch.tensor([[1, 1, 2, 2]])
    pred = torch.tensor([[5, 5, 5, 5]])
    result = panoptic_quality(pred, {5: 0}, gt, {1: 0, 2: 1})
    assert (result.per_class[0].tp, result.per_class[0].fp, result.per_class[0].fn) == (0, 1, 1)


def test_void_pixels_leave_the_union():
    # gt: A = cols 0-1, void = cols 2-3. pred P = cols 0-3. Without void handling IoU = 2 / 4 = 0.5 (no match);
    # with the 2 void pixels removed from P, IoU = 2 / 2 = 1.
    gt = torch.tensor([[1, 1, 0, 0]])
    pred = torch.tensor([[4, 4, 4, 4]])
    result = panoptic_quality(pred, {4: 0}, gt, {1: 0})
    assert result.per_class[0] == ClassQuality(tp=1, fp=0, fn=0, iou_sum=1.0)


def test_prediction_mostly_on_void_is_ignored():
    # pred Q (3 px) lies 2 px on void and 1 px on stuff: 2 / 3 > 0.5 of it is void, so it is not a FP.
    gt = torch.tensor([[2, 2, 2, 0, 0, 2]])
    pred = torch.tensor([[6, 6, 6, 8, 8, 8]])
    result = panoptic_quality(pred, {6: 1, 8: 0}, gt, {2: 1})
    assert 0 not in result.per_class
    # Stuff: pred 6 = cols 0-2, gt 2 = cols 0-2 and 5; IoU = 3 / 4.
    assert result.per_class[1].sq == pytest.approx(0.75)


def test_crowd_region_is_not_a_false_negative():
    # gt 3 is a crowd of class 0 (cols 2-5). pred R (cols 3-5) of class 0 lies fully on it: ignored, not FP.
    # The crowd itself is never matched, so it is not a FN either. Class 0 then has no counts at all.
    gt = torch.tensor([[1, 1, 3, 3, 3, 3]])
    pred = torch.tensor([[5, 5, 5, 7, 7, 7]])
    result = panoptic_quality(pred, {5: 1, 7: 0}, gt, {1: 1, 3: 0}, crowd_ids={3})
    assert 0 not in result.per_class
    # Class 1: pred 5 = cols 0-2 vs gt 1 = cols 0-1, IoU 2 / 3.
    assert result.per_class[1].sq == pytest.approx(2 / 3)


def test_things_and_stuff_averages():
    gt = torch.tensor([[1, 1, 2, 2]])
    pred = torch.tensor([[1, 1, 2, 2]])
    result = panoptic_quality(pred, {1: 0, 2: 5}, gt, {1: 0, 2: 5}, thing_classes={5})
    assert result.things == (1.0, 1.0, 1.0)
    assert result.stuff == (1.0, 1.0, 1.0)


def test_average_pq_is_not_product_of_averages():
    # Class 0: a TP with IoU 0.75 and a FN -> SQ 0.75, RQ 2/3, PQ 0.5.
    # Class 1: a TP with IoU 1 -> SQ = RQ = PQ = 1. Mean PQ 0.75, mean SQ 0.875, mean RQ 5/6,
    # and 0.875 * 5/6 = 0.729 differs from 0.75.
    gt = torch.tensor([[1, 1, 1, 1, 2, 3]])
    pred = torch.tensor([[1, 1, 1, 0, 0, 3]])
    result = panoptic_quality(pred, {1: 0, 3: 1}, gt, {1: 0, 2: 0, 3: 1}, void_id=0)
    assert result.per_class[0].pq == pytest.approx(0.5)
    assert result.pq == pytest.approx(0.75)
    assert result.sq * result.rq == pytest.approx(0.875 * 5 / 6)


def test_unknown_segment_id_rejected():
    with pytest.raises(ValueError, match=r"segment ids \[4\]"):
        panoptic_quality(torch.tensor([[4]]), {}, torch.tensor([[1]]), {1: 0})


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError, match="same shape"):
        panoptic_quality(torch.zeros(2, 2, dtype=torch.long), {}, torch.zeros(2, 3, dtype=torch.long), {})


def test_segment_iou_empty_masks():
    empty = torch.zeros(2, 2, dtype=torch.bool)
    assert segment_iou(empty, empty) == 0.0


def test_merge_resolves_overlap_by_score():
    semantic = torch.zeros(1, 6, dtype=torch.long)
    masks = torch.tensor(
        [
            [[True, True, True, False, False, False]],  # score 0.6
            [[False, True, True, True, False, False]],  # score 0.9: takes cols 1-3 first
            [[False, False, False, False, True, True]],  # score 0.2: below the threshold
        ]
    )
    panoptic, segments = merge_instances(
        semantic, masks, torch.tensor([7, 7, 7]), torch.tensor([0.6, 0.9, 0.2]), thing_classes={7}
    )
    # The 0.6 instance keeps only col 0, 1/3 of its mask, less than 0.5: dropped. Cols 0, 4, 5 become stuff 0.
    assert panoptic.tolist() == [[2, 1, 1, 1, 2, 2]]
    assert segments == {1: 7, 2: 0}


def test_merge_leaves_thing_pixels_without_instance_void():
    semantic = torch.tensor([[0, 3, 3, 0]])
    panoptic, segments = merge_instances(
        semantic, torch.zeros(0, 1, 4, dtype=torch.bool), torch.zeros(0), torch.zeros(0), thing_classes={3}
    )
    assert panoptic.tolist() == [[1, 0, 0, 1]]
    assert segments == {1: 0}


def test_merge_drops_small_stuff():
    semantic = torch.tensor([[0, 0, 0, 1]])
    panoptic, segments = merge_instances(
        semantic,
        torch.zeros(0, 1, 4, dtype=torch.bool),
        torch.zeros(0),
        torch.zeros(0),
        thing_classes=(),
        min_stuff_area=2,
    )
    assert panoptic.tolist() == [[1, 1, 1, 0]]
    assert segments == {1: 0}
