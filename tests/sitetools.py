"""Helpers shared by the site tests: build the site, list its pages, serve it on loopback.

Pages are discovered from the ``docs/`` tree and the i18n settings of ``mkdocs.yml``, not from a
list, so the tests cover every chapter that is added later.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGE_SUFFIXES = (".md", ".ipynb")


def copy_project(root: Path) -> None:
    """Copy what the site build reads into ``root``, leaving out generated figures and vendored files."""
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copy(REPO / "CITATION.cff", root / "CITATION.cff")
    shutil.copytree(REPO / "docs", root / "docs", ignore=shutil.ignore_patterns("figures", "vendor"))


def mkdocs_build(root: Path) -> subprocess.CompletedProcess:
    """Run a strict ``mkdocs build`` of the project copied into ``root``, writing ``root/site``."""
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "CVNOTES_PROFILE": "quick"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict"]
    command += ["-f", str(root / "mkdocs.yml"), "-d", str(root / "site")]
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=900)


class _ConfigLoader(yaml.SafeLoader):
    """A YAML loader for mkdocs.yml that reads ``!!python/...`` tags (the slugify function) as None."""


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def load_mkdocs_config(path: Path = REPO / "mkdocs.yml") -> dict:
    """Return ``mkdocs.yml`` as plain data, without importing the plugins it names."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_ConfigLoader)


def plugin_config(name: str, config: dict | None = None) -> dict:
    """Return the options of plugin ``name`` in ``mkdocs.yml`` (an empty dict when it has none)."""
    config = config if config is not None else load_mkdocs_config()
    for entry in config.get("plugins", []):
        if isinstance(entry, dict) and name in entry:
            return entry[name] or {}
        if entry == name:
            return {}
    raise KeyError(f"plugin {name!r} is not in mkdocs.yml")


def language_roots() -> dict[str, str]:
    """Return each site language and its URL prefix: "" for the default language, "en/" for English."""
    languages = plugin_config("i18n")["languages"]
    return {
        language["locale"]: "" if language.get("default") else f"{language['locale']}/"
        for language in languages
    }


@dataclass(frozen=True)
class SourcePage:
    """One page of the site as written in ``docs/``: a Markdown file or a notebook, in one language.

    Attributes:
        source: Path under ``docs/``, e.g. ``tutorials/focal-loss.ko.ipynb``.
        language: The locale in the file name, e.g. ``ko``.
        page: Path of the page below its language root, e.g. ``tutorials/focal-loss/``.
        url_path: Path of the page below the site root, e.g. ``en/tutorials/focal-loss/``.
    """

    source: str
    language: str
    page: str
    url_path: str

    @property
    def is_notebook(self) -> bool:
        return self.source.endswith(".ipynb")


def source_pages(docs: Path = DOCS) -> list[SourcePage]:
    """List every page of ``docs`` in every site language, in a stable order.

    A page is a ``<name>.<locale>.md`` or ``<name>.<locale>.ipynb`` file; ``index`` maps to its folder.
    """
    roots = language_roots()
    pages = []
    for path in sorted(docs.rglob("*")):
        if path.suffix not in PAGE_SUFFIXES or ".ipynb_checkpoints" in path.parts:
            continue
        stem, _, language = path.stem.rpartition(".")
        if language not in roots:
            continue
        location = path.relative_to(docs).with_name(stem)
        if location.name == "index":
            location = location.parent
        page = "" if location == Path(".") else f"{location.as_posix()}/"
        source = path.relative_to(docs).as_posix()
        pages.append(SourcePage(source, language, page, roots[language] + page))
    return pages


def built_pages(site: Path) -> set[str]:
    """Return the site-relative folder of every ``index.html`` in a built site, e.g. ``en/object-detection/``."""
    pages = set()
    for index in site.rglob("index.html"):
        folder = index.parent.relative_to(site).as_posix()
        pages.add("" if folder == "." else f"{folder}/")
    return pages


class _SiteRequestHandler(SimpleHTTPRequestHandler):
    """Serve the site's files, and the site's 404 page for a missing path, as static hosts do."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the name is fixed by the base class
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        not_found_page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not not_found_page.is_file():
            super().send_error(code, message, explain)
            return
        body = not_found_page.read_bytes()
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextmanager
def serve_site(site: Path) -> Iterator[str]:
    """Serve ``site`` over HTTP on 127.0.0.1 at a free port; yield the base URL, e.g. ``http://127.0.0.1:PORT/``."""
    handler = functools.partial(_SiteRequestHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
