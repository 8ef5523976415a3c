"""Tests of the figure pipeline: registry, incremental builds, atomic writes, fonts, CLI."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from PIL import Image

from cvnotes import _files as files_module
from cvnotes import cli
from cvnotes.figures import (
    FigureBuildError,
    RecipeOutput,
    UnknownRecipeError,
    build_figures,
    figure_path,
    read_manifest,
    recipe,
    registered_recipes,
    registry,
    run_recipe,
)
from cvnotes.figures import build as build_module
from cvnotes.figures.style import (
    KOREAN_FONT_FAMILY,
    LANGUAGES,
    figure_style,
    korean_font_path,
    register_bundled_fonts,
    register_korean_font,
)

REPO = Path(__file__).resolve().parents[1]
FOCAL_RECIPES = ["focal-loss-curves", "focal-loss-easy-negatives"]


@pytest.fixture
def scratch_recipes():
    """Register recipes for one test and remove them afterwards."""
    added: list[str] = []

    def add(name, function, **options):
        options.setdefault("title", {"ko": "시험", "en": "test"})
        recipe(name, **options)(function)
        added.append(name)

    yield add
    for name in added:
        registry._REGISTRY.pop(name, None)


def draw_labels(context) -> RecipeOutput:
    figures = {}
    for language, label in (("ko", "한국어 축 이름"), ("en", "English axis label")):
        figure = Figure(figsize=(2, 2))
        axes = figure.subplots()
        axes.plot([0, 1], [0, context.params.get("slope", 1)])
        axes.set_xlabel(label)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics={"slope": context.params.get("slope", 1)})


def png_array(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)


# --- registry ---------------------------------------------------------------------------------


def test_focal_recipes_registered():
    recipes = registered_recipes()
    for name in FOCAL_RECIPES:
        assert name in recipes
        assert set(recipes[name].title) == set(LANGUAGES)


def test_unknown_recipe_error_lists_known_names(tmp_path):
    with pytest.raises(
        UnknownRecipeError, match="unknown recipe 'no-such-figure'; known recipes: .*focal-loss-curves"
    ):
        build_figures(["no-such-figure"], out_dir=tmp_path)
    assert not any(tmp_path.iterdir()), "nothing may be written before the names are checked"


def test_duplicate_recipe_name_rejected(scratch_recipes):
    scratch_recipes("test-duplicate", draw_labels)

    def other(context):
        return draw_labels(context)

    with pytest.raises(ValueError, match="already registered"):
        recipe("test-duplicate", title={"ko": "x", "en": "x"})(other)


def test_invalid_profile_rejected(tmp_path):
    with pytest.raises(ValueError, match="invalid profile 'fast'"):
        build_figures(FOCAL_RECIPES, out_dir=tmp_path, profile="fast")


# --- building -----------------------------------------------------------------------------------


def test_build_writes_both_languages_and_manifest(tmp_path):
    results = build_figures(FOCAL_RECIPES, out_dir=tmp_path)
    assert [result.status for result in results] == ["built", "built"]

    manifest = read_manifest(tmp_path)
    for name in FOCAL_RECIPES:
        for language in LANGUAGES:
            path = figure_path(tmp_path, name, language)
            assert path.is_file(), path
            pixels = png_array(path.read_bytes())
            assert pixels.std() > 10, f"{path.name} looks blank"
        korean = png_array(figure_path(tmp_path, name, "ko").read_bytes())
        english = png_array(figure_path(tmp_path, name, "en").read_bytes())
        assert korean.shape != english.shape or not np.array_equal(korean, english), "labels not translated"

        entry = manifest["recipes"][name]
        for key in (
            "key",
            "params",
            "inputs",
            "seed",
            "device",
            "versions",
            "wall_time_s",
            "metrics",
            "outputs",
            "profile",
        ):
            assert key in entry, f"manifest entry of {name} lacks {key}"
        assert entry["outputs"] == {language: f"{name}.{language}.png" for language in LANGUAGES}
        assert set(entry["versions"]) >= {"python", "torch", "matplotlib", "numpy"}


def test_second_build_does_no_work(tmp_path, monkeypatch):
    build_figures(FOCAL_RECIPES, out_dir=tmp_path)
    before = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}

    def fail(*args, **kwargs):
        raise AssertionError("an up-to-date recipe was run again")

    monkeypatch.setattr(build_module, "run_recipe", fail)
    results = build_figures(FOCAL_RECIPES, out_dir=tmp_path)
    assert [result.status for result in results] == ["up to date", "up to date"]
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before


def test_changed_params_or_missing_file_rebuilds(tmp_path, scratch_recipes):
    scratch_recipes("test-params", draw_labels, params={"slope": 1})
    assert build_figures(["test-params"], out_dir=tmp_path)[0].status == "built"
    assert build_figures(["test-params"], out_dir=tmp_path)[0].status == "up to date"

    figure_path(tmp_path, "test-params", "en").unlink()
    assert build_figures(["test-params"], out_dir=tmp_path)[0].status == "built"

    registry._REGISTRY.pop("test-params")
    scratch_recipes("test-params", draw_labels, params={"slope": 2})
    assert build_figures(["test-params"], out_dir=tmp_path)[0].status == "built"
    assert read_manifest(tmp_path)["recipes"]["test-params"]["metrics"] == {"slope": 2}

    assert build_figures(["test-params"], out_dir=tmp_path, force=True)[0].status == "built"
    assert build_figures(["test-params"], out_dir=tmp_path, profile="full")[0].status == "built"


def test_failing_recipe_leaves_no_partial_file(tmp_path, scratch_recipes):
    def draw_then_fail(context):
        draw_labels(context)
        raise RuntimeError("simulated failure after drawing")

    scratch_recipes("test-fails", draw_then_fail)
    with pytest.raises(FigureBuildError, match="test-fails: RuntimeError: simulated failure"):
        build_figures(["test-fails"], out_dir=tmp_path)
    leftovers = [path.name for path in tmp_path.iterdir()] if tmp_path.exists() else []
    assert leftovers == []


def test_failure_keeps_previous_files_and_builds_others(tmp_path, scratch_recipes):
    calls = {"count": 0}

    def succeed_once(context):
        calls["count"] += 1
        if calls["count"] > 1:
            raise RuntimeError("second run fails")
        return draw_labels(context)

    scratch_recipes("test-flaky", succeed_once)
    scratch_recipes("test-steady", draw_labels)
    build_figures(["test-flaky"], out_dir=tmp_path)
    previous = {
        language: figure_path(tmp_path, "test-flaky", language).read_bytes() for language in LANGUAGES
    }
    previous_entry = read_manifest(tmp_path)["recipes"]["test-flaky"]

    with pytest.raises(FigureBuildError, match="test-flaky"):
        build_figures(["test-flaky", "test-steady"], out_dir=tmp_path, force=True)

    for language in LANGUAGES:
        assert figure_path(tmp_path, "test-flaky", language).read_bytes() == previous[language]
        assert figure_path(tmp_path, "test-steady", language).is_file()
    manifest = read_manifest(tmp_path)
    assert manifest["recipes"]["test-flaky"] == previous_entry
    assert "test-steady" in manifest["recipes"]
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_recipe_missing_a_language_fails(tmp_path, scratch_recipes):
    def korean_only(context):
        output = draw_labels(context)
        del output.figures["en"]
        return output

    scratch_recipes("test-korean-only", korean_only)
    with pytest.raises(FigureBuildError, match=r"no figure for language\(s\) \['en'\]"):
        build_figures(["test-korean-only"], out_dir=tmp_path)
    assert not figure_path(tmp_path, "test-korean-only", "ko").exists()


def test_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")

    def interrupted_replace(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(files_module.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        files_module.write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["figure.png"]


# --- fonts --------------------------------------------------------------------------------------


def test_korean_font_registered():
    assert korean_font_path().is_file()
    assert register_korean_font() == KOREAN_FONT_FAMILY
    found = font_manager.findfont(KOREAN_FONT_FAMILY, fallback_to_default=False)
    assert Path(found).name.startswith("NanumGothic")


def test_missing_glyph_fails_the_recipe(tmp_path, scratch_recipes):
    def draw_hieroglyph(context):
        output = draw_labels(context)
        output.figures["ko"].axes[0].set_title("\U00013000")  # in neither NanumGothic nor DejaVu Sans
        return output

    scratch_recipes("test-missing-glyph", draw_hieroglyph)
    with pytest.raises(FigureBuildError, match="missing glyph"):
        build_figures(["test-missing-glyph"], out_dir=tmp_path)


def test_korean_labels_render_without_missing_glyphs(tmp_path, scratch_recipes):
    scratch_recipes("test-hangul", draw_labels)
    build_figures(["test-hangul"], out_dir=tmp_path)
    assert figure_path(tmp_path, "test-hangul", "ko").is_file()


@pytest.fixture
def cache_without_bundled_fonts(monkeypatch):
    """Make matplotlib's font list lack its own fonts, as a cache written by another build can."""
    bundled = Path(matplotlib.get_data_path()) / "fonts"
    other_fonts = [
        entry for entry in font_manager.fontManager.ttflist if bundled not in Path(entry.fname).parents
    ]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", other_fonts)
    font_manager.fontManager._findfont_cached.cache_clear()
    yield
    font_manager.fontManager._findfont_cached.cache_clear()


def test_register_bundled_fonts_restores_a_cache_without_them(cache_without_bundled_fonts):
    added = register_bundled_fonts()
    assert "STIXGeneral.ttf" in added
    assert "cmmi10.ttf" in added
    assert register_bundled_fonts() == []


def test_figure_style_math_with_stale_font_cache(cache_without_bundled_fonts, caplog):
    with figure_style(), caplog.at_level(logging.WARNING, logger="matplotlib"):
        figure = Figure()
        figure.subplots().set_title(r"coverage $\sum_t \alpha_{ti}$, $\lambda$ = 0.1")
        figure.savefig(io.BytesIO(), format="png")
    assert not [record for record in caplog.records if "findfont" in record.getMessage()]


# --- numbers the pages quote --------------------------------------------------------------------


def test_pages_quote_the_computed_numbers():
    easy = run_recipe("focal-loss-easy-negatives").metrics
    curves = run_recipe("focal-loss-curves").metrics
    quoted = [
        f"{100 * easy['ce_easy_share']:.2f}%",
        f"{100 * easy['fl_easy_share']:.2f}%",
        f"{easy['ce_easy']:,.0f}",
        f"{easy['ce_hard']:.1f}",
        f"{easy['fl_easy']:.4f}",
        f"{easy['fl_hard']:.2f}",
        f"{curves['ce_over_fl_gamma2_pt0.9']:.0f}",
        f"{curves['ce_over_fl_gamma2_pt0.968']:.0f}",
    ]
    assert quoted == ["89.30%", "0.17%", "1,005", "120.4", "0.1005", "58.99", "100", "977"]
    for language in LANGUAGES:
        page = (REPO / "docs" / f"object-detection.{language}.md").read_text(encoding="utf-8")
        for number in quoted:
            assert number in page, f"object-detection.{language}.md does not quote {number}"


# --- command line -------------------------------------------------------------------------------


def test_cli_lists_recipes_in_english(capsys):
    assert cli.main(["--lang", "en", "figures", "--list"]) == 0
    output = capsys.readouterr().out
    for name in FOCAL_RECIPES:
        assert name in output
    assert "Focal loss curves for several γ" in output
    assert "γ별 focal loss 곡선" not in output


def test_cli_lists_recipes_in_korean(capsys):
    assert cli.main(["--lang", "ko", "figures", "--list"]) == 0
    output = capsys.readouterr().out
    assert "γ별 focal loss 곡선" in output
    assert "Focal loss curves for several γ" not in output
    assert len(output.splitlines()) == len(registry.registered_recipes())


def test_cli_builds_and_skips(tmp_path, capsys):
    assert cli.main(["figures", "focal-loss-curves", "--out", str(tmp_path)]) == 0
    assert "focal-loss-curves: built" in capsys.readouterr().out
    assert cli.main(["figures", "focal-loss-curves", "--out", str(tmp_path)]) == 0
    assert "focal-loss-curves: up to date" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert list(manifest["recipes"]) == ["focal-loss-curves"]


def test_cli_unknown_recipe_exit_code(tmp_path, capsys):
    assert cli.main(["figures", "nope", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "unknown recipe 'nope'" in error
    assert "cvnotes figures --list" in error


def test_cli_rejects_unknown_profile(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["figures", "--profile", "fast"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_cli_invalid_profile_from_environment(monkeypatch, capsys):
    monkeypatch.setenv("CVNOTES_PROFILE", "nope")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["figures", "--out", "unused"])
    assert exit_info.value.code == 2
    assert "invalid profile 'nope' (from $CVNOTES_PROFILE)" in capsys.readouterr().err


def test_cli_default_output_needs_project_root(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["figures"])
    assert exit_info.value.code == 2
    assert "no mkdocs.yml in" in capsys.readouterr().err
    assert not (tmp_path / "docs").exists()


def test_written_figures_follow_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        build_figures(["focal-loss-curves"], out_dir=tmp_path)
    finally:
        os.umask(previous)
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path.name


def test_changed_input_file_rebuilds(tmp_path, scratch_recipes):
    data = tmp_path / "data.txt"
    data.write_text("first")
    scratch_recipes("test-inputs", draw_labels, inputs=[data])
    out_dir = tmp_path / "figures"
    assert build_figures(["test-inputs"], out_dir=out_dir)[0].status == "built"
    assert build_figures(["test-inputs"], out_dir=out_dir)[0].status == "up to date"
    recorded = read_manifest(out_dir)["recipes"]["test-inputs"]["inputs"]
    assert list(recorded) == [str(data)]

    data.write_text("second")
    assert build_figures(["test-inputs"], out_dir=out_dir)[0].status == "built"
    assert read_manifest(out_dir)["recipes"]["test-inputs"]["inputs"] != recorded


def test_missing_input_file_fails_recipe(tmp_path, scratch_recipes):
    scratch_recipes("test-missing-input", draw_labels, inputs=[tmp_path / "absent.bin"])
    with pytest.raises(
        FigureBuildError, match=r"input file .*absent.bin of recipe 'test-missing-input' not found"
    ):
        build_figures(["test-missing-input"], out_dir=tmp_path / "figures")
