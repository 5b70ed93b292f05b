"""What the engine needs from torch.distributed, in one place; every call is a no-op in a single process.

The process group is created by the launcher (the CLI under torchrun, or the platform); the
engine only asks it. Collectives use tensors on the training device: NCCL refuses CPU tensors.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

_ACTIONS = (None, "stop", "pause")


def rank_and_world() -> tuple[int, int]:
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def is_main_process() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def training_device(choice: str) -> torch.device:
    """The device of this process for --device auto|cpu|cuda; selects this process's GPU under torchrun."""
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not dist.is_initialized():
            return torch.device("cuda")
        # LOCAL_RANK (set by torchrun) is the GPU on this node; the global rank is not (rank 9 of two
        # 8-GPU nodes is GPU 1). A launcher that sets no LOCAL_RANK has chosen the device itself.
        local = os.environ.get("LOCAL_RANK")
        device = torch.device("cuda", int(local) if local is not None else torch.cuda.current_device())
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def broadcast_action(action: str | None, device: torch.device) -> str | None:
    """Rank 0 decides stop/pause/early stop; every rank must leave the loop at the same step."""
    return broadcast_choice(action, _ACTIONS, device)


def broadcast_choice(value, choices: tuple, device: torch.device):
    """Rank 0's `value` (one of `choices`) on every rank; what the other ranks pass is ignored."""
    if not dist.is_initialized():
        return value
    code = torch.tensor([choices.index(value) if is_main_process() else 0], device=device)
    dist.broadcast(code, 0)
    return choices[int(code.item())]


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers of `module` to every rank, in place."""
    if not dist.is_initialized():
        return
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, 0)


def shard_range(n: int) -> range:
    """This rank's contiguous part of n items (the last ranks may get fewer, or none)."""
    rank, world = rank_and_world()
    size = -(-n // world)
    return range(min(rank * size, n), min((rank + 1) * size, n))


def gather_rows(local: torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    """Concatenate every rank's `local` rows (rank order; each rank held shard_range(n)) on every rank."""
    if not dist.is_initialized():
        return local
    size = -(-n // dist.get_world_size())
    padded = torch.zeros((size, *local.shape[1:]), dtype=local.dtype, device=device)
    padded[: len(local)] = local.to(device)
    parts = [torch.empty_like(padded) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, padded)
    return torch.cat(parts)[:n].cpu()
