"""The built site as a reader uses it, in headless Chromium driven by Playwright.

The site is built once per session (``built_site`` in conftest.py) and served on 127.0.0.1. Every request
to another host is blocked and recorded, so no request leaves the machine and a page that would reach
a font or script CDN fails its test. Playwright starts Debian's Chromium (``/usr/bin/chromium``, or
``$CVNOTES_CHROMIUM``) and never downloads a browser. Without Chromium the tests are skipped with the
install command, and ``CVNOTES_REQUIRE_BROWSER=1`` (set by ``.ci/run`` in CI) turns that skip into a failure.

Each page test saves a full-page screenshot to ``test-artifacts/screenshots/<language>/``, which git ignores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from sitetools import REPO, SourcePage, built_pages, language_roots, plugin_config, source_pages

pytestmark = [pytest.mark.build, pytest.mark.browser]

CHROMIUM = os.environ.get("CVNOTES_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Second guard next to the request blocking below: no host name but loopback resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
INSTALL_HINT = (
    "install it with `sudo apt-get install chromium` (Debian) or point $CVNOTES_CHROMIUM at a Chromium "
    "or Chrome binary; see docs/troubleshooting.en.md#chromium-for-tests"
)
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
PAGES = source_pages()
ROOTS = language_roots()
DEFAULT_LANGUAGE = next(language for language, root in ROOTS.items() if root == "")
SEARCH_WORDS = {"ko": "손실", "en": "calibration"}


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CVNOTES_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (browser tests are required because CVNOTES_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium for the session."""
    if shutil.which(CHROMIUM) is None:
        skip_or_fail(f"Chromium not found at {CHROMIUM}: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail(
            "the playwright package is missing: install it with `pip install -r requirements-dev.txt`"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """Problems seen while a page was open: console errors, script errors, failed and blocked requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser):
    """A fresh browser page whose requests to any host but 127.0.0.1 are aborted and recorded."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    log = PageLog()

    def route(request_route):
        if urlsplit(request_route.request.url).hostname == "127.0.0.1":
            request_route.continue_()
        else:
            log.external_requests.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()

    def record_console(message) -> None:
        if message.type == "error":
            log.console_errors.append(message.text)

    page.on("console", record_console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    page.on("requestfailed", lambda request: log.failed_requests.append(request.url))
    page.cvnotes_log = log
    yield page
    context.close()


def wait_until_settled(page) -> None:
    """Wait for the network to go idle and MathJax to finish typesetting."""
    page.wait_for_load_state("networkidle")
    page.evaluate("async () => { if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; } }")


def broken_images(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.images)"
        ".filter((image) => !image.complete || image.naturalWidth === 0)"
        ".map((image) => image.currentSrc || image.src)"
    )


def screenshot_path(source_page: SourcePage) -> Path:
    name = source_page.page.strip("/").replace("/", "__") or "home"
    return SCREENSHOTS / source_page.language / f"{name}.png"


def heading_anchors(source_page: SourcePage) -> list[str]:
    """Return the explicit ``{#id}`` heading anchors of a Markdown page, in order (none for notebooks)."""
    if source_page.is_notebook:
        return []
    text = (REPO / "docs" / source_page.source).read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"^#{1,6} .*\{#([A-Za-z0-9_-]+)\}\s*$", text, flags=re.MULTILINE)


def page_id(source_page: SourcePage) -> str:
    return f"{source_page.language}:/{source_page.url_path}"


def test_every_source_page_is_built(built_site):
    expected = {source_page.url_path for source_page in PAGES}
    built = built_pages(built_site["site"])
    assert expected - built == set(), "pages missing from the built site"
    assert built - expected == set(), "built pages with no source in docs/"


@pytest.mark.parametrize("source_page", PAGES, ids=page_id)
def test_page_loads_cleanly_offline(tab, site_server, source_page):
    response = tab.goto(urljoin(site_server, source_page.url_path))
    wait_until_settled(tab)
    screenshot = screenshot_path(source_page)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(screenshot), full_page=True)

    log = tab.cvnotes_log
    assert response.status == 200
    assert tab.evaluate("document.documentElement.lang") == source_page.language
    assert log.external_requests == [], "the page requested another host; the site must work offline"
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.failed_requests == []
    assert broken_images(tab) == []


@pytest.mark.parametrize("source_page", PAGES, ids=page_id)
def test_language_switcher_keeps_page_and_section(tab, site_server, source_page):
    anchors = heading_anchors(source_page)
    # The first anchor is the page title, so the last one is taken: a section both translations share.
    section = f"#{anchors[-1]}" if len(anchors) > 1 else ""
    tab.goto(urljoin(site_server, source_page.url_path) + section)
    wait_until_settled(tab)
    current_hash = tab.evaluate("window.location.hash")
    if section:
        assert current_hash, "the section anchor was dropped from the address"

    others = [language for language in ROOTS if language != source_page.language]
    for position, other in enumerate(others):
        if position > 0:
            tab.goto(urljoin(site_server, source_page.url_path) + current_hash)
            wait_until_settled(tab)
        root = ROOTS[other]
        tab.hover(".md-header .md-select")
        with tab.expect_navigation():
            tab.click(f".md-header a.md-select__link[hreflang='{other}']")
        wait_until_settled(tab)
        landed = urlsplit(tab.url)
        assert landed.path == "/" + root + source_page.page
        assert tab.evaluate("document.documentElement.lang") == other
        if current_hash:
            assert "#" + landed.fragment == current_hash
            assert tab.evaluate("(id) => document.getElementById(id) !== null", current_hash[1:])
    assert tab.cvnotes_log.external_requests == []


@pytest.mark.parametrize("language", list(ROOTS))
def test_search_finds_word_in_page_language(tab, site_server, language):
    word = SEARCH_WORDS[language]
    tab.goto(urljoin(site_server, ROOTS[language]))
    wait_until_settled(tab)
    if not tab.is_visible("input.md-search__input"):
        tab.click("label.md-search__icon[for='__search']")
    # Material also searches on focus, so focus first and let that search pass. insert_text() then sends
    # an input event without a key, as Hangul from an input method or pasted text does, and
    # search-input.js must start the search without a keyup.
    tab.focus("input.md-search__input")
    tab.wait_for_timeout(500)
    tab.keyboard.insert_text(word)
    tab.wait_for_selector(".md-search-result__item", timeout=10_000)

    results = tab.locator(".md-search-result__item")
    assert results.count() > 0
    assert word.lower() in results.first.inner_text().lower()
    for link in tab.eval_on_selector_all(".md-search-result__link", "(links) => links.map((a) => a.href)"):
        path = urlsplit(link).path
        for other, root in ROOTS.items():
            if other != language and root:
                assert not path.startswith("/" + root), f"{language} search lists {link} of language {other}"
        if ROOTS[language]:
            assert path.startswith("/" + ROOTS[language]), f"{language} search lists {link}"
    assert tab.cvnotes_log.external_requests == []


@pytest.mark.parametrize("path", ["no-such-page/", "deep/no/such/page.html"])
def test_not_found_page_is_styled_and_links_home(tab, site_server, path):
    response = tab.goto(urljoin(site_server, path))
    wait_until_settled(tab)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"404-{path.count('/')}.png"), full_page=True)
    log = tab.cvnotes_log

    assert response.status == 404
    assert "404" in tab.inner_text("article")
    home_links = tab.eval_on_selector_all(
        "article p[lang] a", "(links) => links.map((a) => [a.closest('p').lang, a.href])"
    )
    assert {language: urlsplit(href).path for language, href in home_links} == {
        language: "/" + root for language, root in ROOTS.items()
    }
    # The stylesheet loaded from the root, so Material's header is sticky rather than static.
    assert tab.evaluate("getComputedStyle(document.querySelector('.md-header')).position") == "sticky"
    # Chromium logs the 404 of the document itself as a console error. Nothing else may fail.
    assert [error for error in log.console_errors if "404" not in error] == []
    assert log.failed_requests == []
    assert log.page_errors == []
    assert log.external_requests == []
    assert broken_images(tab) == []

    switcher = tab.eval_on_selector_all(
        ".md-header a.md-select__link[hreflang]", "(links) => links.map((a) => [a.hreflang, a.href])"
    )
    assert {language: urlsplit(href).path for language, href in switcher} == {
        language: "/" + root for language, root in ROOTS.items()
    }
    with tab.expect_navigation():
        tab.click(".md-header a.md-logo")
    assert urlsplit(tab.url).path == "/"
    assert tab.evaluate("document.documentElement.lang") == DEFAULT_LANGUAGE


@pytest.mark.parametrize("source_page", [page for page in PAGES if page.is_notebook], ids=page_id)
def test_notebook_page_has_colab_and_download_links(tab, site_server, source_page):
    tab.goto(urljoin(site_server, source_page.url_path))
    wait_until_settled(tab)

    download = tab.get_attribute("a.cvnotes-download", "href")
    response = tab.request.get(urljoin(tab.url, download))
    assert response.status == 200
    notebook = json.loads(response.body())
    source = json.loads((REPO / "docs" / source_page.source).read_text(encoding="utf-8"))
    assert notebook == source

    options = plugin_config("cvnotes")
    colab = tab.get_attribute("a.cvnotes-colab", "href")
    assert colab == (
        f"https://colab.research.google.com/github/{options['repository']}/blob/"
        f"{options.get('branch', 'main')}/docs/{source_page.source}"
    )


def test_figure_opens_in_lightbox(tab, built_site, site_server):
    with_figures = [
        source_page
        for source_page in PAGES
        if 'class="glightbox"'
        in (built_site["site"] / source_page.url_path / "index.html").read_text("utf-8")
    ]
    assert with_figures, "no page has a figure to open"
    tab.goto(urljoin(site_server, with_figures[0].url_path))
    wait_until_settled(tab)

    figure = tab.locator("a.glightbox").first
    figure.scroll_into_view_if_needed()
    figure.click()
    tab.wait_for_selector(".glightbox-container .gslide-image img", state="visible", timeout=10_000)
    assert tab.evaluate("document.querySelector('.glightbox-container .gslide-image img').naturalWidth") > 0
    tab.keyboard.press("Escape")
    tab.wait_for_selector(".glightbox-container", state="detached", timeout=10_000)
    assert tab.cvnotes_log.page_errors == []


def test_request_to_other_host_is_blocked_and_recorded(tab, site_server):
    tab.goto(site_server)
    wait_until_settled(tab)
    # The .invalid domain never resolves, and the route aborts the request before any lookup.
    outcome = tab.evaluate(
        "() => fetch('https://fonts.example.invalid/font.woff2').then(() => 'loaded', () => 'blocked')"
    )
    assert outcome == "blocked"
    assert tab.cvnotes_log.external_requests == ["https://fonts.example.invalid/font.woff2"]
