"""Figure of the ZeroCap section: the next-token distribution before and after the CLIP term.

Everything here is a toy: a 12-word vocabulary, a linear "language model" from
[`ToyLanguageModel`][cvnotes.zerocap.ToyLanguageModel] and hand-built unit vectors for CLIP's
embeddings. It runs the formulas of [`shift_context`][cvnotes.zerocap.shift_context], not GPT-2
and CLIP.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from cvnotes import zerocap
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["ToyScene", "zerocap_token_shift"]

WORDS = ["man", "cat", "dog", "car", "very", "small", "the", "beach", "pizza", "tree", "red", "plane"]
# Toy LM logits after the prefix "Image of a": fluent, but blind to the image.
PRIOR_LOGITS = [2.2, 1.9, 1.0, 1.4, 1.6, 1.3, 0.6, 0.8, 0.2, 0.5, 0.7, 0.1]


class ToyScene:
    """The toy LM, its context, and CLIP-like embeddings of an image of a small dog."""

    def __init__(self, seed: int, embed_dim: int = 16) -> None:
        generator = torch.Generator().manual_seed(seed)
        vocab_size = len(WORDS)
        # An orthogonal output matrix lets the context reproduce any logits exactly.
        weight, _ = torch.linalg.qr(torch.randn(vocab_size, vocab_size, generator=generator))
        self.language_model = zerocap.ToyLanguageModel(weight)
        self.context = weight.T @ torch.tensor(PRIOR_LOGITS)

        concepts = F.normalize(torch.randn(vocab_size, embed_dim, generator=generator), dim=1)
        prefix = F.normalize(torch.randn(embed_dim, generator=generator), dim=0)
        # Every text starts with "Image of a", so all text embeddings share a component.
        self.token_text_embeddings = F.normalize(concepts + 1.5 * prefix, dim=1)
        dog, cat, small = (concepts[WORDS.index(word)] for word in ("dog", "cat", "small"))
        self.image_embedding = F.normalize(dog + 0.4 * cat + 0.4 * small + 0.8 * prefix, dim=0)


_TEXT = {
    "ko": {
        "title": 'ZeroCap의 한 token 단계를 장난감 분포로 계산: "Image of a ___" (GPT-2와 CLIP이 아닌 toy 모델)',
        "bars": "다음 token 분포",
        "original": "LM 원래 분포 $\\hat p$",
        "target": "CLIP target $p^*$ (top-{k} 후보, $\\tau$ = {tau:g})",
        "fused": "context 수정 후 $p^{{0.99}} \\hat p^{{0.01}}$",
        "probability": "확률",
        "sweep": "fluency 가중치 $\\lambda$의 효과",
        "lambda": "$\\lambda$ (fluency 가중치; symlog 축: 1까지 선형, 그 위는 로그)",
        "best": "p('{word}'), CLIP이 고른 token",
        "kl": "KL($p \\Vert \\hat p$) (nats)",
        "default": "논문 기본값",
    },
    "en": {
        "title": 'One ZeroCap token step on toy distributions: "Image of a ___" (toy models, not GPT-2 and CLIP)',
        "bars": "next-token distribution",
        "original": "original LM distribution $\\hat p$",
        "target": "CLIP target $p^*$ (top-{k} candidates, $\\tau$ = {tau:g})",
        "fused": "after the context update, $p^{{0.99}} \\hat p^{{0.01}}$",
        "probability": "probability",
        "sweep": "Effect of the fluency weight $\\lambda$",
        "lambda": "$\\lambda$ (fluency weight; symlog axis: linear up to 1, log above)",
        "best": "p('{word}'), CLIP's choice",
        "kl": "KL($p \\Vert \\hat p$) (nats)",
        "default": "paper default",
    },
}


@recipe(
    "zerocap-token-shift",
    title={
        "ko": "ZeroCap: CLIP 항이 다음 token 분포를 바꾸는 과정 (toy 분포)",
        "en": "ZeroCap: how the CLIP term shifts the next-token distribution (toy distributions)",
    },
    params={
        "top_k": 6,
        "temperature": 0.01,
        "fluency_weight": 0.2,
        "num_iterations": 5,
        "step_size": 0.3,
        "fluency_sweep": [0.0, 0.2, 1.0, 2.0, 5.0, 10.0, 20.0],
    },
    code=(zerocap,),
)
def zerocap_token_shift(context: RecipeContext) -> RecipeOutput:
    """Run one context update on the toy scene and sweep the fluency weight."""
    params = context.params
    scene = ToyScene(context.seed)
    options = {
        "top_k": params["top_k"],
        "temperature": params["temperature"],
        "num_iterations": params["num_iterations"],
        "step_size": params["step_size"],
    }
    result = zerocap.shift_context(
        scene.language_model,
        scene.context,
        scene.image_embedding,
        scene.token_text_embeddings,
        fluency_weight=params["fluency_weight"],
        **options,
    )
    clip_choice = int(result.target.argmax())
    lm_choice = int(result.original_probs.argmax())
    metrics = {
        "lm_choice": WORDS[lm_choice],
        "clip_choice": WORDS[clip_choice],
        "fused_choice": WORDS[int(result.fused_probs.argmax())],
        "original_p_clip_choice": float(result.original_probs[clip_choice]),
        "fused_p_clip_choice": float(result.fused_probs[clip_choice]),
        "original_p_lm_choice": float(result.original_probs[lm_choice]),
        "fused_p_lm_choice": float(result.fused_probs[lm_choice]),
        "candidates": [WORDS[index] for index in result.candidate_ids.tolist()],
        "clip_loss_first": result.losses[0][0],
        "clip_loss_last": result.losses[-1][0],
    }
    sweep = params["fluency_sweep"]
    sweep_results = [
        zerocap.shift_context(
            scene.language_model,
            scene.context,
            scene.image_embedding,
            scene.token_text_embeddings,
            fluency_weight=weight,
            **options,
        )
        for weight in sweep
    ]
    best_probability = [float(item.fused_probs[clip_choice]) for item in sweep_results]
    divergence = [
        float(zerocap.fluency_loss(item.shifted_probs, item.original_probs)) for item in sweep_results
    ]
    metrics["sweep_p_clip_choice"] = best_probability
    metrics["sweep_kl"] = divergence

    figures: dict[str, Figure] = {}
    positions = torch.arange(len(WORDS), dtype=torch.float64).numpy()
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(13.5, 4.8))
        bar_axes, sweep_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
        figure.suptitle(text["title"])
        series = [
            (result.original_probs, text["original"], "#9ecae1"),
            (result.target, text["target"].format(k=params["top_k"], tau=params["temperature"]), "#fdae6b"),
            (result.fused_probs, text["fused"], "#de2d26"),
        ]
        width = 0.27
        for offset, (values, label, color) in zip((-width, 0.0, width), series, strict=True):
            bar_axes.bar(positions + offset, values.numpy(), width, color=color, label=label)
        bar_axes.set_xticks(positions, WORDS, rotation=30)
        bar_axes.set_ylabel(text["probability"])
        bar_axes.set_title(text["bars"], fontsize=10)
        bar_axes.set_ylim(0, 1.05)
        bar_axes.legend(loc="upper right", fontsize=9)
        bar_axes.grid(axis="x", visible=False)

        # The weights grow unevenly (0, 0.2, 1, ... 20): a symlog axis keeps 0 on the axis and
        # shows the true spacing, linear up to 1 and logarithmic above.
        sweep_axes.set_xscale("symlog", linthresh=1.0, linscale=1.5)
        sweep_axes.plot(
            sweep,
            best_probability,
            marker="o",
            color="#de2d26",
            label=text["best"].format(word=WORDS[clip_choice]),
        )
        sweep_axes.set_xticks(sweep, [f"{weight:g}" for weight in sweep])
        sweep_axes.xaxis.set_minor_locator(NullLocator())
        sweep_axes.set_xlabel(text["lambda"])
        sweep_axes.set_ylabel(text["probability"])
        sweep_axes.set_ylim(0, max(best_probability) * 1.3)
        sweep_axes.axvline(params["fluency_weight"], color="0.6", linestyle=":", label=text["default"])
        kl_axes = sweep_axes.twinx()
        kl_axes.plot(sweep, divergence, marker="s", color="#3182bd", label=text["kl"])
        kl_axes.set_ylabel(text["kl"])
        kl_axes.grid(False)
        kl_axes.spines["right"].set_visible(True)
        kl_axes.set_ylim(0, max(divergence) * 1.3)
        handles = sweep_axes.get_legend_handles_labels()
        kl_handles = kl_axes.get_legend_handles_labels()
        sweep_axes.legend(
            handles[0] + kl_handles[0], handles[1] + kl_handles[1], loc="lower left", fontsize=8, frameon=True
        )
        sweep_axes.set_title(text["sweep"], fontsize=10)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
