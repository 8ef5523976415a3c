"""Tests of the models: SmallCNN, the quick classifier and its cache, the pretrained ResNet loader."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image
from torch import nn

from cvnotes import assets, models
from cvnotes.assets import AssetIntegrityError, AssetMissingError
from cvnotes.data import FASHION_MNIST_CLASSES
from cvnotes.models import (
    QuickTrainingConfig,
    SmallCNN,
    pretrained_resnet,
    quick_classifier,
    quick_classifier_path,
)

# A training budget small enough for tests that check mechanics, not accuracy.
TINY = QuickTrainingConfig(train_size=256, held_out_size=128, num_epochs=1, batch_size=64, min_accuracy=0.0)


def state_dicts_equal(first: nn.Module, second: nn.Module) -> bool:
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_small_cnn_output_shape():
    model = SmallCNN()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_small_cnn_named_layers():
    model = SmallCNN()
    for name, out_channels in (("conv1", 16), ("conv2", 32), ("conv3", 64)):
        layer = getattr(model, name)
        assert isinstance(layer, nn.Conv2d)
        assert layer.out_channels == out_channels


def test_small_cnn_last_conv_keeps_seven_by_seven():
    model = SmallCNN()
    captured = {}
    model.conv3.register_forward_hook(lambda module, inputs, output: captured.update(output=output))
    model(torch.zeros(1, 1, 28, 28))
    assert captured["output"].shape == (1, 64, 7, 7)


def test_quick_classifier_deterministic():
    first = quick_classifier(config=TINY, use_cache=False)
    second = quick_classifier(config=TINY, use_cache=False)
    assert state_dicts_equal(first.model, second.model)
    assert first.held_out_accuracy == second.held_out_accuracy
    assert torch.equal(first.held_out_indices, second.held_out_indices)


def test_quick_classifier_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    quick_classifier(config=TINY, use_cache=False)
    assert torch.equal(torch.rand(3), expected)


def test_quick_classifier_split_is_disjoint():
    classifier = quick_classifier(config=TINY, use_cache=False)
    train, held_out = models._split(TINY, 10000)
    assert len(set(train.tolist()) & set(held_out.tolist())) == 0
    assert torch.equal(held_out, classifier.held_out_indices)
    assert (classifier.train_size, classifier.held_out_size) == (256, 128)


def test_quick_classifier_reloads_from_cache(tmp_path, monkeypatch):
    trained = quick_classifier(cache=tmp_path, config=TINY)
    path = quick_classifier_path(tmp_path, TINY)
    assert path.is_file()
    record = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["held_out_accuracy"] == trained.held_out_accuracy

    def fail(*args, **kwargs):
        raise AssertionError("the cached weights should have been loaded, not trained again")

    monkeypatch.setattr(models, "_train", fail)
    loaded = quick_classifier(cache=tmp_path, config=TINY)
    assert state_dicts_equal(loaded.model, trained.model)
    assert loaded.held_out_accuracy == trained.held_out_accuracy
    assert loaded.digest == trained.digest
    assert (loaded.mean, loaded.std) == (trained.mean, trained.std)
    assert not loaded.model.training


def test_quick_classifier_loads_weights_only(tmp_path, monkeypatch):
    quick_classifier(cache=tmp_path, config=TINY)
    calls = []
    original = torch.load

    def record(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", record)
    quick_classifier(cache=tmp_path, config=TINY)
    assert calls == [True]


def test_quick_classifier_retrains_corrupt_cache(tmp_path, monkeypatch, caplog):
    quick_classifier(cache=tmp_path, config=TINY)
    path = quick_classifier_path(tmp_path, TINY)
    path.write_bytes(path.read_bytes()[:100])
    trainings = []
    original = models._train

    def record(*args, **kwargs):
        trainings.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(models, "_train", record)
    with caplog.at_level(logging.WARNING, logger="cvnotes.models"):
        quick_classifier(cache=tmp_path, config=TINY)
    assert trainings == [1]
    assert "truncated" in caplog.text
    # The retrained weights replace the damaged file.
    record_data = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert path.stat().st_size == record_data["size_bytes"]


def test_quick_classifier_cache_key_follows_config(tmp_path):
    other = QuickTrainingConfig(**{**TINY.__dict__, "lr": 5e-4})
    assert quick_classifier_path(tmp_path, TINY) != quick_classifier_path(tmp_path, other)


def test_quick_classifier_rejects_low_accuracy():
    strict = QuickTrainingConfig(**{**TINY.__dict__, "min_accuracy": 0.99})
    with pytest.raises(RuntimeError, match="below the required 0.99"):
        quick_classifier(config=strict, use_cache=False)


def test_quick_classifier_rejects_oversized_split():
    too_large = QuickTrainingConfig(**{**TINY.__dict__, "train_size": 9000, "held_out_size": 2000})
    with pytest.raises(ValueError, match="exceeds the 10000 embedded images"):
        quick_classifier(config=too_large, use_cache=False)


def test_normalize_uint8_images():
    classifier = quick_classifier(config=TINY, use_cache=False)
    images = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    inputs = classifier.normalize(images)
    assert inputs.shape == (2, 1, 28, 28)
    assert torch.allclose(inputs, torch.full_like(inputs, (1 - classifier.mean) / classifier.std))
    with pytest.raises(TypeError, match="uint8"):
        classifier.normalize(images.float())


def test_metrics_name_accuracy_and_split():
    classifier = quick_classifier(config=TINY, use_cache=False)
    metrics = classifier.metrics()
    assert metrics["held_out_accuracy"] == round(classifier.held_out_accuracy, 4)
    assert metrics["train_size"] == 256
    assert metrics["model_digest"] == classifier.digest
    assert classifier.class_names == FASHION_MNIST_CLASSES


@pytest.mark.slow
def test_quick_classifier_reaches_85_percent():
    classifier = quick_classifier(use_cache=False)
    assert classifier.held_out_accuracy >= 0.85
    assert (classifier.train_size, classifier.held_out_size) == (8000, 2000)


def place_random_resnet18(cache) -> None:
    """Save a randomly initialised resnet18 under torchvision's file name in ``cache``."""
    file_name = assets.RESNET_WEIGHTS["resnet18"][2]
    folder = assets.torchvision_weights_dir(cache)
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), folder / file_name)


def test_pretrained_resnet_offline_missing(tmp_path, no_network):
    with pytest.raises(AssetMissingError, match="cvnotes fetch resnet50-imagenet") as caught:
        pretrained_resnet(offline=True, cache=tmp_path)
    assert caught.value.asset_name == "resnet50-imagenet"
    assert str(tmp_path) in str(caught.value)


def test_pretrained_resnet_loads_cached_weights(tmp_path, no_network, monkeypatch):
    place_random_resnet18(tmp_path)
    # A random state dict cannot match the real file's SHA-256 prefix; this test is about loading.
    monkeypatch.setattr(models.assets, "verify_file", lambda path, sha256, size=None: path)
    calls = []
    original = torch.load

    def record(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", record)
    classifier = pretrained_resnet(offline=True, arch="resnet18", cache=tmp_path)
    assert calls == [True]
    assert not classifier.model.training
    assert len(classifier.categories) == 1000
    assert classifier.categories[0] == "tench"
    assert classifier.asset_name == "resnet18-imagenet"

    batch = classifier.preprocess(Image.new("RGB", (320, 240))).unsqueeze(0)
    assert batch.shape == (1, 3, 224, 224)
    with torch.no_grad():
        assert classifier.model(batch).shape == (1, 1000)


def test_pretrained_resnet_rejects_corrupt_weights(tmp_path, no_network):
    place_random_resnet18(tmp_path)
    with pytest.raises(AssetIntegrityError, match="expected f37072fd"):
        pretrained_resnet(offline=True, arch="resnet18", cache=tmp_path)


def test_pretrained_resnet_downloads_through_torchvision(tmp_path, monkeypatch):
    requests = []

    def fake_download(url, model_dir=None, **kwargs):
        requests.append((url, model_dir, kwargs))
        # Like torch.hub, the fake creates the directory it downloads into.
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save(
            torchvision.models.resnet18(weights=None).state_dict(), f"{model_dir}/resnet18-f37072fd.pth"
        )

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", fake_download)
    monkeypatch.setattr(models.assets, "verify_file", lambda path, sha256, size=None: path)
    classifier = pretrained_resnet(offline=False, arch="resnet18", cache=tmp_path)
    assert len(requests) == 1
    url, model_dir, options = requests[0]
    assert url == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    assert model_dir == str(assets.torchvision_weights_dir(tmp_path))
    assert options["check_hash"] is True
    assert options["weights_only"] is True
    assert not classifier.model.training


def test_pretrained_resnet_invalid_arch():
    with pytest.raises(ValueError, match="use one of resnet18, resnet50"):
        pretrained_resnet(offline=True, arch="resnet34")


def test_pretrained_clip_offline_missing(tmp_path, no_network):
    with pytest.raises(AssetMissingError, match="cvnotes fetch clip-vit-b-32-openai"):
        models.pretrained_clip(offline=True, cache=tmp_path)


def test_pretrained_clip_loads_cached_file_by_path(tmp_path, no_network, monkeypatch):
    import open_clip

    # A real ViT-B/32 checkpoint is 600 MB, so open_clip's factory is replaced by a recorder;
    # what is checked is which file and options reach it.
    weights = tmp_path / "open_clip_model.safetensors"
    weights.write_bytes(b"placeholder")
    monkeypatch.setattr(assets, "clip_cached_file", lambda root, model_name, pretrained: weights)
    calls = []

    def create(model_name, **options):
        calls.append((model_name, options))
        return nn.Linear(1, 1), None, "preprocess"

    monkeypatch.setattr(open_clip, "create_model_and_transforms", create)
    clip = models.pretrained_clip(offline=True, cache=tmp_path)
    # The path form gets the "openai" tag's own settings, which open_clip applies only to a tag.
    assert calls == [
        (
            "ViT-B-32",
            {
                "pretrained": str(weights),
                "force_quick_gelu": True,
                "image_mean": (0.48145466, 0.4578275, 0.40821073),
                "image_std": (0.26862954, 0.26130258, 0.27577711),
                "image_interpolation": "bicubic",
                "image_resize_mode": "shortest",
                "weights_only": True,
            },
        )
    ]
    assert clip.preprocess == "preprocess"
    assert not clip.model.training
    assert clip.tokenizer(["a photo of a cat"]).shape == (1, 77)


@pytest.mark.parametrize("field", ["train_size", "held_out_size", "num_epochs", "batch_size"])
def test_training_config_rejects_zero(field):
    with pytest.raises(ValueError, match=f"invalid {field}=0"):
        QuickTrainingConfig(**{field: 0})


def test_quick_classifier_ignores_thread_count():
    torch.set_num_threads(2)
    try:
        two_threads = quick_classifier(config=TINY, use_cache=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    one_thread = quick_classifier(config=TINY, use_cache=False)
    assert state_dicts_equal(two_threads.model, one_thread.model)
