"""Multi-GPU / multi-node training through torchrun (DistributedDataParallel).

``torchrun --nproc_per_node N -m osteoscan train CONFIG`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`setup` reads them, joins the process group (NCCL on CUDA, gloo on CPU)
and returns a :class:`DistInfo`. Every process trains on its shard of each epoch
(``DistributedSampler``); only rank 0 validates, writes files and decides early stopping,
and broadcasts that decision so all ranks stop together.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a distributed run.

    Attributes:
        rank: global rank (0 writes files).
        world_size: number of processes (1: not distributed).
        local_rank: rank on this node (selects the GPU).
        device: torch device of this process.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on the process that writes files."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1


def setup() -> DistInfo:
    """Join the process group when launched by torchrun (or with the same env variables).

    Returns:
        This process's :class:`DistInfo`; a single-process one when ``WORLD_SIZE`` is unset or 1.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world <= 1:
        return DistInfo(device=torch.device("cuda" if cuda else "cpu"))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    logger.info("distributed: rank %d of %d on %s", rank, world, device)
    return DistInfo(rank, world, local, device)


def barrier(info: DistInfo) -> None:
    """Wait for every process (no-op when not distributed)."""
    if info.enabled:
        dist.barrier()


def broadcast_flag(info: DistInfo, flag: bool) -> bool:
    """Rank 0's value of ``flag`` on every process."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], device=info.device)
    dist.broadcast(t, src=0)
    return bool(t.item())


def cleanup(info: DistInfo) -> None:
    """Leave the process group."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
