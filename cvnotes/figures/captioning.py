"""Figure of the captioning-attention section: soft attention per word, and coverage with and without
the doubly stochastic regulariser.

The recipe trains two small [`AttentionCaptioner`][cvnotes.captioning.AttentionCaptioner] models
on synthetic feature grids, one with $\\lambda = 0$ and one with the regulariser, and draws their
attention on a held-out grid.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cvnotes import captioning
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["captioning_attention", "train_and_evaluate"]


def train_and_evaluate(
    train: captioning.CaptionBatch,
    test: captioning.CaptionBatch,
    *,
    lam: float,
    num_steps: int,
    seed: int,
) -> tuple[captioning.AttentionCaptioner, torch.Tensor, dict[str, float]]:
    """Train one captioner and return it, its ``(N, T, L)`` test attention and its test scores."""
    torch.manual_seed(seed)
    num_classes = int(train.captions.max()) + 1
    model = captioning.AttentionCaptioner(feature_dim=train.annotations.shape[-1], vocab_size=num_classes)
    captioning.train_captioner(
        model, train, lam=lam, num_steps=num_steps, generator=torch.Generator().manual_seed(seed)
    )
    model.eval()
    with torch.no_grad():
        logits, weights = model(test.annotations, test.captions)
    coverage = captioning.attention_coverage(weights)
    scores = {
        "word_accuracy": float((logits.argmax(-1) == test.captions).float().mean()),
        # Attention that step t puts on the cell of the t-th object, the one its word names.
        "attention_on_named_object": float(weights.gather(2, test.object_cells[:, :, None]).mean()),
        "max_coverage": float(coverage.max(dim=-1).values.mean()),
        "penalty": float(captioning.doubly_stochastic_penalty(weights)),
    }
    return model, weights, scores


_TEXT = {
    "ko": {
        "title": "Show, Attend and Tell 방식의 soft attention: 단어마다 다른 위치를 본다 (합성 feature grid)",
        "grid": "입력 grid와 물체 (class 번호)",
        "step": "{step}번째 단어 '{word}'의 $\\alpha_t$\n(× = hard attention 표본)",
        "coverage": "coverage $\\sum_t \\alpha_{{ti}}$, $\\lambda$ = {lam:g}",
        "scores": "held-out 256장 평균",
        "accuracy": "단어 정확도",
        "named": "이름 붙는 물체에\n준 attention",
        "max_coverage": "최대 coverage",
        "lam": "$\\lambda$ = {lam:g}",
    },
    "en": {
        "title": "Soft attention as in Show, Attend and Tell: each word looks at a different place (synthetic feature grid)",
        "grid": "input grid and objects (class ids)",
        "step": "$\\alpha_t$ of word {step}, '{word}'\n(× = a hard-attention sample)",
        "coverage": "coverage $\\sum_t \\alpha_{{ti}}$, $\\lambda$ = {lam:g}",
        "scores": "mean over 256 held-out grids",
        "accuracy": "word accuracy",
        "named": "attention on the\nnamed object",
        "max_coverage": "max coverage",
        "lam": "$\\lambda$ = {lam:g}",
    },
}


@recipe(
    "captioning-attention",
    title={
        "ko": "captioning의 soft attention: 단어별 attention map과 doubly stochastic 정규화의 coverage",
        "en": "Soft attention in captioning: per-word attention maps and coverage with the doubly stochastic penalty",
    },
    params={
        "grid_size": 5,
        "num_objects": 3,
        "num_classes": 5,
        "num_train": 1024,
        "num_test": 256,
        "num_steps": 400,
        "lam": 0.1,
        "shown_image": 0,
    },
    code=(captioning,),
)
def captioning_attention(context: RecipeContext) -> RecipeOutput:
    """Train with and without the regulariser and draw attention and coverage on one grid."""
    params = context.params
    size = params["grid_size"]
    options = {"grid_size": size, "num_objects": params["num_objects"], "num_classes": params["num_classes"]}
    train = captioning.make_caption_batch(
        params["num_train"], **options, generator=torch.Generator().manual_seed(context.seed)
    )
    test = captioning.make_caption_batch(
        params["num_test"], **options, generator=torch.Generator().manual_seed(context.seed + 1)
    )
    lams = [0.0, params["lam"]]
    results = {
        lam: train_and_evaluate(train, test, lam=lam, num_steps=params["num_steps"], seed=context.seed)
        for lam in lams
    }
    metrics = {f"lam{lam:g}_{key}": value for lam in lams for key, value in results[lam][2].items()}

    shown_index = params["shown_image"]
    weights = results[0.0][1][shown_index]
    hard_samples = captioning.sample_hard_attention(
        weights, generator=torch.Generator().manual_seed(context.seed)
    )
    cells = test.object_cells[shown_index].tolist()
    words = test.captions[shown_index].tolist()
    metrics["shown_attention_peaks_on_object"] = [
        int(weights[step].argmax()) == cells[step] for step in range(len(cells))
    ]

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(14.0, 7.0))
        axes = figure.subplots(2, 4)
        figure.suptitle(text["title"])

        grid_axes = axes[0, 0]
        occupied = torch.zeros(size * size)
        occupied[cells] = 1.0
        grid_axes.imshow(occupied.reshape(size, size).numpy(), cmap="Blues", vmin=0.0, vmax=2.5)
        for cell, word in zip(cells, words, strict=True):
            grid_axes.text(cell % size, cell // size, str(word), ha="center", va="center", fontsize=12)
        grid_axes.set_title(text["grid"], fontsize=10)

        # One colour scale for the three steps, so their peaks compare.
        weight_max = float(weights.max())
        for step in range(len(cells)):
            step_axes = axes[0, step + 1]
            shown_weights = step_axes.imshow(
                weights[step].reshape(size, size).numpy(), cmap="magma", vmin=0, vmax=weight_max
            )
            sample = int(hard_samples[step].argmax())
            step_axes.plot(sample % size, sample // size, marker="x", color="#31a354", markersize=12, mew=2.5)
            cell = cells[step]
            step_axes.add_patch(_cell_outline(cell % size, cell // size))
            step_axes.set_title(text["step"].format(step=step + 1, word=words[step]), fontsize=10)
            figure.colorbar(shown_weights, ax=step_axes, fraction=0.046, pad=0.04)

        for column, lam in enumerate(lams):
            coverage_axes = axes[1, column]
            coverage = captioning.attention_coverage(results[lam][1][shown_index])
            shown_coverage = coverage_axes.imshow(
                coverage.reshape(size, size).numpy(), cmap="viridis", vmin=0, vmax=1
            )
            for cell in cells:
                coverage_axes.add_patch(_cell_outline(cell % size, cell // size))
            # The subscript of the sum hangs below the baseline: more padding keeps it off the image.
            coverage_axes.set_title(text["coverage"].format(lam=lam), fontsize=10, pad=12)
            figure.colorbar(shown_coverage, ax=coverage_axes, fraction=0.046, pad=0.04)

        bar_axes = axes[1, 2]
        keys = [("word_accuracy", text["accuracy"]), ("attention_on_named_object", text["named"])]
        keys.append(("max_coverage", text["max_coverage"]))
        positions = torch.arange(len(keys), dtype=torch.float64).numpy()
        for offset, lam, color in ((-0.2, lams[0], "#9ecae1"), (0.2, lams[1], "#de2d26")):
            values = [results[lam][2][key] for key, _ in keys]
            bars = bar_axes.bar(
                positions + offset, values, 0.4, color=color, label=text["lam"].format(lam=lam)
            )
            bar_axes.bar_label(bars, labels=[f"{value:.2f}" for value in values], fontsize=8, padding=2)
        bar_axes.set_xticks(positions, [label for _, label in keys], fontsize=8)
        bar_axes.set_ylim(0, 1.3)
        bar_axes.set_title(text["scores"], fontsize=10)
        bar_axes.legend(loc="upper left", fontsize=8, ncols=2)
        bar_axes.grid(axis="x", visible=False)
        axes[1, 3].set_visible(False)

        for panel in [*axes[0], axes[1, 0], axes[1, 1]]:
            panel.set_xticks([])
            panel.set_yticks([])
            panel.grid(False)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


def _cell_outline(column: int, row: int) -> Rectangle:
    """Return a square outline around one grid cell, for marking the objects."""
    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#3182bd", linewidth=2)
