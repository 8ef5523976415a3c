r"""Sound source localization with audio as the attention query (Senocak et al., CVPR 2018).

Senocak, Oh, Kim, Yang and Kweon ("Learning to Localize Sound Source in Visual
Scenes", CVPR 2018) embed the sound of a clip into one vector $h$ (SoundNet
features followed by fully connected layers) and a video frame into a
$C \times H \times W$ feature map $V$ (VGG-16 conv5_3, $512 \times 20 \times 20$). The
audio vector is the query of an attention over the locations of the map:

$$
s_i = \frac{v_i^\top h}{\lVert v_i \rVert \, \lVert h \rVert}, \qquad
\alpha_i = \frac{\exp s_i}{\sum_j \exp s_j}, \qquad
z = \sum_i \alpha_i v_i .
$$

The map $\alpha$ is the localization result, a softmax over the $H W$ locations.
The authors' PyTorch re-implementation of the paper
(github.com/ardasnck/learning_to_localize_sound_source) computes this softmax after
passing $s$ through a ReLU; ``relu=True`` does the same. The attended visual vector $z$ goes through fully connected
layers and is trained, without labels, to lie closer to the embedding of its own
sound than to that of a sound from another clip (a triplet loss). Audio and visual
features that co-occur thus end up similar, and the attention learns where. A
semi-supervised variant adds a cross-entropy between $\alpha$ and annotated maps.

Many later methods use a sigmoid of the scaled similarity instead of a softmax, so
several locations can light up at once. ``normalization="sigmoid"`` computes that
variant here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "LocalizationResult",
    "SyntheticScene",
    "attended_visual_feature",
    "localization_map",
    "make_synthetic_scene",
]

Normalization = Literal["softmax", "sigmoid"]


@dataclass(frozen=True)
class LocalizationResult:
    """Output of [`localization_map`][cvnotes.sound_localization.localization_map].

    Attributes:
        similarity: ``(N, H, W)`` cosine similarity $s_i$ of the audio vector and each location.
        attention: ``(N, H, W)`` attention map $\\alpha$; with a softmax it sums to 1 per map.
    """

    similarity: Tensor
    attention: Tensor


def localization_map(
    visual_features: Tensor,
    audio_embedding: Tensor,
    *,
    normalization: Normalization = "softmax",
    temperature: float = 1.0,
    relu: bool = False,
) -> LocalizationResult:
    r"""Score every location of a visual feature map against an audio embedding.

    Computes the cosine similarity $s_i$ between the audio vector and the vector
    at each location, then the attention map: ``softmax`` gives
    $\alpha = \mathrm{softmax}(s / \tau)$ over the $H W$ locations, as in Senocak et
    al. (CVPR 2018) with $\tau = 1$; ``sigmoid`` gives $\sigma(s / \tau)$ per location.

    Args:
        visual_features: ``(C, H, W)`` or ``(N, C, H, W)`` feature map.
        audio_embedding: ``(C,)`` or ``(N, C)`` audio vector in the same space.
        normalization: ``"softmax"`` (over locations) or ``"sigmoid"`` (per location).
        temperature: $\tau > 0$. Cosines lie in $[-1, 1]$, so with $\tau = 1$ a softmax
            over hundreds of locations stays flat in absolute terms; its peak is
            still where the sound source is.
        relu: Clip negative similarities to 0 before normalising, as the authors'
            re-implementation does.

    Returns:
        A [`LocalizationResult`][cvnotes.sound_localization.LocalizationResult]; a single
        ``(C, H, W)`` input gives ``(H, W)`` maps.

    Raises:
        ValueError: If the shapes do not match, the temperature is not positive or the
            normalization is unknown.

    Example:
        >>> features = torch.zeros(2, 2, 3)
        >>> features[0] = 1.0
        >>> features[:, 1, 2] = torch.tensor([0.0, 1.0])  # one location points elsewhere
        >>> result = localization_map(features, torch.tensor([0.0, 1.0]))
        >>> result.similarity
        tensor([[0., 0., 0.],
                [0., 0., 1.]])
        >>> divmod(int(result.attention.argmax()), 3)
        (1, 2)
    """
    if normalization not in ("softmax", "sigmoid"):
        raise ValueError(f"invalid normalization {normalization!r}: use 'softmax' or 'sigmoid'")
    if not temperature > 0:
        raise ValueError(f"invalid temperature {temperature!r}: use a positive number")
    single = visual_features.ndim == 3
    if single:
        visual_features = visual_features[None]
        audio_embedding = audio_embedding[None]
    if visual_features.ndim != 4 or audio_embedding.ndim != 2:
        raise ValueError(
            "expected visual_features (C, H, W) or (N, C, H, W) and audio_embedding (C,) or (N, C), got "
            f"{tuple(visual_features.shape)} and {tuple(audio_embedding.shape)}"
        )
    if visual_features.shape[:2] != audio_embedding.shape:
        raise ValueError(
            f"the audio embedding {tuple(audio_embedding.shape)} must match the batch and channels "
            f"(N, C) of the feature map {tuple(visual_features.shape)}"
        )

    batch, _, height, width = visual_features.shape
    visual = F.normalize(visual_features, dim=1)
    audio = F.normalize(audio_embedding, dim=1)
    similarity = torch.einsum("nchw,nc->nhw", visual, audio)
    scores = similarity.clamp(min=0) if relu else similarity
    scores = scores / temperature
    if normalization == "softmax":
        attention = F.softmax(scores.reshape(batch, -1), dim=1).reshape(batch, height, width)
    else:
        attention = torch.sigmoid(scores)
    if single:
        return LocalizationResult(similarity=similarity[0], attention=attention[0])
    return LocalizationResult(similarity=similarity, attention=attention)


def attended_visual_feature(visual_features: Tensor, attention: Tensor) -> Tensor:
    """Pool the feature map with the attention map: $z = \\sum_i \\alpha_i v_i$.

    Args:
        visual_features: ``(N, C, H, W)`` feature map.
        attention: ``(N, H, W)`` weights (a softmax map sums to 1).

    Returns:
        ``(N, C)`` attended visual vectors, the input of the paper's visual FC layers.
    """
    if visual_features.ndim != 4 or attention.shape != (visual_features.shape[0], *visual_features.shape[2:]):
        raise ValueError(
            f"expected features (N, C, H, W) and attention (N, H, W), got {tuple(visual_features.shape)} "
            f"and {tuple(attention.shape)}"
        )
    return torch.einsum("nchw,nhw->nc", visual_features, attention)


@dataclass(frozen=True)
class SyntheticScene:
    """A synthetic visual feature map with one sounding object, and audio vectors.

    Attributes:
        visual_features: ``(C, H, W)`` map: background vectors plus an object blob.
        matching_audio: ``(C,)`` audio embedding of the object's class.
        mismatched_audio: ``(C,)`` audio embedding of another class that is not in the scene.
        object_center: ``(row, column)`` of the object's centre.
        object_mask: ``(H, W)`` boolean mask of the object's cells.
    """

    visual_features: Tensor
    matching_audio: Tensor
    mismatched_audio: Tensor
    object_center: tuple[int, int]
    object_mask: Tensor


def make_synthetic_scene(
    channels: int = 64,
    size: int = 20,
    object_center: tuple[int, int] = (6, 13),
    object_radius: float = 2.5,
    noise: float = 0.5,
    generator: torch.Generator | None = None,
) -> SyntheticScene:
    """Build a feature map in which one region carries the sound class's direction.

    Stands in for a trained model: after co-occurrence training, the visual
    features of a sounding object and the embedding of its sound point the same
    way. Each class has a random unit "concept" direction, orthogonal to the
    others. Background cells get
    a background direction plus noise, and object cells, a disc around
    ``object_center``, get the object class's direction plus noise. The matching
    audio is the object direction plus noise; the mismatched audio is a third
    class's direction.

    Args:
        channels: Channels ``C`` of the map and the audio vector.
        size: Height and width of the map (the paper's maps are 20 x 20).
        object_center: ``(row, column)`` of the object.
        object_radius: Radius of the object disc, in cells.
        noise: Standard deviation of the noise, relative to unit-length directions.
        generator: Random generator.

    Returns:
        A [`SyntheticScene`][cvnotes.sound_localization.SyntheticScene].

    Raises:
        ValueError: If the centre is outside the map or ``channels`` < 3.
    """
    row, column = object_center
    if channels < 3:
        raise ValueError(f"invalid channels {channels!r}: three orthogonal class directions need at least 3")
    if not (0 <= row < size and 0 <= column < size):
        raise ValueError(f"object_center {object_center!r} lies outside the {size}x{size} map")
    # Orthonormal class directions, so that the silent class resembles nothing in the scene.
    directions, _ = torch.linalg.qr(torch.randn(channels, 3, generator=generator))
    background, sounding, silent = directions.T

    rows = torch.arange(size)[:, None]
    columns = torch.arange(size)[None, :]
    mask = (rows - row) ** 2 + (columns - column) ** 2 <= object_radius**2
    cell_noise = noise / channels**0.5 * torch.randn(channels, size, size, generator=generator)
    features = torch.where(mask[None], sounding[:, None, None], background[:, None, None]) + cell_noise

    audio_noise = noise / channels**0.5
    matching = sounding + audio_noise * torch.randn(channels, generator=generator)
    mismatched = silent + audio_noise * torch.randn(channels, generator=generator)
    return SyntheticScene(
        visual_features=features,
        matching_audio=matching,
        mismatched_audio=mismatched,
        object_center=(row, column),
        object_mask=mask,
    )
