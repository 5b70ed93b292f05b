"""Find timm's pretrained weights on local disk, without touching the network.

timm itself would try to download when weights are missing (and hang or fail slowly offline);
looking in the caches first lets classmill either load the file directly or say clearly that the
weights are not available.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import try_to_load_from_cache
from timm.models import PretrainedCfg

# timm asks for pytorch_model.bin but prefers a safetensors sibling when the repo has one.
_HF_DEFAULT_FILENAME = "pytorch_model.bin"
_HF_SAFE_FILENAME = "model.safetensors"


def _hf_candidate_filenames(filename: str | None) -> list[str]:
    filename = filename or _HF_DEFAULT_FILENAME
    candidates = []
    if filename == _HF_DEFAULT_FILENAME:
        candidates.append(_HF_SAFE_FILENAME)
    elif filename.endswith(".bin"):
        candidates.append(filename[: -len(".bin")] + ".safetensors")
    candidates.append(filename)
    return candidates


def _cached_hf_file(hf_hub_id: str, filename: str | None) -> Path | None:
    repo_id, _, revision = hf_hub_id.partition("@")
    for name in _hf_candidate_filenames(filename):
        found = try_to_load_from_cache(repo_id, name, revision=revision or None)
        if isinstance(found, str) and os.path.isfile(found):  # also filters the "known missing" marker
            return Path(found)
    return None


def _cached_url_file(url: str) -> Path | None:
    # timm's legacy cache: <torch hub dir>/checkpoints/<basename of the URL>.
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
    return path if path.is_file() else None


def find_cached_weights(cfg: PretrainedCfg | None) -> Path | None:
    """The local file holding `cfg`'s pretrained weights, or None if it would need a download."""
    if cfg is None:
        return None
    if cfg.file and Path(cfg.file).is_file():
        return Path(cfg.file)
    if cfg.hf_hub_id:
        found = _cached_hf_file(cfg.hf_hub_id, cfg.hf_hub_filename)
        if found is not None:
            return found
    if cfg.url:
        return _cached_url_file(cfg.url)
    return None
