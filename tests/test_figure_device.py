"""Tests of the figure device: resolving cpu/cuda/auto, the builder, the CLI and the MkDocs plugin.

No test needs a GPU. A machine without one is the real case. A machine with one is simulated: a
stub replaces ``torch.cuda.is_available``, and the recipes that run never touch CUDA.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from matplotlib.figure import Figure
from mkdocs.exceptions import PluginError

import cvnotes.figures
from cvnotes import cli
from cvnotes.figures import (
    DEVICES,
    DeviceError,
    RecipeOutput,
    build_figures,
    read_manifest,
    recipe,
    registry,
    resolve_device,
    run_recipe,
)
from cvnotes.mkdocs_plugin import CvnotesPlugin


@pytest.fixture
def cuda_available(monkeypatch):
    """Return a setter that makes torch.cuda.is_available() return the given value."""

    def set_available(value: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: value)

    return set_available


@pytest.fixture
def device_probe():
    """Register a recipe that records the device it ran on; yield the list of devices."""
    seen: list[str] = []

    def probe(context) -> RecipeOutput:
        seen.append(context.device)
        figures = {}
        for language in ("ko", "en"):
            figure = Figure(figsize=(1, 1))
            figure.subplots().plot([0, 1], [0, 1])
            figures[language] = figure
        return RecipeOutput(figures=figures, metrics={"device": context.device})

    recipe("test-device-probe", title={"ko": "장치 확인", "en": "device probe"})(probe)
    yield seen
    registry._REGISTRY.pop("test-device-probe", None)


# --- resolve_device -----------------------------------------------------------------------------


def test_devices_are_auto_cpu_cuda():
    assert DEVICES == ("auto", "cpu", "cuda")


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        ("cpu", False, "cpu"),
        ("cpu", True, "cpu"),
        ("auto", False, "cpu"),
        ("auto", True, "cuda"),
        ("cuda", True, "cuda"),
    ],
)
def test_resolve_device(requested, available, expected, cuda_available):
    cuda_available(available)
    assert resolve_device(requested) == expected


@pytest.mark.parametrize("requested", ["tpu", "CUDA", "cuda:0", ""])
def test_resolve_device_unknown_value(requested):
    with pytest.raises(
        DeviceError, match=f"invalid device {requested!r}: use one of auto, cpu, cuda"
    ) as info:
        resolve_device(requested)
    assert info.value.device == requested
    assert info.value.reason == "unknown"


def test_resolve_device_cuda_unavailable(cuda_available):
    cuda_available(False)
    with pytest.raises(DeviceError) as info:
        resolve_device("cuda")
    assert info.value.reason == "unavailable"
    message = str(info.value)
    assert "'cuda'" in message
    assert "no CUDA GPU" in message
    assert "cpu or auto" in message


def test_resolve_cpu_skips_cuda_query(monkeypatch):
    def fail():
        raise AssertionError("cpu must not query CUDA")

    monkeypatch.setattr(torch.cuda, "is_available", fail)
    assert resolve_device("cpu") == "cpu"


# --- builder ------------------------------------------------------------------------------------


def test_build_default_device_is_cpu(tmp_path, device_probe, cuda_available):
    cuda_available(True)  # a GPU on the machine does not change the default
    build_figures(["test-device-probe"], out_dir=tmp_path)
    assert device_probe == ["cpu"]
    assert read_manifest(tmp_path)["recipes"]["test-device-probe"]["device"] == "cpu"


@pytest.mark.parametrize(("available", "expected"), [(False, "cpu"), (True, "cuda")])
def test_build_auto_records_resolved_device(tmp_path, device_probe, cuda_available, available, expected):
    cuda_available(available)
    build_figures(["test-device-probe"], out_dir=tmp_path, device="auto")
    assert device_probe == [expected]
    entry = read_manifest(tmp_path)["recipes"]["test-device-probe"]
    assert entry["device"] == expected
    assert entry["metrics"] == {"device": expected}


def test_build_device_is_part_of_cache_key(tmp_path, device_probe, cuda_available):
    cuda_available(True)
    statuses = []
    for device in ("cpu", "cpu", "cuda", "cuda", "auto", "cpu"):
        result = build_figures(["test-device-probe"], out_dir=tmp_path, device=device)[0]
        statuses.append(result.status)
    # "auto" resolves to cuda here, so it reuses the cuda build.
    assert statuses == ["built", "up to date", "built", "up to date", "up to date", "built"]
    assert device_probe == ["cpu", "cuda", "cpu"]


def test_build_unknown_device_writes_nothing(tmp_path, device_probe):
    with pytest.raises(DeviceError, match="invalid device 'gpu'"):
        build_figures(["test-device-probe"], out_dir=tmp_path, device="gpu")
    assert device_probe == []
    assert not any(tmp_path.iterdir())


def test_build_cuda_unavailable_writes_nothing(tmp_path, device_probe, cuda_available):
    cuda_available(False)
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        build_figures(["test-device-probe"], out_dir=tmp_path, device="cuda")
    assert device_probe == []
    assert not any(tmp_path.iterdir())


def test_run_recipe_resolves_device(device_probe, cuda_available):
    cuda_available(False)
    assert run_recipe("test-device-probe", device="auto").metrics == {"device": "cpu"}
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        run_recipe("test-device-probe", device="cuda")
    assert device_probe == ["cpu"]


# --- command line -------------------------------------------------------------------------------


def test_cli_device_auto_builds_on_cpu(tmp_path, capsys, device_probe, cuda_available):
    cuda_available(False)
    arguments = ["--lang", "en", "figures", "test-device-probe", "--device", "auto", "--out", str(tmp_path)]
    assert cli.main(arguments) == 0
    assert "recipes run on cpu (auto: no CUDA GPU found)" in capsys.readouterr().out
    assert read_manifest(tmp_path)["recipes"]["test-device-probe"]["device"] == "cpu"
    assert cli.main(["--lang", "ko", *arguments[2:]]) == 0
    assert "recipe 실행 장치: cpu (auto: CUDA GPU를 찾지 못함)" in capsys.readouterr().out
    assert cli.main(["--lang", "en", "figures", "test-device-probe", "--out", str(tmp_path)]) == 0
    assert "auto:" not in capsys.readouterr().out


def test_cli_device_from_environment(tmp_path, monkeypatch, capsys, device_probe, cuda_available):
    cuda_available(True)
    monkeypatch.setenv("CVNOTES_DEVICE", "cuda")
    assert cli.main(["figures", "test-device-probe", "--out", str(tmp_path)]) == 0
    assert device_probe == ["cuda"]
    # The option overrides the environment.
    assert cli.main(["figures", "test-device-probe", "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert device_probe == ["cuda", "cpu"]


def test_cli_rejects_unknown_device_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--lang", "en", "figures", "--device", "tpu"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_cli_invalid_device_env(monkeypatch, capsys):
    monkeypatch.setenv("CVNOTES_DEVICE", "gpu")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--lang", "en", "figures", "--out", "unused"])
    assert exit_info.value.code == 2
    assert (
        "invalid device 'gpu' (from $CVNOTES_DEVICE): use one of auto, cpu, cuda" in capsys.readouterr().err
    )


def test_cli_invalid_device_env_korean(monkeypatch, capsys):
    monkeypatch.setenv("CVNOTES_DEVICE", "gpu")
    with pytest.raises(SystemExit):
        cli.main(["--lang", "ko", "figures", "--out", "unused"])
    assert "$CVNOTES_DEVICE에 지정된 장치를 쓸 수 없습니다: 'gpu'" in capsys.readouterr().err


@pytest.fixture
def torch_cuda_version(monkeypatch):
    """Return a setter for torch.version.cuda: a version string for a CUDA build, None for a CPU-only one."""

    def set_version(value: str | None) -> None:
        monkeypatch.setattr(torch.version, "cuda", value)

    return set_version


def test_cli_cuda_unavailable_in_english(tmp_path, capsys, device_probe, cuda_available, torch_cuda_version):
    cuda_available(False)
    torch_cuda_version(None)
    arguments = ["--lang", "en", "figures", "test-device-probe", "--device", "cuda", "--out", str(tmp_path)]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("cvnotes figures: error: device 'cuda' requested, but")
    assert "torch.cuda.is_available() is False" in error
    assert "use --device cpu or --device auto, or install a CUDA build of PyTorch" in error
    assert "nvidia-smi" not in error
    assert "$CVNOTES_DEVICE" not in error
    assert device_probe == []
    assert not any(tmp_path.iterdir())


def test_cli_cuda_build_without_gpu_points_at_driver(
    tmp_path, capsys, device_probe, cuda_available, torch_cuda_version
):
    cuda_available(False)
    torch_cuda_version("12.4")
    arguments = ["--lang", "en", "figures", "test-device-probe", "--device", "cuda", "--out", str(tmp_path)]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert "this PyTorch is built for CUDA 12.4: check that the NVIDIA driver works" in error
    assert "`nvidia-smi`, $CUDA_VISIBLE_DEVICES" in error
    assert "install a CUDA build" not in error
    assert cli.main(["--lang", "ko", *arguments[2:]]) == 2
    error = capsys.readouterr().err
    assert "설치된 PyTorch는 CUDA 빌드입니다 (CUDA 버전: 12.4). NVIDIA 드라이버가 동작하는지" in error
    assert "CUDA용 PyTorch를 설치하세요" not in error
    assert device_probe == []


def test_resolve_device_error_names_cuda_build(cuda_available, torch_cuda_version):
    cuda_available(False)
    torch_cuda_version("12.4")
    with pytest.raises(DeviceError, match=r"built for CUDA 12\.4\): check that the NVIDIA driver") as caught:
        resolve_device("cuda")
    assert caught.value.torch_cuda == "12.4"
    torch_cuda_version(None)
    with pytest.raises(DeviceError, match="install a CUDA build of PyTorch") as caught:
        resolve_device("cuda")
    assert caught.value.torch_cuda is None


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "device 'cuda' requested by $CVNOTES_DEVICE, but PyTorch finds no CUDA GPU"),
        ("ko", "PyTorch가 CUDA GPU를 찾지 못했습니다 ($CVNOTES_DEVICE에 지정한 장치: 'cuda',"),
    ],
)
def test_cli_cuda_unavailable_from_environment_names_variable(
    tmp_path, monkeypatch, capsys, device_probe, cuda_available, language, text
):
    cuda_available(False)
    monkeypatch.setenv("CVNOTES_DEVICE", "cuda")
    assert cli.main(["--lang", language, "figures", "test-device-probe", "--out", str(tmp_path)]) == 2
    assert text in capsys.readouterr().err
    # The option overrides the variable, so the error no longer names it.
    assert (
        cli.main(
            ["--lang", language, "figures", "test-device-probe", "--device", "cuda", "--out", str(tmp_path)]
        )
        == 2
    )
    assert "$CVNOTES_DEVICE" not in capsys.readouterr().err


def test_cli_cuda_unavailable_in_korean(tmp_path, capsys, device_probe, cuda_available, torch_cuda_version):
    cuda_available(False)
    torch_cuda_version(None)
    arguments = ["--lang", "ko", "figures", "test-device-probe", "--device", "cuda", "--out", str(tmp_path)]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert (
        "cvnotes figures: 오류: PyTorch가 CUDA GPU를 찾지 못했습니다 (요청한 장치: 'cuda', "
        "torch.cuda.is_available()이 False). --device cpu나 --device auto를 쓰거나" in error
    )


def test_cli_list_ignores_unavailable_cuda(capsys, cuda_available):
    cuda_available(False)
    assert cli.main(["--lang", "en", "figures", "--list", "--device", "cuda"]) == 0
    assert "focal-loss-curves" in capsys.readouterr().out


def test_cli_help_names_device_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--lang", "ko", "figures", "--help"])
    output = capsys.readouterr().out
    assert "--device {auto,cpu,cuda}" in output
    assert "$CVNOTES_DEVICE" in output


# --- MkDocs plugin ------------------------------------------------------------------------------


def make_plugin(**options) -> CvnotesPlugin:
    plugin = CvnotesPlugin()
    errors, warnings = plugin.load_config(options)
    assert errors == []
    assert warnings == []
    return plugin


@pytest.fixture
def recorded_builds(monkeypatch):
    """Replace build_figures for the plugin; yield the keyword arguments of each call."""
    calls: list[dict] = []

    def record(**options):
        calls.append(options)
        return []

    monkeypatch.setattr(cvnotes.figures, "build_figures", record)
    return calls


def test_plugin_device_defaults_to_cpu(tmp_path, monkeypatch, recorded_builds):
    monkeypatch.delenv("CVNOTES_DEVICE", raising=False)
    make_plugin()._build_figures(tmp_path)
    assert recorded_builds[0]["device"] == "cpu"


def test_plugin_device_from_environment_and_option(tmp_path, monkeypatch, recorded_builds):
    monkeypatch.setenv("CVNOTES_DEVICE", "auto")
    make_plugin()._build_figures(tmp_path)
    make_plugin(device="cuda")._build_figures(tmp_path)
    assert [call["device"] for call in recorded_builds] == ["auto", "cuda"]


def test_plugin_invalid_device_option_rejected():
    errors, _warnings = CvnotesPlugin().load_config({"device": "gpu"})
    assert errors, "an unknown device must be a configuration error"


def test_plugin_invalid_device_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CVNOTES_DEVICE", "gpu")
    with pytest.raises(PluginError, match=r"invalid device 'gpu' from \$CVNOTES_DEVICE: use one of auto"):
        make_plugin().on_pre_build(SimpleNamespace(docs_dir=str(tmp_path)))


def test_plugin_cuda_unavailable_is_plugin_error(tmp_path, monkeypatch, cuda_available):
    cuda_available(False)
    monkeypatch.setenv("CVNOTES_DEVICE", "cuda")
    with pytest.raises(PluginError, match="device 'cuda' requested, but PyTorch finds no CUDA GPU"):
        make_plugin().on_pre_build(SimpleNamespace(docs_dir=str(tmp_path)))
    assert not (tmp_path / "figures").exists()
