"""Tests of the conditional GANs: designs, pixel scaling, labels, sampling, training, checkpoints, quality."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvnotes import assets, gan, models
from cvnotes.gan import (
    CGANTrainingConfig,
    DeepDiscriminator,
    DeepGenerator,
    TwoBranchDiscriminator,
    TwoBranchGenerator,
)

GENERATORS = [TwoBranchGenerator, DeepGenerator]
DISCRIMINATORS = [TwoBranchDiscriminator, DeepDiscriminator]


def linear_sizes(module: nn.Module) -> list[tuple[int, int]]:
    return [
        (layer.in_features, layer.out_features) for layer in module.modules() if isinstance(layer, nn.Linear)
    ]


def state_dicts_equal(first: nn.Module, second: nn.Module) -> bool:
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def tiny_data(count: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``count`` uint8 images in which class k is a bright horizontal band at row 2k + 4."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.randint(0, 40, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(labels.tolist()):
        images[index, 2 * label + 4 : 2 * label + 6, 4:24] = 255
    return images, labels


# Designs -------------------------------------------------------------------------------------


def test_two_branch_layer_sizes():
    assert linear_sizes(TwoBranchGenerator()) == [(100, 150), (10, 50), (200, 784)]
    assert linear_sizes(TwoBranchDiscriminator()) == [(784, 150), (10, 50), (200, 1)]


def test_deep_layer_sizes():
    generator = DeepGenerator()
    assert linear_sizes(generator) == [
        (100, 100),
        (110, 128),
        (128, 256),
        (256, 512),
        (512, 1024),
        (1024, 784),
    ]
    assert generator.label_embedding.weight.shape == (10, 10)
    batch_norms = [layer.num_features for layer in generator.modules() if isinstance(layer, nn.BatchNorm1d)]
    assert batch_norms == [256, 512, 1024]
    discriminator = DeepDiscriminator()
    assert linear_sizes(discriminator) == [(794, 512), (512, 512), (512, 512), (512, 1)]
    dropouts = [layer.p for layer in discriminator.modules() if isinstance(layer, nn.Dropout)]
    assert dropouts == [0.4, 0.4]
    slopes = {layer.negative_slope for layer in discriminator.modules() if isinstance(layer, nn.LeakyReLU)}
    assert slopes == {0.2}


@pytest.mark.parametrize("generator_class", GENERATORS)
def test_generator_output_shape_and_range(generator_class):
    generator = generator_class().eval()
    images = generator(torch.randn(5, 100) * 10, torch.tensor([0, 1, 2, 3, 9]))
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1
    assert images.max() <= 1


@pytest.mark.parametrize("discriminator_class", DISCRIMINATORS)
def test_discriminator_returns_logits(discriminator_class):
    discriminator = discriminator_class().eval()
    images = torch.rand(4, 1, 28, 28) * 2 - 1
    labels = torch.tensor([0, 3, 5, 9])
    logits = discriminator(images, labels)
    assert logits.shape == (4,)
    torch.testing.assert_close(discriminator.probability(images, labels), torch.sigmoid(logits))
    # The three accepted image layouts give the same logits.
    torch.testing.assert_close(discriminator(images.flatten(1), labels), logits)
    torch.testing.assert_close(discriminator(images[:, 0], labels), logits)


@pytest.mark.parametrize("generator_class", GENERATORS)
def test_generator_rejects_wrong_noise_size(generator_class):
    with pytest.raises(ValueError, match=r"invalid noise of shape \(2, 64\).*expected \(N, 100\)"):
        generator_class()(torch.randn(2, 64), torch.tensor([0, 1]))


@pytest.mark.parametrize("generator_class", GENERATORS)
def test_generator_rejects_label_out_of_range(generator_class):
    with pytest.raises(ValueError, match=r"invalid label 10: class indices must be in 0\.\.9"):
        generator_class()(torch.randn(2, 100), torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="invalid label -1"):
        generator_class()(torch.randn(1, 100), torch.tensor([-1]))


@pytest.mark.parametrize("discriminator_class", DISCRIMINATORS)
def test_discriminator_rejects_bad_input(discriminator_class):
    discriminator = discriminator_class()
    with pytest.raises(ValueError, match=r"invalid images of shape \(2, 3, 28, 28\)"):
        discriminator(torch.zeros(2, 3, 28, 28), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="2 rows but labels has 3"):
        discriminator(torch.zeros(2, 784), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="not one-hot"):
        discriminator(torch.zeros(2, 784), gan.one_hot(torch.tensor([0, 1])))


def test_build_design_rejects_unknown_name():
    with pytest.raises(ValueError, match="invalid design 'dcgan': use one of two-branch, deep"):
        gan.build_design("dcgan")


# Labels and pixel range ----------------------------------------------------------------------


def test_one_hot_rows():
    encoded = gan.one_hot(torch.tensor([0, 9, 4]))
    assert encoded.shape == (3, 10)
    assert encoded.dtype == torch.float32
    assert encoded.sum(dim=1).tolist() == [1.0, 1.0, 1.0]
    assert encoded.argmax(dim=1).tolist() == [0, 9, 4]


def test_one_hot_rejects_float_labels():
    with pytest.raises(ValueError, match="dtype torch.float32: pass integer class indices"):
        gan.one_hot(torch.tensor([1.0, 2.0]))


def test_pixel_range_endpoints():
    scaled = gan.to_model_range(torch.tensor([0, 255], dtype=torch.uint8))
    assert scaled.tolist() == [-1.0, 1.0]


def test_pixel_range_round_trip():
    pixels = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    scaled = gan.to_model_range(pixels)
    assert scaled.min() == -1.0
    assert scaled.max() == 1.0
    assert torch.equal(gan.to_uint8(scaled), pixels)


def test_to_uint8_clips_outside_range():
    assert gan.to_uint8(torch.tensor([-3.0, 2.0])).tolist() == [0, 255]


def test_to_model_range_rejects_floats():
    with pytest.raises(TypeError, match="uint8"):
        gan.to_model_range(torch.zeros(2))


# Sampling and conditioning -------------------------------------------------------------------


def deep_generator_with_running_stats() -> DeepGenerator:
    """Return a DeepGenerator whose BatchNorm running statistics differ from their initial values."""
    torch.manual_seed(0)
    generator = DeepGenerator()
    generator.train()
    with torch.no_grad():
        for _ in range(5):
            generator(torch.randn(32, 100) * 3 + 1, torch.randint(0, 10, (32,)))
    return generator


def test_eval_sample_independent_of_batch():
    generator = deep_generator_with_running_stats()
    noise = torch.randn(16, 100, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(16) % 10
    alone = gan.sample(generator, labels[:1], noise=noise[:1])
    in_batch = gan.sample(generator, labels, noise=noise)
    torch.testing.assert_close(alone[0], in_batch[0])


def test_train_mode_sample_depends_on_batch():
    # The reason sample() switches to eval mode: in train mode BatchNorm uses the batch's statistics.
    generator = deep_generator_with_running_stats()
    noise = torch.randn(16, 100, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(16) % 10
    with torch.no_grad():
        first = generator(noise[:8], labels[:8])[0]
        second = generator(torch.cat([noise[:1], noise[8:]]), torch.cat([labels[:1], labels[8:]]))[0]
    assert not torch.allclose(first, second, atol=1e-4)


def test_sample_restores_training_mode():
    generator = DeepGenerator().train()
    gan.sample(generator, torch.tensor([1, 2]))
    assert generator.training


@pytest.mark.parametrize("generator_class", GENERATORS)
def test_label_changes_generator_output(generator_class):
    torch.manual_seed(0)
    generator = generator_class().eval()
    noise = torch.randn(1, 100).repeat(10, 1)
    images = gan.sample(generator, torch.arange(10), noise=noise)
    for label in range(1, 10):
        assert (images[label] - images[0]).abs().max() > 1e-3, f"label {label} drew the same image as label 0"


def test_label_changes_deep_discriminator_ranking():
    torch.manual_seed(0)
    discriminator = DeepDiscriminator().eval()
    images = torch.rand(6, 784) * 2 - 1
    gaps = discriminator(images, torch.full((6,), 3)) - discriminator(images, torch.full((6,), 7))
    assert gaps.abs().min() > 0
    # The label's effect depends on the image, so D can judge whether they match.
    assert gaps.std() > 1e-4


def test_two_branch_discriminator_label_effect_ignores_image():
    # The two branches meet only in the last linear layer, so logit = f(x) + g(y): the
    # label shifts every image's logit by the same amount and D cannot check the match.
    torch.manual_seed(0)
    discriminator = TwoBranchDiscriminator().eval()
    images = torch.rand(6, 784) * 2 - 1
    gaps = discriminator(images, torch.full((6,), 3)) - discriminator(images, torch.full((6,), 7))
    torch.testing.assert_close(gaps, gaps[:1].expand(6), atol=1e-5, rtol=0)


def test_fixed_noise_grid_layout():
    noise, labels = gan.fixed_noise(4, seed=3)
    assert noise.shape == (40, 100)
    assert labels.tolist() == [label for label in range(10) for _ in range(4)]
    assert torch.equal(noise[1], noise[5])
    assert not torch.equal(noise[0], noise[1])
    assert torch.equal(gan.fixed_noise(4, seed=3)[0], noise)


# Training ------------------------------------------------------------------------------------


@pytest.mark.parametrize("design", gan.DESIGNS)
def test_short_run_moves_losses(design):
    images, labels = tiny_data(256)
    config = CGANTrainingConfig(design=design, num_epochs=4, batch_size=32)
    _, _, history = gan.train_cgan(images, labels, config, progress=False)
    log2 = math.log(2)
    # The discriminator learns first: in every epoch it scores real pairs above generated ones
    # and its loss is below log 2, the value of a discriminator that outputs 1/2 everywhere.
    for epoch in range(4):
        assert history.d_real[epoch] > history.d_fake[epoch], f"epoch {epoch + 1}"
        assert history.d_loss[epoch] < log2, f"epoch {epoch + 1}"
    for curve in (history.d_loss, history.g_loss, history.d_real, history.d_fake):
        assert len(curve) == 4
        assert all(math.isfinite(value) for value in curve)


def test_training_is_deterministic():
    images, labels = tiny_data()
    config = CGANTrainingConfig(design="deep", num_epochs=1, batch_size=32)
    first, _, _ = gan.train_cgan(images, labels, config, progress=False)
    second, _, _ = gan.train_cgan(images, labels, config, progress=False)
    assert state_dicts_equal(first, second)


@pytest.mark.parametrize("design", gan.DESIGNS)
def test_resume_matches_uninterrupted_run(tmp_path, design):
    images, labels = tiny_data()
    config = CGANTrainingConfig(design=design, num_epochs=3, batch_size=32, snapshot_epochs=(1, 3))
    full_g, full_d, full_history = gan.train_cgan(images, labels, config, progress=False)

    checkpoint = tmp_path / "run.pt"
    gan.train_cgan(images, labels, config, checkpoint=checkpoint, stop_after=1, progress=False)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 1
    resumed_g, resumed_d, resumed_history = gan.train_cgan(
        images, labels, config, checkpoint=checkpoint, progress=False
    )

    assert state_dicts_equal(resumed_g, full_g)
    assert state_dicts_equal(resumed_d, full_d)
    assert resumed_history.g_loss == full_history.g_loss
    assert resumed_history.d_loss == full_history.d_loss
    assert sorted(resumed_history.snapshots) == [1, 3]
    for epoch in (1, 3):
        assert torch.equal(resumed_history.snapshots[epoch], full_history.snapshots[epoch])


def test_checkpoint_of_other_config_rejected(tmp_path):
    images, labels = tiny_data()
    checkpoint = tmp_path / "run.pt"
    gan.train_cgan(
        images,
        labels,
        CGANTrainingConfig(design="two-branch", num_epochs=1),
        checkpoint=checkpoint,
        progress=False,
    )
    with pytest.raises(ValueError, match="written with another configuration"):
        gan.train_cgan(
            images,
            labels,
            CGANTrainingConfig(design="two-branch", num_epochs=2),
            checkpoint=checkpoint,
            progress=False,
        )


def test_checkpoint_write_leaves_no_temporary_files(tmp_path):
    images, labels = tiny_data()
    config = CGANTrainingConfig(design="two-branch", num_epochs=2)
    gan.train_cgan(images, labels, config, checkpoint=tmp_path / "run.pt", progress=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.pt"]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="invalid num_epochs=0"):
        CGANTrainingConfig(num_epochs=0)
    with pytest.raises(ValueError, match=r"invalid snapshot_epochs \[5\]"):
        CGANTrainingConfig(num_epochs=3, snapshot_epochs=(1, 5))
    with pytest.raises(ValueError, match="invalid design"):
        CGANTrainingConfig(design="wide")


def test_train_rejects_mismatched_data():
    images, labels = tiny_data(20)
    with pytest.raises(ValueError, match="20 images but 19 labels"):
        gan.train_cgan(images, labels[:19], CGANTrainingConfig(num_epochs=1), progress=False)


# Cached training -----------------------------------------------------------------------------


def tiny_profile(classifier: models.TrainedClassifier) -> gan.ProfileData:
    images, labels = tiny_data(64)
    return gan.ProfileData(
        name="Tiny",
        train_images=images,
        train_labels=labels,
        held_out_images=images,
        held_out_labels=labels,
        classifier=classifier,
        class_names=gan.MNIST_DIGITS,
        digest="tiny",
    )


@pytest.fixture(scope="module")
def random_classifier() -> models.TrainedClassifier:
    torch.manual_seed(0)
    return models.TrainedClassifier(
        model=models.SmallCNN().eval(),
        mean=0.2,
        std=0.3,
        held_out_accuracy=0.0,
        class_names=gan.MNIST_DIGITS,
        digest="random",
        train_size=0,
        held_out_size=0,
        held_out_indices=torch.arange(0),
    )


def test_trained_cgan_cached(tmp_path, random_classifier):
    profile = tiny_profile(random_classifier)
    config = CGANTrainingConfig(design="two-branch", num_epochs=2, batch_size=32, snapshot_epochs=(2,))
    first = gan.trained_cgan("two-branch", profile, config, cache=tmp_path, progress=False)
    path = gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path)
    assert path.is_file()
    assert path.with_suffix(".json").is_file()
    second = gan.trained_cgan("two-branch", profile, config, cache=tmp_path, progress=False)
    assert state_dicts_equal(first.generator, second.generator)
    assert second.history.g_loss == first.history.g_loss
    assert torch.equal(second.history.snapshots[2], first.history.snapshots[2])
    assert not second.generator.training


def test_trained_cgan_path_depends_on_device(tmp_path, random_classifier):
    profile = tiny_profile(random_classifier)
    config = CGANTrainingConfig(design="two-branch", num_epochs=1, batch_size=32)
    cpu_path = gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path)
    assert gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path, device="cpu") == cpu_path
    assert gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path, device="cuda") != cpu_path
    assert gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path, device="cuda:1") == (
        gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path, device="cuda")
    )


def test_trained_cgan_retrains_corrupt_cache(tmp_path, random_classifier, caplog):
    profile = tiny_profile(random_classifier)
    config = CGANTrainingConfig(design="two-branch", num_epochs=1, batch_size=32)
    first = gan.trained_cgan("two-branch", profile, config, cache=tmp_path, progress=False)
    path = gan.trained_cgan_path("two-branch", profile, config, cache=tmp_path)
    path.write_bytes(path.read_bytes()[:-8] + bytes(8))
    with caplog.at_level(logging.WARNING, logger="cvnotes.gan"):
        again = gan.trained_cgan("two-branch", profile, config, cache=tmp_path, progress=False)
    assert "ignoring the cached cGAN" in caplog.text
    assert state_dicts_equal(first.generator, again.generator)


def test_trained_cgan_rejects_mismatched_design(tmp_path, random_classifier):
    with pytest.raises(ValueError, match="config.design is 'deep' but design is 'two-branch'"):
        gan.trained_cgan(
            "two-branch", tiny_profile(random_classifier), CGANTrainingConfig(design="deep"), cache=tmp_path
        )


# Quality check -------------------------------------------------------------------------------


def test_diversity_ratio_by_hand():
    real = torch.tensor([[0.0, 0.0], [0.0, 4.0]])
    assert gan.diversity_ratio(torch.tensor([[1.0, 1.0], [1.0, 3.0]]), real) == pytest.approx(0.5)
    assert gan.diversity_ratio(torch.zeros(5, 2), real) == 0.0


def test_diversity_ratio_rejects_single_sample():
    with pytest.raises(ValueError, match="at least two rows"):
        gan.diversity_ratio(torch.zeros(1, 3), torch.zeros(4, 3))


class ConstantClassifierModel(models.SmallCNN):
    """A SmallCNN whose prediction is the row index of the brightest band, for a known accuracy."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        super().forward(x)  # runs the layers, so the feature hook fires
        rows = x[:, 0, :, 4:24].mean(dim=2)
        scores = torch.stack([rows[:, 2 * k + 4 : 2 * k + 6].mean(dim=1) for k in range(10)], dim=1)
        return scores


class BandGenerator(nn.Module):
    """A stand-in generator that draws the band of the requested class, or of class 0 for every label."""

    def __init__(self, collapse_to_zero: bool) -> None:
        super().__init__()
        self.noise_dim = 100
        self.collapse = collapse_to_zero
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        images = noise[:, :1, None, None].expand(-1, 1, 28, 28) * 0.3 - 0.6
        images = images.clone()
        for index, label in enumerate(labels.tolist()):
            row = 4 if self.collapse else 2 * label + 4
            images[index, 0, row : row + 2, 4:24] = 1.0
        return images


def band_classifier() -> models.TrainedClassifier:
    return models.TrainedClassifier(
        model=ConstantClassifierModel().eval(),
        mean=0.0,
        std=1.0,
        held_out_accuracy=1.0,
        class_names=gan.MNIST_DIGITS,
        digest="band",
        train_size=0,
        held_out_size=0,
        held_out_indices=torch.arange(0),
    )


def test_evaluate_samples_perfect_conditioning():
    images, labels = tiny_data(200)
    report = gan.evaluate_samples(
        BandGenerator(False), band_classifier(), images, labels, samples_per_class=20
    )
    assert report.conditional_accuracy == 1.0
    assert report.per_class_accuracy == [1.0] * 10
    assert len(report.per_class_diversity) == 10
    assert report.diversity > 0


def test_evaluate_samples_ignored_label():
    images, labels = tiny_data(200)
    report = gan.evaluate_samples(
        BandGenerator(True), band_classifier(), images, labels, samples_per_class=20
    )
    assert report.per_class_accuracy == [1.0] + [0.0] * 9
    assert report.conditional_accuracy == pytest.approx(0.1)


def test_evaluate_samples_needs_enough_real_images():
    images, labels = tiny_data(30)
    with pytest.raises(ValueError, match="class 0 has 3 real images, fewer than samples_per_class=20"):
        gan.evaluate_samples(BandGenerator(False), band_classifier(), images, labels, samples_per_class=20)


# Full profile: MNIST through torchvision, faked in a temporary cache --------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.tobytes()


def write_fake_mnist(cache: Path, train_count: int = 200, test_count: int = 100) -> None:
    """Write MNIST files where torchvision reads them, with the band images of tiny_data."""
    raw = assets.torchvision_datasets_dir(cache) / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, count, seed in (("train", train_count, 0), ("t10k", test_count, 1)):
        images, labels = tiny_data(count, seed=seed)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(idx_bytes(images.numpy()))
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(idx_bytes(labels.numpy().astype(np.uint8)))


TINY_CLASSIFIER = models.QuickTrainingConfig(
    train_size=200, held_out_size=100, num_epochs=3, batch_size=20, lr=2e-3, min_accuracy=0.9
)


def test_full_classifier_trains_and_caches(tmp_path, no_network):
    write_fake_mnist(tmp_path)
    first = gan.full_classifier(offline=True, cache=tmp_path, config=TINY_CLASSIFIER)
    assert first.held_out_accuracy >= 0.9
    assert first.class_names == gan.MNIST_DIGITS
    cached = sorted(path.name for path in (tmp_path / "cvnotes").iterdir())
    assert len(cached) == 2
    assert cached[0].startswith("small-cnn-mnist-")
    second = gan.full_classifier(offline=True, cache=tmp_path, config=TINY_CLASSIFIER)
    assert state_dicts_equal(first.model, second.model)
    assert second.held_out_accuracy == first.held_out_accuracy


def test_full_classifier_raises_below_bound(tmp_path, no_network):
    write_fake_mnist(tmp_path)
    # A learning rate this small leaves the network at its random initial accuracy.
    strict = models.QuickTrainingConfig(
        train_size=10, held_out_size=100, num_epochs=1, batch_size=10, lr=1e-9, min_accuracy=0.99
    )
    with pytest.raises(RuntimeError, match="below the required 0.99"):
        gan.full_classifier(offline=True, cache=tmp_path, config=strict)


def test_full_profile_offline_missing(tmp_path, no_network):
    with pytest.raises(assets.AssetMissingError, match="cvnotes fetch mnist"):
        gan.load_profile("full", offline=True, cache=tmp_path)


def test_load_profile_rejects_unknown():
    with pytest.raises(ValueError, match="invalid profile 'medium'"):
        gan.load_profile("medium", offline=True)


def test_quick_profile_splits_like_classifier():
    profile = gan.load_profile("quick", offline=True)
    assert profile.name == "Fashion-MNIST"
    assert len(profile.train_images) == profile.classifier.train_size
    assert len(profile.held_out_images) == profile.classifier.held_out_size
    assert profile.train_images.dtype == torch.uint8


# The page's claims about the discriminator's output and loss ----------------------------------


def test_sigmoid_bce_equals_bce_with_logits():
    logits = torch.linspace(-8, 8, 17, dtype=torch.float64)
    for target in (torch.zeros(17, dtype=torch.float64), torch.ones(17, dtype=torch.float64)):
        with_logits = F.binary_cross_entropy_with_logits(logits, target)
        with_sigmoid = F.binary_cross_entropy(torch.sigmoid(logits), target)
        torch.testing.assert_close(with_logits, with_sigmoid)


def test_double_sigmoid_floors_fake_loss():
    # A sigmoid in the network and BCEWithLogitsLoss: the loss on a fake target cannot go below log 2.
    logits = torch.linspace(-30, 30, 61)
    loss = F.binary_cross_entropy_with_logits(torch.sigmoid(logits), torch.zeros(61), reduction="none")
    assert loss.min() >= math.log(2) - 1e-6
    assert loss.max() <= -math.log(1 - torch.sigmoid(torch.tensor(1.0)).item()) + 1e-6
