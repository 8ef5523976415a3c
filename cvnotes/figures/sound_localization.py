"""Figure of the sound-localization section: the audio vector as a query over a visual feature map.

The recipe builds a synthetic 20 x 20 feature map with one sounding object
([`make_synthetic_scene`][cvnotes.sound_localization.make_synthetic_scene]) and computes
[`localization_map`][cvnotes.sound_localization.localization_map] for the object's own sound and
for the sound of a class that is not in the scene.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from cvnotes import sound_localization
from cvnotes.figures.registry import RecipeContext, RecipeOutput, recipe
from cvnotes.figures.style import LANGUAGES

__all__ = ["sound_localization_maps"]

_TEXT = {
    "ko": {
        "title": "audio 임베딩을 query로 visual feature map의 각 위치와 비교 (합성 20×20 map, Senocak et al. 2018 방식)",
        "matching": "맞는 소리",
        "mismatched": "장면에 없는 소리",
        "similarity": "{audio}: cosine similarity $s_i$",
        "softmax": "{audio}: softmax attention $\\alpha$\n(위치 {locations}개에 대해, 합 = 1)",
        "sigmoid": "{audio}: sigmoid($s/\\tau$), $\\tau$ = {tau:g}\n(나중 방법들의 변형)",
        "mass": "물체 안의 attention 합 {mass:.2f}",
    },
    "en": {
        "title": "The audio embedding as a query against each location of a visual feature map (synthetic 20×20 map, as in Senocak et al. 2018)",
        "matching": "matching sound",
        "mismatched": "sound not in the scene",
        "similarity": "{audio}: cosine similarity $s_i$",
        "softmax": "{audio}: softmax attention $\\alpha$\n(over {locations} locations, sums to 1)",
        "sigmoid": "{audio}: sigmoid($s/\\tau$), $\\tau$ = {tau:g}\n(a variant of later methods)",
        "mass": "attention inside the object {mass:.2f}",
    },
}


@recipe(
    "sound-localization-maps",
    title={
        "ko": "sound source localization: 맞는 소리와 맞지 않는 소리의 localization map",
        "en": "Sound source localization: maps for a matching and a mismatched sound",
    },
    params={
        "channels": 64,
        "size": 20,
        "object_center": [6, 13],
        "object_radius": 2.5,
        "noise": 0.5,
        "sigmoid_temperature": 0.1,
    },
    code=(sound_localization,),
)
def sound_localization_maps(context: RecipeContext) -> RecipeOutput:
    """Draw similarity, softmax and sigmoid maps for a matching and a mismatched sound."""
    params = context.params
    scene = sound_localization.make_synthetic_scene(
        channels=params["channels"],
        size=params["size"],
        object_center=tuple(params["object_center"]),
        object_radius=params["object_radius"],
        noise=params["noise"],
        generator=torch.Generator().manual_seed(context.seed),
    )
    tau = params["sigmoid_temperature"]
    audios = {"matching": scene.matching_audio, "mismatched": scene.mismatched_audio}
    maps = {}
    metrics: dict[str, object] = {}
    for name, audio in audios.items():
        softmax = sound_localization.localization_map(scene.visual_features, audio)
        sigmoid = sound_localization.localization_map(
            scene.visual_features, audio, normalization="sigmoid", temperature=tau
        )
        maps[name] = (softmax.similarity, softmax.attention, sigmoid.attention)
        peak = divmod(int(softmax.attention.argmax()), params["size"])
        metrics[f"{name}_peak"] = list(peak)
        metrics[f"{name}_peak_in_object"] = bool(scene.object_mask[peak])
        metrics[f"{name}_mass_in_object"] = float(softmax.attention[scene.object_mask].sum())
        metrics[f"{name}_max_similarity"] = float(softmax.similarity.max())
        metrics[f"{name}_max_over_uniform"] = float(softmax.attention.max() * softmax.attention.numel())
    metrics["object_area_fraction"] = float(scene.object_mask.float().mean())

    locations = params["size"] ** 2
    attention_max = float(max(maps[name][1].max() for name in maps))
    figures: dict[str, Figure] = {}
    for language in LANGUAGES:
        text = _TEXT[language]
        figure = Figure(figsize=(13.0, 8.2))
        axes = figure.subplots(2, 3)
        figure.suptitle(text["title"], fontsize=11)
        for row, name in enumerate(audios):
            similarity, softmax, sigmoid = maps[name]
            audio = text[name]
            panels = [
                (similarity, text["similarity"].format(audio=audio), "RdBu_r", -1.0, 1.0),
                (
                    softmax,
                    text["softmax"].format(audio=audio, locations=locations)
                    + "\n"
                    + text["mass"].format(mass=metrics[f"{name}_mass_in_object"]),
                    "magma",
                    0.0,
                    attention_max,
                ),
                (sigmoid, text["sigmoid"].format(audio=audio, tau=tau), "magma", 0.0, 1.0),
            ]
            for column, (values, title, cmap, low, high) in enumerate(panels):
                panel = axes[row, column]
                image_artist = panel.imshow(values.numpy(), cmap=cmap, vmin=low, vmax=high)
                panel.contour(
                    scene.object_mask.float().numpy(), levels=[0.5], colors="#31a354", linewidths=1.5
                )
                panel.set_title(title, fontsize=9)
                panel.set_xticks([])
                panel.set_yticks([])
                panel.grid(False)
                figure.colorbar(image_artist, ax=panel, fraction=0.046, pad=0.04)
        figure.tight_layout()
        figures[language] = figure
    return RecipeOutput(figures=figures, metrics=metrics)
