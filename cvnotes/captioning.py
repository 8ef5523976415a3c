r"""Soft attention for image captioning, after Show, Attend and Tell (Xu et al., ICML 2015).

A CNN turns the image into a grid of $L$ annotation vectors $a_1, \dots, a_L$ (in the
paper the $14 \times 14 \times 512$ conv5_4 map of VGG, so $L = 196$). At every word
$t$ the LSTM decoder scores each location against its previous hidden state
$h_{t-1}$ with a small MLP, the additive attention of Bahdanau et al. (ICLR 2015):

$$
e_{ti} = w^\top \tanh(W_a a_i + W_h h_{t-1} + b), \qquad
\alpha_{ti} = \frac{\exp e_{ti}}{\sum_{k=1}^{L} \exp e_{tk}}, \qquad
\hat z_t = \sum_{i=1}^{L} \alpha_{ti} \, a_i .
$$

*Soft* attention feeds the expectation $\hat z_t$ to the decoder and trains end to
end with backpropagation. *Hard* attention samples one location
$s_t \sim \mathrm{Multinoulli}(\alpha_t)$ and feeds $a_{s_t}$; the sampling is not
differentiable, so the paper trains it with a REINFORCE-style estimate of a
variational lower bound. The *doubly stochastic* regulariser
$\lambda \sum_i (1 - \sum_t \alpha_{ti})^2$ pushes every location to receive about
one unit of attention over the whole caption, so the decoder does not look at the
same place for every word.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "AdditiveAttention",
    "AttentionCaptioner",
    "CaptionBatch",
    "attention_coverage",
    "doubly_stochastic_penalty",
    "make_caption_batch",
    "sample_hard_attention",
    "train_captioner",
]


class AdditiveAttention(nn.Module):
    r"""One step of additive (Bahdanau) attention over a grid of annotation vectors.

    Computes $e_{ti} = w^\top \tanh(W_a a_i + W_h h_{t-1} + b)$, the weights
    $\alpha_t = \mathrm{softmax}(e_t)$ over the $L$ locations and the context
    $\hat z_t = \sum_i \alpha_{ti} a_i$ (the soft attention of Xu et al., ICML 2015).

    Args:
        feature_dim: Size $D$ of each annotation vector.
        hidden_dim: Size of the decoder state $h_{t-1}$.
        attention_dim: Width of the scoring MLP.

    Example:
        >>> attention = AdditiveAttention(feature_dim=4, hidden_dim=3, attention_dim=5)
        >>> context, weights = attention(torch.randn(2, 9, 4), torch.randn(2, 3))
        >>> tuple(context.shape), tuple(weights.shape), torch.allclose(weights.sum(1), torch.ones(2))
        ((2, 4), (2, 9), True)
    """

    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.feature_projection = nn.Linear(feature_dim, attention_dim, bias=True)
        self.hidden_projection = nn.Linear(hidden_dim, attention_dim, bias=False)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def scores(self, annotations: Tensor, hidden: Tensor) -> Tensor:
        """Return the unnormalised scores $e_t$, shape ``(N, L)``."""
        projected = self.feature_projection(annotations) + self.hidden_projection(hidden)[:, None, :]
        return self.score(torch.tanh(projected)).squeeze(-1)

    def forward(self, annotations: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """Attend over ``annotations`` given the previous decoder state.

        Args:
            annotations: ``(N, L, D)`` annotation vectors $a_i$ (a flattened ``H x W`` grid).
            hidden: ``(N, hidden_dim)`` previous decoder state $h_{t-1}$.

        Returns:
            ``(context, weights)``: the ``(N, D)`` context $\\hat z_t$ and the ``(N, L)``
            weights $\\alpha_t$, which sum to 1 over the locations.

        Raises:
            ValueError: If the shapes do not fit together.
        """
        if annotations.ndim != 3 or hidden.ndim != 2 or annotations.shape[0] != hidden.shape[0]:
            raise ValueError(
                "expected annotations (N, L, D) and hidden (N, hidden_dim) with the same N, got "
                f"{tuple(annotations.shape)} and {tuple(hidden.shape)}"
            )
        weights = F.softmax(self.scores(annotations, hidden), dim=-1)
        context = torch.einsum("nl,nld->nd", weights, annotations)
        return context, weights


def sample_hard_attention(weights: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Sample one location per row from the attention weights (hard attention).

    Args:
        weights: ``(N, L)`` attention weights, each row summing to 1.
        generator: Random generator, for reproducible samples.

    Returns:
        ``(N, L)`` one-hot rows: the location $s_t \\sim \\mathrm{Multinoulli}(\\alpha_t)$.
        Its expectation over samples is ``weights``, the soft attention.

    Example:
        >>> sample_hard_attention(torch.tensor([[0.0, 1.0, 0.0]]))
        tensor([[0., 1., 0.]])
    """
    index = torch.multinomial(weights, 1, generator=generator)
    return torch.zeros_like(weights).scatter_(1, index, 1.0)


def attention_coverage(weights: Tensor) -> Tensor:
    r"""Sum the attention each location received over the decoding steps, $\sum_t \alpha_{ti}$.

    Args:
        weights: ``(T, L)`` or ``(N, T, L)`` attention weights of ``T`` steps.

    Returns:
        ``(L,)`` or ``(N, L)`` coverage; it sums to ``T`` over the locations.
    """
    if weights.ndim not in (2, 3):
        raise ValueError(f"expected weights of shape (T, L) or (N, T, L), got {tuple(weights.shape)}")
    return weights.sum(dim=-2)


def doubly_stochastic_penalty(weights: Tensor, lam: float = 1.0) -> Tensor:
    r"""Compute the doubly stochastic attention penalty of Xu et al., ICML 2015.

    $$\lambda \sum_{i=1}^{L} \Bigl(1 - \sum_{t=1}^{T} \alpha_{ti}\Bigr)^2$$

    The weights of each step already sum to 1 over the locations. This term pushes
    the sums over the steps towards 1 as well, hence "doubly stochastic". It is zero
    only when every location gets exactly one unit of attention in total, which is
    possible when $T = L$; for $T < L$ it is smallest when the attention spreads out.

    Args:
        weights: ``(T, L)`` weights of one caption, or ``(N, T, L)`` for a batch.
        lam: Weight $\lambda \ge 0$ of the penalty.

    Returns:
        A 0-d tensor: the penalty, averaged over the batch when there is one.

    Example:
        >>> weights = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # two steps, two locations
        >>> doubly_stochastic_penalty(weights).item()
        0.0
        >>> doubly_stochastic_penalty(torch.tensor([[1.0, 0.0], [1.0, 0.0]])).item()  # (1-2)^2 + (1-0)^2
        2.0
    """
    if lam < 0:
        raise ValueError(f"invalid lam {lam!r}: the penalty weight must be >= 0")
    penalty = ((1.0 - attention_coverage(weights)) ** 2).sum(dim=-1)
    return lam * penalty.mean()


@dataclass(frozen=True)
class CaptionBatch:
    """Synthetic captioning data: feature grids and the word sequences that describe them.

    Attributes:
        annotations: ``(N, L, D)`` feature grids, ``L = grid_size ** 2``.
        captions: ``(N, T)`` word indices; word ``t`` names the ``t``-th object in raster order.
        object_cells: ``(N, T)`` flat grid index of each object.
        grid_size: Side of the square grid.
    """

    annotations: Tensor
    captions: Tensor
    object_cells: Tensor
    grid_size: int


def make_caption_batch(
    num_images: int,
    grid_size: int = 6,
    num_objects: int = 3,
    num_classes: int = 5,
    noise: float = 0.1,
    generator: torch.Generator | None = None,
) -> CaptionBatch:
    """Generate feature grids with a few objects and a "caption" listing them.

    Each cell's vector contains a one-hot object class (zero for background), its row
    and column in $[-1, 1]$, and Gaussian noise. The caption names the objects in
    raster order (top-left first), so a decoder must look at a different cell for
    each word, which is what attention in captioning is for.

    Args:
        num_images: Number of grids ``N``.
        grid_size: Side of the grid, so ``L = grid_size ** 2`` locations.
        num_objects: Objects per grid, and words per caption ``T``.
        num_classes: Number of object classes, which is also the vocabulary size.
        noise: Standard deviation of the noise added to every feature.
        generator: Random generator.

    Returns:
        A [`CaptionBatch`][cvnotes.captioning.CaptionBatch] with ``D = num_classes + 2``.

    Raises:
        ValueError: If the objects do not fit on the grid.
    """
    num_cells = grid_size * grid_size
    if not 1 <= num_objects <= num_cells:
        raise ValueError(
            f"invalid num_objects {num_objects!r}: use 1 to {num_cells} for a {grid_size}x{grid_size} grid"
        )
    cells = torch.stack(
        [torch.randperm(num_cells, generator=generator)[:num_objects] for _ in range(num_images)]
    )
    cells = cells.sort(dim=1).values
    classes = torch.randint(0, num_classes, (num_images, num_objects), generator=generator)

    one_hot = torch.zeros(num_images, num_cells, num_classes)
    rows = torch.arange(num_images)[:, None].expand(-1, num_objects)
    one_hot[rows, cells, classes] = 1.0
    coordinates = torch.linspace(-1.0, 1.0, grid_size)
    row_coordinate = coordinates.repeat_interleave(grid_size)
    column_coordinate = coordinates.repeat(grid_size)
    position = torch.stack([row_coordinate, column_coordinate], dim=-1).expand(num_images, -1, -1)
    annotations = torch.cat([one_hot, position], dim=-1)
    annotations = annotations + noise * torch.randn(annotations.shape, generator=generator)
    return CaptionBatch(annotations=annotations, captions=classes, object_cells=cells, grid_size=grid_size)


class AttentionCaptioner(nn.Module):
    """A minimal soft-attention decoder: an LSTM cell fed the previous word and the context.

    The initial state comes from the mean annotation vector, as in the paper. Each
    step attends with [`AdditiveAttention`][cvnotes.captioning.AdditiveAttention] and
    predicts the next word from the state and the context. The paper also gates the
    context with $\\beta_t = \\sigma(f_\\beta(h_{t-1}))$ and uses a deep output layer;
    both are left out here to keep the model small.

    Args:
        feature_dim: Size ``D`` of the annotation vectors.
        vocab_size: Number of words.
        hidden_dim: LSTM state size.
        attention_dim: Width of the attention MLP.
    """

    def __init__(
        self, feature_dim: int, vocab_size: int, hidden_dim: int = 32, attention_dim: int = 32
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        # Index vocab_size is the start token.
        self.embedding = nn.Embedding(vocab_size + 1, hidden_dim)
        self.init_hidden = nn.Linear(feature_dim, hidden_dim)
        self.init_cell = nn.Linear(feature_dim, hidden_dim)
        self.attention = AdditiveAttention(feature_dim, hidden_dim, attention_dim)
        self.cell = nn.LSTMCell(hidden_dim + feature_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim + feature_dim, vocab_size)

    def forward(self, annotations: Tensor, captions: Tensor) -> tuple[Tensor, Tensor]:
        """Decode with teacher forcing.

        Args:
            annotations: ``(N, L, D)`` feature grids.
            captions: ``(N, T)`` ground-truth words; word ``t - 1`` is fed at step ``t``.

        Returns:
            ``(logits, weights)``: ``(N, T, vocab_size)`` word scores and the
            ``(N, T, L)`` attention weights of every step.
        """
        mean_annotation = annotations.mean(dim=1)
        hidden = torch.tanh(self.init_hidden(mean_annotation))
        cell = torch.tanh(self.init_cell(mean_annotation))
        start = torch.full_like(captions[:, :1], self.vocab_size)
        previous_words = torch.cat([start, captions[:, :-1]], dim=1)

        all_logits, all_weights = [], []
        for step in range(captions.shape[1]):
            context, weights = self.attention(annotations, hidden)
            step_input = torch.cat([self.embedding(previous_words[:, step]), context], dim=-1)
            hidden, cell = self.cell(step_input, (hidden, cell))
            all_logits.append(self.output(torch.cat([hidden, context], dim=-1)))
            all_weights.append(weights)
        return torch.stack(all_logits, dim=1), torch.stack(all_weights, dim=1)


def train_captioner(
    model: AttentionCaptioner,
    batch: CaptionBatch,
    *,
    lam: float = 0.0,
    num_steps: int = 300,
    batch_size: int = 64,
    lr: float = 1e-2,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Train with word cross-entropy plus the doubly stochastic penalty weighted by ``lam``.

    Args:
        model: The captioner, trained in place.
        batch: Training data.
        lam: Weight $\\lambda$ of [`doubly_stochastic_penalty`][cvnotes.captioning.doubly_stochastic_penalty].
        num_steps: Optimiser steps.
        batch_size: Images per step.
        lr: Adam learning rate.
        generator: Random generator for the mini-batches.

    Returns:
        The word cross-entropy (without the penalty) of every step, in nats.
    """
    if num_steps < 1 or batch_size < 1:
        raise ValueError(
            f"invalid num_steps {num_steps!r} or batch_size {batch_size!r}: use positive integers"
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    num_images = batch.annotations.shape[0]
    history = []
    model.train()
    for _ in range(num_steps):
        index = torch.randint(0, num_images, (batch_size,), generator=generator)
        logits, weights = model(batch.annotations[index], batch.captions[index])
        word_loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), batch.captions[index].reshape(-1))
        loss = word_loss + doubly_stochastic_penalty(weights, lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(word_loss.item())
    return history
