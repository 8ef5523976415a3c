"""Shared look of the figures, and the Korean font that every figure uses.

Korean labels are set in NanumGothic (SIL Open Font License 1.1), which the
``koreanize-matplotlib`` package ships as plain TTF files. The files are
registered with matplotlib's font manager directly, without importing that
package, because importing it rewrites the global rcParams.

Mathtext draws with the STIX and Computer Modern fonts that matplotlib ships
in ``mpl-data/fonts/ttf``. A font cache written by another matplotlib build
(for example a distribution package that leaves those files out) can lack
them; matplotlib then logs a "findfont" warning per family and falls back to
DejaVu Sans. :func:`register_bundled_fonts` adds the shipped files again.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import matplotlib
from matplotlib import font_manager

__all__ = [
    "KOREAN_FONT_FAMILY",
    "LANGUAGES",
    "figure_style",
    "korean_font_path",
    "register_bundled_fonts",
    "register_korean_font",
]

LANGUAGES: tuple[str, ...] = ("ko", "en")
KOREAN_FONT_FAMILY = "NanumGothic"
_FONT_PACKAGE = "koreanize_matplotlib"


def korean_font_path() -> Path:
    """Return the path of the NanumGothic regular TTF file.

    Raises:
        FileNotFoundError: If the font package is not installed.
    """
    spec = importlib.util.find_spec(_FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the Korean font package {_FONT_PACKAGE!r} is not installed: "
            "run `pip install -r requirements.txt`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"Korean font file not found at {path}: reinstall koreanize-matplotlib")
    return path


def register_korean_font() -> str:
    """Register NanumGothic (regular and bold) with matplotlib; return the family name."""
    registered = {entry.name for entry in font_manager.fontManager.ttflist}
    if KOREAN_FONT_FAMILY not in registered:
        font_dir = korean_font_path().parent
        for name in ("NanumGothic.ttf", "NanumGothicBold.ttf"):
            font_manager.fontManager.addfont(str(font_dir / name))
    return KOREAN_FONT_FAMILY


def register_bundled_fonts() -> list[str]:
    """Register the fonts shipped with matplotlib that its font cache does not list.

    Returns:
        The file names that were added; empty when the cache already had them all.

    Examples:
        >>> _ = register_bundled_fonts()
        >>> register_bundled_fonts()
        []
    """
    font_dir = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    known = {Path(entry.fname).name for entry in font_manager.fontManager.ttflist}
    added = []
    for path in sorted(font_dir.glob("*.ttf")):
        if path.name not in known:
            font_manager.fontManager.addfont(str(path))
            added.append(path.name)
    return added


def style_rc() -> dict[str, object]:
    """Return the rcParams that every figure is drawn with."""
    register_bundled_fonts()
    return {
        # NanumGothic first for Hangul; DejaVu Sans as matplotlib's per-glyph fallback.
        "font.family": [register_korean_font(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
    }


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Apply the figure style and the Korean font inside a ``with`` block.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> with figure_style():
        ...     figure = Figure()
        ...     _ = figure.subplots().set_title("초점 손실 (focal loss)")
    """
    with matplotlib.rc_context(style_rc()):
        yield
