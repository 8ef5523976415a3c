"""Recipe registry: every figure of the site is a plain function registered by name.

A recipe computes its data once and draws one figure per language from it, so
the Korean and the English figure always show the same numbers. It returns a
[`RecipeOutput`][cvnotes.figures.registry.RecipeOutput]; the builder in [`cvnotes.figures.build`][cvnotes.figures.build] renders,
writes and records it.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Literal

from matplotlib.figure import Figure

from cvnotes.figures.style import figure_style

__all__ = [
    "PROFILES",
    "Profile",
    "Recipe",
    "RecipeContext",
    "RecipeOutput",
    "UnknownRecipeError",
    "get_recipe",
    "recipe",
    "registered_recipes",
]

Profile = Literal["quick", "full"]
PROFILES: tuple[str, ...] = ("quick", "full")

# Modules that define recipes; importing one registers its recipes.
RECIPE_MODULES: tuple[str, ...] = (
    "cvnotes.figures.focal_loss",
    "cvnotes.figures.cnn_visualization",
    "cvnotes.figures.keypoint_detection",
    "cvnotes.figures.rcnn",
    "cvnotes.figures.panoptic_scene",
    "cvnotes.figures.landmark_decoding",
    "cvnotes.figures.contrastive",
    "cvnotes.figures.captioning",
    "cvnotes.figures.sound_localization",
    "cvnotes.figures.zerocap",
    "cvnotes.figures.tokens",
    "cvnotes.figures.gan",
    "cvnotes.figures.clip_zero_shot",
)


class UnknownRecipeError(KeyError):
    """Raised when a recipe name is not registered."""

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0])


@dataclass(frozen=True)
class RecipeContext:
    """Settings of the build that a recipe runs in.

    Attributes:
        profile: ``"quick"`` or ``"full"``.
        offline: Whether the recipe must not use the network.
        seed: The recipe's seed, already applied to torch, numpy and random.
        params: The recipe's registered parameters.
        device: ``"cpu"`` or ``"cuda"``, already resolved from ``"auto"``. A recipe
            that runs a model moves it there; one that is CPU-only by design may
            ignore it (the module docstring of ``cvnotes.figures.device`` lists which).
    """

    profile: Profile
    offline: bool
    seed: int
    params: Mapping[str, Any]
    device: str = "cpu"


@dataclass
class RecipeOutput:
    """One figure per language, plus the numbers the figure shows.

    Attributes:
        figures: A matplotlib figure for each language code (``"ko"``, ``"en"``).
        metrics: JSON-serialisable numbers computed by the recipe; they go into
            the manifest so that pages and tests can quote them.
    """

    figures: dict[str, Figure]
    metrics: dict[str, Any] = field(default_factory=dict)

    def png(self, language: str) -> bytes:
        """Render the figure of ``language`` to PNG bytes, in the figure style.

        In a notebook, ``IPython.display.Image(output.png("ko"))`` shows it.
        """
        buffer = io.BytesIO()
        with figure_style():
            self.figures[language].savefig(buffer, format="png")
        return buffer.getvalue()


RecipeFunction = Callable[[RecipeContext], RecipeOutput]


@dataclass(frozen=True)
class Recipe:
    """A registered figure recipe.

    Attributes:
        name: Stable name; it is the output file stem and the manifest key.
        function: The recipe itself.
        params: Parameters passed in [`RecipeContext`][cvnotes.figures.registry.RecipeContext]; they are part of
            the cache key, so changing one reruns the recipe.
        code: Modules whose source is part of the cache key, besides the
            recipe's own module (the methods the recipe calls).
        inputs: Files the recipe reads (data, weights); their contents are part
            of the cache key and their SHA-256 digests go into the manifest.
        seed: Seed of torch, numpy and random before the recipe runs.
        title: Short description in each language, for ``cvnotes figures --list``.
        assets: Names of the [`cvnotes.assets.ASSETS`][cvnotes.assets.ASSETS] the recipe
            uses; the manifest lists them with their digests.
    """

    name: str
    function: RecipeFunction
    params: Mapping[str, Any]
    code: tuple[ModuleType, ...]
    inputs: tuple[Path, ...]
    seed: int
    title: Mapping[str, str]
    assets: tuple[str, ...] = ()


_REGISTRY: dict[str, Recipe] = {}


def recipe(
    name: str,
    *,
    title: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    code: tuple[ModuleType, ...] = (),
    inputs: Sequence[str | Path] = (),
    seed: int = 0,
    assets: Sequence[str] = (),
) -> Callable[[RecipeFunction], RecipeFunction]:
    """Register the decorated function as the recipe ``name``.

    Args:
        name: Stable, lower-case name with hyphens (``"focal-loss-curves"``).
        title: One-line description per language, e.g. ``{"ko": ..., "en": ...}``.
        params: Parameters of the figure (JSON-serialisable).
        code: Modules the recipe depends on, hashed for incremental rebuilds.
        inputs: Files the recipe reads, hashed for incremental rebuilds.
        seed: Random seed set before the recipe runs.
        assets: Names of the assets the recipe uses (keys of ``cvnotes.assets.ASSETS``).
            A recipe that needs an asset it cannot get offline raises
            [`AssetMissingError`][cvnotes.assets.AssetMissingError]; the builder
            then records the figure as missing instead of failing.

    Raises:
        ValueError: If the name is already registered by another function, or an
            asset name is not declared.
    """
    from cvnotes.assets import ASSETS

    unknown_assets = [asset for asset in assets if asset not in ASSETS]
    if unknown_assets:
        raise ValueError(
            f"recipe {name!r} names undeclared asset(s) {', '.join(unknown_assets)}; "
            f"declared assets: {', '.join(ASSETS)}"
        )

    def register(function: RecipeFunction) -> RecipeFunction:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.function.__qualname__ != function.__qualname__:
            raise ValueError(
                f"recipe name {name!r} is already registered by {existing.function.__qualname__}"
            )
        _REGISTRY[name] = Recipe(
            name=name,
            function=function,
            params=MappingProxyType(dict(params or {})),
            code=code,
            inputs=tuple(Path(path) for path in inputs),
            seed=seed,
            title=MappingProxyType(dict(title)),
            assets=tuple(assets),
        )
        return function

    return register


def _load_recipe_modules() -> None:
    for module_name in RECIPE_MODULES:
        importlib.import_module(module_name)


def registered_recipes() -> dict[str, Recipe]:
    """Return every registered recipe by name, in registration order."""
    _load_recipe_modules()
    return dict(_REGISTRY)


def get_recipe(name: str) -> Recipe:
    """Return the recipe called ``name``.

    Raises:
        UnknownRecipeError: If no recipe has that name; the message lists the known names.
    """
    recipes = registered_recipes()
    if name not in recipes:
        known = ", ".join(sorted(recipes)) or "none"
        raise UnknownRecipeError(
            f"unknown recipe {name!r}; known recipes: {known} (see `cvnotes figures --list`)"
        )
    return recipes[name]
