"""Embedded data: the Fashion-MNIST test split and a few photos with a free licence.

Both ship inside the package (``cvnotes/data/``), so the quick profile needs no
network. Each file's SHA-256 digest is declared in
[`cvnotes.assets.ASSETS`][cvnotes.assets.ASSETS] and checked on every load: a
corrupt or truncated file raises
[`AssetIntegrityError`][cvnotes.assets.AssetIntegrityError] instead of giving
wrong pixels.

Fashion-MNIST (Han Xiao, Kashif Rasul and Roland Vollgraf, "Fashion-MNIST: a
Novel Image Dataset for Benchmarking Machine Learning Algorithms",
arXiv:1708.07747, 2017) is MIT-licensed by Zalando SE. The two files are the
original gzip-compressed IDX files of its 10,000-image test split, as Debian's
``dataset-fashion-mnist`` package installs them under
``/usr/share/datasets/fashion-mnist``. The licence and attribution are in
``cvnotes/data/fashion_mnist/LICENSE``.

MNIST and CIFAR-100 (full profile) are not embedded: [`load_mnist`][cvnotes.data.load_mnist]
and [`load_cifar100`][cvnotes.data.load_cifar100] open them through torchvision
with the cache directory as root, and download them only when not offline.

The photos come from scikit-image's sample data; ``cvnotes/data/photos/SOURCES.md``
records the source, author and licence of each, as does
[`PHOTOS`][cvnotes.data.PHOTOS].
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from cvnotes import assets

if TYPE_CHECKING:
    from torchvision.datasets import CIFAR100, MNIST, VisionDataset
from cvnotes.assets import PACKAGE_DATA, AssetFile, get_asset, verify_file

__all__ = [
    "FASHION_MNIST_CLASSES",
    "PHOTOS",
    "Photo",
    "load_cifar100",
    "load_fashion_mnist",
    "load_mnist",
    "load_photo",
    "parse_idx",
]

# The English names are those of the Fashion-MNIST README.
FASHION_MNIST_CLASSES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "en": (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        "ko": (
            "티셔츠/탑",
            "바지",
            "풀오버",
            "드레스",
            "코트",
            "샌들",
            "셔츠",
            "스니커즈",
            "가방",
            "앵클부츠",
        ),
    }
)
"""Fashion-MNIST class names per language (``"ko"``, ``"en"``), in label order 0 to 9."""

# IDX type codes (the third byte of the magic number) and their big-endian numpy types.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass(frozen=True)
class Photo:
    """An embedded photo and where it comes from.

    Attributes:
        file: File name inside ``cvnotes/data/photos``.
        subject: What the photo shows, in English.
        source: Where the original was taken from.
        author: Photographer or copyright holder, as the source states it.
        licence: Licence as the source states it.
    """

    file: str
    subject: str
    source: str
    author: str
    licence: str


_SKIMAGE = "scikit-image 0.26.0 sample data, skimage/data/"
PHOTOS: Mapping[str, Photo] = MappingProxyType(
    {
        "cat": Photo(
            file="cat.png",
            subject="Chelsea the cat, a tabby",
            source=_SKIMAGE + "chelsea.png",
            author="Stefan van der Walt",
            licence="CC0 by the photographer; no copyright restrictions",
        ),
        "coffee": Photo(
            file="coffee.png",
            subject="a cup of coffee on a saucer (courtesy of Pikolo Espresso Bar)",
            source=_SKIMAGE + "coffee.png",
            author="Rachel Michetti",
            licence="CC0 by the photographer; no copyright restrictions",
        ),
        "rocket": Photo(
            file="rocket.png",
            subject="launch of Falcon 9 carrying DSCOVR, Cape Canaveral",
            source=_SKIMAGE
            + "rocket.jpg, originally https://www.flickr.com/photos/spacexphotos/16511594820/",
            author="SpaceX",
            licence="public domain (released by SpaceX)",
        ),
    }
)
"""Embedded photos by name, with the source, author and licence of each."""


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an uncompressed IDX file into a numpy array.

    IDX is the format of MNIST and Fashion-MNIST: two zero bytes, a type code,
    the number of dimensions ``n``, then ``n`` big-endian 32-bit sizes and the
    values in row-major order.

    Args:
        data: The file's bytes, already decompressed.

    Returns:
        An array of the declared shape and type (``uint8`` for images and labels).

    Raises:
        ValueError: If the header is invalid or the data is shorter or longer
            than the header declares.

    Example:
        >>> header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
        >>> parse_idx(header + bytes(range(6))).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("invalid IDX data: it must start with two zero bytes, a type code and a rank")
    type_code, rank = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"invalid IDX type code 0x{type_code:02x}: expected one of 08, 09, 0b, 0c, 0d, 0e")
    header_size = 4 + 4 * rank
    if len(data) < header_size:
        raise ValueError(f"invalid IDX data: {len(data)} bytes, shorter than its {header_size}-byte header")

    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    dtype = _IDX_DTYPES[type_code]
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"invalid IDX data: {len(data)} bytes, but the header of shape {shape} needs {expected}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)


def _checked_file(asset_name: str, relative_path: str) -> Path:
    """Return the path of an embedded file after checking its size and digest."""
    declared: AssetFile = next(item for item in get_asset(asset_name).files if item.path == relative_path)
    return verify_file(PACKAGE_DATA / declared.path, declared.sha256, size=declared.size_bytes)


def load_fashion_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """Load the embedded Fashion-MNIST test split.

    Returns:
        ``(images, labels)``: ``uint8`` images of shape ``(10000, 28, 28)`` with
        values 0 to 255 (0 is the background), and ``int64`` labels of shape
        ``(10000,)`` indexing [`FASHION_MNIST_CLASSES`][cvnotes.data.FASHION_MNIST_CLASSES].

    Raises:
        AssetIntegrityError: If an embedded file is corrupt or truncated.

    Example:
        >>> images, labels = load_fashion_mnist()
        >>> images.shape, images.dtype, labels.shape, labels.dtype
        (torch.Size([10000, 28, 28]), torch.uint8, torch.Size([10000]), torch.int64)
        >>> names = FASHION_MNIST_CLASSES["en"]
        >>> names[int(labels[0])]
        'Ankle boot'
    """
    images_path = _checked_file("fashion-mnist-test", "fashion_mnist/t10k-images-idx3-ubyte.gz")
    labels_path = _checked_file("fashion-mnist-test", "fashion_mnist/t10k-labels-idx1-ubyte.gz")
    images = parse_idx(gzip.decompress(images_path.read_bytes()))
    labels = parse_idx(gzip.decompress(labels_path.read_bytes()))
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise ValueError(f"unexpected Fashion-MNIST shapes {images.shape} and {labels.shape}")

    # np.frombuffer arrays are read-only; copy so torch owns writable memory.
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def load_photo(name: str) -> Image.Image:
    """Load an embedded photo as an RGB image.

    Args:
        name: A key of [`PHOTOS`][cvnotes.data.PHOTOS] (``"cat"``, ``"coffee"``, ``"rocket"``).

    Returns:
        The photo as a ``PIL.Image.Image`` in RGB mode, 320 pixels on the short side
        at most, fully loaded so no file stays open.

    Raises:
        ValueError: If ``name`` is not a known photo; the message lists the names.
        AssetIntegrityError: If the file is corrupt or truncated.

    Example:
        >>> load_photo("cat").size
        (451, 300)
    """
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}: use one of {', '.join(PHOTOS)}")
    path = _checked_file("photos", f"photos/{PHOTOS[name].file}")
    with Image.open(path) as image:
        return image.convert("RGB")


def _torchvision_dataset(
    asset_name: str, dataset_class: str, *, train: bool, offline: bool, cache: Path | None
) -> VisionDataset:
    """Open a torchvision data set from the cache, downloading it first unless ``offline``."""
    import torchvision.datasets

    root = cache if cache is not None else assets.cache_dir()
    asset = get_asset(asset_name)
    assert asset.is_cached is not None and asset.download is not None
    if not asset.is_cached(root):
        if offline:
            raise assets.AssetMissingError(asset_name, cache=root)
        asset.download(root)
    # download=False: the files are in place, so torchvision only reads them.
    return getattr(torchvision.datasets, dataset_class)(
        assets.torchvision_datasets_dir(root), train=train, download=False
    )


def load_mnist(*, train: bool, offline: bool, cache: Path | None = None) -> MNIST:
    """Open MNIST (LeCun, Bottou, Bengio and Haffner, Proc. IEEE 1998) through torchvision.

    Args:
        train: The 60,000-image training split if True, else the 10,000-image test split.
        offline: Never touch the network; a missing data set raises instead.
        cache: Cache directory; ``cvnotes.assets.cache_dir()`` by default.

    Returns:
        A ``torchvision.datasets.MNIST`` whose items are ``(PIL image, label)``.

    Raises:
        AssetMissingError: If ``offline`` is set and MNIST is not in the cache.
    """
    return _torchvision_dataset("mnist", "MNIST", train=train, offline=offline, cache=cache)


def load_cifar100(*, train: bool, offline: bool, cache: Path | None = None) -> CIFAR100:
    """Open CIFAR-100 (Krizhevsky, 2009) through torchvision, which checks each file's MD5.

    Args:
        train: The 50,000-image training split if True, else the 10,000-image test split.
        offline: Never touch the network; a missing data set raises instead.
        cache: Cache directory; ``cvnotes.assets.cache_dir()`` by default.

    Returns:
        A ``torchvision.datasets.CIFAR100`` whose items are ``(PIL image, fine label)``;
        its ``classes`` attribute lists the 100 class names.

    Raises:
        AssetMissingError: If ``offline`` is set and CIFAR-100 is not in the cache.
        RuntimeError: From torchvision, if a cached file fails its MD5 check.
    """
    return _torchvision_dataset("cifar-100", "CIFAR100", train=train, offline=offline, cache=cache)
