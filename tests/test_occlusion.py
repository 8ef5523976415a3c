"""Tests of cvnotes.occlusion: a single-pixel model worked out by hand, coverage, batching, captum parity."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cvnotes.occlusion import normalized_fill, occlusion_sensitivity, window_starts

# Parity with captum 0.9's Occlusion: both compute the same float32 probabilities and average
# them over the same windows, so they agree to float32 rounding.
CAPTUM_TOLERANCE = 1e-6


class SinglePixelModel(nn.Module):
    """Logits [gain * x[0, row, col], 0]: class 0's probability depends on one pixel only."""

    def __init__(self, row: int, col: int, gain: float = 4.0) -> None:
        super().__init__()
        self.row, self.col, self.gain = row, col, gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logit = self.gain * x[:, 0, self.row, self.col]
        return torch.stack([logit, torch.zeros_like(logit)], dim=1)


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def test_single_pixel_window_one_changes_only_that_pixel():
    model = SinglePixelModel(row=2, col=3)
    image = torch.ones(1, 1, 5, 6)
    result = occlusion_sensitivity(model, image, target=0, window=1, stride=1, baseline=0.0)

    p_original = sigmoid(4.0)
    assert result.base_probability.item() == pytest.approx(p_original)
    expected = torch.full((5, 6), p_original)
    expected[2, 3] = 0.5  # the occluded pixel sets the logit to 0
    torch.testing.assert_close(result.probability[0], expected)
    expected_drop = torch.zeros(5, 6)
    expected_drop[2, 3] = p_original - 0.5
    torch.testing.assert_close(result.drop[0], expected_drop)
    assert result.num_windows == 30


def test_single_pixel_overlapping_windows_average():
    """Window 3, stride 1 on 5x5; the pixel that matters is the corner (0, 0).

    Along one axis, pixel i is covered by windows starting at max(0, i - 2) .. min(i, 2), and only
    the window starting at 0 covers pixel 0. So a pixel (i, j) with i, j <= 2 has a fraction
    1 / ((i + 1) * (j + 1)) of its windows covering (0, 0); pixels with i or j >= 3 have none.
    """
    model = SinglePixelModel(row=0, col=0)
    image = torch.ones(1, 1, 5, 5)
    result = occlusion_sensitivity(model, image, target=0, window=3, stride=1, baseline=0.0)

    p_original = sigmoid(4.0)
    expected = torch.full((5, 5), p_original)
    for i in range(3):
        for j in range(3):
            fraction = 1.0 / ((i + 1) * (j + 1))
            expected[i, j] = fraction * 0.5 + (1 - fraction) * p_original
    torch.testing.assert_close(result.probability[0], expected)
    torch.testing.assert_close(result.drop[0], p_original - expected)
    assert result.drop[0, 0, 0] == result.drop.max()


def test_drop_sign_negative_when_pixel_counts_against_class():
    # The pixel is negative, so occluding it with 0 raises class 0's probability.
    model = SinglePixelModel(row=1, col=1)
    image = -torch.ones(1, 1, 3, 3)
    result = occlusion_sensitivity(model, image, target=0, window=1, stride=1)
    assert result.drop[0, 1, 1] < 0
    assert result.drop[0, 1, 1] == pytest.approx(sigmoid(-4.0) - 0.5)


def test_every_pixel_covered_when_stride_does_not_divide():
    model = SinglePixelModel(row=6, col=8)  # the last row and column
    image = torch.ones(1, 1, 7, 9)
    result = occlusion_sensitivity(model, image, target=0, window=3, stride=2)

    assert not torch.isnan(result.probability).any()
    # The window starting at size - window covers the corner pixel and changes the map there.
    assert result.drop[0, 6, 8] > 0
    assert window_starts(7, 3, 2) == [0, 2, 4]
    assert window_starts(9, 3, 2) == [0, 2, 4, 6]
    assert window_starts(8, 3, 2) == [0, 2, 4, 5]
    assert result.num_windows == 3 * 4


@pytest.mark.parametrize(("size", "window", "stride"), [(10, 4, 3), (28, 5, 3), (7, 7, 1), (9, 2, 2)])
def test_window_starts_cover_every_pixel(size, window, stride):
    starts = window_starts(size, window, stride)
    covered = torch.zeros(size, dtype=torch.bool)
    for start in starts:
        assert 0 <= start <= size - window
        covered[start : start + window] = True
    assert covered.all()
    assert starts == sorted(set(starts))


def test_batch_size_does_not_change_result():
    torch.manual_seed(0)
    model = small_cnn(channels=3).eval()
    images = torch.randn(2, 3, 12, 10)
    one = occlusion_sensitivity(model, images, window=4, stride=2, batch_size=1)
    many = occlusion_sensitivity(model, images, window=4, stride=2, batch_size=64)
    torch.testing.assert_close(one.probability, many.probability)
    torch.testing.assert_close(one.drop, many.drop)


def test_batch_equals_images_one_by_one():
    torch.manual_seed(1)
    model = small_cnn(channels=1).eval()
    images = torch.randn(3, 1, 8, 8)
    batch = occlusion_sensitivity(model, images, target=[0, 1, 2], window=3, stride=1)
    for index in range(3):
        single = occlusion_sensitivity(model, images[index], target=index, window=3, stride=1)
        torch.testing.assert_close(batch.probability[index], single.probability[0])


def test_counts_forward_passes():
    calls = []

    class Counting(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(x.shape[0])
            return torch.zeros(x.shape[0], 2)

    occlusion_sensitivity(Counting(), torch.zeros(1, 1, 6, 6), window=2, stride=1, batch_size=10)
    # One pass for the unoccluded image, then the 25 windows in batches of at most 10.
    assert calls == [1, 10, 10, 5]


def test_normalized_fill_black_and_grey():
    mean, std = [0.2860], [0.3530]
    black = normalized_fill(0.0, mean, std)
    grey = normalized_fill(0.5, mean, std)
    assert black.shape == (1, 1, 1)
    assert black.item() == pytest.approx(-0.2860 / 0.3530)
    assert grey.item() == pytest.approx((0.5 - 0.2860) / 0.3530)


def test_per_channel_baseline_fills_each_channel():
    seen = []

    class Recording(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.clone())
            return torch.zeros(x.shape[0], 2)

    baseline = torch.tensor([1.0, 2.0, 3.0])[:, None, None]
    occlusion_sensitivity(Recording(), torch.zeros(1, 3, 2, 2), window=2, stride=2, baseline=baseline)
    occluded = seen[1][0]
    for channel, value in enumerate([1.0, 2.0, 3.0]):
        assert torch.equal(occluded[channel], torch.full((2, 2), value))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": 3, "stride": 4}, "a stride larger than the window"),
        ({"window": 9, "stride": 1}, "invalid window 9"),
        ({"window": 2, "stride": 0}, "invalid stride 0"),
        ({"window": 2, "stride": 1, "batch_size": 0}, "invalid batch_size 0"),
        ({"window": 2, "stride": 1, "baseline": torch.zeros(2, 1, 1)}, "invalid baseline shape"),
        ({"window": 2, "stride": 1, "target": 5}, r"invalid target \[5\]"),
    ],
)
def test_invalid_arguments_rejected(options, message):
    model = small_cnn(channels=3).eval()
    with pytest.raises(ValueError, match=message):
        occlusion_sensitivity(model, torch.zeros(1, 3, 8, 8), **options)


# --- parity with captum -------------------------------------------------------------------------


def small_cnn(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 6, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )


@pytest.mark.parametrize(
    ("size", "window", "stride"),
    [((12, 12), 4, 2), ((12, 16), (4, 6), (2, 2)), ((10, 10), 3, 1)],
)
def test_drop_matches_captum_occlusion(size, window, stride):
    """captum's attribution is f(x) - f(occluded) averaged over windows; with f the softmax it is D.

    In every case the stride divides size - window, where captum's window positions equal ours.
    """
    from captum.attr import Occlusion

    torch.manual_seed(2)
    channels = 3
    model = small_cnn(channels).eval()
    images = torch.randn(2, channels, *size) * 2
    targets = [1, 3]
    baseline = normalized_fill(0.5, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])

    ours = occlusion_sensitivity(model, images, targets, window=window, stride=stride, baseline=baseline)

    window_h, window_w = (window, window) if isinstance(window, int) else window
    stride_h, stride_w = (stride, stride) if isinstance(stride, int) else stride
    occlusion = Occlusion(lambda x: model(x).softmax(dim=1))
    theirs = occlusion.attribute(
        images,
        sliding_window_shapes=(channels, window_h, window_w),
        strides=(channels, stride_h, stride_w),
        baselines=baseline.expand(1, channels, *size),
        target=targets,
    )

    assert theirs.shape == images.shape
    for channel in range(channels):
        torch.testing.assert_close(theirs[:, channel], ours.drop, atol=CAPTUM_TOLERANCE, rtol=0)
    assert ours.drop.abs().max() > 1e-3, "a flat drop map would make the comparison empty"
