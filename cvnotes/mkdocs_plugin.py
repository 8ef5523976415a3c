"""MkDocs plugin ``cvnotes``: fresh figures on every build, and notebooks under i18n.

Add it to ``mkdocs.yml`` *before* ``i18n`` and ``mkdocs-jupyter``::

    plugins:
      - cvnotes:
          figures_dir: figures
      - i18n: ...
      - mkdocs-jupyter: ...

It does four things.

1. **Figures.** Before each build it runs [`build_figures`][cvnotes.figures.build_figures]
   into ``docs/<figures_dir>``, so ``mkdocs build`` and ``mkdocs serve`` alone
   regenerate stale figures. Unchanged recipes are skipped in milliseconds, and
   a recipe that fails fails the build. The profile comes from the ``profile``
   option or ``$CVNOTES_PROFILE``; ``$CVNOTES_OFFLINE=1`` turns on offline mode.

2. **Notebooks as pages.** mkdocs-static-i18n (checked with 1.3.1) rebuilds every
   ``File`` object in its own ``on_files`` step, which runs last. MkDocs decides
   whether a file is a page by its extension (``mkdocs.utils.markdown_extensions``),
   so the rebuilt ``.ipynb`` files are plain assets again: the wrapper that
   mkdocs-jupyter put around them is gone and the notebook JSON is copied as-is.
   This plugin adds ``.ipynb`` to that extension list when the config loads. From
   then on MkDocs and i18n treat notebooks as pages: ``tutorial.ko.ipynb`` becomes
   ``/tutorial/`` and ``tutorial.en.ipynb`` becomes ``/en/tutorial/``, each with
   its language alternates. mkdocs-jupyter then renders (and executes) each one in
   its ``on_pre_page`` step, which keys on the source file's extension, not on
   the ``File`` class. Only ``.ipynb`` is added, so mkdocs-jupyter's ``include``
   option must not list other extensions that are not Markdown.

3. **Relative language links.** i18n gives Material's language switcher absolute
   links (``/``, ``/en/``) on the home pages, which break when the site is served
   from a sub-path or opened from disk. After i18n has set the links, this plugin
   points every switcher entry at the page's own alternate with a site-relative
   URL, which Material's ``url`` filter turns into a page-relative one. The same
   entries also fill the ``<link rel="alternate">`` tags of the page head, and
   Material's script fetches ``sitemap.xml`` next to each of them to map pages
   across languages. So those tags point at the language roots (``./``, ``en/``)
   instead. Without ``site_url`` the sitemap contains no usable URLs (i18n writes
   ``None/...``), and the tags are removed, which saves the reader the failing
   requests.

4. **MathJax from the site itself.** Before each build it copies MathJax's
   single-file SVG build (``tex-svg-full.js``, MathJax 3.2.2, Apache-2.0, from the
   ``django-static-mathjax`` package) and its licence to
   ``docs/javascripts/vendor/mathjax/``, so equations render without a CDN. The
   file is copied only when it differs, which keeps ``mkdocs serve`` from looping.
"""

from __future__ import annotations

import filecmp
import importlib.util
import logging
import os
import re
import shutil
from pathlib import Path

import mkdocs.utils
from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.utils import get_relative_url

from cvnotes.cli import env_flag

__all__ = ["CvnotesPlugin", "NOTEBOOK_EXTENSION"]

log = logging.getLogger("mkdocs.plugins.cvnotes")

NOTEBOOK_EXTENSION = ".ipynb"
MATHJAX_PACKAGE = "mathjax"  # import name of the django-static-mathjax distribution
MATHJAX_FILES = ("es5/tex-svg-full.js", "LICENSE")
MATHJAX_SITE_DIR = Path("javascripts") / "vendor" / "mathjax"
_HEAD_ALTERNATE = re.compile(r'<link rel="alternate" href="[^"]*" hreflang="([A-Za-z-]+)">')


class CvnotesPluginConfig(Config):
    figures_dir = config_options.Type(str, default="figures")
    profile = config_options.Choice(("quick", "full"), default=os.environ.get("CVNOTES_PROFILE", "quick"))
    offline = config_options.Type(bool, default=env_flag("CVNOTES_OFFLINE"))
    build_figures = config_options.Type(bool, default=True)


def treat_notebooks_as_pages() -> None:
    """Make MkDocs count ``.ipynb`` files as documentation pages (idempotent)."""
    if NOTEBOOK_EXTENSION not in mkdocs.utils.markdown_extensions:
        mkdocs.utils.markdown_extensions = (*mkdocs.utils.markdown_extensions, NOTEBOOK_EXTENSION)


def vendor_mathjax(docs_dir: Path) -> Path:
    """Copy MathJax's SVG build and licence under ``docs_dir``; return the target directory.

    Raises:
        PluginError: If the django-static-mathjax package is not installed.
    """
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PluginError(
            "cvnotes: MathJax is missing: install it with `pip install -r requirements.txt` "
            "(package django-static-mathjax)"
        )
    source_dir = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"
    target_dir = Path(docs_dir) / MATHJAX_SITE_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in MATHJAX_FILES:
        source = source_dir / name
        target = target_dir / Path(name).name
        if not target.is_file() or not filecmp.cmp(source, target, shallow=False):
            shutil.copyfile(source, target)
    return target_dir


class CvnotesPlugin(BasePlugin[CvnotesPluginConfig]):
    """Build the figures before the pages, let notebooks be i18n pages, fix language links."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        treat_notebooks_as_pages()
        return config

    def on_pre_build(self, config: MkDocsConfig) -> None:
        vendor_mathjax(Path(config.docs_dir))
        if not self.config.build_figures:
            return
        from cvnotes.figures import FigureBuildError, build_figures

        out_dir = Path(config.docs_dir) / self.config.figures_dir
        try:
            results = build_figures(out_dir=out_dir, profile=self.config.profile, offline=self.config.offline)
        except FigureBuildError as exc:
            raise PluginError(f"cvnotes: {exc}") from exc
        built = [result.name for result in results if result.status == "built"]
        if built:
            log.info("cvnotes: built figure(s) %s into %s", ", ".join(built), out_dir)

    def on_page_context(self, context, page, config, nav):
        alternates = getattr(page.file, "alternates", None)
        if not alternates:
            return context
        # i18n stores the switcher entries as an attribute of config.extra, which Jinja
        # reads before the dict item of the same name; update whichever exists.
        entries = getattr(config.extra, "alternate", None) or config.extra.get("alternate", [])
        for entry in entries:
            alternate = alternates.get(entry.get("lang"))
            if alternate is not None:
                # An empty URL is the site root; "./" keeps it a relative link.
                entry["link"] = alternate.url or "./"
        return context

    def on_post_page(self, output: str, page, config: MkDocsConfig) -> str:
        i18n = config.plugins.get("i18n")
        if i18n is None:
            return output
        # Site-relative roots of the languages: "" for the default one, "en/" for English.
        roots = {language.locale: language.link.lstrip("/") for language in i18n.config.languages}

        def point_at_root(match: re.Match[str]) -> str:
            language = match.group(1)
            if language not in roots:
                return match.group(0)
            if not config.site_url:
                return ""
            href = get_relative_url(roots[language] or ".", page.url or ".")
            return f'<link rel="alternate" href="{href}" hreflang="{language}">'

        head, separator, body = output.partition("</head>")
        return _HEAD_ALTERNATE.sub(point_at_root, head) + separator + body
