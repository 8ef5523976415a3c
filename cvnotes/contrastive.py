r"""Aligning two modalities in one embedding space: ranking losses and symmetric InfoNCE.

Two encoders ("towers") map an image and a text to vectors of the same size. Training
pulls the vectors of a matching pair together and pushes mismatched pairs apart, so that
after training a cosine similarity compares meaning across modalities.

Two families of objectives do this.

- **Ranking (triplet) losses** with a margin $m$ (Frome et al., DeViSE, NeurIPS 2013;
  Kiros et al., arXiv 2014): every mismatched text $t_j$ must score at least $m$ below
  the matching one $t_i$, $\sum_{j \ne i} [m - s(v_i, t_i) + s(v_i, t_j)]_+$, and the
  same with the roles swapped. VSE++ (Faghri et al., BMVC 2018) keeps only the
  hardest negative in the batch, the $\max$ over $j$ instead of the sum.
- **Symmetric InfoNCE** (van den Oord et al., CPC, arXiv 2018; Radford et al., CLIP,
  ICML 2021): each row of the $N \times N$ similarity matrix is an $N$-way
  classification whose correct class is the diagonal entry, with logits scaled by a
  learnable inverse temperature, and the loss averages the image-to-text and text-to-image
  cross-entropies.

The embeddings are L2-normalised, so similarities are cosines in $[-1, 1]$.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CLIP_INITIAL_TEMPERATURE",
    "CLIP_MAX_LOGIT_SCALE",
    "LogitScale",
    "PairedData",
    "TrainingHistory",
    "TwoTowerModel",
    "make_paired_data",
    "matched_pair_similarity",
    "similarity_logits",
    "symmetric_info_nce",
    "train_two_tower",
    "triplet_ranking_loss",
]

# CLIP initialises the temperature to 0.07 and clips the logit scale 1 / T at 100
# (Radford et al., ICML 2021).
CLIP_INITIAL_TEMPERATURE = 0.07
CLIP_MAX_LOGIT_SCALE = 100.0


def _check_pair(image_embeddings: Tensor, text_embeddings: Tensor) -> None:
    if image_embeddings.ndim != 2 or text_embeddings.ndim != 2:
        raise ValueError(
            "embeddings must be 2-D (N, D), got shapes "
            f"{tuple(image_embeddings.shape)} and {tuple(text_embeddings.shape)}"
        )
    if image_embeddings.shape != text_embeddings.shape:
        raise ValueError(
            "the i-th image and the i-th text form a pair, so both inputs need the same shape (N, D); "
            f"got {tuple(image_embeddings.shape)} and {tuple(text_embeddings.shape)}"
        )


def similarity_logits(
    image_embeddings: Tensor, text_embeddings: Tensor, logit_scale: Tensor | float
) -> Tensor:
    r"""Compute the scaled cosine-similarity matrix of two batches.

    $$\ell_{ij} = s \cdot \frac{v_i^\top t_j}{\lVert v_i \rVert \, \lVert t_j \rVert}, \qquad s = 1 / T .$$

    Args:
        image_embeddings: ``(N, D)`` embeddings of one modality, not necessarily normalised.
        text_embeddings: ``(M, D)`` embeddings of the other modality.
        logit_scale: Inverse temperature $s$, a positive number or 0-d tensor.

    Returns:
        ``(N, M)`` logits; row ``i`` scores image ``i`` against every text.

    Raises:
        ValueError: If the inputs are not 2-D with the same embedding size.

    Example:
        >>> v = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> similarity_logits(v, v, 10.0)
        tensor([[10.,  0.],
                [ 0., 10.]])
    """
    if image_embeddings.ndim != 2 or text_embeddings.ndim != 2:
        raise ValueError(
            "embeddings must be 2-D, got shapes "
            f"{tuple(image_embeddings.shape)} and {tuple(text_embeddings.shape)}"
        )
    if image_embeddings.shape[1] != text_embeddings.shape[1]:
        raise ValueError(
            f"embedding sizes differ: {image_embeddings.shape[1]} and {text_embeddings.shape[1]}; "
            "project both modalities to the same size first"
        )
    image_embeddings = F.normalize(image_embeddings, dim=-1)
    text_embeddings = F.normalize(text_embeddings, dim=-1)
    return logit_scale * image_embeddings @ text_embeddings.T


def symmetric_info_nce(
    image_embeddings: Tensor, text_embeddings: Tensor, logit_scale: Tensor | float
) -> Tensor:
    r"""Compute CLIP's symmetric InfoNCE loss of a batch of matching pairs.

    With the logits $\ell$ of [`similarity_logits`][cvnotes.contrastive.similarity_logits],
    the pair $(v_i, t_i)$ is the positive and the other $N - 1$ entries of its row (and
    of its column) are the negatives:

    $$
    \mathcal{L} = \frac{1}{2N} \sum_{i=1}^{N} \Bigl[
    -\log \frac{e^{\ell_{ii}}}{\sum_j e^{\ell_{ij}}}
    -\log \frac{e^{\ell_{ii}}}{\sum_j e^{\ell_{ji}}} \Bigr].
    $$

    This is ``(cross_entropy(logits, arange(N)) + cross_entropy(logits.T, arange(N))) / 2``,
    the form of Radford et al., CLIP, ICML 2021 (figure 3) and of
    ``open_clip.loss.ClipLoss`` on one device. Each direction is the InfoNCE loss of
    van den Oord et al. (arXiv 2018). The loss is symmetric: swapping the two
    modalities transposes $\ell$ and gives the same value.

    Args:
        image_embeddings: ``(N, D)`` embeddings; row ``i`` pairs with row ``i`` of the texts.
        text_embeddings: ``(N, D)`` embeddings of the other modality.
        logit_scale: Inverse temperature $s = 1/T$ (CLIP learns $\log s$, see
            [`LogitScale`][cvnotes.contrastive.LogitScale]).

    Returns:
        The mean loss in nats, a 0-d tensor. Its value at chance (all logits equal) is $\log N$.

    Raises:
        ValueError: If the shapes differ or are not 2-D.

    Example:
        >>> v = torch.eye(2)
        >>> round(symmetric_info_nce(v, v, 1.0).item(), 4)  # log(1 + e^-1)
        0.3133
    """
    _check_pair(image_embeddings, text_embeddings)
    logits = similarity_logits(image_embeddings, text_embeddings, logit_scale)
    labels = torch.arange(logits.shape[0], device=logits.device)
    image_to_text = F.cross_entropy(logits, labels)
    text_to_image = F.cross_entropy(logits.T, labels)
    return (image_to_text + text_to_image) / 2


def triplet_ranking_loss(
    image_embeddings: Tensor, text_embeddings: Tensor, margin: float = 0.2, hardest_negative: bool = False
) -> Tensor:
    r"""Compute the bidirectional hinge ranking loss of a batch of matching pairs.

    With cosine similarities $s_{ij}$ and margin $m$, each pair $i$ contributes

    $$
    \sum_{j \ne i} [m - s_{ii} + s_{ij}]_+ + \sum_{j \ne i} [m - s_{ii} + s_{ji}]_+ ,
    $$

    the sum-of-hinges form of Kiros et al. (arXiv 2014). With ``hardest_negative=True``
    each sum becomes a $\max$ over $j$, the VSE++ loss of Faghri et al. (BMVC 2018),
    which puts the whole gradient on the closest wrong match.

    Args:
        image_embeddings: ``(N, D)`` embeddings; row ``i`` pairs with row ``i`` of the texts.
        text_embeddings: ``(N, D)`` embeddings of the other modality.
        margin: Required gap $m > 0$ between the positive and each negative similarity.
        hardest_negative: Keep only the hardest negative per row and per column.

    Returns:
        The loss averaged over the ``N`` pairs, a 0-d tensor.

    Raises:
        ValueError: If the shapes differ or the margin is not positive.

    Example:
        >>> v = torch.eye(3)
        >>> triplet_ranking_loss(v, v, margin=0.2).item()  # every negative is 1.0 below: no loss
        0.0
    """
    _check_pair(image_embeddings, text_embeddings)
    if not margin > 0:
        raise ValueError(f"invalid margin {margin!r}: use a positive number such as 0.2")
    similarity = similarity_logits(image_embeddings, text_embeddings, 1.0)
    positive = similarity.diagonal()
    # Hinges against the texts of each image (rows) and the images of each text (columns).
    cost_texts = (margin - positive[:, None] + similarity).clamp(min=0)
    cost_images = (margin - positive[None, :] + similarity).clamp(min=0)
    off_diagonal = ~torch.eye(similarity.shape[0], dtype=torch.bool, device=similarity.device)
    cost_texts = cost_texts * off_diagonal
    cost_images = cost_images * off_diagonal
    if hardest_negative:
        per_pair = cost_texts.max(dim=1).values + cost_images.max(dim=0).values
    else:
        per_pair = cost_texts.sum(dim=1) + cost_images.sum(dim=0)
    return per_pair.mean()


class LogitScale(nn.Module):
    r"""Learnable inverse temperature stored as a logarithm, as in CLIP.

    The parameter is $\log s$ with $s = 1/T$, initialised to $\log(1 / 0.07)$.
    Learning the logarithm keeps $s$ positive. CLIP clips $s$ at 100 so that the
    softmax cannot become arbitrarily sharp. As in open_clip's training loop, the
    clip is applied to the parameter in place after each optimiser step
    ([`clamp_`][cvnotes.contrastive.LogitScale.clamp_]), so the gradient is never cut.

    Args:
        initial_temperature: Starting temperature $T > 0$.
        max_logit_scale: Upper bound of $s$.

    Example:
        >>> scale = LogitScale()
        >>> round(scale().item(), 3)
        14.286
    """

    def __init__(
        self,
        initial_temperature: float = CLIP_INITIAL_TEMPERATURE,
        max_logit_scale: float = CLIP_MAX_LOGIT_SCALE,
    ) -> None:
        super().__init__()
        if not initial_temperature > 0:
            raise ValueError(f"invalid initial_temperature {initial_temperature!r}: use a positive number")
        if not max_logit_scale >= 1 / initial_temperature:
            raise ValueError(
                f"max_logit_scale {max_logit_scale!r} is below the initial scale {1 / initial_temperature:g}"
            )
        self.max_logit_scale = max_logit_scale
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / initial_temperature)))

    def forward(self) -> Tensor:
        """Return the inverse temperature $s = \\exp(\\log s)$."""
        return self.log_scale.exp()

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clip $\\log s$ to $[0, \\log s_{max}]$ in place, so that $1 \\le s \\le s_{max}$."""
        self.log_scale.clamp_(0.0, math.log(self.max_logit_scale))


class TwoTowerModel(nn.Module):
    """Two small MLP encoders that project two modalities into one shared space.

    Each tower is ``Linear -> ReLU -> Linear``; the outputs are L2-normalised.
    CLIP's towers are a ViT or ResNet and a text Transformer, each followed by a
    linear projection. Here both are MLPs, so that training takes seconds on a CPU.

    Args:
        image_dim: Size of the first modality's input features.
        text_dim: Size of the second modality's input features.
        embed_dim: Size of the shared embedding space.
        hidden_dim: Width of each tower's hidden layer.

    Example:
        >>> model = TwoTowerModel(image_dim=6, text_dim=4, embed_dim=3)
        >>> image, text = model(torch.randn(5, 6), torch.randn(5, 4))
        >>> tuple(image.shape), round(image.norm(dim=1)[0].item(), 4)
        ((5, 3), 1.0)
    """

    def __init__(self, image_dim: int, text_dim: int, embed_dim: int = 8, hidden_dim: int = 32) -> None:
        super().__init__()
        self.image_tower = nn.Sequential(
            nn.Linear(image_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, embed_dim)
        )
        self.text_tower = nn.Sequential(
            nn.Linear(text_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, embed_dim)
        )
        self.logit_scale = LogitScale()

    def encode_image(self, image_features: Tensor) -> Tensor:
        """Embed ``(N, image_dim)`` features into ``(N, embed_dim)`` unit vectors."""
        return F.normalize(self.image_tower(image_features), dim=-1)

    def encode_text(self, text_features: Tensor) -> Tensor:
        """Embed ``(N, text_dim)`` features into ``(N, embed_dim)`` unit vectors."""
        return F.normalize(self.text_tower(text_features), dim=-1)

    def forward(self, image_features: Tensor, text_features: Tensor) -> tuple[Tensor, Tensor]:
        """Return the normalised embeddings of both modalities."""
        return self.encode_image(image_features), self.encode_text(text_features)


@dataclass(frozen=True)
class PairedData:
    """Synthetic paired data: two views of the same hidden concept per row.

    Attributes:
        image_features: ``(N, image_dim)`` first view.
        text_features: ``(N, text_dim)`` second view; row ``i`` pairs with image row ``i``.
        concepts: ``(N,)`` index of the concept behind each pair.
    """

    image_features: Tensor
    text_features: Tensor
    concepts: Tensor


def make_paired_data(
    num_pairs: int,
    num_concepts: int = 8,
    image_dim: int = 16,
    text_dim: int = 12,
    latent_dim: int = 6,
    spread: float = 0.5,
    noise: float = 0.3,
    generator: torch.Generator | None = None,
) -> PairedData:
    """Generate pairs whose two views are different noisy functions of one concept.

    Each concept has a latent vector, and each pair a latent of its own near it
    (concept vector plus Gaussian noise of scale ``spread``). The "image" view is a random linear map of
    that vector followed by ``tanh``, the "text" view another random map with its
    own nonlinearity, each with Gaussian noise. The two input spaces have different
    sizes and bases, so nothing aligns them until a model learns to.

    Args:
        num_pairs: Number of pairs ``N``.
        num_concepts: Number of distinct concepts the pairs are drawn from.
        image_dim: Size of the image view.
        text_dim: Size of the text view.
        latent_dim: Size of the hidden concept vectors.
        spread: Standard deviation of each pair's latent around its concept, so
            that pairs of one concept are alike but still tell apart.
        noise: Standard deviation of the Gaussian noise added to each view.
        generator: Random generator, for reproducible data.

    Returns:
        A [`PairedData`][cvnotes.contrastive.PairedData].

    Raises:
        ValueError: If a size is not positive or the noise is negative.

    Example:
        >>> data = make_paired_data(10, generator=torch.Generator().manual_seed(0))
        >>> tuple(data.image_features.shape), tuple(data.text_features.shape)
        ((10, 16), (10, 12))
    """
    for name, value in (
        ("num_pairs", num_pairs),
        ("num_concepts", num_concepts),
        ("image_dim", image_dim),
        ("text_dim", text_dim),
        ("latent_dim", latent_dim),
    ):
        if value < 1:
            raise ValueError(f"invalid {name} {value!r}: use a positive integer")
    if noise < 0 or spread < 0:
        raise ValueError(f"invalid noise {noise!r} or spread {spread!r}: use standard deviations >= 0")

    latents = torch.randn(num_concepts, latent_dim, generator=generator)
    image_map = torch.randn(latent_dim, image_dim, generator=generator)
    text_map = torch.randn(latent_dim, text_dim, generator=generator)
    concepts = torch.randint(0, num_concepts, (num_pairs,), generator=generator)
    z = latents[concepts] + spread * torch.randn(num_pairs, latent_dim, generator=generator)
    image = torch.tanh(z @ image_map) + noise * torch.randn(num_pairs, image_dim, generator=generator)
    text = torch.sin(z @ text_map) + noise * torch.randn(num_pairs, text_dim, generator=generator)
    return PairedData(image_features=image, text_features=text, concepts=concepts)


@torch.no_grad()
def matched_pair_similarity(
    model: TwoTowerModel, image_features: Tensor, text_features: Tensor
) -> dict[str, float]:
    """Measure how far matching pairs stand out from mismatched ones.

    Args:
        model: The two-tower model.
        image_features: ``(N, image_dim)`` inputs of the first tower.
        text_features: ``(N, text_dim)`` inputs of the second tower, paired row by row.

    Returns:
        ``{"matched": ..., "mismatched": ..., "gap": ..., "retrieval_at_1": ...}``: the mean
        cosine similarity of the diagonal and of the off-diagonal entries, their
        difference, and the fraction of images whose most similar text is their own.
    """
    was_training = model.training
    model.eval()
    image, text = model(image_features, text_features)
    model.train(was_training)

    similarity = image @ text.T
    n = similarity.shape[0]
    matched = similarity.diagonal().mean()
    mismatched = (similarity.sum() - similarity.diagonal().sum()) / max(n * n - n, 1)
    retrieval = (similarity.argmax(dim=1) == torch.arange(n)).float().mean()
    return {
        "matched": float(matched),
        "mismatched": float(mismatched),
        "gap": float(matched - mismatched),
        "retrieval_at_1": float(retrieval),
    }


@dataclass
class TrainingHistory:
    """Loss and logit scale after each epoch of [`train_two_tower`][cvnotes.contrastive.train_two_tower]."""

    loss: list[float] = field(default_factory=list)
    logit_scale: list[float] = field(default_factory=list)


def train_two_tower(
    model: TwoTowerModel,
    data: PairedData,
    *,
    num_epochs: int = 30,
    batch_size: int = 64,
    lr: float = 1e-2,
    generator: torch.Generator | None = None,
) -> TrainingHistory:
    """Train both towers and the temperature with symmetric InfoNCE and Adam.

    Each epoch shuffles the pairs and walks through them in batches. Inside a batch
    every other pair is a negative, as in CLIP. After each optimiser step the logit
    scale is clipped like CLIP's.

    NOTE: pairs of the same concept are alike, yet InfoNCE counts them as negatives of
    each other, which keeps the loss above zero; CLIP's web pairs share this issue.

    Args:
        model: The model to train in place.
        data: Paired training data.
        num_epochs: Passes over the data.
        batch_size: Pairs per batch (the number of classes of each InfoNCE row).
        lr: Adam learning rate.
        generator: Random generator for the shuffling.

    Returns:
        The mean loss and the logit scale after each epoch.

    Raises:
        ValueError: If ``num_epochs`` or ``lr`` is not positive, or ``batch_size`` or the
            number of pairs is below 2.
    """
    if num_epochs < 1:
        raise ValueError(f"invalid num_epochs {num_epochs!r}: use a positive integer")
    if batch_size < 2:
        raise ValueError(f"invalid batch_size {batch_size!r}: InfoNCE needs at least 2 pairs per batch")
    if not lr > 0:
        raise ValueError(f"invalid lr {lr!r}: use a positive learning rate")

    num_pairs = data.image_features.shape[0]
    if num_pairs < 2:
        raise ValueError(f"data has {num_pairs} pair(s): InfoNCE needs at least 2 pairs")

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = TrainingHistory()
    model.train()
    for _ in range(num_epochs):
        order = torch.randperm(num_pairs, generator=generator)
        losses = []
        for start in range(0, num_pairs, batch_size):
            batch = order[start : start + batch_size]
            # A last batch of one pair has no negative to contrast with.
            if batch.numel() < 2:
                continue
            image, text = model(data.image_features[batch], data.text_features[batch])
            loss = symmetric_info_nce(image, text, model.logit_scale())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            model.logit_scale.clamp_()
            losses.append(loss.item())
        history.loss.append(sum(losses) / len(losses))
        history.logit_scale.append(model.logit_scale().item())
    return history
