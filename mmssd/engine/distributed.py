"""Distributed start-up that also works without GPUs (gloo on CPU).

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP wrap passes
``device_ids``; both fail on a CPU machine. :func:`init_distributed` starts the process
group itself when there is no GPU (the Runner then skips its own start), and
:class:`DeviceAwareDistributedDataParallel` drops ``device_ids`` on CPU and can
synchronise BatchNorm there.
"""
from __future__ import annotations

import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.dist import init_dist
from mmengine.model import MMDistributedDataParallel

from mmssd.registry import MODEL_WRAPPERS

from .all_reduce_sync_bn import convert_to_all_reduce_sync_bn

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper; on CPU, without the ``device_ids`` a GPU run needs.

    Args:
        module: the detector.
        detect_anomalous_params: as mmengine's wrapper.
        sync_bn: convert every BatchNorm to :class:`AllReduceSyncBatchNorm` (statistics
            over all processes' batches) before wrapping; the CPU form of ``sync_bn``.
        kwargs: ``torch.nn.parallel.DistributedDataParallel`` arguments.
    """

    def __init__(self, module: torch.nn.Module, detect_anomalous_params: bool = False,
                 sync_bn: bool = False, **kwargs) -> None:
        if not torch.cuda.is_available():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        if sync_bn:
            module = convert_to_all_reduce_sync_bn(module)
        super().__init__(module=module, detect_anomalous_params=detect_anomalous_params,
                         **kwargs)


def _slurm_environment(port: int | None) -> None:
    """``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*`` from the variables slurm sets."""
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')
    os.environ['MASTER_PORT'] = str(port or os.environ.get('MASTER_PORT', 29500))


def _mpi_environment(port: int | None) -> None:
    """The same variables from Open MPI's."""
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ['MASTER_PORT'] = str(port or os.environ.get('MASTER_PORT', 29500))


def init_distributed(launcher: str, backend: str = 'gloo', port: int | None = None,
                     **kwargs) -> None:
    """Start the default process group for ``launcher`` unless it runs already.

    Args:
        launcher: ``'none'`` (single process: nothing to do), ``'pytorch'`` (torchrun's
            environment variables), ``'slurm'`` or ``'mpi'``.
        backend: ``'nccl'`` with GPUs; without them ``'gloo'`` is used whatever is asked.
        port: master port for slurm/mpi (default ``MASTER_PORT`` or 29500).
        kwargs: passed to ``torch.distributed.init_process_group``.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}; got {launcher!r}')
    if launcher == 'none' or dist.is_initialized():
        return
    if torch.cuda.is_available():
        init_dist(launcher, backend=backend, **({'port': port} if port else {}), **kwargs)
        return
    if launcher == 'pytorch' and 'RANK' not in os.environ:
        raise RuntimeError("--launcher pytorch needs torchrun's environment (RANK, "
                           'WORLD_SIZE, MASTER_ADDR, ...): start with tools/dist_train.sh '
                           'or torchrun')
    if launcher == 'slurm':
        _slurm_environment(port)
    elif launcher == 'mpi':
        _mpi_environment(port)
    dist.init_process_group(backend='gloo', **kwargs)


def close_distributed() -> None:
    """Wait for every process, then tear the process group down.

    A gloo group left to the interpreter's exit can abort a process ('terminate called
    without an active exception'), which torchrun reports as a failed run.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
