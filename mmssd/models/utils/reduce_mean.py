"""The models' cross-process helpers: a mean over the processes of a distributed run, and
a value every process takes from the first."""
from __future__ import annotations

import torch
import torch.distributed as dist


def reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over all processes (``tensor`` itself in a single process).

    Used for loss normalisers such as the number of positive anchors: dividing each
    process's loss sum by the *mean* count makes the DDP-averaged gradient equal to the
    gradient of one process that saw the whole global batch.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / dist.get_world_size()


def broadcast_from_rank0(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as process 0 holds it, in every process (in place; ``tensor`` itself in a
    single process). Used for choices all processes must share, such as YOLOX's random
    input size of the next iterations."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    dist.broadcast(tensor, src=0)
    return tensor
