"""Figures of the CNN visualization chapter: first-layer filters, occlusion maps and Grad-CAM.

Every recipe explains one trained classifier on one image, chosen by the profile:

- quick: the small CNN of [`quick_classifier`][cvnotes.models.quick_classifier],
  trained in-process on the embedded Fashion-MNIST images, and one of its
  held-out images (28x28, grey);
- full: the ImageNet-pretrained ResNet-50 of
  [`pretrained_resnet`][cvnotes.models.pretrained_resnet] and the embedded cat
  photo (224x224 after the weights' own preprocessing). Offline without cached
  weights, the recipes raise [`AssetMissingError`][cvnotes.assets.AssetMissingError].

The recipes call [`cvnotes.filters`][cvnotes.filters],
[`cvnotes.occlusion`][cvnotes.occlusion] and [`cvnotes.gradcam`][cvnotes.gradcam],
so the figures show what the library computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor, nn

from cvnotes import data, filters, gradcam, models, occlusion
from cvnotes.assets import PACKAGE_DATA, get_asset
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = [
    "VisualizationSubject",
    "cnn_filters",
    "cnn_grad_cam",
    "cnn_occlusion",
    "load_subject",
]

# The embedded files the subjects are made from; their contents are part of the cache key.
_INPUTS = [
    PACKAGE_DATA / item.path for name in ("fashion-mnist-test", "photos") for item in get_asset(name).files
]
_CODE = (filters, occlusion, gradcam, models, data)
# Quick profile: the embedded data and the small CNN trained on it; full profile: the photos and ResNet-50.
_ASSETS = ("fashion-mnist-test", "small-cnn-fashion-mnist", "photos", "resnet50-imagenet")

# ImageNet statistics, used when the weights' transforms do not expose their own.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

_PARAMS: dict[str, Any] = {
    "quick": {
        # Position in the classifier's held-out list, so the image was not used in training.
        "held_out_position": 0,
        "first_layer": "conv1",
        "deeper_layer": "conv2",
        "cam_layer": "conv3",
        "occlusion_window": 6,
        "occlusion_stride": 2,
        # Fashion-MNIST has a black background, so a black patch removes what it covers.
        "occlusion_fill": 0.0,
    },
    "full": {
        "photo": "cat",
        "arch": "resnet50",
        "first_layer": "conv1",
        "deeper_layer": "layer1.0.conv2",
        "cam_layer": "layer4",
        "occlusion_window": 48,
        "occlusion_stride": 16,
        # Mid grey, the occluder of Zeiler and Fergus (ECCV 2014).
        "occlusion_fill": 0.5,
    },
}


@dataclass
class VisualizationSubject:
    """A classifier and one image, with what the figures need to draw and label them.

    Attributes:
        model: The classifier in eval mode, returning logits.
        inputs: The image as the model takes it, ``(1, C, H, W)``.
        picture: The same image for display, ``(H, W)`` or ``(H, W, 3)`` in [0, 1].
        mean: Per-channel mean of the model's input normalisation.
        std: Per-channel standard deviation of that normalisation.
        class_names: Class names in logit order, per language.
        true_label: The image's label, or ``None`` for a photo without one.
        params: The profile's parameters (layers, occlusion window and fill).
        metrics: Numbers about the model to record in the manifest.
    """

    model: nn.Module
    inputs: Tensor
    picture: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: Mapping[str, tuple[str, ...]]
    true_label: int | None
    params: Mapping[str, Any]
    metrics: dict[str, Any]


def _quick_subject(params: Mapping[str, Any]) -> VisualizationSubject:
    classifier = models.quick_classifier()
    images, labels = data.load_fashion_mnist()
    index = int(classifier.held_out_indices[params["held_out_position"]])
    inputs = classifier.normalize(images[index : index + 1])
    return VisualizationSubject(
        model=classifier.model,
        inputs=inputs,
        picture=images[index].numpy() / 255.0,
        mean=(classifier.mean,),
        std=(classifier.std,),
        class_names=classifier.class_names,
        true_label=int(labels[index]),
        params=params,
        metrics={**classifier.metrics(), "image_index": index},
    )


def _full_subject(params: Mapping[str, Any], offline: bool) -> VisualizationSubject:
    classifier = models.pretrained_resnet(offline=offline, arch=params["arch"])
    preprocess = classifier.preprocess
    mean = tuple(float(value) for value in getattr(preprocess, "mean", _IMAGENET_MEAN))
    std = tuple(float(value) for value in getattr(preprocess, "std", _IMAGENET_STD))
    inputs = preprocess(data.load_photo(params["photo"])).unsqueeze(0)
    mean_tensor, std_tensor = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    picture = (inputs[0] * std_tensor + mean_tensor).clamp(0, 1).permute(1, 2, 0).numpy()
    # NOTE: ImageNet category names exist only in English; the Korean figures show them as they are.
    return VisualizationSubject(
        model=classifier.model,
        inputs=inputs,
        picture=picture,
        mean=mean,
        std=std,
        class_names={language: classifier.categories for language in LANGUAGES},
        true_label=None,
        params=params,
        metrics={"weights": classifier.asset_name, "photo": params["photo"]},
    )


def load_subject(context: RecipeContext) -> VisualizationSubject:
    """Return the classifier and image of the context's profile.

    Raises:
        AssetMissingError: In the full profile, offline, when the weights are not cached.
    """
    params = context.params[context.profile]
    if context.profile == "full":
        subject = _full_subject(params, context.offline)
    else:
        subject = _quick_subject(params)
    # The quick classifier is trained on the CPU (its cached weights do not depend on the
    # device) and moved afterwards. NOTE: the tests run only the CPU path.
    subject.model.to(context.device)
    subject.inputs = subject.inputs.to(context.device)
    return subject


def _prediction_metrics(subject: VisualizationSubject, logits: Tensor, top: int = 3) -> dict[str, Any]:
    """Return the predicted class and the top probabilities, for the manifest."""
    probabilities = logits.softmax(dim=1)[0]
    values, indices = probabilities.topk(min(top, probabilities.numel()))
    names = subject.class_names["en"]
    metrics: dict[str, Any] = {
        "predicted_class": names[int(indices[0])],
        "predicted_probability": round(float(values[0]), 4),
        "top_probabilities": {
            names[int(i)]: round(float(v), 4) for v, i in zip(values, indices, strict=True)
        },
    }
    if subject.true_label is not None:
        metrics["true_class"] = names[subject.true_label]
    return metrics


def _show_picture(axes: Any, picture: np.ndarray) -> None:
    if picture.ndim == 2:
        axes.imshow(picture, cmap="gray", vmin=0, vmax=1)
    else:
        axes.imshow(picture)
    axes.set_axis_off()


# --- first-layer filters ------------------------------------------------------------------------

_FILTER_TEXT = {
    "ko": {
        "title": "첫 층의 filter는 그림으로 보이지만, 깊은 층의 kernel은 그렇지 않다",
        "first": "{layer}: filter {count}개, 각 {shape}\n입력 = 픽셀 ({channels}채널), filter마다 [0, 1]로 따로 scale",
        "deeper": "{layer}: filter {count}개 x 입력 채널 {channels}개, 각 {size}\n(filter {rows}개 x 채널 {cols}개만 표시)",
        "rows": "filter",
        "cols": "입력 채널 (앞 층의 feature map)",
        "bar": "weight / 최대 |weight|",
    },
    "en": {
        "title": "First-layer filters read as pictures; deeper kernels do not",
        "first": "{layer}: {count} filters of {shape}\ninput = pixels ({channels} channel(s)), each filter scaled to [0, 1]",
        "deeper": "{layer}: {count} filters x {channels} input channels of {size}\n({rows} filters x {cols} channels shown)",
        "rows": "filter",
        "cols": "input channel (feature map of the layer below)",
        "bar": "weight / max |weight|",
    },
}


@recipe(
    "cnn-first-layer-filters",
    title={
        "ko": "첫 conv layer의 filter와 더 깊은 layer의 kernel 비교",
        "en": "First conv layer's filters beside a deeper layer's kernels",
    },
    params={**_PARAMS, "deeper_grid_shape": [8, 8]},
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cnn_filters(context: RecipeContext) -> RecipeOutput:
    """Draw the first layer's filters as pictures and the deeper layer's kernel slices as weights."""
    subject = load_subject(context)
    first = subject.model.get_submodule(subject.params["first_layer"]).weight.detach()
    deeper = subject.model.get_submodule(subject.params["deeper_layer"]).weight.detach()
    rows, cols = context.params["deeper_grid_shape"]
    num_columns = 8 if first.shape[0] >= 32 else 4
    first_grid = filters.filter_grid(first, num_columns=num_columns, padding=1).numpy()
    deeper_grid = filters.kernel_slice_grid(deeper, max_out=rows, max_in=cols, padding=1).numpy()

    metrics = {
        **subject.metrics,
        "first_layer": subject.params["first_layer"],
        "first_layer_shape": list(first.shape),
        "deeper_layer": subject.params["deeper_layer"],
        "deeper_layer_shape": list(deeper.shape),
    }
    figures: dict[str, Figure] = {}
    colormap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
    for language in LANGUAGES:
        text = _FILTER_TEXT[language]
        figure = Figure(figsize=(10.0, 5.4), layout="constrained")
        left, right = figure.subplots(1, 2, width_ratios=[1, 1.15])
        figure.suptitle(text["title"])

        left.imshow(first_grid, cmap="gray" if first_grid.ndim == 2 else None, vmin=0, vmax=1)
        left.set_title(
            text["first"].format(
                layer=subject.params["first_layer"],
                count=first.shape[0],
                shape="x".join(str(size) for size in first.shape[1:]),
                channels=first.shape[1],
            ),
            fontsize=9,
        )
        left.set_axis_off()

        image = right.imshow(deeper_grid, cmap=colormap, vmin=-1, vmax=1)
        right.set_title(
            text["deeper"].format(
                layer=subject.params["deeper_layer"],
                count=deeper.shape[0],
                channels=deeper.shape[1],
                size="x".join(str(size) for size in deeper.shape[2:]),
                rows=min(rows, deeper.shape[0]),
                cols=min(cols, deeper.shape[1]),
            ),
            fontsize=9,
        )
        right.set_xticks([])
        right.set_yticks([])
        right.set_xlabel(text["cols"], fontsize=9)
        right.set_ylabel(text["rows"], fontsize=9)
        right.grid(False)
        for spine in right.spines.values():
            spine.set_visible(False)
        figure.colorbar(image, ax=right, shrink=0.8, label=text["bar"])
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


# --- occlusion ----------------------------------------------------------------------------------

_OCCLUSION_TEXT = {
    "ko": {
        "title": "Occlusion: '{name}' 확률 p(x) = {probability:.3f}, {window}x{window} {fill} 창, stride {stride}",
        "image": "입력 (창 크기 표시)",
        "probability": "확률 지도 P: 가렸을 때의 p",
        "drop": "감소 지도 D = p(x) - P",
        "probability_bar": "가렸을 때 '{name}'의 확률",
        "drop_bar": "+ : 근거 (가리면 확률이 떨어짐)\n- : 반대 근거 (가리면 확률이 오름)",
        "black": "검은",
        "grey": "회색",
    },
    "en": {
        "title": "Occlusion: p('{name}') = {probability:.3f} unoccluded, {window}x{window} {fill} window, stride {stride}",
        "image": "input (window size shown)",
        "probability": "probability map P: p when occluded",
        "drop": "drop map D = p(x) - P",
        "probability_bar": "probability of '{name}' when occluded",
        "drop_bar": "+ : evidence for (covering lowers p)\n- : evidence against (covering raises p)",
        "black": "black",
        "grey": "grey",
    },
}


@recipe(
    "cnn-occlusion",
    title={
        "ko": "Occlusion sensitivity: 확률 지도와 감소 지도",
        "en": "Occlusion sensitivity: probability map and drop map",
    },
    params=_PARAMS,
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cnn_occlusion(context: RecipeContext) -> RecipeOutput:
    """Slide a window over the image and draw the probability map and the drop map with colour bars."""
    subject = load_subject(context)
    params = subject.params
    fill_value = params["occlusion_fill"]
    baseline = occlusion.normalized_fill(fill_value, subject.mean, subject.std)
    result = occlusion.occlusion_sensitivity(
        subject.model,
        subject.inputs,
        window=params["occlusion_window"],
        stride=params["occlusion_stride"],
        baseline=baseline,
    )
    with torch.no_grad():
        logits = subject.model(subject.inputs)
    probability = result.probability[0].cpu().numpy()
    drop = result.drop[0].cpu().numpy()
    target = int(result.target[0])

    metrics = {
        **subject.metrics,
        **_prediction_metrics(subject, logits),
        "target_class": subject.class_names["en"][target],
        "base_probability": round(float(result.base_probability[0]), 4),
        "min_probability": round(float(probability.min()), 4),
        "max_drop": round(float(drop.max()), 4),
        "min_drop": round(float(drop.min()), 4),
        "num_windows": result.num_windows,
        "baseline_model_space": [round(float(value), 4) for value in baseline.flatten()],
    }
    figures: dict[str, Figure] = {}
    drop_limit = max(float(np.abs(drop).max()), 1e-6)
    for language in LANGUAGES:
        text = _OCCLUSION_TEXT[language]
        name = subject.class_names[language][target]
        figure = Figure(figsize=(11.0, 4.0), layout="constrained")
        image_axes, probability_axes, drop_axes = figure.subplots(1, 3)
        figure.suptitle(
            text["title"].format(
                name=name,
                probability=float(result.base_probability[0]),
                window=params["occlusion_window"],
                stride=params["occlusion_stride"],
                fill=text["black"] if fill_value == 0.0 else text["grey"],
            )
        )

        _show_picture(image_axes, subject.picture)
        window = params["occlusion_window"]
        image_axes.add_patch(
            Rectangle((-0.5, -0.5), window, window, fill=False, edgecolor="#e6550d", linewidth=2)
        )
        image_axes.set_title(text["image"], fontsize=10)

        mappable = probability_axes.imshow(probability, cmap="viridis", vmin=0, vmax=1)
        probability_axes.set_title(text["probability"], fontsize=10)
        probability_axes.set_axis_off()
        figure.colorbar(
            mappable, ax=probability_axes, shrink=0.85, label=text["probability_bar"].format(name=name)
        )

        mappable = drop_axes.imshow(drop, cmap="RdBu_r", vmin=-drop_limit, vmax=drop_limit)
        drop_axes.set_title(text["drop"], fontsize=10)
        drop_axes.set_axis_off()
        figure.colorbar(mappable, ax=drop_axes, shrink=0.85, label=text["drop_bar"])
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


# --- Grad-CAM -----------------------------------------------------------------------------------

_CAM_TEXT = {
    "ko": {
        "title": "'{name}'의 Grad-CAM ({layer}, 점수 = softmax 전 logit)",
        "image": "입력\n(p = {probability:.3f})",
        "relu": "ReLU 적용\n(논문의 Grad-CAM)",
        "signed": "ReLU 없이: 빨강 +, 파랑 -\n({size} 위치 중 {share:.0%}가 음수)",
        "counterfactual": "counterfactual\n(weight 부호 반전)",
        "bar": "최대값으로 나눈 map",
        "signed_bar": "최대 |값|으로 나눈 map",
    },
    "en": {
        "title": "Grad-CAM of '{name}' ({layer}, score = pre-softmax logit)",
        "image": "input\n(p = {probability:.3f})",
        "relu": "with ReLU\n(the paper's Grad-CAM)",
        "signed": "without ReLU: red +, blue -\n({share:.0%} of {size} positions negative)",
        "counterfactual": "counterfactual\n(negated weights)",
        "bar": "map / its max",
        "signed_bar": "map / its max |value|",
    },
}


def _overlay(axes: Any, picture: np.ndarray, cam: np.ndarray) -> Any:
    grey = picture if picture.ndim == 2 else picture.mean(axis=2)
    axes.imshow(grey, cmap="gray", vmin=0, vmax=1)
    mappable = axes.imshow(cam, cmap="inferno", vmin=0, vmax=1, alpha=0.6)
    axes.set_axis_off()
    return mappable


@recipe(
    "cnn-grad-cam",
    title={
        "ko": "Grad-CAM: ReLU 적용, ReLU 없음, counterfactual",
        "en": "Grad-CAM with ReLU, without ReLU, and counterfactual",
    },
    params=_PARAMS,
    code=_CODE,
    inputs=_INPUTS,
    assets=_ASSETS,
)
def cnn_grad_cam(context: RecipeContext) -> RecipeOutput:
    """Draw Grad-CAM of the predicted class with the ReLU, without it, and counterfactual."""
    subject = load_subject(context)
    layer = subject.params["cam_layer"]
    with_relu = gradcam.grad_cam(subject.model, subject.inputs, layer)
    target = int(with_relu.target[0])
    signed = gradcam.grad_cam(subject.model, subject.inputs, layer, target, relu=False)
    counterfactual = gradcam.grad_cam(subject.model, subject.inputs, layer, target, counterfactual=True)

    raw = with_relu.raw_cam[0].cpu()
    probability = float(with_relu.logits.softmax(dim=1)[0, target])
    metrics = {
        **subject.metrics,
        **_prediction_metrics(subject, with_relu.logits),
        "cam_layer": layer,
        "cam_layer_size": list(raw.shape),
        "target_class": subject.class_names["en"][target],
        # How much of the weighted sum the ReLU removes, at the layer's resolution.
        "negative_fraction": round(float((raw < 0).float().mean()), 4),
        "raw_max": float(raw.max()),
        "raw_min": float(raw.min()),
    }
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _CAM_TEXT[language]
        name = subject.class_names[language][target]
        figure = Figure(figsize=(12.0, 3.9), layout="constrained")
        image_axes, relu_axes, signed_axes, counter_axes = figure.subplots(1, 4)
        figure.suptitle(text["title"].format(name=name, layer=layer))

        _show_picture(image_axes, subject.picture)
        image_axes.set_title(text["image"].format(probability=probability), fontsize=10)

        _overlay(relu_axes, subject.picture, with_relu.cam[0].cpu().numpy())
        relu_axes.set_title(text["relu"], fontsize=10)

        mappable = signed_axes.imshow(signed.cam[0].cpu().numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        signed_axes.set_axis_off()
        signed_axes.set_title(
            text["signed"].format(share=metrics["negative_fraction"], size="×".join(map(str, raw.shape))),
            fontsize=10,
        )
        figure.colorbar(mappable, ax=signed_axes, shrink=0.8, label=text["signed_bar"])

        mappable = _overlay(counter_axes, subject.picture, counterfactual.cam[0].cpu().numpy())
        counter_axes.set_title(text["counterfactual"], fontsize=10)
        figure.colorbar(
            mappable, ax=[relu_axes, counter_axes], shrink=0.8, label=text["bar"], location="right"
        )
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
