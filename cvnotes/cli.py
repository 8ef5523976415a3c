"""Command line interface: ``cvnotes figures``.

Examples::

    cvnotes figures --list
    cvnotes figures                          # every recipe, quick profile, into docs/figures
    cvnotes figures focal-loss-curves --force
    cvnotes figures --profile full --out /tmp/figures
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
            )
        except UnknownRecipeError as exc:
            print(f"cvnotes figures: error: {exc}", file=sys.stderr)
            return 2
        except FigureBuildError as exc:
            print(f"cvnotes figures: error: {exc}", file=sys.stderr)
            return 1

    for result in results:
        timing = f" in {result.wall_time_s:.1f} s" if result.status == "built" else ""
        print(f"{result.name}: {result.status}{timing}")
    print(f"figures and manifest in {args.out}")
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
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
