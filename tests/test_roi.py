"""Tests of cvnotes.roi against torchvision.ops, on the figure's inputs and on random boxes."""

from __future__ import annotations

import pytest
import torch
from torchvision.ops import roi_align, roi_pool

from cvnotes.figures import get_recipe, run_recipe
from cvnotes.figures.rcnn import roi_figure_inputs
from cvnotes.roi import roi_align_reference, roi_align_sample_points, roi_pool_bins, roi_pool_reference


def test_figure_values_equal_torchvision():
    recipe = get_recipe("roi-pool-vs-align")
    params = dict(recipe.params)
    features, rois = roi_figure_inputs(params)
    size = (params["output_size"], params["output_size"])
    box = rois[0, 1:]
    expected_pool = roi_pool(features, rois, size, spatial_scale=1.0)[0]
    expected_align = roi_align(features, rois, size, 1.0, params["sampling_ratio"], aligned=True)[0]

    # The bins and sample points the figure draws give torchvision's values.
    assert torch.allclose(roi_pool_reference(features[0], box, size), expected_pool, atol=1e-6)
    assert torch.allclose(
        roi_align_reference(features[0], box, size, sampling_ratio=params["sampling_ratio"]),
        expected_align,
        atol=1e-6,
    )
    # The numbers written in the figure are torchvision's.
    metrics = run_recipe("roi-pool-vs-align").metrics
    assert metrics["roi_pool"] == expected_pool[0].tolist()
    assert torch.allclose(
        torch.tensor(metrics["roi_align"], dtype=torch.float64), expected_align[0], atol=1e-12
    )


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [1, 2, 3])
def test_roi_align_reference_random_boxes(aligned, sampling_ratio):
    generator = torch.Generator().manual_seed(sampling_ratio)
    for _ in range(20):
        height, width = torch.randint(3, 10, (2,), generator=generator).tolist()
        features = torch.randn(2, height, width, generator=generator, dtype=torch.float64)
        scale = 0.5
        corner = (
            torch.rand(2, generator=generator, dtype=torch.float64) * torch.tensor([width, height]) / scale
            - 1
        )
        extent = (
            torch.rand(2, generator=generator, dtype=torch.float64) * torch.tensor([width, height]) / scale
            + 0.1
        )
        box = torch.cat([corner, corner + extent])
        expected = roi_align(
            features[None],
            torch.tensor([[0.0, *box.tolist()]], dtype=torch.float64),
            (3, 2),
            scale,
            sampling_ratio,
            aligned,
        )[0]
        actual = roi_align_reference(features, box, (3, 2), scale, sampling_ratio, aligned)
        assert torch.allclose(actual, expected, atol=1e-9)


def test_roi_pool_reference_random_boxes():
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        height, width = torch.randint(3, 10, (2,), generator=generator).tolist()
        features = torch.randn(1, height, width, generator=generator, dtype=torch.float64)
        corner = torch.rand(2, generator=generator, dtype=torch.float64) * torch.tensor([width, height]) - 1
        extent = torch.rand(2, generator=generator, dtype=torch.float64) * torch.tensor([width, height]) + 0.1
        box = torch.cat([corner, corner + extent])
        rois = torch.tensor([[0.0, *box.tolist()]], dtype=torch.float64)
        expected = roi_pool(features[None], rois, (2, 3), 1.0)[0]
        assert torch.equal(roi_pool_reference(features, box, (2, 3)), expected)


def test_roi_pool_bins_round_half_away_from_zero():
    # 2.5 rounds to 3 as in C; Python's round() would give 2.
    bins = roi_pool_bins((2.5, 0.0, 4.0, 1.0), (1, 1), (4, 8))
    assert bins == [[(0, 2, 3, 5)]]


def test_sample_points_unaligned_box_at_least_one_cell():
    points = roi_align_sample_points((2.0, 2.0, 2.2, 2.2), (1, 1), sampling_ratio=1, aligned=False)
    # The 0.2-wide box is widened to 1 cell, so the single sample sits half a cell from its corner.
    assert points[0, 0, 0, 0].tolist() == [2.5, 2.5]


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sampling_ratio"):
        roi_align_sample_points((0, 0, 1, 1), (1, 1), sampling_ratio=0)
    with pytest.raises(ValueError, match=r"\(x1, y1, x2, y2\)"):
        roi_pool_bins((0, 0, 1), (1, 1), (2, 2))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        roi_pool_reference(torch.zeros(2, 2), (0, 0, 1, 1), (1, 1))
