"""Synchronised BatchNorm that runs on any device, the CPU with gloo included.

torch's ``SyncBatchNorm`` refuses CPU tensors and mmcv's needs compiled ops. This one
all-reduces the per-channel sum, sum of squares and count with
``torch.distributed.nn.functional.all_reduce``, which is differentiable, so autograd
derives the synchronised backward pass itself.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.nn.functional import all_reduce


class AllReduceSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics cover the batches of all processes.

    Normalises ``x (N, C, *)`` with the mean and biased variance of channel ``c`` over
    every process's ``N x *`` values, and updates the running statistics with the
    unbiased variance, as one process holding the whole batch would. Outside training,
    or without a process group, it is plain BatchNorm.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'expected at least 2D input (N, C, ...), got {input.dim()}D')

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        channels = x.size(1)
        values = x.transpose(0, 1).reshape(channels, -1).float()  # (C, N * prod(*))
        count = torch.full((1,), values.size(1), dtype=values.dtype, device=x.device)
        stats = all_reduce(torch.cat([values.sum(1), (values * values).sum(1), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = (stats[channels:2 * channels] / total - mean * mean).clamp(min=0)
        self._update_running_stats(mean.detach(), var.detach(), total.item())
        shape = (1, channels) + (1,) * (x.dim() - 2)
        out = (x - mean.view(shape).to(x.dtype)) * torch.rsqrt(var + self.eps).view(shape).to(
            x.dtype)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out

    def _update_running_stats(self, mean: Tensor, var: Tensor, total: float) -> None:
        if not self.track_running_stats:
            return
        self.num_batches_tracked.add_(1)
        momentum = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                    else self.momentum)
        unbiased = var * (total / max(total - 1.0, 1.0))
        self.running_mean.mul_(1 - momentum).add_(mean.to(self.running_mean.dtype),
                                                  alpha=momentum)
        self.running_var.mul_(1 - momentum).add_(unbiased.to(self.running_var.dtype),
                                                 alpha=momentum)


def convert_to_all_reduce_sync_bn(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm replaced by :class:`AllReduceSyncBatchNorm`
    (parameters and running statistics carried over; the same objects, not copies)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
            module, AllReduceSyncBatchNorm):
        converted = AllReduceSyncBatchNorm(module.num_features, module.eps, module.momentum,
                                           module.affine, module.track_running_stats)
        if module.affine:
            converted.weight = module.weight
            converted.bias = module.bias
        if module.track_running_stats:
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
        converted.train(module.training)
        return converted
    for name, child in module.named_children():
        module.add_module(name, convert_to_all_reduce_sync_bn(child))
    return module
