"""Figures of the focal-loss section: the loss curves and the effect of easy negatives.

Both recipes call [`cvnotes.losses`][cvnotes.losses], so the figures show what the library
computes, not a formula typed a second time.
"""

from __future__ import annotations

import matplotlib
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from cvnotes import losses
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["easy_negative_totals", "focal_loss_by_pt", "focal_loss_curves", "focal_loss_easy_negatives"]


def focal_loss_by_pt(p_t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Return the focal loss of a positive example whose probability is ``p_t``.

    Args:
        p_t: Probabilities of the true class in (0, 1), any shape.
        gamma: Focusing parameter.

    Returns:
        ``-(1 - p_t) ** gamma * log(p_t)`` in nats (no alpha weighting), computed by
        [`sigmoid_focal_loss`][cvnotes.losses.sigmoid_focal_loss] from the matching logits.
    """
    p_t = p_t.to(torch.float64)
    return losses.sigmoid_focal_loss(torch.logit(p_t), torch.ones_like(p_t), alpha=-1, gamma=gamma)


_CURVES_TEXT = {
    "ko": {
        "title": "$p_t$에 따른 focal loss (RetinaNet 그림 1을 다시 계산)",
        "x": "정답 class의 확률 $p_t$",
        "y": "손실 (nats)",
        "easy": "잘 분류된 예제\n($p_t > 0.5$)",
        "ce": r"$\gamma$ = 0 (cross-entropy)",
    },
    "en": {
        "title": "Focal loss against $p_t$ (RetinaNet's figure 1 recomputed)",
        "x": "probability of the ground-truth class $p_t$",
        "y": "loss (nats)",
        "easy": "well-classified\nexamples ($p_t > 0.5$)",
        "ce": r"$\gamma$ = 0 (cross-entropy)",
    },
}


@recipe(
    "focal-loss-curves",
    title={"ko": "γ별 focal loss 곡선", "en": "Focal loss curves for several γ"},
    params={"gammas": [0.0, 0.5, 1.0, 2.0, 5.0], "num_points": 400, "quoted_pt": [0.9, 0.968]},
    code=(losses,),
)
def focal_loss_curves(context: RecipeContext) -> RecipeOutput:
    """Draw FL(p_t) for each gamma, as in figure 1 of Lin et al., ICCV 2017."""
    gammas = context.params["gammas"]
    p_t = torch.linspace(0.0, 1.0, context.params["num_points"] + 2, dtype=torch.float64)[1:-1]
    curves = {gamma: focal_loss_by_pt(p_t, gamma) for gamma in gammas}

    # How much smaller than cross-entropy the loss of a well-classified example is.
    quoted = torch.tensor(context.params["quoted_pt"], dtype=torch.float64)
    cross_entropy = focal_loss_by_pt(quoted, 0.0)
    metrics = {}
    for gamma in gammas:
        if gamma == 0:
            continue
        ratios = cross_entropy / focal_loss_by_pt(quoted, gamma)
        for pt, ratio in zip(quoted.tolist(), ratios.tolist(), strict=True):
            metrics[f"ce_over_fl_gamma{gamma:g}_pt{pt:g}"] = ratio

    figures: dict[str, Figure] = {}
    colors = matplotlib.colormaps["viridis"](torch.linspace(0.0, 0.9, len(gammas)).tolist())
    for language in LANGUAGES:
        text = _CURVES_TEXT[language]
        figure = Figure(figsize=(6.4, 4.2))
        axes = figure.subplots()
        axes.axvspan(0.5, 1.0, color="0.92", zorder=0)
        axes.text(0.75, 1.6, text["easy"], ha="center", va="center", fontsize=9, color="0.3")
        for color, gamma in zip(colors, gammas, strict=True):
            label = text["ce"] if gamma == 0 else rf"$\gamma$ = {gamma:g}"
            axes.plot(p_t.numpy(), curves[gamma].numpy(), color=color, linewidth=2, label=label)
        axes.set(xlim=(0.0, 1.0), ylim=(0.0, 5.0), xlabel=text["x"], ylabel=text["y"], title=text["title"])
        axes.legend(loc="upper right")
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)


def easy_negative_totals(
    num_easy: int, easy_pt: float, num_hard: int, hard_pt: float, gamma: float
) -> dict[str, float]:
    """Return the summed loss of easy negatives and hard positives, and the easy share.

    The easy examples are negatives (target 0) whose foreground probability is
    ``1 - easy_pt``; the hard ones are positives (target 1) with probability
    ``hard_pt``. No alpha weighting is applied, so the numbers isolate gamma.

    Returns:
        ``{"easy": ..., "hard": ..., "total": ..., "easy_share": ...}``, losses in nats
        and the share as a fraction of the total.
    """
    easy_logit = torch.logit(torch.tensor(1.0 - easy_pt, dtype=torch.float64))
    hard_logit = torch.logit(torch.tensor(hard_pt, dtype=torch.float64))
    easy_logits = easy_logit.expand(num_easy)
    hard_logits = hard_logit.expand(num_hard)

    easy = losses.sigmoid_focal_loss(
        easy_logits, torch.zeros_like(easy_logits), alpha=-1, gamma=gamma, reduction="sum"
    )
    hard = losses.sigmoid_focal_loss(
        hard_logits, torch.ones_like(hard_logits), alpha=-1, gamma=gamma, reduction="sum"
    )
    total = easy + hard
    return {
        "easy": float(easy),
        "hard": float(hard),
        "total": float(total),
        "easy_share": float(easy / total),
    }


_EASY_TEXT = {
    "ko": {
        "title": "쉬운 negative {num_easy:,}개($p_t$ = {easy_pt:g}) vs 어려운 positive {num_hard:,}개($p_t$ = {hard_pt:g})",
        "total": "손실 합계 (nats, 로그 축)",
        "share": "전체 손실에서 차지하는 비율 (%)",
        "easy": "쉬운 negative",
        "hard": "어려운 positive",
        "ce": "CE",
        "fl": r"FL ($\gamma$ = {gamma:g})",
    },
    "en": {
        "title": "{num_easy:,} easy negatives ($p_t$ = {easy_pt:g}) vs {num_hard:,} hard positives ($p_t$ = {hard_pt:g})",
        "total": "summed loss (nats, log scale)",
        "share": "share of the total loss (%)",
        "easy": "easy negatives",
        "hard": "hard positives",
        "ce": "CE",
        "fl": r"FL ($\gamma$ = {gamma:g})",
    },
}


@recipe(
    "focal-loss-easy-negatives",
    title={
        "ko": "쉬운 negative가 손실 합계에 미치는 영향 (CE vs FL)",
        "en": "What easy negatives do to the total loss (CE vs FL)",
    },
    params={"num_easy": 100_000, "easy_pt": 0.99, "num_hard": 100, "hard_pt": 0.3, "gamma": 2.0},
    code=(losses,),
)
def focal_loss_easy_negatives(context: RecipeContext) -> RecipeOutput:
    """Compare summed losses and shares of easy negatives and hard positives under CE and FL."""
    params = dict(context.params)
    gamma = params.pop("gamma")
    totals = {
        "ce": easy_negative_totals(**params, gamma=0.0),
        "fl": easy_negative_totals(**params, gamma=gamma),
    }
    metrics = {f"{loss}_{key}": value for loss, values in totals.items() for key, value in values.items()}

    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _EASY_TEXT[language]
        loss_labels = [text["ce"], text["fl"].format(gamma=gamma)]
        figure = Figure(figsize=(9.6, 4.2))
        left, right = figure.subplots(1, 2)
        figure.suptitle(text["title"].format(**params))

        positions = torch.arange(2, dtype=torch.float64).numpy()
        width = 0.38
        for offset, group, color in ((-width / 2, "easy", "#9ecae1"), (width / 2, "hard", "#de2d26")):
            values = [totals["ce"][group], totals["fl"][group]]
            bars = left.bar(positions + offset, values, width, color=color, label=text[group])
            left.bar_label(bars, labels=[f"{value:,.4g}" for value in values], fontsize=8, padding=2)
        left.set_yscale("log")
        left.set_ylim(1e-2, 1e4)
        # Plain numbers (0.01, 1, 100) instead of mathtext powers, which NanumGothic cannot set.
        left.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        left.set_xticks(positions, loss_labels)
        left.set_ylabel(text["total"])
        left.legend(loc="upper right")

        easy_share = [100 * totals["ce"]["easy_share"], 100 * totals["fl"]["easy_share"]]
        hard_share = [100 - share for share in easy_share]
        right.bar(positions, easy_share, 0.55, color="#9ecae1", label=text["easy"])
        right.bar(positions, hard_share, 0.55, bottom=easy_share, color="#de2d26", label=text["hard"])
        for position, easy, hard in zip(positions, easy_share, hard_share, strict=True):
            if easy > 8:
                right.text(position, easy / 2, f"{easy:.2f}%", ha="center", va="center", fontsize=9)
            else:
                # Too thin to hold its label: write it beside the bar, with an arrow to the slice.
                right.annotate(
                    f"{easy:.2f}%",
                    xy=(position - 0.275, easy),
                    xytext=(position - 0.45, 12),
                    ha="right",
                    va="center",
                    fontsize=9,
                    color="#3182bd",
                    arrowprops={"arrowstyle": "->", "color": "#3182bd"},
                )
            right.text(
                position, easy + hard / 2, f"{hard:.2f}%", ha="center", va="center", fontsize=9, color="white"
            )
        right.set_xticks(positions, loss_labels)
        right.set_ylim(0, 100)
        right.set_ylabel(text["share"])
        right.grid(axis="x", visible=False)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
