"""Conditional GANs on 28x28 digits or clothes: two designs, training, sampling and a quality check.

A conditional GAN (Mirza and Osindero, "Conditional Generative Adversarial
Nets", arXiv:1411.1784, 2014) gives the class label ``y`` to both networks: the
generator draws ``G(z, y)`` and the discriminator judges the pair ``(x, y)``, so
it rejects a good image of the wrong class. Training plays the minimax game of
Goodfellow et al. ("Generative Adversarial Nets", NeurIPS 2014):

$$
\\min_G \\max_D \\; \\mathbb{E}_{x,y}[\\log D(x, y)] + \\mathbb{E}_{z,y}[\\log (1 - D(G(z, y), y))]
$$

Two designs are implemented, each as a generator and a discriminator:

- ``"two-branch"`` ([`TwoBranchGenerator`][cvnotes.gan.TwoBranchGenerator],
  [`TwoBranchDiscriminator`][cvnotes.gan.TwoBranchDiscriminator]): one ReLU
  layer for the noise or image and one for the one-hot label, concatenated and
  mapped to the output by one linear layer.
- ``"deep"`` ([`DeepGenerator`][cvnotes.gan.DeepGenerator],
  [`DeepDiscriminator`][cvnotes.gan.DeepDiscriminator]): embedded noise and
  label, four hidden layers with LeakyReLU(0.2) and BatchNorm in the generator,
  three hidden layers with LeakyReLU(0.2) and dropout 0.4 in the discriminator.

Every discriminator returns a logit; ``discriminator.probability`` applies the
sigmoid. Training uses ``BCEWithLogitsLoss`` on the logit, which is the same
function as a sigmoid followed by ``BCELoss`` but stays finite when the sigmoid
saturates.

Images are scaled to [-1, 1] ([`to_model_range`][cvnotes.gan.to_model_range]),
the range of the generator's tanh output, and back to ``uint8`` for display
([`to_uint8`][cvnotes.gan.to_uint8]).

[`train_cgan`][cvnotes.gan.train_cgan] trains a design with checkpoints and
resume; [`trained_cgan`][cvnotes.gan.trained_cgan] caches a finished run by a
content hash, so that several figures share one training run.

The quality check ([`evaluate_samples`][cvnotes.gan.evaluate_samples]) lets a
classifier trained on the real images label generated samples. It reports the
conditional accuracy (the share of samples classified as the class they were
drawn for) and a diversity ratio (see [`diversity_ratio`][cvnotes.gan.diversity_ratio]).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import io
import json
import logging
import math
import pickle
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cvnotes import assets, data, models
from cvnotes._files import write_atomically

__all__ = [
    "DESIGNS",
    "FULL_CLASSIFIER_CONFIG",
    "FULL_CONFIGS",
    "MNIST_DIGITS",
    "NOISE_DIM",
    "NUM_CLASSES",
    "QUICK_CONFIGS",
    "CGANDiscriminator",
    "CGANTrainingConfig",
    "DeepDiscriminator",
    "DeepGenerator",
    "ProfileData",
    "QualityReport",
    "TrainedCGAN",
    "TrainingHistory",
    "TwoBranchDiscriminator",
    "TwoBranchGenerator",
    "build_design",
    "diversity_ratio",
    "evaluate_samples",
    "fixed_noise",
    "full_classifier",
    "load_profile",
    "one_hot",
    "sample",
    "to_model_range",
    "to_uint8",
    "train_cgan",
    "trained_cgan",
    "trained_cgan_path",
]

log = logging.getLogger(__name__)

NOISE_DIM = 100
NUM_CLASSES = 10
IMAGE_SIZE = 28
IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE

Design = Literal["two-branch", "deep"]
DESIGNS: tuple[str, ...] = ("two-branch", "deep")
"""Names of the two designs, in the order the figures show them."""

MNIST_DIGITS: Mapping[str, tuple[str, ...]] = {
    "ko": tuple(str(digit) for digit in range(10)),
    "en": tuple(str(digit) for digit in range(10)),
}


# Labels and pixel ranges ---------------------------------------------------------------------


def _check_labels(labels: Tensor, num_classes: int) -> Tensor:
    """Return ``labels`` as ``int64`` after checking they are class indices in range."""
    if labels.dim() != 1:
        raise ValueError(
            f"invalid labels of shape {tuple(labels.shape)}: pass a 1-D tensor of class indices, "
            "one per sample (not one-hot vectors)"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"invalid labels of dtype {labels.dtype}: pass integer class indices")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        bad = int(labels.min()) if int(labels.min()) < 0 else int(labels.max())
        raise ValueError(f"invalid label {bad}: class indices must be in 0..{num_classes - 1}")
    return labels.long()


def one_hot(labels: Tensor, num_classes: int = NUM_CLASSES) -> Tensor:
    """Encode class indices as one-hot ``float32`` rows.

    Args:
        labels: Class indices of shape ``(N,)``, integers in ``0..num_classes-1``.
        num_classes: Length of each one-hot row.

    Returns:
        Tensor of shape ``(N, num_classes)`` with a single 1.0 per row.

    Raises:
        ValueError: If ``labels`` is not a 1-D integer tensor or a label is out of range.

    Example:
        >>> one_hot(torch.tensor([2, 0]), num_classes=3).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    labels = _check_labels(labels, num_classes)
    return F.one_hot(labels, num_classes).float()


def to_model_range(images: Tensor) -> Tensor:
    """Scale ``uint8`` pixels to the generator's tanh range: $x' = x / 127.5 - 1$.

    Pixel 0 becomes -1.0 and pixel 255 becomes +1.0, so real images and the
    generator's tanh output share one range.

    Args:
        images: ``uint8`` tensor of any shape, values 0 to 255.

    Returns:
        ``float32`` tensor of the same shape, values in [-1, 1].

    Raises:
        TypeError: If ``images`` is not ``uint8``.

    Example:
        >>> to_model_range(torch.tensor([0, 255], dtype=torch.uint8)).tolist()
        [-1.0, 1.0]
    """
    if images.dtype != torch.uint8:
        raise TypeError(
            f"images must be uint8 with values 0 to 255, got {images.dtype}; scale floats yourself"
        )
    return images.float() / 127.5 - 1.0


def to_uint8(images: Tensor) -> Tensor:
    """Map values in [-1, 1] back to ``uint8`` pixels for display; the inverse of ``to_model_range``.

    Values outside [-1, 1] are clipped to 0 or 255.

    Args:
        images: Float tensor of any shape, nominally in [-1, 1].

    Returns:
        ``uint8`` tensor of the same shape: ``round((images + 1) * 127.5)``.

    Example:
        >>> to_uint8(torch.tensor([-1.0, 0.0, 1.0])).tolist()
        [0, 128, 255]
    """
    return ((images.detach().float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def _check_noise(noise: Tensor, labels: Tensor, noise_dim: int) -> None:
    if noise.dim() != 2 or noise.shape[1] != noise_dim:
        raise ValueError(
            f"invalid noise of shape {tuple(noise.shape)}: expected (N, {noise_dim}); "
            f"draw it with torch.randn(N, {noise_dim})"
        )
    if noise.shape[0] != labels.shape[0]:
        raise ValueError(
            f"noise has {noise.shape[0]} rows but labels has {labels.shape[0]}: pass one label per noise vector"
        )


def _flatten_images(images: Tensor, labels: Tensor) -> Tensor:
    if images.dim() == 4 and images.shape[1:] == (1, IMAGE_SIZE, IMAGE_SIZE):
        images = images.flatten(1)
    elif images.dim() == 3 and images.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE):
        images = images.flatten(1)
    if images.dim() != 2 or images.shape[1] != IMAGE_PIXELS:
        raise ValueError(
            f"invalid images of shape {tuple(images.shape)}: expected (N, 1, 28, 28), (N, 28, 28) "
            "or (N, 784) in [-1, 1]"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"images has {images.shape[0]} rows but labels has {labels.shape[0]}: pass one label per image"
        )
    return images


# The two designs ------------------------------------------------------------------------------


class CGANDiscriminator(nn.Module):
    """Base class of the discriminators: ``forward`` returns logits, ``probability`` applies the sigmoid.

    Returning logits lets training use ``BCEWithLogitsLoss``, which computes
    $-[t \\log \\sigma(\\ell) + (1 - t) \\log(1 - \\sigma(\\ell))]$ without forming
    $\\sigma(\\ell)$ first, so it stays finite when the sigmoid rounds to 0 or 1.
    """

    def probability(self, images: Tensor, labels: Tensor) -> Tensor:
        """Return $D(x, y) = \\sigma(\\text{logit})$, the probability that ``images`` are real.

        Args:
            images: Images of shape ``(N, 1, 28, 28)`` in [-1, 1].
            labels: Class indices of shape ``(N,)``.

        Returns:
            Probabilities of shape ``(N,)``.
        """
        return torch.sigmoid(self(images, labels))


class TwoBranchGenerator(nn.Module):
    """Generate images from noise and a label with one hidden layer per input branch.

    Noise ``z`` (100) goes through Linear(100, 150) + ReLU, the one-hot label (10)
    through Linear(10, 50) + ReLU. The two are concatenated (200) and mapped by
    Linear(200, 784) + tanh to a 28x28 image in [-1, 1].

    Args:
        noise_dim: Length of the noise vector.
        num_classes: Number of classes; labels are one-hot encoded inside the module.

    Example:
        >>> generator = TwoBranchGenerator()
        >>> generator(torch.randn(4, 100), torch.tensor([0, 1, 2, 3])).shape
        torch.Size([4, 1, 28, 28])
    """

    def __init__(self, noise_dim: int = NOISE_DIM, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.num_classes = num_classes
        self.noise_branch = nn.Sequential(nn.Linear(noise_dim, 150), nn.ReLU())
        self.label_branch = nn.Sequential(nn.Linear(num_classes, 50), nn.ReLU())
        self.output = nn.Sequential(nn.Linear(200, IMAGE_PIXELS), nn.Tanh())

    def forward(self, noise: Tensor, labels: Tensor) -> Tensor:
        """Return images of shape ``(N, 1, 28, 28)`` in [-1, 1].

        Args:
            noise: Noise of shape ``(N, noise_dim)``, drawn from N(0, I).
            labels: Class indices of shape ``(N,)``.

        Raises:
            ValueError: If a shape is wrong or a label is out of range.
        """
        labels = _check_labels(labels, self.num_classes)
        _check_noise(noise, labels, self.noise_dim)
        hidden = torch.cat(
            [self.noise_branch(noise), self.label_branch(one_hot(labels, self.num_classes))], 1
        )
        return self.output(hidden).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)


class TwoBranchDiscriminator(CGANDiscriminator):
    """Score image-label pairs with one hidden layer per input branch; return logits.

    The flattened image (784) goes through Linear(784, 150) + ReLU, the one-hot
    label through Linear(10, 50) + ReLU; the concatenation (200) is mapped by
    Linear(200, 1) to a logit. Departure from the notes, which end in a sigmoid:
    the sigmoid moves into the loss (``BCEWithLogitsLoss``), see
    [`probability`][cvnotes.gan.CGANDiscriminator.probability].

    Args:
        num_classes: Number of classes; labels are one-hot encoded inside the module.

    Example:
        >>> discriminator = TwoBranchDiscriminator()
        >>> discriminator(torch.zeros(2, 1, 28, 28), torch.tensor([3, 4])).shape
        torch.Size([2])
    """

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.image_branch = nn.Sequential(nn.Linear(IMAGE_PIXELS, 150), nn.ReLU())
        self.label_branch = nn.Sequential(nn.Linear(num_classes, 50), nn.ReLU())
        self.output = nn.Linear(200, 1)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        """Return logits of shape ``(N,)``: large when ``(images, labels)`` looks like a real pair.

        Args:
            images: Images of shape ``(N, 1, 28, 28)``, ``(N, 28, 28)`` or ``(N, 784)`` in [-1, 1].
            labels: Class indices of shape ``(N,)``.

        Raises:
            ValueError: If a shape is wrong or a label is out of range.
        """
        labels = _check_labels(labels, self.num_classes)
        images = _flatten_images(images, labels)
        hidden = torch.cat(
            [self.image_branch(images), self.label_branch(one_hot(labels, self.num_classes))], 1
        )
        return self.output(hidden).squeeze(1)


def _generator_block(in_features: int, out_features: int, batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_features))
    layers.append(nn.LeakyReLU(0.2))
    return layers


class DeepGenerator(nn.Module):
    """Generate images with embedded inputs and four hidden layers with BatchNorm.

    The noise passes through Linear(100, 100) and the label through
    Embedding(10, 10). Their concatenation (110) goes through the hidden widths
    128, 256, 512 and 1024, each a Linear followed by LeakyReLU(0.2). All but the
    first have BatchNorm before the activation, because DCGAN (Radford, Metz and
    Chintala, ICLR 2016) leaves BatchNorm out next to the input and the output.
    Linear(1024, 784) + tanh gives the image in [-1, 1].

    BatchNorm normalises with the batch's statistics in train mode, so in train
    mode a sample depends on the rest of its batch. Sample in eval mode
    ([`sample`][cvnotes.gan.sample] does), where the running statistics are used.

    Args:
        noise_dim: Length of the noise vector.
        num_classes: Number of classes, the rows of the label embedding.

    Example:
        >>> generator = DeepGenerator().eval()
        >>> generator(torch.randn(2, 100), torch.tensor([5, 9])).shape
        torch.Size([2, 1, 28, 28])
    """

    def __init__(self, noise_dim: int = NOISE_DIM, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.num_classes = num_classes
        self.noise_embedding = nn.Linear(noise_dim, noise_dim)
        self.label_embedding = nn.Embedding(num_classes, num_classes)
        widths = [noise_dim + num_classes, 128, 256, 512, 1024]
        layers: list[nn.Module] = []
        for index, (in_features, out_features) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers += _generator_block(in_features, out_features, batch_norm=index > 0)
        layers += [nn.Linear(widths[-1], IMAGE_PIXELS), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, noise: Tensor, labels: Tensor) -> Tensor:
        """Return images of shape ``(N, 1, 28, 28)`` in [-1, 1].

        Args:
            noise: Noise of shape ``(N, noise_dim)``, drawn from N(0, I).
            labels: Class indices of shape ``(N,)``.

        Raises:
            ValueError: If a shape is wrong or a label is out of range.
        """
        labels = _check_labels(labels, self.num_classes)
        _check_noise(noise, labels, self.noise_dim)
        inputs = torch.cat([self.noise_embedding(noise), self.label_embedding(labels)], 1)
        return self.body(inputs).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)


class DeepDiscriminator(CGANDiscriminator):
    """Score image-label pairs with three hidden layers, LeakyReLU(0.2) and dropout 0.4; return logits.

    The flattened image (784) and the label embedding (Embedding(10, 10)) are
    concatenated (794). Three layers Linear(794, 512), Linear(512, 512) and
    Linear(512, 512) follow, each with LeakyReLU(0.2) and the last two with
    dropout 0.4. Linear(512, 1) gives the logit.

    Args:
        num_classes: Number of classes, the rows of the label embedding.

    Example:
        >>> discriminator = DeepDiscriminator().eval()
        >>> discriminator(torch.zeros(2, 784), torch.tensor([0, 1])).shape
        torch.Size([2])
    """

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.label_embedding = nn.Embedding(num_classes, num_classes)
        self.body = nn.Sequential(
            nn.Linear(IMAGE_PIXELS + num_classes, 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 512),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 512),
            nn.Dropout(0.4),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 1),
        )

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        """Return logits of shape ``(N,)``: large when ``(images, labels)`` looks like a real pair.

        Args:
            images: Images of shape ``(N, 1, 28, 28)``, ``(N, 28, 28)`` or ``(N, 784)`` in [-1, 1].
            labels: Class indices of shape ``(N,)``.

        Raises:
            ValueError: If a shape is wrong or a label is out of range.
        """
        labels = _check_labels(labels, self.num_classes)
        images = _flatten_images(images, labels)
        return self.body(torch.cat([images, self.label_embedding(labels)], 1)).squeeze(1)


def build_design(design: str) -> tuple[nn.Module, CGANDiscriminator]:
    """Return a freshly initialised ``(generator, discriminator)`` pair of a design.

    Args:
        design: ``"two-branch"`` or ``"deep"``.

    Raises:
        ValueError: If ``design`` is not one of [`DESIGNS`][cvnotes.gan.DESIGNS].

    Example:
        >>> generator, discriminator = build_design("two-branch")
        >>> type(generator).__name__
        'TwoBranchGenerator'
    """
    if design == "two-branch":
        return TwoBranchGenerator(), TwoBranchDiscriminator()
    if design == "deep":
        return DeepGenerator(), DeepDiscriminator()
    raise ValueError(f"invalid design {design!r}: use one of {', '.join(DESIGNS)}")


# Sampling -------------------------------------------------------------------------------------


def fixed_noise(num_columns: int = 10, *, seed: int = 0, noise_dim: int = NOISE_DIM) -> tuple[Tensor, Tensor]:
    """Return the noise and labels of a sample grid: a row per label, the same noise in each column.

    Args:
        num_columns: Noise vectors per row.
        seed: Seed of the noise.
        noise_dim: Length of each noise vector.

    Returns:
        ``(noise, labels)`` of shapes ``(10 * num_columns, noise_dim)`` and
        ``(10 * num_columns,)``, row-major: entry ``r * num_columns + c`` has
        label ``r`` and the ``c``-th noise vector.

    Example:
        >>> noise, labels = fixed_noise(3)
        >>> labels[:4].tolist(), torch.equal(noise[0], noise[3])
        ([0, 0, 0, 1], True)
    """
    generator = torch.Generator().manual_seed(seed)
    columns = torch.randn(num_columns, noise_dim, generator=generator)
    noise = columns.repeat(NUM_CLASSES, 1)
    labels = torch.arange(NUM_CLASSES).repeat_interleave(num_columns)
    return noise, labels


@torch.no_grad()
def sample(
    generator: nn.Module, labels: Tensor, *, noise: Tensor | None = None, seed: int = 0, batch_size: int = 500
) -> Tensor:
    """Draw images of the requested classes with the generator in eval mode.

    Eval mode makes BatchNorm use its running statistics, so a sample does not
    depend on the other samples of its batch. The generator's previous mode is
    restored afterwards.

    Args:
        generator: A generator of this module.
        labels: Requested class indices of shape ``(N,)``.
        noise: Noise of shape ``(N, noise_dim)``; drawn from N(0, I) with ``seed`` when omitted.
        seed: Seed of the noise when ``noise`` is omitted.
        batch_size: Samples per forward pass.

    Returns:
        Images of shape ``(N, 1, 28, 28)`` in [-1, 1], on the CPU.

    Example:
        >>> images = sample(TwoBranchGenerator(), torch.tensor([7, 7]))
        >>> images.shape, bool(images.abs().max() <= 1)
        (torch.Size([2, 1, 28, 28]), True)
    """
    if noise is None:
        noise = torch.randn(len(labels), generator.noise_dim, generator=torch.Generator().manual_seed(seed))
    device = next(generator.parameters()).device
    was_training = generator.training
    # Eval mode before sampling: BatchNorm then uses its running statistics, not the batch's.
    generator.eval()
    try:
        parts = [
            generator(
                noise[start : start + batch_size].to(device), labels[start : start + batch_size].to(device)
            )
            for start in range(0, len(labels), batch_size)
        ]
    finally:
        generator.train(was_training)
    return torch.cat(parts).cpu()


# Training -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CGANTrainingConfig:
    """Hyperparameters of a cGAN training run; all of them are part of the cache key.

    Attributes:
        design: ``"two-branch"`` or ``"deep"``.
        num_epochs: Passes over the training images.
        batch_size: Real images per step (and as many generated ones).
        lr: Learning rate of both Adam optimisers.
        beta1: Adam's first-moment decay; 0.5 as in DCGAN (Radford et al., 2016).
        beta2: Adam's second-moment decay.
        seed: Seed of the initial weights, the batch order, the noise and the dropout masks.
        snapshot_epochs: Epochs after which the fixed-noise grid is drawn and kept.
        grid_columns: Noise vectors per label in the fixed-noise grid.
        ema_decay: Decay of an exponential moving average of the generator's weights,
            used for sampling; ``None`` samples from the last weights.
    """

    design: str = "deep"
    num_epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    snapshot_epochs: tuple[int, ...] = ()
    grid_columns: int = 10
    ema_decay: float | None = None

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ValueError(f"invalid design {self.design!r}: use one of {', '.join(DESIGNS)}")
        for name in ("num_epochs", "batch_size", "grid_columns"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"invalid {name}={value}: it must be at least 1")
        if not self.lr > 0:
            raise ValueError(f"invalid lr={self.lr}: it must be positive")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise ValueError(
                f"invalid ema_decay={self.ema_decay}: it must be in [0, 1), or None for no average"
            )
        bad = [epoch for epoch in self.snapshot_epochs if not 1 <= epoch <= self.num_epochs]
        if bad:
            raise ValueError(
                f"invalid snapshot_epochs {bad}: each must be in 1..num_epochs={self.num_epochs}"
            )


@dataclass
class TrainingHistory:
    """Per-epoch means of the losses and of the discriminator's outputs.

    Attributes:
        d_loss: Discriminator loss per term, $\\tfrac12(\\ell_\\text{real} + \\ell_\\text{fake})$,
            in nats; $\\log 2$ at the equilibrium $D = 1/2$.
        d_loss_real: $-\\log D(x, y)$ on real pairs.
        d_loss_fake: $-\\log(1 - D(G(z, y), y))$ on generated pairs.
        g_loss: Non-saturating generator loss $-\\log D(G(z, y), y)$; $\\log 2$ at $D = 1/2$.
        d_real: Mean $D(x, y)$ on real pairs.
        d_fake: Mean $D(G(z, y), y)$ on generated pairs, before the discriminator's step.
        snapshots: Epoch to the fixed-noise grid drawn after it, ``(10 * columns, 1, 28, 28)``.
    """

    d_loss: list[float] = field(default_factory=list)
    d_loss_real: list[float] = field(default_factory=list)
    d_loss_fake: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    snapshots: dict[int, Tensor] = field(default_factory=dict)

    def state_dict(self) -> dict[str, Any]:
        """Return the history as plain lists and tensors, loadable with ``weights_only=True``."""
        state: dict[str, Any] = {name: list(getattr(self, name)) for name in _CURVES}
        state["snapshots"] = {int(epoch): grid for epoch, grid in self.snapshots.items()}
        return state

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> TrainingHistory:
        """Rebuild a history from [`state_dict`][cvnotes.gan.TrainingHistory.state_dict]."""
        curves = {name: [float(value) for value in state[name]] for name in _CURVES}
        snapshots = {int(epoch): grid for epoch, grid in state["snapshots"].items()}
        return cls(**curves, snapshots=snapshots)


_CURVES = ("d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake")


def _epoch_seed(seed: int, epoch: int) -> int:
    # Each epoch draws from its own seed, so a run resumed at epoch k repeats the uninterrupted one.
    return seed * 100_003 + epoch


def _progress(total: int, description: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, desc=description, unit="step", leave=False, disable=not enabled or None, file=sys.stderr
    )


def _train_epoch(
    generator: nn.Module,
    discriminator: nn.Module,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    images: Tensor,
    labels: Tensor,
    config: CGANTrainingConfig,
    epoch: int,
    bar: Any,
    average: nn.Module | None,
) -> dict[str, float]:
    """Run one epoch of alternating steps; return the epoch's mean losses and outputs."""
    g_optimizer, d_optimizer = optimizers
    device = next(generator.parameters()).device
    generator.train()
    discriminator.train()
    random = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
    # Dropout draws from the global generator; seed it per epoch for the same reason.
    torch.manual_seed(_epoch_seed(config.seed, epoch))
    order = torch.randperm(len(images), generator=random)
    sums = dict.fromkeys(_CURVES, 0.0)

    steps_per_epoch = math.ceil(len(order) / config.batch_size)
    for step, start in enumerate(range(0, len(order), config.batch_size)):
        batch = order[start : start + config.batch_size]
        real = images[batch].to(device)
        real_labels = labels[batch].to(device)
        count = len(batch)
        noise = torch.randn(count, generator.noise_dim, generator=random).to(device)
        fake_labels = torch.randint(0, NUM_CLASSES, (count,), generator=random).to(device)
        ones = torch.ones(count, device=device)
        zeros = torch.zeros(count, device=device)

        # Discriminator step on real pairs and on generated pairs; detach so G gets no gradient here.
        fake = generator(noise, fake_labels)
        real_logits = discriminator(real, real_labels)
        fake_logits = discriminator(fake.detach(), fake_labels)
        loss_real = F.binary_cross_entropy_with_logits(real_logits, ones)
        loss_fake = F.binary_cross_entropy_with_logits(fake_logits, zeros)
        d_loss = 0.5 * (loss_real + loss_fake)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()

        # Generator step with the non-saturating loss -log D(G(z, y), y) of Goodfellow et al. (2014).
        g_loss = F.binary_cross_entropy_with_logits(discriminator(fake, fake_labels), ones)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        if average is not None and config.ema_decay is not None:
            total_steps = (epoch - 1) * steps_per_epoch + step + 1
            _update_average(average, generator, config.ema_decay, total_steps)

        values = {
            "d_loss": d_loss.item(),
            "d_loss_real": loss_real.item(),
            "d_loss_fake": loss_fake.item(),
            "g_loss": g_loss.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(),
        }
        for name, value in values.items():
            sums[name] += value * count
        bar.update(1)
        bar.set_postfix(d_loss=f"{values['d_loss']:.3f}", g_loss=f"{values['g_loss']:.3f}", refresh=False)

    return {name: total / len(order) for name, total in sums.items()}


@torch.no_grad()
def _update_average(average: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """Move the averaged weights towards the model's; copy the BatchNorm statistics as they are.

    The decay ramps up as $\\min(\\beta, (1 + t) / (10 + t))$ at step $t$, so the
    initial weights fade from the average within the first steps.
    """
    decay = min(decay, (1 + step) / (10 + step))
    for averaged, current in zip(average.parameters(), model.parameters(), strict=True):
        averaged.lerp_(current, 1.0 - decay)
    for averaged, current in zip(average.buffers(), model.buffers(), strict=True):
        averaged.copy_(current)


def _optimizers(
    generator: nn.Module, discriminator: nn.Module, config: CGANTrainingConfig
) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    betas = (config.beta1, config.beta2)
    return (
        torch.optim.Adam(generator.parameters(), lr=config.lr, betas=betas),
        torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=betas),
    )


def _checkpoint_bytes(
    generator: nn.Module,
    discriminator: nn.Module,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    history: TrainingHistory,
    config: CGANTrainingConfig,
    epoch: int,
    average: nn.Module | None,
) -> bytes:
    buffer = io.BytesIO()
    torch.save(
        {
            "config": json.dumps(asdict(config), sort_keys=True),
            "epoch": epoch,
            "generator": generator.state_dict(),
            "discriminator": discriminator.state_dict(),
            "generator_average": average.state_dict() if average is not None else None,
            "g_optimizer": optimizers[0].state_dict(),
            "d_optimizer": optimizers[1].state_dict(),
            "history": history.state_dict(),
        },
        buffer,
    )
    return buffer.getvalue()


def _load_checkpoint(path: Path, config: CGANTrainingConfig) -> dict[str, Any]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(
            f"checkpoint {path} could not be read ({exc}); delete it to train from the start"
        ) from exc
    if checkpoint["config"] != json.dumps(asdict(config), sort_keys=True):
        raise ValueError(
            f"checkpoint {path} was written with another configuration ({checkpoint['config']}); "
            "delete it or pass the configuration it was trained with"
        )
    return checkpoint


def train_cgan(
    images: Tensor,
    labels: Tensor,
    config: CGANTrainingConfig,
    *,
    checkpoint: Path | None = None,
    stop_after: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[nn.Module, nn.Module, TrainingHistory]:
    """Train a conditional GAN with Adam and the non-saturating generator loss.

    Each step updates the discriminator on a real and a generated batch, then the
    generator, with binary cross-entropy on logits:

    $$
    \\mathcal{L}_D = \\tfrac12\\left[-\\log \\sigma(\\ell(x, y)) - \\log(1 - \\sigma(\\ell(G(z, y'), y')))\\right],
    \\qquad \\mathcal{L}_G = -\\log \\sigma(\\ell(G(z, y'), y'))
    $$

    where $\\ell$ is the discriminator's logit and $y'$ a uniformly drawn label.
    $\\mathcal{L}_G$ is the non-saturating loss that Goodfellow et al. (2014)
    recommend over minimising $\\log(1 - D(G(z)))$, which gives the generator
    almost no gradient while the discriminator rejects its samples. Averaging the
    discriminator's two terms makes both losses equal $\\log 2$ at $D = 1/2$.

    With ``checkpoint`` set, the full state (weights, both optimisers, history,
    epoch) is written there atomically after every epoch, and a run that finds a
    checkpoint of the same configuration resumes after its epoch. Every epoch
    seeds its own random numbers, so a resumed run gives the same weights as an
    uninterrupted one. The caller's CPU random state is left as it was.

    With ``config.ema_decay`` set, an exponential moving average of the
    generator's weights is kept as well and used for the snapshots and the
    returned generator. A GAN's generator keeps moving around the equilibrium
    instead of converging, and averaging its weights over the last steps gives
    steadier samples (Yazıcı et al., "The Unusual Effectiveness of Averaging in
    GAN Training", ICLR 2019). This is a departure from the plain training of
    Goodfellow et al. and of the notes.

    Args:
        images: ``uint8`` images of shape ``(N, 28, 28)``; scaled to [-1, 1] here.
        labels: Class indices of shape ``(N,)``.
        config: The hyperparameters.
        checkpoint: File to write after each epoch and to resume from.
        stop_after: Stop after this epoch even if ``config.num_epochs`` is larger (a
            checkpointed run can continue later).
        device: Torch device to train on.
        progress: Show a tqdm progress bar per epoch on stderr.

    Returns:
        ``(generator, discriminator, history)`` in eval mode. The generator is the
        moving average of the weights when ``config.ema_decay`` is set, else the last weights.

    Raises:
        ValueError: If the data are inconsistent or ``checkpoint`` contains another configuration.

    Example:
        >>> images = torch.zeros(8, 28, 28, dtype=torch.uint8)
        >>> config = CGANTrainingConfig(design="two-branch", num_epochs=1, batch_size=4)
        >>> _, _, history = train_cgan(images, torch.arange(8) % 10, config, progress=False)
        >>> len(history.g_loss)
        1
    """
    if images.dim() != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"invalid images of shape {tuple(images.shape)}: expected uint8 (N, 28, 28)")
    labels = _check_labels(labels, NUM_CLASSES)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: pass one label per image")
    scaled = to_model_range(images).unsqueeze(1)

    # The seeding below must not change the caller's random state.
    with torch.random.fork_rng(devices=[]):
        return _train_cgan(scaled, labels, config, checkpoint, stop_after, device, progress)


def _train_cgan(
    scaled: Tensor,
    labels: Tensor,
    config: CGANTrainingConfig,
    checkpoint: Path | None,
    stop_after: int | None,
    device: str,
    progress: bool,
) -> tuple[nn.Module, nn.Module, TrainingHistory]:
    torch.manual_seed(config.seed)
    generator, discriminator = build_design(config.design)
    generator.to(device)
    discriminator.to(device)
    optimizers = _optimizers(generator, discriminator, config)
    average = None
    if config.ema_decay is not None:
        average = copy.deepcopy(generator).requires_grad_(False)
    history = TrainingHistory()
    grid_noise, grid_labels = fixed_noise(config.grid_columns, seed=config.seed)
    first_epoch = 1

    if checkpoint is not None and checkpoint.is_file():
        state = _load_checkpoint(checkpoint, config)
        generator.load_state_dict(state["generator"])
        discriminator.load_state_dict(state["discriminator"])
        optimizers[0].load_state_dict(state["g_optimizer"])
        optimizers[1].load_state_dict(state["d_optimizer"])
        if average is not None:
            average.load_state_dict(state["generator_average"])
        history = TrainingHistory.from_state_dict(state["history"])
        first_epoch = int(state["epoch"]) + 1
        log.info("resuming %s from epoch %d of %d", checkpoint, first_epoch - 1, config.num_epochs)

    last_epoch = config.num_epochs if stop_after is None else min(stop_after, config.num_epochs)
    steps = math.ceil(len(scaled) / config.batch_size)
    for epoch in range(first_epoch, last_epoch + 1):
        with _progress(steps, f"cgan {config.design} {epoch}/{config.num_epochs}", progress) as bar:
            means = _train_epoch(
                generator, discriminator, optimizers, scaled, labels, config, epoch, bar, average
            )
        for name, value in means.items():
            getattr(history, name).append(value)
        if epoch in config.snapshot_epochs:
            history.snapshots[epoch] = sample(average or generator, grid_labels, noise=grid_noise)
        if progress:
            print(
                f"cgan {config.design} epoch {epoch}/{config.num_epochs}: d_loss {means['d_loss']:.4f}, "
                f"g_loss {means['g_loss']:.4f}, D(real) {means['d_real']:.3f}, D(fake) {means['d_fake']:.3f}",
                file=sys.stderr,
            )
        if checkpoint is not None:
            write_atomically(
                checkpoint,
                _checkpoint_bytes(generator, discriminator, optimizers, history, config, epoch, average),
            )

    discriminator.eval()
    return (average or generator).eval(), discriminator, history


# Quality check --------------------------------------------------------------------------------


@dataclass
class QualityReport:
    """Match between generated samples and the classes they were drawn for.

    Attributes:
        conditional_accuracy: Share of samples that the classifier assigns to the
            requested class, over all classes, in [0, 1].
        per_class_accuracy: The same per requested class, in label order.
        diversity: Mean of ``per_class_diversity``.
        per_class_diversity: Diversity ratio per class (see
            [`diversity_ratio`][cvnotes.gan.diversity_ratio]); 1.0 is as diverse as
            real images of the class, near 0 is mode collapse.
        samples_per_class: Generated samples per class.
    """

    conditional_accuracy: float
    per_class_accuracy: list[float]
    diversity: float
    per_class_diversity: list[float]
    samples_per_class: int

    def metrics(self, prefix: str) -> dict[str, Any]:
        """Return the report as manifest metrics whose keys start with ``prefix``."""
        return {
            f"{prefix}conditional_accuracy": round(self.conditional_accuracy, 4),
            f"{prefix}per_class_accuracy": [round(value, 4) for value in self.per_class_accuracy],
            f"{prefix}diversity": round(self.diversity, 4),
            f"{prefix}per_class_diversity": [round(value, 4) for value in self.per_class_diversity],
            f"{prefix}samples_per_class": self.samples_per_class,
        }


@contextlib.contextmanager
def _fc_inputs(model: models.SmallCNN) -> Iterator[list[Tensor]]:
    """Capture the input of the classifier's last layer (its penultimate features) while inside."""
    captured: list[Tensor] = []
    handle = model.fc.register_forward_pre_hook(lambda module, inputs: captured.append(inputs[0].detach()))
    try:
        yield captured
    finally:
        handle.remove()


@torch.no_grad()
def _classify(classifier: models.TrainedClassifier, images: Tensor) -> tuple[Tensor, Tensor]:
    """Return the predicted classes and the penultimate features of images in [-1, 1]."""
    # Quantise as a saved picture would be, then normalise as the classifier was trained.
    inputs = classifier.normalize(to_uint8(images).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE))
    classifier.model.eval()
    with _fc_inputs(classifier.model) as captured:
        predictions = torch.cat([classifier.model(part).argmax(1) for part in inputs.split(500)])
    return predictions, torch.cat(captured)


def _mean_pairwise_distance(features: Tensor) -> float:
    distances = torch.cdist(features, features)
    count = len(features)
    return float(distances.sum() / (count * (count - 1)))


def diversity_ratio(generated_features: Tensor, real_features: Tensor) -> float:
    """Compare the spread of generated and real samples of one class in a classifier's feature space.

    $$
    \\text{diversity} = \\frac{\\overline{d}(\\text{generated})}{\\overline{d}(\\text{real})},
    \\qquad \\overline{d}(S) = \\frac{1}{|S|(|S|-1)} \\sum_{i \\ne j} \\lVert f_i - f_j \\rVert_2
    $$

    where $f$ are the classifier's penultimate features. 1.0 means the samples
    of a class are as spread out as real images of that class, values near 0
    mean the generator draws nearly the same image every time (mode collapse).
    Unlike the Inception Score or FID, it needs no pretrained Inception network,
    so it also runs offline; it measures spread only, not realism.

    Args:
        generated_features: Features of generated samples of one class, ``(N, D)``, N >= 2.
        real_features: Features of real images of the same class, ``(M, D)``, M >= 2.

    Returns:
        The ratio, a non-negative float.

    Raises:
        ValueError: If either set has fewer than two rows.

    Example:
        >>> real = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
        >>> diversity_ratio(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), real)
        0.5
    """
    for name, features in (("generated_features", generated_features), ("real_features", real_features)):
        if features.dim() != 2 or len(features) < 2:
            raise ValueError(
                f"invalid {name} of shape {tuple(features.shape)}: pass at least two rows (N, D)"
            )
    return _mean_pairwise_distance(generated_features) / _mean_pairwise_distance(real_features)


def evaluate_samples(
    generator: nn.Module,
    classifier: models.TrainedClassifier,
    real_images: Tensor,
    real_labels: Tensor,
    *,
    samples_per_class: int = 100,
    seed: int = 1,
) -> QualityReport:
    """Measure conditional accuracy and diversity of a generator with a classifier of real images.

    For each class ``k``, ``samples_per_class`` images are drawn for label ``k``
    (eval mode, fresh noise) and classified. The conditional accuracy of ``k`` is
    the share classified as ``k``. Diversity compares the samples with as many
    real images of class ``k`` (see [`diversity_ratio`][cvnotes.gan.diversity_ratio]).

    Args:
        generator: The trained generator.
        classifier: A classifier trained on real images of the same data set, whose
            ``normalize`` takes ``uint8`` images.
        real_images: ``uint8`` real images ``(M, 28, 28)`` the classifier did not train on.
        real_labels: Their labels ``(M,)``.
        samples_per_class: Samples drawn per class; at least 2.
        seed: Seed of the noise.

    Returns:
        A [`QualityReport`][cvnotes.gan.QualityReport].

    Raises:
        ValueError: If a class has fewer than ``samples_per_class`` real images, or
            ``samples_per_class`` is below 2.
    """
    if samples_per_class < 2:
        raise ValueError(f"invalid samples_per_class={samples_per_class}: it must be at least 2")
    requested = torch.arange(NUM_CLASSES).repeat_interleave(samples_per_class)
    generated = sample(generator, requested, seed=seed)
    predictions, generated_features = _classify(classifier, generated)

    real_rows = []
    for label in range(NUM_CLASSES):
        rows = torch.nonzero(real_labels == label).flatten()[:samples_per_class]
        if len(rows) < samples_per_class:
            raise ValueError(
                f"class {label} has {len(rows)} real images, fewer than samples_per_class={samples_per_class}; "
                "pass more real images or lower samples_per_class"
            )
        real_rows.append(rows)
    _, real_features = _classify(classifier, to_model_range(real_images[torch.cat(real_rows)]))

    per_class_accuracy, per_class_diversity = [], []
    for label in range(NUM_CLASSES):
        chosen = slice(label * samples_per_class, (label + 1) * samples_per_class)
        per_class_accuracy.append(float((predictions[chosen] == label).float().mean()))
        per_class_diversity.append(diversity_ratio(generated_features[chosen], real_features[chosen]))
    return QualityReport(
        conditional_accuracy=float((predictions == requested).float().mean()),
        per_class_accuracy=per_class_accuracy,
        diversity=float(np.mean(per_class_diversity)),
        per_class_diversity=per_class_diversity,
        samples_per_class=samples_per_class,
    )


# Profiles: data, classifier and cached training ------------------------------------------------


@dataclass
class ProfileData:
    """The images a profile trains and checks the cGANs with, and its classifier.

    Attributes:
        name: Name of the data set (``"Fashion-MNIST"`` or ``"MNIST"``).
        train_images: ``uint8`` training images ``(N, 28, 28)``.
        train_labels: Their labels ``(N,)``.
        held_out_images: ``uint8`` images that neither the classifier nor the cGAN trained on.
        held_out_labels: Their labels.
        classifier: A SmallCNN trained on real images of the data set.
        class_names: Class names per language, in label order.
        digest: Hash of the data and the classifier, part of the cGAN cache key.
    """

    name: str
    train_images: Tensor
    train_labels: Tensor
    held_out_images: Tensor
    held_out_labels: Tensor
    classifier: models.TrainedClassifier
    class_names: Mapping[str, tuple[str, ...]]
    digest: str


FULL_CLASSIFIER_CONFIG = models.QuickTrainingConfig(
    train_size=60000, held_out_size=10000, num_epochs=2, batch_size=128, lr=2e-3
)
"""Hyperparameters of the full profile's MNIST classifier (training split and test split)."""

QUICK_CONFIGS: Mapping[str, CGANTrainingConfig] = {
    design: CGANTrainingConfig(
        design=design, num_epochs=24, batch_size=64, snapshot_epochs=(1, 3, 8, 24), ema_decay=0.995
    )
    for design in DESIGNS
}
"""Training of each design in the quick profile (8,000 embedded Fashion-MNIST images, CPU)."""

FULL_CONFIGS: Mapping[str, CGANTrainingConfig] = {
    design: CGANTrainingConfig(
        design=design, num_epochs=50, batch_size=64, snapshot_epochs=(1, 5, 20, 50), ema_decay=0.995
    )
    for design in DESIGNS
}
"""Training of each design in the full profile (60,000 MNIST training images)."""


def _hash_files(hasher: Any, paths: Sequence[Path]) -> None:
    for path in paths:
        hasher.update(assets.sha256_file(path).encode())


def _mnist_raw_files(root: Path, split: str) -> list[Path]:
    raw = assets.torchvision_datasets_dir(root) / "MNIST" / "raw"
    return [raw / f"{split}-images-idx3-ubyte", raw / f"{split}-labels-idx1-ubyte"]


def _train_classifier(
    config: models.QuickTrainingConfig,
    train: tuple[Tensor, Tensor],
    held_out: tuple[Tensor, Tensor],
    digest: str,
) -> models.TrainedClassifier:
    """Train a SmallCNN on uint8 images; raise if its held-out accuracy is below the bound."""
    images, labels = train
    pixels = images.float() / 255.0
    mean, std = float(pixels.mean()), float(pixels.std())
    inputs = ((pixels - mean) / std).unsqueeze(1)
    held_out_inputs = ((held_out[0].float() / 255.0 - mean) / std).unsqueeze(1)

    model = models.SmallCNN(num_classes=NUM_CLASSES)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    batch_generator = torch.Generator().manual_seed(config.seed + 1)
    for epoch in range(1, config.num_epochs + 1):
        model.train()
        order = torch.randperm(len(inputs), generator=batch_generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad()
            F.cross_entropy(model(inputs[batch]), labels[batch]).backward()
            optimizer.step()
        accuracy = models._accuracy(model, held_out_inputs, held_out[1])
        print(
            f"small-cnn mnist epoch {epoch}/{config.num_epochs}: held-out accuracy {accuracy:.4f}",
            file=sys.stderr,
        )

    model.eval()
    if accuracy < config.min_accuracy:
        raise RuntimeError(
            f"the MNIST SmallCNN reached held-out accuracy {accuracy:.4f}, below the required "
            f"{config.min_accuracy:.2f}; check the MNIST files in the cache"
        )
    return models.TrainedClassifier(
        model=model,
        mean=mean,
        std=std,
        held_out_accuracy=accuracy,
        class_names=MNIST_DIGITS,
        digest=digest,
        train_size=len(images),
        held_out_size=len(held_out[0]),
        held_out_indices=torch.arange(len(held_out[0])),
        config=config,
    )


def full_classifier(
    *, offline: bool, cache: Path | None = None, config: models.QuickTrainingConfig | None = None
) -> models.TrainedClassifier:
    """Return a SmallCNN trained on the MNIST training split, cached by content hash.

    MNIST is opened with [`load_mnist`][cvnotes.data.load_mnist]. The network is
    trained on the first ``config.train_size`` training images on one thread and
    checked on the first ``config.held_out_size`` test images, so its
    ``held_out_indices`` index the test split. The weights are cached under
    ``<cache>/cvnotes/small-cnn-mnist-<digest>.pt`` with a JSON record of their
    SHA-256, like [`quick_classifier`][cvnotes.models.quick_classifier].

    Args:
        offline: Never touch the network; missing MNIST files raise instead.
        cache: Cache directory; ``cvnotes.assets.cache_dir()`` by default.
        config: Hyperparameters; [`FULL_CLASSIFIER_CONFIG`][cvnotes.gan.FULL_CLASSIFIER_CONFIG] by default.

    Returns:
        A [`TrainedClassifier`][cvnotes.models.TrainedClassifier] with digit class names.

    Raises:
        AssetMissingError: If ``offline`` is set and MNIST is not cached.
        RuntimeError: If the held-out accuracy is below ``config.min_accuracy``.
    """
    config = config or FULL_CLASSIFIER_CONFIG
    root = cache if cache is not None else assets.cache_dir()
    train_set = data.load_mnist(train=True, offline=offline, cache=root)
    test_set = data.load_mnist(train=False, offline=offline, cache=root)
    train = (train_set.data[: config.train_size], train_set.targets[: config.train_size].long())
    held_out = (test_set.data[: config.held_out_size], test_set.targets[: config.held_out_size].long())

    hasher = hashlib.sha256()
    hasher.update(inspect.getsource(_train_classifier).encode())
    hasher.update(inspect.getsource(models.SmallCNN).encode())
    _hash_files(hasher, _mnist_raw_files(root, "train") + _mnist_raw_files(root, "t10k"))
    hasher.update(json.dumps(asdict(config), sort_keys=True).encode())
    hasher.update(torch.__version__.encode())
    digest = hasher.hexdigest()
    path = root / "cvnotes" / f"small-cnn-mnist-{digest[:16]}.pt"

    record_path = path.with_suffix(".json")
    if path.is_file() and record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            assets.verify_file(path, record["sha256"], size=record["size_bytes"])
            model = models.SmallCNN(num_classes=NUM_CLASSES)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            model.eval()
            return models.TrainedClassifier(
                model=model,
                mean=float(record["mean"]),
                std=float(record["std"]),
                held_out_accuracy=float(record["held_out_accuracy"]),
                class_names=MNIST_DIGITS,
                digest=digest,
                train_size=len(train[0]),
                held_out_size=len(held_out[0]),
                held_out_indices=torch.arange(len(held_out[0])),
                config=config,
            )
        except (assets.AssetIntegrityError, json.JSONDecodeError, KeyError, RuntimeError, OSError) as exc:
            log.warning("ignoring the cached MNIST classifier %s (%s); training it again", path, exc)

    with models._reproducible(config.seed):
        classifier = _train_classifier(config, train, held_out, digest)
    buffer = io.BytesIO()
    torch.save(classifier.model.state_dict(), buffer)
    weights = buffer.getvalue()
    record = {
        "sha256": hashlib.sha256(weights).hexdigest(),
        "size_bytes": len(weights),
        "mean": classifier.mean,
        "std": classifier.std,
        "held_out_accuracy": classifier.held_out_accuracy,
        "config": asdict(config),
        "torch": torch.__version__,
    }
    write_atomically(path, weights)
    # The record goes last: without it the weights count as missing and are trained again.
    write_atomically(record_path, json.dumps(record, indent=2).encode())
    return classifier


def load_profile(profile: str, *, offline: bool, cache: Path | None = None) -> ProfileData:
    """Return the training data, held-out data and classifier of a profile.

    - ``"quick"``: the embedded Fashion-MNIST test split. The cGANs train on the
      8,000 images that [`quick_classifier`][cvnotes.models.quick_classifier]
      trained on; its 2,000 held-out images are the real reference.
    - ``"full"``: MNIST through torchvision. The cGANs train on the 60,000
      training images; the classifier is [`full_classifier`][cvnotes.gan.full_classifier]
      and the test split is the real reference.

    Args:
        profile: ``"quick"`` or ``"full"``.
        offline: Never touch the network.
        cache: Cache directory; ``cvnotes.assets.cache_dir()`` by default.

    Raises:
        AssetMissingError: In the full profile, offline, when MNIST is not cached.
        ValueError: If ``profile`` is unknown.
    """
    if profile == "quick":
        classifier = models.quick_classifier(cache=cache)
        images, labels = data.load_fashion_mnist()
        in_training = torch.ones(len(images), dtype=torch.bool)
        in_training[classifier.held_out_indices] = False
        held_out = classifier.held_out_indices
        return ProfileData(
            name="Fashion-MNIST",
            train_images=images[in_training],
            train_labels=labels[in_training],
            held_out_images=images[held_out],
            held_out_labels=labels[held_out],
            classifier=classifier,
            class_names=data.FASHION_MNIST_CLASSES,
            digest=classifier.digest,
        )
    if profile == "full":
        classifier = full_classifier(offline=offline, cache=cache)
        root = cache if cache is not None else assets.cache_dir()
        train_set = data.load_mnist(train=True, offline=offline, cache=root)
        test_set = data.load_mnist(train=False, offline=offline, cache=root)
        return ProfileData(
            name="MNIST",
            train_images=train_set.data,
            train_labels=train_set.targets.long(),
            held_out_images=test_set.data,
            held_out_labels=test_set.targets.long(),
            classifier=classifier,
            class_names=MNIST_DIGITS,
            digest=classifier.digest,
        )
    raise ValueError(f"invalid profile {profile!r}: use quick or full")


@dataclass
class TrainedCGAN:
    """A trained design with its training history.

    Attributes:
        generator: The generator, in eval mode.
        discriminator: The discriminator, in eval mode.
        history: Per-epoch losses and the fixed-noise snapshots.
        config: The hyperparameters.
        digest: Content hash that names the cached checkpoint.
    """

    generator: nn.Module
    discriminator: nn.Module
    history: TrainingHistory
    config: CGANTrainingConfig
    digest: str


def trained_cgan_path(
    design: str,
    profile_data: ProfileData,
    config: CGANTrainingConfig,
    cache: Path | None = None,
    device: str = "cpu",
) -> Path:
    """Return the checkpoint file of a design trained on a profile's data.

    The name contains a hash of this module's source, the data, the classifier, the
    configuration, the device and the torch version, so any change trains again and
    a run on a GPU is never taken for a CPU run.
    """
    hasher = hashlib.sha256()
    hasher.update(inspect.getsource(sys.modules[__name__]).encode())
    hasher.update(profile_data.digest.encode())
    hasher.update(hashlib.sha256(profile_data.train_images.numpy().tobytes()).hexdigest().encode())
    hasher.update(json.dumps(asdict(config), sort_keys=True).encode())
    hasher.update(torch.__version__.encode())
    hasher.update(torch.device(device).type.encode())
    root = cache if cache is not None else assets.cache_dir()
    return root / "cvnotes" / f"cgan-{design}-{profile_data.name.lower()}-{hasher.hexdigest()[:16]}.pt"


def trained_cgan(
    design: str,
    profile_data: ProfileData,
    config: CGANTrainingConfig,
    *,
    cache: Path | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> TrainedCGAN:
    """Return a design trained on a profile's data, from the cache or by training it.

    Training writes a checkpoint after every epoch, so an interrupted build
    resumes where it stopped. A finished run gets a JSON record with the
    checkpoint's SHA-256 beside it, and a later call loads the checkpoint after
    checking that digest. On the CPU, training runs on one thread with
    deterministic kernels, so the weights do not depend on the thread count.

    Args:
        design: ``"two-branch"`` or ``"deep"``.
        profile_data: From [`load_profile`][cvnotes.gan.load_profile].
        config: The hyperparameters; ``config.design`` must equal ``design``.
        cache: Cache directory; ``cvnotes.assets.cache_dir()`` by default.
        device: Torch device to train on.
        progress: Show progress on stderr.

    Returns:
        A [`TrainedCGAN`][cvnotes.gan.TrainedCGAN] on the CPU.

    Raises:
        ValueError: If ``config.design`` differs from ``design``.
    """
    if config.design != design:
        raise ValueError(f"config.design is {config.design!r} but design is {design!r}: pass matching values")
    path = trained_cgan_path(design, profile_data, config, cache, device)
    digest = path.stem.rsplit("-", 1)[1]
    record_path = path.with_suffix(".json")

    if path.is_file() and record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            assets.verify_file(path, record["sha256"], size=record["size_bytes"])
            state = _load_checkpoint(path, config)
            generator, discriminator = build_design(design)
            generator.load_state_dict(state["generator_average"] or state["generator"])
            discriminator.load_state_dict(state["discriminator"])
            history = TrainingHistory.from_state_dict(state["history"])
            return TrainedCGAN(generator.eval(), discriminator.eval(), history, config, digest)
        except (
            assets.AssetIntegrityError,
            json.JSONDecodeError,
            KeyError,
            ValueError,
            RuntimeError,
            OSError,
        ) as exc:
            log.warning("ignoring the cached cGAN %s (%s); training it again", path, exc)
            path.unlink(missing_ok=True)
            record_path.unlink(missing_ok=True)

    # One thread and deterministic kernels on the CPU, as for the quick classifier.
    reproducible: contextlib.AbstractContextManager[None]
    reproducible = models._reproducible(config.seed) if device == "cpu" else contextlib.nullcontext()
    with reproducible:
        generator, discriminator, history = train_cgan(
            profile_data.train_images,
            profile_data.train_labels,
            config,
            checkpoint=path,
            device=device,
            progress=progress,
        )
    checkpoint_bytes = path.read_bytes()
    record = {"sha256": hashlib.sha256(checkpoint_bytes).hexdigest(), "size_bytes": len(checkpoint_bytes)}
    write_atomically(record_path, json.dumps(record, indent=2).encode())
    return TrainedCGAN(generator.cpu(), discriminator.cpu(), history, config, digest)
