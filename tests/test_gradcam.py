"""Tests of cvnotes.gradcam: maps worked out by hand, hooks, and parity with pytorch-grad-cam."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cvnotes.gradcam import LayerCapture, grad_cam, normalize_maps, resolve_layer

# Parity with pytorch-grad-cam 1.5.7. The weighted sums at the layer's size agree to float32
# rounding. The resized maps differ more: pytorch-grad-cam resizes with OpenCV's bilinear
# interpolation, whose result differs from torch's (align_corners=False) by up to about 1.3e-5
# on maps scaled to [0, 1] (measured on the ResNet-18 cases below).
RAW_TOLERANCE = 1e-6
RESIZED_TOLERANCE = 5e-5


class DesignedCNN(nn.Module):
    """Conv (identity 1x1) -> optional ReLU -> global average pool -> linear, with set weights.

    The feature maps A^k equal the input channels, and y^c = sum_k W[c, k] * mean(A^k), so
    dy^c / dA^k_ij = W[c, k] / Z at every position and alpha_k^c = W[c, k] / Z, where Z = h * w.
    With the ReLU, the gradient is zero where A^k_ij <= 0.
    """

    def __init__(self, class_weights: torch.Tensor, relu: nn.Module | None = None) -> None:
        super().__init__()
        num_classes, channels = class_weights.shape
        self.conv = nn.Conv2d(channels, channels, kernel_size=1, bias=False)
        self.relu = relu if relu is not None else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(channels)[:, :, None, None])
            self.fc.weight.copy_(class_weights)
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


# Class 0 weights channel 0 by +2 and channel 1 by -1; class 1 weights both negatively.
CLASS_WEIGHTS = torch.tensor([[2.0, -1.0], [-1.0, -1.0]])


def designed_maps() -> torch.Tensor:
    """Two 4x6 feature maps (non-square): a blob top left in channel 0, bottom right in channel 1."""
    maps = torch.zeros(1, 2, 4, 6)
    maps[0, 0, 0:2, 0:2] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    maps[0, 1, 2:4, 4:6] = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
    return maps


def all_hooks_removed(model: nn.Module) -> bool:
    return all(
        not module._forward_hooks
        and not module._forward_pre_hooks
        and not module._backward_hooks
        and not module._backward_pre_hooks
        for module in model.modules()
    )


# --- maps worked out by hand -------------------------------------------------------------------


def test_designed_model_weights_and_map_exact():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    maps = designed_maps()
    result = grad_cam(model, maps, "conv", target=0, resize=False, normalize=False, relu=False)

    positions = 4 * 6
    expected_weights = CLASS_WEIGHTS[0] / positions
    torch.testing.assert_close(result.weights[0], expected_weights)
    expected = (2.0 * maps[0, 0] - maps[0, 1]) / positions
    torch.testing.assert_close(result.raw_cam[0], expected)
    torch.testing.assert_close(result.cam[0], expected)
    torch.testing.assert_close(result.activations, maps)
    assert result.target.tolist() == [0]


def test_designed_model_relu_keeps_class_evidence():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    maps = designed_maps()
    result = grad_cam(model, maps, "conv", target=0, resize=False)

    # After the ReLU only channel 0's blob is left; the maximum 2 * 4 / 24 scales to 1.
    expected = torch.zeros(4, 6)
    expected[0:2, 0:2] = torch.tensor([[1.0, 2.0], [3.0, 4.0]]) / 4.0
    torch.testing.assert_close(result.cam[0], expected)


def test_designed_model_without_relu_keeps_sign():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    maps = designed_maps()
    result = grad_cam(model, maps, "conv", target=0, resize=False, relu=False)

    # Signed maps are divided by the largest absolute value, 8 / 24 from channel 1.
    expected = (2.0 * maps[0, 0] - maps[0, 1]) / 8.0
    torch.testing.assert_close(result.cam[0], expected)
    assert result.cam.min() == -1.0


def test_designed_model_counterfactual_shows_counter_evidence():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    maps = designed_maps()
    result = grad_cam(model, maps, "conv", target=0, resize=False, counterfactual=True)

    torch.testing.assert_close(result.weights[0], -CLASS_WEIGHTS[0] / 24)
    expected = torch.zeros(4, 6)
    expected[2:4, 4:6] = torch.tensor([[5.0, 6.0], [7.0, 8.0]]) / 8.0
    torch.testing.assert_close(result.cam[0], expected)


def test_all_negative_map_gives_zeros_not_nan():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    # Both channels are > 0 everywhere and class 1 weights both by -1.
    result = grad_cam(model, designed_maps() + 1.0, "conv", target=1)

    assert result.raw_cam.max() < 0
    assert not torch.isnan(result.cam).any()
    assert torch.equal(result.cam, torch.zeros(1, 4, 6))


def test_resize_gives_input_size_for_non_square_input():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()
    inputs = torch.randn(2, 3, 10, 16)
    result = grad_cam(model, inputs, "0", target=2)

    assert result.raw_cam.shape == (2, 5, 8)
    assert result.cam.shape == (2, 10, 16)
    for image in range(2):
        assert result.cam[image].max() == pytest.approx(1.0) or result.cam[image].max() == 0.0
    assert result.cam.min() >= 0.0


def test_inplace_relu_after_layer_matches_out_of_place():
    """With ReLU(inplace=True) after the conv, the recorded A^k must still be the conv output."""
    maps = designed_maps() - 2.0  # negative values, so the ReLU changes them
    inplace = DesignedCNN(CLASS_WEIGHTS, relu=nn.ReLU(inplace=True)).eval()
    out_of_place = DesignedCNN(CLASS_WEIGHTS, relu=nn.ReLU()).eval()

    first = grad_cam(inplace, maps, "conv", target=0, resize=False, normalize=False, relu=False)
    second = grad_cam(out_of_place, maps, "conv", target=0, resize=False, normalize=False, relu=False)

    torch.testing.assert_close(first.activations, maps)
    torch.testing.assert_close(first.raw_cam, second.raw_cam)
    # The gradient passes only where the conv output is positive: 2 of 24 positions in channel 0.
    expected_weights = torch.tensor([2.0 * 2 / 24 / 24, -1.0 * 4 / 24 / 24])
    torch.testing.assert_close(first.weights[0], expected_weights)


def test_batch_equals_images_one_by_one():
    torch.manual_seed(1)
    model = torchvision.models.resnet18(weights=None, num_classes=7).eval()
    inputs = torch.randn(3, 3, 64, 80)
    batch = grad_cam(model, inputs, "layer3", target=[0, 3, 6])
    for index, label in enumerate([0, 3, 6]):
        single = grad_cam(model, inputs[index], "layer3", target=label)
        torch.testing.assert_close(batch.cam[index], single.cam[0], atol=1e-5, rtol=1e-4)


def test_default_target_is_top_class():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    result = grad_cam(model, designed_maps(), "conv")
    assert result.target.tolist() == [int(result.logits.argmax())]


def test_normalize_maps_guards_zero_maps():
    maps = torch.stack([torch.zeros(2, 2), -torch.ones(2, 2), torch.tensor([[0.0, 3.0], [1.5, 0.0]])])
    scaled = normalize_maps(maps.clamp_min(0))
    assert not torch.isnan(scaled).any()
    torch.testing.assert_close(scaled[2], torch.tensor([[0.0, 1.0], [0.5, 0.0]]))
    signed = normalize_maps(maps, signed=True)
    torch.testing.assert_close(signed[1], -torch.ones(2, 2))


def test_parameter_gradients_untouched():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    grad_cam(model, designed_maps(), "conv", target=0)
    assert all(parameter.grad is None for parameter in model.parameters())


def test_frozen_parameters_still_give_map():
    model = DesignedCNN(CLASS_WEIGHTS).eval().requires_grad_(False)
    result = grad_cam(model, designed_maps(), "conv", target=0, resize=False)
    assert result.cam.max() == 1.0


# --- invalid input ------------------------------------------------------------------------------


def test_unknown_layer_name_lists_layers():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    with pytest.raises(ValueError, match="no layer named 'conv9'.*conv, relu, pool, fc"):
        grad_cam(model, designed_maps(), "conv9")


def test_foreign_layer_module_rejected():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    with pytest.raises(ValueError, match="not a submodule"):
        resolve_layer(model, nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match="invalid layer 3"):
        resolve_layer(model, 3)


def test_target_out_of_range_rejected():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    with pytest.raises(ValueError, match=r"invalid target \[2\]: class indices must be in \[0, 2\)"):
        grad_cam(model, designed_maps(), "conv", target=2)
    with pytest.raises(ValueError, match="invalid target shape"):
        grad_cam(model, designed_maps(), "conv", target=[0, 1])


def test_layer_after_score_path_rejected():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    with pytest.raises(RuntimeError, match="Grad-CAM needs feature maps"):
        grad_cam(model, designed_maps(), "fc")


def test_unused_layer_rejected():
    model = DesignedCNN(CLASS_WEIGHTS).eval()
    model.unused = nn.Conv2d(2, 2, 1)
    with pytest.raises(RuntimeError, match="ran 0 times"):
        grad_cam(model, designed_maps(), "unused")


def test_training_mode_warns():
    model = DesignedCNN(CLASS_WEIGHTS).train()
    with pytest.warns(UserWarning, match="training mode"):
        grad_cam(model, designed_maps(), "conv")


# --- hooks --------------------------------------------------------------------------------------


def test_hooks_removed_after_100_runs():
    torch.manual_seed(2)
    model = torchvision.models.resnet18(weights=None, num_classes=5).eval()
    inputs = torch.randn(1, 3, 32, 32)
    for run in range(100):
        grad_cam(model, inputs, "layer4" if run % 2 else "layer2.1.conv1", target=run % 5)
    assert all_hooks_removed(model)


class FailsAfterLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.conv(x)
        raise RuntimeError("forward failed on purpose")


def test_hooks_removed_when_forward_raises():
    model = FailsAfterLayer().eval()
    with pytest.raises(RuntimeError, match="forward failed on purpose"):
        grad_cam(model, torch.randn(1, 1, 3, 3), "conv")
    assert all_hooks_removed(model)


def test_layer_capture_removes_hooks_on_error():
    layer = nn.Conv2d(1, 1, 1)
    with pytest.raises(ValueError, match="inside the block"), LayerCapture(layer):
        assert len(layer._forward_hooks) == 1
        raise ValueError("inside the block")
    assert not layer._forward_hooks


# --- parity with pytorch-grad-cam ---------------------------------------------------------------


def min_max(maps: torch.Tensor) -> np.ndarray:
    """Rescale each map as pytorch-grad-cam 1.5.7's scale_cam_image does."""
    array = maps.numpy()
    array = array - array.min(axis=(1, 2), keepdims=True)
    return array / (1e-7 + array.max(axis=(1, 2), keepdims=True))


@pytest.mark.parametrize("layer", ["layer4", "layer3.1.conv2", "layer2"])
def test_matches_pytorch_grad_cam_on_resnet(layer):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(3)
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    inputs = torch.randn(2, 3, 64, 96)
    targets = [4, 7]

    ours = grad_cam(model, inputs, layer, target=targets, normalize=False)
    module = model.get_submodule(layer)
    with GradCAM(model=model, target_layers=[module]) as reference:
        theirs = reference(input_tensor=inputs, targets=[ClassifierOutputTarget(t) for t in targets])
        recorded = reference.activations_and_grads
        activations = recorded.activations[0].numpy()
        their_sum = reference.get_cam_image(inputs, module, None, activations, recorded.gradients[0].numpy())

    scale = np.abs(their_sum).max()
    np.testing.assert_allclose(ours.raw_cam.numpy() / scale, their_sum / scale, atol=RAW_TOLERANCE)
    assert theirs.shape == (2, 64, 96)
    assert theirs.max() > 0.99, "an all-zero map would make the comparison empty"
    np.testing.assert_allclose(min_max(ours.cam), theirs, atol=RESIZED_TOLERANCE)
    assert all_hooks_removed(model)


def test_counterfactual_matches_pytorch_grad_cam_with_negated_score():
    from pytorch_grad_cam import GradCAM

    torch.manual_seed(4)
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    inputs = torch.randn(1, 3, 64, 64)

    ours = grad_cam(model, inputs, "layer4", target=2, counterfactual=True, normalize=False)
    with GradCAM(model=model, target_layers=[model.layer4]) as reference:
        theirs = reference(input_tensor=inputs, targets=[lambda output: -output[2]])

    assert theirs.max() > 0.99, "an all-zero map would make the comparison empty"
    np.testing.assert_allclose(min_max(ours.cam), theirs, atol=RESIZED_TOLERANCE)
