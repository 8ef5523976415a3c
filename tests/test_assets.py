"""Tests of the asset layer: declarations, cache directory, checksums, offline fetching,
the ``cvnotes fetch`` command, and figures whose asset is missing (manifest, CLI, MkDocs)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import platformdirs
import pytest
import torchvision.datasets.utils
import torchvision.models._api
from matplotlib.figure import Figure

from cvnotes import assets, cli
from cvnotes.assets import (
    ASSETS,
    AssetIntegrityError,
    AssetMissingError,
    UnknownAssetError,
    cache_dir,
    fetch,
    is_cached,
    verify_file,
)
from cvnotes.figures import (
    FigureBuildError,
    RecipeOutput,
    build_figures,
    missing_figures,
    read_manifest,
    recipe,
    registry,
)
from cvnotes.mkdocs_plugin import replace_missing_figures

NETWORK_ASSETS = ["resnet18-imagenet", "resnet50-imagenet", "mnist", "cifar-100", "clip-vit-b-32-openai"]


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CVNOTES_CACHE", str(cache))
    return cache


# Declarations


def test_every_asset_fully_declared():
    for name, asset in ASSETS.items():
        assert asset.name == name
        assert asset.kind in {"dataset", "weights", "photos"}, name
        assert asset.source, name
        assert asset.licence, name
        assert asset.loader, name
        assert asset.profile in {"quick", "full"}, name
        assert asset.size_bytes > 0, name
        if not asset.embedded:
            assert asset.is_cached is not None, name
            assert asset.download is not None, name


def test_catalogue_lists_later_assets():
    for name in NETWORK_ASSETS:
        assert ASSETS[name].profile == "full"
    assert ASSETS["mnist"].loader == "torchvision.datasets.MNIST"
    assert ASSETS["cifar-100"].loader == "torchvision.datasets.CIFAR100"
    assert "open_clip" in ASSETS["clip-vit-b-32-openai"].loader


def test_embedded_files_match_declarations():
    for name in ("fashion-mnist-test", "photos"):
        asset = ASSETS[name]
        assert asset.embedded
        assert sum(item.size_bytes for item in asset.files) == asset.size_bytes
        for item in asset.files:
            verify_file(assets.PACKAGE_DATA / item.path, item.sha256, size=item.size_bytes)


# Cache directory


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path / "somewhere"))
    assert cache_dir() == tmp_path / "somewhere"


def test_cache_dir_default_is_platform_cache(monkeypatch):
    monkeypatch.delenv("CVNOTES_CACHE", raising=False)
    assert cache_dir() == Path(platformdirs.user_cache_dir("cvnotes", appauthor=False))


def test_cache_dir_ignores_empty_variable(monkeypatch):
    monkeypatch.setenv("CVNOTES_CACHE", "  ")
    assert cache_dir() == Path(platformdirs.user_cache_dir("cvnotes", appauthor=False))


# Checksums


def write(path: Path, data: bytes) -> tuple[Path, str]:
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_verify_file_accepts_matching_file(tmp_path):
    path, digest = write(tmp_path / "weights.bin", b"0123456789")
    assert verify_file(path, digest, size=10) == path
    assert verify_file(path, digest[:8]) == path


def test_verify_file_reports_checksum_mismatch(tmp_path):
    path, digest = write(tmp_path / "weights.bin", b"0123456789")
    path.write_bytes(b"0123456780")
    with pytest.raises(AssetIntegrityError, match=r"weights\.bin is corrupt") as caught:
        verify_file(path, digest, size=10)
    assert digest in str(caught.value)
    assert "cvnotes fetch" in str(caught.value)


def test_verify_file_reports_truncated_file(tmp_path):
    path, digest = write(tmp_path / "weights.bin", b"0123456789")
    path.write_bytes(b"01234")
    with pytest.raises(AssetIntegrityError, match="truncated: 5 bytes, expected 10"):
        verify_file(path, digest, size=10)


def test_verify_file_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.bin"):
        verify_file(tmp_path / "absent.bin", "0" * 64)


@pytest.mark.parametrize("digest", ["abc", "z" * 64, "0" * 65])
def test_verify_file_invalid_digest(tmp_path, digest):
    path, _ = write(tmp_path / "weights.bin", b"x")
    with pytest.raises(ValueError, match="8 to 64 hexadecimal digits"):
        verify_file(path, digest)


# Errors


def test_missing_error_names_asset_and_command(empty_cache):
    error = AssetMissingError("mnist")
    assert error.asset_name == "mnist"
    assert error.command == "cvnotes fetch mnist"
    assert "mnist" in str(error)
    assert "`cvnotes fetch mnist`" in str(error)
    assert str(empty_cache) in str(error)


def test_missing_error_lists_several_assets():
    error = AssetMissingError(["mnist", "cifar-100"])
    assert error.asset_names == ("mnist", "cifar-100")
    assert error.command == "cvnotes fetch mnist cifar-100"
    assert str(error).startswith("assets mnist, cifar-100 not found")


def test_unknown_asset_lists_valid_names():
    with pytest.raises(UnknownAssetError, match="valid names: fashion-mnist-test, photos"):
        fetch(["imagenet"])


def test_unknown_asset_error_fields():
    with pytest.raises(UnknownAssetError) as caught:
        fetch(["imagenet"])
    assert caught.value.name == "imagenet"
    assert caught.value.valid_names == tuple(ASSETS)


def test_missing_error_records_cache(empty_cache):
    assert AssetMissingError("mnist").cache == empty_cache


def test_integrity_error_fields(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"hello")
    with pytest.raises(AssetIntegrityError) as caught:
        verify_file(path, "2cf24dba5fb0a30e", size=10)
    assert (caught.value.path, caught.value.problem) == (path, "truncated")
    assert (caught.value.actual, caught.value.expected) == (5, 10)


# Offline fetching


def test_offline_fetch_never_touches_network(empty_cache, no_network):
    for name in NETWORK_ASSETS:
        assert not is_cached(name)
    with pytest.raises(AssetMissingError) as caught:
        fetch(NETWORK_ASSETS, offline=True)
    assert caught.value.asset_names == tuple(NETWORK_ASSETS)
    assert not empty_cache.exists()


def test_offline_fetch_embedded_is_noop(empty_cache, no_network):
    results = fetch(["fashion-mnist-test", "photos"], offline=True)
    assert [result.status for result in results] == ["embedded", "embedded"]
    assert not empty_cache.exists()


def test_offline_fetch_finds_cached_weights(empty_cache, no_network):
    folder = assets.torchvision_weights_dir(empty_cache)
    folder.mkdir(parents=True)
    (folder / assets.RESNET_WEIGHTS["resnet18"][2]).write_bytes(b"placeholder")
    results = fetch(["resnet18-imagenet"], offline=True)
    assert results[0].status == "cached"


def test_online_fetch_goes_through_torchvision(empty_cache, monkeypatch):
    requests = []

    def fake_download(url, model_dir=None, **options):
        requests.append((url, options))
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        (Path(model_dir) / Path(url).name).write_bytes(b"weights")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", fake_download)
    results = fetch(["resnet18-imagenet"])
    assert results[0].status == "fetched"
    assert requests == [
        (
            "https://download.pytorch.org/models/resnet18-f37072fd.pth",
            {"progress": True, "check_hash": True, "weights_only": True},
        )
    ]
    assert is_cached("resnet18-imagenet")


def test_online_fetch_datasets_use_cache_root(empty_cache, monkeypatch):
    roots = []

    class FakeDataset:
        def __init__(self, root, train=True, download=False):
            roots.append((Path(root), train, download))

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeDataset)
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", FakeDataset)
    ASSETS["mnist"].download(empty_cache)
    ASSETS["cifar-100"].download(empty_cache)
    expected_root = assets.torchvision_datasets_dir(empty_cache)
    assert roots == [(expected_root, True, True), (expected_root, False, True), (expected_root, False, True)]


# The command


def test_cli_fetch_list_shows_catalogue(empty_cache, no_network, capsys):
    assert cli.main(["fetch", "--list"]) == 0
    output = capsys.readouterr().out
    assert str(empty_cache) in output
    for name, asset in ASSETS.items():
        line = next(line for line in output.splitlines() if line.startswith(name + " "))
        assert asset.licence in line
        assert ("embedded" if asset.embedded else "not cached") in line


def test_cli_fetch_embedded_says_nothing_to_do(empty_cache, no_network, capsys):
    assert cli.main(["fetch", "photos"]) == 0
    assert "photos: embedded in the package, nothing to fetch" in capsys.readouterr().out


def test_cli_fetch_offline_missing_fails(empty_cache, no_network, capsys):
    assert cli.main(["fetch", "--offline", "mnist"]) == 1
    error = capsys.readouterr().err
    assert f"assets not found in the cache {empty_cache}: mnist (full)" in error
    assert "cvnotes fetch mnist" in error


def test_cli_fetch_offline_from_environment(empty_cache, no_network, monkeypatch, capsys):
    monkeypatch.setenv("CVNOTES_OFFLINE", "1")
    assert cli.main(["fetch", "cifar-100"]) == 1
    assert "not found in the cache" in capsys.readouterr().err


def test_cli_fetch_unknown_name(capsys):
    assert cli.main(["fetch", "imagenet"]) == 2
    error = capsys.readouterr().err
    assert "unknown asset 'imagenet'" in error
    assert "resnet50-imagenet" in error


# Figures whose asset is missing


@pytest.fixture
def toy_recipes(tmp_path_factory, monkeypatch):
    """Register a recipe that needs a missing asset and one that draws; remove both afterwards."""
    # An empty cache, so that no full-profile asset of this computer turns a skip into a profile hint.
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path_factory.mktemp("empty-cache")))

    def draw(context) -> RecipeOutput:
        figures = {}
        for language in ("ko", "en"):
            figure = Figure(figsize=(2, 2))
            figure.subplots().plot([0, 1], [0, 1])
            figures[language] = figure
        return RecipeOutput(figures=figures, metrics={"held_out_accuracy": 0.9})

    def needs_weights(context) -> RecipeOutput:
        if context.offline:
            raise AssetMissingError("resnet50-imagenet")
        return draw(context)

    recipe(
        "toy-needs-weights", title={"ko": "가중치 필요", "en": "needs weights"}, assets=["resnet50-imagenet"]
    )(needs_weights)
    recipe("toy-draws", title={"ko": "그림", "en": "draws"}, assets=["fashion-mnist-test"])(draw)
    yield ["toy-needs-weights", "toy-draws"]
    for name in ("toy-needs-weights", "toy-draws"):
        registry._REGISTRY.pop(name, None)


def test_missing_figure_recorded_and_build_continues(tmp_path, toy_recipes, caplog):
    with caplog.at_level(logging.WARNING, logger="cvnotes.figures.build"):
        results = build_figures(toy_recipes, out_dir=tmp_path, offline=True)
    assert [result.status for result in results] == ["missing", "built"]
    assert results[0].missing_assets == ("resnet50-imagenet",)
    assert results[0].command == "cvnotes fetch resnet50-imagenet"
    assert "figure toy-needs-weights skipped" in caplog.text
    assert "cvnotes fetch resnet50-imagenet" in caplog.text

    manifest = read_manifest(tmp_path)
    assert manifest["missing"]["toy-needs-weights"]["assets"] == ["resnet50-imagenet"]
    assert manifest["missing"]["toy-needs-weights"]["command"] == "cvnotes fetch resnet50-imagenet"
    assert "toy-needs-weights" not in manifest["recipes"]
    assert not (tmp_path / "toy-needs-weights.ko.png").exists()
    assert (tmp_path / "toy-draws.ko.png").is_file()


def test_manifest_records_asset_digests(tmp_path, toy_recipes):
    build_figures(["toy-draws"], out_dir=tmp_path)
    entry = read_manifest(tmp_path)["recipes"]["toy-draws"]
    assert set(entry["assets"]) == {"fashion-mnist-test"}
    assert len(entry["assets"]["fashion-mnist-test"]) == 64
    assert entry["metrics"]["held_out_accuracy"] == 0.9


def test_missing_figure_cleared_once_built(tmp_path, toy_recipes):
    build_figures(["toy-needs-weights"], out_dir=tmp_path, offline=True)
    assert "toy-needs-weights" in missing_figures(tmp_path)
    build_figures(["toy-needs-weights"], out_dir=tmp_path, offline=False)
    assert missing_figures(tmp_path) == {}
    assert "toy-needs-weights" in read_manifest(tmp_path)["recipes"]


def test_fail_on_missing_raises(tmp_path, toy_recipes):
    with pytest.raises(FigureBuildError, match="toy-needs-weights.*cvnotes fetch resnet50-imagenet"):
        build_figures(toy_recipes, out_dir=tmp_path, offline=True, fail_on_missing=True)
    # The other recipe is still built.
    assert (tmp_path / "toy-draws.en.png").is_file()


def test_recipe_rejects_undeclared_asset():
    with pytest.raises(ValueError, match="undeclared asset.*imagenet-21k"):
        recipe("toy-bad-asset", title={"ko": "가", "en": "a"}, assets=["imagenet-21k"])(lambda context: None)
    assert "toy-bad-asset" not in registry._REGISTRY


def test_cli_figures_reports_missing(tmp_path, toy_recipes, capsys):
    assert cli.main(["--lang", "en", "figures", *toy_recipes, "--offline", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    warning = "missing asset resnet50-imagenet; run `cvnotes fetch resnet50-imagenet`"
    # Each skipped figure is reported once, and the summary counts it instead of claiming success.
    assert (captured.out + captured.err).count(warning) == 1
    assert (
        f"1 built, 0 up to date, 1 skipped (see the warnings above); figures and manifest in {tmp_path}"
        in captured.out
    )
    assert cli.main(["--lang", "en", "figures", *toy_recipes, "--offline", "--out", str(tmp_path)]) == 0
    assert "0 built, 1 up to date, 1 skipped" in capsys.readouterr().out


def test_cli_figures_names_several_missing_assets(tmp_path, monkeypatch, capsys):
    def needs_two(context):
        raise AssetMissingError(["resnet50-imagenet", "cifar-100"])

    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path / "cache"))
    recipe("toy-needs-two", title={"ko": "둘", "en": "two"}, assets=["resnet50-imagenet", "cifar-100"])(
        needs_two
    )
    try:
        arguments = ["figures", "toy-needs-two", "--offline", "--out", str(tmp_path)]
        assert cli.main(["--lang", "en", *arguments]) == 0
        error = capsys.readouterr().err
        assert "skipped: missing assets resnet50-imagenet, cifar-100; run `cvnotes fetch" in error
        assert cli.main(["--lang", "ko", *arguments]) == 0
        captured = capsys.readouterr()
        assert (
            "필요한 자산이 없습니다: resnet50-imagenet, cifar-100. 다음 명령을 실행하세요: `cvnotes fetch"
            in (captured.err)
        )
        assert "새로 만듦 0개, 바뀐 것 없음 0개, 건너뜀 1개(위 경고 참고)" in captured.out
    finally:
        registry._REGISTRY.pop("toy-needs-two", None)


def test_cli_figures_fail_on_missing(tmp_path, toy_recipes, capsys):
    assert cli.main(["figures", *toy_recipes, "--offline", "--fail-on-missing", "--out", str(tmp_path)]) == 1
    assert "cvnotes fetch resnet50-imagenet" in capsys.readouterr().err


def test_cli_figures_fail_on_missing_from_environment(tmp_path, toy_recipes, monkeypatch):
    monkeypatch.setenv("CVNOTES_FAIL_ON_MISSING", "1")
    assert cli.main(["figures", *toy_recipes, "--offline", "--out", str(tmp_path)]) == 1


def test_fail_on_missing_error_keeps_failures(tmp_path, toy_recipes):
    with pytest.raises(FigureBuildError) as caught:
        build_figures(toy_recipes, out_dir=tmp_path, offline=True, fail_on_missing=True)
    assert caught.value.failed_names == ("toy-needs-weights",)
    assert isinstance(caught.value.failures["toy-needs-weights"], AssetMissingError)


def test_on_missing_callback_replaces_log(tmp_path, toy_recipes, caplog):
    reported = []
    with caplog.at_level(logging.WARNING, logger="cvnotes.figures.build"):
        build_figures(
            toy_recipes,
            out_dir=tmp_path,
            offline=True,
            on_missing=lambda name, error: reported.append((name, error.asset_names)),
        )
    assert reported == [("toy-needs-weights", ("resnet50-imagenet",))]
    assert "skipped" not in caplog.text


def test_cli_figures_missing_warning_in_korean(tmp_path, toy_recipes, capsys, caplog):
    arguments = ["--lang", "ko", "figures", *toy_recipes, "--offline", "--out", str(tmp_path)]
    with caplog.at_level(logging.WARNING):
        assert cli.main(arguments) == 0
    captured = capsys.readouterr()
    warning = (
        "경고: toy-needs-weights 그림을 건너뜁니다. 필요한 자산이 없습니다: resnet50-imagenet. "
        "다음 명령을 실행하세요: `cvnotes fetch resnet50-imagenet`"
    )
    assert captured.err.count(warning) == 1
    assert "skipped" not in caplog.text + captured.err
    assert "resnet50-imagenet" not in captured.out


def test_cli_figures_missing_warning_in_english(tmp_path, toy_recipes, capsys):
    assert cli.main(["--lang", "en", "figures", *toy_recipes, "--offline", "--out", str(tmp_path)]) == 0
    error = capsys.readouterr().err
    assert error.count("warning: figure toy-needs-weights skipped: missing asset resnet50-imagenet") == 1


def test_cli_figures_fail_on_missing_in_korean(tmp_path, toy_recipes, capsys):
    arguments = ["figures", *toy_recipes, "--offline", "--fail-on-missing", "--out", str(tmp_path)]
    assert cli.main(["--lang", "ko", *arguments]) == 1
    error = capsys.readouterr().err
    assert "cvnotes figures: 오류: 실패한 recipe가 있습니다. 그 그림의 이전 파일은 그대로 둡니다:" in error
    assert (
        "  toy-needs-weights: 필요한 자산이 없습니다: resnet50-imagenet. "
        "다음 명령을 실행하세요: `cvnotes fetch resnet50-imagenet`" in error
    )
    assert "failed" not in error


def test_cli_figures_fail_on_missing_in_english(tmp_path, toy_recipes, capsys):
    arguments = ["figures", *toy_recipes, "--offline", "--fail-on-missing", "--out", str(tmp_path)]
    assert cli.main(["--lang", "en", *arguments]) == 1
    error = capsys.readouterr().err
    assert "cvnotes figures: error: figure recipe(s) failed, their previous files are kept:" in error
    assert (
        "  toy-needs-weights: missing asset resnet50-imagenet; run `cvnotes fetch resnet50-imagenet`" in error
    )


MISSING = {
    "toy-needs-weights": {"assets": ["resnet50-imagenet"], "command": "cvnotes fetch resnet50-imagenet"}
}


def test_note_replaces_image_line_in_korean():
    markdown = "앞 문단.\n\n![Grad-CAM](figures/toy-needs-weights.png)\n\n뒤 문단.\n"
    replaced = replace_missing_figures(markdown, MISSING, "figures", "ko")
    assert "figures/toy-needs-weights.png" not in replaced
    assert '!!! warning "그림을 만들지 못했습니다: toy-needs-weights"' in replaced
    assert "(없는 자산: `resnet50-imagenet`)" in replaced
    assert "다음 명령을 실행한 다음 사이트를 다시 빌드하세요: `cvnotes fetch resnet50-imagenet`" in replaced
    assert replaced.startswith("앞 문단.")
    assert replaced.endswith("뒤 문단.\n")


def test_note_replaces_image_with_attributes_in_english():
    markdown = '- item\n\n    ![CAM](../figures/toy-needs-weights.png "title"){ width="60%" }\n'
    replaced = replace_missing_figures(markdown, MISSING, "figures", "en")
    assert '    !!! warning "Figure not built: toy-needs-weights"' in replaced
    assert "        The asset `resnet50-imagenet` that this figure needs is not" in replaced


def test_note_names_several_assets_in_plural():
    entry = {
        "assets": ["clip-vit-b-32-openai", "cifar-100"],
        "command": "cvnotes fetch clip-vit-b-32-openai cifar-100",
    }
    markdown = "![sea](figures/toy-two.png)\n"
    missing = replace_missing_figures(markdown, {"toy-two": {**entry, "profile": "full"}}, "figures", "en")
    assert "The assets `clip-vit-b-32-openai`, `cifar-100` that this figure needs are not" in missing
    quick = replace_missing_figures(markdown, {"toy-two": {**entry, "profile": "quick"}}, "figures", "en")
    assert "from the assets `clip-vit-b-32-openai`, `cifar-100`." in quick


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ko", "필요한 자산은 캐시에 있습니다 (`clip-vit-b-32-openai`, `cifar-100`)"),
        ("en", "Its assets `clip-vit-b-32-openai`, `cifar-100` are already cached"),
    ],
)
def test_note_for_cached_full_profile_figure(language, text):
    entry = {
        "assets": ["clip-vit-b-32-openai", "cifar-100"],
        "command": "cvnotes fetch clip-vit-b-32-openai cifar-100",
        "profile": "quick",
        "needs_full_profile": True,
    }
    note = replace_missing_figures(
        "![sea](figures/toy-full-only.png)\n", {"toy-full-only": entry}, "figures", language
    )
    assert text in note
    assert "`CVNOTES_PROFILE=full mkdocs build`" in note
    assert "cvnotes fetch" not in note


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ko", "`CVNOTES_PROFILE=full mkdocs build`로 사이트를 빌드하세요"),
        ("en", "then build the site with `CVNOTES_PROFILE=full mkdocs build`"),
    ],
)
def test_note_for_full_profile_figure_in_quick_build(language, text):
    entry = {
        "assets": ["clip-vit-b-32-openai", "cifar-100"],
        "command": "cvnotes fetch clip-vit-b-32-openai cifar-100",
    }
    markdown = "![sea](figures/toy-full-only.png)\n"
    quick = replace_missing_figures(
        markdown, {"toy-full-only": {**entry, "profile": "quick"}}, "figures", language
    )
    assert text in quick
    assert "`cvnotes fetch clip-vit-b-32-openai cifar-100`" in quick
    full = replace_missing_figures(
        markdown, {"toy-full-only": {**entry, "profile": "full"}}, "figures", language
    )
    assert "CVNOTES_PROFILE=full" not in full


def test_note_leaves_other_figures_and_inline_images():
    markdown = "![a](figures/toy-draws.png)\n\nText ![b](figures/toy-needs-weights.png) inline.\n"
    assert replace_missing_figures(markdown, MISSING, "figures", "en") == markdown


MKDOCS_YML = """\
site_name: toy
docs_dir: docs
strict: true
theme:
  name: material
  language: ko
plugins:
  - cvnotes:
      figures_dir: figures
      {fail_option}
  - i18n:
      docs_structure: suffix
      fallback_to_default: false
      reconfigure_material: true
      languages:
        - locale: ko
          name: 한국어
          default: true
          build: true
        - locale: en
          name: English
          build: true
markdown_extensions:
  - admonition
  - attr_list
"""


def make_toy_site(root: Path, fail_on_missing: bool) -> Path:
    option = "fail_on_missing: true" if fail_on_missing else ""
    (root / "mkdocs.yml").write_text(MKDOCS_YML.format(fail_option=option), encoding="utf-8")
    docs = root / "docs"
    docs.mkdir()
    for language, heading in (("ko", "그림"), ("en", "Figures")):
        (docs / f"index.{language}.md").write_text(
            f"# {heading}\n\n![CAM](figures/toy-needs-weights.png)\n\n![Drawn](figures/toy-draws.png)\n",
            encoding="utf-8",
        )
    return root / "mkdocs.yml"


def mkdocs_build_in_process(config_file: Path, site_dir: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(config_file), site_dir=str(site_dir), strict=True)
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config)
    finally:
        config.plugins.on_shutdown()


@pytest.mark.build
def test_mkdocs_build_shows_note_for_missing_figure(tmp_path, toy_recipes, monkeypatch, no_network):
    monkeypatch.setenv("CVNOTES_OFFLINE", "1")
    monkeypatch.delenv("CVNOTES_FAIL_ON_MISSING", raising=False)
    monkeypatch.setattr(registry, "RECIPE_MODULES", ())
    config_file = make_toy_site(tmp_path, fail_on_missing=False)
    site = tmp_path / "site"
    mkdocs_build_in_process(config_file, site)

    korean = (site / "index.html").read_text(encoding="utf-8")
    english = (site / "en" / "index.html").read_text(encoding="utf-8")
    assert "그림을 만들지 못했습니다: toy-needs-weights" in korean
    assert "Figure not built: toy-needs-weights" in english
    for page in (korean, english):
        assert 'class="admonition warning"' in page
        assert "cvnotes fetch resnet50-imagenet" in page
        assert "toy-needs-weights.png" not in page
        assert "toy-draws" in page


@pytest.mark.build
def test_mkdocs_build_fails_on_missing_when_asked(tmp_path, toy_recipes, monkeypatch, no_network, caplog):
    from mkdocs.exceptions import Abort

    monkeypatch.setenv("CVNOTES_OFFLINE", "1")
    monkeypatch.setattr(registry, "RECIPE_MODULES", ())
    config_file = make_toy_site(tmp_path, fail_on_missing=True)
    # MkDocs logs the plugin's error and aborts the build.
    with caplog.at_level(logging.ERROR, logger="mkdocs"), pytest.raises(Abort):
        mkdocs_build_in_process(config_file, tmp_path / "site")
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(
        "toy-needs-weights" in error and "cvnotes fetch resnet50-imagenet" in error for error in errors
    )
    assert not (tmp_path / "site" / "index.html").exists()


def test_clip_not_cached_without_huggingface_hub(empty_cache, monkeypatch):
    import sys

    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert not is_cached("clip-vit-b-32-openai")


def test_cli_fetch_failed_download(empty_cache, monkeypatch, capsys):
    def fail(url, model_dir=None, **options):
        raise OSError("connection timed out")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", fail)
    assert cli.main(["fetch", "resnet18-imagenet"]) == 1
    assert "OSError: connection timed out" in capsys.readouterr().err


def test_fetch_rejects_single_string():
    with pytest.raises(TypeError, match=r"use \['mnist'\]"):
        fetch("mnist")
