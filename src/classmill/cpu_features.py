"""The CPU's model name and feature flags, read from /proc/cpuinfo (Linux).

Which kernels torch and ONNX Runtime run, and so how fast and sometimes how accurately a model
answers, depends on these flags (AVX-512, VNNI, BF16, AMX). Read from /proc only: asking never
imports torch or onnxruntime.
"""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def read_cpuinfo(path: Path = CPUINFO) -> tuple[str, set[str]] | None:
    """(model name, feature flags) of the first CPU listed in `path`; None where it cannot be read
    (not Linux): then nothing is known of the flags, which is not the same as having none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    model, flags = None, None
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name" and model is None:
            model = value
        elif key in ("flags", "Features") and flags is None:  # x86; ARM
            flags = set(value.split())
    return model or platform.processor() or "unknown", flags or set()
