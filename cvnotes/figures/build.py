"""Figure builder: runs recipes, writes both languages atomically, keeps a manifest.

Each recipe's output goes to ``<out_dir>/<name>.<lang>.png``. The manifest
``<out_dir>/manifest.json`` records the cache key, parameters, seed, device,
library versions, wall time, the assets used and the numbers each figure shows.

A recipe that raises [`AssetMissingError`][cvnotes.assets.AssetMissingError]
(for example a full-profile recipe run offline without its weights in the cache)
does not fail the build. The builder logs one line naming the figure and the
command that provides the asset, records the figure under ``"missing"`` in the
manifest, and goes on. An ``on_missing`` function replaces the log line: the
command line passes one to print the line in the user's language. The MkDocs plugin shows a note in place of such a figure.
With ``fail_on_missing=True`` (``cvnotes figures --fail-on-missing``) missing
figures fail the build instead, which is what the GPU job wants.

Recipes run on the device that ``device`` names (see
[`cvnotes.figures.device`][cvnotes.figures.device]); the default is the CPU.

A recipe reruns only when its cache key changes. The key hashes the source of
the recipe's module and of the modules it declares, the figure style, the
contents of its input files, its parameters, the profile, the device and the
versions of the libraries that draw it. All of a
recipe's files are rendered in memory first and then moved into place with
``os.replace``, so a recipe that fails, or a build that is interrupted, never
leaves a half-written figure behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import platform
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch

from cvnotes import assets as assets_module
from cvnotes._files import write_atomically
from cvnotes.figures import style
from cvnotes.figures.device import DEFAULT_DEVICE, resolve_device
from cvnotes.figures.registry import (
    PROFILES,
    Recipe,
    RecipeContext,
    RecipeOutput,
    get_recipe,
    registered_recipes,
)

__all__ = [
    "FigureBuildError",
    "RecipeResult",
    "build_figures",
    "figure_path",
    "missing_figures",
    "needs_full_profile",
    "read_manifest",
    "run_recipe",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
FIGURE_FORMAT = "png"


class FigureBuildError(RuntimeError):
    """Raised when one or more recipes fail; no partial file of theirs is left.

    Attributes:
        failures: Recipe name to the exception that stopped it, for the recipes of a
            build that failed (empty when the error is about one recipe run on its own).
            A command line can write its own message from these fields.

    Example:
        >>> error = FigureBuildError("1 recipe failed", failures={"toy": ValueError("bad")})
        >>> error.failed_names
        ('toy',)
    """

    def __init__(self, message: str, *, failures: dict[str, BaseException] | None = None) -> None:
        super().__init__(message)
        self.failures: dict[str, BaseException] = dict(failures or {})

    @property
    def failed_names(self) -> tuple[str, ...]:
        """Names of the failed recipes, in build order."""
        return tuple(self.failures)


@dataclass(frozen=True)
class RecipeResult:
    """Outcome of one recipe in a build.

    Attributes:
        name: Recipe name.
        status: ``"built"``, ``"up to date"`` or ``"missing"`` (an asset was not available).
        outputs: Figure path per language; for a missing figure, where it would be.
        wall_time_s: Seconds the recipe ran; 0 when it did not run.
        missing_assets: Names of the assets that were missing.
        command: Shell command that provides the missing assets.
        needs_full_profile: True when the assets are all cached and only the
            profile kept the figure from being built (see `needs_full_profile`).
    """

    name: str
    status: str
    outputs: dict[str, Path]
    wall_time_s: float
    missing_assets: tuple[str, ...] = ()
    command: str | None = None
    needs_full_profile: bool = False


def needs_full_profile(asset_names: Sequence[str], profile: str) -> bool:
    """Return True when a skipped figure needs the full profile rather than a fetch.

    A full-profile recipe raises AssetMissingError in the quick profile even when its
    assets are in the cache; then ``cvnotes fetch`` does not help, ``--profile full`` does.

    Args:
        asset_names: Names of the assets the AssetMissingError named.
        profile: The profile of the build that skipped the figure.

    Returns:
        True when ``profile`` is not ``"full"`` and every asset belongs to the full
        profile and is cached.

    Example:
        >>> needs_full_profile(["clip-vit-b-32-openai"], "full")
        False
    """
    if profile == "full" or not asset_names:
        return False
    return all(
        name in assets_module.ASSETS
        and assets_module.ASSETS[name].profile == "full"
        and assets_module.is_cached(name)
        for name in asset_names
    )


def figure_path(out_dir: Path, name: str, language: str) -> Path:
    """Return where the figure of recipe ``name`` in ``language`` is written."""
    return Path(out_dir) / f"{name}.{language}.{FIGURE_FORMAT}"


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """Return the manifest in ``out_dir``, or an empty one if there is none yet."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        return {"version": MANIFEST_VERSION, "recipes": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        log.warning("ignoring unreadable figure manifest %s (%s); all recipes will rerun", path, exc)
        return {"version": MANIFEST_VERSION, "recipes": {}}
    if manifest.get("version") != MANIFEST_VERSION:
        return {"version": MANIFEST_VERSION, "recipes": {}}
    return manifest


def missing_figures(out_dir: Path | str) -> dict[str, dict[str, Any]]:
    """Return the figures the last build in ``out_dir`` skipped for a missing asset.

    Returns:
        Recipe name to ``{"assets": [...], "command": "cvnotes fetch ...", "profile": ...}``.
    """
    return dict(read_manifest(Path(out_dir)).get("missing", {}))


def _asset_digests(recipe: Recipe) -> dict[str, str | None]:
    """Return a digest per asset of the recipe: the file's SHA-256, or one over its files' digests.

    ``None`` marks an asset whose owning library checks the download.
    """
    digests: dict[str, str | None] = {}
    for name in recipe.assets:
        asset = assets_module.get_asset(name)
        if asset.sha256 is not None:
            digests[name] = asset.sha256
        elif asset.files:
            combined = "".join(f"{item.path}:{item.sha256};" for item in asset.files)
            digests[name] = hashlib.sha256(combined.encode()).hexdigest()
        else:
            digests[name] = None
    return digests


def _library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _input_digests(recipe: Recipe) -> dict[str, str]:
    """Return the SHA-256 digest of each input file of the recipe.

    Raises:
        FileNotFoundError: If an input file is missing; the message names it.
    """
    digests = {}
    for path in recipe.inputs:
        if not path.is_file():
            raise FileNotFoundError(f"input file {path} of recipe {recipe.name!r} not found")
        digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _cache_key(recipe: Recipe, profile: str, device: str, input_digests: dict[str, str]) -> str:
    hasher = hashlib.sha256()
    modules = [inspect.getmodule(recipe.function), style, *recipe.code]
    for module in modules:
        hasher.update(inspect.getsource(module).encode())
    hasher.update(json.dumps(input_digests, sort_keys=True).encode())
    hasher.update(json.dumps(dict(recipe.params), sort_keys=True, default=str).encode())
    hasher.update(f"profile={profile};device={device};seed={recipe.seed}".encode())
    hasher.update(json.dumps(_library_versions(), sort_keys=True).encode())
    return hasher.hexdigest()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _GlyphLog(logging.Handler):
    """Collect matplotlib's log records about glyphs a font does not have."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "glyph" in message.lower():
            self.messages.append(message)


@contextlib.contextmanager
def _no_missing_glyphs(recipe_name: str) -> Iterator[None]:
    """Raise FigureBuildError when text is drawn with a glyph that no font has.

    Such text would show empty boxes. matplotlib reports it as a warning for
    ordinary text and as a log record for mathtext, so both are watched.
    """
    handler = _GlyphLog()
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
            yield
    except UserWarning as exc:
        if "missing from font" not in str(exc):
            raise
        raise FigureBuildError(f"recipe {recipe_name!r} drew missing glyphs: {exc}") from exc
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        raise FigureBuildError(f"recipe {recipe_name!r} drew missing glyphs: {handler.messages[0]}")


def run_recipe(
    name: str, *, profile: str = "quick", offline: bool = False, device: str = DEFAULT_DEVICE
) -> RecipeOutput:
    """Run one recipe in memory, with its seed and the figure style, and return its output.

    This is what the builder runs before it writes files; notebooks call it to
    show a figure inline. Figures are ``matplotlib.figure.Figure`` objects that
    are not attached to pyplot, so nothing needs closing.

    Args:
        name: Recipe name.
        profile: ``"quick"`` or ``"full"``.
        offline: Forbid network access to recipes that would fetch assets.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``; the recipe gets the resolved name.

    Raises:
        UnknownRecipeError: If no recipe has that name.
        DeviceError: If the device is unknown, or is ``"cuda"`` without a CUDA GPU.
        FigureBuildError: If the recipe draws missing glyphs or leaves out a language.

    Examples:
        >>> output = run_recipe("focal-loss-easy-negatives")
        >>> round(output.metrics["ce_easy_share"], 3)
        0.893
    """
    recipe = get_recipe(name)
    device = resolve_device(device)
    context = RecipeContext(
        profile=profile, offline=offline, seed=recipe.seed, params=recipe.params, device=device
    )
    _seed_everything(recipe.seed)
    with style.figure_style(), _no_missing_glyphs(recipe.name):
        output = recipe.function(context)
    missing = set(style.LANGUAGES) - set(output.figures)
    if missing:
        raise FigureBuildError(f"recipe {recipe.name!r} drew no figure for language(s) {sorted(missing)}")
    return output


def _render(
    recipe: Recipe, profile: str, offline: bool, device: str
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Run the recipe and return the PNG bytes per language and its metrics."""
    output = run_recipe(recipe.name, profile=profile, offline=offline, device=device)
    with _no_missing_glyphs(recipe.name):
        rendered = {language: output.png(language) for language in style.LANGUAGES}
    return rendered, output.metrics


def _select(names: Sequence[str] | None) -> list[Recipe]:
    if not names:
        return list(registered_recipes().values())
    return [get_recipe(name) for name in names]


def build_figures(
    names: Sequence[str] | None = None,
    *,
    out_dir: Path | str,
    profile: str = "quick",
    offline: bool = False,
    force: bool = False,
    progress: Callable[[list[Recipe]], Iterable[Recipe]] | None = None,
    fail_on_missing: bool = False,
    on_missing: Callable[[str, assets_module.AssetMissingError], None] | None = None,
    device: str = DEFAULT_DEVICE,
) -> list[RecipeResult]:
    """Build the selected recipes (all by default) into ``out_dir``.

    Args:
        names: Recipe names; ``None`` or empty builds every registered recipe.
        out_dir: Directory that receives ``<name>.<lang>.png`` and the manifest.
        profile: ``"quick"`` (CPU, embedded data) or ``"full"`` (downloaded assets).
        offline: Forbid network access to recipes that would fetch assets.
        force: Rebuild even when the cache key is unchanged.
        progress: Optional function that takes the selected recipes and yields them,
            to drive a progress bar.
        fail_on_missing: Raise FigureBuildError when a recipe's asset is missing,
            instead of recording the figure as missing.
        on_missing: Optional function called with the recipe name and the error when a
            figure is skipped because its asset is missing. Without it the builder logs an
            English warning; with it the caller reports the skip (the command line prints
            it in the user's language) and nothing is logged.
        device: ``"cpu"`` (the default), ``"cuda"``, or ``"auto"`` for ``"cuda"`` when
            PyTorch finds a CUDA GPU. The resolved name is part of each cache key, so a
            figure built on another device is rebuilt.

    Returns:
        One [`RecipeResult`][cvnotes.figures.build.RecipeResult] per selected recipe, in order.

    Raises:
        UnknownRecipeError: If a name is not registered (before anything runs).
        ValueError: If ``profile`` is unknown.
        DeviceError: If ``device`` is unknown, or is ``"cuda"`` without a CUDA GPU
            (before anything runs).
        FigureBuildError: If one or more recipes fail, or, with ``fail_on_missing``,
            if an asset is missing. The others are still built and recorded; the
            failed ones keep their previous files.
    """
    if profile not in PROFILES:
        raise ValueError(f"invalid profile {profile!r}: use one of {', '.join(PROFILES)}")
    device = resolve_device(device)
    recipes = _select(names)
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    manifest.setdefault("missing", {})
    results: list[RecipeResult] = []
    failures: dict[str, BaseException] = {}

    for recipe in progress(recipes) if progress is not None else recipes:
        try:
            input_digests = _input_digests(recipe)
        except FileNotFoundError as exc:
            log.error("recipe %s failed: %s", recipe.name, exc)
            failures[recipe.name] = exc
            continue
        key = _cache_key(recipe, profile, device, input_digests)
        outputs = {language: figure_path(out_dir, recipe.name, language) for language in style.LANGUAGES}
        entry = manifest["recipes"].get(recipe.name)
        if (
            not force
            and entry is not None
            and entry.get("key") == key
            and all(path.is_file() for path in outputs.values())
        ):
            results.append(RecipeResult(recipe.name, "up to date", outputs, 0.0))
            continue

        start = time.perf_counter()
        try:
            rendered, metrics = _render(recipe, profile, offline, device)
        except assets_module.AssetMissingError as exc:
            if on_missing is None:
                log.warning("figure %s skipped: %s", recipe.name, exc)
            else:
                on_missing(recipe.name, exc)
            if fail_on_missing:
                failures[recipe.name] = exc
            manifest["recipes"].pop(recipe.name, None)
            full_only = needs_full_profile(exc.asset_names, profile)
            manifest["missing"][recipe.name] = {
                "assets": list(exc.asset_names),
                "command": exc.command,
                "profile": profile,
                "needs_full_profile": full_only,
                "title": dict(recipe.title),
            }
            _write_manifest(out_dir, manifest)
            results.append(
                RecipeResult(
                    recipe.name,
                    "missing",
                    outputs,
                    0.0,
                    missing_assets=exc.asset_names,
                    command=exc.command,
                    needs_full_profile=full_only,
                )
            )
            continue
        except Exception as exc:  # every recipe failure is collected and re-raised below
            log.error("recipe %s failed: %s: %s", recipe.name, type(exc).__name__, exc)
            failures[recipe.name] = exc
            continue
        wall_time = time.perf_counter() - start

        for language, data in rendered.items():
            write_atomically(outputs[language], data)
        manifest["recipes"][recipe.name] = {
            "key": key,
            "title": dict(recipe.title),
            "params": dict(recipe.params),
            "inputs": input_digests,
            "profile": profile,
            "offline": offline,
            "seed": recipe.seed,
            "device": device,
            "versions": _library_versions(),
            "wall_time_s": round(wall_time, 3),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "outputs": {language: path.name for language, path in outputs.items()},
            "assets": _asset_digests(recipe),
            "metrics": metrics,
        }
        manifest["missing"].pop(recipe.name, None)
        # Rewrite the manifest after each recipe so an interrupted build keeps what it finished.
        _write_manifest(out_dir, manifest)
        results.append(RecipeResult(recipe.name, "built", outputs, wall_time))

    if failures:
        lines = [f"{name}: {_describe(exc)}" for name, exc in failures.items()]
        raise FigureBuildError(
            "figure recipe(s) failed, their previous files are kept:\n  " + "\n  ".join(lines),
            failures=failures,
        )
    return results


def _describe(error: BaseException) -> str:
    """Return the English line for a failed recipe: the message, with the type unless it is self-evident."""
    if isinstance(error, (FileNotFoundError, assets_module.AssetMissingError)):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    write_atomically(
        out_dir / MANIFEST_NAME,
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode(),
    )
