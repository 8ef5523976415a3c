"""Session fixtures: one strict site build shared by the build and browser tests, and its server."""

from __future__ import annotations

from pathlib import Path

import pytest
from sitetools import copy_project, mkdocs_build, serve_site


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> dict:
    """Copy the site sources without generated files, build them strictly once, return the paths."""
    root = tmp_path_factory.mktemp("project")
    copy_project(root)
    completed = mkdocs_build(root)
    assert completed.returncode == 0, f"mkdocs build failed:\n{completed.stdout}\n{completed.stderr}"
    return {
        "root": root,
        "site": root / "site",
        "docs": root / "docs",
        "log": completed.stdout + completed.stderr,
    }


@pytest.fixture(scope="session")
def site_server(built_site) -> str:
    """Serve the built site on 127.0.0.1 for the session; return its base URL."""
    site: Path = built_site["site"]
    with serve_site(site) as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def english_locale(monkeypatch):
    """Run every test under an English locale, whatever the machine's, so messages are predictable."""
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def no_network(monkeypatch):
    """Make every download function that the asset layer could reach raise."""
    import socket
    import urllib.request

    import huggingface_hub
    import torch.hub
    import torchvision.datasets.utils
    import torchvision.models._api

    def raise_network_error(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(torch.hub, "download_url_to_file", raise_network_error)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", raise_network_error)
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", raise_network_error)
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", raise_network_error)
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", raise_network_error)
    monkeypatch.setattr(urllib.request, "urlopen", raise_network_error)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", raise_network_error)
    monkeypatch.setattr(socket.socket, "connect", raise_network_error)
