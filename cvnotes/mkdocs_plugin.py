"""MkDocs plugin ``cvnotes``: fresh figures, notebooks and search under i18n.

Add it to ``mkdocs.yml`` beside ``i18n`` and ``mkdocs-jupyter``. Its position in
the list does not matter, because each hook that must run after i18n sets its
own priority::

    plugins:
      - cvnotes:
          figures_dir: figures
      - i18n: ...
      - mkdocs-jupyter: ...

It does eight things.

1. **Figures.** Before each build it runs [`build_figures`][cvnotes.figures.build_figures]
   into ``docs/<figures_dir>``, so ``mkdocs build`` and ``mkdocs serve`` alone
   regenerate stale figures. Unchanged recipes are skipped in milliseconds, and
   a recipe that fails fails the build. The profile comes from the ``profile``
   option or ``$CVNOTES_PROFILE``; ``$CVNOTES_OFFLINE=1`` turns on offline mode.
   The device comes from the ``device`` option or ``$CVNOTES_DEVICE`` (``cpu``
   by default, or ``cuda`` or ``auto``). It is part of each figure's cache key,
   so to reuse figures that ``cvnotes figures --device auto`` built on a GPU,
   build the site with the same ``$CVNOTES_DEVICE``.

6. **Notes for missing figures.** A figure whose asset is missing offline is
   listed under ``"missing"`` in the manifest. On every page, an image line
   ``![...](figures/<name>.png)`` of such a figure is replaced by a warning
   admonition, in the page's language, that names the figure and the command
   that provides its asset (``cvnotes fetch NAME``); the build still completes.
   The ``fail_on_missing`` option, or ``$CVNOTES_FAIL_ON_MISSING=1``, makes a
   missing figure fail the build instead.

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

5. **One search index per language.** i18n collects the search entries of all
   languages into ``/search/search_index.json``, which every page loads. So a
   Korean search also lists English pages. Its duplicate filter
   (``reconfigure_search``) even drops English pages whose title matches a Korean one. With that filter
   off in ``mkdocs.yml``, this plugin splits the index after the last language
   is built: ``/search/`` keeps the default language and ``/en/search/`` gets
   the English entries, with locations relative to ``/en/``. Each English page's
   ``base`` (in Material's ``__config`` script) then points at ``/en/``, the
   directory Material loads the index from and resolves result links against.

7. **Colab and download links.** Every notebook page gets two buttons under its
   title: "Open in Colab", which opens the notebook from the GitHub repository
   named by the ``repository`` option (``owner/name``) on the ``branch`` option,
   and a download link to the ``.ipynb`` that mkdocs-jupyter copies next to the
   page when its ``include_source`` option is on. Both links come from that one
   option, so moving the repository changes one line of ``mkdocs.yml``.

8. **"Cite this page".** Every page ends with a citation note in its own
   language, made from the ``CITATION.cff`` file next to ``mkdocs.yml``
   (authors, title, version, release year). The note links to the page under
   ``site_url`` when that is set, else to the page's source file at the
   version's tag (``v<version>``) in the repository. A project without that
   file gets no note.

It also fixes the 404 page. i18n builds ``404.html`` once per language into
the site root, so the last language built would win. This plugin keeps the
default language's page, adds a line in every language that links to that
language's home page, and points its language switcher at the language roots
(otherwise it keeps the links of the last page built).
"""

from __future__ import annotations

import filecmp
import html
import importlib.util
import json
import logging
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import mkdocs.utils
import yaml
from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.utils import get_relative_url

from cvnotes.cli import env_flag
from cvnotes.figures.device import DEFAULT_DEVICE, DEVICE_ENV, DEVICES
from cvnotes.figures.registry import PROFILES

__all__ = [
    "CvnotesPlugin",
    "NOTEBOOK_EXTENSION",
    "Citation",
    "colab_url",
    "load_citation",
    "missing_figure_note",
    "replace_missing_figures",
]

log = logging.getLogger("mkdocs.plugins.cvnotes")

NOTEBOOK_EXTENSION = ".ipynb"
MATHJAX_PACKAGE = "mathjax"  # import name of the django-static-mathjax distribution
MATHJAX_FILES = ("es5/tex-svg-full.js", "LICENSE")
MATHJAX_SITE_DIR = Path("javascripts") / "vendor" / "mathjax"
_HEAD_ALTERNATE = re.compile(r'<link rel="alternate" href="[^"]*" hreflang="([A-Za-z-]+)">')
_CONFIG_BASE = re.compile(r'(<script id="__config" type="application/json">\{[^<]*?"base": )"[^"]*"')
SEARCH_INDEX = Path("search") / "search_index.json"
NOT_FOUND_PAGE = "404.html"
NOT_FOUND_TEXT = {
    "ko": '요청한 페이지가 없습니다. <a href="{home}">처음 페이지</a>로 가세요.',
    "en": 'This page does not exist. Go to the <a href="{home}">English home page</a>.',
}
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_FIRST_H1_END = re.compile(r"</h1>", re.IGNORECASE)

# Link and note wording per page language; a language without an entry uses English.
NOTEBOOK_LINK_TEXT = {
    "ko": {"colab": "Colab에서 열기", "download": "노트북 내려받기 (.ipynb)"},
    "en": {"colab": "Open in Colab", "download": "Download the notebook (.ipynb)"},
}
CITE_TEXT = {
    "ko": {
        "heading": "이 페이지 인용하기",
        "version": "버전",
        "more": "저장소 루트의 CITATION.cff에 전체 인용 정보가 있습니다.",
    },
    "en": {
        "heading": "Cite this page",
        "version": "version",
        "more": "CITATION.cff at the repository root has the full citation.",
    },
}


class CvnotesPluginConfig(Config):
    figures_dir = config_options.Type(str, default="figures")
    # Unset means: read $CVNOTES_PROFILE (default quick) and $CVNOTES_OFFLINE at build time.
    profile = config_options.Optional(config_options.Choice(PROFILES))
    # Unset means: read $CVNOTES_DEVICE (default cpu) at build time.
    device = config_options.Optional(config_options.Choice(DEVICES))
    offline = config_options.Optional(config_options.Type(bool))
    build_figures = config_options.Type(bool, default=True)
    # Unset means: read $CVNOTES_FAIL_ON_MISSING at build time.
    fail_on_missing = config_options.Optional(config_options.Type(bool))
    # GitHub "owner/name" the Colab and citation links point at; empty leaves them out.
    repository = config_options.Type(str, default="")
    branch = config_options.Type(str, default="main")
    citation = config_options.Type(str, default="CITATION.cff")


class Citation:
    """The fields of ``CITATION.cff`` that the "cite this page" note uses."""

    def __init__(self, authors: list[str], title: str, version: str, year: str) -> None:
        self.authors = authors
        self.title = title
        self.version = version
        self.year = year


def load_citation(path: Path) -> Citation:
    """Read authors, title, version and release year from a Citation File Format file.

    Args:
        path: The ``CITATION.cff`` file (CFF 1.2.0).

    Returns:
        The citation. A person is written "given-names family-names", an entity by its ``name``.

    Raises:
        PluginError: If the file or its ``authors``, ``title`` or ``version`` is missing.
    """
    if not path.is_file():
        raise PluginError(f"cvnotes: citation file {path} not found: create it or set the `citation` option")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [key for key in ("authors", "title", "version") if not data.get(key)]
    if missing:
        raise PluginError(f"cvnotes: {path} is missing {', '.join(missing)}: add them (CFF 1.2.0)")
    authors = []
    for author in data["authors"]:
        if "name" in author:
            authors.append(str(author["name"]))
        else:
            authors.append(
                " ".join(str(author[key]) for key in ("given-names", "family-names") if key in author)
            )
    released = data.get("date-released")
    year = str(released)[:4] if released else ""
    return Citation(authors, str(data["title"]), str(data["version"]), year)


def colab_url(repository: str, branch: str, notebook_path: str) -> str:
    """Return the Colab address that opens a notebook from a GitHub repository.

    Example:
        >>> colab_url("owner/cvnotes", "main", "docs/tutorials/focal-loss.ko.ipynb")
        'https://colab.research.google.com/github/owner/cvnotes/blob/main/docs/tutorials/focal-loss.ko.ipynb'
    """
    return f"https://colab.research.google.com/github/{repository}/blob/{branch}/{notebook_path}"


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


# Texts of the note shown in place of a missing figure, per page language: (title, body for one
# asset, body for several assets). Korean needs no plural.
MISSING_FIGURE_NOTE = {
    "ko": (
        "그림을 만들지 못했습니다: {name}",
        "필요한 자산이 캐시에 없어서 빌드에서 건너뛰었습니다 (없는 자산: {assets}). "
        "인터넷에 연결된 상태에서 다음 명령을 실행한 다음 사이트를 다시 빌드하세요: `{command}`",
    ),
    "en": (
        "Figure not built: {name}",
        "The asset {assets} that this figure needs is not in the cache, so the build skipped it. "
        "Run `{command}` with network access, then build the site again.",
        "The assets {assets} that this figure needs are not in the cache, so the build skipped it. "
        "Run `{command}` with network access, then build the site again.",
    ),
}


# Texts of the note for a figure that a quick build skipped because only the full profile makes it.
FULL_PROFILE_FIGURE_NOTE = {
    "ko": (
        "그림을 만들지 못했습니다: {name}",
        "full profile에서만 만드는 그림입니다 (필요한 자산: {assets}). 인터넷에 연결된 상태에서 "
        "`{command}` 명령으로 자산을 받은 다음 `CVNOTES_PROFILE=full mkdocs build`로 사이트를 빌드하세요.",
    ),
    "en": (
        "Figure not built: {name}",
        "This figure is built in the full profile only, from the asset {assets}. Run `{command}` with network "
        "access, then build the site with `CVNOTES_PROFILE=full mkdocs build`.",
        "This figure is built in the full profile only, from the assets {assets}. Run `{command}` with network "
        "access, then build the site with `CVNOTES_PROFILE=full mkdocs build`.",
    ),
}


# Texts of the note for a full-profile figure whose assets are cached but the build used the quick profile.
CACHED_FULL_PROFILE_FIGURE_NOTE = {
    "ko": (
        "그림을 만들지 못했습니다: {name}",
        "full profile에서만 만드는 그림입니다. 필요한 자산은 캐시에 있습니다 ({assets}). "
        "`CVNOTES_PROFILE=full mkdocs build`로 사이트를 빌드하세요.",
    ),
    "en": (
        "Figure not built: {name}",
        "This figure is built in the full profile only. Its asset {assets} is already cached: build the site "
        "with `CVNOTES_PROFILE=full mkdocs build`.",
        "This figure is built in the full profile only. Its assets {assets} are already cached: build the site "
        "with `CVNOTES_PROFILE=full mkdocs build`.",
    ),
}


def _needs_full_profile(entry: dict) -> bool:
    """Return True when a quick build skipped the figure because all its assets belong to the full profile."""
    from cvnotes.assets import ASSETS

    names = entry.get("assets", [])
    if entry.get("profile") != "quick" or not names:
        return False
    return all(name in ASSETS and ASSETS[name].profile == "full" for name in names)


def missing_figure_note(name: str, entry: dict, language: str, indent: str = "") -> str:
    """Return a Material warning admonition to show in place of the missing figure ``name``.

    A figure that a quick build skipped because its assets belong to the full
    profile gets a note that also names the full-profile build command, because
    fetching the assets alone does not make a quick build draw it. When the
    manifest entry has ``"needs_full_profile"`` (the assets were already cached),
    the note names only the full-profile build. The English text uses "asset"
    or "assets" after the number of assets.

    Args:
        name: Recipe name of the figure.
        entry: The figure's entry under ``"missing"`` in the manifest.
        language: Page language; languages other than ``"ko"`` get the English text.
        indent: Indentation of the image line, so a note inside a list stays inside it.
    """
    if entry.get("needs_full_profile"):
        notes = CACHED_FULL_PROFILE_FIGURE_NOTE
    elif _needs_full_profile(entry):
        notes = FULL_PROFILE_FIGURE_NOTE
    else:
        notes = MISSING_FIGURE_NOTE
    title, *bodies = notes.get(language, notes["en"])
    names = entry.get("assets", [])
    body = bodies[-1] if len(names) > 1 else bodies[0]
    assets = ", ".join(f"`{asset}`" for asset in names)
    command = entry.get("command", "cvnotes fetch")
    return (
        f'{indent}!!! warning "{title.format(name=name)}"\n\n'
        f"{indent}    {body.format(assets=assets, command=command)}\n"
    )


def replace_missing_figures(markdown: str, missing: dict[str, dict], figures_dir: str, language: str) -> str:
    """Replace each image line of a missing figure in ``markdown`` with a note.

    An image line contains only the image, e.g. ``![alt](figures/name.png){ width="80%" }``;
    the link may start with ``../`` and carry a title. Images inside a line of text
    are left alone, because an admonition cannot sit inside a paragraph.
    """
    if not missing:
        return markdown
    names = "|".join(re.escape(name) for name in missing)
    pattern = re.compile(
        rf"^(?P<indent>[ \t]*)!\[[^\]\n]*\]\((?:\.\./)*{re.escape(figures_dir)}/(?P<name>{names})\.png"
        rf'(?:\s+"[^"\n]*")?\)(?:\{{[^}}\n]*\}})?[ \t]*$',
        re.MULTILINE,
    )

    def note(match: re.Match[str]) -> str:
        name = match.group("name")
        # The blank line keeps the note from joining a paragraph right above the image.
        return "\n" + missing_figure_note(name, missing[name], language, match.group("indent"))

    return pattern.sub(note, markdown)


class CvnotesPlugin(BasePlugin[CvnotesPluginConfig]):
    """Build the figures before the pages, let notebooks be i18n pages, fix language links."""

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        treat_notebooks_as_pages()
        self._missing: dict[str, dict] = {}
        repository = self.config.repository
        if repository and not _REPOSITORY.match(repository):
            raise PluginError(
                f"cvnotes: invalid repository {repository!r}: write the GitHub owner and name as owner/name"
            )
        project_root = Path(config.config_file_path).parent
        citation_path = project_root / self.config.citation
        self.citation = load_citation(citation_path) if citation_path.is_file() else None
        if self.citation is None:
            log.info("cvnotes: no %s, so the pages get no 'cite this page' note", citation_path)
        # The path of docs_dir inside the repository, as Colab and GitHub address it.
        self.docs_path = Path(config.docs_dir).resolve().relative_to(project_root.resolve()).as_posix()
        return config

    def on_pre_build(self, config: MkDocsConfig) -> None:
        vendor_mathjax(Path(config.docs_dir))
        out_dir = Path(config.docs_dir) / self.config.figures_dir
        if self.config.build_figures:
            self._build_figures(out_dir)
        from cvnotes.figures import missing_figures

        self._missing = missing_figures(out_dir)
        for name, entry in self._missing.items():
            log.info(
                "cvnotes: figure %s is missing, the pages show a note; run `%s`", name, entry.get("command")
            )

    def _build_figures(self, out_dir: Path) -> None:
        from cvnotes.figures import DeviceError, FigureBuildError, build_figures

        profile = self.config.profile or os.environ.get("CVNOTES_PROFILE", "quick")
        if profile not in PROFILES:
            raise PluginError(
                f"cvnotes: invalid profile {profile!r} from $CVNOTES_PROFILE: use one of {', '.join(PROFILES)}"
            )
        device = self.config.device or os.environ.get(DEVICE_ENV, DEFAULT_DEVICE)
        if device not in DEVICES:
            raise PluginError(
                f"cvnotes: invalid device {device!r} from ${DEVICE_ENV}: use one of {', '.join(DEVICES)}"
            )
        offline = self.config.offline if self.config.offline is not None else env_flag("CVNOTES_OFFLINE")
        fail_on_missing = self.config.fail_on_missing
        if fail_on_missing is None:
            fail_on_missing = env_flag("CVNOTES_FAIL_ON_MISSING")
        try:
            results = build_figures(
                out_dir=out_dir,
                profile=profile,
                offline=offline,
                fail_on_missing=fail_on_missing,
                device=device,
            )
        except DeviceError as exc:
            raise PluginError(f"cvnotes: {exc}") from exc
        except FigureBuildError as exc:
            raise PluginError(f"cvnotes: {exc}") from exc
        built = [result.name for result in results if result.status == "built"]
        if built:
            log.info("cvnotes: built figure(s) %s into %s", ", ".join(built), out_dir)

    def on_page_markdown(self, markdown: str, page, config: MkDocsConfig, files) -> str:
        if not self._missing:
            return markdown
        return replace_missing_figures(
            markdown, self._missing, self.config.figures_dir, _page_language(page, config)
        )

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

    def on_page_content(self, html_content: str, page, config: MkDocsConfig, files) -> str:
        language = _page_language(page, config)
        if page.file.src_uri.endswith(NOTEBOOK_EXTENSION):
            html_content = self._add_notebook_links(html_content, page, language)
        if self.citation is not None:
            html_content += self._cite_note(page, config, language)
        return html_content

    def _add_notebook_links(self, html_content: str, page, language: str) -> str:
        text = NOTEBOOK_LINK_TEXT.get(language, NOTEBOOK_LINK_TEXT["en"])
        # mkdocs-jupyter copies the notebook next to the page (include_source), so its bare name resolves.
        notebook_name = Path(page.file.src_uri).name
        links = [
            f'<a class="md-button cvnotes-download" href="{html.escape(notebook_name)}" download>'
            f"{text['download']}</a>"
        ]
        if self.config.repository:
            url = colab_url(
                self.config.repository, self.config.branch, f"{self.docs_path}/{page.file.src_uri}"
            )
            links.insert(
                0,
                f'<a class="md-button md-button--primary cvnotes-colab" href="{html.escape(url)}">'
                f"{text['colab']}</a>",
            )
        block = f'<p class="cvnotes-notebook-links">{" ".join(links)}</p>'
        # Under the notebook's title, or at the top when it has none.
        match = _FIRST_H1_END.search(html_content)
        if match is None:
            return block + html_content
        return html_content[: match.end()] + block + html_content[match.end() :]

    def _cite_note(self, page, config: MkDocsConfig, language: str) -> str:
        citation = self.citation
        text = CITE_TEXT.get(language, CITE_TEXT["en"])
        if config.site_url:
            link = config.site_url.rstrip("/") + "/" + page.url
        elif self.config.repository:
            link = (
                f"https://github.com/{self.config.repository}/blob/v{citation.version}/"
                f"{self.docs_path}/{page.file.src_uri}"
            )
        else:
            link = ""
        parts = [
            html.escape(", ".join(citation.authors)),
            f"“{html.escape(page.title or '')}”",
            f"<em>{html.escape(citation.title)}</em>",
            f"{text['version']} {html.escape(citation.version)}",
        ]
        if citation.year:
            parts.append(citation.year)
        reference = ", ".join(parts) + "."
        if link:
            reference += f' <a href="{html.escape(link)}">{html.escape(link)}</a>'
        return (
            f'<aside class="cvnotes-cite"><p><strong>{text["heading"]}</strong>: {reference} '
            f"{text['more']}</p></aside>"
        )

    def on_template_context(self, context, template_name: str, config: MkDocsConfig):
        # 404.html is served at any path, so its links are root-absolute; send each language to its root.
        i18n = config.plugins.get("i18n")
        if template_name != NOT_FOUND_PAGE or i18n is None:
            return context
        roots = _language_roots(i18n)
        entries = getattr(config.extra, "alternate", None) or config.extra.get("alternate", [])
        for entry in entries:
            if entry.get("lang") in roots:
                entry["link"] = "/" + roots[entry["lang"]]
        return context

    def on_post_template(self, output: str, template_name: str, config: MkDocsConfig) -> str:
        i18n = config.plugins.get("i18n")
        if template_name != NOT_FOUND_PAGE or i18n is None:
            return output
        roots = _language_roots(i18n)
        if roots.get(i18n.current_language) != "":
            return output
        # Like Material's own links on this page, the home links start at the site's path on its host.
        base = urlsplit(config.site_url or "/").path.rstrip("/") + "/"
        lines = "".join(
            f'<p lang="{language}">{text.format(home=html.escape(base + roots[language]))}</p>'
            for language, text in NOT_FOUND_TEXT.items()
            if language in roots
        )
        output = output.replace("</h1>", "</h1>" + lines, 1)
        self.not_found_page = output
        return output

    def on_post_page(self, output: str, page, config: MkDocsConfig) -> str:
        i18n = config.plugins.get("i18n")
        if i18n is None:
            return output
        roots = _language_roots(i18n)

        def point_at_root(match: re.Match[str]) -> str:
            language = match.group(1)
            if language not in roots:
                return match.group(0)
            if not config.site_url:
                return ""
            href = get_relative_url(roots[language] or ".", page.url or ".")
            return f'<link rel="alternate" href="{href}" hreflang="{language}">'

        head, separator, body = output.partition("</head>")
        head = _HEAD_ALTERNATE.sub(point_at_root, head)

        language_root = roots.get(i18n.current_language, "")
        if language_root:
            base = get_relative_url(language_root, page.url or ".")
            body = _CONFIG_BASE.sub(lambda match: f'{match.group(1)}"{base}"', body, count=1)
        return head + separator + body

    @event_priority(-110)  # after i18n's on_post_build, which builds the other languages
    def on_post_build(self, config: MkDocsConfig) -> None:
        i18n = config.plugins.get("i18n")
        if i18n is None or i18n.building:
            return
        split_search_index(Path(config.site_dir), _language_roots(i18n))
        not_found_page = getattr(self, "not_found_page", None)
        if not_found_page is not None:
            (Path(config.site_dir) / NOT_FOUND_PAGE).write_text(not_found_page, encoding="utf-8")


def _page_language(page, config: MkDocsConfig) -> str:
    """Return the language of a page: i18n's locale of its file, else the theme's language."""
    locale = getattr(page.file, "locale", None)
    if locale:
        return str(locale)
    i18n = config.plugins.get("i18n")
    current = getattr(i18n, "current_language", None) if i18n is not None else None
    return str(current or config.theme.get("language") or "en")


def _language_roots(i18n) -> dict[str, str]:
    """Return the site-relative root of each language: "" for the default one, "en/" for English."""
    return {language.locale: language.link.lstrip("/") for language in i18n.config.languages}


def split_search_index(site_dir: Path, roots: dict[str, str]) -> None:
    """Move each non-default language's entries from the root search index to its own.

    Args:
        site_dir: The built site.
        roots: Site-relative root per language, ``""`` for the default language.
    """
    index_path = site_dir / SEARCH_INDEX
    if not index_path.is_file():
        return
    index = json.loads(index_path.read_text(encoding="utf-8"))
    prefixes = {language: root for language, root in roots.items() if root}

    remaining = []
    moved: dict[str, list[dict]] = {language: [] for language in prefixes}
    for entry in index["docs"]:
        language = next(
            (language for language, root in prefixes.items() if entry["location"].startswith(root)),
            None,
        )
        if language is None:
            remaining.append(entry)
        else:
            moved[language].append({**entry, "location": entry["location"][len(prefixes[language]) :]})

    for language, entries in moved.items():
        language_index = {**index, "config": {**index["config"], "lang": [language]}, "docs": entries}
        target = site_dir / prefixes[language] / SEARCH_INDEX
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(language_index, ensure_ascii=False), encoding="utf-8")
    index["docs"] = remaining
    index_path.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
