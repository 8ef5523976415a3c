"""Command line interface: ``cvnotes figures`` and ``cvnotes fetch``.

Examples::

    cvnotes figures --list
    cvnotes figures                          # every recipe, quick profile, into docs/figures
    cvnotes figures focal-loss-curves --force
    cvnotes figures --profile full --out /tmp/figures
    cvnotes figures --profile full --offline --fail-on-missing
    cvnotes fetch --list                     # every asset, its size, licence and whether it is cached
    cvnotes fetch resnet50-imagenet          # download into the cache (see cvnotes.assets)
    cvnotes fetch --offline                  # only check the cache; exit 1 if an asset is missing

Each user message is one string literal, so that it can later be wrapped in a
gettext ``_()`` call.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

# NOTE: messages and help are English only so far; the recipe titles in --list are bilingual.

DEFAULT_FIGURES_DIR = Path("docs") / "figures"


def env_flag(name: str) -> bool:
    """Return True when the environment variable ``name`` is set to 1, true or yes."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def _parser() -> argparse.ArgumentParser:
    from cvnotes.figures import PROFILES

    parser = argparse.ArgumentParser(
        prog="cvnotes",
        description="Build the figures of the cvnotes study site (Korean and English).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    figures = commands.add_parser(
        "figures",
        help="build figure recipes into PNG files and a manifest",
        description=(
            "Build figure recipes. Each recipe writes <name>.ko.png and <name>.en.png and "
            "an entry in manifest.json; a recipe whose code, parameters and inputs are "
            "unchanged is skipped."
        ),
    )
    figures.add_argument("names", nargs="*", metavar="NAME", help="recipes to build (default: all)")
    figures.add_argument("--list", action="store_true", help="list the recipes and exit")
    figures.add_argument(
        "--profile",
        choices=PROFILES,
        default=os.environ.get("CVNOTES_PROFILE", "quick"),
        help="quick: CPU and embedded data, minutes; full: downloaded data and weights "
        "(default: $CVNOTES_PROFILE or quick)",
    )
    figures.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory (default: {DEFAULT_FIGURES_DIR}, which needs mkdocs.yml in the current directory)",
    )
    figures.add_argument(
        "--offline",
        action="store_true",
        default=env_flag("CVNOTES_OFFLINE"),
        help="tell recipes not to use the network (default: on when $CVNOTES_OFFLINE is 1)",
    )
    figures.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    figures.add_argument(
        "--fail-on-missing",
        action="store_true",
        default=env_flag("CVNOTES_FAIL_ON_MISSING"),
        help="exit with an error when a figure is skipped because its asset is missing "
        "(default: on when $CVNOTES_FAIL_ON_MISSING is 1)",
    )

    fetch = commands.add_parser(
        "fetch",
        help="download data sets and weights into the cache",
        description=(
            "Put assets into the cache directory ($CVNOTES_CACHE, else the platform's user cache "
            "directory), through the library that owns each one. Embedded assets ship inside the "
            "package and need nothing."
        ),
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help="assets to fetch (default: all)")
    fetch.add_argument(
        "--list", action="store_true", help="list the assets with size, licence and cache state, and exit"
    )
    fetch.add_argument(
        "--offline",
        action="store_true",
        default=env_flag("CVNOTES_OFFLINE"),
        help="do not use the network: only report which assets are missing (default: on when "
        "$CVNOTES_OFFLINE is 1)",
    )
    return parser


def _list_recipes() -> int:
    from cvnotes.figures import registered_recipes

    recipes = registered_recipes()
    width = max(len(name) for name in recipes)
    for name, recipe in recipes.items():
        print(f"{name:<{width}}  {recipe.title['en']}")
        print(f"{'':<{width}}  {recipe.title['ko']}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from cvnotes.figures import FigureBuildError, UnknownRecipeError, build_figures

    with tqdm(desc="figures", unit="recipe", disable=None, leave=False) as bar:

        def progress(recipes):
            bar.reset(total=len(recipes))
            for recipe in recipes:
                bar.set_postfix_str(recipe.name)
                yield recipe
                bar.update()

        try:
            results = build_figures(
                args.names,
                out_dir=args.out,
                profile=args.profile,
                offline=args.offline,
                force=args.force,
                progress=progress,
                fail_on_missing=args.fail_on_missing,
            )
        except UnknownRecipeError as exc:
            print(f"cvnotes figures: error: {exc}", file=sys.stderr)
            return 2
        except FigureBuildError as exc:
            print(f"cvnotes figures: error: {exc}", file=sys.stderr)
            return 1

    for result in results:
        if result.status == "missing":
            assets = ", ".join(result.missing_assets)
            print(f"{result.name}: missing asset {assets}; run `{result.command}`")
            continue
        timing = f" in {result.wall_time_s:.1f} s" if result.status == "built" else ""
        print(f"{result.name}: {result.status}{timing}")
    print(f"figures and manifest in {args.out}")
    return 0


def _format_size(size_bytes: int) -> str:
    if size_bytes <= 0:
        return "-"
    if size_bytes < 1_000_000:
        return f"{size_bytes / 1000:.0f} kB"
    return f"{size_bytes / 1_000_000:.1f} MB"


def _list_assets() -> int:
    from cvnotes.assets import ASSETS, cache_dir, is_cached

    print(f"cache directory: {cache_dir()}")
    width = max(len(name) for name in ASSETS)
    for name, asset in ASSETS.items():
        if asset.embedded:
            state = "embedded"
        elif is_cached(name):
            state = "cached"
        else:
            state = "not cached"
        print(
            f"{name:<{width}}  {asset.profile:<5}  {_format_size(asset.size_bytes):>8}  {state:<10}  {asset.licence}"
        )
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from cvnotes.assets import AssetMissingError, UnknownAssetError, fetch, get_asset

    try:
        for name in args.names:
            get_asset(name)
    except UnknownAssetError as exc:
        print(f"cvnotes fetch: error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        return _list_assets()

    try:
        results = fetch(args.names, offline=args.offline)
    except AssetMissingError as exc:
        print(f"cvnotes fetch: error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(
            f"cvnotes fetch: error: {exc}; install the missing package (CLIP needs `pip install open-clip-torch`)",
            file=sys.stderr,
        )
        return 1
    except (OSError, RuntimeError) as exc:
        # A failed download (no network, a checksum the owning library rejects) ends here.
        print(f"cvnotes fetch: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    for result in results:
        if result.status == "embedded":
            print(f"{result.name}: embedded in the package, nothing to fetch")
        elif result.status == "cached":
            print(f"{result.name}: already in the cache")
        else:
            print(f"{result.name}: fetched into {result.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cvnotes`` command; return the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "figures":
        from cvnotes.figures import PROFILES

        # argparse checks choices on the command line only, not a default taken from the environment.
        if args.profile not in PROFILES:
            parser.error(
                f"invalid profile {args.profile!r} (from $CVNOTES_PROFILE): use one of {', '.join(PROFILES)}"
            )
        if args.list:
            return _list_recipes()
        if args.out is None:
            if not Path("mkdocs.yml").is_file():
                parser.error(
                    f"no mkdocs.yml in {Path.cwd()}: run from the repository root, or pass --out DIR"
                )
            args.out = DEFAULT_FIGURES_DIR
        return _build(args)
    if args.command == "fetch":
        return _fetch(args)
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
