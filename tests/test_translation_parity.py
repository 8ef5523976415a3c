"""Translation parity: every page and notebook exists in every site language with the same structure.

A translation may word its prose freely, but what a reader compares or links across languages must
match. For Markdown pages (``docs/<page>.<locale>.md``) that is, section by section: the explicit heading
anchors (``{#id}``, which every heading must have, so links and the language switcher land on the same
section), the figures, the display equations (``$$ ... $$``, identical LaTeX except the words inside
``\\text{...}``), the number of fenced code
blocks (their comments are translated) and the mkdocstrings directives (``::: module``). For notebooks
(``<name>.<locale>.ipynb``): the same sequence of cell types, identical code cells, and in each Markdown
cell the same heading levels, explicit anchors, figures and display equations. A code cell may differ
only in string literals that name the notebook's own language (``"ko"`` in the Korean notebook and
``"en"`` in the English one), which is how a cell picks the figure of its language.

Figures are compared by their path: ``figures/<name>.png`` is served in each page's language by i18n.
Another image must exist once for all languages or once per language (``<name>.<locale>.<ext>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sitetools import DOCS, PAGE_SUFFIXES, language_roots

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_EXPLICIT_ANCHOR = re.compile(r"\{[^}]*#([A-Za-z0-9_:.-]+)[^}]*\}\s*$")
_HTML_ANCHOR = re.compile(r'<a\s+(?:id|name)="([^"]+)"\s*>\s*</a>')
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_DIRECTIVE = re.compile(r"^:::\s+(\S+)", re.MULTILINE)
TOP = "(top)"  # the part of a page above its first heading


@dataclass
class Section:
    """What must match across languages in one section of a Markdown page."""

    anchor: str
    heading: str
    figures: list[str] = field(default_factory=list)
    equations: list[str] = field(default_factory=list)
    code_blocks: int = 0
    directives: list[str] = field(default_factory=list)


_TEXT_IN_MATH = re.compile(r"\\text\{[^{}]*\}")


def _normalize_math(latex: str) -> str:
    # Words inside \text{...} are prose and are translated; the mathematics around them must match.
    return " ".join(_TEXT_IN_MATH.sub(r"\\text{}", latex).split())


def _add_text(section: Section, text: str) -> None:
    section.figures += _IMAGE.findall(text)
    section.equations += [_normalize_math(latex) for latex in _DISPLAY_MATH.findall(text)]
    section.directives += _DIRECTIVE.findall(text)


def markdown_sections(text: str) -> tuple[list[Section], list[str]]:
    """Split a Markdown page into sections at its headings.

    Args:
        text: The page's Markdown source.

    Returns:
        The sections in order (the first is ``(top)``, the text above the first heading), and the
        headings that have no explicit ``{#id}`` anchor. Headings inside fenced code are not headings.
    """
    sections = [Section(TOP, "")]
    missing_anchors = []
    prose: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        fence_match = _FENCE.match(line)
        if fence is not None:
            if fence_match and fence_match.group(1).startswith(fence):
                fence = None
            continue
        if fence_match:
            fence = fence_match.group(1)
            sections[-1].code_blocks += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            _add_text(sections[-1], "\n".join(prose))
            prose = []
            anchor = _EXPLICIT_ANCHOR.search(heading.group(2))
            if anchor is None:
                missing_anchors.append(heading.group(2))
                sections.append(Section(f"(no anchor) {heading.group(2)}", heading.group(2)))
            else:
                sections.append(Section(anchor.group(1), heading.group(2)))
            continue
        prose.append(line)
    _add_text(sections[-1], "\n".join(prose))
    return sections, missing_anchors


def _compare_lists(where: str, aspect: str, lists: dict[str, Sequence]) -> list[str]:
    values = list(lists.values())
    if all(value == values[0] for value in values[1:]):
        return []
    details = "; ".join(f"{language}: {list(value)}" for language, value in lists.items())
    return [f"{where}: {aspect} differ ({details})"]


def compare_markdown(name: str, texts: dict[str, str]) -> list[str]:
    """Return the differences between the language versions of one Markdown page.

    Args:
        name: The page as written in messages, e.g. ``object-detection.{ko,en}.md``.
        texts: Markdown source per language, default language first.

    Returns:
        One message per problem, naming the page, the section and what differs; empty when they match.
    """
    problems = []
    parsed = {language: markdown_sections(text) for language, text in texts.items()}
    for language, (_, missing) in parsed.items():
        for heading in missing:
            problems.append(f"{name} ({language}): heading {heading!r} has no explicit {{#id}} anchor")

    anchors = {
        language: [section.anchor for section in sections] for language, (sections, _) in parsed.items()
    }
    problems += _compare_lists(name, "section anchors", anchors)

    # Compare the sections that every language has, by anchor, so one missing section is reported once.
    by_anchor = {
        language: {section.anchor: section for section in sections}
        for language, (sections, _) in parsed.items()
    }
    first = next(iter(parsed))
    for anchor in anchors[first]:
        if not all(anchor in sections for sections in by_anchor.values()):
            continue
        where = f"{name} #{anchor}"
        section = {language: sections[anchor] for language, sections in by_anchor.items()}
        problems += _compare_lists(where, "figures", {lang: s.figures for lang, s in section.items()})
        problems += _compare_lists(
            where, "display equations", {lang: s.equations for lang, s in section.items()}
        )
        problems += _compare_lists(
            where, "numbers of code blocks", {lang: [s.code_blocks] for lang, s in section.items()}
        )
        problems += _compare_lists(
            where, "mkdocstrings directives", {lang: s.directives for lang, s in section.items()}
        )
    return problems


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _markdown_cell_outline(text: str) -> dict[str, list]:
    """Return what must match in a notebook's Markdown cell: headings, anchors, figures, equations."""
    headings = []
    anchors = _HTML_ANCHOR.findall(text)
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            headings.append(len(heading.group(1)))
            anchor = _EXPLICIT_ANCHOR.search(heading.group(2))
            if anchor:
                anchors.append(anchor.group(1))
    return {
        "heading levels": headings,
        "anchors": anchors,
        "figures": _IMAGE.findall(text),
        "display equations": [_normalize_math(latex) for latex in _DISPLAY_MATH.findall(text)],
    }


def _neutral_code(source: str, language: str) -> str:
    """Replace string literals that name the notebook's own language with a placeholder."""
    return re.sub(rf"""(["']){re.escape(language)}\1""", r"\1<language>\1", source)


def compare_notebooks(name: str, notebooks: dict[str, dict]) -> list[str]:
    """Return the differences between the language versions of one notebook.

    Args:
        name: The notebook as written in messages, e.g. ``tutorials/focal-loss.{ko,en}.ipynb``.
        notebooks: Parsed notebook JSON per language, default language first.

    Returns:
        One message per problem, naming the notebook, the cell (1-based) and what differs.
    """
    cells = {language: notebook.get("cells", []) for language, notebook in notebooks.items()}
    kinds = {
        language: [cell["cell_type"] for cell in language_cells] for language, language_cells in cells.items()
    }
    problems = _compare_lists(name, "cell types", kinds)
    if problems:
        return problems

    first = next(iter(cells))
    for index, cell in enumerate(cells[first]):
        where = f"{name} cell {index + 1}"
        if cell["cell_type"] == "code":
            sources = {
                language: _neutral_code(_cell_source(language_cells[index]), language)
                for language, language_cells in cells.items()
            }
            if len(set(sources.values())) > 1:
                problems.append(
                    f"{where}: code differs:\n" + "\n".join(f"[{k}]\n{v}" for k, v in sources.items())
                )
        elif cell["cell_type"] == "markdown":
            outlines = {
                language: _markdown_cell_outline(_cell_source(language_cells[index]))
                for language, language_cells in cells.items()
            }
            heading = next(
                (line for line in _cell_source(cell).splitlines() if _HEADING.match(line)),
                "",
            )
            if heading:
                where += f" ({heading.strip()})"
            for key in outlines[first]:
                problems += _compare_lists(
                    where, key, {language: outline[key] for language, outline in outlines.items()}
                )
    return problems


def check_image_files(docs: Path, page_source: str, text: str, languages: Sequence[str]) -> list[str]:
    """Return the images a page links to that exist neither once nor once per language.

    Figures under ``figures/`` are generated by the build in every language and are not checked here.
    """
    problems = []
    for target in _IMAGE.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith(("figures/", "/")):
            continue
        path = (docs / page_source).parent / target
        per_language = [path.with_name(f"{path.stem}.{language}{path.suffix}") for language in languages]
        if not path.is_file() and not all(candidate.is_file() for candidate in per_language):
            problems.append(f"{page_source}: image {target} exists neither as one file nor in every language")
    return problems


def translation_problems(docs: Path, languages: Sequence[str]) -> list[str]:
    """Check every page and notebook under ``docs`` in every language; return the problems found.

    Args:
        docs: The documentation directory.
        languages: The site's locales, default language first.

    Returns:
        One message per missing translation or difference; empty when all translations match.
    """
    groups: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(docs.rglob("*")):
        if path.suffix not in PAGE_SUFFIXES or ".ipynb_checkpoints" in path.parts:
            continue
        stem, _, language = path.stem.rpartition(".")
        if language not in languages:
            continue
        key = (path.relative_to(docs).with_name(stem).as_posix(), path.suffix)
        groups.setdefault(key, {})[language] = path

    problems = []
    for (page, suffix), paths in groups.items():
        name = f"{page}.{{{','.join(languages)}}}{suffix}"
        missing = [language for language in languages if language not in paths]
        if missing:
            present = ", ".join(path.relative_to(docs).as_posix() for path in paths.values())
            problems.append(f"{name}: no {'/'.join(missing)} translation of {present}")
            continue
        texts = {language: paths[language].read_text(encoding="utf-8") for language in languages}
        if suffix == ".md":
            problems += compare_markdown(name, texts)
        else:
            problems += compare_notebooks(
                name, {language: json.loads(text) for language, text in texts.items()}
            )
        for language, text in texts.items():
            problems += check_image_files(docs, paths[language].relative_to(docs).as_posix(), text, languages)
    return problems


LANGUAGES = list(language_roots())


def test_docs_translations_match():
    problems = translation_problems(DOCS, LANGUAGES)
    assert problems == [], "translations differ:\n" + "\n".join(problems)


# The checker itself, on small pages written into tmp_path.

KO_PAGE = """# 제목 {#title}

소개 문단입니다.

## 정의 {#definition}

$$
a = b + c
$$

![그림 설명](figures/curves.png)

```python
# 한국어 주석
x = 1
```

## 참고 문헌 {#references}

- 논문
"""

EN_PAGE = """# Title {#title}

An introduction.

## Definition {#definition}

$$
a = b + c
$$

![A figure](figures/curves.png)

```python
# an English comment
x = 1
```

## References {#references}

- A paper
"""


def write_pair(docs: Path, name: str, texts: dict[str, str]) -> None:
    for language, text in texts.items():
        path = docs / f"{name}.{language}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def notebook(cells: list[tuple[str, str]]) -> dict:
    return {
        "cells": [
            {
                "cell_type": kind,
                "metadata": {},
                "source": source,
                **({"outputs": []} if kind == "code" else {}),
            }
            for kind, source in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebooks(docs: Path, name: str, notebooks: dict[str, dict]) -> None:
    for language, content in notebooks.items():
        (docs / f"{name}.{language}.ipynb").write_text(json.dumps(content), encoding="utf-8")


def test_parity_matching_pair_passes(tmp_path):
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": EN_PAGE})
    assert translation_problems(tmp_path, ["ko", "en"]) == []


def test_parity_missing_translation(tmp_path):
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert problems == ["chapter.{ko,en}.md: no en translation of chapter.ko.md"]


def test_parity_missing_default_language_page(tmp_path):
    write_pair(tmp_path, "sub/page", {"en": EN_PAGE})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert problems == ["sub/page.{ko,en}.md: no ko translation of sub/page.en.md"]


def test_parity_missing_section_named(tmp_path):
    english = EN_PAGE.replace("## References {#references}\n\n- A paper\n", "")
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert len(problems) == 1
    assert problems[0].startswith("chapter.{ko,en}.md: section anchors differ")
    assert "'references'" in problems[0]


def test_parity_heading_without_anchor(tmp_path):
    english = EN_PAGE.replace("## Definition {#definition}", "## Definition")
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert "chapter.{ko,en}.md (en): heading 'Definition' has no explicit {#id} anchor" in problems


def test_parity_drifted_figure_named_with_section(tmp_path):
    english = EN_PAGE.replace("figures/curves.png", "figures/other.png")
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert problems == [
        "chapter.{ko,en}.md #definition: figures differ (ko: ['figures/curves.png']; en: ['figures/other.png'])"
    ]


def test_parity_figure_moved_to_other_section(tmp_path):
    english = EN_PAGE.replace("![A figure](figures/curves.png)\n", "").replace(
        "- A paper", "- A paper\n\n![A figure](figures/curves.png)"
    )
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert [problem.split(":")[0] for problem in problems] == [
        "chapter.{ko,en}.md #definition",
        "chapter.{ko,en}.md #references",
    ]


def test_parity_drifted_equation(tmp_path):
    english = EN_PAGE.replace("a = b + c", "a = b - c")
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert len(problems) == 1
    assert problems[0].startswith("chapter.{ko,en}.md #definition: display equations differ")


def test_parity_equation_whitespace_ignored(tmp_path):
    english = EN_PAGE.replace("$$\na = b + c\n$$", "$$ a  =  b + c $$")
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    assert translation_problems(tmp_path, ["ko", "en"]) == []


def test_parity_translated_text_in_equation(tmp_path):
    korean = KO_PAGE.replace("a = b + c", r"a = b + c \text{ (예)}")
    english = EN_PAGE.replace("a = b + c", r"a = b + c \text{ (other)}")
    write_pair(tmp_path, "chapter", {"ko": korean, "en": english})
    assert translation_problems(tmp_path, ["ko", "en"]) == []


def test_parity_missing_code_block(tmp_path):
    english = EN_PAGE.replace("```python\n# an English comment\nx = 1\n```\n", "")
    write_pair(tmp_path, "chapter", {"ko": KO_PAGE, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert problems == ["chapter.{ko,en}.md #definition: numbers of code blocks differ (ko: [1]; en: [0])"]


def test_parity_heading_inside_code_block_ignored(tmp_path):
    korean = KO_PAGE.replace("# 한국어 주석", "# 주석이지 제목이 아닙니다")
    write_pair(tmp_path, "chapter", {"ko": korean, "en": EN_PAGE})
    assert translation_problems(tmp_path, ["ko", "en"]) == []


def test_parity_drifted_directive(tmp_path):
    korean = "# cvnotes.losses {#losses}\n\n::: cvnotes.losses\n"
    english = "# cvnotes.losses {#losses}\n\n::: cvnotes.loss\n"
    write_pair(tmp_path, "reference/losses", {"ko": korean, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert len(problems) == 1
    assert problems[0].startswith("reference/losses.{ko,en}.md #losses: mkdocstrings directives differ")


def test_parity_image_missing_in_one_language(tmp_path):
    korean = KO_PAGE.replace("figures/curves.png", "images/diagram.png")
    english = EN_PAGE.replace("figures/curves.png", "images/diagram.png")
    write_pair(tmp_path, "chapter", {"ko": korean, "en": english})
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "diagram.ko.png").write_bytes(b"png")
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert problems == [
        "chapter.ko.md: image images/diagram.png exists neither as one file nor in every language",
        "chapter.en.md: image images/diagram.png exists neither as one file nor in every language",
    ]
    (tmp_path / "images" / "diagram.en.png").write_bytes(b"png")
    assert translation_problems(tmp_path, ["ko", "en"]) == []


def test_parity_notebooks_matching_pass(tmp_path):
    korean = notebook(
        [("markdown", "# 제목\n\n설명"), ("code", 'show("ko")\nx = 1'), ("markdown", "## 1. 값")]
    )
    english = notebook(
        [("markdown", "# Title\n\nText"), ("code", 'show("en")\nx = 1'), ("markdown", "## 1. Values")]
    )
    write_notebooks(tmp_path, "tutorial", {"ko": korean, "en": english})
    assert translation_problems(tmp_path, ["ko", "en"]) == []


def test_parity_notebook_code_drift_names_cell(tmp_path):
    korean = notebook([("markdown", "# 제목"), ("code", "x = 1")])
    english = notebook([("markdown", "# Title"), ("code", "x = 2")])
    write_notebooks(tmp_path, "tutorial", {"ko": korean, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert len(problems) == 1
    assert problems[0].startswith("tutorial.{ko,en}.ipynb cell 2: code differs")


def test_parity_notebook_other_language_literal_differs(tmp_path):
    # Only the notebook's own language may differ: "en" in the Korean notebook is a real difference.
    korean = notebook([("code", 'show("en")')])
    english = notebook([("code", 'show("ko")')])
    write_notebooks(tmp_path, "tutorial", {"ko": korean, "en": english})
    assert len(translation_problems(tmp_path, ["ko", "en"])) == 1


def test_parity_notebook_missing_markdown_cell(tmp_path):
    korean = notebook([("markdown", "# 제목"), ("markdown", "설명"), ("code", "x = 1")])
    english = notebook([("markdown", "# Title"), ("code", "x = 1")])
    write_notebooks(tmp_path, "tutorial", {"ko": korean, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert len(problems) == 1
    assert problems[0].startswith("tutorial.{ko,en}.ipynb: cell types differ")


def test_parity_notebook_heading_and_equation_drift(tmp_path):
    korean = notebook([("markdown", '## 1. 값 <a id="values"></a>\n\n$$x^2$$')])
    english = notebook([("markdown", '### 1. Values <a id="value"></a>\n\n$$x^3$$')])
    write_notebooks(tmp_path, "tutorial", {"ko": korean, "en": english})
    problems = translation_problems(tmp_path, ["ko", "en"])
    assert [problem.split(": ", 1)[1].split(" (")[0] for problem in problems] == [
        "heading levels differ",
        "anchors differ",
        "display equations differ",
    ]
    assert all(problem.startswith("tutorial.{ko,en}.ipynb cell 1 (## 1. 값") for problem in problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_parity_every_language_has_pages(language):
    assert list(DOCS.rglob(f"*.{language}.md")), f"no Markdown page in language {language}"
