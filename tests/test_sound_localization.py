"""Tests of cvnotes.sound_localization: the map peaks at the object, normalisations, shapes, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cvnotes.sound_localization import attended_visual_feature, localization_map, make_synthetic_scene


@pytest.mark.parametrize("center", [(6, 13), (2, 2), (15, 4), (10, 10)])
def test_map_peaks_at_synthetic_object(center):
    scene = make_synthetic_scene(object_center=center, generator=torch.Generator().manual_seed(0))
    result = localization_map(scene.visual_features, scene.matching_audio)
    peak = divmod(int(result.attention.argmax()), 20)
    assert scene.object_mask[peak], f"peak {peak} is outside the object at {center}"


def test_mismatched_sound_puts_less_attention_on_object():
    scene = make_synthetic_scene(generator=torch.Generator().manual_seed(1))
    matching = localization_map(scene.visual_features, scene.matching_audio).attention
    mismatched = localization_map(scene.visual_features, scene.mismatched_audio).attention
    area = scene.object_mask.float().mean().item()
    assert matching[scene.object_mask].sum() > 2 * area
    # A sound of a class that is not in the scene spreads its attention almost uniformly.
    assert mismatched[scene.object_mask].sum() < 1.3 * area
    assert mismatched[scene.object_mask].sum() < matching[scene.object_mask].sum() / 2


def test_softmax_sums_to_one_sigmoid_not():
    scene = make_synthetic_scene(generator=torch.Generator().manual_seed(2))
    softmax = localization_map(scene.visual_features, scene.matching_audio).attention
    sigmoid = localization_map(
        scene.visual_features, scene.matching_audio, normalization="sigmoid", temperature=0.1
    ).attention
    assert softmax.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert ((sigmoid > 0) & (sigmoid < 1)).all()
    assert sigmoid.sum().item() > 1.0


def test_similarity_is_cosine():
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(8, 3, 4, generator=generator)
    audio = torch.randn(8, generator=generator)
    result = localization_map(features, 5.0 * audio)
    expected = F.cosine_similarity(features, audio[:, None, None], dim=0)
    assert torch.allclose(result.similarity, expected, atol=1e-6)


def test_relu_clips_negative_similarities():
    features = torch.zeros(2, 1, 3)
    features[:, 0, 0] = torch.tensor([1.0, 0.0])
    features[:, 0, 1] = torch.tensor([-1.0, 0.0])
    features[:, 0, 2] = torch.tensor([0.0, 1.0])
    audio = torch.tensor([1.0, 0.0])
    clipped = localization_map(features, audio, relu=True).attention[0]
    assert clipped[1].item() == pytest.approx(clipped[2].item())
    assert clipped[0] > clipped[1]


def test_batched_equals_single():
    generator = torch.Generator().manual_seed(4)
    features = torch.randn(3, 8, 5, 5, generator=generator)
    audio = torch.randn(3, 8, generator=generator)
    batched = localization_map(features, audio).attention
    for index in range(3):
        single = localization_map(features[index], audio[index]).attention
        assert torch.allclose(batched[index], single, atol=1e-7)


def test_attended_feature_is_weighted_sum():
    generator = torch.Generator().manual_seed(5)
    features = torch.randn(2, 4, 3, 3, generator=generator)
    attention = torch.softmax(torch.randn(2, 9, generator=generator), dim=1).reshape(2, 3, 3)
    pooled = attended_visual_feature(features, attention)
    expected = (features * attention[:, None]).sum(dim=(2, 3))
    assert torch.allclose(pooled, expected, atol=1e-6)


def test_localization_map_rejects_bad_input():
    with pytest.raises(ValueError, match="must match the batch and channels"):
        localization_map(torch.randn(4, 5, 5), torch.randn(3))
    with pytest.raises(ValueError, match="invalid normalization 'tanh'"):
        localization_map(torch.randn(4, 5, 5), torch.randn(4), normalization="tanh")
    with pytest.raises(ValueError, match="invalid temperature 0"):
        localization_map(torch.randn(4, 5, 5), torch.randn(4), temperature=0)


def test_scene_rejects_center_outside_map():
    with pytest.raises(ValueError, match="outside the 20x20 map"):
        make_synthetic_scene(object_center=(25, 3))
