"""Tests of the multi-modal and Transformer figure recipes, and of the numbers their pages quote."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvnotes.figures import registered_recipes, run_recipe
from cvnotes.figures.style import LANGUAGES

REPO = Path(__file__).resolve().parents[1]
MULTIMODAL_RECIPES = ["contrastive-alignment", "captioning-attention", "sound-localization-maps"]
TRANSFORMER_RECIPES = ["zerocap-token-shift", "unified-tokens"]


@pytest.fixture(scope="module")
def metrics() -> dict[str, dict]:
    """Run every recipe of the two chapters once (about 15 s on a 2-core CPU)."""
    return {name: run_recipe(name).metrics for name in MULTIMODAL_RECIPES + TRANSFORMER_RECIPES}


def page(name: str, language: str) -> str:
    return (REPO / "docs" / f"{name}.{language}.md").read_text(encoding="utf-8")


def test_recipes_registered_with_both_titles():
    recipes = registered_recipes()
    for name in MULTIMODAL_RECIPES + TRANSFORMER_RECIPES:
        assert name in recipes
        assert set(recipes[name].title) == set(LANGUAGES)


def test_pages_show_every_figure():
    for language in LANGUAGES:
        for chapter, names in (("multimodal", MULTIMODAL_RECIPES), ("transformers", TRANSFORMER_RECIPES)):
            text = page(chapter, language)
            for name in names:
                assert f"](figures/{name}.png)" in text, f"{chapter}.{language}.md does not show {name}"
                assert f"| `{name}` |" in text, (
                    f"{chapter}.{language}.md does not list {name} in its figure table"
                )


def test_contrastive_training_raises_matched_similarity(metrics):
    values = metrics["contrastive-alignment"]
    assert values["after_matched"] > values["before_matched"] + 0.3
    assert values["after_mismatched"] < values["before_mismatched"]
    assert values["after_retrieval_at_1"] > 5 * values["before_retrieval_at_1"]
    assert values["final_logit_scale"] > values["initial_logit_scale"]


def test_captioning_attention_peaks_on_named_objects(metrics):
    values = metrics["captioning-attention"]
    assert values["shown_attention_peaks_on_object"] == [True, True, True]
    assert values["lam0.1_max_coverage"] < values["lam0_max_coverage"]


def test_peak_in_object_only_when_matching(metrics):
    values = metrics["sound-localization-maps"]
    assert values["matching_peak_in_object"]
    assert not values["mismatched_peak_in_object"]
    assert values["matching_mass_in_object"] > 2 * values["object_area_fraction"]


def test_zerocap_shift_makes_clip_choice_win(metrics):
    values = metrics["zerocap-token-shift"]
    assert (values["lm_choice"], values["clip_choice"], values["fused_choice"]) == ("man", "dog", "dog")


def test_multimodal_page_quotes_computed_numbers(metrics):
    contrastive = metrics["contrastive-alignment"]
    captioning = metrics["captioning-attention"]
    sound = metrics["sound-localization-maps"]
    quoted = [
        f"{contrastive['before_matched']:.2f}",
        f"{contrastive['after_matched']:.2f}",
        f"{contrastive['before_mismatched']:.2f}",
        f"{contrastive['after_mismatched']:.2f}",
        f"{100 * contrastive['before_retrieval_at_1']:.1f}%",
        f"{100 * contrastive['after_retrieval_at_1']:.1f}%",
        f"{contrastive['initial_logit_scale']:.1f}",
        f"{contrastive['final_logit_scale']:.1f}",
        f"{captioning['lam0_word_accuracy']:.2f}",
        f"{captioning['lam0.1_word_accuracy']:.2f}",
        f"{captioning['lam0_max_coverage']:.2f}",
        f"{captioning['lam0.1_max_coverage']:.2f}",
        f"{captioning['lam0_attention_on_named_object']:.2f}",
        f"{captioning['lam0.1_attention_on_named_object']:.2f}",
        f"{sound['matching_max_similarity']:.2f}",
        f"{100 * sound['object_area_fraction']:.2f}%",
        f"{100 * sound['matching_mass_in_object']:.1f}%",
        f"{sound['mismatched_max_similarity']:.2f}",
        f"{100 * sound['mismatched_mass_in_object']:.1f}%",
        f"{sound['matching_max_over_uniform']:.1f}",
    ]
    expected = ["0.19", "0.63", "0.17", "0.07", "0.8%", "14.1%", "14.3", "20.1"]
    expected += ["0.87", "0.86", "0.99", "0.52", "0.48", "0.25"]
    expected += ["0.81", "5.25%", "11.1%", "0.25", "4.8%", "2.2"]
    assert quoted == expected
    for language in LANGUAGES:
        text = page("multimodal", language)
        for number in quoted:
            assert f"**{number}**" in text, f"multimodal.{language}.md does not quote {number}"


def test_transformers_page_quotes_computed_numbers(metrics):
    zerocap = metrics["zerocap-token-shift"]
    tokens = metrics["unified-tokens"]
    quoted = [
        f"{zerocap['original_p_lm_choice']:.3f}",
        f"{zerocap['original_p_clip_choice']:.3f}",
        f"{zerocap['fused_p_clip_choice']:.3f}",
        f"{zerocap['fused_p_lm_choice']:.3f}",
        f"{tokens['image_224_p16']:,}",
        f"{tokens['image_224_p8']:,}",
        f"{tokens['video_p16']:,}",
        f"{tokens['audio_p16']:,}",
        f"{tokens['video_p8']:,}",
    ]
    assert quoted == ["0.219", "0.066", "0.252", "0.155", "196", "784", "1,568", "496", "6,272"]
    for language in LANGUAGES:
        text = page("transformers", language)
        for number in quoted:
            assert f"**{number}**" in text, f"transformers.{language}.md does not quote {number}"
