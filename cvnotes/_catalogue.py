"""Declarations of every asset in [`cvnotes.assets.ASSETS`][cvnotes.assets.ASSETS].

Each download function calls the owning library with a root inside the cache
directory and lets that library check the download. Each ``is_cached`` function
only looks at the disk, so it is safe offline. Heavy libraries are imported
inside the functions, so importing ``cvnotes.assets`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from cvnotes.assets import Asset, AssetFile

__all__ = ["declare_assets", "torchvision_weights_dir", "torchvision_datasets_dir", "open_clip_dir"]

# Sub-directories of the cache, one per owning library.
TORCHVISION_WEIGHTS = "torch/checkpoints"
TORCHVISION_DATASETS = "torchvision"
OPEN_CLIP = "open_clip"

# File names of ImageNet weights in torchvision (checked against 0.29); the 8 hexadecimal digits
# after the dash are the start of the file's SHA-256 digest, which torch.hub checks on download.
# Sizes come from the weights' "_file_size" metadata (MiB with 3 decimals), so they are approximate.
RESNET_WEIGHTS = {
    "resnet18": ("ResNet18_Weights", "IMAGENET1K_V1", "resnet18-f37072fd.pth", 46_830_453),
    "resnet50": ("ResNet50_Weights", "IMAGENET1K_V2", "resnet50-11ad3fa6.pth", 102_540_247),
}

# open_clip 2.24 and later take ViT-B-32 "openai" from this Hugging Face repository.
CLIP_HF_REPO = "timm/vit_base_patch32_clip_224.openai"
CLIP_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

IMAGENET_TERMS = (
    "BSD-3-Clause (torchvision); the weights were trained on ImageNet, whose terms of access "
    "allow non-commercial research and educational use only"
)


def torchvision_weights_dir(root: Path) -> Path:
    """Return the directory, inside the cache ``root``, that holds torchvision weights."""
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


def clip_cached_file(root: Path) -> Path | None:
    """Return the cached ViT-B-32 "openai" weight file, or None; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    for file_name in CLIP_HF_FILES:
        found = try_to_load_from_cache(CLIP_HF_REPO, file_name, cache_dir=str(open_clip_dir(root)))
        if isinstance(found, str):
            return Path(found)
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
        size_bytes=0,
        sha256=None,
        licence="MIT (cvnotes); trained on Fashion-MNIST (MIT, Zalando SE)",
        loader="cvnotes.models.quick_classifier",
        profile="quick",
        checked_by="SHA-256 recorded beside the file when it is written, checked on load",
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
