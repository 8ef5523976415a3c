"""Tests of cvnotes.clip: prompts, normalisation, ensembling, top-k, evaluation metrics and failure mining."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from clipfixtures import accept_fake_cifar, tiny_clip, write_cifar100
from PIL import Image

from cvnotes import assets, clip, data, models
from cvnotes.assets import AssetMissingError
from cvnotes.clip import ZeroShotClassifier, ZeroShotEvaluation


@pytest.fixture
def tiny(tmp_path):
    return tiny_clip(tmp_path)


def random_images(count: int, seed: int = 0) -> list[Image.Image]:
    generator = np.random.default_rng(seed)
    return [Image.fromarray(generator.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(count)]


def build(tiny, names, templates=(clip.NOTES_TEMPLATE,)) -> ZeroShotClassifier:
    return ZeroShotClassifier.build(tiny.model, tiny.preprocess, tiny.tokenizer, names, templates)


# --- class names and prompts ---


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("sweet_pepper", "sweet pepper"),
        ("aquarium_fish", "aquarium fish"),
        ("sea", "sea"),
        (" maple__tree ", "maple tree"),
    ],
)
def test_clean_class_name(name, cleaned):
    assert clip.clean_class_name(name) == cleaned


def test_clean_class_name_rejects_empty():
    with pytest.raises(ValueError, match="invalid class name '__'"):
        clip.clean_class_name("__")


def test_prompts_use_cleaned_names(tiny):
    seen: list[str] = []

    def tokenizer(prompts):
        seen.extend(prompts)
        return tiny.tokenizer(prompts)

    clip.class_text_embeddings(
        tiny.model, tokenizer, ["sweet_pepper", "sea"], ["a photo of a {}.", "a bad photo of the {}."]
    )
    assert seen == [
        "a photo of a sweet pepper.",
        "a bad photo of the sweet pepper.",
        "a photo of a sea.",
        "a bad photo of the sea.",
    ]


def test_cifar100_templates_are_the_eighteen():
    assert len(clip.CIFAR100_TEMPLATES) == 18
    assert len(set(clip.CIFAR100_TEMPLATES)) == 18
    assert all(template.count("{}") == 1 for template in clip.CIFAR100_TEMPLATES)


@pytest.mark.parametrize("templates", [[], ["a photo of a cat"], ["{} and {}"]])
def test_invalid_templates_rejected(tiny, templates):
    with pytest.raises(ValueError, match="template"):
        clip.class_text_embeddings(tiny.model, tiny.tokenizer, ["sea"], templates)


def test_template_string_rejected(tiny):
    with pytest.raises(TypeError, match="not the string"):
        clip.class_text_embeddings(tiny.model, tiny.tokenizer, ["sea"], "a photo of a {}")


def test_scene_and_object_groups():
    assert clip.SCENE_CLASSES == ("cloud", "forest", "mountain", "plain", "sea")
    assert len(clip.OBJECT_CLASSES) == 20
    assert "apple" in clip.OBJECT_CLASSES
    assert not set(clip.SCENE_CLASSES) & set(clip.OBJECT_CLASSES)


# --- normalisation ---


def test_dot_and_cosine_pick_different_classes():
    # The image points 37 degrees from "sea" and 53 degrees from "apple", but "apple" has norm 3.
    image = torch.tensor([[0.8, 0.6]])
    texts = torch.tensor([[0.0, 3.0], [1.0, 0.0]])
    dot = image @ texts.T
    cosine = clip.cosine_logits(image, texts, 1.0)
    assert dot.argmax(dim=-1).item() == 0
    assert cosine.argmax(dim=-1).item() == 1
    assert cosine[0, 1].item() == pytest.approx(0.8)
    assert cosine[0, 0].item() == pytest.approx(0.6)
    assert dot[0, 0].item() == pytest.approx(1.8)


def test_cosine_logits_scale_and_shape():
    generator = torch.Generator().manual_seed(0)
    images, texts = torch.randn(3, 8, generator=generator), torch.randn(5, 8, generator=generator)
    logits = clip.cosine_logits(images, texts, 100.0)
    assert logits.shape == (3, 5)
    expected = 100.0 * F.cosine_similarity(images[:, None, :], texts[None, :, :], dim=-1)
    torch.testing.assert_close(logits, expected)


def test_cosine_logits_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="embedding sizes differ"):
        clip.cosine_logits(torch.zeros(1, 4), torch.zeros(2, 5), 1.0)


# --- ensembling ---


def test_ensemble_normalises_each_prompt_before_the_mean():
    embeddings = torch.tensor([[[10.0, 0.0], [0.0, 1.0]]])
    ensembled = clip.ensemble_text_embeddings(embeddings)
    torch.testing.assert_close(ensembled, torch.tensor([[1.0, 1.0]]) / math.sqrt(2))


def test_ensemble_ignores_template_order(tiny):
    templates = list(clip.CIFAR100_TEMPLATES[:6])
    names = ["apple", "sea", "sweet_pepper"]
    forward = clip.ensemble_text_embeddings(
        clip.class_text_embeddings(tiny.model, tiny.tokenizer, names, templates)
    )
    shuffled = [templates[i] for i in (3, 0, 5, 1, 4, 2)]
    backward = clip.ensemble_text_embeddings(
        clip.class_text_embeddings(tiny.model, tiny.tokenizer, names, shuffled)
    )
    torch.testing.assert_close(forward, backward, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(forward.norm(dim=-1), torch.ones(3))


def test_text_batches_do_not_change_embeddings(tiny):
    names = ["apple", "sea", "cloud"]
    templates = clip.CIFAR100_TEMPLATES[:4]
    whole = clip.class_text_embeddings(tiny.model, tiny.tokenizer, names, templates)
    chunked = clip.class_text_embeddings(tiny.model, tiny.tokenizer, names, templates, batch_size=5)
    assert whole.shape == (3, 4, 16)
    torch.testing.assert_close(whole, chunked, atol=1e-5, rtol=1e-5)


def test_single_template_weights_match_encode_text(tiny):
    classifier = build(tiny, ["sweet_pepper", "sea"])
    with torch.no_grad():
        expected = F.normalize(
            tiny.model.encode_text(tiny.tokenizer(["a photo of a sweet pepper", "a photo of a sea"])), dim=-1
        )
    torch.testing.assert_close(classifier.text_features, expected)


# --- the classifier ---


def test_classifier_puts_model_in_eval_mode(tiny):
    assert tiny.model.training
    build(tiny, ["apple", "sea"])
    assert not tiny.model.training


def test_logit_scale_comes_from_the_model(tiny):
    with torch.no_grad():
        tiny.model.logit_scale.fill_(math.log(42.0))
    classifier = build(tiny, ["apple", "sea", "cloud"])
    assert classifier.logit_scale == pytest.approx(42.0)
    images = classifier.preprocess_images(random_images(2))
    features = classifier.encode(images)
    expected = 42.0 * features @ classifier.text_features.T
    torch.testing.assert_close(classifier.logits_from_features(features), expected)


@pytest.mark.parametrize("templates", [(clip.NOTES_TEMPLATE,), clip.CIFAR100_TEMPLATES])
def test_pipeline_runs_on_a_random_init_model(tiny, templates):
    names = ["apple", "sea", "sweet_pepper", "cloud"]
    classifier = build(tiny, names, templates)
    images = classifier.preprocess_images(random_images(5))
    assert images.shape == (5, 3, 32, 32)
    probabilities = classifier.probabilities(images)
    assert probabilities.shape == (5, 4)
    assert probabilities.dtype == torch.float32
    torch.testing.assert_close(probabilities.sum(dim=-1), torch.ones(5))
    assert classifier.class_names == ("apple", "sea", "sweet pepper", "cloud")
    assert classifier.templates == tuple(templates)


def test_encode_images_rejects_a_single_image(tiny):
    with pytest.raises(ValueError, match="unsqueeze"):
        clip.encode_images(tiny.model, torch.zeros(3, 32, 32))


def test_top_k_runs_along_the_class_axis():
    probabilities = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.1, 0.7], [0.3, 0.4, 0.3]])
    values, indices = clip.top_k(probabilities, 2)
    assert values.shape == indices.shape == (4, 2)
    assert indices.tolist() == [[1, 2], [0, 2], [2, 0], [1, 0]]
    torch.testing.assert_close(values[:, 0], probabilities.max(dim=-1).values)


def test_top_k_rejects_bad_input():
    with pytest.raises(ValueError, match=r"unsqueeze\(0\)"):
        clip.top_k(torch.tensor([0.5, 0.5]), 1)
    with pytest.raises(ValueError, match="invalid k=3"):
        clip.top_k(torch.tensor([[0.5, 0.5]]), 3)


def test_with_classes_adds_an_open_set_class(tiny):
    classifier = build(tiny, ["apple", "sea"])
    extended = classifier.with_classes(["apple", "sea", "sunset"])
    assert extended.text_features.shape[0] == 3
    torch.testing.assert_close(extended.text_features[:2], classifier.text_features)
    assert extended.model is classifier.model


# --- evaluation ---


def known_evaluation() -> ZeroShotEvaluation:
    # Labels 0 0 1 1 2 2; top-1 predictions 0 1 1 2 2 0 (images 1, 3 and 5 are wrong).
    probabilities = torch.tensor(
        [
            [0.7, 0.2, 0.1],
            [0.3, 0.6, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.35, 0.55],
            [0.2, 0.1, 0.7],
            [0.9, 0.05, 0.05],
        ]
    )
    return ZeroShotEvaluation(
        probabilities, torch.tensor([0, 0, 1, 1, 2, 2]), ("sea", "apple", "sweet pepper")
    )


def test_evaluation_metrics_on_known_predictions():
    evaluation = known_evaluation()
    assert evaluation.predictions.tolist() == [0, 1, 1, 2, 2, 0]
    assert evaluation.top_k_accuracy(1) == pytest.approx(3 / 6)
    assert evaluation.top_k_accuracy(2) == pytest.approx(5 / 6)
    assert evaluation.top_k_accuracy(3) == pytest.approx(1.0)
    torch.testing.assert_close(evaluation.per_class_accuracy(), torch.tensor([0.5, 0.5, 0.5]))
    assert evaluation.group_accuracy(["sea", "sweet_pepper"]) == pytest.approx(0.5)
    assert evaluation.confusion_matrix().tolist() == [[1, 1, 0], [0, 1, 1], [1, 0, 1]]


def test_most_frequent_confusions():
    evaluation = ZeroShotEvaluation(
        torch.eye(3)[[1, 1, 1, 0, 2]], torch.tensor([0, 0, 2, 1, 1]), ("sea", "apple", "cloud")
    )
    confusions = evaluation.most_frequent_confusions(5)
    assert [(c.true_class, c.predicted_class, c.count) for c in confusions] == [
        ("sea", "apple", 2),
        ("apple", "sea", 1),
        ("apple", "cloud", 1),
        ("cloud", "apple", 1),
    ]


def test_per_class_accuracy_is_nan_without_images():
    evaluation = ZeroShotEvaluation(torch.tensor([[0.9, 0.1]]), torch.tensor([0]), ("sea", "sunset"))
    accuracy = evaluation.per_class_accuracy()
    assert accuracy[0].item() == 1.0
    assert math.isnan(accuracy[1].item())


def test_mine_failures_ranks_by_confidence():
    probabilities = torch.tensor(
        [
            [0.2, 0.7, 0.1],  # sea -> apple, 0.7
            [0.1, 0.9, 0.0],  # sea -> apple, 0.9
            [0.6, 0.3, 0.1],  # sea, correct
            [0.1, 0.2, 0.7],  # apple -> cloud: not a scene image
            [0.3, 0.0, 0.7],  # cloud, correct
            [0.2, 0.75, 0.05],  # cloud -> apple, 0.75
        ]
    )
    labels = torch.tensor([0, 0, 0, 1, 2, 2])
    evaluation = ZeroShotEvaluation(probabilities, labels, ("sea", "apple", "cloud"))
    cases = evaluation.mine_failures(["sea", "cloud"], ["apple"])
    assert [case.index for case in cases] == [1, 5, 0]
    assert [case.confidence for case in cases] == pytest.approx([0.9, 0.75, 0.7])
    assert {(case.true_class, case.predicted_class) for case in cases} == {
        ("sea", "apple"),
        ("cloud", "apple"),
    }
    assert [case.index for case in evaluation.mine_failures(["sea", "cloud"], ["apple"], count=1)] == [1]


def test_unknown_class_name_rejected():
    with pytest.raises(ValueError, match="unknown class 'banana'"):
        known_evaluation().mine_failures(["banana"], ["apple"])


def test_evaluation_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="labels"):
        ZeroShotEvaluation(torch.zeros(2, 3), torch.zeros(3, dtype=torch.long), ("a", "b", "c"))


def test_encode_dataset_on_cifar_format_files(tiny, tmp_path, monkeypatch, no_network):
    cache = tmp_path / "cache"
    names = write_cifar100(cache, images_per_class=1)
    accept_fake_cifar(monkeypatch)
    dataset = data.load_cifar100(train=False, offline=True, cache=cache)
    assert dataset.classes == names
    classifier = build(tiny, dataset.classes)
    features, labels = clip.encode_dataset(classifier, dataset, batch_size=7, limit=20, progress=False)
    assert features.shape == (20, 16)
    assert labels.tolist() == list(range(20))
    whole, _ = clip.encode_dataset(classifier, dataset, batch_size=256, limit=20, progress=False)
    torch.testing.assert_close(features, whole, atol=1e-5, rtol=1e-5)
    evaluation = clip.evaluate_features(classifier, features, labels)
    assert evaluation.probabilities.shape == (20, 100)


def test_encode_dataset_rejects_bad_batch_size(tiny):
    with pytest.raises(ValueError, match="invalid batch_size=0"):
        clip.encode_dataset(build(tiny, ["sea"]), [(random_images(1)[0], 0)], batch_size=0)


# --- loading, offline ---


def test_default_pair_offline_missing_names_fetch_command(tmp_path, no_network):
    start = time.perf_counter()
    with pytest.raises(AssetMissingError, match="cvnotes fetch clip-vit-b-32-openai"):
        models.pretrained_clip(offline=True, cache=tmp_path, model_name="ViT-B-32", pretrained="openai")
    assert time.perf_counter() - start < 5


def test_other_pair_offline_missing_names_a_command(tmp_path, no_network):
    with pytest.raises(AssetMissingError) as caught:
        models.pretrained_clip(
            offline=True, cache=tmp_path, model_name="ViT-B-16", pretrained="laion2b_s34b_b88k"
        )
    assert (
        "pretrained_clip(offline=False, model_name='ViT-B-16', pretrained='laion2b_s34b_b88k')"
        in caught.value.command
    )
    assert caught.value.asset_names == ("open_clip ViT-B-16 laion2b_s34b_b88k",)


def test_unknown_pair_rejected(tmp_path, no_network):
    with pytest.raises(ValueError, match="invalid open_clip model 'ViT-B-32' with pretrained tag 'nope'"):
        models.pretrained_clip(offline=True, cache=tmp_path, pretrained="nope")


def test_clip_cached_file_other_tag(tmp_path):
    (repository, file_name), _ = assets.clip_weight_candidates("ViT-B-16", "laion2b_s34b_b88k")
    folder = assets.open_clip_dir(tmp_path) / f"models--{repository.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / file_name).write_bytes(b"weights")
    assert assets.clip_cached_file(tmp_path, "ViT-B-16", "laion2b_s34b_b88k") == snapshot / file_name
    assert assets.clip_cached_file(tmp_path) is None


def test_default_candidates_need_no_open_clip():
    assert assets.clip_weight_candidates() == [
        ("timm/vit_base_patch32_clip_224.openai", "open_clip_model.safetensors"),
        ("timm/vit_base_patch32_clip_224.openai", "open_clip_pytorch_model.bin"),
    ]
