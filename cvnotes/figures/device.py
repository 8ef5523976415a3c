"""The device that figure recipes run their models on: ``cpu``, ``cuda`` or ``auto``.

The default is ``cpu``, so a reader's laptop, the CPU checks and the GPU job all
build the quick profile the same way. ``cvnotes figures --device`` and
``$CVNOTES_DEVICE`` choose another one; the builder resolves ``auto`` to
``cuda`` when PyTorch finds a CUDA GPU and to ``cpu`` otherwise. The resolved
device goes into each recipe's [`RecipeContext`][cvnotes.figures.RecipeContext],
its manifest entry and its cache key, so a figure built on a GPU is not reused
as a CPU build.

Which recipes use the device:

- the CNN visualization recipes (``cnn-*``) move their classifier and image to
  it. In the full profile that is ResNet-50, and the occlusion map alone runs it
  once per window position (144 positions for the cat photo).
- the CLIP recipes (``clip-*`` except ``clip-normalization-topk``) embed the
  CIFAR-100 test images and the prompts on it.
- the conditional-GAN recipes (``cgan-*``) train both designs on it. Only CPU
  training runs on one thread with fixed seeds; a GPU run is cached under its
  own key.
- the other recipes of this package run on the CPU whatever the device. They
  train small models in-process (the quick CNN is trained on the CPU and then
  moved) or compute closed-form numbers. The pages quote their results, and
  GPU kernels can change floating-point results in the last digits.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DEVICE", "DEVICES", "DEVICE_ENV", "DeviceError", "resolve_device"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
DEFAULT_DEVICE = "cpu"
# Environment variable that the command line and the MkDocs plugin read when no device is given.
DEVICE_ENV = "CVNOTES_DEVICE"


class DeviceError(ValueError):
    """Raised when a requested device is unknown or not available on this machine.

    Attributes:
        device: The requested value.
        reason: ``"unknown"`` when the value is not one of ``DEVICES``,
            ``"unavailable"`` when it is ``cuda`` and PyTorch finds no CUDA GPU.
        torch_cuda: The CUDA version PyTorch was built for (``torch.version.cuda``),
            or None for a CPU-only build or an unknown device. A CUDA build that
            finds no GPU points at the driver or ``$CUDA_VISIBLE_DEVICES``, not at
            the installed PyTorch.

    A command line can write its own message from these fields.

    Example:
        >>> error = DeviceError("tpu", "unknown")
        >>> error.device, error.reason, error.torch_cuda
        ('tpu', 'unknown', None)
    """

    def __init__(self, device: str, reason: str, torch_cuda: str | None = None) -> None:
        if reason == "unknown":
            message = f"invalid device {device!r}: use one of {', '.join(DEVICES)}"
        elif torch_cuda:
            message = (
                f"device {device!r} requested, but PyTorch finds no CUDA GPU "
                f"(torch.cuda.is_available() is False; this PyTorch is built for CUDA {torch_cuda}): "
                "check that the NVIDIA driver works and the GPU is visible (`nvidia-smi`, "
                "$CUDA_VISIBLE_DEVICES), or use the device cpu or auto"
            )
        else:
            message = (
                f"device {device!r} requested, but PyTorch finds no CUDA GPU "
                "(torch.cuda.is_available() is False): use the device cpu or auto, "
                "or install a CUDA build of PyTorch on a machine with an NVIDIA GPU"
            )
        super().__init__(message)
        self.device = device
        self.reason = reason
        self.torch_cuda = torch_cuda


def resolve_device(device: str) -> str:
    """Return the torch device name that recipes run on for the requested ``device``.

    Args:
        device: ``"cpu"``, ``"cuda"``, or ``"auto"`` for ``"cuda"`` when
            ``torch.cuda.is_available()`` and ``"cpu"`` otherwise.

    Returns:
        ``"cpu"`` or ``"cuda"``.

    Raises:
        DeviceError: If ``device`` is not one of ``DEVICES``, or is ``"cuda"``
            while PyTorch finds no CUDA GPU.

    Example:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device("auto") in ("cpu", "cuda")
        True
    """
    if device not in DEVICES:
        raise DeviceError(device, "unknown")
    if device == "cpu":
        return "cpu"

    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise DeviceError(device, "unavailable", torch_cuda=torch.version.cuda)
    return "cuda" if available else "cpu"
