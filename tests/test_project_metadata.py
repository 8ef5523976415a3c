"""The version, repository and citation that several files state must agree."""

from __future__ import annotations

import json
import re
import tomllib

import yaml
from sitetools import DOCS, REPO, plugin_config

import cvnotes

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
CITATION_FIELDS = {
    "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers",
    "keywords", "license", "license-url", "message", "preferred-citation", "references",
    "repository", "repository-artifact", "repository-code", "title", "type", "url", "version",
}  # fmt: skip


def test_package_version_matches_pyproject():
    assert cvnotes.__version__ == VERSION


def test_citation_file_is_valid_cff():
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert set(citation) <= CITATION_FIELDS, f"unknown CFF keys: {set(citation) - CITATION_FIELDS}"
    for required in ("cff-version", "message", "title", "authors"):
        assert citation.get(required), f"CITATION.cff lacks {required}"
    assert citation["type"] in {"software", "dataset"}
    assert citation["version"] == VERSION
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(citation["date-released"]))
    for author in citation["authors"]:
        assert "name" in author or "family-names" in author, f"author {author} has no name"


def test_notebooks_install_configured_repository_at_version():
    repository = plugin_config("cvnotes")["repository"]
    expected = f'%pip install --quiet "cvnotes @ git+https://github.com/{repository}@v{VERSION}"'
    notebooks = sorted(DOCS.rglob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        first_code = next(cell for cell in cells if cell["cell_type"] == "code")
        source = "".join(first_code["source"])
        hint = f'put `{expected}` under `if "google.colab" in sys.modules:` in the first code cell'
        assert 'if "google.colab" in sys.modules:' in source, (
            f"{path.name}: the install is not limited to Colab. {hint}"
        )
        assert expected in source, (
            f"{path.name}: the first code cell does not install {repository} v{VERSION}. {hint}"
        )
