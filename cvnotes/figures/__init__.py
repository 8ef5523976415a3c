"""Figure pipeline: recipes registered by name, built per language with a manifest.

Use ``cvnotes figures`` on the command line, or [`build_figures`][cvnotes.figures.build_figures] from Python.
"""

from cvnotes.figures.build import (
    FigureBuildError,
    RecipeResult,
    build_figures,
    figure_path,
    missing_figures,
    needs_full_profile,
    read_manifest,
    run_recipe,
)
from cvnotes.figures.device import DEFAULT_DEVICE, DEVICES, DeviceError, resolve_device
from cvnotes.figures.registry import (
    PROFILES,
    Recipe,
    RecipeContext,
    RecipeOutput,
    UnknownRecipeError,
    get_recipe,
    recipe,
    registered_recipes,
)

__all__ = [
    "DEFAULT_DEVICE",
    "DEVICES",
    "PROFILES",
    "DeviceError",
    "FigureBuildError",
    "Recipe",
    "RecipeContext",
    "RecipeOutput",
    "RecipeResult",
    "UnknownRecipeError",
    "build_figures",
    "figure_path",
    "get_recipe",
    "missing_figures",
    "needs_full_profile",
    "read_manifest",
    "recipe",
    "registered_recipes",
    "resolve_device",
    "run_recipe",
]
