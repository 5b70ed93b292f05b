"""Why a training failed, in words a user (or the platform's job page) can act on."""

from __future__ import annotations

import sys

from classmill.errors import UserError

# Phrases of allocators that report exhaustion as a plain RuntimeError (older torch, CPU allocator).
_OOM_PHRASES = ("out of memory", "not enough memory", "can't allocate memory")


def is_out_of_memory(exc: BaseException) -> bool:
    # Only a process that has loaded torch can raise its error; don't import it to find out.
    torch = sys.modules.get("torch")
    torch_oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if isinstance(exc, MemoryError) or (torch_oom is not None and isinstance(exc, torch_oom)):
        return True
    return isinstance(exc, RuntimeError) and any(p in str(exc).lower() for p in _OOM_PHRASES)


def failure_kind(exc: BaseException) -> str:
    """out_of_memory | user_error | crash: what a caller (the platform's retry form) can do about it."""
    if is_out_of_memory(exc):
        return "out_of_memory"
    return "user_error" if isinstance(exc, UserError) else "crash"


def failure_reason(exc: BaseException, config=None) -> str:
    """A plain-language reason for `exc` ending a training; `config` (a TrainConfig) names the sizes used."""
    if is_out_of_memory(exc):
        where = "GPU memory" if "cuda" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError" else "memory"
        now = (f" (this run: --batch-size {config.batch_size}, --image-size {config.image_size})"
               if config is not None else "")
        return (f"ran out of {where}. Train again with a smaller --batch-size (halve it) or a smaller "
                f"--image-size{now}; a resume reuses the run's saved sizes and would run out again.")
    if isinstance(exc, UserError):
        return str(exc)
    return (f"training stopped on an unexpected error: {type(exc).__name__}: {exc}. The process printed "
            "its traceback; if the cause was passing (a full disk, a lost device), resume the run to "
            "continue from its last checkpoint; otherwise report it with that traceback.")
