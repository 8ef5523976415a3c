"""Tests of cvnotes.zerocap: the CLIP target, the two loss terms, fusion and the context update."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cvnotes.figures.zerocap import WORDS, ToyScene
from cvnotes.zerocap import (
    ToyLanguageModel,
    clip_loss,
    clip_target_distribution,
    fluency_loss,
    fuse_distributions,
    shift_context,
)


def test_clip_target_is_softmax_of_cosines():
    image = torch.tensor([1.0, 0.0])
    texts = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    target = clip_target_distribution(image, texts, temperature=0.5)
    cosines = torch.tensor([1.0, 0.0, 1 / math.sqrt(2)])
    assert torch.allclose(target, torch.softmax(cosines / 0.5, dim=0), atol=1e-6)
    assert target.sum().item() == pytest.approx(1.0)


def test_lower_temperature_sharpens_target():
    image = torch.tensor([1.0, 0.2])
    texts = torch.tensor([[1.0, 0.0], [0.9, 0.5]])
    warm = clip_target_distribution(image, texts, temperature=1.0)
    cold = clip_target_distribution(image, texts, temperature=0.01)
    assert cold.max() > warm.max()


def test_clip_target_rejects_bad_input():
    with pytest.raises(ValueError, match="invalid temperature 0"):
        clip_target_distribution(torch.ones(2), torch.ones(3, 2), temperature=0)
    with pytest.raises(ValueError, match="embedding sizes differ"):
        clip_target_distribution(torch.ones(2), torch.ones(3, 4))


def test_clip_loss_hand_value():
    # -(0.75 log 0.5 + 0.25 log 0.25) = 0.75 ln 2 + 0.25 ln 4 = 1.25 ln 2.
    log_probs = torch.log(torch.tensor([0.5, 0.25, 0.25]))
    loss = clip_loss(log_probs, torch.tensor([0, 2]), torch.tensor([0.75, 0.25]))
    assert loss.item() == pytest.approx(1.25 * math.log(2), abs=1e-6)


def test_fluency_loss_is_kl_divergence():
    generator = torch.Generator().manual_seed(0)
    shifted = torch.softmax(torch.randn(7, generator=generator), dim=0)
    original = torch.softmax(torch.randn(7, generator=generator), dim=0)
    expected = F.kl_div(original.log(), shifted, reduction="sum")
    assert fluency_loss(shifted, original).item() == pytest.approx(expected.item(), abs=1e-6)
    assert fluency_loss(original, original).item() == pytest.approx(0.0, abs=1e-7)


def test_fuse_distributions_endpoints():
    shifted = torch.tensor([0.7, 0.2, 0.1])
    original = torch.tensor([0.1, 0.3, 0.6])
    assert torch.allclose(fuse_distributions(shifted, original, 1.0), shifted)
    assert torch.allclose(fuse_distributions(shifted, original, 0.0), original)
    with pytest.raises(ValueError, match="invalid fusion_factor 2"):
        fuse_distributions(shifted, original, 2)


def test_shift_context_raises_clip_choice():
    scene = ToyScene(seed=0)
    result = shift_context(
        scene.language_model, scene.context, scene.image_embedding, scene.token_text_embeddings, top_k=6
    )
    clip_choice = int(result.target.argmax())
    assert WORDS[clip_choice] == "dog"
    assert result.fused_probs[clip_choice] > 2 * result.original_probs[clip_choice]
    assert int(result.fused_probs.argmax()) == clip_choice
    clip_losses = [clip for clip, _ in result.losses]
    assert clip_losses[-1] < clip_losses[0]
    assert result.losses[0][1] == pytest.approx(0.0, abs=1e-6), (
        "the first iteration starts from the LM itself"
    )


def test_target_is_zero_outside_candidates():
    scene = ToyScene(seed=0)
    result = shift_context(
        scene.language_model, scene.context, scene.image_embedding, scene.token_text_embeddings, top_k=3
    )
    outside = torch.ones(len(WORDS), dtype=torch.bool)
    outside[result.candidate_ids] = False
    assert (result.target[outside] == 0).all()
    assert result.target.sum().item() == pytest.approx(1.0, abs=1e-6)


def test_larger_fluency_weight_stays_closer_to_lm():
    scene = ToyScene(seed=0)
    arguments = (scene.language_model, scene.context, scene.image_embedding, scene.token_text_embeddings)
    loose = shift_context(*arguments, top_k=6, fluency_weight=0.0)
    tight = shift_context(*arguments, top_k=6, fluency_weight=20.0)
    loose_kl = fluency_loss(loose.shifted_probs, loose.original_probs)
    tight_kl = fluency_loss(tight.shifted_probs, tight.original_probs)
    assert tight_kl < loose_kl


def test_language_model_weights_stay_frozen():
    scene = ToyScene(seed=0)
    weight_before = scene.language_model.weight.clone()
    shift_context(scene.language_model, scene.context, scene.image_embedding, scene.token_text_embeddings)
    assert torch.equal(scene.language_model.weight, weight_before)
    assert not any(True for _ in scene.language_model.parameters())


def test_shift_context_rejects_mismatched_vocabulary():
    lm = ToyLanguageModel(torch.eye(4))
    with pytest.raises(ValueError, match="has 3 rows but the LM has 4 tokens"):
        shift_context(lm, torch.zeros(4), torch.ones(2), torch.ones(3, 2))
