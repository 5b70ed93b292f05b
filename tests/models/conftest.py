"""Model tests never touch the network: any connection attempt fails the test loudly."""

from __future__ import annotations

import socket

import pytest


class NetworkAccessInTest(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise NetworkAccessInTest(f"network access attempted in a model test: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def empty_weight_caches(tmp_path, monkeypatch):
    """Point the Hugging Face and torch hub caches at empty folders; returns the HF cache folder."""
    import huggingface_hub.constants

    hf_cache = tmp_path / "hf-hub"
    hf_cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hf_cache))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return hf_cache
