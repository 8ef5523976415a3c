r"""Every modality as a sequence of tokens: counts, embeddings and attention masks.

A Transformer layer (Vaswani et al., NeurIPS 2017) maps a set of $S$ vectors to
$S$ vectors, and nothing in it depends on what the vectors came from. Once each
input is cut into tokens and each token is projected to the model width $D$, one
model can read images, text, audio and boxes together:

- an image of $H \times W$ pixels becomes $(H/p)(W/p)$ patch tokens, each patch
  flattened and projected linearly (ViT: Dosovitskiy et al., ICLR 2021);
- text becomes subword tokens looked up in an embedding table;
- position and modality embeddings are added, because attention itself ignores
  order and origin;
- an attention mask decides who reads whom, for example bidirectional attention
  over the image and causal attention over the text being generated (a prefix LM).

The number of tokens is what the cost depends on: self-attention is quadratic in
$S$, which is why patch size matters and why Perceiver (Jaegle et al., ICML 2021)
lets a small latent array cross-attend to large inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

__all__ = [
    "MaskMode",
    "MultimodalEmbedding",
    "image_token_count",
    "modality_attention_mask",
    "spectrogram_token_count",
    "video_token_count",
]

MaskMode = Literal["full", "causal", "prefix_lm"]


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"invalid {name} {value!r}: use a positive integer")


def image_token_count(height: int, width: int, patch_size: int) -> int:
    """Count the patch tokens of an image, as in ViT.

    Args:
        height: Image height in pixels.
        width: Image width in pixels.
        patch_size: Side $p$ of the square patches, in pixels.

    Returns:
        $(H / p)(W / p)$, without a class token.

    Raises:
        ValueError: If a size is not positive or $p$ does not divide the image.

    Example:
        >>> image_token_count(224, 224, 16)  # ViT-B/16
        196
    """
    _check_positive(height=height, width=width, patch_size=patch_size)
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"patch_size {patch_size} does not divide the image {height}x{width}: resize or pad the image first"
        )
    return (height // patch_size) * (width // patch_size)


def video_token_count(
    num_frames: int, height: int, width: int, patch_size: int, frames_per_token: int = 2
) -> int:
    """Count the tokens of a clip cut into space-time patches.

    Each token covers ``frames_per_token`` consecutive frames of one ``p x p`` patch.

    Example:
        >>> video_token_count(16, 224, 224, 16, frames_per_token=2)
        1568
    """
    _check_positive(num_frames=num_frames, frames_per_token=frames_per_token)
    if num_frames % frames_per_token:
        raise ValueError(f"frames_per_token {frames_per_token} does not divide num_frames {num_frames}")
    return (num_frames // frames_per_token) * image_token_count(height, width, patch_size)


def spectrogram_token_count(num_mel_bins: int, num_frames: int, patch_size: int) -> int:
    """Count the non-overlapping ``p x p`` patch tokens of a (mel bins x frames) spectrogram.

    Remainders at the edges are dropped.

    Example:
        >>> spectrogram_token_count(128, 1000, 16)  # 10 s at 100 frames per second
        496
    """
    _check_positive(num_mel_bins=num_mel_bins, num_frames=num_frames, patch_size=patch_size)
    return (num_mel_bins // patch_size) * (num_frames // patch_size)


def modality_attention_mask(
    segment_lengths: Sequence[int], mode: MaskMode = "prefix_lm", num_prefix_segments: int = 1
) -> Tensor:
    """Build the attention mask of a sequence made of several segments (modalities).

    ``True`` at ``[i, j]`` means token ``i`` may attend to token ``j``; this is the
    boolean convention of ``torch.nn.functional.scaled_dot_product_attention``.

    - ``"full"``: every token attends to every token (an encoder, as over image patches).
    - ``"causal"``: each token attends to itself and the tokens before it (a decoder).
    - ``"prefix_lm"``: the first ``num_prefix_segments`` segments (say the image) form
      a prefix that attends bidirectionally within itself. The remaining tokens (the
      text being generated) attend to the whole prefix and to the tokens before them.

    Args:
        segment_lengths: Token count of each segment in order, e.g. ``[196, 12]``.
        mode: ``"full"``, ``"causal"`` or ``"prefix_lm"``.
        num_prefix_segments: Segments in the prefix, for ``"prefix_lm"``.

    Returns:
        ``(S, S)`` boolean mask, ``S = sum(segment_lengths)``.

    Raises:
        ValueError: If a length is negative, the mode is unknown or the prefix is longer
            than the segment list.

    Example:
        >>> modality_attention_mask([2, 2], "prefix_lm").int()
        tensor([[1, 1, 0, 0],
                [1, 1, 0, 0],
                [1, 1, 1, 0],
                [1, 1, 1, 1]], dtype=torch.int32)
    """
    if any(length < 0 for length in segment_lengths):
        raise ValueError(f"invalid segment_lengths {list(segment_lengths)!r}: lengths must be >= 0")
    if mode not in ("full", "causal", "prefix_lm"):
        raise ValueError(f"invalid mode {mode!r}: use 'full', 'causal' or 'prefix_lm'")
    if not 0 <= num_prefix_segments <= len(segment_lengths):
        raise ValueError(
            f"invalid num_prefix_segments {num_prefix_segments!r}: use 0 to {len(segment_lengths)} segments"
        )
    total = sum(segment_lengths)
    if mode == "full":
        return torch.ones(total, total, dtype=torch.bool)
    mask = torch.ones(total, total, dtype=torch.bool).tril()
    if mode == "prefix_lm":
        prefix = sum(segment_lengths[:num_prefix_segments])
        mask[:, :prefix] = True
    return mask


class MultimodalEmbedding(nn.Module):
    """Turn an image and a text into one token sequence with position and modality embeddings.

    Image patches go through a convolution whose kernel and stride equal the patch
    size, the linear patch projection of ViT. Text ids go through an embedding table.
    Both then get a learned position embedding (positions counted separately within
    each modality) and a learned modality embedding, and the image tokens come first.

    Args:
        image_size: Side of the square input image, in pixels.
        patch_size: Side of the patches.
        vocab_size: Number of text tokens.
        max_text_length: Maximum number of text tokens per sequence.
        dim: Model width $D$.
        in_channels: Image channels.

    Example:
        >>> embed = MultimodalEmbedding(image_size=32, patch_size=8, vocab_size=100, max_text_length=10, dim=16)
        >>> tokens, modality_ids = embed(torch.randn(2, 3, 32, 32), torch.randint(0, 100, (2, 5)))
        >>> tuple(tokens.shape), modality_ids.tolist()
        ((2, 21, 16), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    """

    IMAGE = 0
    TEXT = 1

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        vocab_size: int,
        max_text_length: int,
        dim: int,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.num_patches = image_token_count(image_size, image_size, patch_size)
        self.patch_projection = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.text_embedding = nn.Embedding(vocab_size, dim)
        self.image_position = nn.Parameter(0.02 * torch.randn(self.num_patches, dim))
        self.text_position = nn.Parameter(0.02 * torch.randn(max_text_length, dim))
        self.modality_embedding = nn.Embedding(2, dim)
        self.image_size = image_size
        self.max_text_length = max_text_length

    def forward(self, images: Tensor, text_ids: Tensor) -> tuple[Tensor, Tensor]:
        """Embed a batch of images and texts.

        Args:
            images: ``(N, C, H, W)`` with ``H = W = image_size``.
            text_ids: ``(N, T)`` token ids, ``T <= max_text_length``.

        Returns:
            ``(tokens, modality_ids)``: ``(N, P + T, D)`` embeddings, image patches first,
            and the ``(P + T,)`` modality of each position (0 image, 1 text).

        Raises:
            ValueError: If the image size or the text length does not fit the module.
        """
        if images.ndim != 4 or images.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"expected images (N, C, {self.image_size}, {self.image_size}), got {tuple(images.shape)}"
            )
        if text_ids.ndim != 2 or text_ids.shape[1] > self.max_text_length:
            raise ValueError(
                f"expected text_ids (N, T) with T <= {self.max_text_length}, got {tuple(text_ids.shape)}"
            )
        patches = self.patch_projection(images).flatten(2).transpose(1, 2)
        words = self.text_embedding(text_ids)
        num_words = text_ids.shape[1]
        modality_ids = torch.cat(
            [
                torch.full((self.num_patches,), self.IMAGE, dtype=torch.long, device=images.device),
                torch.full((num_words,), self.TEXT, dtype=torch.long, device=images.device),
            ]
        )
        positions = torch.cat([self.image_position, self.text_position[:num_words]])
        tokens = torch.cat([patches, words], dim=1) + positions + self.modality_embedding(modality_ids)
        return tokens, modality_ids
