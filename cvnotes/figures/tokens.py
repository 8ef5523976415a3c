"""Figure of the unified-model section: token counts per modality and patch size, and the
attention mask of a mixed image-text sequence.

Both panels are computed by [`cvnotes.tokens`][cvnotes.tokens]; nothing is trained.
"""

from __future__ import annotations

from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from cvnotes import tokens
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["token_counts", "unified_tokens"]


def token_counts(patch_sizes: list[int], text_length: int) -> dict[str, list[int]]:
    """Return the token count of each example input for every patch size."""
    return {
        "image_224": [tokens.image_token_count(224, 224, size) for size in patch_sizes],
        "image_448": [tokens.image_token_count(448, 448, size) for size in patch_sizes],
        "video": [tokens.video_token_count(16, 224, 224, size, frames_per_token=2) for size in patch_sizes],
        "audio": [tokens.spectrogram_token_count(128, 1000, size) for size in patch_sizes],
        "text": [text_length for _ in patch_sizes],
    }


_TEXT = {
    "ko": {
        "title": "모든 modality를 token 열로: 길이는 patch 크기가 정하고, 섞인 열은 attention mask로 묶는다",
        "counts": "입력별 token 수 (로그 축)",
        "patch": "patch 크기 $p$ (pixel 또는 spectrogram 칸)",
        "tokens": "token 수 $S$",
        "image_224": "이미지 224×224",
        "image_448": "이미지 448×448",
        "video": "영상 16 frame, 224×224 (2 frame씩)",
        "audio": "소리 10초, mel 128 × frame 1,000",
        "text": "문장 {length} token (patch와 무관)",
        "mask": "prefix-LM mask: 이미지 {image}개 + 텍스트 {text}개",
        "query": "query token $i$ (읽는 쪽)",
        "key": "key token $j$ (읽히는 쪽)",
        "image_block": "이미지 token끼리 양방향으로 봄",
        "text_block": "텍스트 token은 이미지 전부와 앞선 텍스트를 봄",
        "blocked": "차단",
        "image_tokens": "이미지",
        "text_tokens": "텍스트",
    },
    "en": {
        "title": "Every modality as a token sequence: patch size sets the length, an attention mask ties a mixed sequence together",
        "counts": "tokens per input (log scale)",
        "patch": "patch size $p$ (pixels or spectrogram cells)",
        "tokens": "number of tokens $S$",
        "image_224": "image 224×224",
        "image_448": "image 448×448",
        "video": "video, 16 frames of 224×224 (2 frames per token)",
        "audio": "audio, 10 s, 128 mel bins × 1,000 frames",
        "text": "sentence of {length} tokens (no patches)",
        "mask": "prefix-LM mask: {image} image + {text} text tokens",
        "query": "query token $i$ (reads)",
        "key": "key token $j$ (is read)",
        "image_block": "image tokens read each other (bidirectional)",
        "text_block": "text tokens read every image token and earlier text",
        "blocked": "blocked",
        "image_tokens": "image",
        "text_tokens": "text",
    },
}


@recipe(
    "unified-tokens",
    title={
        "ko": "modality별 token 수와 이미지-텍스트 혼합 열의 attention mask",
        "en": "Token counts per modality and the attention mask of a mixed image-text sequence",
    },
    params={
        "patch_sizes": [8, 14, 16, 32],
        "text_length": 32,
        "mask_image_tokens": 16,
        "mask_text_tokens": 8,
    },
    code=(tokens,),
)
def unified_tokens(context: RecipeContext) -> RecipeOutput:
    """Plot token counts against patch size and draw a prefix-LM mask with modality blocks."""
    params = context.params
    patch_sizes = params["patch_sizes"]
    counts = token_counts(patch_sizes, params["text_length"])
    metrics: dict[str, object] = {
        f"{name}_p{size}": count
        for name, values in counts.items()
        for size, count in zip(patch_sizes, values, strict=True)
    }

    num_image, num_text = params["mask_image_tokens"], params["mask_text_tokens"]
    mask = tokens.modality_attention_mask([num_image, num_text], "prefix_lm")
    metrics["mask_allowed_fraction"] = float(mask.float().mean())
    metrics["causal_allowed_fraction"] = float(
        tokens.modality_attention_mask([num_image, num_text], "causal").float().mean()
    )
    # 0 blocked, 1 allowed within the image prefix, 2 allowed for text queries.
    shaded = mask.float()
    shaded[num_image:] *= 2

    styles = {
        "image_224": ("#3182bd", "o", "-"),
        "image_448": ("#6baed6", "o", "--"),
        "video": ("#756bb1", "s", "-"),
        "audio": ("#31a354", "^", "-"),
        "text": ("#de2d26", None, ":"),
    }
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(13.0, 5.2))
        count_axes, mask_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        figure.suptitle(text["title"], fontsize=11)
        for name, values in counts.items():
            color, marker, line = styles[name]
            label = text[name].format(length=params["text_length"])
            count_axes.plot(
                patch_sizes, values, color=color, marker=marker, linestyle=line, linewidth=2, label=label
            )
            if name != "text":
                count_axes.annotate(
                    f"{values[0]:,}",
                    (patch_sizes[0], values[0]),
                    textcoords="offset points",
                    xytext=(-6, 4),
                    ha="right",
                    fontsize=8,
                    color=color,
                )
        count_axes.set_yscale("log")
        count_axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        count_axes.set_xticks(patch_sizes, [str(size) for size in patch_sizes])
        count_axes.set_xlim(patch_sizes[0] - 4, patch_sizes[-1] + 2)
        count_axes.set(xlabel=text["patch"], ylabel=text["tokens"])
        count_axes.set_title(text["counts"], fontsize=10)
        count_axes.legend(loc="upper right", fontsize=8)

        cmap = ListedColormap(["#f0f0f0", "#3182bd", "#de2d26"])
        mask_axes.imshow(shaded.numpy(), cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
        total = num_image + num_text
        mask_axes.axhline(num_image - 0.5, color="black", linewidth=1)
        mask_axes.axvline(num_image - 0.5, color="black", linewidth=1)
        ticks = [num_image / 2 - 0.5, num_image + num_text / 2 - 0.5]
        mask_axes.set_xticks(ticks, [text["image_tokens"], text["text_tokens"]])
        mask_axes.set_yticks(ticks, [text["image_tokens"], text["text_tokens"]], rotation=90, va="center")
        mask_axes.set(xlabel=text["key"], ylabel=text["query"])
        mask_axes.set_title(text["mask"].format(image=num_image, text=num_text), fontsize=10)
        mask_axes.set_xlim(-0.5, total - 0.5)
        mask_axes.set_ylim(total - 0.5, -0.5)
        mask_axes.grid(False)
        legend_handles = [
            mask_axes.scatter([], [], marker="s", s=80, color="#3182bd", label=text["image_block"]),
            mask_axes.scatter([], [], marker="s", s=80, color="#de2d26", label=text["text_block"]),
            mask_axes.scatter(
                [], [], marker="s", s=80, color="#f0f0f0", edgecolors="0.6", label=text["blocked"]
            ),
        ]
        mask_axes.legend(handles=legend_handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
