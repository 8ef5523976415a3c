"""A strict MkDocs build of both languages into a temporary directory, and what it must contain."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sitetools import copy_project, mkdocs_build

LANGUAGES = {"ko": "", "en": "en/"}  # language -> prefix of its pages in the site
PAGES = [
    "",
    "object-detection/",
    "cnn-visualization/",
    "segmentation/",
    "tutorials/focal-loss/",
    "tutorials/cnn-visualization/",
    "tutorials/centernet-decoding/",
    "reference/assets/",
    "reference/data/",
    "reference/models/",
    "reference/losses/",
    "reference/gradcam/",
    "reference/occlusion/",
    "reference/filters/",
    "troubleshooting/",
    "multimodal/",
    "transformers/",
    "tutorials/contrastive-alignment/",
    "reference/contrastive/",
    "reference/captioning/",
    "reference/sound_localization/",
    "reference/zerocap/",
    "reference/tokens/",
    "conditional-gan/",
    "tutorials/conditional-gan/",
    "reference/gan/",
    "reference/keypoints/",
    "reference/roi/",
    "reference/panoptic/",
    "reference/landmarks/",
    "clip-zero-shot/",
    "reference/clip/",
]
# The figures each chapter page shows.
PAGE_FIGURES = {
    "object-detection/": [
        "focal-loss-curves",
        "focal-loss-easy-negatives",
        "corner-pooling",
        "centernet-decoding",
        "center-keypoint-check",
    ],
    "cnn-visualization/": ["cnn-first-layer-filters", "cnn-occlusion", "cnn-grad-cam"],
    "segmentation/": ["roi-pool-vs-align", "rcnn-heads", "panoptic-scene", "landmark-decoding-error"],
    "multimodal/": ["contrastive-alignment", "captioning-attention", "sound-localization-maps"],
    "transformers/": ["zerocap-token-shift", "unified-tokens"],
    "conditional-gan/": ["cgan-samples", "cgan-quality", "cgan-losses", "cgan-epochs"],
    "clip-zero-shot/": ["clip-normalization-topk"],
}
# Figures that need pretrained CLIP and CIFAR-100: the quick build shows a note in their place.
FULL_PROFILE_FIGURES = {
    "clip-zero-shot/": [
        "clip-sea-apple",
        "clip-sea-apple-mitigations",
        "clip-scene-vs-object",
        "clip-failures",
        "clip-similarity-matrix",
    ],
}
FIGURES = [name for names in PAGE_FIGURES.values() for name in names]

pytestmark = pytest.mark.build

# The API reference pages of the asset layer, data and models, each listed once.
for asset_page in ("reference/assets/", "reference/data/", "reference/models/"):
    if asset_page not in PAGES:
        PAGES.append(asset_page)


@pytest.fixture(scope="module")
def built(built_site) -> dict:
    """The strict build of the whole site, shared with the browser tests."""
    return built_site


def test_notebook_cell_error_fails_build(tmp_path):
    copy_project(tmp_path)
    notebook_path = tmp_path / "docs" / "tutorials" / "focal-loss.ko.ipynb"
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    failing_cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "raises",
        "metadata": {},
        "outputs": [],
        "source": ["raise RuntimeError('cell error on purpose')"],
    }
    notebook["cells"].append(failing_cell)
    notebook_path.write_text(json.dumps(notebook), encoding="utf-8")
    completed = mkdocs_build(tmp_path)
    assert completed.returncode != 0
    assert "cell error on purpose" in completed.stdout + completed.stderr


def page_html(site: Path, language: str, page: str) -> str:
    return (site / LANGUAGES[language] / page / "index.html").read_text(encoding="utf-8")


def test_build_generated_the_figures(built):
    manifest = json.loads((built["docs"] / "figures" / "manifest.json").read_text(encoding="utf-8"))
    for name in FIGURES:
        assert name in manifest["recipes"]
        for language in LANGUAGES:
            assert (built["docs"] / "figures" / f"{name}.{language}.png").is_file()


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("page", PAGES)
def test_every_page_exists_with_its_language(built, language, page):
    html = page_html(built["site"], language, page)
    assert f'<html lang="{language}"' in html
    # The language switcher links to this page in both languages.
    for other, prefix in LANGUAGES.items():
        switch = re.search(rf'<a href="([^"]*)" hreflang="{other}"', html)
        assert switch is not None, f"no {other} link in the switcher of {language}/{page}"
        target = (built["site"] / LANGUAGES[language] / page / switch.group(1)).resolve()
        assert target == (built["site"] / prefix / page).resolve(), (
            f"{other} link of {language}/{page} goes to {target}"
        )


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("page", list(PAGE_FIGURES))
def test_figures_shown_in_their_language(built, language, page):
    html = page_html(built["site"], language, page)
    for name in PAGE_FIGURES[page]:
        assert f'src="../figures/{name}.png"' in html, f"{language}/{page} does not show {name}"
        served = built["site"] / LANGUAGES[language] / "figures" / f"{name}.png"
        generated = built["docs"] / "figures" / f"{name}.{language}.png"
        assert served.read_bytes() == generated.read_bytes(), f"{served} is not the {language} figure"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_notebook_page_rendered_and_executed(built, language):
    html = page_html(built["site"], language, "tutorials/focal-loss/")
    assert '"nbformat"' not in html, "the notebook JSON was served instead of a rendered page"
    assert "jp-Notebook" in html
    # Outputs exist only if the cells ran during the build.
    assert "max |cvnotes - torchvision| =" in html
    assert "data:image/png;base64," in html
    title = "focal loss 튜토리얼" if language == "ko" else "Focal loss tutorial"
    assert title in html
    assert (
        built["site"] / LANGUAGES[language] / "tutorials" / "focal-loss" / f"focal-loss.{language}.ipynb"
    ).is_file()


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_contrastive_notebook_rendered_and_executed(built, language):
    html = page_html(built["site"], language, "tutorials/contrastive-alignment/")
    assert "jp-Notebook" in html
    # Outputs exist only if the cells ran during the build.
    assert "by hand = 0.298736, cvnotes = 0.298736" in html
    assert "data:image/png;base64," in html
    title = "contrastive 학습 튜토리얼" if language == "ko" else "Contrastive training tutorial"
    assert title in html


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize(
    ("module", "members"),
    [
        ("contrastive", ["symmetric_info_nce", "triplet_ranking_loss", "LogitScale", "TwoTowerModel"]),
        ("captioning", ["AdditiveAttention", "doubly_stochastic_penalty", "sample_hard_attention"]),
        ("sound_localization", ["localization_map", "attended_visual_feature"]),
        ("zerocap", ["clip_target_distribution", "clip_loss", "fluency_loss", "shift_context"]),
        ("tokens", ["image_token_count", "modality_attention_mask", "MultimodalEmbedding"]),
    ],
)
def test_new_api_references_rendered(built, language, module, members):
    html = page_html(built["site"], language, f"reference/{module}/")
    for member in members:
        assert f'id="cvnotes.{module}.{member}"' in html, f"reference/{module} lacks {member}"
    assert 'class="arithmatex"' in html


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_clip_figures_noted_in_quick_build(built, language):
    manifest = json.loads((built["docs"] / "figures" / "manifest.json").read_text(encoding="utf-8"))
    for page, names in FULL_PROFILE_FIGURES.items():
        html = page_html(built["site"], language, page)
        for name in names:
            assert manifest["missing"][name]["command"] == "cvnotes fetch clip-vit-b-32-openai cifar-100"
            assert f"../figures/{name}.png" not in html
            assert name in html, f"{language}/{page} has no note for {name}"
        assert html.count("cvnotes fetch clip-vit-b-32-openai cifar-100") >= len(names)


def test_clip_page_anchors(built):
    for language in LANGUAGES:
        html = page_html(built["site"], language, "clip-zero-shot/")
        for anchor in (
            "clip-short-answer",
            "clip-fixed-code",
            "fix-normalization",
            "fix-topk",
            "why-apple",
            "mitigations",
        ):
            assert f'id="{anchor}"' in html, f"{language}/clip-zero-shot lacks #{anchor}"
        assert 'id="cvnotes.clip.ZeroShotClassifier"' in page_html(built["site"], language, "reference/clip/")


def test_multimodal_and_transformer_anchors(built):
    anchors = {
        "multimodal/": [
            "cross-modal-alignment",
            "info-nce",
            "captioning-attention",
            "doubly-stochastic",
            "sound-localization",
        ],
        "transformers/": ["zerocap", "zerocap-figure", "unified-models", "unified-figure"],
    }
    for language in LANGUAGES:
        for page, ids in anchors.items():
            html = page_html(built["site"], language, page)
            for anchor in ids:
                assert f'id="{anchor}"' in html, f"{language}/{page} lacks #{anchor}"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_api_reference_rendered(built, language):
    html = page_html(built["site"], language, "reference/losses/")
    for function in ("sigmoid_focal_loss", "softmax_focal_loss", "balanced_cross_entropy"):
        assert f'id="cvnotes.losses.{function}"' in html
    assert 'class="arithmatex"' in html, "docstring equations are not marked up for MathJax"
    assert "Lin et al., ICCV 2017" in html


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_cnn_tutorial_executed(built, language):
    html = page_html(built["site"], language, "tutorials/cnn-visualization/")
    assert "jp-Notebook" in html
    assert "hooks left after 100 runs: 0" in html
    assert "max |Grad-CAM - hand value| =" in html
    assert "data:image/png;base64," in html


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("module", ["gradcam", "occlusion", "filters"])
def test_cnn_api_reference_rendered(built, language, module):
    html = page_html(built["site"], language, f"reference/{module}/")
    function = {"gradcam": "grad_cam", "occlusion": "occlusion_sensitivity", "filters": "filter_grid"}[module]
    assert f'id="cvnotes.{module}.{function}"' in html
    assert 'class="arithmatex"' in html


def test_cnn_sections_have_stable_anchors(built):
    for language in LANGUAGES:
        html = page_html(built["site"], language, "cnn-visualization/")
        for anchor in (
            "why-first-layer",
            "occlusion-heatmap",
            "occlusion-definition",
            "grad-cam-relu",
            "references",
        ):
            assert f'id="{anchor}"' in html, f"{language} page lacks #{anchor}"


def test_answer_sections_have_stable_anchors(built):
    for language in LANGUAGES:
        html = page_html(built["site"], language, "object-detection/")
        for anchor in (
            "focal-loss-beyond-detection",
            "short-answer",
            "easy-negatives",
            "uses-outside-detection",
            "caveats",
            "references",
        ):
            assert f'id="{anchor}"' in html, f"{language} page lacks #{anchor}"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_centernet_notebook_rendered_and_executed(built, language):
    html = page_html(built["site"], language, "tutorials/centernet-decoding/")
    assert "jp-Notebook" in html
    # Printed by the cells only if they ran during the build.
    assert "kept: [True, True, False]" in html
    assert "data:image/png;base64," in html
    title = "CenterNet decoding 튜토리얼" if language == "ko" else "CenterNet decoding tutorial"
    assert title in html


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize(
    ("module", "functions"),
    [
        ("keypoints", ("corner_pool_top_left", "decode_centernet", "center_keypoint_check")),
        ("roi", ("roi_pool_bins", "roi_align_sample_points")),
        ("panoptic", ("panoptic_quality", "merge_instances")),
        ("landmarks", ("encode_heatmaps", "soft_argmax_decode")),
    ],
)
def test_keypoint_and_segmentation_references_rendered(built, language, module, functions):
    html = page_html(built["site"], language, f"reference/{module}/")
    for function in functions:
        assert f'id="cvnotes.{module}.{function}"' in html


def test_keypoint_and_segmentation_anchors(built):
    anchors = {
        "object-detection/": (
            "cornernet-centernet",
            "keypoint-short-answer",
            "corner-pooling",
            "heatmap-targets",
            "centernet-triplets",
            "objects-as-points",
            "heatmap-decoding",
            "keypoint-references",
        ),
        "segmentation/": (
            "mask-vs-faster-rcnn",
            "roialign",
            "rcnn-heads",
            "panoptic-vs-instance",
            "panoptic-quality",
            "landmarks-beyond-pose",
            "landmark-heatmaps",
        ),
    }
    for language in LANGUAGES:
        for page, names in anchors.items():
            html = page_html(built["site"], language, page)
            for anchor in names:
                assert f'id="{anchor}"' in html, f"{language}/{page} lacks #{anchor}"


def test_search_index_per_language(built):
    korean = json.loads((built["site"] / "search" / "search_index.json").read_text(encoding="utf-8"))
    english = json.loads((built["site"] / "en" / "search" / "search_index.json").read_text(encoding="utf-8"))
    korean_text = " ".join(entry["text"] + " " + entry["title"] for entry in korean["docs"])
    english_text = " ".join(entry["text"] + " " + entry["title"] for entry in english["docs"])
    assert "쉬운 negative" in korean_text
    assert "easy negatives" not in korean_text
    assert "easy negatives" in english_text
    assert "쉬운 negative" not in english_text
    assert "ko" in korean["config"]["lang"]
    assert english["config"]["lang"] == ["en"]

    # Every page of each language is in its index, with locations relative to that language's root.
    for index in (korean, english):
        pages = {entry["location"] for entry in index["docs"] if "#" not in entry["location"]}
        assert pages == {page for page in PAGES}
    # Each English page loads the English index: Material resolves it against "base".
    html = page_html(built["site"], "en", "object-detection/")
    assert '"base": "../"' in html


def test_no_script_or_stylesheet_from_another_host(built):
    pattern = re.compile(r'<script[^>]+src="([^"]+)"|<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"')
    for html_file in built["site"].rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        for match in pattern.finditer(html):
            source = match.group(1) or match.group(2)
            assert not source.startswith(("http:", "https:", "//")), f"{html_file} loads {source}"
    mathjax = built["site"] / "javascripts" / "vendor" / "mathjax" / "tex-svg-full.js"
    assert mathjax.stat().st_size > 1_000_000, "MathJax was not copied into the site"


def test_head_has_no_alternate_links_without_site_url(built):
    # Material would fetch sitemap.xml next to each of them and get a 404.
    for language in LANGUAGES:
        for page in PAGES:
            assert '<link rel="alternate"' not in page_html(built["site"], language, page)


def test_relative_links_resolve(built):
    # Strict mode checks links in Markdown pages only; notebook pages are HTML made by nbconvert.
    site = built["site"]
    pattern = re.compile(r'(?:href|src)="([^"#?]+)(?:[#?][^"]*)?"')
    for html_file in site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        for match in pattern.finditer(html):
            link = match.group(1)
            if link.startswith(("http:", "https:", "mailto:", "data:", "//")):
                continue
            # Only 404.html uses root-absolute links, because it is served at any path.
            base = site if link.startswith("/") else html_file.parent
            target = (base / link.lstrip("/")).resolve()
            assert target.is_file() or (target / "index.html").is_file(), (
                f"{html_file.relative_to(site)} links to missing {link}"
            )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_page_ends_with_cite_note(built, language):
    heading = {"ko": "이 페이지 인용하기", "en": "Cite this page"}[language]
    for page in PAGES:
        html = page_html(built["site"], language, page)
        note = re.search(r'<aside class="cvnotes-cite">(.*?)</aside>', html, flags=re.DOTALL)
        assert note is not None, f"{language}/{page} has no cite note"
        assert heading in note.group(1)
        assert "version 0.1.0" in note.group(1) or "버전 0.1.0" in note.group(1)


def test_not_found_page_is_default_language(built):
    html = (built["site"] / "404.html").read_text(encoding="utf-8")
    assert '<html lang="ko"' in html
    assert '<a href="/">처음 페이지</a>' in html
    assert '<a href="/en/">English home page</a>' in html


class _ProseText(HTMLParser):
    """Collect the text of a page outside code, scripts, typeset math and notebook Markdown cells.

    Notebook Markdown cells keep their ``$...$`` for MathJax to typeset in the browser, so they are skipped.
    """

    SKIPPED_TAGS = {"pre", "code", "script", "style", "textarea"}
    SKIPPED_CLASSES = {"arithmatex", "jp-RenderedMarkdown"}
    VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID_TAGS:
            return
        classes = set((dict(attrs).get("class") or "").split())
        skipped = tag in self.SKIPPED_TAGS or bool(classes & self.SKIPPED_CLASSES)
        self.stack.append(skipped or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag not in self.VOID_TAGS and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def test_no_untypeset_dollar_math(built):
    """A `$$` block that Markdown did not see as math (e.g. inside a list item) shows its dollars as text."""
    site: Path = built["site"]
    problems = []
    for html_file in sorted(site.rglob("*.html")):
        parser = _ProseText()
        parser.feed(html_file.read_text(encoding="utf-8"))
        for text in parser.text:
            if "$" in text:
                problems.append(f"{html_file.relative_to(site)}: {text.strip()[:80]!r}")
    assert problems == []


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_conditional_gan_notebook_executed(built, language):
    html = page_html(built["site"], language, "tutorials/conditional-gan/")
    assert "jp-Notebook" in html
    # Outputs exist only if the cells ran during the build.
    assert "resumed run equals uninterrupted run: True" in html
    assert "data:image/png;base64," in html
    title = "조건부 GAN 튜토리얼" if language == "ko" else "Conditional GAN tutorial"
    assert title in html


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_conditional_gan_reference_and_anchors(built, language):
    reference = page_html(built["site"], language, "reference/gan/")
    for member in (
        "TwoBranchGenerator",
        "DeepGenerator",
        "DeepDiscriminator",
        "train_cgan",
        "evaluate_samples",
    ):
        assert f'id="cvnotes.gan.{member}"' in reference, f"reference/gan lacks {member}"
    assert 'class="arithmatex"' in reference
    chapter = page_html(built["site"], language, "conditional-gan/")
    for anchor in (
        "cgan-quality",
        "cgan-why-design-1-fails",
        "cgan-losses",
        "cgan-output-activations",
        "cgan-eval-mode",
    ):
        assert f'id="{anchor}"' in chapter, f"{language}/conditional-gan lacks #{anchor}"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_cgan_page_quotes_the_quick_manifest(built, language):
    # The page quotes the quick profile's measured numbers in its prose; they must match what the build measured.
    manifest = json.loads((built["docs"] / "figures" / "manifest.json").read_text(encoding="utf-8"))
    metrics = manifest["recipes"]["cgan-quality"]["metrics"]
    assert manifest["recipes"]["cgan-quality"]["profile"] == "quick"
    text = (built["docs"] / f"conditional-gan.{language}.md").read_text(encoding="utf-8")
    for key in (
        "deep_conditional_accuracy",
        "two_branch_conditional_accuracy",
        "classifier_held_out_accuracy",
    ):
        quoted = f"{100 * metrics[key]:.1f}%"
        assert quoted in text, f"conditional-gan.{language}.md does not quote {key} = {quoted}"
