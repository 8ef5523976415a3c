"""Tests of cvnotes.losses: hand-worked values, torchvision parity, gradients, input checks."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss as torchvision_sigmoid_focal_loss

from cvnotes.losses import (
    SigmoidFocalLoss,
    SoftmaxFocalLoss,
    balanced_cross_entropy,
    sigmoid_focal_loss,
    softmax_focal_loss,
)

LN2 = math.log(2.0)
GAMMAS = [0.0, 0.1, 0.5, 0.9, 1.0, 2.0, 5.0]


def logit(probability: float) -> float:
    return math.log(probability) - math.log1p(-probability)


# --- values worked out by hand -------------------------------------------------------------


def test_sigmoid_focal_loss_at_zero_logit():
    # p = 0.5, so CE = ln 2 and (1 - p_t) ** 2 = 0.25 for either target.
    logits = torch.zeros(2, dtype=torch.float64)
    targets = torch.tensor([1.0, 0.0], dtype=torch.float64)
    loss = sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0)
    assert loss[0].item() == pytest.approx(0.25 * 0.25 * LN2, rel=1e-12)
    assert loss[1].item() == pytest.approx(0.75 * 0.25 * LN2, rel=1e-12)


def test_sigmoid_focal_loss_well_classified_positive():
    # p_t = 0.9: FL = (0.1) ** 2 * -ln(0.9), 100 times less than CE.
    logits = torch.tensor([logit(0.9)], dtype=torch.float64)
    targets = torch.ones(1, dtype=torch.float64)
    focal = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=2.0).item()
    cross_entropy = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=0.0).item()
    assert focal == pytest.approx(0.01 * -math.log(0.9), rel=1e-12)
    assert cross_entropy == pytest.approx(-math.log(0.9), rel=1e-12)
    assert cross_entropy / focal == pytest.approx(100.0, rel=1e-9)


def test_sigmoid_focal_loss_easy_negative():
    # A background box predicted at 0.05 is an easy negative: p_t = 0.95.
    logits = torch.tensor([logit(0.05)], dtype=torch.float64)
    targets = torch.zeros(1, dtype=torch.float64)
    loss = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=2.0).item()
    assert loss == pytest.approx(0.05**2 * -math.log(0.95), rel=1e-12)


def test_sigmoid_focal_loss_soft_target():
    # t = 0.5 at p = 0.5: p_t = 0.5, bracket = ln 2, alpha_t = 0.5 for any alpha.
    loss = sigmoid_focal_loss(
        torch.zeros(1, dtype=torch.float64), torch.full((1,), 0.5, dtype=torch.float64), alpha=0.25, gamma=2.0
    )
    assert loss.item() == pytest.approx(0.5 * 0.25 * LN2, rel=1e-12)


def test_softmax_focal_loss_hand_case():
    # softmax([0, ln 2, 0]) = [0.25, 0.5, 0.25].
    logits = torch.tensor([[0.0, LN2, 0.0], [0.0, LN2, 0.0]], dtype=torch.float64)
    targets = torch.tensor([1, 0])
    loss = softmax_focal_loss(logits, targets, gamma=2.0, reduction="none")
    assert loss[0].item() == pytest.approx(0.25 * LN2, rel=1e-12)
    assert loss[1].item() == pytest.approx(0.75**2 * math.log(4.0), rel=1e-12)

    weighted = softmax_focal_loss(logits, targets, alpha=[2.0, 0.5, 1.0], gamma=2.0, reduction="none")
    assert weighted[0].item() == pytest.approx(0.5 * 0.25 * LN2, rel=1e-12)
    assert weighted[1].item() == pytest.approx(2.0 * 0.75**2 * math.log(4.0), rel=1e-12)


def test_balanced_cross_entropy_is_alpha_weighted_bce():
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0], dtype=torch.float64)
    targets = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    alpha_t = torch.tensor([0.25, 0.25, 0.75, 0.75], dtype=torch.float64)
    expected = alpha_t * F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    torch.testing.assert_close(balanced_cross_entropy(logits, targets, alpha=0.25), expected)


def test_alpha_weights_positives_and_negatives():
    logits = torch.tensor([1.5, -0.5], dtype=torch.float64)
    for target in (1.0, 0.0):
        targets = torch.full_like(logits, target)
        unweighted = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=2.0)
        weighted = sigmoid_focal_loss(logits, targets, alpha=0.3, gamma=2.0)
        factor = 0.3 if target == 1.0 else 0.7
        torch.testing.assert_close(weighted, factor * unweighted)


def test_alpha_none_equals_minus_one():
    logits = torch.randn(16, dtype=torch.float64)
    targets = (torch.rand(16) < 0.5).double()
    torch.testing.assert_close(
        sigmoid_focal_loss(logits, targets, alpha=None), sigmoid_focal_loss(logits, targets, alpha=-1)
    )


@pytest.mark.parametrize("function", [sigmoid_focal_loss, balanced_cross_entropy])
def test_reductions_agree(function):
    logits = torch.randn(4, 7, dtype=torch.float64)
    targets = (torch.rand(4, 7) < 0.3).double()
    per_element = function(logits, targets, reduction="none")
    assert per_element.shape == logits.shape
    torch.testing.assert_close(function(logits, targets, reduction="sum"), per_element.sum())
    torch.testing.assert_close(function(logits, targets, reduction="mean"), per_element.mean())


# --- parity with reference implementations -------------------------------------------------


def parity_logits(dtype: torch.dtype) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    ordinary = 4 * torch.randn(2000, generator=generator, dtype=dtype)
    saturated = torch.tensor([-100.0, -40.0, -20.0, -10.0, 10.0, 20.0, 40.0, 100.0], dtype=dtype)
    return torch.cat([ordinary, saturated, saturated])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("alpha", [0.25, 0.0, 0.5, 1.0, -1])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_sigmoid_focal_loss_matches_torchvision(dtype, alpha, gamma):
    logits = parity_logits(dtype)
    generator = torch.Generator().manual_seed(1)
    hard_targets = (torch.rand(logits.shape, generator=generator) < 0.5).to(dtype)
    soft_targets = torch.rand(logits.shape, generator=generator).to(dtype)
    for targets in (hard_targets, soft_targets):
        ours = sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma)
        theirs = torchvision_sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma)
        finite = torch.isfinite(theirs)
        assert bool(finite.all()), "torchvision's values should be finite for these inputs"
        # float32 losses reach ~100 nats, where one ulp is ~1e-5; compare relatively there.
        rtol = 0.0 if dtype == torch.float64 else 1e-6
        torch.testing.assert_close(ours[finite], theirs[finite], atol=1e-6, rtol=rtol)
    for reduction in ("mean", "sum"):
        torch.testing.assert_close(
            sigmoid_focal_loss(logits, hard_targets, alpha=alpha, gamma=gamma, reduction=reduction),
            torchvision_sigmoid_focal_loss(
                logits, hard_targets, alpha=alpha, gamma=gamma, reduction=reduction
            ),
            atol=1e-6,
            rtol=1e-6,
        )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_softmax_focal_loss_gamma_zero_equals_cross_entropy(reduction):
    generator = torch.Generator().manual_seed(2)
    logits = 5 * torch.randn(3, 4, 6, 5, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 4, (3, 6, 5), generator=generator)
    targets[0, 0, :] = -100  # ignored pixels
    weights = torch.tensor([0.2, 1.0, 3.0, 0.5], dtype=torch.float64)
    for alpha in (None, weights):
        ours = softmax_focal_loss(logits, targets, alpha=alpha, gamma=0.0, reduction=reduction)
        reference = F.cross_entropy(logits, targets, weight=alpha, reduction=reduction)
        torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)


def test_softmax_focal_loss_two_classes_matches_sigmoid():
    # softmax over [0, x] is sigmoid(x) for class 1, so both forms agree.
    x = torch.randn(50, dtype=torch.float64)
    targets = (torch.rand(50) < 0.5).long()
    two_class_logits = torch.stack([torch.zeros_like(x), x], dim=1)
    torch.testing.assert_close(
        softmax_focal_loss(two_class_logits, targets, gamma=2.0, reduction="none"),
        sigmoid_focal_loss(x, targets.double(), alpha=-1, gamma=2.0),
    )


# --- numerical stability ---------------------------------------------------------------------

SATURATED = [-1e4, -1e3, -100.0, -40.0, -20.0, 0.0, 20.0, 40.0, 100.0, 1e3, 1e4]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_sigmoid_focal_loss_gradients_finite(dtype, gamma):
    logits = torch.tensor(SATURATED, dtype=dtype, requires_grad=True)
    for target in (0.0, 1.0, 0.3):
        targets = torch.full_like(logits, target)
        loss = sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=gamma, reduction="sum")
        (gradient,) = torch.autograd.grad(loss, logits)
        assert bool(torch.isfinite(loss)), f"loss not finite for target {target}"
        assert bool(torch.isfinite(gradient).all()), f"gradient {gradient.tolist()} for target {target}"


def test_naive_focal_loss_gradient_is_nan_at_saturation():
    # Guards the stability test above: these inputs do break the textbook formula.
    logits = torch.tensor([40.0], requires_grad=True)
    probability = torch.sigmoid(logits)
    naive = -((1 - probability) ** 0.5) * torch.log(probability)
    (gradient,) = torch.autograd.grad(naive.sum(), logits)
    assert bool(torch.isnan(gradient).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_softmax_focal_loss_gradients_finite(dtype, gamma):
    logits = torch.tensor(
        [[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [100.0, 0.0, -100.0], [0.0, 0.0, 0.0]],
        dtype=dtype,
        requires_grad=True,
    )
    for target_class in range(3):
        targets = torch.full((4,), target_class)
        loss = softmax_focal_loss(logits, targets, gamma=gamma, reduction="sum")
        (gradient,) = torch.autograd.grad(loss, logits)
        assert bool(torch.isfinite(loss)), f"loss not finite for class {target_class}"
        assert bool(torch.isfinite(gradient).all()), f"gradient {gradient.tolist()} for class {target_class}"


def test_softmax_focal_loss_ignored_positions_get_no_gradient():
    logits = torch.randn(4, 3, requires_grad=True)
    targets = torch.tensor([0, -100, 2, -100])
    loss = softmax_focal_loss(logits, targets, gamma=2.0, reduction="sum")
    (gradient,) = torch.autograd.grad(loss, logits)
    assert bool((gradient[[1, 3]] == 0).all())
    assert bool((gradient[[0, 2]] != 0).any())


# --- invalid input -----------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [1.5, -0.5, 2.0, -2.0, -1.0001])
def test_invalid_alpha_raises_with_value(alpha):
    with pytest.raises(ValueError, match=f"invalid alpha {alpha!r}"):
        sigmoid_focal_loss(torch.zeros(2), torch.ones(2), alpha=alpha)
    with pytest.raises(ValueError, match=f"invalid alpha {alpha!r}"):
        SigmoidFocalLoss(alpha=alpha)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.25, -1, None])
def test_valid_alpha_accepted(alpha):
    assert bool(torch.isfinite(sigmoid_focal_loss(torch.zeros(2), torch.ones(2), alpha=alpha)).all())


def test_invalid_gamma_reduction_and_shape():
    with pytest.raises(ValueError, match="invalid gamma -1"):
        sigmoid_focal_loss(torch.zeros(2), torch.ones(2), gamma=-1.0)
    with pytest.raises(ValueError, match="invalid gamma nan"):
        softmax_focal_loss(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), gamma=float("nan"))
    with pytest.raises(ValueError, match="invalid reduction 'avg'"):
        sigmoid_focal_loss(torch.zeros(2), torch.ones(2), reduction="avg")
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        sigmoid_focal_loss(torch.zeros(2), torch.ones(3))


def test_softmax_invalid_inputs():
    logits = torch.zeros(2, 3)
    targets = torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="one weight per class"):
        softmax_focal_loss(logits, targets, alpha=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"invalid alpha \[1.0, -1.0, 1.0\]"):
        softmax_focal_loss(logits, targets, alpha=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="C >= 2"):
        softmax_focal_loss(torch.zeros(2, 1), targets)
    with pytest.raises(ValueError, match="targets must have shape"):
        softmax_focal_loss(logits, torch.zeros(3, dtype=torch.long))
    with pytest.raises(IndexError, match=r"target 3 is outside the class range \[0, 3\)"):
        softmax_focal_loss(logits, torch.tensor([0, 3]))


# --- module forms -------------------------------------------------------------------------------


def test_modules_match_functions():
    logits = torch.randn(8, 5)
    labels = torch.randint(0, 5, (8,))
    binary_targets = (torch.rand(8, 5) < 0.2).float()
    torch.testing.assert_close(
        SigmoidFocalLoss(alpha=0.25, gamma=2.0, reduction="sum")(logits, binary_targets),
        sigmoid_focal_loss(logits, binary_targets, alpha=0.25, gamma=2.0, reduction="sum"),
    )
    weights = [1.0, 2.0, 0.5, 1.0, 1.0]
    criterion = SoftmaxFocalLoss(alpha=weights, gamma=1.0)
    torch.testing.assert_close(
        criterion(logits, labels), softmax_focal_loss(logits, labels, alpha=weights, gamma=1.0)
    )
    assert "alpha" in dict(criterion.named_buffers())


def test_every_combination_runs():
    logits = torch.randn(3, 4)
    targets = torch.randint(0, 2, (3, 4)).float()
    for gamma, alpha, reduction in itertools.product(GAMMAS, [0.25, -1], ["none", "mean", "sum"]):
        loss = sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma, reduction=reduction)
        assert bool(torch.isfinite(loss).all())


def test_softmax_module_rejects_negative_weight():
    with pytest.raises(ValueError, match=r"invalid alpha \[1.0, -0.5\]"):
        SoftmaxFocalLoss(alpha=[1.0, -0.5])
