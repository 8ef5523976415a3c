"""Tests of cvnotes.contrastive: InfoNCE by hand and against open_clip, ranking losses, training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from cvnotes.contrastive import (
    CLIP_INITIAL_TEMPERATURE,
    CLIP_MAX_LOGIT_SCALE,
    LogitScale,
    PairedData,
    TwoTowerModel,
    make_paired_data,
    matched_pair_similarity,
    similarity_logits,
    symmetric_info_nce,
    train_two_tower,
    triplet_ranking_loss,
)

# Two images and two texts, all unit vectors: t2 = (0.6, 0.8) leans towards v2.
IMAGES = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
TEXTS = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)


def test_info_nce_hand_computed_2x2():
    # Cosines: v1.t1 = 1, v1.t2 = 0.6, v2.t1 = 0, v2.t2 = 0.8. With logit scale 2 the
    # logits are [[2, 1.2], [0, 1.6]].
    # Rows (image -> text):  -log softmax picks the diagonal:
    #   row 1: log(1 + e^(1.2 - 2)) = log(1 + e^-0.8) = 0.371101
    #   row 2: log(1 + e^(0 - 1.6)) = log(1 + e^-1.6) = 0.183901   -> mean 0.277501
    # Columns (text -> image):
    #   col 1: log(1 + e^(0 - 2))   = log(1 + e^-2)   = 0.126928
    #   col 2: log(1 + e^(1.2 - 1.6)) = log(1 + e^-0.4) = 0.513015 -> mean 0.319972
    # Symmetric loss: (0.277501 + 0.319972) / 2 = 0.298736.
    loss = symmetric_info_nce(IMAGES, TEXTS, logit_scale=2.0)
    assert loss.item() == pytest.approx(0.298736, abs=1e-6)

    logits = similarity_logits(IMAGES, TEXTS, 2.0)
    assert torch.allclose(logits, torch.tensor([[2.0, 1.2], [0.0, 1.6]], dtype=torch.float64))


def test_info_nce_symmetric_in_modalities():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(7, 5, generator=generator)
    texts = torch.randn(7, 5, generator=generator)
    forward = symmetric_info_nce(images, texts, 3.0)
    swapped = symmetric_info_nce(texts, images, 3.0)
    assert forward.item() == pytest.approx(swapped.item(), abs=1e-6)


def test_info_nce_matches_cross_entropy_form():
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    texts = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    scale = 1 / 0.07
    logits = scale * F.normalize(images, dim=1) @ F.normalize(texts, dim=1).T
    labels = torch.arange(6)
    expected = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert symmetric_info_nce(images, texts, scale).item() == pytest.approx(expected.item(), abs=1e-12)


def test_info_nce_matches_open_clip():
    # open_clip expects normalised features; ours normalises inside. Tolerance: float32 rounding.
    generator = torch.Generator().manual_seed(2)
    images = F.normalize(torch.randn(16, 8, generator=generator), dim=1)
    texts = F.normalize(torch.randn(16, 8, generator=generator), dim=1)
    scale = torch.tensor(14.0)
    theirs = ClipLoss()(images, texts, scale)
    ours = symmetric_info_nce(images, texts, scale)
    assert ours.item() == pytest.approx(theirs.item(), abs=1e-5)


def test_info_nce_chance_level_is_log_n():
    same = torch.ones(5, 3)
    assert symmetric_info_nce(same, same, 10.0).item() == pytest.approx(math.log(5), abs=1e-6)


def test_info_nce_ignores_embedding_norms():
    generator = torch.Generator().manual_seed(3)
    images = torch.randn(4, 6, generator=generator)
    texts = torch.randn(4, 6, generator=generator)
    scaled = symmetric_info_nce(5 * images, 0.1 * texts, 2.0)
    assert scaled.item() == pytest.approx(symmetric_info_nce(images, texts, 2.0).item(), abs=1e-6)


def test_info_nce_rejects_unpaired_shapes():
    with pytest.raises(ValueError, match="same shape"):
        symmetric_info_nce(torch.randn(4, 3), torch.randn(5, 3), 1.0)
    with pytest.raises(ValueError, match="2-D"):
        symmetric_info_nce(torch.randn(4), torch.randn(4), 1.0)
    with pytest.raises(ValueError, match="embedding sizes differ"):
        similarity_logits(torch.randn(4, 3), torch.randn(4, 2), 1.0)


def test_triplet_ranking_loss_hand_value():
    # Cosines [[1, 0.6], [0, 0.8]], margin 0.5.
    # Image 1: text 2 hinge max(0, 0.5 - 1 + 0.6) = 0.1; text 1 as negative of image 2:
    # max(0, 0.5 - 0.8 + 0) = 0. Text 1: image 2 hinge max(0, 0.5 - 1 + 0) = 0;
    # text 2: image 1 hinge max(0, 0.5 - 0.8 + 0.6) = 0.3. Sum 0.4 over 2 pairs = 0.2.
    loss = triplet_ranking_loss(IMAGES, TEXTS, margin=0.5)
    assert loss.item() == pytest.approx(0.2, abs=1e-9)


def test_triplet_hardest_negative_at_most_sum():
    generator = torch.Generator().manual_seed(4)
    images = torch.randn(8, 5, generator=generator)
    texts = torch.randn(8, 5, generator=generator)
    summed = triplet_ranking_loss(images, texts, margin=0.2)
    hardest = triplet_ranking_loss(images, texts, margin=0.2, hardest_negative=True)
    assert 0 < hardest.item() <= summed.item()


def test_triplet_rejects_bad_margin():
    with pytest.raises(ValueError, match="invalid margin 0"):
        triplet_ranking_loss(IMAGES, TEXTS, margin=0)


def test_logit_scale_initialised_and_clamped_like_clip():
    scale = LogitScale()
    assert scale().item() == pytest.approx(1 / CLIP_INITIAL_TEMPERATURE, rel=1e-6)
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    scale.clamp_()
    assert scale().item() == pytest.approx(CLIP_MAX_LOGIT_SCALE, rel=1e-6)
    with torch.no_grad():
        scale.log_scale.fill_(-3.0)
    scale.clamp_()
    assert scale().item() == pytest.approx(1.0)


def test_logit_scale_receives_gradient():
    scale = LogitScale()
    loss = symmetric_info_nce(IMAGES.float(), TEXTS.float(), scale())
    loss.backward()
    assert scale.log_scale.grad is not None
    assert scale.log_scale.grad.item() != 0.0


def test_logit_scale_rejects_bad_temperature():
    with pytest.raises(ValueError, match="initial_temperature"):
        LogitScale(initial_temperature=0.0)


def test_short_training_raises_matched_similarity():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    data = make_paired_data(320, generator=generator)
    train = PairedData(data.image_features[:256], data.text_features[:256], data.concepts[:256])
    held_out = (data.image_features[256:], data.text_features[256:])
    model = TwoTowerModel(image_dim=16, text_dim=12)

    before = matched_pair_similarity(model, *held_out)
    history = train_two_tower(model, train, num_epochs=15, batch_size=32, generator=generator)
    after = matched_pair_similarity(model, *held_out)

    assert after["matched"] > before["matched"] + 0.2
    assert after["gap"] > before["gap"] + 0.2
    assert after["retrieval_at_1"] > before["retrieval_at_1"]
    assert history.loss[-1] < history.loss[0]
    assert all(1.0 <= value <= CLIP_MAX_LOGIT_SCALE for value in history.logit_scale)


def test_train_two_tower_rejects_batch_of_one():
    data = make_paired_data(8)
    with pytest.raises(ValueError, match="at least 2 pairs per batch"):
        train_two_tower(TwoTowerModel(16, 12), data, batch_size=1)
    with pytest.raises(ValueError, match="data has 1 pair"):
        train_two_tower(TwoTowerModel(16, 12), make_paired_data(1))


def test_make_paired_data_rejects_bad_sizes():
    with pytest.raises(ValueError, match="invalid num_pairs 0"):
        make_paired_data(0)
    with pytest.raises(ValueError, match="standard deviations"):
        make_paired_data(4, noise=-1.0)
