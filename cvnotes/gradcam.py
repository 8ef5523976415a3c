r"""Grad-CAM: where a CNN looks for the evidence of one class.

Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh and Batra, "Grad-CAM:
Visual Explanations from Deep Networks via Gradient-based Localization",
ICCV 2017) weights the feature maps $A^k$ of a convolutional layer by how much
the class score $y^c$ grows with each of them. The map is the positive part of
the weighted sum:

$$
\alpha_k^c = \frac{1}{Z} \sum_{i} \sum_{j} \frac{\partial y^c}{\partial A^k_{ij}}, \qquad
L^c_{\text{Grad-CAM}} = \mathrm{ReLU}\Big(\sum_k \alpha_k^c A^k\Big).
$$

$y^c$ is the score before the softmax (the logit) and $Z$ is the number of
positions $(i, j)$ of the feature map. The ReLU acts after the weighted sum, so
a position counts when its channels together raise $y^c$. The paper's
counterfactual explanation negates the gradients, which highlights the regions
whose removal would raise the confidence in class $c$.

[`grad_cam`][cvnotes.gradcam.grad_cam] computes the map for a batch, for a layer
given by name or as a module. [`LayerCapture`][cvnotes.gradcam.LayerCapture] owns
the hooks that record the layer's output and its gradient, and removes them on
exit, also when the forward or the backward pass raises.

The tests check that the map equals pytorch-grad-cam's ``GradCAM`` (1.5.7, which
rescales each map to [0, 1] by its minimum and maximum) after the same rescaling.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from types import TracebackType

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from cvnotes._targets import TargetLike, resolve_targets

__all__ = ["GradCAMResult", "LayerCapture", "grad_cam", "normalize_maps", "resolve_layer"]


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """Return the submodule of ``model`` named ``layer``, or ``layer`` itself if it is a module of it.

    Args:
        model: The network.
        layer: A dotted name as listed by ``model.named_modules()`` (``"layer4"``,
            ``"features.3"``, ``"layer4.1.conv2"``), or the module object.

    Raises:
        ValueError: If no submodule has that name, or the module is not part of ``model``.
        TypeError: If ``layer`` is neither a string nor a module.

    Examples:
        >>> model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        >>> resolve_layer(model, "0")
        Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))
    """
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except AttributeError as exc:
            names = [name for name, _ in model.named_modules() if name]
            listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise ValueError(f"model has no layer named {layer!r}; its layers include: {listed}") from exc
    if isinstance(layer, nn.Module):
        if not any(module is layer for module in model.modules()):
            raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
        return layer
    raise TypeError(f"invalid layer {layer!r}: pass a submodule name (str) or an nn.Module")


class LayerCapture:
    """Record one layer's output in the forward pass and its gradient in the backward pass.

    Use it as a context manager: the hooks exist only inside the ``with`` block
    and are removed on exit, also when the block raises (the error propagates).

    The forward hook stores a detached copy of the output, because a later
    in-place operation (``nn.ReLU(inplace=True)`` right after a convolution, as in
    torchvision's ResNet) would otherwise overwrite the recorded values. The
    gradient comes from a hook on the output tensor itself. PyTorch calls a
    tensor hook with the gradient with respect to the value the tensor had when
    the hook was registered, so an in-place change after the layer does not
    alter it either.

    Attributes:
        activation: The layer's output of the last forward pass, detached, shape
            ``(B, K, h, w)``; ``None`` before a forward pass.
        gradient: The gradient of the backward pass with respect to that output,
            same shape; ``None`` until a backward pass reaches the layer.
        calls: How many times the layer ran in the forward pass.

    Examples:
        >>> model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True), nn.Flatten())
        >>> x = torch.randn(1, 1, 5, 5, requires_grad=True)
        >>> with LayerCapture(model[0]) as capture:
        ...     model(x).sum().backward()
        >>> capture.activation.shape, capture.gradient.shape
        (torch.Size([1, 2, 3, 3]), torch.Size([1, 2, 3, 3]))
        >>> len(model[0]._forward_hooks)
        0
    """

    def __init__(self, layer: nn.Module) -> None:
        self.layer = layer
        self.activation: Tensor | None = None
        self.gradient: Tensor | None = None
        self.calls = 0
        self._handles: list[RemovableHandle] = []

    def _record(self, module: nn.Module, inputs: tuple[object, ...], output: object) -> None:
        if not isinstance(output, Tensor):
            raise TypeError(
                f"layer {type(module).__name__} returned {type(output).__name__}, not a tensor: "
                "choose a layer whose output is one feature map tensor"
            )
        self.calls += 1
        self.activation = output.detach().clone()
        if output.requires_grad:
            self._handles.append(output.register_hook(self._record_gradient))

    def _record_gradient(self, gradient: Tensor) -> None:
        self.gradient = gradient.detach().clone()

    def __enter__(self) -> LayerCapture:
        self._handles.append(self.layer.register_forward_hook(self._record))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this capture registered; calling it twice is harmless."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


@dataclass(frozen=True)
class GradCAMResult:
    """Grad-CAM maps of a batch and the numbers behind them.

    Attributes:
        cam: The maps, shape ``(B, H, W)``: resized to the input size unless
            ``resize=False`` (then ``(B, h, w)``, the layer's size), and scaled per
            image unless ``normalize=False`` (see
            [`normalize_maps`][cvnotes.gradcam.normalize_maps]).
        raw_cam: $\\sum_k \\alpha_k^c A^k$ at the layer's size ``(B, h, w)``,
            before the ReLU, resizing and scaling; with ``counterfactual=True``,
            its negation.
        weights: The channel weights $\\alpha_k^c$, shape ``(B, K)``, negated
            when ``counterfactual=True``.
        activations: The layer's feature maps $A^k$, shape ``(B, K, h, w)``.
        logits: The model's output, shape ``(B, num_classes)``.
        target: The class explained for each image, shape ``(B,)``.
    """

    cam: Tensor
    raw_cam: Tensor
    weights: Tensor
    activations: Tensor
    logits: Tensor
    target: Tensor


def normalize_maps(maps: Tensor, *, signed: bool = False) -> Tensor:
    """Scale each map of a batch by its own maximum, guarding against all-zero maps.

    Args:
        maps: Maps of shape ``(B, H, W)``.
        signed: ``False`` divides by the maximum, for maps that are >= 0 (the
            ReLU maps), giving [0, 1]. ``True`` divides by the maximum absolute
            value, giving [-1, 1] with the sign and the zero level kept.

    Returns:
        The scaled maps, same shape. A map whose scale is 0 stays all zeros
        (no division by zero, so no NaN).

    Examples:
        >>> normalize_maps(torch.tensor([[[0.0, 2.0]], [[0.0, 0.0]]]))
        tensor([[[0., 1.]],
        <BLANKLINE>
                [[0., 0.]]])
    """
    if maps.dim() != 3:
        raise ValueError(f"invalid maps shape {tuple(maps.shape)}: expected (B, H, W)")
    values = maps.abs() if signed else maps
    scale = values.flatten(1).amax(dim=1).clamp_min(0.0)
    # A map without a positive value (all zero, or all negative before the ReLU) keeps its zeros.
    safe_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return maps / safe_scale[:, None, None]


def grad_cam(
    model: nn.Module,
    inputs: Tensor,
    layer: str | nn.Module,
    target: TargetLike = None,
    *,
    relu: bool = True,
    counterfactual: bool = False,
    resize: bool = True,
    normalize: bool = True,
) -> GradCAMResult:
    r"""Compute the Grad-CAM map of class ``target`` at ``layer`` for each image of a batch.

    The score $y^c$ is the model's output for class $c$, which must be the
    pre-softmax logit: the gradient of a probability also depends on every other
    class, which is not what Grad-CAM weights by. The model is not switched to
    eval mode here. Call ``model.eval()`` first, because in training mode
    BatchNorm mixes the images of a batch and dropout makes the map random.

    Args:
        model: A classifier that maps ``(B, C, H, W)`` to logits ``(B, num_classes)``.
            In-place ReLUs are fine (see [`LayerCapture`][cvnotes.gradcam.LayerCapture]).
        inputs: Images as the model takes them (already normalised), shape
            ``(B, C, H, W)`` or ``(C, H, W)``; H and W need not be equal.
        layer: The layer whose output feature maps $A^k$ are weighted, by name
            (``"layer4"``) or as a module. Its output must be ``(B, K, h, w)``.
        target: The class $c$: one index for all images, one per image, or
            ``None`` for each image's top-scoring class.
        relu: Apply the ReLU after the weighted sum (the paper's map). ``False``
            keeps the sign, so negative values show evidence against $c$.
        counterfactual: Negate the weights $\alpha_k^c$, as in the paper's
            counterfactual explanations: the map then shows what lowers $y^c$,
            the regions whose removal would raise the confidence in $c$.
        resize: Resize the maps bilinearly (``align_corners=False``) to ``(H, W)``.
        normalize: Scale each map by its maximum (maximum absolute value when
            ``relu=False``), so that maps lie in [0, 1] (or [-1, 1]). An all-zero
            map, for example when every value was negative before the ReLU, stays zero.

    Returns:
        A [`GradCAMResult`][cvnotes.gradcam.GradCAMResult]; ``cam`` has shape
        ``(B, H, W)`` (``(B, h, w)`` with ``resize=False``).

    Raises:
        ValueError: If ``inputs`` or ``target`` has an invalid shape or value,
            the layer is unknown, or the model's output is not ``(B, num_classes)``.
        TypeError: If the layer's output is not a tensor.
        RuntimeError: If the layer did not run exactly once in the forward pass,
            its output is not ``(B, K, h, w)``, or the score does not depend on it.

    Examples:
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Sequential(
        ...     nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True),
        ...     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5)).eval()
        >>> result = grad_cam(model, torch.randn(2, 3, 8, 12), "0", target=1)
        >>> tuple(result.cam.shape), bool(result.cam.min() >= 0), bool(result.cam.max() <= 1)
        ((2, 8, 12), True, True)
    """
    if inputs.dim() == 3:
        inputs = inputs.unsqueeze(0)
    if inputs.dim() != 4:
        raise ValueError(f"invalid inputs shape {tuple(inputs.shape)}: expected (B, C, H, W) or (C, H, W)")
    module = resolve_layer(model, layer)
    if model.training:
        warnings.warn(
            "model is in training mode: call model.eval() so that BatchNorm and dropout "
            "do not change the Grad-CAM maps",
            stacklevel=2,
        )

    # The input requires a gradient so that the graph through the layer exists even
    # when the model's parameters are frozen; the parameters' .grad stay untouched.
    inputs = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad(), LayerCapture(module) as capture:
        logits = model(inputs)
        if logits.dim() != 2 or logits.shape[0] != inputs.shape[0]:
            raise ValueError(
                f"invalid model output shape {tuple(logits.shape)}: expected logits (B, num_classes) "
                f"for B = {inputs.shape[0]}"
            )
        classes = resolve_targets(target, logits)
        if capture.calls != 1:
            raise RuntimeError(
                f"layer {type(module).__name__} ran {capture.calls} times in one forward pass: "
                "choose a layer that runs exactly once"
            )
        # Images do not interact in eval mode, so the gradient of the summed scores
        # with respect to image b's feature maps is the gradient of image b's own score.
        scores = logits.gather(1, classes[:, None]).sum()
        torch.autograd.grad(scores, inputs)

    activations, gradients = capture.activation, capture.gradient
    if activations is None or activations.dim() != 4:
        shape = None if activations is None else tuple(activations.shape)
        raise RuntimeError(f"layer output has shape {shape}: Grad-CAM needs feature maps (B, K, h, w)")
    if gradients is None:
        raise RuntimeError(
            f"the score does not depend on layer {type(module).__name__}: choose a layer "
            "on the path from the input to the logits"
        )

    weights = gradients.mean(dim=(2, 3))
    if counterfactual:
        weights = -weights
    raw_cam = torch.einsum("bk,bkhw->bhw", weights, activations)

    cam = raw_cam.clamp_min(0.0) if relu else raw_cam
    if resize:
        cam = F.interpolate(cam[:, None], size=inputs.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    if normalize:
        cam = normalize_maps(cam, signed=not relu)
    return GradCAMResult(
        cam=cam,
        raw_cam=raw_cam,
        weights=weights,
        activations=activations,
        logits=logits.detach(),
        target=classes,
    )
