"""Figures of the conditional-GAN assignment: samples, losses, samples over epochs and a quality check.

Every recipe uses the same two trained designs of [`cvnotes.gan`][cvnotes.gan], chosen by the profile:

- quick: both designs trained on 8,000 embedded Fashion-MNIST images, checked by the
  quick profile's SmallCNN ([`quick_classifier`][cvnotes.models.quick_classifier]);
- full: both designs trained on the 60,000 MNIST training images, checked by a SmallCNN
  trained on the same images ([`full_classifier`][cvnotes.gan.full_classifier]). Offline
  without MNIST in the cache, the recipes raise [`AssetMissingError`][cvnotes.assets.AssetMissingError].

Training is cached by content hash ([`trained_cgan`][cvnotes.gan.trained_cgan]), so the
four recipes share one training run per design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from cvnotes import data, gan, models
from cvnotes.assets import PACKAGE_DATA, get_asset
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["cgan_epochs", "cgan_losses", "cgan_quality", "cgan_samples", "grid_image"]

_INPUTS = [PACKAGE_DATA / item.path for item in get_asset("fashion-mnist-test").files]
_CODE = (gan, models, data)
_ASSETS = ("fashion-mnist-test", "small-cnn-fashion-mnist", "mnist")
_PARAMS: dict[str, Any] = {"samples_per_class": 100, "quality_seed": 1}
_COLORS = {"two-branch": "#e6550d", "deep": "#3182bd"}

_TEXT = {
    "ko": {
        "design": {
            "two-branch": "설계 1: branch마다 hidden layer 하나",
            "deep": "설계 2: 깊은 MLP + BatchNorm",
        },
        "quality": "조건부 정확도 {accuracy:.1%}, diversity {diversity:.2f}",
        "samples_title": "고정 noise로 그린 10 × 10 샘플 ({data}, {epochs} epoch, 행 = 요청한 label, 열 = 같은 noise)",
        "losses_title": "epoch별 평균 손실 ({data}): G는 non-saturating, D는 real/fake 두 항의 평균",
        "epoch": "epoch",
        "loss": "손실 (nats)",
        "g_loss": r"G 손실 $-\log D(G(z,y),y)$",
        "d_loss": r"D 손실 (두 항의 평균)",
        "equilibrium": r"균형점 $D = 1/2$의 값 $\log 2 \approx 0.693$",
        "final": "마지막 epoch: G {g:.3f}, D {d:.3f}, D(real) {real:.2f}, D(fake) {fake:.2f}",
        "epochs_title": "같은 고정 noise로 그린 샘플의 변화 ({data}, 행 = label)",
        "after_epoch": "{epoch} epoch 후",
        "quality_title": "생성 샘플의 조건부 정확도와 diversity ({data}, class마다 {count}장, 분류기 held-out 정확도 {classifier:.1%})",
        "accuracy_axis": "조건부 정확도 (요청한 class로 분류된 비율)",
        "diversity_axis": "diversity (생성 / 실제 특징 거리 평균)",
        "real_level": "실제 이미지 수준 1.0",
        "class": "요청한 class",
        "mean": "평균",
    },
    "en": {
        "design": {
            "two-branch": "Design 1: one hidden layer per branch",
            "deep": "Design 2: deep MLP + BatchNorm",
        },
        "quality": "conditional accuracy {accuracy:.1%}, diversity {diversity:.2f}",
        "samples_title": "10 × 10 samples from fixed noise ({data}, {epochs} epochs, row = requested label, column = same noise)",
        "losses_title": "Mean loss per epoch ({data}): non-saturating G loss, D loss as the mean of its real and fake terms",
        "epoch": "epoch",
        "loss": "loss (nats)",
        "g_loss": r"G loss $-\log D(G(z,y),y)$",
        "d_loss": "D loss (mean of both terms)",
        "equilibrium": r"value at the equilibrium $D = 1/2$: $\log 2 \approx 0.693$",
        "final": "last epoch: G {g:.3f}, D {d:.3f}, D(real) {real:.2f}, D(fake) {fake:.2f}",
        "epochs_title": "Samples from the same fixed noise as training goes on ({data}, row = label)",
        "after_epoch": "after epoch {epoch}",
        "quality_title": "Conditional accuracy and diversity of generated samples ({data}, {count} per class, classifier held-out accuracy {classifier:.1%})",
        "accuracy_axis": "conditional accuracy (share classified as requested)",
        "diversity_axis": "diversity (generated / real mean feature distance)",
        "real_level": "real-image level 1.0",
        "class": "requested class",
        "mean": "mean",
    },
}


def grid_image(images: torch.Tensor, num_columns: int, padding: int = 2) -> np.ndarray:
    """Tile images of shape ``(N, 1, 28, 28)`` in [-1, 1] into one ``uint8`` picture, row-major.

    Args:
        images: Images in the generator's range; ``N`` must be a multiple of ``num_columns``.
        num_columns: Images per row.
        padding: Pixels of white between images.

    Returns:
        A ``uint8`` array of shape ``(rows * (28 + padding) - padding, columns * (28 + padding) - padding)``.
    """
    if len(images) % num_columns:
        raise ValueError(f"{len(images)} images do not fill rows of {num_columns}; pass a multiple of it")
    pixels = gan.to_uint8(images).reshape(-1, 28, 28).numpy()
    num_rows = len(pixels) // num_columns
    step = 28 + padding
    picture = np.full((num_rows * step - padding, num_columns * step - padding), 255, dtype=np.uint8)
    for index, tile in enumerate(pixels):
        row, column = divmod(index, num_columns)
        picture[row * step : row * step + 28, column * step : column * step + 28] = tile
    return picture


def _trained(context: RecipeContext) -> tuple[gan.ProfileData, dict[str, gan.TrainedCGAN]]:
    """Return the profile's data and both trained designs (from the cache after the first recipe)."""
    profile_data = gan.load_profile(context.profile, offline=context.offline)
    configs = gan.QUICK_CONFIGS if context.profile == "quick" else gan.FULL_CONFIGS
    trained = {
        design: gan.trained_cgan(design, profile_data, configs[design], device=context.device)
        for design in gan.DESIGNS
    }
    return profile_data, trained


def _quality(
    context: RecipeContext, profile_data: gan.ProfileData, trained: Mapping[str, gan.TrainedCGAN]
) -> dict[str, gan.QualityReport]:
    return {
        design: gan.evaluate_samples(
            model.generator,
            profile_data.classifier,
            profile_data.held_out_images,
            profile_data.held_out_labels,
            samples_per_class=context.params["samples_per_class"],
            seed=context.params["quality_seed"],
        )
        for design, model in trained.items()
    }


def _common_metrics(
    profile_data: gan.ProfileData,
    trained: Mapping[str, gan.TrainedCGAN],
    reports: Mapping[str, gan.QualityReport] | None = None,
) -> dict[str, Any]:
    metrics: dict[str, Any] = {"data": profile_data.name, "train_size": len(profile_data.train_images)}
    metrics |= {f"classifier_{key}": value for key, value in profile_data.classifier.metrics().items()}
    for design, model in trained.items():
        prefix = design.replace("-", "_") + "_"
        metrics[prefix + "num_epochs"] = model.config.num_epochs
        metrics[prefix + "batch_size"] = model.config.batch_size
        metrics[prefix + "checkpoint_digest"] = model.digest
        if reports is not None:
            metrics |= reports[design].metrics(prefix)
    return metrics


def _label_rows(axes: Any, class_names: tuple[str, ...], padding: int = 2) -> None:
    """Name each row of a grid drawn by ``grid_image`` with its class, and hide the frame."""
    step = 28 + padding
    axes.set_yticks([row * step + 14 for row in range(len(class_names))], class_names, fontsize=8)
    axes.set_xticks([])
    axes.tick_params(length=0)
    axes.grid(False)
    for spine in axes.spines.values():
        spine.set_visible(False)


@recipe(
    "cgan-samples",
    title={
        "ko": "두 cGAN 설계의 10 × 10 샘플 (행 = label, 고정 noise)",
        "en": "10 × 10 samples of both cGAN designs (row = label, fixed noise)",
    },
    params=_PARAMS,
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cgan_samples(context: RecipeContext) -> RecipeOutput:
    """Draw the final fixed-noise grid of each design side by side, with its quality numbers."""
    profile_data, trained = _trained(context)
    reports = _quality(context, profile_data, trained)
    metrics = _common_metrics(profile_data, trained, reports)

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(12, 6.6), layout="constrained")
        axes = figure.subplots(1, 2)
        epochs = max(model.config.num_epochs for model in trained.values())
        figure.suptitle(text["samples_title"].format(data=profile_data.name, epochs=epochs))
        for panel, (design, model) in zip(axes, trained.items(), strict=True):
            noise, labels = gan.fixed_noise(model.config.grid_columns, seed=model.config.seed)
            images = gan.sample(model.generator, labels, noise=noise)
            panel.imshow(grid_image(images, model.config.grid_columns), cmap="gray", vmin=0, vmax=255)
            _label_rows(panel, profile_data.class_names[language])
            report = reports[design]
            panel.set_title(
                text["design"][design]
                + "\n"
                + text["quality"].format(accuracy=report.conditional_accuracy, diversity=report.diversity),
                fontsize=10,
            )
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


@recipe(
    "cgan-losses",
    title={
        "ko": "두 cGAN 설계의 G, D 손실 곡선과 균형점 log 2",
        "en": "Generator and discriminator loss curves of both cGAN designs, with the equilibrium log 2",
    },
    params=_PARAMS,
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cgan_losses(context: RecipeContext) -> RecipeOutput:
    """Plot the mean G and D losses per epoch of each design against the equilibrium value log 2."""
    profile_data, trained = _trained(context)
    metrics = _common_metrics(profile_data, trained)
    for design, model in trained.items():
        prefix = design.replace("-", "_") + "_"
        history = model.history
        metrics[prefix + "final_g_loss"] = round(history.g_loss[-1], 4)
        metrics[prefix + "final_d_loss"] = round(history.d_loss[-1], 4)
        metrics[prefix + "final_d_real"] = round(history.d_real[-1], 4)
        metrics[prefix + "final_d_fake"] = round(history.d_fake[-1], 4)
        metrics[prefix + "g_above_d_epochs"] = sum(
            g > d for g, d in zip(history.g_loss, history.d_loss, strict=True)
        )
    metrics["equilibrium_loss"] = math.log(2)

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(12, 4.8), layout="constrained")
        axes = figure.subplots(1, 2, sharey=True)
        figure.suptitle(text["losses_title"].format(data=profile_data.name))
        for panel, (design, model) in zip(axes, trained.items(), strict=True):
            history = model.history
            epochs = range(1, len(history.g_loss) + 1)
            panel.plot(epochs, history.g_loss, color=_COLORS[design], linewidth=2, label=text["g_loss"])
            panel.plot(epochs, history.d_loss, color="0.3", linewidth=2, linestyle="-.", label=text["d_loss"])
            panel.axhline(math.log(2), color="0.5", linestyle="--", linewidth=1, label=text["equilibrium"])
            panel.set_title(text["design"][design], fontsize=10)
            panel.set_xlabel(
                text["epoch"]
                + "\n"
                + text["final"].format(
                    g=history.g_loss[-1],
                    d=history.d_loss[-1],
                    real=history.d_real[-1],
                    fake=history.d_fake[-1],
                )
            )
            panel.legend(loc="best", fontsize=8)
        axes[0].set_ylabel(text["loss"])
        axes[0].set_ylim(bottom=0)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


@recipe(
    "cgan-epochs",
    title={
        "ko": "학습이 진행되며 고정 noise 샘플이 변하는 모습 (두 설계)",
        "en": "Samples from fixed noise at several epochs (both designs)",
    },
    params=_PARAMS,
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cgan_epochs(context: RecipeContext) -> RecipeOutput:
    """Show the fixed-noise grid kept after several epochs of training, one row of panels per design."""
    profile_data, trained = _trained(context)
    metrics = _common_metrics(profile_data, trained)
    snapshot_epochs = {design: sorted(model.history.snapshots) for design, model in trained.items()}
    metrics |= {
        design.replace("-", "_") + "_snapshot_epochs": epochs for design, epochs in snapshot_epochs.items()
    }
    num_panels = max(len(epochs) for epochs in snapshot_epochs.values())

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(3.4 * num_panels, 7.6), layout="constrained")
        axes = figure.subplots(len(trained), num_panels, squeeze=False)
        figure.suptitle(text["epochs_title"].format(data=profile_data.name))
        for row, (design, model) in enumerate(trained.items()):
            for column in range(num_panels):
                panel = axes[row, column]
                if column >= len(snapshot_epochs[design]):
                    panel.set_visible(False)
                    continue
                epoch = snapshot_epochs[design][column]
                grid = grid_image(model.history.snapshots[epoch], model.config.grid_columns)
                panel.imshow(grid, cmap="gray", vmin=0, vmax=255)
                _label_rows(panel, profile_data.class_names[language])
                if column > 0:
                    panel.set_yticks([])
                panel.set_title(text["after_epoch"].format(epoch=epoch), fontsize=10)
            axes[row, 0].set_ylabel(text["design"][design], fontsize=10)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


@recipe(
    "cgan-quality",
    title={
        "ko": "생성 샘플의 class별 조건부 정확도와 diversity (실제 데이터로 학습한 분류기로 측정)",
        "en": "Per-class conditional accuracy and diversity of generated samples, measured by a classifier of real data",
    },
    params=_PARAMS,
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cgan_quality(context: RecipeContext) -> RecipeOutput:
    """Compare the designs per requested class: conditional accuracy and diversity ratio."""
    profile_data, trained = _trained(context)
    reports = _quality(context, profile_data, trained)
    metrics = _common_metrics(profile_data, trained, reports)
    positions = np.arange(gan.NUM_CLASSES)
    width = 0.38

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(12, 7.4), layout="constrained")
        accuracy_axes, diversity_axes = figure.subplots(2, 1, sharex=True)
        figure.suptitle(
            text["quality_title"].format(
                data=profile_data.name,
                count=context.params["samples_per_class"],
                classifier=profile_data.classifier.held_out_accuracy,
            )
        )
        for offset, (design, report) in zip((-width / 2, width / 2), reports.items(), strict=True):
            accuracy_label = f"{text['design'][design]} ({text['mean']} {report.conditional_accuracy:.1%})"
            accuracy_axes.bar(
                positions + offset,
                report.per_class_accuracy,
                width,
                color=_COLORS[design],
                label=accuracy_label,
            )
            diversity_label = f"{text['design'][design]} ({text['mean']} {report.diversity:.2f})"
            diversity_axes.bar(
                positions + offset,
                report.per_class_diversity,
                width,
                color=_COLORS[design],
                label=diversity_label,
            )
        # Headroom above the bars keeps the legend off them.
        accuracy_axes.set(ylim=(0, 1.3), ylabel=text["accuracy_axis"])
        accuracy_axes.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        accuracy_axes.legend(loc="upper center", ncol=2, fontsize=8)
        diversity_axes.axhline(1.0, color="0.5", linestyle="--", linewidth=1, label=text["real_level"])
        highest = max(max(report.per_class_diversity) for report in reports.values())
        diversity_axes.set(
            ylim=(0, max(1.0, highest) + 0.35), ylabel=text["diversity_axis"], xlabel=text["class"]
        )
        diversity_axes.legend(loc="upper center", ncol=3, fontsize=8)
        diversity_axes.set_xticks(positions, profile_data.class_names[language], fontsize=9)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
