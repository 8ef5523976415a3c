"""Asset layer: every data set and weight file the figures use, declared once.

An [`Asset`][cvnotes.assets.Asset] records where a file comes from, how large
it is, its checksum, its licence, which library loads it and which profile
needs it. [`ASSETS`][cvnotes.assets.ASSETS] maps each name to its asset, so
``cvnotes fetch --list`` shows the whole catalogue.

Where assets live:

- Embedded assets (the Fashion-MNIST test split, a few photos) ship inside the
  package under ``cvnotes/data/``; they are never downloaded.
- Everything else goes into the cache directory returned by
  [`cache_dir`][cvnotes.assets.cache_dir]: ``$CVNOTES_CACHE`` when it is set,
  else the platform's user cache directory (``~/.cache/cvnotes`` on Linux).
  Inside it, torchvision data sets go to ``torchvision/``, torchvision weights
  to ``torch/checkpoints/``, open_clip's Hugging Face files to ``open_clip/`` and
  models that cvnotes trains itself to ``cvnotes/``.

Downloads go through the owning library's own loader (torchvision, open_clip
with huggingface_hub), which checks what it downloads: torchvision data sets by
MD5, torchvision weights by the SHA-256 prefix in the file name, Hugging Face
files by the hub's ETag. A cached torchvision weight file is checked again by
cvnotes before use, because ``torch.hub`` checks only at download time. Files
that cvnotes writes or ships itself are checked with
[`verify_file`][cvnotes.assets.verify_file]; a corrupt or truncated file raises
[`AssetIntegrityError`][cvnotes.assets.AssetIntegrityError] and is not used.

Offline (``fetch(..., offline=True)``, ``cvnotes fetch --offline``, or a recipe
run with ``offline=True``), only the cache is read: a missing asset raises
[`AssetMissingError`][cvnotes.assets.AssetMissingError], whose message names the
asset and the command that provides it.

To declare a new asset, add an ``Asset`` to ``ASSETS`` with an ``is_cached``
function that only looks at the disk and a ``download`` function that calls the
owning library with a root inside ``cache_dir()``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import platformdirs

__all__ = [
    "ASSETS",
    "Asset",
    "AssetFile",
    "AssetIntegrityError",
    "AssetMissingError",
    "FetchResult",
    "UnknownAssetError",
    "cache_dir",
    "fetch",
    "get_asset",
    "is_cached",
    "open_clip_dir",
    "sha256_file",
    "torchvision_datasets_dir",
    "torchvision_weights_dir",
    "verify_file",
]

CACHE_ENV = "CVNOTES_CACHE"
PACKAGE_DATA = Path(__file__).parent / "data"

AssetKind = Literal["dataset", "weights", "photos"]


class AssetMissingError(RuntimeError):
    """Raised when an asset is needed offline but is not in the cache.

    The message names the asset and the command that provides it, so a build log
    shows the reader what to run.

    Attributes:
        asset_name: Name of the (first) missing asset, a key of ``ASSETS``.
        asset_names: Names of every missing asset the error is about.
        command: Shell command that puts the asset(s) into the cache.
        cache: The cache directory that was searched.

    Example:
        >>> error = AssetMissingError("resnet50-imagenet")
        >>> error.command
        'cvnotes fetch resnet50-imagenet'
        >>> "resnet50-imagenet" in str(error)
        True
    """

    def __init__(
        self, asset_name: str | Sequence[str], command: str | None = None, *, cache: Path | None = None
    ) -> None:
        names = (asset_name,) if isinstance(asset_name, str) else tuple(asset_name)
        if not names:
            raise ValueError("AssetMissingError needs at least one asset name")
        self.asset_names = names
        self.asset_name = names[0]
        self.command = command or "cvnotes fetch " + " ".join(names)
        root = cache if cache is not None else cache_dir()
        self.cache = root
        if len(names) == 1:
            message = (
                f"asset {names[0]} not found in the cache {root}; run `{self.command}` with network access"
            )
        else:
            listed = ", ".join(names)
            message = (
                f"assets {listed} not found in the cache {root}; run `{self.command}` with network access"
            )
        super().__init__(message)


class AssetIntegrityError(RuntimeError):
    """Raised when a file's size or SHA-256 digest differs from its declaration.

    The file is corrupt, truncated or a different version; it is never used.

    Attributes:
        path: The file that failed the check.
        problem: ``"truncated"``, ``"larger than declared"`` or ``"corrupt"`` (the digest differs).
        actual: The file's size in bytes or its SHA-256 digest, as the check measured it.
        expected: The declared size or digest (prefix).

    Example:
        >>> error = AssetIntegrityError(Path("w.bin"), "truncated", 5, 10)
        >>> str(error)
        'file w.bin is truncated: 5 bytes, expected 10; delete it and fetch it again (`cvnotes fetch`)'
    """

    def __init__(self, path: Path | str, problem: str, actual: int | str, expected: int | str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.actual = actual
        self.expected = expected
        if problem == "corrupt":
            found = f"SHA-256 {actual}"
        else:
            found = f"{actual} bytes"
        super().__init__(
            f"file {self.path} is {problem}: {found}, expected {expected}; "
            "delete it and fetch it again (`cvnotes fetch`)"
        )

    def __reduce__(self):  # pickle the fields, not the message
        return (type(self), (self.path, self.problem, self.actual, self.expected))


class UnknownAssetError(KeyError):
    """Raised when an asset name is not declared in ``ASSETS``.

    Attributes:
        name: The name that was asked for.
        valid_names: Every declared asset name, in declaration order.

    Example:
        >>> str(UnknownAssetError("imagenet", ["mnist", "photos"]))
        "unknown asset 'imagenet'; valid names: mnist, photos (see `cvnotes fetch --list`)"
    """

    def __init__(self, name: str, valid_names: Sequence[str]) -> None:
        self.name = name
        self.valid_names = tuple(valid_names)
        super().__init__(
            f"unknown asset {name!r}; valid names: {', '.join(self.valid_names)} (see `cvnotes fetch --list`)"
        )

    def __str__(self) -> str:  # KeyError would print the message with quotes
        return str(self.args[0])

    def __reduce__(self):  # pickle the fields, not the message
        return (type(self), (self.name, self.valid_names))


@dataclass(frozen=True)
class AssetFile:
    """One file of an asset whose digest cvnotes checks itself.

    Attributes:
        path: Path relative to the asset's root (the package data directory for
            embedded assets).
        sha256: SHA-256 digest of the file, 64 hexadecimal digits.
        size_bytes: Exact size of the file in bytes.
    """

    path: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class Asset:
    """A data set or weight file, declared once.

    Attributes:
        name: Stable name used by ``cvnotes fetch NAME`` and in error messages.
        kind: ``"dataset"``, ``"weights"`` or ``"photos"``.
        source: Where the files come from (a URL, a Debian package or a paper).
        size_bytes: Size on disk. Exact for embedded files, otherwise the
            download size that the owning library states (rounded) or, where it
            states none, an estimate marked as such beside the declaration.
        sha256: SHA-256 digest of the file for a single-file asset that cvnotes
            checks itself. ``None`` when the owning library checks the download
            (its method is in ``checked_by``) or when the asset has several files,
            each listed in ``files`` with its own digest.
        licence: Licence or terms of use, with the copyright holder.
        loader: The function that loads the asset, e.g. ``torchvision.datasets.MNIST``.
        profile: ``"quick"`` when the quick profile needs it, ``"full"`` otherwise.
        embedded: True when the files ship inside the package.
        checked_by: How a download or a cached file is checked.
        files: Files with their digests, for embedded and multi-file assets.
        needs_network: False for an asset that ``download`` makes without the
            network (a model trained in-process), so ``fetch`` makes it offline too.
        is_cached: Function of the cache root that returns True when the asset is
            available without network. It only looks at the disk.
        download: Function of the cache root that fetches the asset through the
            owning library; ``None`` for embedded assets.
    """

    name: str
    kind: AssetKind
    source: str
    size_bytes: int
    sha256: str | None
    licence: str
    loader: str
    profile: Literal["quick", "full"]
    embedded: bool = False
    checked_by: str = "SHA-256 (cvnotes.assets.verify_file)"
    files: tuple[AssetFile, ...] = ()
    needs_network: bool = True
    is_cached: Callable[[Path], bool] | None = field(default=None, repr=False, compare=False)
    download: Callable[[Path], None] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class FetchResult:
    """Outcome of fetching one asset.

    Attributes:
        name: Asset name.
        status: ``"embedded"`` (ships in the package, nothing to do), ``"cached"``
            (already in the cache) or ``"fetched"`` (downloaded or trained now).
        path: Where the asset lives: the package data directory or the cache directory.
    """

    name: str
    status: Literal["embedded", "cached", "fetched"]
    path: Path


def cache_dir() -> Path:
    """Return the directory that contains downloaded and trained assets.

    It is ``$CVNOTES_CACHE`` when that variable is set and not empty, else the
    platform's user cache directory for ``cvnotes`` (``~/.cache/cvnotes`` on
    Linux, ``~/Library/Caches/cvnotes`` on macOS). The directory is not created
    here: the code that writes a file into it creates it.

    Example:
        >>> import os
        >>> cache_dir() == (Path(os.environ["CVNOTES_CACHE"]) if os.environ.get("CVNOTES_CACHE", "").strip()
        ...                 else Path(platformdirs.user_cache_dir("cvnotes", appauthor=False)))
        True
    """
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("cvnotes", appauthor=False))


def sha256_file(path: Path | str) -> str:
    """Return the SHA-256 digest of a file as 64 hexadecimal digits, reading it in chunks."""
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def verify_file(path: Path | str, sha256: str, size: int | None = None) -> Path:
    """Check a file against its declared size and SHA-256 digest.

    The size is compared first, so a truncated download is reported as such
    without hashing it.

    Args:
        path: The file to check.
        sha256: Expected digest: all 64 hexadecimal digits, or a prefix of at
            least 8 digits (``torch.hub`` file names carry such a prefix).
        size: Expected size in bytes, or ``None`` to skip the size check.

    Returns:
        ``path`` as a ``Path``, so a caller can write ``verify_file(...).read_bytes()``.

    Raises:
        FileNotFoundError: If the file does not exist.
        AssetIntegrityError: If the size or the digest differs; the message
            names the file, both values and what to do.
        ValueError: If ``sha256`` is not 8 to 64 hexadecimal digits.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "hello.txt"
        ...     _ = path.write_bytes(b"hello")
        ...     verify_file(path, "2cf24dba5fb0a30e", size=5).name
        'hello.txt'
    """
    expected = sha256.lower()
    if not 8 <= len(expected) <= 64 or any(digit not in "0123456789abcdef" for digit in expected):
        raise ValueError(f"invalid sha256 {sha256!r}: give 8 to 64 hexadecimal digits")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file {path} not found")

    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        state = "truncated" if actual_size < size else "larger than declared"
        raise AssetIntegrityError(path, state, actual_size, size)
    actual = sha256_file(path)
    if not actual.startswith(expected):
        raise AssetIntegrityError(path, "corrupt", actual, expected)
    return path


def get_asset(name: str) -> Asset:
    """Return the asset declared as ``name``.

    Raises:
        UnknownAssetError: If no asset has that name; the message lists the valid names.
    """
    if name not in ASSETS:
        raise UnknownAssetError(name, list(ASSETS))
    return ASSETS[name]


def is_cached(name: str, *, root: Path | None = None) -> bool:
    """Return True when the asset can be used without network access.

    Embedded assets are always available. This only looks at the disk.

    Args:
        name: Asset name.
        root: Cache directory; ``cache_dir()`` by default.
    """
    asset = get_asset(name)
    if asset.embedded:
        return True
    assert asset.is_cached is not None, f"asset {name!r} declares no is_cached function"
    return asset.is_cached(root if root is not None else cache_dir())


def _asset_path(asset: Asset, root: Path) -> Path:
    if asset.embedded:
        return PACKAGE_DATA
    return root


def fetch(names: Iterable[str] | None = None, *, offline: bool = False) -> list[FetchResult]:
    """Put the named assets (all by default) into the cache.

    Embedded assets need nothing and are reported as ``"embedded"``. Assets in
    the cache are not downloaded again. Missing ones are downloaded through the
    owning library, unless ``offline`` is set. Assets made without the network
    (the quick profile's trained model) are made in both modes.

    Args:
        names: Asset names; ``None`` or empty means every declared asset.
        offline: Never touch the network: report what is missing instead.

    Returns:
        One [`FetchResult`][cvnotes.assets.FetchResult] per asset, in order.

    Raises:
        UnknownAssetError: If a name is not declared (before anything is fetched).
        TypeError: If ``names`` is a single string instead of a list.
        AssetMissingError: If ``offline`` is set and assets that need the network
            are missing; it names all of them. The others are still fetched.

    Example:
        >>> results = fetch(["fashion-mnist-test"], offline=True)
        >>> results[0].status
        'embedded'
    """
    if isinstance(names, str):
        raise TypeError(f"names must be a list of asset names, not the string {names!r}: use [{names!r}]")
    selected = [get_asset(name) for name in names] if names else list(ASSETS.values())
    root = cache_dir()
    results: list[FetchResult] = []
    missing: list[str] = []

    for asset in selected:
        path = _asset_path(asset, root)
        if asset.embedded:
            results.append(FetchResult(asset.name, "embedded", path))
        elif is_cached(asset.name, root=root):
            results.append(FetchResult(asset.name, "cached", path))
        elif offline and asset.needs_network:
            missing.append(asset.name)
        else:
            assert asset.download is not None, f"asset {asset.name!r} declares no download function"
            root.mkdir(parents=True, exist_ok=True)
            asset.download(root)
            results.append(FetchResult(asset.name, "fetched", path))

    if missing:
        raise AssetMissingError(missing)
    return results


# Declarations. Each download function calls the owning library with a root inside the
# cache directory and lets that library check the download. Each is_cached function only
# looks at the disk, so it is safe offline. Heavy libraries are imported inside the
# functions, so importing this module stays cheap.

# Sub-directories of the cache, one per owning library.
TORCHVISION_WEIGHTS = "torch/checkpoints"
TORCHVISION_DATASETS = "torchvision"
OPEN_CLIP = "open_clip"

# File names of ImageNet weights in torchvision 0.29. The 8 hexadecimal digits after the dash
# are the start of the file's SHA-256 digest, which torch.hub checks on download. Sizes come
# from the weights' "_file_size" metadata (MiB with 3 decimals), so they are approximate.
RESNET_WEIGHTS = {
    "resnet18": ("ResNet18_Weights", "IMAGENET1K_V1", "resnet18-f37072fd.pth", 46_830_453),
    "resnet50": ("ResNet50_Weights", "IMAGENET1K_V2", "resnet50-11ad3fa6.pth", 102_540_247),
}

# open_clip 3.3 takes ViT-B-32 "openai" from this Hugging Face repository (its pretrained config).
CLIP_HF_REPO = "timm/vit_base_patch32_clip_224.openai"
CLIP_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

IMAGENET_TERMS = (
    "BSD-3-Clause (torchvision); the weights were trained on ImageNet, whose terms of access "
    "allow non-commercial research and educational use only"
)


def torchvision_weights_dir(root: Path) -> Path:
    """Return the directory, inside the cache ``root``, for torchvision weights."""
    return root / TORCHVISION_WEIGHTS


def torchvision_datasets_dir(root: Path) -> Path:
    """Return the directory, inside the cache ``root``, passed as ``root`` to torchvision data sets."""
    return root / TORCHVISION_DATASETS


def open_clip_dir(root: Path) -> Path:
    """Return the directory, inside the cache ``root``, passed as ``cache_dir`` to open_clip."""
    return root / OPEN_CLIP


def _resnet_asset(arch: str) -> Asset:
    enum_name, member, file_name, size = RESNET_WEIGHTS[arch]

    def is_cached(root: Path) -> bool:
        return (torchvision_weights_dir(root) / file_name).is_file()

    def download(root: Path) -> None:
        import torchvision.models

        weights = getattr(torchvision.models, enum_name)[member]
        # torch.hub writes to a temporary file, checks the SHA-256 prefix of the file name and
        # only then moves the file into place.
        weights.get_state_dict(
            model_dir=str(torchvision_weights_dir(root)), progress=True, check_hash=True, weights_only=True
        )

    return Asset(
        name=f"{arch}-imagenet",
        kind="weights",
        source=f"https://download.pytorch.org/models/{file_name} (torchvision {enum_name}.{member})",
        size_bytes=size,
        sha256=None,
        licence=IMAGENET_TERMS,
        loader=f"torchvision.models.{arch}(weights={enum_name}.{member})",
        profile="full",
        checked_by="torch.hub: SHA-256 prefix in the file name, on download and by cvnotes before use",
        is_cached=is_cached,
        download=download,
    )


def _mnist_asset() -> Asset:
    def is_cached(root: Path) -> bool:
        raw = torchvision_datasets_dir(root) / "MNIST" / "raw"
        names = (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        )
        return all((raw / name).is_file() for name in names)

    def download(root: Path) -> None:
        import torchvision.datasets

        for train in (True, False):
            torchvision.datasets.MNIST(torchvision_datasets_dir(root), train=train, download=True)

    return Asset(
        name="mnist",
        kind="dataset",
        source="Yann LeCun, Corinna Cortes and Christopher J. C. Burges; torchvision's mirrors",
        size_bytes=11_594_722,
        sha256=None,
        licence="CC BY-SA 3.0, Yann LeCun and Corinna Cortes (derived from NIST Special Database 19)",
        loader="torchvision.datasets.MNIST",
        profile="full",
        checked_by="torchvision: MD5 of each downloaded archive",
        is_cached=is_cached,
        download=download,
    )


def _cifar100_asset() -> Asset:
    def is_cached(root: Path) -> bool:
        folder = torchvision_datasets_dir(root) / "cifar-100-python"
        return all((folder / name).is_file() for name in ("train", "test", "meta"))

    def download(root: Path) -> None:
        import torchvision.datasets

        torchvision.datasets.CIFAR100(torchvision_datasets_dir(root), train=False, download=True)

    return Asset(
        name="cifar-100",
        kind="dataset",
        source="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz (Krizhevsky, 2009)",
        size_bytes=169_001_437,
        sha256=None,
        licence="no licence stated; cite Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009",
        loader="torchvision.datasets.CIFAR100",
        profile="full",
        checked_by="torchvision: MD5 of the archive and of each extracted file",
        is_cached=is_cached,
        download=download,
    )


def clip_weight_candidates(model_name: str = "ViT-B-32", pretrained: str = "openai") -> list[tuple[str, str]]:
    """Return the Hugging Face (repository, file) pairs that open_clip 3.3 downloads for a model and tag.

    open_clip writes ``hf_hub`` as ``"org/repo/"`` (default file name) or ``"org/repo/file"``
    and prefers a safetensors file of the same stem when the repository has one, so
    both names are returned, safetensors first.

    Args:
        model_name: open_clip model name, e.g. ``"ViT-B-32"``.
        pretrained: open_clip pretrained tag, e.g. ``"openai"``.

    Returns:
        The candidate pairs; empty when the tag has no Hugging Face source (a URL only).

    Raises:
        ValueError: If open_clip has no such model and tag. The message explains how to list them.
    """
    if (model_name, pretrained) == ("ViT-B-32", "openai"):
        # The declared asset; known without importing open_clip, so is_cached works without it.
        return [(CLIP_HF_REPO, file_name) for file_name in CLIP_HF_FILES]
    from open_clip.pretrained import get_pretrained_cfg

    config = get_pretrained_cfg(model_name, pretrained)
    if not config:
        raise ValueError(
            f"invalid open_clip model {model_name!r} with pretrained tag {pretrained!r}: "
            "list the valid pairs with `python -c 'import open_clip; print(open_clip.list_pretrained())'`"
        )
    hub = config.get("hf_hub", "")
    if not hub:
        return []
    repository, file_name = hub.rstrip("/"), CLIP_HF_FILES[1]
    if not hub.endswith("/"):
        repository, file_name = hub.rsplit("/", 1)
    safe_name = (
        CLIP_HF_FILES[0] if file_name == CLIP_HF_FILES[1] else file_name.rsplit(".", 1)[0] + ".safetensors"
    )
    return [(repository, safe_name), (repository, file_name)]


def clip_cached_file(root: Path, model_name: str = "ViT-B-32", pretrained: str = "openai") -> Path | None:
    """Return the cached open_clip weight file of a model and tag, or None; never touches the network.

    Args:
        root: Cache directory; open_clip's files are under ``<root>/open_clip``.
        model_name: open_clip model name; ViT-B-32 by default.
        pretrained: open_clip pretrained tag; ``"openai"`` by default.

    Raises:
        ValueError: If open_clip has no such model and tag.
    """
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        # huggingface_hub comes with open_clip (the "clip" extra); without it nothing can be cached.
        return None

    for repository, file_name in clip_weight_candidates(model_name, pretrained):
        found = try_to_load_from_cache(repository, file_name, cache_dir=str(open_clip_dir(root)))
        if isinstance(found, str):
            return Path(found)

    if (model_name, pretrained) == ("ViT-B-32", "openai"):
        return None
    # Tags without a Hugging Face source are downloaded by URL into the cache directory itself.
    from open_clip.pretrained import get_pretrained_cfg

    config = get_pretrained_cfg(model_name, pretrained)
    url = config.get("url", "")
    if url and not config.get("hf_hub"):
        path = open_clip_dir(root) / url.rsplit("/", 1)[-1]
        if path.is_file():
            return path
    return None


def _clip_asset() -> Asset:
    def is_cached(root: Path) -> bool:
        return clip_cached_file(root) is not None

    def download(root: Path) -> None:
        from open_clip.pretrained import download_pretrained, get_pretrained_cfg

        download_pretrained(get_pretrained_cfg("ViT-B-32", "openai"), cache_dir=str(open_clip_dir(root)))

    return Asset(
        name="clip-vit-b-32-openai",
        kind="weights",
        source=f"https://huggingface.co/{CLIP_HF_REPO} (OpenAI CLIP ViT-B/32, Radford et al., ICML 2021)",
        # An estimate: about 151 million float32 parameters; open_clip states no file size.
        size_bytes=605_000_000,
        sha256=None,
        licence="MIT, OpenAI (github.com/openai/CLIP)",
        loader='open_clip.create_model_and_transforms("ViT-B-32", pretrained="openai")',
        profile="full",
        checked_by="huggingface_hub: size and ETag of the download",
        is_cached=is_cached,
        download=download,
    )


def _small_cnn_asset() -> Asset:
    def is_cached(root: Path) -> bool:
        from cvnotes.models import quick_classifier_path

        return quick_classifier_path(root).is_file()

    def download(root: Path) -> None:
        from cvnotes.models import quick_classifier

        quick_classifier(cache=root)

    return Asset(
        name="small-cnn-fashion-mnist",
        kind="weights",
        source="trained in-process by cvnotes.models.quick_classifier on the embedded Fashion-MNIST test split",
        # Size of the state dict that torch 2.14 writes for SmallCNN.
        size_bytes=221_837,
        sha256=None,
        licence="MIT (cvnotes); trained on Fashion-MNIST (MIT, Zalando SE)",
        loader="cvnotes.models.quick_classifier",
        profile="quick",
        checked_by="SHA-256 recorded beside the file when it is written, checked on load",
        needs_network=False,
        is_cached=is_cached,
        download=download,
    )


def declare_assets() -> list[Asset]:
    """Return every asset of the project, embedded ones first."""
    fashion_mnist = Asset(
        name="fashion-mnist-test",
        kind="dataset",
        source="https://github.com/zalandoresearch/fashion-mnist (Debian package dataset-fashion-mnist)",
        size_bytes=4_427_204,
        sha256=None,
        licence="MIT, Copyright 2017 Zalando SE",
        loader="cvnotes.data.load_fashion_mnist",
        profile="quick",
        embedded=True,
        files=(
            AssetFile(
                "fashion_mnist/t10k-images-idx3-ubyte.gz",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                4_422_079,
            ),
            AssetFile(
                "fashion_mnist/t10k-labels-idx1-ubyte.gz",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                5_125,
            ),
        ),
    )
    photos = Asset(
        name="photos",
        kind="photos",
        source="scikit-image 0.26.0 sample data (skimage/data), downscaled; see cvnotes/data/photos/SOURCES.md",
        size_bytes=692_793,
        sha256=None,
        licence="CC0 (cat, coffee) and public domain (rocket); per photo in SOURCES.md",
        loader="cvnotes.data.load_photo",
        profile="quick",
        embedded=True,
        files=(
            AssetFile(
                "photos/cat.png", "0f03d60a1fa59ec45ffa578939d820a48855684d16a105ad396280edbadf0218", 221_537
            ),
            AssetFile(
                "photos/coffee.png",
                "94aabea7543485e2a0759c61f8a67b2babe86554f8f99b438a48b542e72dc668",
                283_094,
            ),
            AssetFile(
                "photos/rocket.png",
                "9b1f96889e8fc2ca63d1a3463501144336629029a50cf2faa408c6395f0f6650",
                188_162,
            ),
        ),
    )
    return [
        fashion_mnist,
        photos,
        _small_cnn_asset(),
        _resnet_asset("resnet18"),
        _resnet_asset("resnet50"),
        _mnist_asset(),
        _cifar100_asset(),
        _clip_asset(),
    ]


ASSETS: Mapping[str, Asset] = MappingProxyType({asset.name: asset for asset in declare_assets()})
"""Every declared asset by name, in the order ``cvnotes fetch --list`` shows them."""
