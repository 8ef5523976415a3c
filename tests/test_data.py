"""Tests of the embedded data: IDX parsing, Fashion-MNIST, class names and photos."""

from __future__ import annotations

import gzip
import re
import shutil
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
import torch

from cvnotes import assets, data
from cvnotes.assets import AssetIntegrityError
from cvnotes.data import FASHION_MNIST_CLASSES, PHOTOS, load_fashion_mnist, load_photo, parse_idx

REPO = Path(__file__).resolve().parents[1]
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
HANGUL = re.compile("[\uac00-\ud7a3]")


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.tobytes()


def test_parse_idx_uint8_three_dimensions():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    parsed = parse_idx(idx_bytes(array, 0x08))
    assert parsed.dtype == np.uint8
    assert parsed.shape == (2, 3, 4)
    np.testing.assert_array_equal(parsed, array)


def test_parse_idx_big_endian_int32():
    array = np.array([1, -2, 70000], dtype=">i4")
    parsed = parse_idx(idx_bytes(array, 0x0C))
    assert parsed.tolist() == [1, -2, 70000]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x00", "two zero bytes"),
        (b"\x00\x00\x07\x01" + (1).to_bytes(4, "big") + b"\x00", "type code 0x07"),
        (b"\x00\x00\x08\x02" + (1).to_bytes(4, "big"), "shorter than"),
        (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x00\x01", "needs 11"),
        (b"\x00\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x00\x01", "needs 9"),
    ],
    ids=["bad-magic", "bad-type", "short-header", "truncated", "trailing-bytes"],
)
def test_parse_idx_invalid_data(data, message):
    with pytest.raises(ValueError, match=message):
        parse_idx(data)


def test_load_fashion_mnist_shapes_and_types():
    images, labels = load_fashion_mnist()
    assert images.shape == (10000, 28, 28)
    assert images.dtype == torch.uint8
    assert labels.shape == (10000,)
    assert labels.dtype == torch.int64
    assert int(images.max()) == 255
    assert int(images.min()) == 0


def test_load_fashion_mnist_balanced_classes():
    # The Fashion-MNIST test split contains 1,000 images of each of the 10 classes.
    _, labels = load_fashion_mnist()
    assert torch.bincount(labels).tolist() == [1000] * 10


@pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian package dataset-fashion-mnist is not installed"
)
def test_embedded_fashion_mnist_matches_debian_files():
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        embedded = (assets.PACKAGE_DATA / "fashion_mnist" / name).read_bytes()
        assert embedded == (DEBIAN_FASHION_MNIST / name).read_bytes()


@pytest.fixture
def package_data_copy(tmp_path, monkeypatch) -> Path:
    """Point the package data directory at a copy that a test may damage."""
    copy = tmp_path / "data"
    shutil.copytree(assets.PACKAGE_DATA, copy)
    monkeypatch.setattr(data, "PACKAGE_DATA", copy)
    return copy


def test_load_fashion_mnist_corrupt_file(package_data_copy):
    path = package_data_copy / "fashion_mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(path.read_bytes())
    content[100] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(AssetIntegrityError, match="corrupt"):
        load_fashion_mnist()


def test_load_fashion_mnist_truncated_file(package_data_copy):
    path = package_data_copy / "fashion_mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(AssetIntegrityError, match="truncated"):
        load_fashion_mnist()


def test_embedded_labels_file_is_gzip_idx():
    raw = gzip.decompress((assets.PACKAGE_DATA / "fashion_mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert raw[:4] == bytes([0, 0, 0x08, 1])


def test_fashion_mnist_licence_and_attribution_ship():
    licence = (assets.PACKAGE_DATA / "fashion_mnist" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence
    assert "Zalando SE" in licence
    assert "arXiv:1708.07747" in licence
    for declared in assets.get_asset("fashion-mnist-test").files:
        assert declared.sha256 in licence


def test_class_names_in_both_languages():
    assert set(FASHION_MNIST_CLASSES) == {"ko", "en"}
    for language, names in FASHION_MNIST_CLASSES.items():
        assert len(names) == 10, language
        assert len(set(names)) == 10, language
    assert FASHION_MNIST_CLASSES["en"][9] == "Ankle boot"
    assert all(HANGUL.search(name) for name in FASHION_MNIST_CLASSES["ko"])


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_load_photo_rgb_and_small(name):
    image = load_photo(name)
    assert image.mode == "RGB"
    assert min(image.size) <= 320
    assert (assets.PACKAGE_DATA / "photos" / PHOTOS[name].file).stat().st_size < 300_000


def test_photos_record_source_and_licence():
    sources = (assets.PACKAGE_DATA / "photos" / "SOURCES.md").read_text(encoding="utf-8")
    declared = {Path(item.path).name for item in assets.get_asset("photos").files}
    assert declared == {photo.file for photo in PHOTOS.values()}
    for photo in PHOTOS.values():
        assert photo.source
        assert photo.author
        assert photo.licence
        assert f"`{photo.file}`" in sources
        assert photo.author in sources


def test_load_photo_unknown_name():
    with pytest.raises(ValueError, match="use one of cat, coffee, rocket"):
        load_photo("dog")


def test_load_photo_corrupt_file(package_data_copy):
    path = package_data_copy / "photos" / "cat.png"
    path.write_bytes(path.read_bytes()[:-10] + bytes(10))
    with pytest.raises(AssetIntegrityError, match="cat.png is corrupt"):
        load_photo("cat")


def test_package_data_ships_every_embedded_file():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["cvnotes"]
    shipped = [
        path.relative_to(REPO / "cvnotes").as_posix()
        for path in (REPO / "cvnotes" / "data").rglob("*")
        if path.is_file()
    ]
    assert shipped
    for relative in shipped:
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


def write_tiny_mnist(cache: Path) -> None:
    """Write four tiny MNIST files where torchvision expects them: 3 test and 2 training images."""
    raw = assets.torchvision_datasets_dir(cache) / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, count in (("train", 2), ("t10k", 3)):
        images = np.arange(count * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(count, 28, 28)
        labels = np.arange(count, dtype=np.uint8)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(idx_bytes(images, 0x08))
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 0x08))


def test_load_mnist_reads_cache_offline(tmp_path, monkeypatch):
    import torchvision.datasets.utils

    def raise_network_error(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(torchvision.datasets.utils, "download_url", raise_network_error)
    write_tiny_mnist(tmp_path)
    dataset = data.load_mnist(train=False, offline=True, cache=tmp_path)
    assert len(dataset) == 3
    image, label = dataset[2]
    assert image.size == (28, 28)
    assert label == 2


def test_load_mnist_offline_missing(tmp_path):
    with pytest.raises(assets.AssetMissingError, match="cvnotes fetch mnist"):
        data.load_mnist(train=True, offline=True, cache=tmp_path)


def test_load_cifar100_offline_missing(tmp_path):
    with pytest.raises(assets.AssetMissingError, match="cvnotes fetch cifar-100"):
        data.load_cifar100(train=False, offline=True, cache=tmp_path)
