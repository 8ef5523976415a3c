"""Offline stand-ins for the CLIP tests: a tiny random-init open_clip model and CIFAR-100-format files.

A real ViT-B/32 checkpoint is 600 MB and CIFAR-100 is 160 MB, neither of which a test may download.
The tiny model uses open_clip's own CLIP class, tokenizer and preprocess, with one transformer layer
per tower and 32x32 inputs, so it builds in well under a second on a CPU.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

TINY_MODEL = "cvnotes-test-tiny"
TINY_CONFIG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def tiny_clip(tmp_path: Path, seed: int = 0):
    """Return a random-init tiny open_clip model as ``cvnotes.models.PretrainedClip``."""
    import open_clip
    import torch

    from cvnotes.models import PretrainedClip

    config_path = tmp_path / f"{TINY_MODEL}.json"
    config_path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(TINY_MODEL, pretrained=None)
    # A model as open_clip builds it for training; the code under test must switch it to eval mode.
    model.train()
    return PretrainedClip(
        model=model,
        preprocess=preprocess,
        tokenizer=open_clip.get_tokenizer(TINY_MODEL),
        model_name=TINY_MODEL,
        pretrained="random-init",
    )


def cifar100_class_names() -> list[str]:
    """Return CIFAR-100's 100 fine class names in label order (alphabetical, as the meta file has them)."""
    from cvnotes.clip import OBJECT_CLASSES, SCENE_CLASSES

    named = sorted(set(SCENE_CLASSES) | set(OBJECT_CLASSES))
    filler = [f"class_{number:02d}" for number in range(100 - len(named))]
    return sorted(named + filler)


def write_cifar100(root: Path, images_per_class: int = 2, seed: int = 0) -> list[str]:
    """Write a CIFAR-100-format test split (plus tiny train split and meta) under ``root``.

    The layout is torchvision's: ``root/torchvision/cifar-100-python/{train,test,meta}``, pickled
    dicts with ``data`` (N, 3072) uint8, ``fine_labels`` and ``fine_label_names``.
    Sea images are orange-red discs on blue, so that a photo of a sunset over the sea is imitated.

    Returns:
        The class names, in label order.
    """
    names = cifar100_class_names()
    generator = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(names)), images_per_class)
    images = generator.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:32, :32]
    disc = (yy - 12) ** 2 + (xx - 16) ** 2 < 49
    for index in np.nonzero(labels == names.index("sea"))[0]:
        images[index] = (30, 60, 160)
        images[index][disc] = (240, 90, 30)

    folder = root / "torchvision" / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    test = {"data": images.transpose(0, 3, 1, 2).reshape(len(labels), -1), "fine_labels": labels.tolist()}
    for split in ("test", "train"):
        with open(folder / split, "wb") as stream:
            pickle.dump(test, stream)
    with open(folder / "meta", "wb") as stream:
        pickle.dump({"fine_label_names": names}, stream)
    return names


def accept_fake_cifar(monkeypatch) -> None:
    """Let torchvision open the fake files, whose MD5 digests differ from the real archive's."""
    import torchvision.datasets.cifar

    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
