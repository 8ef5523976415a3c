"""Tests of cvnotes.keypoints: pooling against direct loops, Gaussian targets, decoding, triplet check."""

from __future__ import annotations

import math

import pytest
import torch

from cvnotes.keypoints import (
    center_keypoint_check,
    center_pool,
    central_region,
    corner_pool_bottom_right,
    corner_pool_top_left,
    decode_centernet,
    draw_gaussian,
    gaussian_radius,
    heatmap_peaks,
    penalty_reduced_focal_loss,
)


def loop_top_left(vertical, horizontal):
    height, width = vertical.shape
    out = torch.empty_like(vertical)
    for i in range(height):
        for j in range(width):
            out[i, j] = max(vertical[k, j] for k in range(i, height)) + max(
                horizontal[i, k] for k in range(j, width)
            )
    return out


def loop_bottom_right(vertical, horizontal):
    height, width = vertical.shape
    out = torch.empty_like(vertical)
    for i in range(height):
        for j in range(width):
            out[i, j] = max(vertical[k, j] for k in range(i + 1)) + max(
                horizontal[i, k] for k in range(j + 1)
            )
    return out


def loop_center(vertical, horizontal):
    height, width = vertical.shape
    out = torch.empty_like(vertical)
    for i in range(height):
        for j in range(width):
            out[i, j] = max(vertical[k, j] for k in range(height)) + max(
                horizontal[i, k] for k in range(width)
            )
    return out


@pytest.mark.parametrize(
    ("pool", "loop"),
    [
        (corner_pool_top_left, loop_top_left),
        (corner_pool_bottom_right, loop_bottom_right),
        (center_pool, loop_center),
    ],
)
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (6, 4)])
def test_pooling_matches_direct_loop(pool, loop, shape):
    generator = torch.Generator().manual_seed(sum(shape))
    vertical = torch.randn(shape, generator=generator)
    horizontal = torch.randn(shape, generator=generator)
    assert torch.equal(pool(vertical, horizontal), loop(vertical, horizontal))


def test_pooling_batched_equals_per_map():
    features = torch.randn(2, 3, 5, 6)
    pooled = corner_pool_top_left(features)
    for n in range(2):
        for c in range(3):
            assert torch.equal(pooled[n, c], loop_top_left(features[n, c], features[n, c]))


def test_pooling_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        corner_pool_top_left(torch.zeros(3, 3), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        center_pool(torch.zeros(3))


def test_gaussian_radius_keeps_iou_at_min_overlap():
    # At the returned radius, the tightest of the three cases reaches exactly the required IoU.
    height, width, overlap = 30.0, 12.0, 0.7
    r = gaussian_radius(height, width, overlap)
    inward = (height - 2 * r) * (width - 2 * r) / (height * width)
    outward = height * width / ((height + 2 * r) * (width + 2 * r))
    shared = (height - r) * (width - r)
    same_way = shared / (2 * height * width - shared)
    ious = [inward, outward, same_way]
    assert min(ious) == pytest.approx(overlap, abs=1e-9)
    assert all(iou >= overlap - 1e-9 for iou in ious)


def test_gaussian_radius_rejects_bad_input():
    with pytest.raises(ValueError, match="must be > 0"):
        gaussian_radius(0.0, 5.0)
    with pytest.raises(ValueError, match="min_overlap"):
        gaussian_radius(5.0, 5.0, min_overlap=1.0)


def test_draw_gaussian_peak_and_max_merge():
    heatmap = torch.zeros(7, 7, dtype=torch.float64)
    draw_gaussian(heatmap, (2.7, 3.2), radius=2.0)
    # sigma = (2 * 2 + 1) / 6 = 5/6; the peak is at the floored cell (x=2, y=3).
    assert heatmap[3, 2] == 1.0
    assert heatmap[3, 3].item() == pytest.approx(math.exp(-1 / (2 * (5 / 6) ** 2)))
    before = heatmap.clone()
    draw_gaussian(heatmap, (5.0, 3.0), radius=0.0)
    assert heatmap[3, 5] == 1.0
    assert torch.all(heatmap >= before), "overlapping Gaussians must keep the element-wise maximum"


def test_draw_gaussian_rejects_centre_outside():
    with pytest.raises(ValueError, match="outside the heatmap"):
        draw_gaussian(torch.zeros(4, 4), (4.0, 1.0), radius=1.0)


def test_penalty_reduced_focal_loss_by_hand():
    # Cells: a keypoint (y = 1) with p = 0.5, and a negative (y = 0.5) with p = 0.5.
    # Positive: -(1 - 0.5)^2 log 0.5 = 0.25 ln 2. Negative: -(1 - 0.5)^4 0.5^2 log 0.5 = ln 2 / 64.
    # One keypoint, so N = 1.
    loss = penalty_reduced_focal_loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.5]]))
    assert loss.item() == pytest.approx(0.25 * math.log(2) + math.log(2) / 64)


def test_penalty_reduced_focal_loss_finite_at_saturation():
    logits = torch.tensor([[-200.0, 200.0]], requires_grad=True)
    loss = penalty_reduced_focal_loss(logits, torch.tensor([[1.0, 0.0]]))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


def test_heatmap_peaks_known_positions():
    heatmap = torch.zeros(3, 6, 6)
    heatmap[0, 1, 1] = 0.9
    heatmap[0, 1, 2] = 0.5  # a neighbour of the 0.9 peak: suppressed
    heatmap[2, 4, 3] = 0.7
    heatmap[1, 0, 5] = 0.4
    scores, classes, rows, columns = heatmap_peaks(heatmap, k=3)
    assert scores.tolist() == pytest.approx([0.9, 0.7, 0.4])
    assert classes.tolist() == [0, 2, 1]
    assert rows.tolist() == [1, 4, 0]
    assert columns.tolist() == [1, 3, 5]


def test_heatmap_peaks_keep_equal_neighbours():
    # Two adjacent cells with the same score both equal their 3 x 3 maximum, so both are peaks.
    heatmap = torch.zeros(1, 5, 5)
    heatmap[0, 2, 1] = 0.8
    heatmap[0, 2, 2] = 0.8
    scores, _, rows, columns = heatmap_peaks(heatmap, k=3)
    assert scores.tolist() == pytest.approx([0.8, 0.8, 0.0])
    assert sorted(zip(rows[:2].tolist(), columns[:2].tolist(), strict=True)) == [(2, 1), (2, 2)]


def test_heatmap_peaks_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        heatmap_peaks(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="odd"):
        heatmap_peaks(torch.zeros(1, 4, 4), kernel_size=2)


def test_decode_centernet_boxes():
    heatmap = torch.zeros(2, 8, 8)
    heatmap[1, 3, 5] = 0.9
    heatmap[0, 6, 1] = 0.6
    size = torch.zeros(2, 8, 8)
    offset = torch.zeros(2, 8, 8)
    size[:, 3, 5] = torch.tensor([4.0, 2.0])
    offset[:, 3, 5] = torch.tensor([0.25, 0.5])
    size[:, 6, 1] = torch.tensor([2.0, 2.0])
    detections = decode_centernet(heatmap, size, offset, k=5, stride=4).above(0.1)
    # Centre (5.25, 3.5) cells, half size (2, 1): box (3.25, 2.5, 7.25, 4.5) cells, times stride 4.
    assert detections.boxes[0].tolist() == pytest.approx([13.0, 10.0, 29.0, 18.0])
    assert detections.boxes[1].tolist() == pytest.approx([0.0, 20.0, 8.0, 28.0])
    assert detections.classes.tolist() == [1, 0]
    assert detections.centers[0].tolist() == pytest.approx([5.25, 3.5])


def test_decode_centernet_rejects_wrong_head_shape():
    with pytest.raises(ValueError, match="size must have shape"):
        decode_centernet(torch.zeros(1, 4, 4), torch.zeros(2, 4, 5), torch.zeros(2, 4, 4))


def test_central_region_by_hand():
    # n = 5: x1 = (6 * 0 + 4 * 10) / 10 = 4, x2 = (4 * 0 + 6 * 10) / 10 = 6.
    region = central_region(torch.tensor([[0.0, 0.0, 10.0, 20.0]]), n=5)
    assert region.tolist() == [[4.0, 8.0, 6.0, 12.0]]


def test_center_check_rejects_mismatched_corners():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 30.0, 30.0]])
    corner_scores = torch.tensor([[0.9, 0.9], [0.6, 0.6], [0.9, 0.6]])
    centers = torch.tensor([[5.0, 5.0], [25.0, 25.0]])
    keep, scores = center_keypoint_check(
        boxes,
        torch.zeros(3, dtype=torch.long),
        corner_scores,
        centers,
        torch.zeros(2, dtype=torch.long),
        torch.tensor([0.3, 0.9]),
    )
    assert keep.tolist() == [True, True, False]
    assert scores.tolist() == pytest.approx([(0.9 + 0.9 + 0.3) / 3, (0.6 + 0.6 + 0.9) / 3, 0.0])


def test_center_check_needs_same_class():
    keep, _ = center_keypoint_check(
        torch.tensor([[0.0, 0.0, 10.0, 10.0]]),
        torch.tensor([1]),
        torch.tensor([[0.9, 0.9]]),
        torch.tensor([[5.0, 5.0]]),
        torch.tensor([0]),
        torch.tensor([0.9]),
    )
    assert keep.tolist() == [False]
