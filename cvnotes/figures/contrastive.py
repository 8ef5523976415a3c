"""Figure of the cross-modal alignment section: a two-tower model trained with symmetric InfoNCE.

The recipe trains [`TwoTowerModel`][cvnotes.contrastive.TwoTowerModel] on synthetic pairs in
process and shows, on held-out pairs, the cosine-similarity matrix and a 2-D projection of the
embeddings before and after training.
"""

from __future__ import annotations

import matplotlib
import torch
from matplotlib.figure import Figure

from cvnotes import contrastive
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["contrastive_alignment", "project_2d"]


def project_2d(*embeddings: torch.Tensor) -> list[torch.Tensor]:
    """Project several ``(N_k, D)`` embedding sets onto the top two principal axes of all of them."""
    stacked = torch.cat(embeddings)
    mean = stacked.mean(dim=0)
    _, _, basis = torch.linalg.svd(stacked - mean, full_matrices=False)
    return [(embedding - mean) @ basis[:2].T for embedding in embeddings]


def _mean_batch_loss(
    model: contrastive.TwoTowerModel, data: contrastive.PairedData, batch_size: int
) -> float:
    """Return the mean symmetric InfoNCE over the pairs in order, in batches, without training.

    The batches are taken in order, not shuffled, so that no random numbers are drawn
    and the training that follows gets the same shuffles.
    """
    losses = []
    with torch.no_grad():
        for start in range(0, data.image_features.shape[0] - 1, batch_size):
            end = start + batch_size
            image, text = model(data.image_features[start:end], data.text_features[start:end])
            if image.shape[0] >= 2:
                losses.append(contrastive.symmetric_info_nce(image, text, model.logit_scale()).item())
    return sum(losses) / len(losses)


_TEXT = {
    "ko": {
        "title": "두 tower 모델을 symmetric InfoNCE로 학습하기 전과 후 (held-out 쌍)",
        "before": "학습 전",
        "after": "학습 후",
        "matrix": "{stage}: cosine similarity (대각선 = 짝)",
        "image_axis": "image 임베딩 (concept i의 held-out 쌍)",
        "text_axis": "text 임베딩 (concept j)",
        "embedding": "{stage}: 임베딩의 2차원 PCA",
        "image": "image",
        "text": "text",
        "loss": "학습 손실 (nats)",
        "scale": "logit scale $1/T$",
        "epoch": "epoch",
        "curves": "손실과 학습되는 온도",
        "chance": "무작위 수준 $\\log N$",
        "gap": "held-out {num_test}쌍 전체: 짝 평균 {matched:.2f}, 짝이 아닌 쌍 평균 {mismatched:.2f}",
    },
    "en": {
        "title": "A two-tower model before and after training with symmetric InfoNCE (held-out pairs)",
        "before": "before training",
        "after": "after training",
        "matrix": "{stage}: cosine similarity (diagonal = pairs)",
        "image_axis": "image embedding (held-out pair of concept i)",
        "text_axis": "text embedding (concept j)",
        "embedding": "{stage}: 2-D PCA of the embeddings",
        "image": "image",
        "text": "text",
        "loss": "training loss (nats)",
        "scale": "logit scale $1/T$",
        "epoch": "epoch",
        "curves": "Loss and the learned temperature",
        "chance": "chance level $\\log N$",
        "gap": "all {num_test} held-out pairs: pairs {matched:.2f} on average, non-pairs {mismatched:.2f}",
    },
}


@recipe(
    "contrastive-alignment",
    title={
        "ko": "symmetric InfoNCE로 학습한 두 tower 모델: similarity 행렬과 임베딩, 학습 전후",
        "en": "Two-tower model trained with symmetric InfoNCE: similarity matrix and embeddings, before and after",
    },
    params={
        "num_train": 512,
        "num_test": 128,
        "num_concepts": 8,
        "num_epochs": 40,
        "batch_size": 64,
        "lr": 0.01,
        "num_projected": 64,
    },
    code=(contrastive,),
)
def contrastive_alignment(context: RecipeContext) -> RecipeOutput:
    """Train the two towers in process and compare held-out pairs before and after."""
    params = context.params
    generator = torch.Generator().manual_seed(context.seed)
    data = contrastive.make_paired_data(
        params["num_train"] + params["num_test"], num_concepts=params["num_concepts"], generator=generator
    )
    split = params["num_train"]
    train = contrastive.PairedData(
        data.image_features[:split], data.text_features[:split], data.concepts[:split]
    )
    test_image, test_text = data.image_features[split:], data.text_features[split:]
    test_concepts = data.concepts[split:]

    model = contrastive.TwoTowerModel(
        image_dim=data.image_features.shape[1], text_dim=data.text_features.shape[1]
    )
    model.eval()
    with torch.no_grad():
        before = model(test_image, test_text)
    before_scores = contrastive.matched_pair_similarity(model, test_image, test_text)
    initial_loss = _mean_batch_loss(model, train, params["batch_size"])
    history = contrastive.train_two_tower(
        model,
        train,
        num_epochs=params["num_epochs"],
        batch_size=params["batch_size"],
        lr=params["lr"],
        generator=generator,
    )
    model.eval()
    with torch.no_grad():
        after = model(test_image, test_text)
    after_scores = contrastive.matched_pair_similarity(model, test_image, test_text)

    metrics = {f"before_{key}": value for key, value in before_scores.items()}
    metrics |= {f"after_{key}": value for key, value in after_scores.items()}
    metrics |= {
        "final_train_loss": history.loss[-1],
        "first_epoch_loss": history.loss[0],
        "initial_train_loss": initial_loss,
        "final_logit_scale": history.logit_scale[-1],
        "initial_logit_scale": 1 / contrastive.CLIP_INITIAL_TEMPERATURE,
    }

    # One held-out pair per concept, so that an off-diagonal entry is always a different concept.
    shown_pairs = torch.stack(
        [torch.nonzero(test_concepts == concept)[0, 0] for concept in test_concepts.unique()]
    )
    projected = params["num_projected"]
    stages = {
        "before": (before, before_scores),
        "after": (after, after_scores),
    }
    colors = matplotlib.colormaps["tab10"](test_concepts[:projected].numpy() % 10)
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(13.5, 9.2), layout="constrained")
        figure.get_layout_engine().set(h_pad=0.15, hspace=0.08)
        axes = figure.subplots(2, 3)
        figure.suptitle(text["title"])
        for column, (stage, ((image, text_embedding), scores)) in enumerate(stages.items()):
            matrix_axes = axes[0, column]
            similarity = (image[shown_pairs] @ text_embedding[shown_pairs].T).numpy()
            shown_image = matrix_axes.imshow(similarity, vmin=-1, vmax=1, cmap="RdBu_r")
            matrix_axes.set_title(text["matrix"].format(stage=text[stage]), fontsize=10)
            matrix_axes.set_xlabel(
                text["text_axis"] + "\n" + text["gap"].format(num_test=params["num_test"], **scores)
            )
            matrix_axes.set_ylabel(text["image_axis"])
            matrix_axes.grid(False)
            figure.colorbar(shown_image, ax=matrix_axes, fraction=0.046, pad=0.04)

            embedding_axes = axes[1, column]
            image_2d, text_2d = project_2d(image[:projected], text_embedding[:projected])
            for start, end in zip(image_2d.tolist(), text_2d.tolist(), strict=True):
                embedding_axes.plot(
                    [start[0], end[0]], [start[1], end[1]], color="0.8", linewidth=0.6, zorder=1
                )
            embedding_axes.scatter(
                *image_2d.T.numpy(), c=colors, marker="o", s=22, label=text["image"], zorder=2
            )
            embedding_axes.scatter(
                *text_2d.T.numpy(), c=colors, marker="^", s=26, edgecolors="black", linewidths=0.4,
                label=text["text"], zorder=3,
            )  # fmt: skip
            embedding_axes.set_title(text["embedding"].format(stage=text[stage]), fontsize=10)
            embedding_axes.set_aspect("equal", adjustable="datalim")
            embedding_axes.legend(loc="best", fontsize=8)

        # Epoch 0 is the model before training: its loss on the training pairs and its initial scale.
        epochs = range(len(history.loss) + 1)
        loss_axes = axes[0, 2]
        loss_axes.plot(epochs, [initial_loss, *history.loss], color="#3182bd", linewidth=2)
        loss_axes.axhline(
            torch.log(torch.tensor(float(params["batch_size"]))).item(),
            color="0.5",
            linestyle="--",
            label=text["chance"],
        )
        loss_axes.set(xlabel=text["epoch"], ylabel=text["loss"])
        loss_axes.set_title(text["curves"], fontsize=10)
        loss_axes.legend(loc="upper right", fontsize=8)
        scale_axes = axes[1, 2]
        scale_axes.plot(
            epochs, [metrics["initial_logit_scale"], *history.logit_scale], color="#de2d26", linewidth=2
        )
        scale_axes.set(xlabel=text["epoch"], ylabel=text["scale"])
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
