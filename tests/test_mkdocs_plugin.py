"""Tests of the cvnotes MkDocs plugin without a full site build."""

from __future__ import annotations

import json
from types import SimpleNamespace

import mkdocs.utils
import pytest
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from cvnotes import mkdocs_plugin
from cvnotes.figures import build as build_module
from cvnotes.mkdocs_plugin import CvnotesPlugin, treat_notebooks_as_pages, vendor_mathjax


def make_plugin(**options) -> CvnotesPlugin:
    plugin = CvnotesPlugin()
    errors, warnings = plugin.load_config(options)
    assert errors == []
    assert warnings == []
    return plugin


def test_pre_build_rebuilds_only_stale_figures(tmp_path, monkeypatch):
    plugin = make_plugin()
    config = SimpleNamespace(docs_dir=str(tmp_path))
    plugin.on_pre_build(config)
    figures = tmp_path / "figures"
    assert (figures / "focal-loss-curves.ko.png").is_file()
    assert (figures / "focal-loss-easy-negatives.en.png").is_file()
    assert (tmp_path / "javascripts" / "vendor" / "mathjax" / "tex-svg-full.js").is_file()

    # Delete one figure: the next build runs that recipe and no other.
    (figures / "focal-loss-curves.en.png").unlink()
    ran = []
    original = build_module.run_recipe

    def record(name, **options):
        ran.append(name)
        return original(name, **options)

    monkeypatch.setattr(build_module, "run_recipe", record)
    plugin.on_pre_build(config)
    # Figures whose assets are missing (the full-profile CLIP figures) are tried again on every build.
    missing = set(json.loads((figures / "manifest.json").read_text(encoding="utf-8"))["missing"])
    assert [name for name in ran if name not in missing] == ["focal-loss-curves"]
    assert (figures / "focal-loss-curves.en.png").is_file()


def test_pre_build_failure_becomes_plugin_error(tmp_path, monkeypatch):
    def fail(name, **options):
        raise RuntimeError("simulated recipe failure")

    monkeypatch.setattr(build_module, "run_recipe", fail)
    with pytest.raises(PluginError, match="simulated recipe failure"):
        make_plugin().on_pre_build(SimpleNamespace(docs_dir=str(tmp_path)))


def test_pre_build_skips_figures_when_disabled(tmp_path):
    make_plugin(build_figures=False).on_pre_build(SimpleNamespace(docs_dir=str(tmp_path)))
    assert not (tmp_path / "figures").exists()


def test_notebooks_become_documentation_pages(tmp_path):
    treat_notebooks_as_pages()
    treat_notebooks_as_pages()  # a second call must not add the extension twice
    assert mkdocs.utils.markdown_extensions.count(".ipynb") == 1
    notebook = File("tutorials/focal-loss.en.ipynb", str(tmp_path), str(tmp_path / "site"), True)
    assert notebook.is_documentation_page()
    assert notebook.dest_uri == "tutorials/focal-loss.en/index.html"


def test_vendor_mathjax_copies_only_when_changed(tmp_path):
    target = vendor_mathjax(tmp_path)
    script = target / "tex-svg-full.js"
    assert (target / "LICENSE").is_file()
    modified = script.stat().st_mtime_ns
    vendor_mathjax(tmp_path)
    assert script.stat().st_mtime_ns == modified

    script.write_text("truncated")
    vendor_mathjax(tmp_path)
    assert script.stat().st_size > 1_000_000


def test_vendor_mathjax_missing_package(tmp_path, monkeypatch):
    monkeypatch.setattr(mkdocs_plugin.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        PluginError, match="MathJax is missing: install it with `pip install -r requirements.txt`"
    ):
        vendor_mathjax(tmp_path)


def test_invalid_profile_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CVNOTES_PROFILE", "nope")
    with pytest.raises(PluginError, match="invalid profile 'nope' from \\$CVNOTES_PROFILE"):
        make_plugin().on_pre_build(SimpleNamespace(docs_dir=str(tmp_path)))


CITATION = """cff-version: 1.2.0
message: "Cite it as below."
title: "A title"
version: "1.2.3"
date-released: "2025-03-01"
authors:
  - given-names: Ada
    family-names: Lovelace
  - name: "The team"
"""


def test_load_citation_reads_persons_and_entities(tmp_path):
    path = tmp_path / "CITATION.cff"
    path.write_text(CITATION, encoding="utf-8")
    citation = mkdocs_plugin.load_citation(path)
    assert citation.authors == ["Ada Lovelace", "The team"]
    assert citation.title == "A title"
    assert citation.version == "1.2.3"
    assert citation.year == "2025"


def test_load_citation_missing_file_and_fields(tmp_path):
    with pytest.raises(PluginError, match="citation file .* not found"):
        mkdocs_plugin.load_citation(tmp_path / "CITATION.cff")
    path = tmp_path / "CITATION.cff"
    path.write_text("cff-version: 1.2.0\ntitle: x\n", encoding="utf-8")
    with pytest.raises(PluginError, match="is missing authors, version: add them"):
        mkdocs_plugin.load_citation(path)


def test_invalid_repository_rejected(tmp_path):
    (tmp_path / "CITATION.cff").write_text(CITATION, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    config = SimpleNamespace(config_file_path=str(tmp_path / "mkdocs.yml"), docs_dir=str(tmp_path / "docs"))
    with pytest.raises(PluginError, match="invalid repository 'https://github.com/a/b'"):
        make_plugin(repository="https://github.com/a/b").on_config(config)
    plugin = make_plugin(repository="owner/cvnotes")
    plugin.on_config(config)
    assert plugin.docs_path == "docs"
    assert plugin.citation.version == "1.2.3"


def test_missing_citation_file_leaves_out_note(tmp_path):
    (tmp_path / "docs").mkdir()
    config = SimpleNamespace(config_file_path=str(tmp_path / "mkdocs.yml"), docs_dir=str(tmp_path / "docs"))
    plugin = make_plugin()
    plugin.on_config(config)
    assert plugin.citation is None
