r"""Zero-shot classification with CLIP: prompts, text classifier weights, evaluation and failure mining.

CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language
Supervision", ICML 2021) embeds an image and a sentence into one space. A
zero-shot classifier writes each class name into one or more prompt templates,
embeds the prompts with the text encoder and picks the class whose text
embedding is closest to the image embedding in cosine similarity:

$$
p(y = c \mid x) = \frac{\exp(s \cdot \cos(f(x), g_c))}{\sum_{j=1}^{C} \exp(s \cdot \cos(f(x), g_j))},
\qquad \cos(u, v) = \frac{u^\top v}{\lVert u \rVert_2 \lVert v \rVert_2}
$$

where $f$ is the image encoder, $g_c$ the text embedding of class $c$ and $s$
the model's learned logit scale (100 for OpenAI's ViT-B/32). With several
templates, $g_c$ is the mean of the L2-normalised embeddings of the class's
prompts, normalised again (the prompt ensembling of Radford et al., 2021).

The functions take an open_clip model (``encode_image``, ``encode_text`` and
``logit_scale``), its tokenizer and its preprocess;
[`pretrained_clip`][cvnotes.models.pretrained_clip] loads them. Every result is
float32 on the CPU, whichever device the model runs on.

Example:
    >>> import torch
    >>> image = torch.tensor([[0.6, 0.8]])
    >>> texts = torch.tensor([[3.0, 0.0], [0.0, 1.0]])  # class 0 has a longer text embedding
    >>> (image @ texts.T).argmax(dim=-1).item(), cosine_logits(image, texts, 1.0).argmax(dim=-1).item()
    (0, 1)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CIFAR100_TEMPLATES",
    "NOTES_TEMPLATE",
    "OBJECT_CLASSES",
    "OBJECT_SUPERCLASSES",
    "SCENE_CLASSES",
    "Confusion",
    "FailureCase",
    "ZeroShotClassifier",
    "ZeroShotEvaluation",
    "class_text_embeddings",
    "clean_class_name",
    "cosine_logits",
    "encode_dataset",
    "encode_images",
    "ensemble_text_embeddings",
    "evaluate_features",
    "model_logit_scale",
    "top_k",
]

NOTES_TEMPLATE = "a photo of a {}"
"""The single prompt of the course notes; ``{}`` is replaced by the class name."""

# The 18 CIFAR-100 templates that OpenAI lists for CLIP's zero-shot evaluation
# (github.com/openai/CLIP, data/prompts.md, section CIFAR100). open_clip 3.3 ships
# only the ImageNet templates, so the list is written here as data.
CIFAR100_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a black and white photo of a {}.",
    "a low contrast photo of a {}.",
    "a high contrast photo of a {}.",
    "a bad photo of a {}.",
    "a good photo of a {}.",
    "a photo of a small {}.",
    "a photo of a big {}.",
    "a photo of the {}.",
    "a blurry photo of the {}.",
    "a black and white photo of the {}.",
    "a low contrast photo of the {}.",
    "a high contrast photo of the {}.",
    "a bad photo of the {}.",
    "a good photo of the {}.",
    "a photo of the small {}.",
    "a photo of the big {}.",
)
"""CLIP's 18 prompt templates for CIFAR-100 (OpenAI's CLIP repository, ``data/prompts.md``)."""

SCENE_CLASSES: tuple[str, ...] = ("cloud", "forest", "mountain", "plain", "sea")
"""CIFAR-100's superclass "large natural outdoor scenes" (Krizhevsky, 2009)."""

OBJECT_SUPERCLASSES: Mapping[str, tuple[str, ...]] = {
    "fruit and vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "food containers": ("bottle", "bowl", "can", "cup", "plate"),
    "household electrical devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household furniture": ("bed", "chair", "couch", "table", "wardrobe"),
}
"""CIFAR-100 superclasses of single, hand-sized or indoor objects, with their classes as torchvision names them."""

OBJECT_CLASSES: tuple[str, ...] = tuple(name for names in OBJECT_SUPERCLASSES.values() for name in names)
"""The 20 object classes of [`OBJECT_SUPERCLASSES`][cvnotes.clip.OBJECT_SUPERCLASSES], in that order."""


def clean_class_name(name: str) -> str:
    """Turn a data set's class name into words for a prompt: underscores become spaces.

    Example:
        >>> clean_class_name("sweet_pepper")
        'sweet pepper'

    Raises:
        ValueError: If the name is empty after cleaning.
    """
    cleaned = " ".join(name.replace("_", " ").split())
    if not cleaned:
        raise ValueError(f"invalid class name {name!r}: it is empty after replacing underscores")
    return cleaned


def _check_templates(templates: Sequence[str]) -> tuple[str, ...]:
    if isinstance(templates, str):
        raise TypeError(
            f"templates must be a list of strings, not the string {templates!r}: use [{templates!r}]"
        )
    templates = tuple(templates)
    if not templates:
        raise ValueError("templates is empty: give at least one template such as 'a photo of a {}'")
    for template in templates:
        if template.count("{}") != 1:
            raise ValueError(
                f"invalid template {template!r}: it must contain exactly one '{{}}' for the class name"
            )
    return templates


def model_logit_scale(model: nn.Module) -> float:
    """Return the model's own logit scale $s = \\exp(\\text{logit\\_scale})$.

    CLIP learns the temperature as ``logit_scale`` in log space and clips $s$ at
    100 during training (Radford et al., 2021); OpenAI's ViT-B/32 reached that bound.

    Raises:
        AttributeError: If the model has no ``logit_scale`` parameter.
    """
    if not hasattr(model, "logit_scale"):
        raise AttributeError(f"{type(model).__name__} has no logit_scale: pass an open_clip CLIP model")
    return float(torch.as_tensor(model.logit_scale).detach().float().exp().cpu())


@torch.no_grad()
def class_text_embeddings(
    model: nn.Module,
    tokenizer: Any,
    class_names: Sequence[str],
    templates: Sequence[str] = (NOTES_TEMPLATE,),
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
) -> Tensor:
    """Embed every (class, template) prompt with the text encoder, unnormalised.

    Class names are cleaned with [`clean_class_name`][cvnotes.clip.clean_class_name].

    Args:
        model: An open_clip CLIP model; it is put in eval mode.
        tokenizer: open_clip's tokenizer for the model (strings to a ``(N, L)`` token tensor).
        class_names: ``C`` class names.
        templates: ``T`` templates, each with one ``{}``.
        device: Device the model is on.
        batch_size: Prompts per forward pass of the text encoder.

    Returns:
        Raw text embeddings of shape ``(C, T, D)``, float32 on the CPU.

    Raises:
        ValueError: If there are no classes, a template lacks its ``{}``, or
            ``batch_size`` is below 1.
    """
    if batch_size < 1:
        raise ValueError(f"invalid batch_size={batch_size}: it must be at least 1")
    templates = _check_templates(templates)
    names = [clean_class_name(name) for name in class_names]
    if not names:
        raise ValueError("class_names is empty: give at least one class name")
    model.eval()

    prompts = [template.format(name) for name in names for template in templates]
    # 100 classes x 18 templates in one pass would hold 1,800 sequences of activations at once.
    chunks = []
    for start in range(0, len(prompts), batch_size):
        tokens = tokenizer(prompts[start : start + batch_size]).to(device)
        chunks.append(model.encode_text(tokens).float().cpu())
    return torch.cat(chunks).reshape(len(names), len(templates), -1)


def ensemble_text_embeddings(embeddings: Tensor) -> Tensor:
    r"""Average each class's prompt embeddings into one unit vector.

    $$
    g_c = \frac{\bar g_c}{\lVert \bar g_c \rVert_2}, \qquad
    \bar g_c = \frac{1}{T} \sum_{t=1}^{T} \frac{e_{c,t}}{\lVert e_{c,t} \rVert_2}
    $$

    Each prompt is normalised before the mean, so no template weighs more because
    its embedding is longer, and the mean does not depend on the order of the templates.

    Args:
        embeddings: Text embeddings of shape ``(C, T, D)``, or ``(C, D)`` for one template.

    Returns:
        Unit-length class embeddings of shape ``(C, D)``.

    Raises:
        ValueError: If the tensor is not 2-D or 3-D.
    """
    if embeddings.dim() == 2:
        embeddings = embeddings.unsqueeze(1)
    if embeddings.dim() != 3:
        raise ValueError(f"embeddings must have shape (C, T, D) or (C, D), got {tuple(embeddings.shape)}")
    return F.normalize(F.normalize(embeddings, dim=-1).mean(dim=1), dim=-1)


@torch.no_grad()
def encode_images(model: nn.Module, images: Tensor) -> Tensor:
    """Embed preprocessed images with the image encoder and L2-normalise them.

    Args:
        model: An open_clip CLIP model; it is put in eval mode.
        images: Preprocessed images of shape ``(N, 3, H, W)`` on the model's device.

    Returns:
        Unit-length image embeddings of shape ``(N, D)``, float32 on the CPU.

    Raises:
        ValueError: If ``images`` is not a batch ``(N, 3, H, W)``.
    """
    if images.dim() != 4:
        raise ValueError(
            f"images must be a batch of shape (N, 3, H, W), got {tuple(images.shape)}; "
            "for one image use image.unsqueeze(0)"
        )
    model.eval()
    return F.normalize(model.encode_image(images).float().cpu(), dim=-1)


def cosine_logits(image_features: Tensor, text_features: Tensor, logit_scale: float) -> Tensor:
    """Return the zero-shot logits: the logit scale times the cosine similarity of every pair.

    Both sides are L2-normalised here, so raw encoder outputs are safe to pass.
    Without the normalisation the dot product favours classes whose text
    embedding happens to be long (see the module example).

    Args:
        image_features: Image embeddings ``(N, D)``.
        text_features: Class embeddings ``(C, D)``.
        logit_scale: The model's scale $s$ ([`model_logit_scale`][cvnotes.clip.model_logit_scale]).

    Returns:
        Logits of shape ``(N, C)``; a softmax along ``dim=-1`` gives each image's class probabilities.

    Raises:
        ValueError: If the shapes do not match.
    """
    if image_features.dim() != 2 or text_features.dim() != 2:
        raise ValueError(
            f"expected image features (N, D) and text features (C, D), got "
            f"{tuple(image_features.shape)} and {tuple(text_features.shape)}"
        )
    if image_features.shape[1] != text_features.shape[1]:
        raise ValueError(
            f"embedding sizes differ: images have D={image_features.shape[1]}, texts D={text_features.shape[1]}"
        )
    return logit_scale * F.normalize(image_features, dim=-1) @ F.normalize(text_features, dim=-1).T


def top_k(probabilities: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Return the ``k`` largest probabilities of each image and their class indices.

    The top-k runs along the class axis (``dim=-1``), so row ``i`` belongs to image
    ``i``; for one image take row 0 of the result.

    Args:
        probabilities: Class probabilities ``(N, C)``.
        k: Number of classes per image, 1 to ``C``.

    Returns:
        ``(values, indices)``, each of shape ``(N, k)``, largest first.

    Raises:
        ValueError: If ``probabilities`` is not 2-D or ``k`` is out of range.
    """
    if probabilities.dim() != 2:
        raise ValueError(
            f"probabilities must have shape (N, C), got {tuple(probabilities.shape)}; "
            "for one image use probabilities.unsqueeze(0)"
        )
    if not 1 <= k <= probabilities.shape[1]:
        raise ValueError(f"invalid k={k}: use 1 to the number of classes, {probabilities.shape[1]}")
    return probabilities.topk(k, dim=-1)


@dataclass
class ZeroShotClassifier:
    """A CLIP model with the text embeddings of a fixed set of classes.

    Build it with [`build`][cvnotes.clip.ZeroShotClassifier.build]; the fields are
    kept so that other class lists can reuse the model
    ([`with_classes`][cvnotes.clip.ZeroShotClassifier.with_classes]).

    Attributes:
        model: The open_clip model, in eval mode, on ``device``.
        preprocess: open_clip's evaluation transform: a PIL image to ``(3, H, W)``.
        tokenizer: open_clip's tokenizer.
        class_names: Cleaned class names, ``C`` of them, in logit order.
        templates: The prompt templates whose embeddings were averaged.
        text_features: Unit-length class embeddings ``(C, D)``, float32 on the CPU.
        logit_scale: The model's own logit scale.
        device: Device the model runs on.
    """

    model: nn.Module
    preprocess: Any
    tokenizer: Any
    class_names: tuple[str, ...]
    templates: tuple[str, ...]
    text_features: Tensor = field(repr=False)
    logit_scale: float
    device: str = "cpu"

    @classmethod
    def build(
        cls,
        model: nn.Module,
        preprocess: Any,
        tokenizer: Any,
        class_names: Sequence[str],
        templates: Sequence[str] = (NOTES_TEMPLATE,),
        *,
        device: str = "cpu",
    ) -> ZeroShotClassifier:
        """Put the model in eval mode on ``device`` and embed the classes' prompts.

        Args:
            model: An open_clip CLIP model (float32).
            preprocess: Its evaluation transform.
            tokenizer: Its tokenizer.
            class_names: Class names; underscores become spaces.
            templates: One template, or several to ensemble (e.g. [`CIFAR100_TEMPLATES`][cvnotes.clip.CIFAR100_TEMPLATES]).
            device: ``"cpu"`` or a CUDA device.

        Returns:
            The classifier.
        """
        model.to(device).eval()
        embeddings = class_text_embeddings(model, tokenizer, class_names, templates, device=device)
        return cls(
            model=model,
            preprocess=preprocess,
            tokenizer=tokenizer,
            class_names=tuple(clean_class_name(name) for name in class_names),
            templates=_check_templates(templates),
            text_features=ensemble_text_embeddings(embeddings),
            logit_scale=model_logit_scale(model),
            device=str(device),
        )

    def with_classes(
        self, class_names: Sequence[str], templates: Sequence[str] | None = None
    ) -> ZeroShotClassifier:
        """Return a classifier over other classes (or templates) that shares this model."""
        templates = self.templates if templates is None else _check_templates(templates)
        embeddings = class_text_embeddings(
            self.model, self.tokenizer, class_names, templates, device=self.device
        )
        return replace(
            self,
            class_names=tuple(clean_class_name(name) for name in class_names),
            templates=templates,
            text_features=ensemble_text_embeddings(embeddings),
        )

    def logits_from_features(self, image_features: Tensor) -> Tensor:
        """Return the logits ``(N, C)`` of image embeddings ``(N, D)``."""
        return cosine_logits(image_features, self.text_features, self.logit_scale)

    def encode(self, images: Tensor) -> Tensor:
        """Return the unit-length embeddings ``(N, D)`` of preprocessed images ``(N, 3, H, W)``."""
        return encode_images(self.model, images.to(self.device))

    def probabilities(self, images: Tensor) -> Tensor:
        """Return the class probabilities ``(N, C)`` of preprocessed images ``(N, 3, H, W)``."""
        return self.logits_from_features(self.encode(images)).softmax(dim=-1)

    def preprocess_images(self, images: Iterable[Any]) -> Tensor:
        """Apply the evaluation transform to PIL images and stack them into ``(N, 3, H, W)``."""
        return torch.stack([self.preprocess(image) for image in images])


@dataclass(frozen=True)
class Confusion:
    """A (true class, predicted class) pair and how many test images it covers."""

    true_class: str
    predicted_class: str
    count: int


@dataclass(frozen=True)
class FailureCase:
    """A misclassified test image.

    Attributes:
        index: Index of the image in the evaluated data set.
        true_class: Its label.
        predicted_class: The top-1 class.
        confidence: The top-1 probability.
    """

    index: int
    true_class: str
    predicted_class: str
    confidence: float


@dataclass
class ZeroShotEvaluation:
    """Class probabilities of every evaluated image, with the metrics computed from them.

    Attributes:
        probabilities: ``(N, C)`` float32 class probabilities.
        labels: ``(N,)`` true labels; they index the first classes of ``class_names``
            (an added open-set class such as "sunset" has no images).
        class_names: The ``C`` class names as the prompts used them.
    """

    probabilities: Tensor
    labels: Tensor
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.probabilities.dim() != 2 or self.labels.shape != (self.probabilities.shape[0],):
            raise ValueError(
                f"expected probabilities (N, C) and labels (N,), got {tuple(self.probabilities.shape)} "
                f"and {tuple(self.labels.shape)}"
            )
        if len(self.class_names) != self.probabilities.shape[1]:
            raise ValueError(
                f"{len(self.class_names)} class names for {self.probabilities.shape[1]} probability columns"
            )

    @property
    def predictions(self) -> Tensor:
        """Top-1 class of each image, ``(N,)``."""
        return self.probabilities.argmax(dim=-1)

    def top_k_accuracy(self, k: int) -> float:
        """Return the share of images whose label is among their ``k`` most probable classes."""
        _, indices = top_k(self.probabilities, k)
        return float((indices == self.labels[:, None]).any(dim=-1).float().mean())

    def per_class_accuracy(self) -> Tensor:
        """Return the top-1 accuracy of each class, ``(C,)``; NaN for a class without images."""
        num_classes = len(self.class_names)
        correct = (self.predictions == self.labels).float()
        totals = torch.bincount(self.labels, minlength=num_classes).float()
        hits = torch.bincount(self.labels, weights=correct, minlength=num_classes).float()
        return torch.where(totals > 0, hits / totals.clamp(min=1), torch.tensor(math.nan))

    def class_accuracy(self, names: Iterable[str]) -> dict[str, float]:
        """Return the top-1 accuracy of the named classes (names as in ``class_names``)."""
        accuracy = self.per_class_accuracy()
        return {name: float(accuracy[self._index(name)]) for name in names}

    def group_accuracy(self, names: Iterable[str]) -> float:
        """Return the top-1 accuracy over all images whose label is one of the named classes."""
        indices = torch.tensor([self._index(name) for name in names])
        selected = torch.isin(self.labels, indices)
        if not selected.any():
            raise ValueError(f"no evaluated image belongs to the classes {list(names)}")
        return float((self.predictions[selected] == self.labels[selected]).float().mean())

    def confusion_matrix(self) -> Tensor:
        """Return counts ``(C, C)``: row = true class, column = top-1 class."""
        num_classes = len(self.class_names)
        flat = self.labels * num_classes + self.predictions
        return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)

    def most_frequent_confusions(self, count: int = 10) -> list[Confusion]:
        """Return the ``count`` most frequent (true, predicted) pairs of misclassified images.

        Ties are broken by class index, so the order is deterministic.
        """
        matrix = self.confusion_matrix()
        matrix.fill_diagonal_(0)
        flat = matrix.flatten()
        # A stable sort of the negated counts keeps ties in class-index order.
        order = torch.sort(-flat, stable=True).indices[:count]
        num_classes = len(self.class_names)
        return [
            Confusion(
                self.class_names[int(i) // num_classes], self.class_names[int(i) % num_classes], int(flat[i])
            )
            for i in order
            if flat[i] > 0
        ]

    def mine_failures(
        self,
        true_classes: Iterable[str] = SCENE_CLASSES,
        predicted_classes: Iterable[str] = OBJECT_CLASSES,
        count: int | None = None,
    ) -> list[FailureCase]:
        """Find images of some classes predicted as other classes, most confident first.

        With the defaults it finds scene images (sea, cloud, plain, mountain, forest)
        whose top-1 class is an object (apple, orange, bowl, ...).

        Args:
            true_classes: Labels to search, as in ``class_names`` (underscores allowed).
            predicted_classes: Top-1 classes that count as a failure.
            count: Keep at most this many; all by default.

        Returns:
            [`FailureCase`][cvnotes.clip.FailureCase] items sorted by descending confidence.
        """
        true_indices = torch.tensor([self._index(name) for name in true_classes])
        predicted_indices = torch.tensor([self._index(name) for name in predicted_classes])
        confidence, predictions = self.probabilities.max(dim=-1)
        selected = torch.isin(self.labels, true_indices) & torch.isin(predictions, predicted_indices)
        indices = torch.nonzero(selected).flatten()
        order = torch.sort(-confidence[indices], stable=True).indices
        cases = [
            FailureCase(
                index=int(indices[i]),
                true_class=self.class_names[int(self.labels[indices[i]])],
                predicted_class=self.class_names[int(predictions[indices[i]])],
                confidence=float(confidence[indices[i]]),
            )
            for i in order
        ]
        return cases if count is None else cases[:count]

    def _index(self, name: str) -> int:
        cleaned = clean_class_name(name)
        if cleaned not in self.class_names:
            raise ValueError(f"unknown class {name!r}; the classes are {', '.join(self.class_names)}")
        return self.class_names.index(cleaned)


@torch.no_grad()
def encode_dataset(
    classifier: ZeroShotClassifier,
    dataset: Sequence[tuple[Any, int]],
    *,
    batch_size: int = 256,
    limit: int | None = None,
    progress: bool = True,
) -> tuple[Tensor, Tensor]:
    """Embed every image of a data set of ``(PIL image, label)`` items, in batches.

    The image embeddings do not depend on the prompts, so one pass serves every
    class list and template set (``ZeroShotEvaluation`` from
    ``classifier.logits_from_features``).

    Args:
        classifier: Supplies the model, its preprocess and the device.
        dataset: Indexable items ``(PIL image, label)``, e.g. ``torchvision.datasets.CIFAR100``.
        batch_size: Images per forward pass.
        limit: Embed only the first ``limit`` images.
        progress: Show a tqdm progress bar (hidden when stderr is not a terminal).

    Returns:
        ``(features, labels)``: unit-length embeddings ``(N, D)`` and labels ``(N,)``.

    Raises:
        ValueError: If ``batch_size`` is below 1 or the data set is empty.
    """
    from tqdm import tqdm

    if batch_size < 1:
        raise ValueError(f"invalid batch_size={batch_size}: it must be at least 1")
    total = len(dataset) if limit is None else min(limit, len(dataset))
    if total == 0:
        raise ValueError("the data set is empty: nothing to evaluate")

    features, labels = [], []
    with tqdm(
        total=total, desc="CLIP image features", unit="image", disable=None if progress else True
    ) as bar:
        for start in range(0, total, batch_size):
            items = [dataset[index] for index in range(start, min(start + batch_size, total))]
            images = classifier.preprocess_images(image for image, _ in items)
            features.append(classifier.encode(images))
            labels.append(torch.tensor([int(label) for _, label in items]))
            bar.update(len(items))
    return torch.cat(features), torch.cat(labels)


def evaluate_features(
    classifier: ZeroShotClassifier, image_features: Tensor, labels: Tensor
) -> ZeroShotEvaluation:
    """Return the evaluation of precomputed image embeddings under the classifier's prompts."""
    probabilities = classifier.logits_from_features(image_features).softmax(dim=-1)
    return ZeroShotEvaluation(probabilities=probabilities, labels=labels, class_names=classifier.class_names)
