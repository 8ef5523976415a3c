"""Tests of cvnotes.filters: per-filter scaling, grids and the first conv layer."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from cvnotes.filters import filter_grid, first_conv, kernel_slice_grid, scale_filters


def test_scale_filters_each_to_unit_range():
    torch.manual_seed(0)
    weight = torch.randn(5, 3, 4, 4) * torch.tensor([0.01, 0.1, 1.0, 10.0, 100.0])[:, None, None, None]
    scaled = scale_filters(weight)
    flat = scaled.flatten(1)
    torch.testing.assert_close(flat.amin(dim=1), torch.zeros(5))
    torch.testing.assert_close(flat.amax(dim=1), torch.ones(5))
    # The scaling is affine per filter, so the order of the weights is kept.
    assert torch.equal(weight[2].flatten().argsort(), scaled[2].flatten().argsort())


def test_scale_filters_constant_filter_gives_zeros():
    weight = torch.stack(
        [torch.full((1, 3, 3), 0.7), torch.zeros(1, 3, 3), torch.arange(9.0).reshape(1, 3, 3)]
    )
    scaled = scale_filters(weight)
    assert not torch.isnan(scaled).any()
    assert torch.equal(scaled[0], torch.zeros(1, 3, 3))
    assert torch.equal(scaled[1], torch.zeros(1, 3, 3))
    torch.testing.assert_close(scaled[2], torch.arange(9.0).reshape(1, 3, 3) / 8)


def test_scale_filters_keeps_colour_balance():
    # One scale across the three channels: a filter that is red only stays red only.
    weight = torch.zeros(1, 3, 2, 2)
    weight[0, 0] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    scaled = scale_filters(weight)
    torch.testing.assert_close(scaled[0, 0], torch.tensor([[0.25, 0.5], [0.75, 1.0]]))
    assert torch.equal(scaled[0, 1], torch.zeros(2, 2))


def test_filter_grid_grey_and_rgb_shapes():
    grey = filter_grid(torch.randn(10, 1, 5, 5), num_columns=4, padding=1)
    assert grey.shape == (3 * 6 - 1, 4 * 6 - 1)
    rgb = filter_grid(torch.randn(64, 3, 7, 7))
    assert rgb.shape == (8 * 8 - 1, 8 * 8 - 1, 3)
    assert rgb.min() >= 0
    assert rgb.max() <= 1


def test_filter_grid_places_filters_and_padding():
    weight = torch.arange(8.0).reshape(2, 1, 2, 2)
    grid = filter_grid(weight, num_columns=3, padding=1, pad_value=-1.0)
    expected_tile = torch.tensor([[0.0, 1 / 3], [2 / 3, 1.0]])
    torch.testing.assert_close(grid[0:2, 0:2], expected_tile)
    torch.testing.assert_close(grid[0:2, 3:5], expected_tile)
    assert torch.equal(grid[:, 2], torch.full((2,), -1.0))
    # The third column has no filter and keeps the padding value.
    assert torch.equal(grid[:, 6:8], torch.full((2, 2), -1.0))


def test_filter_grid_rejects_deeper_kernels():
    with pytest.raises(ValueError, match="use kernel_slice_grid for deeper kernels"):
        filter_grid(torch.randn(32, 16, 3, 3))


def test_kernel_slice_grid_layout():
    """Rows are filters and columns are input channels."""
    weight = torch.zeros(4, 6, 3, 3)
    weight[1, 2] = -2.0
    weight[0, 0, 0, 0] = 1.0
    grid = kernel_slice_grid(weight, max_out=2, max_in=3, padding=1)
    assert grid.shape == (2 * 4 - 1, 3 * 4 - 1)
    # Filter 1 is row 1 (rows 4..6), input channel 2 is column 2 (columns 8..10); scaled by 2.
    assert torch.equal(grid[4:7, 8:11], torch.full((3, 3), -1.0))
    assert grid[0, 0] == 0.5
    assert torch.isnan(grid[3, 0]), "padding is NaN so that imshow leaves it blank"


def test_kernel_slice_grid_all_zero_weights_stay_zero():
    grid = kernel_slice_grid(torch.zeros(2, 2, 3, 3), padding=0)
    assert torch.equal(grid, torch.zeros(6, 6))


def test_first_conv_of_resnet_is_conv1():
    model = torchvision.models.resnet18(weights=None)
    name, layer = first_conv(model)
    assert name == "conv1"
    assert layer.weight.shape == (64, 3, 7, 7)


def test_first_conv_missing_rejected():
    with pytest.raises(ValueError, match="Sequential has no nn.Conv2d layer"):
        first_conv(nn.Sequential(nn.Linear(2, 2)))
