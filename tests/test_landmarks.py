"""Tests of cvnotes.landmarks: encoding, argmax and soft-argmax decoding."""

from __future__ import annotations

import pytest
import torch

from cvnotes.landmarks import (
    argmax_decode,
    encode_heatmaps,
    soft_argmax_decode,
    to_heatmap_cells,
    to_input_pixels,
)


def test_cell_conversion_round_trip():
    points = torch.tensor([[0.0, 0.0], [13.25, 7.5]], dtype=torch.float64)
    for stride in (1, 2, 4, 8):
        assert torch.allclose(to_input_pixels(to_heatmap_cells(points, stride), stride), points)
    # At stride 4, cell 0 covers input pixels 0-3, so its centre is x = 1.5.
    assert to_input_pixels(torch.tensor([0.0]), 4).item() == 1.5


def test_encode_peak_at_landmark_cell():
    heatmaps = encode_heatmaps(torch.tensor([[9.5, 21.5]]), (32, 32), stride=4, sigma=1.0)
    # x = 9.5 -> u = (9.5 - 1.5) / 4 = 2; y = 21.5 -> v = 5. The peak cell is exactly 1.
    assert heatmaps.shape == (1, 8, 8)
    assert heatmaps[0, 5, 2] == 1.0
    assert heatmaps[0].max() == 1.0


def test_encode_rejects_bad_input():
    with pytest.raises(ValueError, match="divisible by stride"):
        encode_heatmaps(torch.zeros(1, 2), (30, 32), stride=4)
    with pytest.raises(ValueError, match=r"shape \(K, 2\)"):
        encode_heatmaps(torch.zeros(3), (32, 32))
    with pytest.raises(ValueError, match="sigma"):
        encode_heatmaps(torch.zeros(1, 2), (32, 32), sigma=0.0)
    with pytest.raises(ValueError, match="stride"):
        encode_heatmaps(torch.zeros(1, 2), (32, 32), stride=0)


def test_soft_argmax_recovers_subpixel_location():
    # Landmarks well inside a 96 x 96 image (24 x 24 cells), off every cell centre.
    points = torch.tensor([[45.3, 47.8], [40.1, 52.65], [50.77, 44.2]], dtype=torch.float64)
    heatmaps = encode_heatmaps(points, (96, 96), stride=4, sigma=2.0)
    decoded = soft_argmax_decode(heatmaps, stride=4)
    # Tolerance: 0.01 input pixels; what remains is the Gaussian tail cut off at the map edge.
    assert torch.allclose(decoded, points, atol=1e-2)
    # The argmax can only return cell centres, so it is off by up to half a cell (2 px) per axis.
    rounded = argmax_decode(heatmaps, stride=4)
    assert (rounded - points).abs().max() > 0.2
    assert (rounded - points).abs().max() <= 2.0


def test_soft_argmax_softmax_and_window():
    heatmaps = encode_heatmaps(torch.tensor([[60.6, 70.2]]), (128, 128), stride=4, sigma=1.5)
    noisy = heatmaps + 0.05 * torch.randn(
        heatmaps.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    point = torch.tensor([60.6, 70.2], dtype=torch.float64)
    global_error = (soft_argmax_decode(noisy, stride=4)[0] - point).norm()
    local_error = (soft_argmax_decode(noisy, stride=4, window=4)[0] - point).norm()
    # Background noise pulls the whole-map expectation away; the window keeps it near the peak.
    assert local_error < 1.0
    assert global_error > 5 * local_error
    # A large beta makes the softmax a hard argmax.
    hard = soft_argmax_decode(heatmaps, stride=4, beta=1e4)
    assert torch.allclose(hard, argmax_decode(heatmaps, stride=4), atol=1e-6)


def test_soft_argmax_rejects_all_nonpositive_map():
    with pytest.raises(ValueError, match="no positive value"):
        soft_argmax_decode(-torch.ones(1, 4, 4))


def test_argmax_quarter_offset_moves_towards_higher_neighbour():
    heatmaps = torch.zeros(1, 5, 5)
    heatmaps[0, 2, 2] = 1.0
    heatmaps[0, 2, 3] = 0.6  # right neighbour higher than the left one
    heatmaps[0, 1, 2] = 0.3  # upper neighbour higher than the lower one
    plain = argmax_decode(heatmaps, stride=2)
    shifted = argmax_decode(heatmaps, stride=2, quarter_offset=True)
    # Cell 2 at stride 2 -> x = 2 * 2 + 0.5 = 4.5; a quarter cell is 0.5 input pixels.
    assert plain.tolist() == [[4.5, 4.5]]
    assert shifted.tolist() == [[5.0, 4.0]]


def test_argmax_keeps_leading_dimensions():
    heatmaps = torch.zeros(2, 3, 4, 4)
    heatmaps[1, 2, 3, 0] = 1.0
    decoded = argmax_decode(heatmaps, stride=1)
    assert decoded.shape == (2, 3, 2)
    assert decoded[1, 2].tolist() == [0.0, 3.0]
