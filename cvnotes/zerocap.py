r"""ZeroCap's per-token steering of a frozen language model by a frozen CLIP, on toy tensors.

ZeroCap (Tewel, Shalev, Schwartz and Wolf, "ZeroCap: Zero-Shot Image-to-Text
Generation for Visual-Semantic Arithmetic", CVPR 2022) captions an image with
GPT-2 and CLIP and trains neither. Before each new token it changes GPT-2's
*context cache* (the keys and values of the tokens generated so far) by a few
gradient steps, so that the next-token distribution $p_{i+1}$ favours tokens
that CLIP finds close to the image while staying close to what GPT-2 predicted:

1. Take the $k$ most likely next tokens under the current distribution (512 in the
   authors' code). For each candidate, CLIP embeds the text "prefix + candidate"
   and scores it against the image embedding $E_I$.
2. The CLIP target is a softmax of those cosine similarities with a small
   temperature ($\tau = 0.01$ in the authors' code):
   $p^{*}_{i+1}(x) \propto \exp(\cos(E_T(x_{\le i}, x), E_I) / \tau)$ over the
   candidates, and 0 outside them.
3. The CLIP loss is the cross-entropy $\mathcal{L}_{\mathrm{CLIP}} = -\sum_x p^{*}_{i+1}(x) \log p_{i+1}(x)$.
4. The fluency term keeps the shifted distribution near the original one
   $\hat p_{i+1}$ of the unchanged cache. The authors' code names it the CE loss
   (weight ``ce_scale``) but computes $\mathrm{KL}(p_{i+1} \,\Vert\, \hat p_{i+1})$, which is
   what [`fluency_loss`][cvnotes.zerocap.fluency_loss] does. The total is
   $\mathcal{L}_{\mathrm{CLIP}} + \lambda \, \mathcal{L}_{\mathrm{fluency}}$ with
   $\lambda = 0.2$.
5. The cache moves 5 times against the gradient, normalised by its norm to the
   power 0.9, with step size 0.3. The next token is chosen from
   $p_{i+1}^{0.99} \hat p_{i+1}^{0.01}$ (renormalised), and beam search keeps 5 beams.

The numbers in steps 1-5 are the defaults of the authors' ``run.py`` and
``model/ZeroCLIP.py`` (github.com/YoadTew/zero-shot-image-to-text). Here a linear map
from a context vector to logits ([`ToyLanguageModel`][cvnotes.zerocap.ToyLanguageModel])
replaces GPT-2 and fixed vectors replace CLIP's embeddings, so that the formulas
run in microseconds. No real captioning happens in this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ShiftResult",
    "ToyLanguageModel",
    "clip_loss",
    "clip_target_distribution",
    "fluency_loss",
    "fuse_distributions",
    "shift_context",
]


def clip_target_distribution(
    image_embedding: Tensor, candidate_text_embeddings: Tensor, temperature: float = 0.01
) -> Tensor:
    r"""Turn CLIP image-text similarities of candidate tokens into a target distribution.

    $$p^{*}(x_k) = \frac{\exp(\cos(E_T(x_k), E_I) / \tau)}{\sum_j \exp(\cos(E_T(x_j), E_I) / \tau)}$$

    Args:
        image_embedding: ``(E,)`` CLIP embedding of the image.
        candidate_text_embeddings: ``(K, E)`` CLIP embeddings of "prefix + candidate token".
        temperature: $\tau > 0$; ZeroCap uses 0.01, so a cosine gap of 0.05 becomes
            a probability ratio of $e^5 \approx 148$.

    Returns:
        ``(K,)`` probabilities over the candidates.

    Raises:
        ValueError: If the temperature is not positive or the sizes differ.

    Example:
        >>> image = torch.tensor([1.0, 0.0])
        >>> texts = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> clip_target_distribution(image, texts, temperature=1.0)
        tensor([0.7311, 0.2689])
    """
    if not temperature > 0:
        raise ValueError(f"invalid temperature {temperature!r}: use a positive number such as 0.01")
    if image_embedding.ndim != 1 or candidate_text_embeddings.ndim != 2:
        raise ValueError(
            "expected image_embedding (E,) and candidate_text_embeddings (K, E), got "
            f"{tuple(image_embedding.shape)} and {tuple(candidate_text_embeddings.shape)}"
        )
    if candidate_text_embeddings.shape[1] != image_embedding.shape[0]:
        raise ValueError(
            f"embedding sizes differ: image {image_embedding.shape[0]}, text {candidate_text_embeddings.shape[1]}"
        )
    similarity = F.normalize(candidate_text_embeddings, dim=-1) @ F.normalize(image_embedding, dim=0)
    return F.softmax(similarity / temperature, dim=0)


def clip_loss(log_probs: Tensor, candidate_ids: Tensor, target: Tensor) -> Tensor:
    r"""Compute ZeroCap's CLIP loss, the cross-entropy from the CLIP target to the LM distribution.

    $$\mathcal{L}_{\mathrm{CLIP}} = -\sum_{k} p^{*}(x_k) \log p(x_k)$$

    Tokens outside the candidates have target 0 and add nothing.

    Args:
        log_probs: ``(V,)`` log-probabilities of the next token under the shifted LM.
        candidate_ids: ``(K,)`` vocabulary indices of the candidates.
        target: ``(K,)`` CLIP target over the candidates (treated as a constant).

    Returns:
        A 0-d tensor in nats.

    Example:
        >>> log_probs = torch.log(torch.tensor([0.5, 0.25, 0.25]))
        >>> round(clip_loss(log_probs, torch.tensor([0, 1]), torch.tensor([0.5, 0.5])).item(), 4)
        1.0397
    """
    if candidate_ids.shape != target.shape:
        raise ValueError(
            f"candidate_ids {tuple(candidate_ids.shape)} and target {tuple(target.shape)} must have the same shape"
        )
    return -(target.detach() * log_probs[candidate_ids]).sum()


def fluency_loss(probs: Tensor, original_probs: Tensor) -> Tensor:
    r"""Compute $\mathrm{KL}(p \,\Vert\, \hat p) = \sum_x p(x) (\log p(x) - \log \hat p(x))$.

    ZeroCap's fluency term as its authors' code computes it: it is zero when the
    shifted distribution $p$ equals the LM's original $\hat p$ and grows as CLIP
    pulls $p$ away from fluent continuations.

    Args:
        probs: ``(V,)`` shifted next-token distribution $p$.
        original_probs: ``(V,)`` distribution $\hat p$ of the unchanged context (a constant).

    Returns:
        A 0-d tensor in nats.

    Example:
        >>> p = torch.tensor([0.5, 0.5])
        >>> fluency_loss(p, p).item()
        0.0
    """
    if probs.shape != original_probs.shape:
        raise ValueError(
            f"distributions differ in shape: {tuple(probs.shape)} and {tuple(original_probs.shape)}"
        )
    # xlogy gives 0 * log 0 = 0 for tokens the shifted model rules out.
    return (torch.special.xlogy(probs, probs) - probs * original_probs.detach().log()).sum()


def fuse_distributions(shifted: Tensor, original: Tensor, fusion_factor: float = 0.99) -> Tensor:
    r"""Mix the shifted and original distributions geometrically: $p^{\beta} \hat p^{1 - \beta}$, renormalised.

    Args:
        shifted: ``(V,)`` distribution after the context update.
        original: ``(V,)`` distribution of the unchanged context.
        fusion_factor: $\beta \in [0, 1]$; the authors' code uses 0.99.

    Returns:
        ``(V,)`` the distribution the next token is chosen from.

    Example:
        >>> fuse_distributions(torch.tensor([0.9, 0.1]), torch.tensor([0.1, 0.9]), 0.5)
        tensor([0.5000, 0.5000])
    """
    if not 0.0 <= fusion_factor <= 1.0:
        raise ValueError(f"invalid fusion_factor {fusion_factor!r}: use a value in [0, 1]")
    fused = shifted**fusion_factor * original ** (1.0 - fusion_factor)
    return fused / fused.sum()


class ToyLanguageModel(nn.Module):
    """A frozen linear "language model": next-token logits ``W c + b`` from a context vector ``c``.

    The vector ``c`` plays the role of GPT-2's cache of keys and values: ZeroCap
    changes the cache, not the weights, and so does [`shift_context`][cvnotes.zerocap.shift_context]
    with ``c``.

    Args:
        weight: ``(V, d)`` output matrix.
        bias: ``(V,)`` output bias, or None.

    Example:
        >>> lm = ToyLanguageModel(torch.eye(3))
        >>> lm(torch.tensor([0.0, 0.0, 1.0]))
        tensor([0., 0., 1.])
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("weight", weight.clone())
        self.register_buffer("bias", torch.zeros(weight.shape[0]) if bias is None else bias.clone())

    def forward(self, context: Tensor) -> Tensor:
        """Return the ``(V,)`` next-token logits of a ``(d,)`` context vector."""
        return self.weight @ context + self.bias


@dataclass(frozen=True)
class ShiftResult:
    """Outcome of [`shift_context`][cvnotes.zerocap.shift_context].

    Attributes:
        context: ``(d,)`` shifted context.
        original_probs: ``(V,)`` next-token distribution before the shift.
        shifted_probs: ``(V,)`` distribution after the shift, before fusion.
        fused_probs: ``(V,)`` the distribution the next token is taken from.
        candidate_ids: ``(K,)`` candidates of the last iteration.
        target: ``(V,)`` CLIP target of the last iteration, zero outside the candidates.
        losses: ``(clip, fluency)`` loss values of each iteration, before its step.
    """

    context: Tensor
    original_probs: Tensor
    shifted_probs: Tensor
    fused_probs: Tensor
    candidate_ids: Tensor
    target: Tensor
    losses: list[tuple[float, float]]


def shift_context(
    language_model: ToyLanguageModel,
    context: Tensor,
    image_embedding: Tensor,
    token_text_embeddings: Tensor,
    *,
    top_k: int = 512,
    temperature: float = 0.01,
    fluency_weight: float = 0.2,
    num_iterations: int = 5,
    step_size: float = 0.3,
    grad_norm_factor: float = 0.9,
    fusion_factor: float = 0.99,
) -> ShiftResult:
    r"""Run ZeroCap's context update for one token and return the distributions involved.

    Each iteration computes the shifted distribution $p = \mathrm{softmax}(\mathrm{LM}(c + \delta))$,
    takes its ``top_k`` tokens as candidates, builds the CLIP target over them and
    moves $\delta$ by

    $$\delta \leftarrow \delta - \eta \, \frac{\nabla_\delta \mathcal{L}}{\lVert \nabla_\delta \mathcal{L} \rVert^{\gamma}},
    \qquad \mathcal{L} = \mathcal{L}_{\mathrm{CLIP}} + \lambda \, \mathrm{KL}(p \,\Vert\, \hat p).$$

    Defaults are those of the authors' code, where ``top_k`` caps at the vocabulary size.

    Args:
        language_model: The frozen LM.
        context: ``(d,)`` context vector before the update.
        image_embedding: ``(E,)`` CLIP image embedding.
        token_text_embeddings: ``(V, E)`` CLIP text embedding of "prefix + token" for each
            token of the vocabulary (ZeroCap computes only the candidates' rows).
        top_k: Number of candidate tokens $k$.
        temperature: CLIP target temperature $\tau$.
        fluency_weight: $\lambda$ of the fluency term.
        num_iterations: Gradient steps per token.
        step_size: $\eta$.
        grad_norm_factor: $\gamma$ of the gradient normalisation.
        fusion_factor: $\beta$ of [`fuse_distributions`][cvnotes.zerocap.fuse_distributions].

    Returns:
        A [`ShiftResult`][cvnotes.zerocap.ShiftResult].

    Raises:
        ValueError: If ``top_k`` or ``num_iterations`` is not positive or the vocabulary
            sizes of the LM and the text embeddings differ.
    """
    vocab_size = language_model.weight.shape[0]
    if token_text_embeddings.shape[0] != vocab_size:
        raise ValueError(
            f"token_text_embeddings has {token_text_embeddings.shape[0]} rows but the LM has {vocab_size} tokens"
        )
    if top_k < 1 or num_iterations < 1:
        raise ValueError(
            f"invalid top_k {top_k!r} or num_iterations {num_iterations!r}: use positive integers"
        )
    top_k = min(top_k, vocab_size)

    with torch.no_grad():
        original_probs = F.softmax(language_model(context), dim=0)

    delta = torch.zeros_like(context)
    losses: list[tuple[float, float]] = []
    candidate_ids = torch.empty(0, dtype=torch.long)
    full_target = torch.zeros(vocab_size)
    for _ in range(num_iterations):
        delta.requires_grad_(True)
        log_probs = F.log_softmax(language_model(context + delta), dim=0)
        probs = log_probs.exp()

        # CLIP only scores the LM's own top candidates; the target is a constant.
        with torch.no_grad():
            candidate_ids = probs.topk(top_k).indices
            target = clip_target_distribution(
                image_embedding, token_text_embeddings[candidate_ids], temperature
            )
        clip_term = clip_loss(log_probs, candidate_ids, target)
        fluency_term = fluency_loss(probs, original_probs)
        loss = clip_term + fluency_weight * fluency_term
        (gradient,) = torch.autograd.grad(loss, delta)
        losses.append((clip_term.item(), fluency_term.item()))

        # The normalisation makes the step size nearly independent of the gradient's scale;
        # the epsilon keeps a zero gradient from dividing by zero.
        with torch.no_grad():
            delta = delta - step_size * gradient / (gradient.norm() + 1e-15) ** grad_norm_factor
        full_target = torch.zeros(vocab_size).index_put((candidate_ids,), target)

    with torch.no_grad():
        shifted_probs = F.softmax(language_model(context + delta), dim=0)
    return ShiftResult(
        context=(context + delta).detach(),
        original_probs=original_probs,
        shifted_probs=shifted_probs,
        fused_probs=fuse_distributions(shifted_probs, original_probs, fusion_factor),
        candidate_ids=candidate_ids,
        target=full_target,
        losses=losses,
    )
