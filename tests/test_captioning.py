"""Tests of cvnotes.captioning: attention weights, the doubly stochastic penalty, hard samples, training."""

from __future__ import annotations

import pytest
import torch

from cvnotes.captioning import (
    AdditiveAttention,
    AttentionCaptioner,
    attention_coverage,
    doubly_stochastic_penalty,
    make_caption_batch,
    sample_hard_attention,
    train_captioner,
)


def test_attention_weights_sum_to_one_per_step():
    torch.manual_seed(0)
    attention = AdditiveAttention(feature_dim=6, hidden_dim=4, attention_dim=8)
    annotations = torch.randn(3, 25, 6)
    for _ in range(4):
        _, weights = attention(annotations, torch.randn(3, 4))
        assert torch.allclose(weights.sum(dim=1), torch.ones(3), atol=1e-6)
        assert (weights >= 0).all()


def test_attention_context_is_weighted_sum():
    torch.manual_seed(1)
    attention = AdditiveAttention(feature_dim=5, hidden_dim=3, attention_dim=7)
    annotations = torch.randn(2, 9, 5)
    context, weights = attention(annotations, torch.randn(2, 3))
    expected = torch.stack([(weights[n, :, None] * annotations[n]).sum(dim=0) for n in range(2)])
    assert torch.allclose(context, expected, atol=1e-6)


def test_attention_matches_additive_formula():
    torch.manual_seed(2)
    attention = AdditiveAttention(feature_dim=4, hidden_dim=3, attention_dim=5)
    annotations = torch.randn(1, 6, 4)
    hidden = torch.randn(1, 3)
    scores = torch.stack(
        [
            attention.score.weight[0]
            @ torch.tanh(
                attention.feature_projection.weight @ annotations[0, i]
                + attention.feature_projection.bias
                + attention.hidden_projection.weight @ hidden[0]
            )
            for i in range(6)
        ]
    )
    _, weights = attention(annotations, hidden)
    assert torch.allclose(weights[0], torch.softmax(scores, dim=0), atol=1e-6)


def test_attention_rejects_mismatched_batch():
    attention = AdditiveAttention(feature_dim=4, hidden_dim=3, attention_dim=5)
    with pytest.raises(ValueError, match="same N"):
        attention(torch.randn(2, 6, 4), torch.randn(3, 3))


def test_decoder_attention_sums_to_one_every_step():
    torch.manual_seed(3)
    batch = make_caption_batch(4, grid_size=4, num_objects=3, generator=torch.Generator().manual_seed(0))
    model = AttentionCaptioner(feature_dim=batch.annotations.shape[-1], vocab_size=5)
    logits, weights = model(batch.annotations, batch.captions)
    assert logits.shape == (4, 3, 5)
    assert weights.shape == (4, 3, 16)
    assert torch.allclose(weights.sum(dim=-1), torch.ones(4, 3), atol=1e-6)


def test_penalty_hand_values():
    # Two steps on three locations: coverage (1.5, 0.5, 0) -> 0.25 + 0.25 + 1 = 1.5.
    weights = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert attention_coverage(weights).tolist() == [1.5, 0.5, 0.0]
    assert doubly_stochastic_penalty(weights).item() == pytest.approx(1.5)
    assert doubly_stochastic_penalty(weights, lam=0.1).item() == pytest.approx(0.15)


def test_penalty_zero_for_permutation():
    weights = torch.eye(4)[torch.tensor([2, 0, 3, 1])]
    assert doubly_stochastic_penalty(weights).item() == 0.0


def test_penalty_prefers_spread_attention():
    focused = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    spread = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    assert doubly_stochastic_penalty(spread) < doubly_stochastic_penalty(focused)


def test_penalty_averages_over_batch():
    weights = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    assert doubly_stochastic_penalty(weights).item() == pytest.approx((2.0 + 0.0) / 2)


def test_penalty_rejects_negative_lambda():
    with pytest.raises(ValueError, match="invalid lam -1"):
        doubly_stochastic_penalty(torch.ones(1, 1), lam=-1)


def test_hard_samples_one_hot_mean_soft():
    weights = torch.tensor([[0.7, 0.2, 0.1]]).expand(20_000, -1).contiguous()
    samples = sample_hard_attention(weights, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples.sum(dim=1), torch.ones(20_000))
    # The Monte Carlo standard error is about 0.003 here, so 0.015 is five of them.
    assert torch.allclose(samples.mean(dim=0), weights[0], atol=0.015)


def test_caption_words_follow_raster_order():
    batch = make_caption_batch(16, grid_size=5, num_objects=3, generator=torch.Generator().manual_seed(0))
    assert (batch.object_cells.diff(dim=1) > 0).all()
    for image in range(16):
        for step, cell in enumerate(batch.object_cells[image].tolist()):
            class_part = batch.annotations[image, cell, :5]
            assert int(class_part.argmax()) == int(batch.captions[image, step])


def test_make_caption_batch_rejects_too_many_objects():
    with pytest.raises(ValueError, match="invalid num_objects 10"):
        make_caption_batch(2, grid_size=3, num_objects=10)


def test_short_training_focuses_attention_on_named_object():
    torch.manual_seed(0)
    train = make_caption_batch(512, grid_size=4, generator=torch.Generator().manual_seed(0))
    test = make_caption_batch(64, grid_size=4, generator=torch.Generator().manual_seed(1))
    model = AttentionCaptioner(feature_dim=train.annotations.shape[-1], vocab_size=5)
    losses = train_captioner(model, train, num_steps=150, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        _, weights = model(test.annotations, test.captions)
    on_object = weights.gather(2, test.object_cells[:, :, None]).mean().item()
    assert losses[-1] < losses[0]
    assert on_object > 3 / 16  # uniform attention would give 1/16 per cell
