"""Command line interface: ``cvnotes figures`` and ``cvnotes fetch``.

Messages, help and errors are in Korean when the locale starts with ``ko`` and in English otherwise;
``--lang ko`` or ``--lang en`` overrides the locale (see :mod:`cvnotes.i18n`).

Examples::

    cvnotes figures --list
    cvnotes figures                          # every recipe, quick profile, into docs/figures
    cvnotes figures focal-loss-curves --force
    cvnotes figures --profile full --out /tmp/figures
    cvnotes figures --profile full --offline --fail-on-missing
    cvnotes figures --profile full --device auto   # on a CUDA GPU when PyTorch finds one
    cvnotes fetch --list                     # every asset, its size, licence and whether it is cached
    cvnotes fetch resnet50-imagenet          # download into the cache (see cvnotes.assets)
    cvnotes fetch --offline                  # only check the cache; exit 1 if an asset is missing
    cvnotes fetch --offline --profile quick  # only the quick profile's assets
    cvnotes --lang ko figures --help
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from cvnotes.i18n import LANGUAGES, choose_language, current_language, use_language
from cvnotes.i18n import gettext as _

__all__ = ["main"]

DEFAULT_FIGURES_DIR = Path("docs") / "figures"


def env_flag(name: str) -> bool:
    """Return True when the environment variable ``name`` is set to 1, true or yes."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def _language_option() -> argparse.ArgumentParser:
    """Return a parent parser with ``--lang``, which every command accepts."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS,
        help=_(
            "language of messages and help (default: ko when the locale, e.g. $LANG, starts with ko, else en)"
        ),
    )
    return common


def _parser() -> argparse.ArgumentParser:
    from cvnotes.figures import DEVICES, PROFILES

    common = _language_option()
    parser = argparse.ArgumentParser(
        prog="cvnotes",
        description=_("Build the figures of the cvnotes study site (Korean and English)."),
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    figures = commands.add_parser(
        "figures",
        parents=[common],
        help=_("build figure recipes into PNG files and a manifest"),
        description=_(
            "Build figure recipes. Each recipe writes <name>.ko.png and <name>.en.png and "
            "an entry in manifest.json; a recipe whose code, parameters and inputs are "
            "unchanged is skipped."
        ),
    )
    figures.add_argument("names", nargs="*", metavar="NAME", help=_("recipes to build (default: all)"))
    figures.add_argument("--list", action="store_true", help=_("list the recipes and exit"))
    figures.add_argument(
        "--profile",
        choices=PROFILES,
        default=os.environ.get("CVNOTES_PROFILE", "quick"),
        help=_(
            "quick: CPU and embedded data, minutes; full: downloaded data and weights "
            "(default: $CVNOTES_PROFILE or quick)"
        ),
    )
    figures.add_argument(
        "--out",
        type=Path,
        default=None,
        help=_(
            "output directory (default: {default}, which needs mkdocs.yml in the current directory)"
        ).format(default=DEFAULT_FIGURES_DIR),
    )
    figures.add_argument(
        "--offline",
        action="store_true",
        default=env_flag("CVNOTES_OFFLINE"),
        help=_("tell recipes not to use the network (default: on when $CVNOTES_OFFLINE is 1)"),
    )
    figures.add_argument(
        "--device",
        choices=DEVICES,
        default=None,
        help=_(
            "where recipes run their models: cpu, cuda (an NVIDIA GPU) or auto (cuda when "
            "PyTorch finds one, else cpu) (default: $CVNOTES_DEVICE or cpu)"
        ),
    )
    figures.add_argument("--force", action="store_true", help=_("rebuild even if nothing changed"))
    figures.add_argument(
        "--fail-on-missing",
        action="store_true",
        default=env_flag("CVNOTES_FAIL_ON_MISSING"),
        help=_(
            "exit with an error when a figure is skipped because its asset is missing "
            "(default: on when $CVNOTES_FAIL_ON_MISSING is 1)"
        ),
    )

    fetch = commands.add_parser(
        "fetch",
        parents=[common],
        help=_("download data sets and weights into the cache"),
        description=_(
            "Put assets into the cache directory ($CVNOTES_CACHE, else the platform's user cache "
            "directory), through the library that owns each one. Embedded assets ship inside the "
            "package and need nothing."
        ),
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help=_("assets to fetch (default: all)"))
    fetch.add_argument(
        "--list", action="store_true", help=_("list the assets with size, licence and cache state, and exit")
    )
    fetch.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help=_("only the assets of this profile (default: every asset); not together with NAME"),
    )
    fetch.add_argument(
        "--offline",
        action="store_true",
        default=env_flag("CVNOTES_OFFLINE"),
        help=_(
            "do not use the network: only report which assets are missing (default: on when "
            "$CVNOTES_OFFLINE is 1)"
        ),
    )
    return parser


def _list_recipes() -> int:
    from cvnotes.figures import registered_recipes

    recipes = registered_recipes()
    width = max(len(name) for name in recipes)
    language = current_language()
    for name, recipe in recipes.items():
        print(f"{name:<{width}}  {recipe.title[language]}")
    return 0


def _error(command: str, message: str) -> None:
    """Print ``message`` to stderr after the translated "cvnotes <command>: error:" prefix."""
    if command == "figures":
        line = _("cvnotes figures: error: {message}")
    else:
        line = _("cvnotes fetch: error: {message}")
    print(line.format(message=message), file=sys.stderr)


def _missing_assets_message(error) -> str:
    """Return the translated message of an AssetMissingError, naming each asset's profile."""
    from cvnotes.assets import ASSETS

    listed = ", ".join(
        f"{name} ({ASSETS[name].profile})" if name in ASSETS else name for name in error.asset_names
    )
    return _("assets not found in the cache {cache}: {assets}; run `{command}` with network access").format(
        cache=error.cache, assets=listed, command=error.command
    )


def _skip_reason(asset_names: Sequence[str], command: str, full_profile: bool) -> str:
    """Return why a figure was skipped: a missing asset (or several), or a quick build of a full-profile figure."""
    if full_profile:
        message = _("needs the full profile (cached: {assets}): use --profile full or CVNOTES_PROFILE=full")
    elif len(asset_names) == 1:
        message = _("missing asset {assets}; run `{command}`")
    else:
        message = _("missing assets {assets}; run `{command}`")
    return message.format(assets=", ".join(asset_names), command=command)


def _recipe_failure_message(name: str, error: BaseException, profile: str) -> str:
    from cvnotes.assets import AssetMissingError
    from cvnotes.figures import needs_full_profile

    if isinstance(error, AssetMissingError):
        full_profile = needs_full_profile(error.asset_names, profile)
        return f"{name}: " + _skip_reason(error.asset_names, error.command, full_profile)
    if isinstance(error, FileNotFoundError):
        return f"{name}: {error}"
    # NOTE: other failures come from the recipe's own code; their details stay in English.
    return f"{name}: {type(error).__name__}: {error}"


def _device_error_message(error, from_environment: bool = False) -> str:
    """Return the translated message of a DeviceError; ``from_environment`` names $CVNOTES_DEVICE."""
    if error.reason == "unknown":
        from cvnotes.figures import DEVICES

        message = _("invalid device {device!r}: use one of {choices}")
        return message.format(device=error.device, choices=", ".join(DEVICES))
    if from_environment:
        problem = _(
            "device {device!r} requested by $CVNOTES_DEVICE, but PyTorch finds no CUDA GPU "
            "(torch.cuda.is_available() is False)"
        )
    else:
        problem = _(
            "device {device!r} requested, but PyTorch finds no CUDA GPU (torch.cuda.is_available() is False)"
        )
    if error.torch_cuda:
        hint = _(
            "this PyTorch is built for CUDA {cuda}: check that the NVIDIA driver works and the GPU is "
            "visible (`nvidia-smi`, $CUDA_VISIBLE_DEVICES), or use --device cpu or --device auto"
        )
    else:
        hint = _(
            "use --device cpu or --device auto, or install a CUDA build of PyTorch on a machine with an "
            "NVIDIA GPU"
        )
    return _("{problem}: {hint}").format(
        problem=problem.format(device=error.device), hint=hint.format(cuda=error.torch_cuda)
    )


def _build(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from cvnotes.figures import (
        DeviceError,
        FigureBuildError,
        UnknownRecipeError,
        build_figures,
        needs_full_profile,
        registered_recipes,
        resolve_device,
    )

    recipes = registered_recipes()
    unknown = [name for name in args.names if name not in recipes]
    if unknown:
        message = _("unknown recipe {name!r}; known recipes: {known} (see `cvnotes figures --list`)").format(
            name=unknown[0], known=", ".join(sorted(recipes))
        )
        _error("figures", message)
        return 2
    try:
        device = resolve_device(args.device)
    except DeviceError as exc:
        _error("figures", _device_error_message(exc, from_environment=args.device_from_environment))
        return 2
    if args.device == "auto" and device == "cpu":
        print(_("recipes run on {device} (auto: no CUDA GPU found)").format(device=device), flush=True)
    else:
        print(_("recipes run on {device}").format(device=device), flush=True)

    with tqdm(desc=_("figures"), unit=_("recipe"), disable=None, leave=False) as bar:

        def progress(recipes):
            bar.reset(total=len(recipes))
            for recipe in recipes:
                bar.set_postfix_str(recipe.name)
                yield recipe
                bar.update()

        def report_missing(name, error):
            full_profile = needs_full_profile(error.asset_names, args.profile)
            reason = _skip_reason(error.asset_names, error.command, full_profile)
            message = _("warning: figure {name} skipped: {reason}").format(name=name, reason=reason)
            tqdm.write(message, file=sys.stderr)

        try:
            results = build_figures(
                args.names,
                out_dir=args.out,
                profile=args.profile,
                offline=args.offline,
                force=args.force,
                progress=progress,
                fail_on_missing=args.fail_on_missing,
                on_missing=report_missing,
                device=device,
            )
        except UnknownRecipeError as exc:  # build_figures checks the names again
            _error("figures", str(exc))
            return 2
        except FigureBuildError as exc:
            if not exc.failures:  # not raised by the build loop; keep the library's message
                _error("figures", str(exc))
                return 1
            lines = [
                _recipe_failure_message(name, error, args.profile) for name, error in exc.failures.items()
            ]
            message = _("figure recipe(s) failed, their previous files are kept:")
            _error("figures", message + "\n  " + "\n  ".join(lines))
            return 1

    # A skipped figure was already reported by report_missing, so it is only counted here.
    for result in results:
        if result.status == "built":
            print(_("{name}: built in {seconds:.1f} s").format(name=result.name, seconds=result.wall_time_s))
        elif result.status == "up to date":
            print(_("{name}: up to date").format(name=result.name))
    counts = Counter(result.status for result in results)
    summary = _(
        "{built} built, {current} up to date, {skipped} skipped (see the warnings above); figures and manifest "
        "in {directory}"
    )
    print(
        summary.format(
            built=counts["built"], current=counts["up to date"], skipped=counts["missing"], directory=args.out
        )
    )
    return 0


def _format_size(size_bytes: int) -> str:
    if size_bytes <= 0:
        return "-"
    if size_bytes < 1_000_000:
        return f"{size_bytes / 1000:.0f} kB"
    return f"{size_bytes / 1_000_000:.1f} MB"


def _pad_columns(text: str, columns: int) -> str:
    """Pad ``text`` with spaces to ``columns`` terminal columns; Hangul and other wide characters take two."""
    width = sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)
    return text + " " * max(columns - width, 0)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def _list_assets(names: list[str]) -> int:
    from cvnotes.assets import ASSETS, cache_dir, is_cached

    print(_("cache directory: {directory}").format(directory=cache_dir()))
    rows = [(_("asset"), _("profile"), _("size"), _("state"), _("licence"))]
    for name in names:
        asset = ASSETS[name]
        if asset.embedded:
            state = _("embedded")
        elif is_cached(name):
            state = _("cached")
        else:
            state = _("not cached")
        rows.append((name, asset.profile, _format_size(asset.size_bytes), state, asset.licence))
    widths = [max(_display_width(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        size = " " * (widths[2] - _display_width(row[2])) + row[2]
        cells = [_pad_columns(row[0], widths[0]), _pad_columns(row[1], widths[1]), size]
        print("  ".join([*cells, _pad_columns(row[3], widths[3]), row[4]]))
    return 0


def _integrity_message(error) -> str:
    if error.problem == "corrupt":
        message = _(
            "file {path} is corrupt: SHA-256 {actual}, expected {expected}; delete it and fetch it again"
        )
    elif error.problem == "truncated":
        message = _(
            "file {path} is truncated: {actual} bytes, expected {expected}; delete it and fetch it again"
        )
    else:
        message = _(
            "file {path} is larger than declared: {actual} bytes, expected {expected}; "
            "delete it and fetch it again"
        )
    return message.format(path=error.path, actual=error.actual, expected=error.expected)


def _report_quick_profile(missing: Sequence[str]) -> None:
    """Say that the quick profile is complete when only other profiles' assets are missing."""
    from cvnotes.assets import ASSETS, is_cached

    quick = [name for name, asset in ASSETS.items() if asset.profile == "quick"]
    if all(ASSETS[name].profile != "quick" for name in missing) and all(is_cached(name) for name in quick):
        print(
            _(
                "the quick profile's assets are all present (embedded in the package or trained on this "
                "computer): `cvnotes figures` works offline"
            ),
            flush=True,
        )


def _fetch(args: argparse.Namespace) -> int:
    from cvnotes.assets import (
        ASSETS,
        AssetIntegrityError,
        AssetMissingError,
        UnknownAssetError,
        fetch,
        get_asset,
    )

    try:
        for name in args.names:
            get_asset(name)
    except UnknownAssetError as exc:
        message = _("unknown asset {name!r}; valid names: {valid} (see `cvnotes fetch --list`)").format(
            name=exc.name, valid=", ".join(exc.valid_names)
        )
        _error("fetch", message)
        return 2
    names = list(args.names)
    if args.profile is not None:
        names = [name for name, asset in ASSETS.items() if asset.profile == args.profile]
    if args.list:
        return _list_assets(names or list(ASSETS))

    try:
        results = fetch(names, offline=args.offline)
    except AssetMissingError as exc:
        _report_quick_profile(exc.asset_names)
        _error("fetch", _missing_assets_message(exc))
        return 1
    except AssetIntegrityError as exc:
        _error("fetch", _integrity_message(exc))
        return 1
    except ImportError as exc:
        reason = _("{message}; install the missing package (CLIP needs `pip install open-clip-torch`)")
        _error("fetch", reason.format(message=exc))
        return 1
    except (OSError, RuntimeError) as exc:
        # A failed download (no network, a checksum the owning library rejects) ends here.
        # NOTE: the owning library writes these details, in English.
        _error("fetch", f"{type(exc).__name__}: {exc}")
        return 1

    for result in results:
        if result.status == "embedded":
            print(_("{name}: embedded in the package, nothing to fetch").format(name=result.name))
        elif result.status == "cached":
            print(_("{name}: already in the cache").format(name=result.name))
        else:
            print(_("{name}: fetched into {path}").format(name=result.name, path=result.path))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cvnotes`` command in the language of ``--lang`` or the locale; return the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    # The help texts are translated when the parser is built, so the language is chosen first.
    language_parser = argparse.ArgumentParser(add_help=False)
    language_parser.add_argument("--lang")
    requested, _unused = language_parser.parse_known_args(argv)
    option = requested.lang if requested.lang in LANGUAGES else None
    with use_language(choose_language(option)):
        return _run(argv)


def _run(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "figures":
        from cvnotes.figures import DEFAULT_DEVICE, DEVICES, PROFILES
        from cvnotes.figures.device import DEVICE_ENV

        # argparse checks choices on the command line only, not a default taken from the environment.
        if args.profile not in PROFILES:
            parser.error(
                _("invalid profile {profile!r} (from $CVNOTES_PROFILE): use one of {choices}").format(
                    profile=args.profile, choices=", ".join(PROFILES)
                )
            )
        # The option overrides the environment; an error about the device names the variable it came from.
        args.device_from_environment = args.device is None and DEVICE_ENV in os.environ
        if args.device is None:
            args.device = os.environ.get(DEVICE_ENV, DEFAULT_DEVICE)
        if args.device not in DEVICES:
            parser.error(
                _("invalid device {device!r} (from $CVNOTES_DEVICE): use one of {choices}").format(
                    device=args.device, choices=", ".join(DEVICES)
                )
            )
        if args.list:
            return _list_recipes()
        if args.out is None:
            if not Path("mkdocs.yml").is_file():
                parser.error(
                    _("no mkdocs.yml in {directory}: run from the repository root, or pass --out DIR").format(
                        directory=Path.cwd()
                    )
                )
            args.out = DEFAULT_FIGURES_DIR
        return _build(args)
    if args.command == "fetch":
        if args.profile is not None and args.names:
            _error("fetch", _("give asset names or --profile, not both"))
            return 2
        return _fetch(args)
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
