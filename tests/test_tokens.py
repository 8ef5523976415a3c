"""Tests of cvnotes.tokens: token counts, attention masks in real attention, the multimodal embedding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cvnotes.tokens import (
    MultimodalEmbedding,
    image_token_count,
    modality_attention_mask,
    spectrogram_token_count,
    video_token_count,
)


@pytest.mark.parametrize(
    ("size", "patch", "expected"),
    [(224, 16, 196), (224, 14, 256), (224, 32, 49), (384, 16, 576), (448, 14, 1024)],
)
def test_image_token_count(size, patch, expected):
    assert image_token_count(size, size, patch) == expected


def test_image_token_count_rejects_indivisible_patch():
    with pytest.raises(ValueError, match="patch_size 14 does not divide the image 384x384"):
        image_token_count(384, 384, 14)
    with pytest.raises(ValueError, match="invalid patch_size 0"):
        image_token_count(224, 224, 0)


def test_video_and_spectrogram_counts():
    assert video_token_count(16, 224, 224, 16, frames_per_token=2) == 8 * 196
    assert spectrogram_token_count(128, 1000, 16) == 8 * 62
    with pytest.raises(ValueError, match="does not divide num_frames 15"):
        video_token_count(15, 224, 224, 16, frames_per_token=2)


def test_full_and_causal_masks():
    assert modality_attention_mask([3, 2], "full").all()
    causal = modality_attention_mask([3, 2], "causal")
    assert torch.equal(causal, torch.ones(5, 5, dtype=torch.bool).tril())


def test_prefix_lm_mask_blocks():
    mask = modality_attention_mask([4, 3], "prefix_lm")
    assert mask[:4, :4].all(), "image tokens attend bidirectionally"
    assert not mask[:4, 4:].any(), "image tokens do not read the text"
    assert mask[4:, :4].all(), "text tokens read every image token"
    assert torch.equal(mask[4:, 4:], torch.ones(3, 3, dtype=torch.bool).tril())


def test_prefix_mask_in_attention_hides_future_text():
    # With the mask in real attention, image outputs ignore the text and each text output
    # ignores the text tokens after it.
    generator = torch.Generator().manual_seed(0)
    num_image, num_text, dim = 4, 3, 8
    mask = modality_attention_mask([num_image, num_text], "prefix_lm")
    sequence = torch.randn(1, num_image + num_text, dim, generator=generator)
    changed = sequence.clone()
    changed[0, -1] += 5.0  # change the last text token only

    def attend(tokens):
        return F.scaled_dot_product_attention(tokens, tokens, tokens, attn_mask=mask)

    before, after = attend(sequence), attend(changed)
    assert torch.allclose(
        before[0, : num_image + num_text - 1], after[0, : num_image + num_text - 1], atol=1e-6
    )
    assert not torch.allclose(before[0, -1], after[0, -1])


def test_mask_rejects_bad_arguments():
    with pytest.raises(ValueError, match="invalid mode 'sparse'"):
        modality_attention_mask([2, 2], "sparse")
    with pytest.raises(ValueError, match="lengths must be >= 0"):
        modality_attention_mask([2, -1])
    with pytest.raises(ValueError, match="invalid num_prefix_segments 3"):
        modality_attention_mask([2, 2], num_prefix_segments=3)


def test_multimodal_embedding_adds_modality_and_position():
    torch.manual_seed(0)
    embed = MultimodalEmbedding(image_size=16, patch_size=4, vocab_size=20, max_text_length=6, dim=8)
    images = torch.zeros(1, 3, 16, 16)
    text = torch.tensor([[5, 5, 5]])
    tokens, modality_ids = embed(images, text)
    assert tokens.shape == (1, 16 + 3, 8)
    assert modality_ids.tolist() == [0] * 16 + [1] * 3
    # The same word at different positions gets different vectors because of the position embedding.
    assert not torch.allclose(tokens[0, 16], tokens[0, 17])
    # Removing the modality embedding changes every token by the table row of its modality.
    difference = tokens[0, 16] - (embed.text_embedding.weight[5] + embed.text_position[0])
    assert torch.allclose(difference, embed.modality_embedding.weight[1], atol=1e-6)


def test_multimodal_embedding_rejects_wrong_sizes():
    embed = MultimodalEmbedding(image_size=16, patch_size=4, vocab_size=20, max_text_length=4, dim=8)
    with pytest.raises(ValueError, match="expected images"):
        embed(torch.zeros(1, 3, 8, 8), torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="T <= 4"):
        embed(torch.zeros(1, 3, 16, 16), torch.zeros(1, 5, dtype=torch.long))
