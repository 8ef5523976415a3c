"""Figures of the CLIP zero-shot assignment: CIFAR-100 with "a photo of a {class}", and the sea-vs-apple failure.

One recipe needs no weights and runs in every profile:

- ``clip-normalization-topk``: a hand-built case where the raw dot product and the
  cosine similarity pick different classes, and a batch where top-k along the
  wrong axis answers another question.

The other recipes evaluate CLIP ([`pretrained_clip`][cvnotes.models.pretrained_clip],
ViT-B-32 with OpenAI's weights) on the 10,000 CIFAR-100 test images
([`load_cifar100`][cvnotes.data.load_cifar100]) and exist only in the full
profile. In the quick profile, or offline without the cached assets, they raise
[`AssetMissingError`][cvnotes.assets.AssetMissingError] so the page shows a note
naming `cvnotes fetch clip-vit-b-32-openai cifar-100`.

The test images are embedded once per build process. Every prompt variant (the
notes' single prompt, the 18-template ensemble, reworded class names, an added
"sunset" class) reuses those embeddings. On a CPU the embedding pass takes
minutes, so the GPU job runs it on ``context.device``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cvnotes import assets, clip, data, models
from cvnotes.clip import ZeroShotClassifier, ZeroShotEvaluation
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = [
    "ClipStudy",
    "clip_failures",
    "clip_normalization_topk",
    "clip_scene_vs_object",
    "clip_sea_apple",
    "clip_sea_apple_mitigations",
    "clip_similarity_matrix",
    "load_study",
]

_ASSETS = ("clip-vit-b-32-openai", "cifar-100")
_CODE = (clip, models, data)

# Shared by every full-profile recipe, so all of them describe the same evaluation.
_STUDY_PARAMS: dict[str, Any] = {
    "model_name": "ViT-B-32",
    "pretrained": "openai",
    "batch_size": 256,
    # Descriptive names for the scene classes; the other 95 names stay as CIFAR-100 has them.
    "renamed": {
        "cloud": "cloudy sky",
        "forest": "dense forest",
        "mountain": "mountain landscape",
        "plain": "open plain",
        "sea": "ocean",
    },
    "open_set": ["sunset"],
}
_VARIANTS = ("single", "ensemble", "renamed", "open_set")


# --- the shared evaluation --------------------------------------------------------------------


@dataclass
class ClipStudy:
    """CLIP's zero-shot evaluation on the CIFAR-100 test set under four prompt variants.

    Attributes:
        dataset: The test split; items are ``(PIL image, label)``.
        classifiers: Per variant (``"single"``, ``"ensemble"``, ``"renamed"``,
            ``"open_set"``), the classifier that produced its evaluation.
        evaluations: Per variant, the probabilities of all test images, with
            CIFAR-100's class names (the "renamed" variant's prompts use other words).
        features: Unit-length image embeddings ``(N, D)``.
        labels: Labels ``(N,)``.
        sea_index: Index of the sea image that the figures explain.
        sea_selection: How that image was chosen, for the manifest.
    """

    dataset: Any
    classifiers: dict[str, ZeroShotClassifier]
    evaluations: dict[str, ZeroShotEvaluation]
    features: torch.Tensor
    labels: torch.Tensor
    sea_index: int
    sea_selection: str

    def metrics(self) -> dict[str, Any]:
        """Return the accuracies of every variant, for the manifest."""
        result: dict[str, Any] = {
            "model": f"{_STUDY_PARAMS['model_name']} {_STUDY_PARAMS['pretrained']}",
            "num_test_images": int(self.labels.numel()),
            "sea_index": self.sea_index,
            "sea_selection": self.sea_selection,
        }
        for variant, evaluation in self.evaluations.items():
            result[f"{variant}_top1"] = round(evaluation.top_k_accuracy(1), 4)
            result[f"{variant}_top5"] = round(evaluation.top_k_accuracy(5), 4)
            result[f"{variant}_scene_to_object_failures"] = len(evaluation.mine_failures())
        return result


_STUDIES: dict[tuple[Any, ...], ClipStudy] = {}


def _choose_sea_image(evaluation: ZeroShotEvaluation) -> tuple[int, str]:
    """Return the most confident sea image predicted as apple, with fallbacks that the manifest names."""
    for predicted, rule in (
        (["apple"], "sea predicted as apple"),
        (clip.OBJECT_CLASSES, "sea predicted as an object"),
    ):
        cases = evaluation.mine_failures(["sea"], predicted, count=1)
        if cases:
            return cases[0].index, f"most confident {rule} (single prompt)"
    # No such failure: show the sea image that gives "apple" the most probability.
    sea, apple = evaluation.class_names.index("sea"), evaluation.class_names.index("apple")
    sea_images = torch.nonzero(evaluation.labels == sea).flatten()
    if sea_images.numel() == 0:
        raise ValueError("the evaluated data set has no sea image; the CIFAR-100 test split has 100")
    best = sea_images[evaluation.probabilities[sea_images, apple].argmax()]
    return int(best), "sea image with the highest apple probability (no sea image was predicted as an object)"


def load_study(context: RecipeContext) -> ClipStudy:
    """Return the CIFAR-100 evaluation of the context's build, computing it once per process.

    Raises:
        AssetMissingError: In the quick profile (which has no CLIP weights), or
            offline when the weights or CIFAR-100 are not cached.
    """
    root = assets.cache_dir()
    if context.profile != "full":
        raise assets.AssetMissingError(_ASSETS, cache=root)
    params = _STUDY_PARAMS
    key = (params["model_name"], params["pretrained"], context.device, context.offline, str(root))
    if key in _STUDIES:
        return _STUDIES[key]

    loaded = models.pretrained_clip(
        offline=context.offline, model_name=params["model_name"], pretrained=params["pretrained"]
    )
    dataset = data.load_cifar100(train=False, offline=context.offline)
    names = list(dataset.classes)
    single = ZeroShotClassifier.build(
        loaded.model, loaded.preprocess, loaded.tokenizer, names, [clip.NOTES_TEMPLATE], device=context.device
    )
    # NOTE: the embeddings live in memory only, so a new build process embeds the 10,000 images again.
    features, labels = clip.encode_dataset(single, dataset, batch_size=params["batch_size"])
    classifiers = {
        "single": single,
        "ensemble": single.with_classes(names, clip.CIFAR100_TEMPLATES),
        "renamed": single.with_classes([params["renamed"].get(name, name) for name in names]),
        "open_set": single.with_classes(names + list(params["open_set"])),
    }
    evaluations = {
        variant: clip.evaluate_features(classifier, features, labels)
        for variant, classifier in classifiers.items()
    }
    # The reworded prompts still stand for CIFAR-100's classes, so metrics use the original names.
    evaluations["renamed"] = replace(evaluations["renamed"], class_names=single.class_names)
    sea_index, selection = _choose_sea_image(evaluations["single"])
    study = ClipStudy(dataset, classifiers, evaluations, features, labels, sea_index, selection)
    _STUDIES[key] = study
    return study


def _renamed(name: str) -> str:
    """Return the cleaned CIFAR-100 name of a class whose prompt may have been reworded."""
    for original, new in _STUDY_PARAMS["renamed"].items():
        if name == new:
            return original
    return name


# --- drawing helpers --------------------------------------------------------------------------


def _show_image(axes: Any, image: Any, title: str) -> None:
    axes.imshow(np.asarray(image), interpolation="nearest")
    axes.set_title(title, fontsize=9)
    axes.set_axis_off()


def _top5_bars(
    axes: Any,
    probabilities: torch.Tensor,
    class_names: Sequence[str],
    true_class: str,
    title: str,
    xlabel: str,
) -> list[tuple[str, float]]:
    """Draw the top-5 classes of one image as horizontal bars; the true class in green."""
    values, indices = clip.top_k(probabilities.unsqueeze(0), 5)
    rows = [(class_names[int(i)], float(v)) for v, i in zip(values[0], indices[0], strict=True)]
    labels = [name for name, _ in rows][::-1]
    widths = [value for _, value in rows][::-1]
    colors = ["#31a354" if _renamed(name) == true_class else "#3182bd" for name in labels]
    axes.barh(labels, widths, color=colors)
    for position, value in enumerate(widths):
        axes.text(value + 0.01, position, f"{value:.2f}", va="center", fontsize=8)
    axes.set_xlim(0, 1.15)
    axes.set_title(title, fontsize=9)
    axes.set_xlabel(xlabel)
    return rows


# --- weight-free recipe: normalisation and the top-k axis -------------------------------------

# Hand-built 2-D embeddings: the unit image vector lies 36.9 degrees from "sea" and 53.1 degrees
# from "apple", so cosine picks sea (0.8 > 0.6); apple's text vector is 3 long, so the dot product
# picks apple (1.8 > 0.8).
_TOY_IMAGE = (0.8, 0.6)
_TOY_TEXTS = {"apple": (0.0, 3.0), "sea": (1.0, 0.0)}

_NORM_TEXT = {
    "ko": {
        "title": "노트 코드의 두 버그를 손으로 만든 숫자로 재현: L2 정규화 누락과 top-k 축",
        "dot": "정규화 없는 dot product\n(길이 3인 apple text 임베딩이 이김)",
        "cosine": "cosine similarity\n(방향만 비교: sea가 이김)",
        "score": "점수",
        "vectors": "2차원 임베딩: 화살표 길이 = norm",
        "image": "image",
        "matrix": "batch의 확률 (N={n} image x C={c} class, 행마다 softmax)",
        "image_axis": "image (행)",
        "class_axis": "class (열)",
        "right": "초록 상자 = topk(dim=-1): image마다 top-2 (맞음)",
        "wrong": "빨간 x = topk(dim=0): class마다 top-2 image (다른 질문)",
    },
    "en": {
        "title": "The two bugs of the notes' code, reproduced with hand-built numbers: no L2 norm, top-k axis",
        "dot": "dot product without normalisation\n(the apple text embedding, length 3, wins)",
        "cosine": "cosine similarity\n(compares directions: sea wins)",
        "score": "score",
        "vectors": "2-D embeddings: arrow length = norm",
        "image": "image",
        "matrix": "batch probabilities (N={n} images x C={c} classes, softmax per row)",
        "image_axis": "image (row)",
        "class_axis": "class (column)",
        "right": "green box = topk(dim=-1): top-2 per image (correct)",
        "wrong": "red x = topk(dim=0): top-2 images per class (another question)",
    },
}


@recipe(
    "clip-normalization-topk",
    title={
        "ko": "dot product와 cosine이 다른 class를 고르는 손 계산 예, top-k의 축",
        "en": "Hand-built case where dot product and cosine pick different classes; the top-k axis",
    },
    params={"num_images": 4, "classes": ["apple", "orange", "sea", "cloud", "plain"], "k": 2},
    code=(clip,),
)
def clip_normalization_topk(context: RecipeContext) -> RecipeOutput:
    """Compare raw dot products with cosine similarities, and top-k along both axes of a batch."""
    params = context.params
    image = torch.tensor([_TOY_IMAGE])
    texts = torch.tensor(list(_TOY_TEXTS.values()))
    names = list(_TOY_TEXTS)
    dot = (image @ texts.T)[0]
    cosine = clip.cosine_logits(image, texts, 1.0)[0]

    generator = torch.Generator().manual_seed(context.seed)
    classes = list(params["classes"])
    logits = 4.0 * torch.randn(params["num_images"], len(classes), generator=generator)
    probabilities = logits.softmax(dim=-1)
    _, right = clip.top_k(probabilities, params["k"])
    _, wrong = probabilities.topk(params["k"], dim=0)

    metrics = {
        "dot_products": {name: round(float(v), 4) for name, v in zip(names, dot, strict=True)},
        "cosine_similarities": {name: round(float(v), 4) for name, v in zip(names, cosine, strict=True)},
        "dot_choice": names[int(dot.argmax())],
        "cosine_choice": names[int(cosine.argmax())],
        "text_norms": {name: round(float(v), 4) for name, v in zip(names, texts.norm(dim=-1), strict=True)},
        "topk_per_image": right.tolist(),
        "topk_per_class": wrong.T.tolist(),
    }

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _NORM_TEXT[language]
        figure = Figure(figsize=(13.0, 4.4), layout="constrained")
        axes = figure.subplots(1, 4, width_ratios=[1.0, 1.0, 1.0, 1.6])
        figure.suptitle(text["title"])

        vectors = axes[0]
        for name, vector in zip(names, texts.tolist(), strict=True):
            vectors.annotate(
                "", xy=vector, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "#3182bd"}
            )
            vectors.text(vector[0] + 0.05, vector[1], name, fontsize=9, color="#3182bd")
        vectors.annotate(
            "", xy=_TOY_IMAGE, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "#de2d26"}
        )
        vectors.text(_TOY_IMAGE[0] + 0.05, _TOY_IMAGE[1] - 0.15, text["image"], fontsize=9, color="#de2d26")
        vectors.set(xlim=(-0.2, 1.8), ylim=(-0.3, 3.2))
        vectors.set_title(text["vectors"], fontsize=9)
        vectors.set_aspect("equal")

        for column, (scores, label) in enumerate(((dot, "dot"), (cosine, "cosine")), start=1):
            bars = axes[column]
            winner = int(scores.argmax())
            colors = ["#de2d26" if i == winner else "#9ecae1" for i in range(len(names))]
            bars.bar(names, scores.numpy(), color=colors)
            for position, value in enumerate(scores.tolist()):
                bars.text(position, value + 0.02, f"{value:.2f}", ha="center", fontsize=9)
            bars.set_title(text[label], fontsize=9)
            bars.set_ylabel(text["score"])
            bars.set_ylim(0, max(1.05, float(scores.max()) * 1.15))

        matrix = axes[3]
        matrix.imshow(probabilities.numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for row in range(probabilities.shape[0]):
            for column in range(probabilities.shape[1]):
                value = float(probabilities[row, column])
                # Light text on the dark (high) cells of the Blues colour map.
                color = "white" if value > 0.6 else "black"
                matrix.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8, color=color)
        for row, columns in enumerate(right.tolist()):
            for column in columns:
                matrix.add_patch(
                    Rectangle((column - 0.45, row - 0.45), 0.9, 0.9, fill=False, ec="#31a354", lw=2)
                )
        for column, rows in enumerate(wrong.T.tolist()):
            for row in rows:
                matrix.plot(column + 0.3, row - 0.3, marker="x", color="#de2d26", markersize=9, mew=2)
        matrix.set_xticks(range(len(classes)), classes)
        matrix.set_yticks(range(probabilities.shape[0]))
        matrix.set(
            xlabel=text["class_axis"] + "\n" + text["right"] + "\n" + text["wrong"], ylabel=text["image_axis"]
        )
        matrix.set_title(text["matrix"].format(n=probabilities.shape[0], c=len(classes)), fontsize=9)
        matrix.grid(False)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


# --- full profile: the sea image predicted as apple --------------------------------------------

_SEA_TEXT = {
    "ko": {
        "title": 'CIFAR-100 test 이미지 #{index} (정답 "{true}"): "{prompt}"로 본 CLIP {model}의 top-5',
        "original": "CIFAR-100 원본 (32x32)",
        "input": "CLIP 입력 ({size}x{size}, preprocess 후)",
        "bars": "top-5 확률 (초록 = 정답 class)",
        "probability": "softmax 확률 (100 class)",
    },
    "en": {
        "title": 'CIFAR-100 test image #{index} (label "{true}"): top-5 of CLIP {model} with "{prompt}"',
        "original": "CIFAR-100 original (32x32)",
        "input": "CLIP input ({size}x{size}, after preprocess)",
        "bars": "top-5 probabilities (green = true class)",
        "probability": "softmax probability (100 classes)",
    },
}


def _model_input_picture(classifier: ZeroShotClassifier, image: Any) -> np.ndarray:
    """Return the model's preprocessed input image, un-normalised to [0, 1] for display."""
    tensor = classifier.preprocess(image)
    normalize = [step for step in getattr(classifier.preprocess, "transforms", []) if hasattr(step, "mean")]
    if normalize:
        mean = torch.tensor(normalize[-1].mean)[:, None, None]
        std = torch.tensor(normalize[-1].std)[:, None, None]
        tensor = tensor * std + mean
    return tensor.clamp(0, 1).permute(1, 2, 0).numpy()


@recipe(
    "clip-sea-apple",
    title={
        "ko": "CLIP이 apple로 분류한 CIFAR-100 sea 이미지와 top-5 확률",
        "en": "A CIFAR-100 sea image that CLIP classifies as apple, with its top-5 probabilities",
    },
    params=_STUDY_PARAMS,
    code=_CODE,
    assets=_ASSETS,
)
def clip_sea_apple(context: RecipeContext) -> RecipeOutput:
    """Show the chosen sea image at 32x32 and as CLIP's input, with its single-prompt top-5."""
    study = load_study(context)
    index = study.sea_index
    image, label = study.dataset[index]
    single = study.evaluations["single"]
    true_class = single.class_names[label]
    picture = _model_input_picture(study.classifiers["single"], image)

    figures: dict[str, Figure] = {}
    rows: list[tuple[str, float]] = []
    for language in LANGUAGES:
        text = _SEA_TEXT[language]
        figure = Figure(figsize=(12.0, 4.0), layout="constrained")
        axes = figure.subplots(1, 3, width_ratios=[1, 1, 1.6])
        figure.suptitle(
            text["title"].format(
                index=index, true=true_class, prompt=clip.NOTES_TEMPLATE, model=_model_label()
            )
        )
        _show_image(axes[0], image, text["original"])
        _show_image(axes[1], picture, text["input"].format(size=picture.shape[0]))
        rows = _top5_bars(
            axes[2],
            single.probabilities[index],
            single.class_names,
            true_class,
            text["bars"],
            text["probability"],
        )
        figures[language] = figure
    metrics = {**study.metrics(), "true_class": true_class, "top5": {name: round(p, 4) for name, p in rows}}
    return RecipeOutput(figures=figures, metrics=metrics)


def _model_label() -> str:
    return f"{_STUDY_PARAMS['model_name']} ({_STUDY_PARAMS['pretrained']})"


_MITIGATION_TEXT = {
    "ko": {
        "title": "같은 sea 이미지 #{index}: prompt를 바꾸면 top-5가 어떻게 변하는가",
        "single": '노트의 prompt 1개\n"{prompt}"',
        "ensemble": "CLIP의 CIFAR-100 template 18개 ensemble",
        "renamed": 'scene class 이름을 바꿈\n(sea -> "{sea}" 등 5개)',
        "open_set": 'open-set class "{extra}" 추가\n(101 class)',
        "probability": "softmax 확률",
        "summary": "test {count:,}장 전체: top-1 {top1:.1%}, scene->object 오류 {failures}장",
    },
    "en": {
        "title": "The same sea image #{index}: how the top-5 changes with the prompts",
        "single": 'the notes\' single prompt\n"{prompt}"',
        "ensemble": "ensemble of CLIP's 18 CIFAR-100 templates",
        "renamed": 'scene classes reworded\n(sea -> "{sea}" and 4 more)',
        "open_set": 'open-set class "{extra}" added\n(101 classes)',
        "probability": "softmax probability",
        "summary": "all {count:,} test images: top-1 {top1:.1%}, scene->object errors {failures}",
    },
}


@recipe(
    "clip-sea-apple-mitigations",
    title={
        "ko": "sea 이미지의 top-5: prompt ensemble, class 이름 변경, open-set class 추가",
        "en": "Top-5 of the sea image under prompt ensembling, reworded class names and an open-set class",
    },
    params=_STUDY_PARAMS,
    code=_CODE,
    assets=_ASSETS,
)
def clip_sea_apple_mitigations(context: RecipeContext) -> RecipeOutput:
    """Show the sea image's top-5 under the four prompt variants, with each variant's test accuracy."""
    study = load_study(context)
    index = study.sea_index
    _, label = study.dataset[index]
    true_class = study.evaluations["single"].class_names[label]
    metrics: dict[str, Any] = {**study.metrics(), "true_class": true_class}

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _MITIGATION_TEXT[language]
        figure = Figure(figsize=(15.0, 4.4), layout="constrained")
        axes = figure.subplots(1, len(_VARIANTS))
        figure.suptitle(text["title"].format(index=index))
        for column, variant in enumerate(_VARIANTS):
            evaluation = study.evaluations[variant]
            title = text[variant].format(
                prompt=clip.NOTES_TEMPLATE,
                sea=_STUDY_PARAMS["renamed"]["sea"],
                extra=_STUDY_PARAMS["open_set"][0],
            )
            summary = text["summary"].format(
                count=int(study.labels.numel()),
                top1=evaluation.top_k_accuracy(1),
                failures=len(evaluation.mine_failures()),
            )
            rows = _top5_bars(
                axes[column],
                evaluation.probabilities[index],
                study.classifiers[variant].class_names,
                true_class,
                title,
                text["probability"] + "\n" + summary,
            )
            metrics[f"{variant}_sea_top5"] = {name: round(p, 4) for name, p in rows}
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


# --- full profile: scene classes against object classes ----------------------------------------

_GROUP_TEXT = {
    "ko": {
        "title": "CLIP {model} zero-shot: scene class와 object class의 class별 정확도 (CIFAR-100 test, class당 {per_class}장)",
        "scene": "scene (large natural outdoor scenes)",
        "object": "object (과일/채소, 식품 용기, 가전, 가구)",
        "accuracy": "top-1 정확도",
        "single": "prompt 1개",
        "ensemble": "template 18개 ensemble",
        "overall": "전체 100 class",
        "mean": "{group} 평균",
        "scene_mean": "scene",
        "object_mean": "object",
    },
    "en": {
        "title": "CLIP {model} zero-shot: per-class accuracy of scene and object classes (CIFAR-100 test, {per_class} per class)",
        "scene": "scenes (large natural outdoor scenes)",
        "object": "objects (fruit/vegetables, containers, devices, furniture)",
        "accuracy": "top-1 accuracy",
        "single": "single prompt",
        "ensemble": "ensemble of 18 templates",
        "overall": "all 100 classes",
        "mean": "{group} mean",
        "scene_mean": "scenes",
        "object_mean": "objects",
    },
}


@recipe(
    "clip-scene-vs-object",
    title={
        "ko": "scene class와 object class의 class별 zero-shot 정확도, prompt 1개와 ensemble",
        "en": "Per-class zero-shot accuracy of scene and object classes, single prompt and ensemble",
    },
    params=_STUDY_PARAMS,
    code=_CODE,
    assets=_ASSETS,
)
def clip_scene_vs_object(context: RecipeContext) -> RecipeOutput:
    """Draw the per-class accuracy of the scene and object classes and the group means."""
    study = load_study(context)
    scene = [clip.clean_class_name(name) for name in clip.SCENE_CLASSES]
    objects = [clip.clean_class_name(name) for name in clip.OBJECT_CLASSES]
    variants = ("single", "ensemble")
    accuracy = {variant: study.evaluations[variant].class_accuracy(scene + objects) for variant in variants}
    group_means = {
        variant: {
            "scene": study.evaluations[variant].group_accuracy(scene),
            "object": study.evaluations[variant].group_accuracy(objects),
            "overall": study.evaluations[variant].top_k_accuracy(1),
        }
        for variant in variants
    }
    metrics: dict[str, Any] = {**study.metrics()}
    for variant in variants:
        metrics[f"{variant}_class_accuracy"] = {
            name: round(value, 4) for name, value in accuracy[variant].items()
        }
        metrics[f"{variant}_group_accuracy"] = {
            name: round(value, 4) for name, value in group_means[variant].items()
        }

    names = scene + objects
    positions = np.arange(len(names))
    per_class = int(torch.bincount(study.labels).max())
    colors = {"single": "#9ecae1", "ensemble": "#3182bd"}
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _GROUP_TEXT[language]
        figure = Figure(figsize=(14.0, 5.0), layout="constrained")
        axes, summary = figure.subplots(1, 2, width_ratios=[4, 1])
        figure.suptitle(text["title"].format(model=_model_label(), per_class=per_class))
        for offset, variant in ((-0.2, "single"), (0.2, "ensemble")):
            values = [accuracy[variant][name] for name in names]
            axes.bar(positions + offset, values, width=0.4, color=colors[variant], label=text[variant])
        axes.axvspan(-0.5, len(scene) - 0.5, color="#fee6ce", zorder=0, label=text["scene"])
        axes.set_xticks(positions, names, rotation=60, ha="right", fontsize=8)
        axes.set(ylabel=text["accuracy"], ylim=(0, 1.05), xlim=(-0.6, len(names) - 0.4))
        axes.legend(loc="upper right", fontsize=8, ncols=3)

        groups = ("scene", "object", "overall")
        group_labels = [text["scene_mean"], text["object_mean"], text["overall"]]
        group_positions = np.arange(len(groups))
        for offset, variant in ((-0.2, "single"), (0.2, "ensemble")):
            values = [group_means[variant][group] for group in groups]
            summary.bar(group_positions + offset, values, width=0.4, color=colors[variant])
            for position, value in zip(group_positions + offset, values, strict=True):
                summary.text(position, value + 0.01, f"{value:.2f}", ha="center", fontsize=7)
        summary.set_xticks(group_positions, group_labels, rotation=30, ha="right", fontsize=8)
        summary.set(ylim=(0, 1.05), title=text["mean"].format(group="top-1"))
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


# --- full profile: mined failures and frequent confusions --------------------------------------

_FAILURE_TEXT = {
    "ko": {
        "title": "scene 이미지가 object로 분류된 경우, 확신이 높은 순 (prompt 1개), 그리고 가장 잦은 혼동",
        "case": "#{index}: {true} -> {predicted}\n{confidence:.2f}",
        "none": "scene -> object 오류 없음",
        "confusions": "가장 잦은 혼동 {count}쌍 (정답 -> 예측)",
        "count": "이미지 수",
    },
    "en": {
        "title": "Scene images classified as objects, most confident first (single prompt), and the most frequent confusions",
        "case": "#{index}: {true} -> {predicted}\n{confidence:.2f}",
        "none": "no scene -> object error",
        "confusions": "{count} most frequent confusions (true -> predicted)",
        "count": "images",
    },
}


@recipe(
    "clip-failures",
    title={
        "ko": "scene -> object 오류를 확신 순으로 찾은 결과와 가장 잦은 혼동",
        "en": "Mined scene -> object failures ranked by confidence, and the most frequent confusions",
    },
    params={**_STUDY_PARAMS, "num_cases": 10, "num_confusions": 12},
    code=_CODE,
    assets=_ASSETS,
)
def clip_failures(context: RecipeContext) -> RecipeOutput:
    """Show the most confident scene-to-object failures as thumbnails, and the frequent confusion pairs."""
    study = load_study(context)
    single = study.evaluations["single"]
    cases = single.mine_failures(count=context.params["num_cases"])
    confusions = single.most_frequent_confusions(context.params["num_confusions"])
    predicted_counts: dict[str, int] = {}
    for case in single.mine_failures():
        predicted_counts[case.predicted_class] = predicted_counts.get(case.predicted_class, 0) + 1
    metrics = {
        **study.metrics(),
        "failures": [
            {
                "index": c.index,
                "true": c.true_class,
                "predicted": c.predicted_class,
                "confidence": round(c.confidence, 4),
            }
            for c in cases
        ],
        "scene_to_object_by_prediction": dict(sorted(predicted_counts.items(), key=lambda item: -item[1])),
        "confusions": [
            {"true": c.true_class, "predicted": c.predicted_class, "count": c.count} for c in confusions
        ],
    }

    num_cases = context.params["num_cases"]
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _FAILURE_TEXT[language]
        figure = Figure(figsize=(15.0, 6.5), layout="constrained")
        top, bottom = figure.subfigures(2, 1, height_ratios=[1.1, 1])
        figure.suptitle(text["title"])
        gallery = top.subplots(1, num_cases)
        for column, axes in enumerate(np.atleast_1d(gallery)):
            if column < len(cases):
                case = cases[column]
                image, _ = study.dataset[case.index]
                _show_image(axes, image, text["case"].format(
                    index=case.index, true=case.true_class, predicted=case.predicted_class, confidence=case.confidence
                ))  # fmt: skip
            else:
                axes.set_axis_off()
                if column == 0:
                    axes.set_title(text["none"], fontsize=9)
        bars = bottom.subplots(1, 1)
        labels = [f"{c.true_class} -> {c.predicted_class}" for c in confusions][::-1]
        bars.barh(labels, [c.count for c in confusions][::-1], color="#3182bd")
        bars.set_title(text["confusions"].format(count=len(confusions)), fontsize=10)
        bars.set_xlabel(text["count"])
        bars.tick_params(axis="y", labelsize=8)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


# --- full profile: image-by-prompt similarity ----------------------------------------------------

_MATRIX_TEXT = {
    "ko": {
        "title": 'image x prompt cosine similarity (CLIP {model}, prompt = "a photo of a {{class}}")',
        "images": "CIFAR-100 test 이미지 (class마다 첫 장, 마지막 행 = 위의 sea 이미지)",
        "prompts": "prompt의 class (마지막 열 = CIFAR-100에 없는 sunset)",
        "sea": "sea #{index} (apple 사례)",
    },
    "en": {
        "title": 'Image x prompt cosine similarity (CLIP {model}, prompt = "a photo of a {{class}}")',
        "images": "CIFAR-100 test images (first of each class; last row = the sea image above)",
        "prompts": "class in the prompt (last column = sunset, not a CIFAR-100 class)",
        "sea": "sea #{index} (apple case)",
    },
}


@recipe(
    "clip-similarity-matrix",
    title={
        "ko": "scene/object 이미지와 prompt 사이의 cosine similarity 행렬",
        "en": "Cosine-similarity matrix between scene/object images and prompts",
    },
    params={
        **_STUDY_PARAMS,
        "classes": [
            "sea",
            "cloud",
            "plain",
            "mountain",
            "forest",
            "apple",
            "orange",
            "pear",
            "bowl",
            "plate",
        ],
    },
    code=_CODE,
    assets=_ASSETS,
)
def clip_similarity_matrix(context: RecipeContext) -> RecipeOutput:
    """Draw the cosine similarity of one image per class, plus the sea image, against their prompts."""
    study = load_study(context)
    classes = list(context.params["classes"])
    names = study.evaluations["single"].class_names
    rows = [int(torch.nonzero(study.labels == names.index(name))[0, 0]) for name in classes]
    rows.append(study.sea_index)
    prompt_classes = classes + list(_STUDY_PARAMS["open_set"])
    prompt_classifier = study.classifiers["single"].with_classes(prompt_classes)
    similarity = F.normalize(study.features[rows], dim=-1) @ prompt_classifier.text_features.T
    metrics = {
        **study.metrics(),
        "image_indices": rows,
        "prompt_classes": prompt_classes,
        "similarity": [[round(float(v), 4) for v in row] for row in similarity],
    }

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _MATRIX_TEXT[language]
        figure = Figure(figsize=(11.0, 8.5), layout="constrained")
        thumbnails, axes = figure.subplots(1, 2, width_ratios=[1, 9])
        figure.suptitle(text["title"].format(model=_model_label()))
        strip = np.concatenate([np.asarray(study.dataset[index][0]) for index in rows], axis=0)
        thumbnails.imshow(strip, interpolation="nearest", aspect="auto")
        thumbnails.set_axis_off()
        shown = axes.imshow(similarity.numpy(), cmap="viridis", aspect="auto")
        for row in range(similarity.shape[0]):
            for column in range(similarity.shape[1]):
                value = float(similarity[row, column])
                # Dark text on the bright (high) cells of viridis, light text on the dark ones.
                color = "black" if value > float(similarity.mean()) else "white"
                axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color=color)
        row_labels = [*classes, text["sea"].format(index=study.sea_index)]
        axes.set_yticks(range(len(rows)), row_labels, fontsize=8)
        axes.set_xticks(range(len(prompt_classes)), prompt_classes, rotation=45, ha="right", fontsize=8)
        axes.set(xlabel=text["prompts"], ylabel=text["images"])
        axes.grid(False)
        figure.colorbar(shown, ax=axes, fraction=0.04, pad=0.02)
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
