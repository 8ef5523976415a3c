"""Tests of the conditional-GAN figure recipes, the quick profile's measured quality, and the page's numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cvnotes import gan
from cvnotes.assets import AssetMissingError
from cvnotes.figures import registered_recipes, run_recipe
from cvnotes.figures.style import LANGUAGES

REPO = Path(__file__).resolve().parents[1]
RECIPES = ["cgan-samples", "cgan-quality", "cgan-losses", "cgan-epochs"]

# Quick-profile values measured with torch 2.14.1 on a 2-core x86-64 CPU (one training thread).
# Training is deterministic on one machine; the margin allows for other CPUs and kernel versions.
MEASURED_DEEP_ACCURACY = 0.812
MEASURED_TWO_BRANCH_ACCURACY = 0.104
MEASURED_DEEP_DIVERSITY = 0.630
ACCURACY_MARGIN = 0.08
DIVERSITY_MARGIN = 0.15


@pytest.fixture(scope="module")
def metrics() -> dict[str, dict]:
    """Run every recipe of the chapter once in the quick profile.

    The first run trains both designs (about two minutes of CPU time on a 2-core
    machine) and caches them; later runs read the cache.
    """
    return {name: run_recipe(name).metrics for name in RECIPES}


def page(language: str) -> str:
    return (REPO / "docs" / f"conditional-gan.{language}.md").read_text(encoding="utf-8")


def test_recipes_registered_with_both_titles():
    recipes = registered_recipes()
    for name in RECIPES:
        assert name in recipes
        assert set(recipes[name].title) == set(LANGUAGES)


def test_page_shows_every_figure():
    for language in LANGUAGES:
        text = page(language)
        for name in RECIPES:
            assert f"](figures/{name}.png)" in text, f"conditional-gan.{language}.md does not show {name}"
            assert f"| `{name}` |" in text, (
                f"conditional-gan.{language}.md does not list {name} in its figure table"
            )


def test_classifier_accurate_enough(metrics):
    assert metrics["cgan-quality"]["classifier_held_out_accuracy"] >= 0.85


def test_deep_design_conditional_accuracy(metrics):
    values = metrics["cgan-quality"]
    assert values["deep_conditional_accuracy"] >= 0.70
    assert values["deep_conditional_accuracy"] == pytest.approx(MEASURED_DEEP_ACCURACY, abs=ACCURACY_MARGIN)
    assert values["deep_diversity"] == pytest.approx(MEASURED_DEEP_DIVERSITY, abs=DIVERSITY_MARGIN)


def test_two_branch_design_ignores_label(metrics):
    values = metrics["cgan-quality"]
    # Its discriminator's logit is f(x) + g(y), so nothing teaches the generator the condition.
    assert values["two_branch_conditional_accuracy"] < 0.25
    assert values["two_branch_conditional_accuracy"] == pytest.approx(
        MEASURED_TWO_BRANCH_ACCURACY, abs=ACCURACY_MARGIN
    )


def test_quality_reports_per_class(metrics):
    values = metrics["cgan-quality"]
    for design in ("deep", "two_branch"):
        per_class = values[f"{design}_per_class_accuracy"]
        assert len(per_class) == 10
        assert sum(per_class) / 10 == pytest.approx(values[f"{design}_conditional_accuracy"], abs=1e-3)
        assert len(values[f"{design}_per_class_diversity"]) == 10


def test_recipes_share_training_runs(metrics):
    digests = {name: metrics[name]["deep_checkpoint_digest"] for name in RECIPES}
    assert len(set(digests.values())) == 1, digests


def test_samples_and_quality_agree(metrics):
    assert (
        metrics["cgan-samples"]["deep_conditional_accuracy"]
        == metrics["cgan-quality"]["deep_conditional_accuracy"]
    )


def test_losses_against_equilibrium(metrics):
    values = metrics["cgan-losses"]
    assert values["equilibrium_loss"] == pytest.approx(math.log(2))
    # The discriminator leads: its loss ends below log 2 and the generator's above.
    for design in ("deep", "two_branch"):
        assert values[f"{design}_final_d_loss"] < math.log(2) < values[f"{design}_final_g_loss"]
        assert values[f"{design}_final_d_real"] > values[f"{design}_final_d_fake"]


def test_epochs_figure_snapshots(metrics):
    values = metrics["cgan-epochs"]
    for design in ("deep", "two_branch"):
        assert values[f"{design}_snapshot_epochs"] == list(gan.QUICK_CONFIGS["deep"].snapshot_epochs)


def test_page_quotes_quick_profile_numbers(metrics):
    values = metrics["cgan-quality"]
    quoted = [
        f"{100 * values['deep_conditional_accuracy']:.1f}%",
        f"{100 * values['two_branch_conditional_accuracy']:.1f}%",
        f"{100 * values['classifier_held_out_accuracy']:.1f}%",
    ]
    for language in LANGUAGES:
        text = page(language)
        for number in quoted:
            assert number in text, f"conditional-gan.{language}.md does not quote {number}"


def test_full_profile_offline_reports_missing_mnist(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path))
    with pytest.raises(AssetMissingError, match="cvnotes fetch mnist"):
        run_recipe("cgan-samples", profile="full", offline=True)
